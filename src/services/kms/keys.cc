// KMS keys: CreateKey, DescribeKey, ListKeys, Enable/Disable, descriptions, tags, key
// policies, ScheduleKeyDeletion/CancelKeyDeletion and the deletion job.
#include <algorithm>

#include "core/encoding.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "crypto/kms_crypto.h"
#include "runtime/audit_record.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

constexpr size_t kMaxTags = 50;

int64_t intMember(const json::value& in, std::string_view name, int64_t fallback) {
  const json::value* v = in.as_object().if_contains(name);
  if (!v) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return fallback;
}

bool boolMember(const json::value& in, std::string_view name) {
  const json::value* v = in.as_object().if_contains(name);
  return v && v->is_bool() && v->get_bool();
}

std::string newKeyId(bool multi_region) {
  if (multi_region) return "mrk-" + hexEncode(crypto::randomBytes(16));
  return newUuid();
}

/// AWS: tag keys starting with "aws:" are reserved; at most 50 tags per key.
Result<void> validateTags(const json::array& tags) {
  for (const auto& t : tags) {
    std::string key = str(t, "TagKey");
    if (key.rfind("aws:", 0) == 0)
      return kmsError("TagException", "Tags beginning with aws: are reserved.");
  }
  return okResult();
}

Result<void> putTags(store::Tx& tx, const KeyRecord& k, const json::array& tags) {
  TRY_VOID(validateTags(tags));
  for (const auto& t : tags)
    tx.exec(
        "INSERT INTO kms_tags (account_id, region, key_id, tag_key, tag_value) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, region, key_id, tag_key) "
        "DO UPDATE SET tag_value = excluded.tag_value",
        {k.account_id, k.region, k.key_id, str(t, "TagKey"), str(t, "TagValue")});
  auto n = tx.query(
      "SELECT COUNT(*) FROM kms_tags WHERE account_id = ? AND region = ? AND "
      "key_id = ?",
      {k.account_id, k.region, k.key_id});
  if (!n.empty() && static_cast<size_t>(n[0].integer(0)) > kMaxTags)
    return kmsError("LimitExceededException",
                    "The request was rejected because a limit was exceeded: a key can have at "
                    "most 50 tags.");
  return okResult();
}

const json::array* arrayMember(const json::value& in, std::string_view name) {
  const json::value* v = in.as_object().if_contains(name);
  return v && v->is_array() ? &v->get_array() : nullptr;
}

}  // namespace

