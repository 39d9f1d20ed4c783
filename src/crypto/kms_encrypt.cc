// KMS asymmetric encryption (RSAES-OAEP, SM2PKE), ECDH key agreement, HMAC, and the unwrapping
// of imported key material.

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string_view>

#include "crypto/crypto.h"
#include "crypto/kms_crypto.h"
#include "crypto/kms_internal.h"

namespace citadel::crypto::kms {
namespace {

using namespace detail;

constexpr size_t kSm2MaxPlaintext = 1024;  // AWS: SM2PKE encrypts up to 1024 bytes.

// AWS: Decrypt/ImportKeyMaterial answer InvalidCiphertextException without a message.
AwsError invalidCiphertext() {
  ERR_clear_error();
  return err("InvalidCiphertextException", "");
}

const char* oaepDigest(std::string_view algorithm) {
  if (algorithm == "RSAES_OAEP_SHA_1") return "SHA1";
  if (algorithm == "RSAES_OAEP_SHA_256") return "SHA256";
  return nullptr;
}

// An RSA key context initialised for OAEP with `md` for both the label hash and MGF1.
PkeyCtx oaepContext(EVP_PKEY* key, const char* md_name, bool encrypt) {
  const EVP_MD* md = digest(md_name);
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || md == nullptr) return nullptr;
  int rc = encrypt ? EVP_PKEY_encrypt_init(ctx.get()) : EVP_PKEY_decrypt_init(ctx.get());
  if (rc != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1)
    return nullptr;
  return ctx;
}

Result<std::string> encryptWith(EVP_PKEY_CTX* ctx, const std::string& plaintext) {
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx, nullptr, &len, bytes(plaintext), plaintext.size()) != 1)
    return opensslFailure("encrypt size");
  std::string out(len, '\0');
  if (EVP_PKEY_encrypt(ctx, bytes(out), &len, bytes(plaintext), plaintext.size()) != 1)
    return opensslFailure("encrypt");
  out.resize(len);
  return out;
}

// Decrypts into a buffer that is cleansed beyond the plaintext before it shrinks.
Result<std::string> decryptWith(EVP_PKEY_CTX* ctx, const std::string& ciphertext) {
  size_t len = 0;
  if (EVP_PKEY_decrypt(ctx, nullptr, &len, bytes(ciphertext), ciphertext.size()) != 1)
    return invalidCiphertext();
  std::string out(len, '\0');
  if (EVP_PKEY_decrypt(ctx, bytes(out), &len, bytes(ciphertext), ciphertext.size()) != 1) {
    wipe(out);
    return invalidCiphertext();
  }
  OPENSSL_cleanse(out.data() + len, out.size() - len);
  out.resize(len);
  return out;
}

AwsError tooLong(size_t max, std::string_view algorithm) {
  return AwsError::validation("Plaintext length exceeds the maximum of " + std::to_string(max) +
                              " bytes for encryption algorithm " + std::string(algorithm) + ".");
}

// SM2 keys cannot use OpenSSL 3.0's ECDH (the EC key manager refuses the SM2 curve and the SM2
// one offers no key exchange): the point multiplication is done with the EC_POINT API.
Result<std::string> sm2Ecdh(EVP_PKEY* priv, EVP_PKEY* peer) {
  std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(EC_GROUP_new_by_curve_name(NID_sm2),
                                                            EC_GROUP_free);
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> bn(BN_CTX_secure_new(), BN_CTX_free);
  if (!group || !bn) return opensslFailure("SM2 group");
  BIGNUM* d_raw = nullptr;
  if (EVP_PKEY_get_bn_param(priv, OSSL_PKEY_PARAM_PRIV_KEY, &d_raw) != 1)
    return opensslFailure("SM2 private scalar");
  std::unique_ptr<BIGNUM, decltype(&BN_clear_free)> d(d_raw, BN_clear_free);
  unsigned char pub[133];
  size_t pub_len = 0;
  if (EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &pub_len) !=
      1)
    return opensslFailure("SM2 peer point");
  std::unique_ptr<EC_POINT, decltype(&EC_POINT_free)> q(EC_POINT_new(group.get()), EC_POINT_free);
  std::unique_ptr<EC_POINT, decltype(&EC_POINT_clear_free)> shared(EC_POINT_new(group.get()),
                                                                   EC_POINT_clear_free);
  if (!q || !shared) return opensslFailure("SM2 points");
  // oct2point rejects points off the curve; the cofactor of the SM2 curve is 1.
  if (EC_POINT_oct2point(group.get(), q.get(), pub, pub_len, bn.get()) != 1 ||
      EC_POINT_is_at_infinity(group.get(), q.get()))
    return AwsError::validation("The PublicKey is not a valid point on the SM2 curve.");
  std::unique_ptr<BIGNUM, decltype(&BN_clear_free)> x(BN_secure_new(), BN_clear_free);
  if (!x || EC_POINT_mul(group.get(), shared.get(), nullptr, q.get(), d.get(), bn.get()) != 1 ||
      EC_POINT_is_at_infinity(group.get(), shared.get()) ||
      EC_POINT_get_affine_coordinates(group.get(), shared.get(), x.get(), nullptr, bn.get()) != 1)
    return opensslFailure("SM2 ECDH");
  std::string out(static_cast<size_t>((EC_GROUP_get_degree(group.get()) + 7) / 8), '\0');
  if (BN_bn2binpad(x.get(), bytes(out), static_cast<int>(out.size())) < 0) {
    wipe(out);
    return opensslFailure("SM2 ECDH encoding");
  }
  return out;
}

