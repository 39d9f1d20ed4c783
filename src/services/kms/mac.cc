// KMS HMAC keys: GenerateMac and VerifyMac (HMAC_SHA_224/256/384/512, RFC 2104). The key never
// leaves citadel; VerifyMac recomputes and compares in constant time (crypto layer).
#include "crypto/crypto.h"
#include "crypto/kms_crypto.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

namespace ckms = crypto::kms;

struct Prepared {
  std::shared_ptr<const CachedKey> key;
  std::string algorithm;
  std::string material;
  ~Prepared() { crypto::wipe(material); }
};

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

std::string blobMember(const json::value& in, std::string_view name) {
  const json::value* v = in.as_object().if_contains(name);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

/// The common checks of GenerateMac and VerifyMac, then the key's material.
Result<std::unique_ptr<Prepared>> prepare(RequestContext& ctx, const json::value& in,
                                          std::string_view operation) {
  auto p = std::make_unique<Prepared>();
  TRY_ASSIGN(p->key, resolveKey(ctx, str(in, "KeyId"), true, Access::kCrossAccount));
  const KeyRecord& k = p->key->record;
  TRY_VOID(requireUsable(k));
  TRY_VOID(requireKeyUsage(k, "GENERATE_VERIFY_MAC", operation));
  p->algorithm = str(in, "MacAlgorithm");
  if (p->algorithm.empty())
    return AwsError::validation(
        "1 validation error detected: Value null at 'macAlgorithm' failed to satisfy "
        "constraint: Member must not be null");
  TRY_VOID(ckms::checkAlgorithm(k.key_spec, p->algorithm));
  auto secret = p->key->material(*ctx.services, k.current_version);
  if (!secret) return kmsError("KMSInternalException", "The key material is unavailable.");
  p->material = std::string(secret->bytes());
  return p;
}

}  // namespace

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html
Result<json::value> generateMac(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto p, prepare(ctx, in, "GenerateMac"));
  TRY_ASSIGN(std::string mac, ckms::hmac(p->algorithm, p->material, blobMember(in, "Message")));
  if (dryRun(in)) return dryRunError();
  json::object out;
  out["Mac"] = std::move(mac);
  out["MacAlgorithm"] = p->algorithm;
  out["KeyId"] = p->key->record.arn;
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_VerifyMac.html
Result<json::value> verifyMac(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto p, prepare(ctx, in, "VerifyMac"));
  TRY_VOID(
      ckms::verifyMac(p->algorithm, p->material, blobMember(in, "Message"), blobMember(in, "Mac")));
  if (dryRun(in)) return dryRunError();
  json::object out;
  out["KeyId"] = p->key->record.arn;
  out["MacValid"] = true;
  out["MacAlgorithm"] = p->algorithm;
  return json::value(std::move(out));
}

}  // namespace citadel::kms