Result<KeyRecord> createKeyRecord(runtime::Services& s, store::Tx& tx, KeyRecord k,
                                  const json::array* tags) {
  if (k.key_id.empty()) k.key_id = newKeyId(k.multi_region);
  k.arn = keyArn(k.account_id, k.region, k.key_id);
  if (k.policy.empty()) k.policy = defaultKeyPolicy(k.account_id);
  const bool external = k.origin == "EXTERNAL";
  if (external) {
    k.key_state = "PendingImport";
    k.current_version = 0;
  } else {
    k.current_version = 1;
  }
  insertKey(tx, k);
  if (k.origin == "AWS_CLOUDHSM") {
    TRY_VOID(createTokenKey(s, tx, k));  // the key lives in the custom key store's token
  } else if (!external) {
    TRY_ASSIGN(std::string material, generateMaterial(k.key_spec));
    storeMaterial(s, tx, k, 1, material);
    crypto::wipe(material);
  }
  if (tags) TRY_VOID(putTags(tx, k, *tags));
  return k;
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
Result<json::value> createKey(RequestContext& ctx, const json::value& in) {
  KeyRecord k;
  k.account_id = ctx.account_id;
  k.region = ctx.region;
  k.created = ctx.time;
  k.description = str(in, "Description");
  std::string spec = str(in, "KeySpec");
  std::string cmk_spec = str(in, "CustomerMasterKeySpec");
  if (!spec.empty() && !cmk_spec.empty())
    return AwsError::validation(
        "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
        "CustomerMasterKeySpec is deprecated.");
  if (spec.empty()) spec = cmk_spec.empty() ? "SYMMETRIC_DEFAULT" : cmk_spec;
  const KeySpecInfo* info = keySpecInfo(spec);
  if (!info) return AwsError::validation("KeySpec " + spec + " is not a valid KeySpec.");
  std::string usage = str(in, "KeyUsage");
  if (usage.empty()) usage = std::string(info->usages.front());
  if (std::find(info->usages.begin(), info->usages.end(), usage) == info->usages.end())
    return AwsError::validation("KeyUsage " + usage + " is not compatible with KeySpec " + spec +
                                ".");
  if (!info->implemented)
    return kmsError("UnsupportedOperationException",
                    "KeySpec " + spec + " is not supported by citadel yet.");
  k.key_spec = spec;
  k.key_usage = usage;
  std::string origin = str(in, "Origin");
  if (origin.empty()) origin = "AWS_KMS";
  if (origin == "AWS_CLOUDHSM" || origin == "EXTERNAL_KEY_STORE" ||
      !str(in, "CustomKeyStoreId").empty())
    TRY_VOID(prepareCustomKeyStoreKey(ctx, in, k));
  if (origin == "EXTERNAL" && spec != "SYMMETRIC_DEFAULT" && !info->implemented)
    return kmsError("UnsupportedOperationException",
                    "Imported key material for KeySpec " + spec + " is not supported.");
  k.origin = origin;
  k.multi_region = boolMember(in, "MultiRegion");
  std::string policy = str(in, "Policy");
  if (!policy.empty()) {
    TRY_VOID(validateKeyPolicy(policy));
    k.policy = policy;
  }
  if (!policy.empty() && !boolMember(in, "BypassPolicyLockoutSafetyCheck")) {
    if (k.key_id.empty()) k.key_id = newKeyId(k.multi_region);
    TRY_VOID(checkPolicyLockout(ctx, keyArn(k.account_id, k.region, k.key_id), policy));
  }
  TRY_ASSIGN(k, createKeyRecord(*ctx.services, ctx.tx(), std::move(k), arrayMember(in, "Tags")));
  ctx.resources = {{"AWS::KMS::Key", k.arn}};
  json::object meta = keyMetadata(k);
  extendKeyMetadata(*ctx.services, ctx.tx(), k, meta);
  return json::value(json::object{{"KeyMetadata", std::move(meta)}});
}

Result<json::value> describeKey(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), true, Access::kCrossAccount));
  json::object meta = keyMetadata(key->record);
  extendKeyMetadata(*ctx.services, ctx.tx(), key->record, meta);
  return json::value(json::object{{"KeyMetadata", std::move(meta)}});
}

