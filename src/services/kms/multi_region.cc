// KMS multi-Region keys: ReplicateKey, UpdatePrimaryRegion, MultiRegionConfiguration, material
// shared with replicas (also after rotation), and deletion of primaries with replicas.
//
// A multi-Region key is one kms_keys row per Region with the same account and key id (mrk-...).
// The primary Region is kept in kms_mrk_primary once the key has replicas (absent: the Region
// the key was created in, its only row). Each row has its own policy, description, tags,
// aliases and state; material versions are the same bytes, each row's copy sealed under its own
// Region's AAD. Ciphertext blobs do not bind the Region, so any member decrypts them.
#include <algorithm>

#include "crypto/crypto.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

/// The Regions holding a member of the multi-Region key, sorted.
std::vector<std::string> memberRegions(store::Tx& tx, std::string_view account,
                                       std::string_view key_id) {
  auto rows = tx.query(
      "SELECT region FROM kms_keys WHERE account_id = ? AND key_id = ? "
      "ORDER BY region",
      {std::string(account), std::string(key_id)});
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.text(0));
  return out;
}

std::string primaryRegion(store::Tx& tx, const KeyRecord& k) {
  auto rows = tx.query(
      "SELECT primary_region FROM kms_mrk_primary WHERE account_id = ? AND "
      "key_id = ?",
      {k.account_id, k.key_id});
  if (!rows.empty()) return rows[0].text(0);
  return k.region;
}

void setPrimaryRegion(store::Tx& tx, const KeyRecord& k, const std::string& region) {
  tx.exec(
      "INSERT INTO kms_mrk_primary (account_id, key_id, primary_region) VALUES (?, ?, ?) "
      "ON CONFLICT (account_id, key_id) DO UPDATE SET primary_region = excluded.primary_region",
      {k.account_id, k.key_id, region});
}

/// AWS: Region names look like us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4.
bool validRegion(std::string_view r) {
  if (r.size() < 9 || r.size() > 32) return false;
  int dashes = 0;
  for (char c : r) {
    if (c == '-') {
      ++dashes;
    } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return dashes >= 2 && r.back() >= '0' && r.back() <= '9';
}

AwsError notMultiRegion(const KeyRecord& k) {
  return kmsError("UnsupportedOperationException", k.arn + " is not a multi-Region key.");
}

AwsError notPrimary(const KeyRecord& k) {
  return kmsError("UnsupportedOperationException", k.arn + " is not a multi-Region primary key.");
}

/// Copies every material version of `from` into `to` (opened under `from`'s AAD, sealed under
/// `to`'s), in `tx`.
Result<void> copyMaterial(runtime::Services& s, store::Tx& tx, const KeyRecord& from,
                          const KeyRecord& to) {
  auto rows = tx.query(
      "SELECT version, sealed FROM kms_key_material WHERE account_id = ? AND region = ? AND "
      "key_id = ? ORDER BY version",
      {from.account_id, from.region, from.key_id});
  for (const auto& r : rows) {
    auto version = static_cast<uint32_t>(r.integer(0));
    auto plain =
        s.barrier.open(r.text(1), materialAad(from.account_id, from.region, from.key_id, version));
    if (!plain) return AwsError::internal("key material of " + from.arn + " cannot be unsealed");
    storeMaterial(s, tx, to, version, *plain);
    crypto::wipe(*plain);
  }
  return okResult();
}

const json::array* arrayMember(const json::value& in, std::string_view name) {
  const json::value* v = in.as_object().if_contains(name);
  return v && v->is_array() ? &v->get_array() : nullptr;
}

}  // namespace

void extendKeyMetadata(runtime::Services& s, store::Tx& tx, const KeyRecord& k, json::object& m) {
  (void)s;
  extendCustomKeyStoreMetadata(tx, k, m);
  if (!k.multi_region) return;
  std::string primary = primaryRegion(tx, k);
  json::array replicas;
  for (const auto& region : memberRegions(tx, k.account_id, k.key_id))
    if (region != primary)
      replicas.push_back(
          json::object{{"Arn", keyArn(k.account_id, region, k.key_id)}, {"Region", region}});
  m["MultiRegionConfiguration"] = json::object{
      {"MultiRegionKeyType", primary == k.region ? "PRIMARY" : "REPLICA"},
      {"PrimaryKey",
       json::object{{"Arn", keyArn(k.account_id, primary, k.key_id)}, {"Region", primary}}},
      {"ReplicaKeys", std::move(replicas)}};
}

