// KMS key specs, usages, algorithm lists, key generation and key (de)serialization.

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <array>
#include <list>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "crypto/crypto.h"
#include "crypto/kms_crypto.h"
#include "crypto/kms_internal.h"

namespace citadel::crypto::kms {
namespace detail {
namespace {

// clang-format off
constexpr const char* kRsaSigning[7] = {"RSASSA_PSS_SHA_256",        "RSASSA_PSS_SHA_384",
                                        "RSASSA_PSS_SHA_512",        "RSASSA_PKCS1_V1_5_SHA_256",
                                        "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
                                        nullptr};

// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html
// (key usages and algorithms of each key spec).
const std::array<SpecInfo, 17> kSpecs = {{
    {"SYMMETRIC_DEFAULT", Family::kSymmetric, 32, nullptr, kEncryptDecrypt,
     {nullptr}, {"SYMMETRIC_DEFAULT", nullptr}, nullptr, false},
    {"RSA_2048", Family::kRsa, 2048, nullptr, kEncryptDecrypt | kSignVerify,
     {kRsaSigning[0], kRsaSigning[1], kRsaSigning[2], kRsaSigning[3], kRsaSigning[4],
      kRsaSigning[5], nullptr},
     {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", nullptr}, nullptr, false},
    {"RSA_3072", Family::kRsa, 3072, nullptr, kEncryptDecrypt | kSignVerify,
     {kRsaSigning[0], kRsaSigning[1], kRsaSigning[2], kRsaSigning[3], kRsaSigning[4],
      kRsaSigning[5], nullptr},
     {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", nullptr}, nullptr, false},
    {"RSA_4096", Family::kRsa, 4096, nullptr, kEncryptDecrypt | kSignVerify,
     {kRsaSigning[0], kRsaSigning[1], kRsaSigning[2], kRsaSigning[3], kRsaSigning[4],
      kRsaSigning[5], nullptr},
     {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", nullptr}, nullptr, false},
    {"ECC_NIST_P256", Family::kEc, 256, "prime256v1", kSignVerify | kKeyAgreement,
     {"ECDSA_SHA_256", nullptr}, {nullptr}, nullptr, true},
    {"ECC_NIST_P384", Family::kEc, 384, "secp384r1", kSignVerify | kKeyAgreement,
     {"ECDSA_SHA_384", nullptr}, {nullptr}, nullptr, true},
    {"ECC_NIST_P521", Family::kEc, 521, "secp521r1", kSignVerify | kKeyAgreement,
     {"ECDSA_SHA_512", nullptr}, {nullptr}, nullptr, true},
    {"ECC_SECG_P256K1", Family::kEc, 256, "secp256k1", kSignVerify,
     {"ECDSA_SHA_256", nullptr}, {nullptr}, nullptr, false},
    {"ECC_NIST_EDWARDS25519", Family::kEd25519, 255, nullptr, kSignVerify,
     {"ED25519_SHA_512", "ED25519_PH_SHA_512", nullptr}, {nullptr}, nullptr, false},
    {"SM2", Family::kSm2, 256, "SM2", kEncryptDecrypt | kSignVerify | kKeyAgreement,
     {"SM2DSA", nullptr}, {"SM2PKE", nullptr}, nullptr, true},
    {"HMAC_224", Family::kHmac, 28, nullptr, kGenerateVerifyMac, {nullptr}, {nullptr},
     "HMAC_SHA_224", false},
    {"HMAC_256", Family::kHmac, 32, nullptr, kGenerateVerifyMac, {nullptr}, {nullptr},
     "HMAC_SHA_256", false},
    {"HMAC_384", Family::kHmac, 48, nullptr, kGenerateVerifyMac, {nullptr}, {nullptr},
     "HMAC_SHA_384", false},
    {"HMAC_512", Family::kHmac, 64, nullptr, kGenerateVerifyMac, {nullptr}, {nullptr},
     "HMAC_SHA_512", false},
    {"ML_DSA_44", Family::kMlDsa, 0, nullptr, kSignVerify, {"ML_DSA_SHAKE_256", nullptr},
     {nullptr}, nullptr, false},
    {"ML_DSA_65", Family::kMlDsa, 0, nullptr, kSignVerify, {"ML_DSA_SHAKE_256", nullptr},
     {nullptr}, nullptr, false},
    {"ML_DSA_87", Family::kMlDsa, 0, nullptr, kSignVerify, {"ML_DSA_SHAKE_256", nullptr},
     {nullptr}, nullptr, false},
}};

const std::array<SigningInfo, 13> kSigning = {{
    {"RSASSA_PSS_SHA_256", Scheme::kPss, "SHA256", 32},
    {"RSASSA_PSS_SHA_384", Scheme::kPss, "SHA384", 48},
    {"RSASSA_PSS_SHA_512", Scheme::kPss, "SHA512", 64},
    {"RSASSA_PKCS1_V1_5_SHA_256", Scheme::kPkcs1, "SHA256", 32},
    {"RSASSA_PKCS1_V1_5_SHA_384", Scheme::kPkcs1, "SHA384", 48},
    {"RSASSA_PKCS1_V1_5_SHA_512", Scheme::kPkcs1, "SHA512", 64},
    {"ECDSA_SHA_256", Scheme::kEcdsa, "SHA256", 32},
    {"ECDSA_SHA_384", Scheme::kEcdsa, "SHA384", 48},
    {"ECDSA_SHA_512", Scheme::kEcdsa, "SHA512", 64},
    {"SM2DSA", Scheme::kSm2, "SM3", 32},
    {"ED25519_SHA_512", Scheme::kEd25519, nullptr, 64},
    {"ED25519_PH_SHA_512", Scheme::kEd25519Ph, "SHA512", 64},
    {"ML_DSA_SHAKE_256", Scheme::kMlDsa, nullptr, 64},
}};
// clang-format on

constexpr std::array<std::pair<Usage, const char*>, 4> kUsageNames = {{
    {kEncryptDecrypt, "ENCRYPT_DECRYPT"},
    {kSignVerify, "SIGN_VERIFY"},
    {kGenerateVerifyMac, "GENERATE_VERIFY_MAC"},
    {kKeyAgreement, "KEY_AGREEMENT"},
}};

unsigned usageFlag(std::string_view name) {
  for (const auto& [flag, n] : kUsageNames)
    if (name == n) return flag;
  return 0;
}

// BIO-free DER export through the i2d functions; the OpenSSL buffer is cleansed and freed.
template <class F>
std::string toDer(F&& encode) {
  unsigned char* buf = nullptr;
  int len = encode(&buf);
  if (len <= 0 || buf == nullptr) return {};
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_clear_free(buf, static_cast<size_t>(len));
  return out;
}

}  // namespace

const SpecInfo* findSpec(std::string_view name) {
  for (const auto& s : kSpecs)
    if (s.name == name) return &s;
  return nullptr;
}

const SigningInfo* findSigning(std::string_view name) {
  for (const auto& s : kSigning)
    if (s.name == name) return &s;
  return nullptr;
}

const EVP_MD* digest(const char* name) {
  // Explicit fetches, once per process: implicit fetching repeats a provider lookup per call.
  static const std::array<std::pair<std::string_view, EVP_MD*>, 6> kDigests = [] {
    std::array<std::pair<std::string_view, EVP_MD*>, 6> t = {{{"SHA1", nullptr},
                                                              {"SHA224", nullptr},
                                                              {"SHA256", nullptr},
                                                              {"SHA384", nullptr},
                                                              {"SHA512", nullptr},
                                                              {"SM3", nullptr}}};
    for (auto& [n, md] : t) md = EVP_MD_fetch(nullptr, std::string(n).c_str(), nullptr);
    return t;
  }();
  for (const auto& [n, md] : kDigests)
    if (n == name) return md;
  return nullptr;
}

namespace {

// Parsed keys by SHA-256 of their DER, least recently used first out. OpenSSL 3.0's decoders
// take milliseconds per key while a P-256 signature takes tens of microseconds, so hot keys stay
// parsed. EVP_PKEY_free clears private components (BN_clear_free) on eviction.
class KeyCache {
 public:
  static constexpr size_t kCapacity = 1024;

  Pkey find(const std::string& id, bool private_only) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(id);
    if (it == index_.end() || (private_only && !it->second->is_private)) return nullptr;
    lru_.splice(lru_.end(), lru_, it->second);
    EVP_PKEY* key = it->second->key;
    if (EVP_PKEY_up_ref(key) != 1) return nullptr;
    return Pkey(key);
  }

  void insert(const std::string& id, EVP_PKEY* key, bool is_private) {
    if (EVP_PKEY_up_ref(key) != 1) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(id);
    if (it != index_.end()) {
      EVP_PKEY_free(it->second->key);
      lru_.erase(it->second);
      index_.erase(it);
    }
    lru_.push_back(Entry{id, key, is_private});
    index_.emplace(id, std::prev(lru_.end()));
    while (lru_.size() > kCapacity) {
      EVP_PKEY_free(lru_.front().key);
      index_.erase(lru_.front().id);
      lru_.pop_front();
    }
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : lru_) EVP_PKEY_free(e.key);
    lru_.clear();
    index_.clear();
  }

 private:
  struct Entry {
    std::string id;
    EVP_PKEY* key;
    bool is_private;
  };
  std::mutex mu_;
  std::list<Entry> lru_;
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

KeyCache& keyCache() {
  static KeyCache* cache = new KeyCache();  // never destroyed: usable from static destructors
  return *cache;
}

}  // namespace

Pkey cachedKey(std::string_view der, bool private_only) {
  std::string id = sha256(der);
  if (Pkey hit = keyCache().find(id, private_only)) return hit;
  bool is_private = private_only;
  Pkey key;
  if (!private_only) {
    const unsigned char* p = bytes(der);
    key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (key && p != bytes(der) + der.size()) key.reset();
    if (!key) {
      ERR_clear_error();
      is_private = true;
    }
  }
  if (!key) key = loadPrivate(der);
  if (key) keyCache().insert(id, key.get(), is_private);
  return key;
}

Pkey loadPrivate(std::string_view der) {
  const unsigned char* p = bytes(der);
  PKCS8_PRIV_KEY_INFO* p8 = d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size()));
  Pkey key;
  // Trailing bytes after the structure are not a PKCS#8 key.
  if (p8 != nullptr && p == bytes(der) + der.size()) key.reset(EVP_PKCS82PKEY(p8));
  PKCS8_PRIV_KEY_INFO_free(p8);
  if (!key) ERR_clear_error();  // a failed parse is an answer, not an error to keep queued
  return key;
}

Pkey loadAny(std::string_view der) {
  const unsigned char* p = bytes(der);
  Pkey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (key && p == bytes(der) + der.size()) return key;
  ERR_clear_error();
  return loadPrivate(der);
}

std::string specOf(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA")) {
    switch (EVP_PKEY_get_bits(key)) {
      case 2048:
        return "RSA_2048";
      case 3072:
        return "RSA_3072";
      case 4096:
        return "RSA_4096";
      default:
        return "";
    }
  }
  if (EVP_PKEY_is_a(key, "ED25519")) return "ECC_NIST_EDWARDS25519";
  if (EVP_PKEY_is_a(key, "EC") || EVP_PKEY_is_a(key, "SM2")) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1)
      return "";
    std::string_view g(group, len);
    for (const auto& s : kSpecs)
      if (s.group != nullptr && g == s.group) return std::string(s.name);
  }
  return "";
}

Result<Pkey> loadKeyOfSpec(std::string_view der, std::string_view key_spec, bool private_only) {
  Pkey key = cachedKey(der, private_only);
  if (!key) return opensslFailure("key material does not parse");
  if (specOf(key.get()) != key_spec) return opensslFailure("key material does not match its spec");
  return key;
}

std::string publicDer(EVP_PKEY* key) {
  return toDer([&](unsigned char** out) { return i2d_PUBKEY(key, out); });
}

std::string privateDer(EVP_PKEY* key) {
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key);
  if (p8 == nullptr) return {};
  std::string out = toDer([&](unsigned char** o) { return i2d_PKCS8_PRIV_KEY_INFO(p8, o); });
  PKCS8_PRIV_KEY_INFO_free(p8);
  return out;
}

AwsError err(const char* code, std::string message, int status) {
  return AwsError{code, std::move(message), status, true, {}};
}

AwsError invalidKeyUsage(std::string message) {
  return err("InvalidKeyUsageException", std::move(message));
}

AwsError unsupported(std::string message) {
  return err("UnsupportedOperationException", std::move(message));
}

AwsError incompatible(std::string_view algorithm, std::string_view key_spec) {
  return invalidKeyUsage("Algorithm " + std::string(algorithm) + " is incompatible with key spec " +
                         std::string(key_spec) + ".");
}

AwsError mlDsaUnsupported(std::string_view what) {
  return unsupported(std::string(what) +
                     " requires OpenSSL 3.5 (ML-DSA); this server is built with OpenSSL 3.0.");
}

AwsError opensslFailure(const char* what) {
  // Leave no stale entries on this thread's OpenSSL error queue for unrelated later calls.
  ERR_clear_error();
  return AwsError{
      "KMSInternalException", std::string("KMS cryptographic failure: ") + what, 500, false, {}};
}

}  // namespace detail

