// KMS symmetric cryptography: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(+WithoutPlaintext),
// GenerateRandom, and citadel's ciphertext blob (format in internal.h). AES-256-GCM with a
// fresh 96-bit IV per blob; the encryption context is authenticated, never stored.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>

#include "crypto/crypto.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

constexpr uint8_t kBlobVersion = 1;
constexpr size_t kAccountLen = 12;
constexpr size_t kIvLen = 12;
constexpr size_t kTagLen = 16;
constexpr size_t kMaxKeyIdLen = 64;

struct CipherCtx {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(c); }
};

/// One cipher context per thread, reused (initialisation is per call).
EVP_CIPHER_CTX* threadCipher() {
  thread_local CipherCtx ctx;
  return ctx.c;
}

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void putU32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

uint32_t getU32(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

/// Length of the header (the part before the IV) of a blob with this key id.
size_t headerLen(size_t key_id_len) { return 1 + kAccountLen + 1 + key_id_len + 4; }

AwsError invalidCiphertext() {
  // AWS: InvalidCiphertextException carries no message.
  return kmsError("InvalidCiphertextException", "");
}

AwsError incorrectKey() {
  return kmsError("IncorrectKeyException",
                  "The key ID in the request does not identify a CMK that can perform this "
                  "operation.");
}

const json::object* objectMember(const json::value& in, std::string_view name) {
  const json::value* v = in.as_object().if_contains(name);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

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

/// The key may encrypt with SYMMETRIC_DEFAULT.
Result<void> requireSymmetricEncryption(const KeyRecord& k, const json::value& in,
                                        std::string_view algorithm_member,
                                        std::string_view operation) {
  if (k.key_usage != "ENCRYPT_DECRYPT")
    return kmsError("InvalidKeyUsageException", k.arn + " key usage is " + k.key_usage +
                                                    " which is not valid for " +
                                                    std::string(operation) + ".");
  std::string alg = str(in, algorithm_member);
  if (k.key_spec != "SYMMETRIC_DEFAULT") {
    // Encrypt/Decrypt/ReEncrypt route asymmetric keys to asymmetric.cc before this check;
    // what reaches here (GenerateDataKey ...) needs a symmetric key.
    // AWS: "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_4096."
    return kmsError("InvalidKeyUsageException", "Algorithm " +
                                                    (alg.empty() ? "SYMMETRIC_DEFAULT" : alg) +
                                                    " is incompatible with key spec " +
                                                    k.key_spec + ".");
  }
  if (!alg.empty() && alg != "SYMMETRIC_DEFAULT")
    return kmsError("InvalidKeyUsageException",
                    "The request was rejected because the specified encryption algorithm " + alg +
                        " is not valid for the key " + k.arn + ".");
  return okResult();
}

/// Encrypts `plain` under the key's current material.
Result<std::string> encryptWith(runtime::Services& s, const CachedKey& key, std::string_view plain,
                                const json::object* context) {
  const KeyRecord& k = key.record;
  // Keys of a custom key store: the AES-GCM runs in its token (custom_key_store.cc).
  if (k.origin == "AWS_CLOUDHSM") return tokenSealBlob(s, k, plain, canonicalContext(context));
  auto material = key.material(s, k.current_version);
  if (!material) return kmsError("KMSInternalException", "The key material is unavailable.");
  return sealBlob(BlobHeader{k.account_id, k.key_id, k.current_version}, *material, plain,
                  canonicalContext(context));
}

struct Decrypted {
  std::shared_ptr<const CachedKey> key;
  std::string plaintext;
  std::string algorithm = "SYMMETRIC_DEFAULT";
};

/// Decrypt's common part (Decrypt and ReEncrypt's source side).
Result<Decrypted> decryptBlob(RequestContext& ctx, std::string_view blob,
                              const std::string& key_input, const json::object* context,
                              const json::value& in, std::string_view algorithm_member,
                              std::string_view operation) {
  auto header = parseBlobHeader(blob);
  std::shared_ptr<const CachedKey> key;
  if (!key_input.empty()) {
    TRY_ASSIGN(key, resolveKey(ctx, key_input, true, Access::kCrossAccount));
    if (asymmetricEncryption(key->record) || key->record.key_usage != "ENCRYPT_DECRYPT") {
      // AWS: asymmetric ciphertext is the raw RSA/SM2 ciphertext; KeyId is required for it.
      // A key of another usage is refused before the ciphertext is looked at.
      TRY_VOID(requireUsable(key->record));
      TRY_VOID(requireKeyUsage(key->record, "ENCRYPT_DECRYPT", operation));
      TRY_ASSIGN(AsymmetricCrypt c,
                 asymmetricDecryptWith(ctx, *key, str(in, algorithm_member), blob));
      return Decrypted{std::move(key), std::move(c.bytes), std::move(c.algorithm)};
    }
    if (!header) return invalidCiphertext();
    if (header->key_id != key->record.key_id || header->account_id != key->record.account_id)
      return incorrectKey();
  } else {
    if (!header) return invalidCiphertext();
    auto found = resolveKey(ctx, keyArn(header->account_id, ctx.region, header->key_id), false,
                            Access::kCrossAccount);
    if (!found.ok()) {
      if (found.error().code == "NotFoundException") return invalidCiphertext();
      return std::move(found).error();
    }
    key = std::move(found).value();
  }
  const KeyRecord& k = key->record;
  TRY_VOID(requireUsable(k));
  TRY_VOID(requireSymmetricEncryption(k, in, algorithm_member, operation));
  if (k.origin == "AWS_CLOUDHSM" || header->format == kTokenBlobFormat) {
    if (k.origin != "AWS_CLOUDHSM" || header->format != kTokenBlobFormat)
      return invalidCiphertext();
    TRY_ASSIGN(std::string plain,
               tokenOpenBlob(*ctx.services, k, blob, canonicalContext(context)));
    return Decrypted{std::move(key), std::move(plain)};
  }
  auto material = key->material(*ctx.services, header->version);
  if (!material) return invalidCiphertext();
  auto plain = openBlob(blob, *material, canonicalContext(context));
  if (!plain) return invalidCiphertext();
  return Decrypted{std::move(key), std::move(*plain)};
}

/// The data key size GenerateDataKey asks for (KeySpec or NumberOfBytes, exactly one).
Result<size_t> dataKeySize(const json::value& in) {
  const json::value* n = in.as_object().if_contains("NumberOfBytes");
  std::string spec = str(in, "KeySpec");
  if ((n == nullptr) == spec.empty())
    return AwsError::validation("Please specify either number of bytes or key spec.");
  if (n) return static_cast<size_t>(n->to_number<int64_t>());
  return spec == "AES_128" ? size_t{16} : size_t{32};
}

Result<json::value> generateDataKeyImpl(RequestContext& ctx, const json::value& in,
                                        bool with_plaintext) {
  const char* op = with_plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext";
  TRY_ASSIGN(size_t size, dataKeySize(in));
  if (in.as_object().contains("Recipient"))
    return kmsError("UnsupportedOperationException",
                    "Recipient (Nitro Enclaves attestation) is not supported by citadel.");
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), true, Access::kCrossAccount));
  TRY_VOID(requireUsable(key->record));
  TRY_VOID(requireSymmetricEncryption(key->record, in, "EncryptionAlgorithm", op));
  if (dryRun(in)) return dryRunError();
  std::string data_key = crypto::randomBytes(size);
  auto blob = encryptWith(*ctx.services, *key, data_key, objectMember(in, "EncryptionContext"));
  if (!blob.ok()) {
    crypto::wipe(data_key);
    return std::move(blob).error();
  }
  json::object out;
  out["CiphertextBlob"] = std::move(blob).value();
  if (with_plaintext) out["Plaintext"] = data_key;
  out["KeyId"] = key->record.arn;
  crypto::wipe(data_key);
  return json::value(std::move(out));
}

}  // namespace