bool hasReplicas(store::Tx& tx, const KeyRecord& k) {
  if (!k.multi_region || primaryRegion(tx, k) != k.region) return false;
  return memberRegions(tx, k.account_id, k.key_id).size() > 1;
}

Result<void> requireNotReplica(store::Tx& tx, const KeyRecord& k, std::string_view operation) {
  if (!k.multi_region || primaryRegion(tx, k) == k.region) return okResult();
  return kmsError("UnsupportedOperationException", k.arn + " is a multi-Region replica key; " +
                                                       std::string(operation) +
                                                       " is valid only on its primary key.");
}

Result<void> replicateMaterialVersion(runtime::Services& s, store::Tx& tx, const KeyRecord& primary,
                                      uint32_t version, std::string_view material) {
  if (!primary.multi_region || primaryRegion(tx, primary) != primary.region) return okResult();
  for (const auto& region : memberRegions(tx, primary.account_id, primary.key_id)) {
    if (region == primary.region) continue;
    auto replica = loadKey(tx, primary.account_id, region, primary.key_id);
    if (!replica) continue;
    auto have = tx.query(
        "SELECT 1 FROM kms_key_material WHERE account_id = ? AND region = ? AND key_id = ? AND "
        "version = ?",
        {replica->account_id, replica->region, replica->key_id, int64_t{version}});
    if (have.empty()) storeMaterial(s, tx, *replica, version, material);
    // AWS: key material and automatic rotation settings are shared properties.
    replica->current_version = primary.current_version;
    replica->rotation_enabled = primary.rotation_enabled;
    replica->rotation_period_days = primary.rotation_period_days;
    updateKey(tx, *replica);
  }
  return okResult();
}

