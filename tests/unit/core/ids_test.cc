#include "core/ids.h"

#include <gtest/gtest.h>

#include <regex>

namespace citadel {
namespace {

const std::regex kUuid("[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

TEST(Ids, Version4UuidHasVersionAndVariant) {
  std::smatch m;
  std::string u = newUuid();
  ASSERT_TRUE(std::regex_match(u, m, kUuid)) << u;
  EXPECT_EQ(m[1], "4");
  EXPECT_NE(newUuid(), newUuid());
}

TEST(Ids, Version7UuidCarriesTheTimeAndSortsByIt) {
  std::smatch m;
  std::string a = newTimeOrderedUuid(1'764'345'600'000);
  ASSERT_TRUE(std::regex_match(a, m, kUuid)) << a;
  EXPECT_EQ(m[1], "7");
  // 1764345600000 ms = 0x019acb315800: the first 48 bits.
  EXPECT_EQ(a.substr(0, 13), "019acb31-5800");
  std::string b = newTimeOrderedUuid(1'764'345'600'001);
  std::string c = newTimeOrderedUuid(1'764'345'601'000);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

}  // namespace
}  // namespace citadel
