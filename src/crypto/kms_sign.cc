// KMS Sign/Verify: RSASSA-PSS, RSASSA-PKCS1-v1_5, ECDSA, SM2DSA, Ed25519.

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <string_view>

#include "crypto/kms_crypto.h"
#include "crypto/kms_internal.h"

namespace citadel::crypto::kms {
namespace {

using namespace detail;

constexpr size_t kMaxMessage = 4096;
// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/offline-operations.html#key-spec-sm
// (KMS computes Z_A with the default distinguishing ID for SM2DSA RAW messages).
constexpr std::string_view kSm2DefaultId = "1234567812345678";

struct Checked {
  const SigningInfo* alg;
};

// Argument checks shared by sign and verify, in the order KMS reports them.
Result<Checked> checkArguments(const std::string& key_spec, const std::string& algorithm,
                               const std::string& message, MessageType type) {
  const SpecInfo* spec = findSpec(key_spec);
  const SigningInfo* alg = findSigning(algorithm);
  if (spec != nullptr && spec->family == Family::kMlDsa)
    return mlDsaUnsupported("KeySpec " + key_spec);
  if (alg == nullptr || spec == nullptr) return incompatible(algorithm, key_spec);
  TRY_VOID(checkAlgorithm(key_spec, algorithm));
  if (message.size() > kMaxMessage)
    return AwsError::validation(
        "1 validation error detected: Value at 'message' failed to satisfy constraint: Member "
        "must have length less than or equal to 4096");
  if (alg->scheme == Scheme::kEd25519Ph) {
    if (type != MessageType::kDigest)
      return AwsError::validation("Message type RAW is incompatible with algorithm " + algorithm +
                                  ".");
    return unsupported(
        "ED25519_PH_SHA_512 (Ed25519ph) requires OpenSSL 3.2 or later; this server is built "
        "with OpenSSL 3.0.");
  }
  if (alg->scheme == Scheme::kEd25519 && type != MessageType::kRaw)
    return AwsError::validation("Message type DIGEST is incompatible with algorithm " + algorithm +
                                ".");
  if (type == MessageType::kDigest && message.size() != alg->digest_len)
    return AwsError::validation("Digest is invalid length for algorithm " + algorithm + ".");
  return Checked{alg};
}

// Hashes a RAW message with the algorithm's digest (RSA, ECDSA): both message types then
// share one signing path over a digest.
Result<std::string> hashOf(const SigningInfo& alg, const std::string& message) {
  const EVP_MD* md = digest(alg.digest);
  if (md == nullptr) return opensslFailure("digest unavailable");
  std::string out(static_cast<size_t>(EVP_MD_get_size(md)), '\0');
  unsigned int len = 0;
  if (EVP_Digest(message.data(), message.size(), bytes(out), &len, md, nullptr) != 1 ||
      len != out.size())
    return opensslFailure("digest failed");
  return out;
}

// Configures an EVP_PKEY_CTX (sign or verify initialised) for the digest-signing schemes.
bool configure(EVP_PKEY_CTX* ctx, const SigningInfo& alg) {
  const EVP_MD* md = digest(alg.digest);
  if (md == nullptr) return false;
  switch (alg.scheme) {
    case Scheme::kPss:
      // AWS: salt length equals the digest length; MGF1 uses the signature digest.
      return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx, md) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    case Scheme::kPkcs1:
      return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
    case Scheme::kEcdsa:
      return EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
    case Scheme::kSm2:
      // A DIGEST message is already e = SM3(Z_A || M): sign it as is.
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::string> sign(const std::string& private_der, const std::string& key_spec,
                         const std::string& signing_algorithm, const std::string& message,
                         MessageType message_type) {
  TRY_ASSIGN(Checked c, checkArguments(key_spec, signing_algorithm, message, message_type));
  TRY_ASSIGN(Pkey key, loadKeyOfSpec(private_der, key_spec, true));
  const SigningInfo& alg = *c.alg;

  if (alg.scheme == Scheme::kEd25519 ||
      (alg.scheme == Scheme::kSm2 && message_type == MessageType::kRaw)) {
    MdCtx md_ctx(EVP_MD_CTX_new());
    if (!md_ctx) return opensslFailure("sign context");
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = alg.scheme == Scheme::kSm2 ? digest("SM3") : nullptr;
    if (EVP_DigestSignInit(md_ctx.get(), &pctx, md, nullptr, key.get()) != 1)
      return opensslFailure("sign init");
    if (alg.scheme == Scheme::kSm2 &&
        EVP_PKEY_CTX_set1_id(pctx, kSm2DefaultId.data(), kSm2DefaultId.size()) != 1)
      return opensslFailure("SM2 distinguishing id");
    size_t len = 0;
    if (EVP_DigestSign(md_ctx.get(), nullptr, &len, bytes(message), message.size()) != 1)
      return opensslFailure("sign size");
    std::string sig(len, '\0');
    if (EVP_DigestSign(md_ctx.get(), bytes(sig), &len, bytes(message), message.size()) != 1)
      return opensslFailure("sign");
    sig.resize(len);
    return sig;
  }

  std::string tbs;
  if (message_type == MessageType::kRaw) {
    TRY_ASSIGN(tbs, hashOf(alg, message));
  } else {
    tbs = message;
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || !configure(ctx.get(), alg))
    return opensslFailure("sign init");
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, bytes(tbs), tbs.size()) != 1)
    return opensslFailure("sign size");
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), bytes(sig), &len, bytes(tbs), tbs.size()) != 1)
    return opensslFailure("sign");
  sig.resize(len);
  return sig;
}

Result<void> verify(const std::string& key_der, const std::string& key_spec,
                    const std::string& signing_algorithm, const std::string& message,
                    MessageType message_type, const std::string& signature) {
  TRY_ASSIGN(Checked c, checkArguments(key_spec, signing_algorithm, message, message_type));
  TRY_ASSIGN(Pkey key, loadKeyOfSpec(key_der, key_spec, false));
  const SigningInfo& alg = *c.alg;
  // AWS: KMSInvalidSignatureException carries no message.
  const AwsError invalid = err("KMSInvalidSignatureException", "");
  if (signature.empty()) return invalid;

  if (alg.scheme == Scheme::kEd25519 ||
      (alg.scheme == Scheme::kSm2 && message_type == MessageType::kRaw)) {
    MdCtx md_ctx(EVP_MD_CTX_new());
    if (!md_ctx) return opensslFailure("verify context");
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = alg.scheme == Scheme::kSm2 ? digest("SM3") : nullptr;
    if (EVP_DigestVerifyInit(md_ctx.get(), &pctx, md, nullptr, key.get()) != 1)
      return opensslFailure("verify init");
    if (alg.scheme == Scheme::kSm2 &&
        EVP_PKEY_CTX_set1_id(pctx, kSm2DefaultId.data(), kSm2DefaultId.size()) != 1)
      return opensslFailure("SM2 distinguishing id");
    if (EVP_DigestVerify(md_ctx.get(), bytes(signature), signature.size(), bytes(message),
                         message.size()) != 1) {
      ERR_clear_error();
      return invalid;
    }
    return okResult();
  }

  std::string tbs;
  if (message_type == MessageType::kRaw) {
    TRY_ASSIGN(tbs, hashOf(alg, message));
  } else {
    tbs = message;
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 || !configure(ctx.get(), alg))
    return opensslFailure("verify init");
  if (EVP_PKEY_verify(ctx.get(), bytes(signature), signature.size(), bytes(tbs), tbs.size()) != 1) {
    ERR_clear_error();
    return invalid;
  }
  return okResult();
}

}  // namespace citadel::crypto::kms