using namespace detail;

Result<MessageType> parseMessageType(const std::string& message_type) {
  if (message_type.empty() || message_type == "RAW") return MessageType::kRaw;
  if (message_type == "DIGEST") return MessageType::kDigest;
  if (message_type == "EXTERNAL_MU") return mlDsaUnsupported("MessageType EXTERNAL_MU");
  return AwsError::validation("1 validation error detected: Value '" + message_type +
                              "' at 'messageType' failed to satisfy constraint: Member must "
                              "satisfy enum value set: [RAW, DIGEST, EXTERNAL_MU]");
}

void clearKeyCache() { keyCache().clear(); }

bool isKnownKeySpec(const std::string& key_spec) { return findSpec(key_spec) != nullptr; }

std::vector<std::string> keyUsagesFor(const std::string& key_spec) {
  std::vector<std::string> out;
  const SpecInfo* s = findSpec(key_spec);
  if (s == nullptr) return out;
  for (const auto& [flag, name] : kUsageNames)
    if (s->usages & flag) out.emplace_back(name);
  return out;
}

Result<void> checkKeyUsage(const std::string& key_spec, const std::string& key_usage) {
  const SpecInfo* s = findSpec(key_spec);
  if (s == nullptr)
    return AwsError::validation("1 validation error detected: Value '" + key_spec +
                                "' at 'keySpec' failed to satisfy constraint: Member must "
                                "satisfy enum value set");
  if (s->family == Family::kMlDsa) return mlDsaUnsupported("KeySpec " + key_spec);
  unsigned flag = usageFlag(key_usage);
  if (flag == 0 || (s->usages & flag) == 0)
    return AwsError::validation("KeyUsage " + key_usage + " is not compatible with KeySpec " +
                                key_spec);
  return okResult();
}