const char* macDigest(std::string_view algorithm) {
  if (algorithm == "HMAC_SHA_224") return "SHA224";
  if (algorithm == "HMAC_SHA_256") return "SHA256";
  if (algorithm == "HMAC_SHA_384") return "SHA384";
  if (algorithm == "HMAC_SHA_512") return "SHA512";
  return nullptr;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

// One HMAC context per thread and digest, with the digest set once; each call re-keys it.
EVP_MAC_CTX* macContext(int index, const char* digest_name) {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  thread_local MacCtx contexts[4];
  MacCtx& slot = contexts[index];
  if (!slot && mac != nullptr) {
    MacCtx c(EVP_MAC_CTX_new(mac));
    std::string name(digest_name);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name.data(), 0),
                           OSSL_PARAM_construct_end()};
    if (c && EVP_MAC_CTX_set_params(c.get(), params) == 1) slot = std::move(c);
  }
  return slot.get();
}

}  // namespace

size_t maxPlaintextLength(const std::string& key_spec, const std::string& encryption_algorithm) {
  const SpecInfo* s = findSpec(key_spec);
  if (s == nullptr || !checkAlgorithm(key_spec, encryption_algorithm).ok()) return 0;
  if (s->family == Family::kSm2) return kSm2MaxPlaintext;
  if (s->family != Family::kRsa) return 0;
  // AWS: https://docs.aws.amazon.com/kms/latest/developerguide/asymmetric-key-specs.html
  // (RSAES_OAEP maximum plaintext = modulus bytes - 2 * hash bytes - 2).
  size_t hash = encryption_algorithm == "RSAES_OAEP_SHA_1" ? 20 : 32;
  return static_cast<size_t>(s->bits / 8) - 2 * hash - 2;
}

Result<std::string> rsaEncrypt(const std::string& key_der, const std::string& encryption_algorithm,
                               const std::string& plaintext) {
  const char* md = oaepDigest(encryption_algorithm);
  if (md == nullptr)
    return invalidKeyUsage("Algorithm " + encryption_algorithm +
                           " is not an RSA encryption algorithm.");
  Pkey key = cachedKey(key_der, false);
  if (!key || !EVP_PKEY_is_a(key.get(), "RSA")) return opensslFailure("RSA key does not parse");
  size_t hash = std::string_view(md) == "SHA1" ? 20 : 32;
  size_t max = static_cast<size_t>(EVP_PKEY_get_size(key.get())) - 2 * hash - 2;
  if (plaintext.size() > max) return tooLong(max, encryption_algorithm);
  PkeyCtx ctx = oaepContext(key.get(), md, true);
  if (!ctx) return opensslFailure("OAEP context");
  return encryptWith(ctx.get(), plaintext);
}

Result<std::string> rsaDecrypt(const std::string& private_der,
                               const std::string& encryption_algorithm,
                               const std::string& ciphertext) {
  const char* md = oaepDigest(encryption_algorithm);
  if (md == nullptr)
    return invalidKeyUsage("Algorithm " + encryption_algorithm +
                           " is not an RSA encryption algorithm.");
  Pkey key = cachedKey(private_der, true);
  if (!key || !EVP_PKEY_is_a(key.get(), "RSA")) return opensslFailure("RSA key does not parse");
  if (ciphertext.size() != static_cast<size_t>(EVP_PKEY_get_size(key.get())))
    return invalidCiphertext();
  PkeyCtx ctx = oaepContext(key.get(), md, false);
  if (!ctx) return opensslFailure("OAEP context");
  return decryptWith(ctx.get(), ciphertext);
}

