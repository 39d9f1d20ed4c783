// TOTP/HOTP against the RFC 4226 and RFC 6238 test vectors; Base32 against RFC 4648's.
#include "auth/totp.h"

#include <gtest/gtest.h>

namespace citadel::auth {
namespace {

const std::string kRfcKey = "12345678901234567890";  // RFC 4226 / 6238 SHA-1 secret

TEST(Base32, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "MY======"},
                                                         {"fo", "MZXQ===="},
                                                         {"foo", "MZXW6==="},
                                                         {"foob", "MZXW6YQ="},
                                                         {"fooba", "MZXW6YTB"},
                                                         {"foobar", "MZXW6YTBOI======"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base32Encode(plain), encoded) << plain;
    EXPECT_EQ(base32Decode(encoded), plain) << encoded;
  }
}

TEST(Base32, DecodeIsCaseInsensitiveAndPaddingOptional) {
  EXPECT_EQ(base32Decode("mzxw6ytboi"), "foobar");
  EXPECT_EQ(base32Encode("foobar", false), "MZXW6YTBOI");
}

TEST(Base32, RejectsBadInput) {
  EXPECT_FALSE(base32Decode("MZXW6YT1"));  // '1' is not in the alphabet
  EXPECT_FALSE(base32Decode("MZX"));       // impossible length
  EXPECT_FALSE(base32Decode("MZ!W6YTB"));
  EXPECT_FALSE(base32Decode("MZ"));  // "MY" is canonical for "f": leftover bits must be zero
}

TEST(Base32, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 7) {
    std::string s = all.substr(0, n);
    EXPECT_EQ(base32Decode(base32Encode(s)), s) << n;
  }
}

TEST(Hotp, Rfc4226AppendixD) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(hotp(kRfcKey, i), expected[i]) << i;
}

TEST(Totp, Rfc6238AppendixBSha1) {
  const std::pair<int64_t, std::string> vectors[] = {{59, "94287082"},
                                                     {1111111109, "07081804"},
                                                     {1111111111, "14050471"},
                                                     {1234567890, "89005924"},
                                                     {2000000000, "69279037"}};
  for (const auto& [secs, code] : vectors) {
    SysTime t = SysTime(std::chrono::seconds(secs));
    EXPECT_EQ(totpAt(kRfcKey, totpStep(t), 8), code) << secs;
  }
  // T = 20000000000 s is past system_clock's range (nanoseconds): its step, directly.
  EXPECT_EQ(totpAt(kRfcKey, 20000000000 / 30, 8), "65353130");
}

TEST(Totp, StepIsThirtySeconds) {
  EXPECT_EQ(totpStep(SysTime(std::chrono::seconds(59))), 1);
  EXPECT_EQ(totpStep(SysTime(std::chrono::seconds(60))), 2);
  EXPECT_EQ(totpStep(SysTime(std::chrono::seconds(29))), 0);
}

TEST(Totp, MatchFindsTheStepWithinTheWindow) {
  SysTime now = SysTime(std::chrono::seconds(1111111111));
  int64_t step = totpStep(now);
  EXPECT_EQ(totpMatch(kRfcKey, totpAt(kRfcKey, step), now), step);
  EXPECT_EQ(totpMatch(kRfcKey, totpAt(kRfcKey, step - 1), now), step - 1);
  EXPECT_EQ(totpMatch(kRfcKey, totpAt(kRfcKey, step + 1), now), step + 1);
  // Outside the window, another key, or a malformed code: no match.
  EXPECT_FALSE(totpMatch(kRfcKey, totpAt(kRfcKey, step - 2), now));
  EXPECT_FALSE(totpMatch(kRfcKey, totpAt(kRfcKey, step + 2), now));
  EXPECT_FALSE(totpMatch("another secret key!!", totpAt(kRfcKey, step), now));
  EXPECT_FALSE(totpMatch(kRfcKey, "", now));
  EXPECT_FALSE(totpMatch(kRfcKey, totpAt(kRfcKey, step).substr(0, 5), now));
  EXPECT_EQ(totpMatch(kRfcKey, totpAt(kRfcKey, step - 2), now, 2, 0), step - 2);
}

}  // namespace
}  // namespace citadel::auth
