// The KMS ciphertext blob: round trip, header, tamper detection, encryption-context binding.
#include <gtest/gtest.h>

#include "crypto/crypto.h"
#include "services/kms/internal.h"

namespace citadel::kms {
namespace {

const std::string kAccount = "111122223333";
const std::string kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";

json::object context(std::initializer_list<std::pair<const char*, const char*>> pairs) {
  json::object o;
  for (const auto& [k, v] : pairs) o[k] = v;
  return o;
}

std::string seal(const Secret& material, std::string_view plain, std::string_view aad = {},
                 uint32_t version = 3) {
  auto blob = sealBlob(BlobHeader{kAccount, kKeyId, version}, material, plain, aad);
  EXPECT_TRUE(blob.ok());
  return blob.ok() ? blob.value() : std::string();
}

TEST(KmsBlob, RoundTripCarriesAccountKeyIdAndVersion) {
  Secret material(crypto::randomBytes(32));
  std::string blob = seal(material, "attack at dawn", {}, 7);
  auto h = parseBlobHeader(blob);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->account_id, kAccount);
  EXPECT_EQ(h->key_id, kKeyId);
  EXPECT_EQ(h->version, 7u);
  // version | account | id length | id | key version | IV | ciphertext | tag
  EXPECT_EQ(blob.size(), 1 + 12 + 1 + kKeyId.size() + 4 + 12 + 14 + 16);
  EXPECT_EQ(blob.find("attack"), std::string::npos);
  auto plain = openBlob(blob, material, {});
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, "attack at dawn");
}

TEST(KmsBlob, FreshIvEachTime) {
  Secret material(crypto::randomBytes(32));
  EXPECT_NE(seal(material, "same"), seal(material, "same"));
}

TEST(KmsBlob, EveryTamperedByteIsRefused) {
  Secret material(crypto::randomBytes(32));
  std::string blob = seal(material, "0123456789abcdef");
  for (size_t i = 0; i < blob.size(); ++i) {
    std::string bad = blob;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(openBlob(bad, material, {})) << "byte " << i;
  }
  EXPECT_FALSE(openBlob(blob.substr(0, blob.size() - 1), material, {}));
  EXPECT_FALSE(openBlob(blob.substr(0, 20), material, {}));
  EXPECT_FALSE(parseBlobHeader(""));
  EXPECT_FALSE(parseBlobHeader(std::string(40, '\x02')));
}

TEST(KmsBlob, OtherMaterialIsRefused) {
  Secret material(crypto::randomBytes(32));
  Secret other(crypto::randomBytes(32));
  EXPECT_FALSE(openBlob(seal(material, "x"), other, {}));
}

TEST(KmsBlob, EncryptionContextIsBoundAndOrderIndependent) {
  Secret material(crypto::randomBytes(32));
  json::object ab = context({{"a", "1"}, {"b", "2"}});
  json::object ba = context({{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(canonicalContext(&ab), canonicalContext(&ba));
  std::string blob = seal(material, "secret", canonicalContext(&ab));
  EXPECT_TRUE(openBlob(blob, material, canonicalContext(&ba)));
  json::object wrong_value = context({{"a", "1"}, {"b", "3"}});
  json::object missing = context({{"a", "1"}});
  // A context that only concatenates the same characters differently is another context.
  json::object shifted = context({{"a", "1b"}, {"", "2"}});
  EXPECT_FALSE(openBlob(blob, material, canonicalContext(&wrong_value)));
  EXPECT_FALSE(openBlob(blob, material, canonicalContext(&missing)));
  EXPECT_FALSE(openBlob(blob, material, canonicalContext(&shifted)));
  EXPECT_FALSE(openBlob(blob, material, {}));
  EXPECT_EQ(canonicalContext(nullptr), "");
}

TEST(KmsBlob, RefusesToSealWithAWrongSizedKey) {
  Secret short_key(crypto::randomBytes(16));
  EXPECT_FALSE(sealBlob(BlobHeader{kAccount, kKeyId, 1}, short_key, "x", {}).ok());
  Secret material(crypto::randomBytes(32));
  EXPECT_FALSE(sealBlob(BlobHeader{"123", kKeyId, 1}, material, "x", {}).ok());
}

TEST(KmsSecret, HoldsItsBytes) {
  std::string bytes = crypto::randomBytes(32);
  Secret s(bytes);
  EXPECT_EQ(s.bytes(), bytes);
  EXPECT_EQ(s.size(), 32u);
}

}  // namespace
}  // namespace citadel::kms