Result<KeyAlgorithms> algorithmsFor(const std::string& key_spec, const std::string& key_usage) {
  TRY_VOID(checkKeyUsage(key_spec, key_usage));
  const SpecInfo* s = findSpec(key_spec);
  KeyAlgorithms out;
  switch (usageFlag(key_usage)) {
    case kSignVerify:
      for (const char* const* a = s->signing; *a != nullptr; ++a) out.signing.emplace_back(*a);
      break;
    case kEncryptDecrypt:
      for (const char* const* a = s->encryption; *a != nullptr; ++a)
        out.encryption.emplace_back(*a);
      break;
    case kGenerateVerifyMac:
      out.mac.emplace_back(s->mac);
      break;
    case kKeyAgreement:
      out.key_agreement.emplace_back("ECDH");
      break;
  }
  return out;
}

Result<void> checkAlgorithm(const std::string& key_spec, const std::string& algorithm) {
  const SpecInfo* s = findSpec(key_spec);
  if (s == nullptr) return incompatible(algorithm, key_spec);
  for (const char* const* a = s->signing; *a != nullptr; ++a)
    if (algorithm == *a) return okResult();
  for (const char* const* a = s->encryption; *a != nullptr; ++a)
    if (algorithm == *a) return okResult();
  if (s->mac != nullptr && algorithm == s->mac) return okResult();
  if (s->key_agreement && algorithm == "ECDH") return okResult();
  return incompatible(algorithm, key_spec);
}