// AWS: ListKeys pages with Limit (1–1000, default 100) and an opaque Marker.
Result<json::value> listKeys(RequestContext& ctx, const json::value& in) {
  int64_t limit = intMember(in, "Limit", 100);
  std::string marker = str(in, "Marker");
  auto rows = ctx.tx().query(
      "SELECT key_id FROM kms_keys WHERE account_id = ? AND region = ? AND key_id > ? "
      "ORDER BY key_id LIMIT ?",
      {ctx.account_id, ctx.region, marker, limit + 1});
  json::array keys;
  bool truncated = static_cast<int64_t>(rows.size()) > limit;
  if (truncated) rows.pop_back();
  for (const auto& r : rows)
    keys.push_back(json::object{{"KeyId", r.text(0)},
                                {"KeyArn", keyArn(ctx.account_id, ctx.region, r.text(0))}});
  json::object out{{"Keys", std::move(keys)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = rows.back().text(0);
  return json::value(std::move(out));
}

Result<json::value> enableKey(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  if (k.key_state != "Enabled" && k.key_state != "Disabled") return invalidState(k);
  k.key_state = "Enabled";
  updateKey(ctx.tx(), k);
  return json::value(nullptr);
}

Result<json::value> disableKey(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  if (k.key_state != "Enabled" && k.key_state != "Disabled") return invalidState(k);
  k.key_state = "Disabled";
  updateKey(ctx.tx(), k);
  return json::value(nullptr);
}

Result<json::value> updateKeyDescription(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireNotPendingDeletion(k));
  k.description = str(in, "Description");
  updateKey(ctx.tx(), k);
  return json::value(nullptr);
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
// 7–30 days (default 30); the key is unusable at once and deleted when the window ends.
Result<json::value> scheduleKeyDeletion(RequestContext& ctx, const json::value& in) {
  int64_t days = intMember(in, "PendingWindowInDays", 30);
  if (days < 7 || days > 30)
    return AwsError::validation("1 validation error detected: Value '" + std::to_string(days) +
                                "' at 'pendingWindowInDays' failed to satisfy constraint: " +
                                (days < 7 ? "Member must have value greater than or equal to 7"
                                          : "Member must have value less than or equal to 30"));
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireCustomerManaged(k, "ScheduleKeyDeletion"));
  TRY_VOID(requireNotPendingDeletion(k));
  if (hasReplicas(ctx.tx(), k)) {
    // AWS: a multi-Region primary with replicas waits in PendingReplicaDeletion until its last
    // replica is deleted; its waiting period starts then (multi_region.cc).
    k.key_state = "PendingReplicaDeletion";
    k.pending_window_days = static_cast<int>(days);
    updateKey(ctx.tx(), k);
    return json::value(json::object{{"KeyId", k.arn},
                                    {"KeyState", "PendingReplicaDeletion"},
                                    {"PendingWindowInDays", days}});
  }
  k.key_state = "PendingDeletion";
  k.pending_window_days = static_cast<int>(days);
  k.deletion_date = ctx.time + std::chrono::hours(24 * days);
  updateKey(ctx.tx(), k);
  runtime::Job job{kDeleteKeyJob, deletionJobKey(k), *k.deletion_date,
                   k.account_id,  k.region,          "{}"};
  ctx.services->scheduler.schedule(ctx.tx(), job);
  return json::value(json::object{{"KeyId", k.arn},
                                  {"DeletionDate", toEpochSeconds(*k.deletion_date)},
                                  {"KeyState", "PendingDeletion"},
                                  {"PendingWindowInDays", days}});
}

// AWS: a cancelled deletion leaves the key Disabled (PendingImport without material).
Result<json::value> cancelKeyDeletion(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  if (k.key_state != "PendingDeletion" && k.key_state != "PendingReplicaDeletion")
    return kmsError("KMSInvalidStateException", k.arn + " is not pending deletion.");
  k.key_state = k.current_version == 0 ? "PendingImport" : "Disabled";
  k.deletion_date.reset();
  k.pending_window_days = 0;
  updateKey(ctx.tx(), k);
  ctx.services->scheduler.cancel(ctx.tx(), kDeleteKeyJob, deletionJobKey(k));
  return json::value(json::object{{"KeyId", k.arn}});
}

Result<json::value> tagResource(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireNotPendingDeletion(k));
  const json::array* tags = arrayMember(in, "Tags");
  if (tags) TRY_VOID(putTags(ctx.tx(), k, *tags));
  keyAttributesChanged(ctx.tx());
  return json::value(nullptr);
}

Result<json::value> untagResource(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireNotPendingDeletion(k));
  if (const json::array* keys = arrayMember(in, "TagKeys"))
    for (const auto& t : *keys)
      if (t.is_string())
        ctx.tx().exec(
            "DELETE FROM kms_tags WHERE account_id = ? AND region = ? AND key_id = ? AND "
            "tag_key = ?",
            {k.account_id, k.region, k.key_id, std::string(t.get_string())});
  keyAttributesChanged(ctx.tx());
  return json::value(nullptr);
}