Result<std::string> sm2Encrypt(const std::string& key_der, const std::string& plaintext) {
  if (plaintext.size() > kSm2MaxPlaintext) return tooLong(kSm2MaxPlaintext, "SM2PKE");
  if (plaintext.empty())
    return AwsError::validation(
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member "
        "must have length greater than or equal to 1");
  Pkey key = cachedKey(key_der, false);
  if (!key || !EVP_PKEY_is_a(key.get(), "SM2")) return opensslFailure("SM2 key does not parse");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1) return opensslFailure("SM2 encrypt init");
  return encryptWith(ctx.get(), plaintext);
}

Result<std::string> sm2Decrypt(const std::string& private_der, const std::string& ciphertext) {
  Pkey key = cachedKey(private_der, true);
  if (!key || !EVP_PKEY_is_a(key.get(), "SM2")) return opensslFailure("SM2 key does not parse");
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1) return opensslFailure("SM2 decrypt init");
  return decryptWith(ctx.get(), ciphertext);
}

Result<std::string> asymmetricEncrypt(const std::string& key_der, const std::string& key_spec,
                                      const std::string& encryption_algorithm,
                                      const std::string& plaintext) {
  TRY_VOID(checkAlgorithm(key_spec, encryption_algorithm));
  TRY_VOID(loadKeyOfSpec(key_der, key_spec, false));
  if (encryption_algorithm == "SM2PKE") return sm2Encrypt(key_der, plaintext);
  if (oaepDigest(encryption_algorithm) == nullptr)
    return incompatible(encryption_algorithm, key_spec);
  size_t max = maxPlaintextLength(key_spec, encryption_algorithm);
  if (plaintext.size() > max) return tooLong(max, encryption_algorithm);
  return rsaEncrypt(key_der, encryption_algorithm, plaintext);
}

Result<std::string> asymmetricDecrypt(const std::string& private_der, const std::string& key_spec,
                                      const std::string& encryption_algorithm,
                                      const std::string& ciphertext) {
  TRY_VOID(checkAlgorithm(key_spec, encryption_algorithm));
  TRY_VOID(loadKeyOfSpec(private_der, key_spec, true));
  if (encryption_algorithm == "SM2PKE") return sm2Decrypt(private_der, ciphertext);
  if (oaepDigest(encryption_algorithm) == nullptr)
    return incompatible(encryption_algorithm, key_spec);
  return rsaDecrypt(private_der, encryption_algorithm, ciphertext);
}

Result<std::string> deriveSharedSecret(const std::string& private_der,
                                       const std::string& peer_public_der) {
  Pkey priv = cachedKey(private_der, true);
  if (!priv) return opensslFailure("private key does not parse");
  std::string spec = specOf(priv.get());
  const SpecInfo* s = findSpec(spec);
  if (s == nullptr || !s->key_agreement) return incompatible("ECDH", spec);

  const AwsError bad_peer =
      AwsError::validation("PublicKey must be a DER-encoded X.509 SubjectPublicKeyInfo of a " +
                           spec + " public key (the key spec of the KMS key).");
  const unsigned char* p = bytes(peer_public_der);
  Pkey peer(d2i_PUBKEY(nullptr, &p, static_cast<long>(peer_public_der.size())));
  if (!peer || p != bytes(peer_public_der) + peer_public_der.size() || specOf(peer.get()) != spec) {
    ERR_clear_error();
    return bad_peer;
  }
  if (s->family == Family::kSm2) return sm2Ecdh(priv.get(), peer.get());

  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, priv.get(), nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return opensslFailure("ECDH init");
  // validate_peer = 1: the peer point must lie on the curve.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 1) != 1) {
    ERR_clear_error();
    return bad_peer;
  }
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) return opensslFailure("ECDH size");
  std::string out(len, '\0');
  if (EVP_PKEY_derive(ctx.get(), bytes(out), &len) != 1) {
    wipe(out);
    return opensslFailure("ECDH");
  }
  out.resize(len);
  return out;
}