Result<KeyPairDer> generateKeyPair(const std::string& key_spec) {
  const SpecInfo* s = findSpec(key_spec);
  if (s == nullptr || s->family == Family::kHmac || s->family == Family::kSymmetric)
    return AwsError::validation("KeySpec " + key_spec + " is not an asymmetric key spec.");
  if (s->family == Family::kMlDsa) return mlDsaUnsupported("KeySpec " + key_spec);
  Pkey key;
  switch (s->family) {
    case Family::kRsa:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(s->bits)));
      break;
    case Family::kEc:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", s->group));
      break;
    case Family::kSm2:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2"));
      break;
    case Family::kEd25519:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
      break;
    default:
      break;
  }
  if (!key) return opensslFailure("key pair generation failed");
  KeyPairDer out{privateDer(key.get()), publicDer(key.get())};
  if (out.private_pkcs8.empty() || out.public_spki.empty()) {
    wipe(out.private_pkcs8);
    return opensslFailure("key pair encoding failed");
  }
  return out;
}

Result<std::string> generateSecretKey(const std::string& key_spec) {
  const SpecInfo* s = findSpec(key_spec);
  if (s == nullptr || (s->family != Family::kHmac && s->family != Family::kSymmetric))
    return AwsError::validation("KeySpec " + key_spec + " is not a symmetric or HMAC key spec.");
  return randomBytes(static_cast<size_t>(s->bits));
}