Result<json::value> listResourceTags(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  int64_t limit = intMember(in, "Limit", 50);
  auto rows = ctx.tx().query(
      "SELECT tag_key, tag_value FROM kms_tags WHERE account_id = ? AND region = ? AND "
      "key_id = ? AND tag_key > ? ORDER BY tag_key LIMIT ?",
      {k.account_id, k.region, k.key_id, str(in, "Marker"), limit + 1});
  bool truncated = static_cast<int64_t>(rows.size()) > limit;
  if (truncated) rows.pop_back();
  json::array tags;
  for (const auto& r : rows)
    tags.push_back(json::object{{"TagKey", r.text(0)}, {"TagValue", r.text(1)}});
  json::object out{{"Tags", std::move(tags)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = rows.back().text(0);
  return json::value(std::move(out));
}

namespace {
Result<void> checkPolicyName(const json::value& in) {
  std::string name = str(in, "PolicyName");
  if (!name.empty() && name != "default")
    return kmsError("NotFoundException", "No such policy exists");
  return okResult();
}
}  // namespace

Result<json::value> getKeyPolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(checkPolicyName(in));
  return json::value(json::object{{"Policy", k.policy}, {"PolicyName", "default"}});
}

Result<json::value> putKeyPolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(checkPolicyName(in));
  TRY_VOID(requireCustomerManaged(k, "PutKeyPolicy"));
  std::string policy = str(in, "Policy");
  TRY_VOID(validateKeyPolicy(policy));
  if (!boolMember(in, "BypassPolicyLockoutSafetyCheck"))
    TRY_VOID(checkPolicyLockout(ctx, k.arn, policy));
  k.policy = policy;
  updateKey(ctx.tx(), k);
  return json::value(nullptr);
}

Result<json::value> listKeyPolicies(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  return json::value(json::object{{"PolicyNames", json::array{"default"}}, {"Truncated", false}});
}

Result<void> runDeleteKeyJob(runtime::Services& s, store::Tx& tx, const runtime::Job& job) {
  // job.key: <account>/<region>/<key id>
  auto first = job.key.find('/');
  auto second = job.key.find('/', first + 1);
  if (first == std::string::npos || second == std::string::npos) return okResult();
  std::string account = job.key.substr(0, first);
  std::string region = job.key.substr(first + 1, second - first - 1);
  std::string key_id = job.key.substr(second + 1);
  auto k = loadKey(tx, account, region, key_id);
  if (!k || k->key_state != "PendingDeletion") return okResult();
  TRY_VOID(beforeKeyDeleted(s, tx, *k));
  deleteKeyRows(tx, *k);
  // Parsed private keys (asymmetric specs) leave memory with the material.
  if (k->key_spec != "SYMMETRIC_DEFAULT") tx.afterCommit([] { crypto::kms::clearKeyCache(); });

  // AWS: the deletion is recorded as a service event by KMS itself.
  runtime::ServiceEvent ev;
  ev.event_source = "kms.amazonaws.com";
  ev.event_name = "DeleteKey";
  ev.account_id = account;
  ev.region = region;
  ev.time = Clock::now();
  ev.invoked_by = "kms.amazonaws.com";
  ev.resources = {{"AWS::KMS::Key", k->arn}};
  runtime::appendServiceEvent(s, tx, ev);
  return okResult();
}

void resetAll(runtime::Services& s, store::Tx& tx) {
  for (const char* table : {"kms_key_material", "kms_aliases", "kms_tags", "kms_keys"})
    tx.exec(std::string("DELETE FROM ") + table);
  resetCustomKeyStoresAndReplicas(s, tx);
  for (const auto& job : s.scheduler.pending(tx, kDeleteKeyJob))
    s.scheduler.cancel(tx, job.kind, job.key);
  tx.afterCommit([] {
    keyCache().clear();
    crypto::kms::clearKeyCache();
  });
}

}  // namespace citadel::kms
