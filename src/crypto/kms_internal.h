#pragma once
/// Internals shared by the kms_*.cc files of the crypto layer (not for other layers):
/// the key spec and algorithm tables, OpenSSL handle types, key loading, error helpers.

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace citadel::crypto::kms::detail {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

/// Key families of the KeySpec enum.
enum class Family { kRsa, kEc, kEd25519, kSm2, kHmac, kSymmetric, kMlDsa };

/// Bit flags of KeyUsageType values.
enum Usage : unsigned {
  kEncryptDecrypt = 1,
  kSignVerify = 2,
  kGenerateVerifyMac = 4,
  kKeyAgreement = 8,
};

/// One KeySpec value and what KMS allows with it.
struct SpecInfo {
  std::string_view name;
  Family family;
  int bits;                   ///< RSA modulus bits; secret key bytes for HMAC/symmetric
  const char* group;          ///< OpenSSL group name for EC/SM2, else nullptr
  unsigned usages;            ///< Usage flags, in AWS's order when listed
  const char* signing[7];     ///< nullptr-terminated
  const char* encryption[3];  ///< nullptr-terminated
  const char* mac;            ///< the one MAC algorithm of an HMAC spec
  bool key_agreement;         ///< ECDH allowed (with KEY_AGREEMENT usage)
};

/// The spec named `name`, or nullptr.
const SpecInfo* findSpec(std::string_view name);

/// How a signing algorithm signs.
enum class Scheme { kPss, kPkcs1, kEcdsa, kSm2, kEd25519, kEd25519Ph, kMlDsa };

/// One SigningAlgorithmSpec value.
struct SigningInfo {
  std::string_view name;
  Scheme scheme;
  const char* digest;  ///< OpenSSL digest name ("SHA256", "SM3") or nullptr (Ed25519)
  size_t digest_len;   ///< bytes a DIGEST message must have
};

/// The signing algorithm named `name`, or nullptr.
const SigningInfo* findSigning(std::string_view name);

/// An explicitly fetched digest (cached for the process); nullptr if unavailable.
const EVP_MD* digest(const char* name);

/// Parses PKCS#8 PrivateKeyInfo DER (nothing else is accepted).
Pkey loadPrivate(std::string_view der);
/// Parses SubjectPublicKeyInfo DER, or failing that PKCS#8 DER.
Pkey loadAny(std::string_view der);
/// loadPrivate (private_only) or loadAny through the process-wide parsed-key cache. Only for
/// key material the service holds (never for caller-supplied keys, which would churn it).
Pkey cachedKey(std::string_view der, bool private_only);
/// The KeySpec name of a key ("" when KMS has no spec for it).
std::string specOf(EVP_PKEY* key);
/// The private key loaded and checked against key_spec; InternalFailure otherwise (the
/// service's stored material is inconsistent: never the caller's fault).
Result<Pkey> loadKeyOfSpec(std::string_view der, std::string_view key_spec, bool private_only);

/// DER of a key's SubjectPublicKeyInfo.
std::string publicDer(EVP_PKEY* key);
/// DER of a key's PKCS#8 PrivateKeyInfo (secret: the caller wipes it).
std::string privateDer(EVP_PKEY* key);

inline const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
inline unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

/// AwsError builders with KMS's exception names.
AwsError err(const char* code, std::string message, int status = 400);
AwsError invalidKeyUsage(std::string message);
AwsError unsupported(std::string message);
AwsError incompatible(std::string_view algorithm, std::string_view key_spec);
/// "... requires OpenSSL 3.5" for ML-DSA specs and algorithms.
AwsError mlDsaUnsupported(std::string_view what);
/// InternalFailure for an OpenSSL failure that is not the caller's (no key material in it).
AwsError opensslFailure(const char* what);

}  // namespace citadel::crypto::kms::detail