Result<std::string> publicKeyFromPrivate(const std::string& private_der) {
  Pkey key = loadPrivate(private_der);
  if (!key) return opensslFailure("private key does not parse");
  std::string out = publicDer(key.get());
  if (out.empty()) return opensslFailure("public key encoding failed");
  return out;
}

Result<std::string> keySpecOfKey(const std::string& der) {
  Pkey key = loadAny(der);
  if (!key) return AwsError::validation("The key is not a valid DER-encoded key.");
  std::string spec = specOf(key.get());
  if (spec.empty()) return AwsError::validation("The key's type or size is not supported by KMS.");
  return spec;
}

Result<void> validateImportedMaterial(const std::string& key_spec, const std::string& material) {
  const SpecInfo* s = findSpec(key_spec);
  if (s == nullptr) return AwsError::validation("Unknown KeySpec " + key_spec + ".");
  switch (s->family) {
    case Family::kSymmetric:
      if (material.size() != 32)
        return AwsError::validation(
            "Key material for a SYMMETRIC_DEFAULT key must be 256 bits (32 bytes).");
      return okResult();
    case Family::kHmac: {
      // AWS: https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-conceptual.html
      // (HMAC material: at least the digest size, at most the SHA-2 block size: 64 or 128).
      size_t min = static_cast<size_t>(s->bits);
      size_t max = min <= 32 ? 64 : 128;
      if (material.size() < min || material.size() > max)
        return AwsError::validation("Key material for a " + key_spec + " key must be between " +
                                    std::to_string(min) + " and " + std::to_string(max) +
                                    " bytes.");
      return okResult();
    }
    case Family::kMlDsa:
      return mlDsaUnsupported("KeySpec " + key_spec);
    default:
      break;
  }
  Pkey key = loadPrivate(material);
  if (!key)
    return AwsError::validation(
        "The key material is not a DER-encoded PKCS #8 private key (PrivateKeyInfo).");
  if (specOf(key.get()) != key_spec)
    return AwsError::validation("The key material does not match the key spec " + key_spec + ".");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1)
    return AwsError::validation("The key material is not a consistent " + key_spec +
                                " private key.");
  return okResult();
}

}  // namespace citadel::crypto::kms
