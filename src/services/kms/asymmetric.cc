// KMS asymmetric keys: material generators for RSA/ECC/SM2/HMAC specs, Sign, Verify,
// GetPublicKey, RSAES_OAEP/SM2PKE Encrypt/Decrypt (the raw RSA/SM2 ciphertext, as AWS returns
// it), GenerateDataKeyPair(+WithoutPlaintext) and DeriveSharedSecret. The cryptography itself
// is crypto/kms_crypto.h; this file adds key states, key usages and AWS's request shapes.
#include <mutex>

#include "crypto/crypto.h"
#include "crypto/kms_crypto.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace ckms = crypto::kms;

namespace {

/// A string holding secret bytes, wiped when it goes out of scope.
struct Wiped {
  std::string bytes;
  Wiped() = default;
  explicit Wiped(std::string b) : bytes(std::move(b)) {}
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { crypto::wipe(bytes); }
};

constexpr const char* kAsymmetricSpecs[] = {"RSA_2048",
                                            "RSA_3072",
                                            "RSA_4096",
                                            "ECC_NIST_P256",
                                            "ECC_NIST_P384",
                                            "ECC_NIST_P521",
                                            "ECC_SECG_P256K1",
                                            "ECC_NIST_EDWARDS25519",
                                            "SM2"};
constexpr const char* kHmacSpecs[] = {"HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"};

bool dryRun(const json::value& in) {
  const json::value* v = in.as_object().if_contains("DryRun");
  return v && v->is_bool() && v->get_bool();
}

AwsError dryRunError() {
  return AwsError{"DryRunOperationException",
                  "The request would have succeeded, but the DryRun option is set.",
                  412,
                  true,
                  {}};
}

/// The raw bytes of a blob member ("" when absent).
std::string_view blobMember(const json::value& in, std::string_view name) {
  const json::value* v = in.as_object().if_contains(name);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

AwsError missing(std::string_view member) {
  return AwsError::validation("1 validation error detected: Value null at '" + std::string(member) +
                              "' failed to satisfy constraint: Member must not be null");
}

AwsError recipientUnsupported() {
  return kmsError("UnsupportedOperationException",
                  "Recipient (Nitro Enclaves attestation) is not supported by citadel.");
}

/// The private (or HMAC) material of the key's current version, copied for the crypto layer.
Result<std::shared_ptr<Wiped>> currentMaterial(RequestContext& ctx, const CachedKey& key) {
  auto secret = key.material(*ctx.services, key.record.current_version);
  if (!secret) return kmsError("KMSInternalException", "The key material is unavailable.");
  return std::make_shared<Wiped>(std::string(secret->bytes()));
}

/// Resolves the KeyId member and requires an Enabled key of `usage`.
Result<std::shared_ptr<const CachedKey>> usableKey(RequestContext& ctx, const json::value& in,
                                                   std::string_view usage,
                                                   std::string_view operation) {
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), true, Access::kCrossAccount));
  TRY_VOID(requireUsable(key->record));
  TRY_VOID(requireKeyUsage(key->record, usage, operation));
  return key;
}

json::array stringArray(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(json::string(s));
  return a;
}

Result<json::value> generateDataKeyPairImpl(RequestContext& ctx, const json::value& in,
                                            bool with_plaintext) {
  const char* op = with_plaintext ? "GenerateDataKeyPair" : "GenerateDataKeyPairWithoutPlaintext";
  std::string pair_spec = str(in, "KeyPairSpec");
  if (pair_spec.empty()) return missing("keyPairSpec");
  if (in.as_object().contains("Recipient")) return recipientUnsupported();
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), true, Access::kCrossAccount));
  const KeyRecord& k = key->record;
  TRY_VOID(requireUsable(k));
  TRY_VOID(requireKeyUsage(k, "ENCRYPT_DECRYPT", op));
  if (k.key_spec != "SYMMETRIC_DEFAULT")
    return kmsError(
        "InvalidKeyUsageException",
        "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec " + k.key_spec + ".");
  if (dryRun(in)) return dryRunError();
  TRY_ASSIGN(ckms::KeyPairDer pair, ckms::generateKeyPair(pair_spec));
  Wiped private_der(std::move(pair.private_pkcs8));
  // The private key is encrypted exactly as Encrypt would (same blob, same key routing).
  json::object enc_in{{"KeyId", k.arn}, {"Plaintext", private_der.bytes}};
  if (const json::value* c = in.as_object().if_contains("EncryptionContext"))
    enc_in["EncryptionContext"] = *c;
  auto sealed = encrypt(ctx, json::value(std::move(enc_in)));
  if (!sealed.ok()) return std::move(sealed).error();
  json::object out;
  out["PrivateKeyCiphertextBlob"] = sealed.value().as_object().at("CiphertextBlob");
  if (with_plaintext) out["PrivateKeyPlaintext"] = private_der.bytes;
  out["PublicKey"] = pair.public_spki;
  out["KeyId"] = k.arn;
  out["KeyPairSpec"] = pair_spec;
  ctx.resources = {{"AWS::KMS::Key", k.arn}};
  return json::value(std::move(out));
}

}  // namespace

