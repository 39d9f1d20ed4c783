#include "core/encoding.h"

#include <gtest/gtest.h>

namespace citadel {
namespace {

TEST(Encoding, HexRoundTrip) {
  std::string bytes("\x00\x01\xfe\xff", 4);
  EXPECT_EQ(hexEncode(bytes), "0001feff");
  EXPECT_EQ(hexDecode("0001FEff"), bytes);
  EXPECT_FALSE(hexDecode("abc").has_value());
  EXPECT_FALSE(hexDecode("zz").has_value());
}

TEST(Encoding, Base64MatchesRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, enc] : vectors) {
    EXPECT_EQ(base64Encode(plain), enc);
    EXPECT_EQ(base64Decode(enc), std::string(plain));
  }
  EXPECT_FALSE(base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(base64Decode("Z").has_value());
}

TEST(Encoding, Base64RoundTripsEveryLengthAndRejectsStrayCharacters) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    const std::string enc = base64Encode(bytes);
    EXPECT_EQ(enc.size(), (bytes.size() + 2) / 3 * 4);
    EXPECT_EQ(base64Decode(enc), bytes) << n;
    if (!enc.empty()) {
      std::string bad = enc;
      bad[bad.size() / 2] = '*';
      EXPECT_FALSE(base64Decode(bad).has_value()) << n;
    }
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
  EXPECT_EQ(base64Decode("Zm9vYg"), std::string("foob"));  // padding may be left off
  EXPECT_FALSE(base64Decode("Zm=9v").has_value());
}

TEST(Encoding, UriEncodeFollowsSigV4Rules) {
  EXPECT_EQ(uriEncode("a b/c~d_e.f-g"), "a%20b%2Fc~d_e.f-g");
  EXPECT_EQ(uriEncode("a b/c", false), "a%20b/c");
  EXPECT_EQ(uriEncode("\xc3\xa9"), "%C3%A9");
}

TEST(Encoding, PercentDecode) {
  EXPECT_EQ(percentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(percentDecode("a%20b+c", true), "a b c");
  EXPECT_FALSE(percentDecode("%4", false).has_value());
  EXPECT_FALSE(percentDecode("%zz", false).has_value());
}

TEST(Encoding, Utf8Validation) {
  EXPECT_TRUE(isValidUtf8("plain ascii"));
  EXPECT_TRUE(isValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(isValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(isValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
}

TEST(Encoding, XmlEscape) { EXPECT_EQ(xmlEscape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;"); }

}  // namespace
}  // namespace citadel