Result<void> beforeKeyDeleted(runtime::Services& s, store::Tx& tx, const KeyRecord& k) {
  deleteCustomKeyStoreKeyRows(s, tx, k);
  if (!k.multi_region) return okResult();
  std::string primary = primaryRegion(tx, k);
  std::vector<std::string> others;
  for (auto& region : memberRegions(tx, k.account_id, k.key_id))
    if (region != k.region) others.push_back(std::move(region));
  if (others.empty()) {
    tx.exec("DELETE FROM kms_mrk_primary WHERE account_id = ? AND key_id = ?",
            {k.account_id, k.key_id});
    return okResult();
  }
  if (primary == k.region) return okResult();  // not reached: a primary waits for its replicas
  // AWS: when the last replica of a primary in PendingReplicaDeletion is deleted, the primary
  // becomes PendingDeletion and its waiting period begins.
  if (others.size() != 1 || others[0] != primary) return okResult();
  auto p = loadKey(tx, k.account_id, primary, k.key_id);
  if (!p || p->key_state != "PendingReplicaDeletion") return okResult();
  p->key_state = "PendingDeletion";
  p->deletion_date = Clock::now() + std::chrono::hours(24 * p->pending_window_days);
  updateKey(tx, *p);
  s.scheduler.schedule(tx, runtime::Job{kDeleteKeyJob, deletionJobKey(*p), *p->deletion_date,
                                        p->account_id, p->region, "{}"});
  return okResult();
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
Result<json::value> replicateKey(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  std::string region = str(in, "ReplicaRegion");
  if (!validRegion(region))
    return AwsError::validation("1 validation error detected: Value '" + region +
                                "' at 'replicaRegion' failed to satisfy constraint: Member must "
                                "be a valid Region name");
  if (!k.multi_region) return notMultiRegion(k);
  store::Tx& tx = ctx.tx();
  if (primaryRegion(tx, k) != k.region) return notPrimary(k);
  if (k.key_state == "PendingDeletion" || k.key_state == "PendingReplicaDeletion")
    return invalidState(k);
  if (region == k.region)
    return AwsError::validation(
        "The ReplicaRegion must be different from the Region of the "
        "primary key (" +
        k.region + ").");
  if (auto existing = loadKey(tx, k.account_id, region, k.key_id))
    return kmsError("AlreadyExistsException",
                    "Multi-Region key " + k.key_id + " already has a replica in " + region + ".");
  std::string policy = str(in, "Policy");
  if (!policy.empty()) TRY_VOID(validateKeyPolicy(policy));
  json::array tags;
  if (const json::array* given = arrayMember(in, "Tags")) {
    for (const auto& t : *given) {
      if (str(t, "TagKey").rfind("aws:", 0) == 0)
        return kmsError("TagException", "Tags beginning with aws: are reserved.");
      tags.push_back(json::object{{"TagKey", str(t, "TagKey")}, {"TagValue", str(t, "TagValue")}});
    }
    if (tags.size() > 50)
      return kmsError("LimitExceededException",
                      "The request was rejected because a limit was exceeded: a key can have at "
                      "most 50 tags.");
  }

  // Shared properties come from the primary; the rest is the replica's own.
  KeyRecord r = k;
  r.region = region;
  r.arn = keyArn(r.account_id, region, r.key_id);
  r.created = ctx.time;
  r.description = str(in, "Description");
  r.policy = policy.empty() ? defaultKeyPolicy(r.account_id) : policy;
  r.deletion_date.reset();
  r.pending_window_days = 0;
  r.key_manager = "CUSTOMER";
  r.rev = 0;
  // AWS: a replica of a key with imported material has no material until it is imported too.
  const bool imported = k.origin == "EXTERNAL";
  if (imported) {
    r.current_version = 0;
    r.key_state = "PendingImport";
    r.valid_to.reset();
    r.expiration_model.clear();
  } else {
    r.key_state = "Enabled";
  }
  insertKey(tx, r);
  if (!imported) TRY_VOID(copyMaterial(*ctx.services, tx, k, r));
  for (const auto& t : tags)
    tx.exec(
        "INSERT INTO kms_tags (account_id, region, key_id, tag_key, tag_value) VALUES "
        "(?, ?, ?, ?, ?) ON CONFLICT (account_id, region, key_id, tag_key) DO UPDATE SET "
        "tag_value = excluded.tag_value",
        {r.account_id, r.region, r.key_id, str(t, "TagKey"), str(t, "TagValue")});
  setPrimaryRegion(tx, k, k.region);
  ctx.resources = {{"AWS::KMS::Key", k.arn}, {"AWS::KMS::Key", r.arn}};

  json::object meta = keyMetadata(r);
  extendKeyMetadata(*ctx.services, tx, r, meta);
  return json::value(json::object{{"ReplicaKeyMetadata", std::move(meta)},
                                  {"ReplicaPolicy", r.policy},
                                  {"ReplicaTags", std::move(tags)}});
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html
Result<json::value> updatePrimaryRegion(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  std::string region = str(in, "PrimaryRegion");
  if (!validRegion(region))
    return AwsError::validation("1 validation error detected: Value '" + region +
                                "' at 'primaryRegion' failed to satisfy constraint: Member must "
                                "be a valid Region name");
  if (!k.multi_region) return notMultiRegion(k);
  store::Tx& tx = ctx.tx();
  if (primaryRegion(tx, k) != k.region) return notPrimary(k);
  if (k.key_state == "PendingDeletion" || k.key_state == "PendingReplicaDeletion" ||
      k.key_state == "Creating")
    return invalidState(k);
  if (region == k.region) return json::value(nullptr);
  auto replica = loadKey(tx, k.account_id, region, k.key_id);
  if (!replica) return keyNotFound(keyArn(k.account_id, region, k.key_id));
  if (replica->key_state == "PendingDeletion" || replica->key_state == "Creating")
    return invalidState(*replica);
  setPrimaryRegion(tx, k, region);
  // Nothing cached depends on the primary Region (MultiRegionConfiguration is read per call),
  // but both rows change meaning: bump them so that policy caches keyed by rev refresh.
  updateKey(tx, k);
  updateKey(tx, *replica);
  ctx.resources = {{"AWS::KMS::Key", k.arn}, {"AWS::KMS::Key", replica->arn}};
  return json::value(nullptr);
}

}  // namespace citadel::kms