void registerAsymmetricSpecs() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const char* spec : kAsymmetricSpecs) {
      registerMaterialGenerator(spec, [](std::string_view s) -> Result<std::string> {
        TRY_ASSIGN(ckms::KeyPairDer pair, ckms::generateKeyPair(std::string(s)));
        return std::move(pair.private_pkcs8);
      });
      markKeySpecImplemented(spec);
    }
    for (const char* spec : kHmacSpecs) {
      registerMaterialGenerator(spec, [](std::string_view s) -> Result<std::string> {
        return ckms::generateSecretKey(std::string(s));
      });
      markKeySpecImplemented(spec);
    }
  });
}

bool asymmetricEncryption(const KeyRecord& k) {
  return k.key_usage == "ENCRYPT_DECRYPT" && k.key_spec != "SYMMETRIC_DEFAULT";
}

Result<void> requireKeyUsage(const KeyRecord& k, std::string_view usage,
                             std::string_view operation) {
  if (k.key_usage == usage) return okResult();
  // AWS: "<key ARN> key usage is SIGN_VERIFY which is not valid for Encrypt."
  return kmsError("InvalidKeyUsageException", k.arn + " key usage is " + k.key_usage +
                                                  " which is not valid for " +
                                                  std::string(operation) + ".");
}

Result<AsymmetricCrypt> asymmetricEncryptWith(RequestContext& ctx, const CachedKey& key,
                                              std::string_view algorithm,
                                              std::string_view plaintext) {
  const KeyRecord& k = key.record;
  std::string alg = algorithm.empty() ? "SYMMETRIC_DEFAULT" : std::string(algorithm);
  TRY_VOID(ckms::checkAlgorithm(k.key_spec, alg));
  TRY_ASSIGN(auto material, currentMaterial(ctx, key));
  TRY_ASSIGN(std::string ct,
             ckms::asymmetricEncrypt(material->bytes, k.key_spec, alg, std::string(plaintext)));
  return AsymmetricCrypt{std::move(ct), std::move(alg)};
}

Result<AsymmetricCrypt> asymmetricDecryptWith(RequestContext& ctx, const CachedKey& key,
                                              std::string_view algorithm,
                                              std::string_view ciphertext) {
  const KeyRecord& k = key.record;
  std::string alg = algorithm.empty() ? "SYMMETRIC_DEFAULT" : std::string(algorithm);
  TRY_VOID(ckms::checkAlgorithm(k.key_spec, alg));
  TRY_ASSIGN(auto material, currentMaterial(ctx, key));
  TRY_ASSIGN(std::string pt,
             ckms::asymmetricDecrypt(material->bytes, k.key_spec, alg, std::string(ciphertext)));
  return AsymmetricCrypt{std::move(pt), std::move(alg)};
}

