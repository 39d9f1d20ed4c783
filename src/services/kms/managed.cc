// AWS managed keys (alias/aws/<service>), created on first use by citadel's own services, and
// the thin wrappers other services call (api.h).
#include "runtime/services.h"
#include "services/kms/api.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

struct ManagedService {
  std::string_view service;
  std::string_view display;      ///< as the managed key policy names it
  std::string_view description;  ///< the key's Description
};

// AWS: descriptions and policy wording of the AWS managed keys.
constexpr ManagedService kManaged[] = {
    {"secretsmanager", "AWS Secrets Manager",
     "Default key that protects my Secrets Manager data when no other key is defined"},
    {"ssm", "AWS Systems Manager",
     "Default key that protects my SSM parameters when no other key is defined"},
    {"s3", "Amazon S3", "Default key that protects my S3 objects when no other key is defined"},
    {"ebs", "EBS", "Default key that protects my EBS volumes when no other key is defined"},
    {"lambda", "AWS Lambda",
     "Default key that protects my Lambda functions when no other key is defined"},
    {"cloudtrail", "AWS CloudTrail",
     "Default key that protects my CloudTrail logs when no other key is defined"},
    {"sns", "Amazon SNS", "Default key that protects my SNS data when no other key is defined"},
    {"sqs", "Amazon SQS", "Default key that protects my SQS messages when no other key is defined"},
    {"logs", "Amazon CloudWatch Logs",
     "Default key that protects my CloudWatch Logs data when no other key is defined"},
    {"acm", "AWS Certificate Manager",
     "Default key that protects my ACM private keys when no other key is defined"},
};

ManagedService managedService(std::string_view service) {
  for (const auto& m : kManaged)
    if (m.service == service) return m;
  return ManagedService{service, service, {}};
}

}  // namespace

/// AWS's managed-key policy form: use through the service by principals of the account, and
/// direct read access to the key's metadata for the account.
std::string managedKeyPolicy(std::string_view account, std::string_view region,
                             std::string_view service) {
  ManagedService m = managedService(service);
  std::string display(m.display);
  std::string via = std::string(service) + "." + std::string(region) + ".amazonaws.com";
  std::string acct(account);
  std::string sid = "Allow access through " + display +
                    " for all principals in the account that are authorized to use " + display;
  return "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"auto-" + std::string(service) +
         "-2\",\n  \"Statement\" : [ {\n    \"Sid\" : \"" + sid +
         "\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"*\"\n    },\n"
         "    \"Action\" : [ \"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", "
         "\"kms:GenerateDataKey*\", \"kms:CreateGrant\", \"kms:DescribeKey\" ],\n"
         "    \"Resource\" : \"*\",\n    \"Condition\" : {\n      \"StringEquals\" : {\n"
         "        \"kms:CallerAccount\" : \"" +
         acct + "\",\n        \"kms:ViaService\" : \"" + via +
         "\"\n      }\n    }\n  }, {\n    \"Sid\" : \"Allow direct access to key metadata to the "
         "account\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : "
         "\"arn:aws:iam::" +
         acct +
         ":root\"\n    },\n    \"Action\" : [ \"kms:Describe*\", \"kms:Get*\", \"kms:List*\", "
         "\"kms:RevokeGrant\" ],\n    \"Resource\" : \"*\"\n  } ]\n}";
}

namespace api {

Result<std::string> managedKeyId(runtime::Services& s, store::Tx& tx, const std::string& account,
                                 const std::string& region, const std::string& service) {
  const std::string alias = "alias/aws/" + service;
  if (auto existing = loadAlias(tx, account, region, alias)) return *existing;
  ManagedService m = managedService(service);
  KeyRecord k;
  k.account_id = account;
  k.region = region;
  k.created = Clock::now();
  k.description = std::string(m.description);
  k.key_manager = "AWS";
  k.policy = managedKeyPolicy(account, region, service);
  // AWS: managed keys rotate every year, counted from their creation (rotation.cc's job).
  k.rotation_enabled = true;
  k.rotation_period_days = 365;
  TRY_ASSIGN(k, createKeyRecord(s, tx, std::move(k), nullptr));
  scheduleAutomaticRotation(s, tx, k, k.created);
  int64_t now = toEpochMillis(k.created);
  tx.exec(
      "INSERT INTO kms_aliases (account_id, region, alias_name, key_id, created_ms, updated_ms) "
      "VALUES (?, ?, ?, ?, ?, ?)",
      {account, region, alias, k.key_id, now, now});
  tx.afterCommit([] { keyCache().invalidateAliases(); });
  return k.key_id;
}

Result<json::value> encrypt(RequestContext& ctx, const json::value& input) {
  return kms::encrypt(ctx, input);
}

Result<json::value> decrypt(RequestContext& ctx, const json::value& input) {
  return kms::decrypt(ctx, input);
}

Result<json::value> generateDataKey(RequestContext& ctx, const json::value& input) {
  return kms::generateDataKey(ctx, input);
}

Result<json::value> generateDataKeyWithoutPlaintext(RequestContext& ctx, const json::value& input) {
  return kms::generateDataKeyWithoutPlaintext(ctx, input);
}

Result<json::value> describeKey(RequestContext& ctx, const json::value& input) {
  return kms::describeKey(ctx, input);
}

Result<std::string> resolveKeyArn(RequestContext& ctx, std::string_view key_id) {
  TRY_ASSIGN(auto key, resolveKey(ctx, key_id, true, Access::kCrossAccount));
  return key->record.arn;
}

}  // namespace api
}  // namespace citadel::kms