std::string canonicalContext(const json::object* context) {
  std::string out;
  if (!context || context->empty()) return out;
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  pairs.reserve(context->size());
  for (const auto& [k, v] : *context)
    pairs.emplace_back(k, v.is_string() ? std::string_view(v.get_string()) : std::string_view());
  std::sort(pairs.begin(), pairs.end());
  for (const auto& [k, v] : pairs) {
    putU32(out, static_cast<uint32_t>(k.size()));
    out.append(k);
    putU32(out, static_cast<uint32_t>(v.size()));
    out.append(v);
  }
  return out;
}

Result<std::string> sealBlob(const BlobHeader& h, const Secret& material, std::string_view plain,
                             std::string_view context_aad) {
  if (h.account_id.size() != kAccountLen || h.key_id.empty() || h.key_id.size() > kMaxKeyIdLen ||
      material.size() != 32)
    return AwsError::internal("cannot form a ciphertext blob for this key");
  std::string out;
  out.reserve(headerLen(h.key_id.size()) + kIvLen + plain.size() + kTagLen);
  out.push_back(static_cast<char>(kBlobVersion));
  out.append(h.account_id);
  out.push_back(static_cast<char>(h.key_id.size()));
  out.append(h.key_id);
  putU32(out, h.version);
  const size_t header_len = out.size();
  out.resize(header_len + kIvLen + plain.size() + kTagLen);
  auto* base = reinterpret_cast<unsigned char*>(out.data());
  unsigned char* iv = base + header_len;
  unsigned char* ct = iv + kIvLen;
  if (RAND_bytes(iv, static_cast<int>(kIvLen)) != 1)
    return AwsError::internal("random generator failure");
  EVP_CIPHER_CTX* c = threadCipher();
  int len = 0;
  bool ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), nullptr, material.data(), iv) == 1 &&
            EVP_EncryptUpdate(c, nullptr, &len, base, static_cast<int>(header_len)) == 1 &&
            (context_aad.empty() || EVP_EncryptUpdate(c, nullptr, &len, u8(context_aad),
                                                      static_cast<int>(context_aad.size())) == 1) &&
            (plain.empty() ||
             EVP_EncryptUpdate(c, ct, &len, u8(plain), static_cast<int>(plain.size())) == 1) &&
            EVP_EncryptFinal_ex(c, ct + plain.size(), &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagLen),
                                ct + plain.size()) == 1;
  if (!ok) return AwsError::internal("encryption failure");
  return out;
}