Result<std::string> hmac(const std::string& mac_algorithm, const std::string& key,
                         const std::string& message) {
  const char* md = macDigest(mac_algorithm);
  if (md == nullptr)
    return AwsError::validation(
        "1 validation error detected: Value '" + mac_algorithm +
        "' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: "
        "[HMAC_SHA_224, HMAC_SHA_256, HMAC_SHA_384, HMAC_SHA_512]");
  int index = mac_algorithm == "HMAC_SHA_224"   ? 0
              : mac_algorithm == "HMAC_SHA_256" ? 1
              : mac_algorithm == "HMAC_SHA_384" ? 2
                                                : 3;
  EVP_MAC_CTX* ctx = macContext(index, md);
  if (ctx == nullptr) return opensslFailure("HMAC context");
  static const unsigned char kEmpty = 0;  // OpenSSL wants a non-null key pointer
  std::string out(EVP_MAX_MD_SIZE, '\0');
  size_t len = 0;
  if (EVP_MAC_init(ctx, key.empty() ? &kEmpty : bytes(key), key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, bytes(message), message.size()) != 1 ||
      EVP_MAC_final(ctx, bytes(out), &len, out.size()) != 1)
    return opensslFailure("HMAC");
  out.resize(len);
  return out;
}

Result<void> verifyMac(const std::string& mac_algorithm, const std::string& key,
                       const std::string& message, const std::string& mac) {
  TRY_ASSIGN(std::string expected, hmac(mac_algorithm, key, message));
  if (!constantTimeEqual(expected, mac)) return err("KMSInvalidMacException", "");
  return okResult();
}

Result<std::string> unwrapImportedMaterial(const std::string& wrapping_private_der,
                                           const std::string& wrapping_algorithm,
                                           const std::string& encrypted) {
  if (wrapping_algorithm == "RSAES_PKCS1_V1_5")
    return unsupported("The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported.");
  if (wrapping_algorithm == "SM2PKE") return sm2Decrypt(wrapping_private_der, encrypted);
  if (wrapping_algorithm == "RSAES_OAEP_SHA_1" || wrapping_algorithm == "RSAES_OAEP_SHA_256")
    return rsaDecrypt(wrapping_private_der, wrapping_algorithm, encrypted);
  const char* oaep = wrapping_algorithm == "RSA_AES_KEY_WRAP_SHA_1"     ? "RSAES_OAEP_SHA_1"
                     : wrapping_algorithm == "RSA_AES_KEY_WRAP_SHA_256" ? "RSAES_OAEP_SHA_256"
                                                                        : nullptr;
  if (oaep == nullptr)
    return AwsError::validation("Unknown wrapping algorithm " + wrapping_algorithm + ".");

  // AWS:
  // https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html
  // EncryptedKeyMaterial = RSA-OAEP(AES key) || AES-KWP(AES key, material) (RFC 5649).
  Pkey key = cachedKey(wrapping_private_der, true);
  if (!key || !EVP_PKEY_is_a(key.get(), "RSA")) return opensslFailure("RSA key does not parse");
  size_t k = static_cast<size_t>(EVP_PKEY_get_size(key.get()));
  // The wrapped part is at least one 64-bit semiblock of IV plus one of data.
  if (encrypted.size() < k + 16 || (encrypted.size() - k) % 8 != 0) return invalidCiphertext();
  TRY_ASSIGN(std::string aes_key, rsaDecrypt(wrapping_private_der, oaep, encrypted.substr(0, k)));
  const char* cipher_name = aes_key.size() == 32   ? "AES-256-WRAP-PAD"
                            : aes_key.size() == 24 ? "AES-192-WRAP-PAD"
                            : aes_key.size() == 16 ? "AES-128-WRAP-PAD"
                                                   : nullptr;
  if (cipher_name == nullptr) {
    wipe(aes_key);
    return invalidCiphertext();
  }
  std::unique_ptr<EVP_CIPHER, decltype(&EVP_CIPHER_free)> cipher(
      EVP_CIPHER_fetch(nullptr, cipher_name, nullptr), EVP_CIPHER_free);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!cipher || !ctx) {
    wipe(aes_key);
    return opensslFailure("AES key wrap unavailable");
  }
  std::string_view wrapped = std::string_view(encrypted).substr(k);
  std::string out(wrapped.size(), '\0');
  int len = 0;
  int final_len = 0;
  bool ok = EVP_DecryptInit_ex2(ctx.get(), cipher.get(), bytes(aes_key), nullptr, nullptr) == 1 &&
            EVP_DecryptUpdate(ctx.get(), bytes(out), &len, bytes(wrapped),
                              static_cast<int>(wrapped.size())) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), bytes(out) + len, &final_len) == 1;
  wipe(aes_key);
  if (!ok || len <= 0) {
    wipe(out);
    return invalidCiphertext();
  }
  size_t total = static_cast<size_t>(len + final_len);
  OPENSSL_cleanse(out.data() + total, out.size() - total);
  out.resize(total);
  return out;
}

}  // namespace citadel::crypto::kms
