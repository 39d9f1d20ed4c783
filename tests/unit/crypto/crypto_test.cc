#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/encoding.h"

namespace citadel::crypto {
namespace {

// FIPS 180-2 / RFC 4231 published test vectors.
TEST(CryptoTest, Sha256KnownVectors) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256("abc").size(), 32u);
  EXPECT_EQ(hexEncode(sha256("abc")), sha256Hex("abc"));
}

TEST(CryptoTest, HmacSha256Rfc4231) {
  EXPECT_EQ(hexEncode(hmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hexEncode(hmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Key longer than the block size is hashed first.
  EXPECT_EQ(hexEncode(hmacSha256(std::string(131, '\xaa'),
                                 "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(CryptoTest, HmacEmptyKeyAndData) {
  // HMAC-SHA256 with empty key and message (widely published value).
  EXPECT_EQ(hexEncode(hmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(CryptoTest, RandomBytesSizeAndVariety) {
  EXPECT_EQ(randomBytes(0).size(), 0u);
  EXPECT_EQ(randomBytes(33).size(), 33u);
  std::set<std::string> seen;
  for (int i = 0; i < 16; ++i) seen.insert(randomBytes(16));
  EXPECT_EQ(seen.size(), 16u);
}

TEST(CryptoTest, ConstantTimeEqual) {
  EXPECT_TRUE(constantTimeEqual("", ""));
  EXPECT_TRUE(constantTimeEqual("abc", "abc"));
  EXPECT_FALSE(constantTimeEqual("abc", "abd"));
  EXPECT_FALSE(constantTimeEqual("abc", "abcd"));
  EXPECT_FALSE(constantTimeEqual("", "a"));
  EXPECT_TRUE(constantTimeEqual(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constantTimeEqual(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(CryptoTest, WipeZeroesAndClears) {
  std::string s = "secret-key-material";
  const char* p = s.data();
  size_t n = s.size();
  wipe(s);
  EXPECT_TRUE(s.empty());
  // The buffer is kept by clear(); its old bytes must now be zero.
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(p[i], '\0') << i;
}

}  // namespace
}  // namespace citadel::crypto
