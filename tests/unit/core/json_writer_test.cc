#include "core/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace citadel {
namespace {

TEST(JsonWriter, EscapesAndParsesBack) {
  std::string out;
  JsonObjectWriter w(out);
  w.string("a", "quote\" back\\ nl\n tab\t ctl\x01 \xc3\xa9");
  w.boolean("b", true);
  w.raw("c", "null");
  w.close();
  auto v = boost::json::parse(out);
  EXPECT_EQ(v.at("a").as_string(), "quote\" back\\ nl\n tab\t ctl\x01 \xc3\xa9");
  EXPECT_TRUE(v.at("b").as_bool());
  EXPECT_TRUE(v.at("c").is_null());
}

TEST(JsonWriter, InvalidUtf8StaysValidJson) {
  std::string out;
  appendJsonString(out, "ab\xff\xfe");
  EXPECT_EQ(out, "\"ab\\u00ff\\u00fe\"");
  EXPECT_NO_THROW(boost::json::parse(out));
}

}  // namespace
}  // namespace citadel
