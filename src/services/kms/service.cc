// KMS: the one registration (operations, read-only flags, resources) and the schema.
#include <boost/json.hpp>

#include "runtime/registry.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

using runtime::OperationSpec;

// kms_keys: one row per key (KeyRecord). kms_key_material: one sealed row per material version
// (barrier AAD = materialAad). kms_aliases and kms_tags hang off a key and go with it.
constexpr const char* kSchemaV1 =
    "CREATE TABLE kms_keys (account_id TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, "
    "created_ms INTEGER NOT NULL, description TEXT NOT NULL, key_usage TEXT NOT NULL, "
    "key_spec TEXT NOT NULL, key_state TEXT NOT NULL, origin TEXT NOT NULL, "
    "key_manager TEXT NOT NULL, multi_region INTEGER NOT NULL, deletion_ms INTEGER, "
    "pending_days INTEGER NOT NULL, policy TEXT NOT NULL, current_version INTEGER NOT NULL, "
    "rotation_enabled INTEGER NOT NULL, rotation_days INTEGER NOT NULL, valid_to_ms INTEGER, "
    "expiration_model TEXT NOT NULL, custom_key_store_id TEXT NOT NULL, rev INTEGER NOT NULL, "
    "PRIMARY KEY (account_id, region, key_id));"
    "CREATE TABLE kms_key_material (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, version INTEGER NOT NULL, sealed BLOB NOT NULL, "
    "created_ms INTEGER NOT NULL, PRIMARY KEY (account_id, region, key_id, version));"
    "CREATE TABLE kms_aliases (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "alias_name TEXT NOT NULL, key_id TEXT NOT NULL, created_ms INTEGER NOT NULL, "
    "updated_ms INTEGER NOT NULL, PRIMARY KEY (account_id, region, alias_name));"
    "CREATE INDEX kms_aliases_key ON kms_aliases (account_id, region, key_id);"
    "CREATE TABLE kms_tags (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, tag_key TEXT NOT NULL, tag_value TEXT NOT NULL, "
    "PRIMARY KEY (account_id, region, key_id, tag_key))";

std::vector<std::string> keyIdResource(const RequestContext& ctx, const json::value& in) {
  std::string id = str(in, "KeyId");
  if (id.empty()) return {};
  return {keyArnFor(ctx, id)};
}

/// The key of a ciphertext blob (when KeyId is absent).
std::string blobKeyArn(const RequestContext& ctx, const json::value& in, const char* key_member) {
  std::string id = str(in, key_member);
  if (!id.empty()) return keyArnFor(ctx, id);
  const json::value* blob = in.as_object().if_contains("CiphertextBlob");
  if (blob && blob->is_string())
    if (auto h = parseBlobHeader(blob->get_string()))
      return keyArn(h->account_id, ctx.region, h->key_id);
  return "*";
}

std::vector<std::string> aliasResources(const RequestContext& ctx, const json::value& in) {
  std::vector<std::string> out{aliasArn(ctx.account_id, ctx.region, str(in, "AliasName"))};
  std::string target = str(in, "TargetKeyId");
  out.push_back(keyArnFor(ctx, target.empty() ? str(in, "AliasName") : target));
  return out;
}

}  // namespace

std::vector<store::Migration> migrations() { return {{"kms", 1, kSchemaV1}}; }

namespace {

runtime::ServiceSpec makeKms() {
  runtime::ServiceSpec s;
  s.model = "kms";
  s.event_source = "kms.amazonaws.com";
  s.iam_prefix = "kms";
  auto op = [&s](const char* name, runtime::Handler h, bool read_only,
                 runtime::ResourceFn resources) {
    OperationSpec spec;
    spec.handler = std::move(h);
    spec.read_only = read_only;
    spec.resources = std::move(resources);
    s.operations[name] = std::move(spec);
  };
  runtime::ResourceFn by_key = keyIdResource;
  op("CreateKey", createKey, false, nullptr);
  op("DescribeKey", describeKey, true, by_key);
  op("ListKeys", listKeys, true, nullptr);
  op("EnableKey", enableKey, false, by_key);
  op("DisableKey", disableKey, false, by_key);
  op("UpdateKeyDescription", updateKeyDescription, false, by_key);
  op("ScheduleKeyDeletion", scheduleKeyDeletion, false, by_key);
  op("CancelKeyDeletion", cancelKeyDeletion, false, by_key);
  op("TagResource", tagResource, false, by_key);
  op("UntagResource", untagResource, false, by_key);
  op("ListResourceTags", listResourceTags, true, by_key);
  op("GetKeyPolicy", getKeyPolicy, true, by_key);
  op("PutKeyPolicy", putKeyPolicy, false, by_key);
  op("ListKeyPolicies", listKeyPolicies, true, by_key);
  op("CreateAlias", createAlias, false, aliasResources);
  op("UpdateAlias", updateAlias, false, aliasResources);
  op("DeleteAlias", deleteAlias, false, aliasResources);
  op("ListAliases", listAliases, true, nullptr);
  op("Encrypt", encrypt, true, by_key);
  op("Decrypt", decrypt, true, [](const RequestContext& ctx, const json::value& in) {
    return std::vector<std::string>{blobKeyArn(ctx, in, "KeyId")};
  });
  op("ReEncrypt", reEncrypt, true, [](const RequestContext& ctx, const json::value& in) {
    return std::vector<std::string>{blobKeyArn(ctx, in, "SourceKeyId"),
                                    keyArnFor(ctx, str(in, "DestinationKeyId"))};
  });
  op("GenerateDataKey", generateDataKey, true, by_key);
  op("GenerateDataKeyWithoutPlaintext", generateDataKeyWithoutPlaintext, true, by_key);
  op("GenerateRandom", generateRandom, true, nullptr);
  s.migrations = migrations();
  s.init = [](runtime::Services& services) {
    services.scheduler.registerKind(kDeleteKeyJob, runDeleteKeyJob);
  };
  s.reset = [](runtime::Services& services, store::Tx& tx) { resetAll(services, tx); };
  return s;
}

}  // namespace

CITADEL_REGISTER_SERVICE(makeKms);

}  // namespace citadel::kms