std::optional<BlobHeader> parseBlobHeader(std::string_view blob) {
  if (blob.size() < 1 + kAccountLen + 1) return std::nullopt;
  const auto format = static_cast<uint8_t>(blob[0]);
  if (format != kBlobVersion && format != kTokenBlobFormat) return std::nullopt;
  size_t id_len = static_cast<unsigned char>(blob[1 + kAccountLen]);
  if (id_len == 0 || id_len > kMaxKeyIdLen) return std::nullopt;
  if (blob.size() < headerLen(id_len) + kIvLen + kTagLen) return std::nullopt;
  BlobHeader h;
  h.account_id = std::string(blob.substr(1, kAccountLen));
  h.key_id = std::string(blob.substr(2 + kAccountLen, id_len));
  h.version = getU32(blob.substr(2 + kAccountLen + id_len, 4));
  h.format = format;
  return h;
}

std::optional<std::string> openBlob(std::string_view blob, const Secret& material,
                                    std::string_view context_aad) {
  auto h = parseBlobHeader(blob);
  if (!h || h->format != kBlobVersion || material.size() != 32) return std::nullopt;
  const size_t header_len = headerLen(h->key_id.size());
  const size_t ct_len = blob.size() - header_len - kIvLen - kTagLen;
  const unsigned char* base = u8(blob);
  const unsigned char* iv = base + header_len;
  const unsigned char* ct = iv + kIvLen;
  std::string plain(ct_len, '\0');
  auto* pt = reinterpret_cast<unsigned char*>(plain.data());
  unsigned char tag[kTagLen];
  std::copy(ct + ct_len, ct + ct_len + kTagLen, tag);
  EVP_CIPHER_CTX* c = threadCipher();
  int len = 0;
  bool ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), nullptr, material.data(), iv) == 1 &&
            EVP_DecryptUpdate(c, nullptr, &len, base, static_cast<int>(header_len)) == 1 &&
            (context_aad.empty() || EVP_DecryptUpdate(c, nullptr, &len, u8(context_aad),
                                                      static_cast<int>(context_aad.size())) == 1) &&
            (ct_len == 0 || EVP_DecryptUpdate(c, pt, &len, ct, static_cast<int>(ct_len)) == 1) &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagLen), tag) == 1 &&
            EVP_DecryptFinal_ex(c, pt + ct_len, &len) == 1;
  if (!ok) {
    crypto::wipe(plain);
    return std::nullopt;
  }
  return plain;
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html
Result<json::value> encrypt(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), true, Access::kCrossAccount));
  TRY_VOID(requireUsable(key->record));
  if (asymmetricEncryption(key->record)) return asymmetricEncrypt(ctx, *key, in);
  TRY_VOID(requireSymmetricEncryption(key->record, in, "EncryptionAlgorithm", "Encrypt"));
  if (dryRun(in)) return dryRunError();
  const json::value& plain = in.as_object().at("Plaintext");
  TRY_ASSIGN(std::string blob, encryptWith(*ctx.services, *key, plain.as_string(),
                                           objectMember(in, "EncryptionContext")));
  json::object out;
  out["CiphertextBlob"] = std::move(blob);
  out["KeyId"] = key->record.arn;
  out["EncryptionAlgorithm"] = "SYMMETRIC_DEFAULT";
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html
Result<json::value> decrypt(RequestContext& ctx, const json::value& in) {
  if (in.as_object().contains("Recipient"))
    return kmsError("UnsupportedOperationException",
                    "Recipient (Nitro Enclaves attestation) is not supported by citadel.");
  const json::value* blob = in.as_object().if_contains("CiphertextBlob");
  if (!blob || !blob->is_string())
    return AwsError::validation(
        "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy "
        "constraint: Member must not be null");
  TRY_ASSIGN(Decrypted d, decryptBlob(ctx, blob->get_string(), str(in, "KeyId"),
                                      objectMember(in, "EncryptionContext"), in,
                                      "EncryptionAlgorithm", "Decrypt"));
  if (dryRun(in)) {
    crypto::wipe(d.plaintext);
    return dryRunError();
  }
  json::object out;
  out["KeyId"] = d.key->record.arn;
  out["Plaintext"] = d.plaintext;
  out["EncryptionAlgorithm"] = d.algorithm;
  crypto::wipe(d.plaintext);
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html
Result<json::value> reEncrypt(RequestContext& ctx, const json::value& in) {
  const json::value* blob = in.as_object().if_contains("CiphertextBlob");
  if (!blob || !blob->is_string())
    return AwsError::validation(
        "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy "
        "constraint: Member must not be null");
  TRY_VOID(authorizeReEncryptTo(ctx, in));  // kms:ReEncryptFrom was checked before the handler
  TRY_ASSIGN(Decrypted d, decryptBlob(ctx, blob->get_string(), str(in, "SourceKeyId"),
                                      objectMember(in, "SourceEncryptionContext"), in,
                                      "SourceEncryptionAlgorithm", "ReEncrypt"));
  auto dest = resolveKey(ctx, str(in, "DestinationKeyId"), true, Access::kCrossAccount);
  if (!dest.ok()) {
    crypto::wipe(d.plaintext);
    return std::move(dest).error();
  }
  auto usable = requireUsable(dest.value()->record);
  const bool dest_asymmetric = asymmetricEncryption(dest.value()->record);
  if (usable.ok() && !dest_asymmetric)
    usable = requireSymmetricEncryption(dest.value()->record, in, "DestinationEncryptionAlgorithm",
                                        "ReEncrypt");
  if (!usable.ok()) {
    crypto::wipe(d.plaintext);
    return std::move(usable).error();
  }
  ctx.resources = {{"AWS::KMS::Key", d.key->record.arn},
                   {"AWS::KMS::Key", dest.value()->record.arn}};
  if (dryRun(in)) {
    crypto::wipe(d.plaintext);
    return dryRunError();
  }
  std::string dest_algorithm = "SYMMETRIC_DEFAULT";
  Result<std::string> out_blob = std::string();
  if (dest_asymmetric) {
    auto c = asymmetricEncryptWith(ctx, *dest.value(), str(in, "DestinationEncryptionAlgorithm"),
                                   d.plaintext);
    if (c.ok()) {
      out_blob = std::move(c.value().bytes);
      dest_algorithm = std::move(c.value().algorithm);
    } else {
      out_blob = std::move(c).error();
    }
  } else {
    out_blob = encryptWith(*ctx.services, *dest.value(), d.plaintext,
                           objectMember(in, "DestinationEncryptionContext"));
  }
  crypto::wipe(d.plaintext);
  if (!out_blob.ok()) return std::move(out_blob).error();
  json::object out;
  out["CiphertextBlob"] = std::move(out_blob).value();
  out["SourceKeyId"] = d.key->record.arn;
  out["KeyId"] = dest.value()->record.arn;
  out["SourceEncryptionAlgorithm"] = d.algorithm;
  out["DestinationEncryptionAlgorithm"] = dest_algorithm;
  return json::value(std::move(out));
}

Result<json::value> generateDataKey(RequestContext& ctx, const json::value& in) {
  return generateDataKeyImpl(ctx, in, true);
}

Result<json::value> generateDataKeyWithoutPlaintext(RequestContext& ctx, const json::value& in) {
  return generateDataKeyImpl(ctx, in, false);
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateRandom.html
Result<json::value> generateRandom(RequestContext& ctx, const json::value& in) {
  const json::value* n = in.as_object().if_contains("NumberOfBytes");
  if (!n)
    return AwsError::validation(
        "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy "
        "constraint: Member must not be null");
  if (in.as_object().contains("Recipient"))
    return kmsError("UnsupportedOperationException",
                    "Recipient (Nitro Enclaves attestation) is not supported by citadel.");
  const auto count = static_cast<size_t>(n->to_number<int64_t>());
  std::string bytes;
  if (std::string store_id = str(in, "CustomKeyStoreId"); !store_id.empty()) {
    // AWS: with a CloudHSM key store, the bytes come from its cluster (custom_key_store.cc).
    TRY_ASSIGN(bytes, customKeyStoreRandom(ctx, store_id, count));
  } else {
    bytes = crypto::randomBytes(count);
  }
  json::object out{{"Plaintext", bytes}};
  crypto::wipe(bytes);
  return json::value(std::move(out));
}

}  // namespace citadel::kms