Result<json::value> asymmetricEncrypt(RequestContext& ctx, const CachedKey& key,
                                      const json::value& in) {
  std::string_view plain = blobMember(in, "Plaintext");
  std::string alg = str(in, "EncryptionAlgorithm");
  if (dryRun(in)) {
    TRY_VOID(ckms::checkAlgorithm(key.record.key_spec, alg.empty() ? "SYMMETRIC_DEFAULT" : alg));
    return dryRunError();
  }
  TRY_ASSIGN(AsymmetricCrypt c, asymmetricEncryptWith(ctx, key, alg, plain));
  json::object out;
  out["CiphertextBlob"] = std::move(c.bytes);
  out["KeyId"] = key.record.arn;
  out["EncryptionAlgorithm"] = c.algorithm;
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
Result<json::value> sign(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto key, usableKey(ctx, in, "SIGN_VERIFY", "Sign"));
  const KeyRecord& k = key->record;
  std::string alg = str(in, "SigningAlgorithm");
  if (alg.empty()) return missing("signingAlgorithm");
  TRY_ASSIGN(ckms::MessageType type, ckms::parseMessageType(str(in, "MessageType")));
  TRY_VOID(ckms::checkAlgorithm(k.key_spec, alg));
  TRY_ASSIGN(auto material, currentMaterial(ctx, *key));
  TRY_ASSIGN(std::string signature, ckms::sign(material->bytes, k.key_spec, alg,
                                               std::string(blobMember(in, "Message")), type));
  if (dryRun(in)) return dryRunError();
  json::object out;
  out["KeyId"] = k.arn;
  out["Signature"] = std::move(signature);
  out["SigningAlgorithm"] = alg;
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html
Result<json::value> verify(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto key, usableKey(ctx, in, "SIGN_VERIFY", "Verify"));
  const KeyRecord& k = key->record;
  std::string alg = str(in, "SigningAlgorithm");
  if (alg.empty()) return missing("signingAlgorithm");
  TRY_ASSIGN(ckms::MessageType type, ckms::parseMessageType(str(in, "MessageType")));
  TRY_VOID(ckms::checkAlgorithm(k.key_spec, alg));
  TRY_ASSIGN(auto material, currentMaterial(ctx, *key));
  TRY_VOID(ckms::verify(material->bytes, k.key_spec, alg, std::string(blobMember(in, "Message")),
                        type, std::string(blobMember(in, "Signature"))));
  if (dryRun(in)) return dryRunError();
  json::object out;
  out["KeyId"] = k.arn;
  out["SignatureValid"] = true;
  out["SigningAlgorithm"] = alg;
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html
Result<json::value> getPublicKey(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), true, Access::kCrossAccount));
  const KeyRecord& k = key->record;
  TRY_VOID(requireUsable(k));
  const KeySpecInfo* info = keySpecInfo(k.key_spec);
  if (k.key_spec == "SYMMETRIC_DEFAULT" || !info || !info->mac_algorithms.empty())
    return kmsError("UnsupportedOperationException",
                    k.arn + " key spec " + k.key_spec +
                        " is not supported for this operation. GetPublicKey supports "
                        "asymmetric KMS keys only.");
  TRY_ASSIGN(auto material, currentMaterial(ctx, *key));
  TRY_ASSIGN(std::string spki, ckms::publicKeyFromPrivate(material->bytes));
  TRY_ASSIGN(ckms::KeyAlgorithms algs, ckms::algorithmsFor(k.key_spec, k.key_usage));
  json::object out;
  out["KeyId"] = k.arn;
  out["PublicKey"] = std::move(spki);
  out["CustomerMasterKeySpec"] = k.key_spec;
  out["KeySpec"] = k.key_spec;
  out["KeyUsage"] = k.key_usage;
  if (!algs.encryption.empty()) out["EncryptionAlgorithms"] = stringArray(algs.encryption);
  if (!algs.signing.empty()) out["SigningAlgorithms"] = stringArray(algs.signing);
  if (!algs.key_agreement.empty()) out["KeyAgreementAlgorithms"] = stringArray(algs.key_agreement);
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPair.html
Result<json::value> generateDataKeyPair(RequestContext& ctx, const json::value& in) {
  return generateDataKeyPairImpl(ctx, in, true);
}

Result<json::value> generateDataKeyPairWithoutPlaintext(RequestContext& ctx,
                                                        const json::value& in) {
  return generateDataKeyPairImpl(ctx, in, false);
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_DeriveSharedSecret.html
Result<json::value> deriveSharedSecret(RequestContext& ctx, const json::value& in) {
  if (in.as_object().contains("Recipient")) return recipientUnsupported();
  TRY_ASSIGN(auto key, usableKey(ctx, in, "KEY_AGREEMENT", "DeriveSharedSecret"));
  const KeyRecord& k = key->record;
  std::string alg = str(in, "KeyAgreementAlgorithm");
  if (alg.empty()) return missing("keyAgreementAlgorithm");
  TRY_VOID(ckms::checkAlgorithm(k.key_spec, alg));
  std::string_view peer = blobMember(in, "PublicKey");
  if (peer.empty()) return missing("publicKey");
  TRY_ASSIGN(auto material, currentMaterial(ctx, *key));
  TRY_ASSIGN(std::string secret, ckms::deriveSharedSecret(material->bytes, std::string(peer)));
  Wiped shared(std::move(secret));
  if (dryRun(in)) return dryRunError();
  json::object out;
  out["KeyId"] = k.arn;
  out["SharedSecret"] = shared.bytes;
  out["KeyAgreementAlgorithm"] = alg;
  out["KeyOrigin"] = k.origin;
  return json::value(std::move(out));
}

}  // namespace citadel::kms
