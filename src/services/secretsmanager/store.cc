// Secrets Manager: the schema, its SQL, and the snapshot cache of the read path.
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "iam/compiled.h"
#include "runtime/services.h"
#include "services/secretsmanager/internal.h"

namespace citadel::secretsmanager {

namespace {

// sm_secrets: one row per secret and region (a replica is a row in its own region, with
// primary_region set). Versions, labels, tags and replicas hang off the secret's ARN.
// sm_versions.seq orders versions by creation; encrypted_key is KMS ciphertext, sealed the
// AES-256-GCM envelope: nothing in clear.
constexpr const char* kSchemaV1 =
    "CREATE TABLE sm_secrets (account_id TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, "
    "arn TEXT NOT NULL UNIQUE, description TEXT NOT NULL, kms_key_id TEXT NOT NULL, "
    "created_ms INTEGER NOT NULL, changed_ms INTEGER NOT NULL, accessed_ms INTEGER, "
    "deletion_ms INTEGER, deleted_ms INTEGER, rotation_enabled INTEGER NOT NULL, "
    "rotation_lambda TEXT NOT NULL, rotation_days INTEGER NOT NULL, "
    "rotation_schedule TEXT NOT NULL, rotation_duration TEXT NOT NULL, rotated_ms INTEGER, "
    "next_rotation_ms INTEGER, policy TEXT NOT NULL, primary_region TEXT NOT NULL, "
    "owning_service TEXT NOT NULL, type TEXT NOT NULL, rev INTEGER NOT NULL, "
    "PRIMARY KEY (account_id, region, name));"
    "CREATE TABLE sm_versions (arn TEXT NOT NULL, version_id TEXT NOT NULL, "
    "created_ms INTEGER NOT NULL, accessed_ms INTEGER, kms_key_arn TEXT NOT NULL, "
    "encrypted_key BLOB NOT NULL, sealed BLOB NOT NULL, is_binary INTEGER NOT NULL, "
    "has_value INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (arn, version_id));"
    "CREATE TABLE sm_stages (arn TEXT NOT NULL, stage TEXT NOT NULL, version_id TEXT NOT NULL, "
    "pos INTEGER NOT NULL, PRIMARY KEY (arn, stage));"
    "CREATE TABLE sm_tags (arn TEXT NOT NULL, tag_key TEXT NOT NULL, tag_value TEXT NOT NULL, "
    "pos INTEGER NOT NULL, PRIMARY KEY (arn, tag_key));"
    "CREATE TABLE sm_replicas (arn TEXT NOT NULL, region TEXT NOT NULL, "
    "kms_key_id TEXT NOT NULL, status TEXT NOT NULL, status_message TEXT NOT NULL, "
    "PRIMARY KEY (arn, region))";

constexpr const char* kSecretColumns =
    "account_id, region, name, arn, description, kms_key_id, created_ms, changed_ms, "
    "accessed_ms, deletion_ms, deleted_ms, rotation_enabled, rotation_lambda, rotation_days, "
    "rotation_schedule, rotation_duration, rotated_ms, next_rotation_ms, policy, "
    "primary_region, owning_service, type, rev";

std::optional<SysTime> optTime(const store::Row& row, size_t i) {
  if (row.isNull(i)) return std::nullopt;
  return fromEpochMillis(row.integer(i));
}

store::Value timeValue(const std::optional<SysTime>& t) {
  if (!t) return std::monostate{};
  return toEpochMillis(*t);
}

SecretRecord recordFrom(const store::Row& r) {
  SecretRecord s;
  s.account_id = r.text(0);
  s.region = r.text(1);
  s.name = r.text(2);
  s.arn = r.text(3);
  s.description = r.text(4);
  s.kms_key_id = r.text(5);
  s.created = fromEpochMillis(r.integer(6));
  s.last_changed = fromEpochMillis(r.integer(7));
  s.last_accessed = optTime(r, 8);
  s.deletion_date = optTime(r, 9);
  s.deleted_date = optTime(r, 10);
  s.rotation_enabled = r.integer(11) != 0;
  s.rotation_lambda = r.text(12);
  s.rotation_days = r.integer(13);
  s.rotation_schedule = r.text(14);
  s.rotation_duration = r.text(15);
  s.last_rotated = optTime(r, 16);
  s.next_rotation = optTime(r, 17);
  s.policy = r.text(18);
  s.primary_region = r.text(19);
  s.owning_service = r.text(20);
  s.type = r.text(21);
  s.rev = r.integer(22);
  return s;
}

Snapshot complete(store::Tx& tx, SecretRecord rec) {
  Snapshot snap;
  snap.record = std::move(rec);
  const std::string& arn = snap.record.arn;
  for (const auto& row :
       tx.query("SELECT version_id, created_ms, accessed_ms, kms_key_arn, encrypted_key, sealed, "
                "is_binary, has_value FROM sm_versions WHERE arn = ? ORDER BY seq",
                {arn})) {
    VersionRecord v;
    v.version_id = row.text(0);
    v.created = fromEpochMillis(row.integer(1));
    v.last_accessed = optTime(row, 2);
    v.kms_key_arn = row.text(3);
    v.encrypted_key = row.text(4);
    v.sealed = row.text(5);
    v.binary = row.integer(6) != 0;
    v.has_value = row.integer(7) != 0;
    snap.versions.push_back(std::move(v));
  }
  for (const auto& row :
       tx.query("SELECT stage, version_id FROM sm_stages WHERE arn = ? ORDER BY pos", {arn})) {
    std::string version = row.text(1);
    for (auto& v : snap.versions)
      if (v.version_id == version) v.stages.push_back(row.text(0));
  }
  for (const auto& row :
       tx.query("SELECT tag_key, tag_value FROM sm_tags WHERE arn = ? ORDER BY pos", {arn}))
    snap.tags.emplace_back(row.text(0), row.text(1));
  for (const auto& row :
       tx.query("SELECT region, kms_key_id, status, status_message FROM sm_replicas WHERE arn = ? "
                "ORDER BY region",
                {arn}))
    snap.replicas.push_back({row.text(0), row.text(1), row.text(2), row.text(3)});
  if (!snap.record.policy.empty()) {
    auto compiled =
        iam::CompiledPolicy::compile(snap.record.policy, iam::PolicyKind::kResource, arn);
    // A stored policy was validated when it was put; a failure here leaves it without effect.
    if (compiled.ok()) snap.policy = std::move(compiled).value();
  }
  return snap;
}

/// The process-wide cache: SecretId spellings to ARNs, ARNs to snapshots.
/// INVARIANT: a snapshot is dropped in tx.afterCommit of every change of its secret, and a
/// fill that raced with a change is not inserted (generation check).
class SnapshotCache {
 public:
  std::shared_ptr<const Snapshot> find(const std::string& id_key) const {
    std::shared_lock lock(mu_);
    auto id = ids_.find(id_key);
    if (id == ids_.end()) return nullptr;
    auto snap = snaps_.find(id->second);
    return snap == snaps_.end() ? nullptr : snap->second;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  void insert(const std::string& id_key, std::shared_ptr<const Snapshot> snap, uint64_t gen) {
    std::unique_lock lock(mu_);
    if (generation_.load(std::memory_order_relaxed) != gen) return;
    if (snaps_.size() >= kCapacity || ids_.size() >= 4 * kCapacity) {
      snaps_.clear();
      ids_.clear();
    }
    ids_[id_key] = snap->record.arn;
    snaps_[snap->record.arn] = std::move(snap);
  }
  void invalidate(const std::string& arn) {
    std::unique_lock lock(mu_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    snaps_.erase(arn);
  }
  void clear() {
    std::unique_lock lock(mu_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    snaps_.clear();
    ids_.clear();
  }

 private:
  static constexpr size_t kCapacity = 65536;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::string> ids_;
  std::unordered_map<std::string, std::shared_ptr<const Snapshot>> snaps_;
  std::atomic<uint64_t> generation_{0};
};

SnapshotCache& cache() {
  static SnapshotCache c;
  return c;
}

/// (account, region) the SecretId addresses from `ctx`.
std::pair<std::string, std::string> scopeOf(const RequestContext& ctx, std::string_view id) {
  if (auto parts = parseSecretArn(id)) return {parts->account_id, parts->region};
  return {ctx.account_id, ctx.region};
}

}  // namespace

std::vector<store::Migration> migrations() { return {{"secretsmanager", 1, kSchemaV1}}; }

std::optional<Snapshot> loadByName(store::Tx& tx, std::string_view account, std::string_view region,
                                   std::string_view name) {
  auto rows = tx.query(std::string("SELECT ") + kSecretColumns +
                           " FROM sm_secrets WHERE account_id = ? AND region = ? AND name = ?",
                       {std::string(account), std::string(region), std::string(name)});
  if (rows.empty()) return std::nullopt;
  return complete(tx, recordFrom(rows[0]));
}

std::optional<Snapshot> loadSnapshot(store::Tx& tx, std::string_view account,
                                     std::string_view region, std::string_view secret_id) {
  if (auto parts = parseSecretArn(secret_id)) {
    auto rows = tx.query(std::string("SELECT ") + kSecretColumns + " FROM sm_secrets WHERE arn = ?",
                         {std::string(secret_id)});
    if (!rows.empty()) return complete(tx, recordFrom(rows[0]));
    // AWS: a partial ARN (without the random suffix) names the secret too.
    return loadByName(tx, parts->account_id, parts->region, parts->resource);
  }
  return loadByName(tx, account, region, secret_id);
}

std::shared_ptr<const Snapshot> findSecret(const RequestContext& ctx, std::string_view secret_id) {
  auto [account, region] = scopeOf(ctx, secret_id);
  if (ctx.tx_ && ctx.tx_->writable()) {
    auto snap = loadSnapshot(*ctx.tx_, account, region, secret_id);
    return snap ? std::make_shared<const Snapshot>(std::move(*snap)) : nullptr;
  }
  std::string key;
  key.reserve(account.size() + region.size() + secret_id.size() + 2);
  key.append(account).append(1, '|').append(region).append(1, '|').append(secret_id);
  if (auto hit = cache().find(key)) return hit;
  uint64_t gen = cache().generation();
  auto tx = ctx.services->store.begin(false);
  auto snap = loadSnapshot(*tx, account, region, secret_id);
  tx->rollback();
  if (!snap) return nullptr;
  auto shared = std::make_shared<const Snapshot>(std::move(*snap));
  cache().insert(key, shared, gen);
  return shared;
}

std::optional<Snapshot> findSecretForUpdate(RequestContext& ctx, std::string_view secret_id) {
  auto [account, region] = scopeOf(ctx, secret_id);
  return loadSnapshot(ctx.tx(), account, region, secret_id);
}

void invalidateAfterCommit(store::Tx& tx, const std::string& arn) {
  tx.afterCommit([arn] { cache().invalidate(arn); });
}

void clearCache() { cache().clear(); }

void insertSecret(store::Tx& tx, const SecretRecord& r,
                  const std::vector<std::pair<std::string, std::string>>& tags) {
  tx.exec(std::string("INSERT INTO sm_secrets (") + kSecretColumns +
              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {r.account_id,
           r.region,
           r.name,
           r.arn,
           r.description,
           r.kms_key_id,
           toEpochMillis(r.created),
           toEpochMillis(r.last_changed),
           timeValue(r.last_accessed),
           timeValue(r.deletion_date),
           timeValue(r.deleted_date),
           int64_t{r.rotation_enabled ? 1 : 0},
           r.rotation_lambda,
           r.rotation_days,
           r.rotation_schedule,
           r.rotation_duration,
           timeValue(r.last_rotated),
           timeValue(r.next_rotation),
           r.policy,
           r.primary_region,
           r.owning_service,
           r.type,
           r.rev});
  writeTags(tx, r.arn, tags);
  invalidateAfterCommit(tx, r.arn);
}

void updateSecret(store::Tx& tx, SecretRecord& r) {
  ++r.rev;
  tx.exec(
      "UPDATE sm_secrets SET description = ?, kms_key_id = ?, changed_ms = ?, accessed_ms = ?, "
      "deletion_ms = ?, deleted_ms = ?, rotation_enabled = ?, rotation_lambda = ?, "
      "rotation_days = ?, rotation_schedule = ?, rotation_duration = ?, rotated_ms = ?, "
      "next_rotation_ms = ?, policy = ?, primary_region = ?, type = ?, rev = ? WHERE arn = ?",
      {r.description, r.kms_key_id, toEpochMillis(r.last_changed), timeValue(r.last_accessed),
       timeValue(r.deletion_date), timeValue(r.deleted_date), int64_t{r.rotation_enabled ? 1 : 0},
       r.rotation_lambda, r.rotation_days, r.rotation_schedule, r.rotation_duration,
       timeValue(r.last_rotated), timeValue(r.next_rotation), r.policy, r.primary_region, r.type,
       r.rev, r.arn});
  invalidateAfterCommit(tx, r.arn);
}

void deleteSecretRows(store::Tx& tx, const SecretRecord& r) {
  for (const char* table : {"sm_versions", "sm_stages", "sm_tags", "sm_replicas", "sm_secrets"})
    tx.exec(std::string("DELETE FROM ") + table + " WHERE arn = ?", {r.arn});
  invalidateAfterCommit(tx, r.arn);
}

void writeTags(store::Tx& tx, const std::string& arn,
               const std::vector<std::pair<std::string, std::string>>& tags) {
  tx.exec("DELETE FROM sm_tags WHERE arn = ?", {arn});
  int64_t pos = 0;
  for (const auto& [k, v] : tags)
    tx.exec("INSERT INTO sm_tags (arn, tag_key, tag_value, pos) VALUES (?, ?, ?, ?)",
            {arn, k, v, pos++});
  invalidateAfterCommit(tx, arn);
}

void insertVersion(store::Tx& tx, const SecretRecord& r, const VersionRecord& v) {
  auto seq = tx.query("SELECT COALESCE(MAX(seq), 0) + 1 FROM sm_versions WHERE arn = ?", {r.arn});
  tx.exec(
      "INSERT INTO sm_versions (arn, version_id, created_ms, accessed_ms, kms_key_arn, "
      "encrypted_key, sealed, is_binary, has_value, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {r.arn, v.version_id, toEpochMillis(v.created), timeValue(v.last_accessed), v.kms_key_arn,
       store::Blob{v.encrypted_key}, store::Blob{v.sealed}, int64_t{v.binary ? 1 : 0},
       int64_t{v.has_value ? 1 : 0}, seq.at(0).integer(0)});
  invalidateAfterCommit(tx, r.arn);
}

void updateVersionValue(store::Tx& tx, const std::string& arn, const VersionRecord& v) {
  tx.exec(
      "UPDATE sm_versions SET kms_key_arn = ?, encrypted_key = ?, sealed = ?, is_binary = ?, "
      "has_value = ? WHERE arn = ? AND version_id = ?",
      {v.kms_key_arn, store::Blob{v.encrypted_key}, store::Blob{v.sealed},
       int64_t{v.binary ? 1 : 0}, int64_t{v.has_value ? 1 : 0}, arn, v.version_id});
  invalidateAfterCommit(tx, arn);
}

void writeStages(store::Tx& tx, const std::string& arn,
                 const std::vector<VersionRecord>& versions) {
  tx.exec("DELETE FROM sm_stages WHERE arn = ?", {arn});
  int64_t pos = 0;
  for (const auto& v : versions)
    for (const auto& stage : v.stages)
      tx.exec("INSERT INTO sm_stages (arn, stage, version_id, pos) VALUES (?, ?, ?, ?)",
              {arn, stage, v.version_id, pos++});
  invalidateAfterCommit(tx, arn);
}

void deleteVersions(store::Tx& tx, const std::string& arn, const std::vector<std::string>& ids) {
  for (const auto& id : ids)
    tx.exec("DELETE FROM sm_versions WHERE arn = ? AND version_id = ?", {arn, id});
  invalidateAfterCommit(tx, arn);
}

void writeReplicas(store::Tx& tx, const std::string& arn,
                   const std::vector<ReplicaRecord>& replicas) {
  tx.exec("DELETE FROM sm_replicas WHERE arn = ?", {arn});
  for (const auto& r : replicas)
    tx.exec(
        "INSERT INTO sm_replicas (arn, region, kms_key_id, status, status_message) "
        "VALUES (?, ?, ?, ?, ?)",
        {arn, r.region, r.kms_key_id, r.status, r.status_message});
  invalidateAfterCommit(tx, arn);
}

std::vector<Snapshot> listSnapshots(store::Tx& tx, std::string_view account,
                                    std::string_view region) {
  std::vector<Snapshot> out;
  for (const auto& row : tx.query(std::string("SELECT ") + kSecretColumns +
                                      " FROM sm_secrets WHERE account_id = ? AND region = ? "
                                      "ORDER BY created_ms, name",
                                  {std::string(account), std::string(region)}))
    out.push_back(complete(tx, recordFrom(row)));
  return out;
}

void touchAccessed(runtime::Services& s, const Snapshot& snap, const std::string& version_id) {
  // AWS: LastAccessedDate has day resolution; one write per secret and day at most.
  static std::mutex mu;
  static std::unordered_map<std::string, int64_t> touched;  // arn -> day
  const int64_t day = toEpochMillis(Clock::now()) / 86400000;
  const int64_t day_ms = day * 86400000;
  auto same_day = [&](const std::optional<SysTime>& t) {
    return t && toEpochMillis(*t) / 86400000 == day;
  };
  const VersionRecord* v = snap.byId(version_id);
  if (same_day(snap.record.last_accessed) && (!v || same_day(v->last_accessed))) return;
  {
    std::lock_guard lock(mu);
    std::string key = snap.record.arn + "|" + version_id;
    auto it = touched.find(key);
    if (it != touched.end() && it->second == day) return;
    if (touched.size() > 100000) touched.clear();
    touched[key] = day;
  }
  auto tx = s.store.begin(true);
  tx->exec("UPDATE sm_secrets SET accessed_ms = ? WHERE arn = ?", {day_ms, snap.record.arn});
  tx->exec("UPDATE sm_versions SET accessed_ms = ? WHERE arn = ? AND version_id = ?",
           {day_ms, snap.record.arn, version_id});
  invalidateAfterCommit(*tx, snap.record.arn);
  tx->commit();
}

const VersionRecord* Snapshot::byStage(std::string_view stage) const {
  for (const auto& v : versions)
    for (const auto& s : v.stages)
      if (s == stage) return &v;
  return nullptr;
}

const VersionRecord* Snapshot::byId(std::string_view id) const {
  for (const auto& v : versions)
    if (v.version_id == id) return &v;
  return nullptr;
}

}  // namespace citadel::secretsmanager
