// KMS's CloudTrail requestParameters: what AWS prints beyond the model's view of the input.
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

void defaultMember(json::object& params, std::string_view name, std::string_view value) {
  if (!params.contains(name)) params[name] = value;
}

}  // namespace

// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html
// (the example records of Encrypt, Decrypt, ReEncrypt, Sign, Verify, GenerateMac ...).
void auditRequestParameters(const RequestContext& ctx, const json::value& input,
                            json::object& params) {
  (void)input;
  // Plaintext and messages never appear in a KMS record (not even as a placeholder).
  params.erase("plaintext");
  params.erase("message");
  const std::string& op = ctx.operation;
  if (op == "Encrypt" || op == "Decrypt") {
    defaultMember(params, "encryptionAlgorithm", "SYMMETRIC_DEFAULT");
  } else if (op == "ReEncrypt") {
    defaultMember(params, "sourceEncryptionAlgorithm", "SYMMETRIC_DEFAULT");
    defaultMember(params, "destinationEncryptionAlgorithm", "SYMMETRIC_DEFAULT");
  } else if (op == "Sign" || op == "Verify") {
    defaultMember(params, "messageType", "RAW");
  }
}

}  // namespace citadel::kms
