// KMS key rotation: EnableKeyRotation / DisableKeyRotation / GetKeyRotationStatus,
// RotateKeyOnDemand, ListKeyRotations and the durable rotation job (one per key, kind
// kRotateKeyJob) that adds a material version when due, records the rotation, the EventBridge
// "KMS CMK Rotation" event and CloudTrail's "RotateKey" service event in one transaction, and
// reschedules itself.
//
// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html
#include <boost/json.hpp>

#include "core/encoding.h"
#include "crypto/crypto.h"
#include "runtime/audit_record.h"
#include "runtime/event_outbox.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

// kms_rotations: one row per rotation (the material version it created).
// kms_rotation_schedule: the automatic schedule of a key with rotation on: base_ms is when the
// current period started (rotation enabled, or the last automatic rotation), next_ms is when
// the job is due (base + period, or later while the key cannot rotate).
constexpr const char* kRotationSchemaV1 =
    "CREATE TABLE kms_rotations (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, version INTEGER NOT NULL, rotation_ms INTEGER NOT NULL, "
    "rotation_type TEXT NOT NULL, PRIMARY KEY (account_id, region, key_id, version));"
    "CREATE TABLE kms_rotation_schedule (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, base_ms INTEGER NOT NULL, next_ms INTEGER NOT NULL, "
    "PRIMARY KEY (account_id, region, key_id))";

constexpr int kDefaultPeriodDays = 365;
constexpr int kMinPeriodDays = 90;
constexpr int kMaxPeriodDays = 2560;
constexpr int64_t kMaxOnDemandRotations = 25;
constexpr auto kDay = std::chrono::hours(24);

int64_t intMember(const json::value& in, std::string_view name, int64_t fallback) {
  const json::value* v = in.as_object().if_contains(name);
  if (!v) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return fallback;
}

std::vector<store::Value> keyParams(const KeyRecord& k) {
  return {k.account_id, k.region, k.key_id};
}

/// AWS: automatic and on-demand rotation exist only for symmetric encryption keys whose material
/// KMS generated (not asymmetric, HMAC, imported or custom key store keys).
Result<void> requireRotatable(const KeyRecord& k) {
  if (k.key_spec != "SYMMETRIC_DEFAULT")
    return kmsError("UnsupportedOperationException",
                    k.arn + " key spec is " + k.key_spec +
                        " which is not valid for this operation; only symmetric encryption keys "
                        "rotate.");
  if (k.origin != "AWS_KMS")
    return kmsError("UnsupportedOperationException",
                    k.arn + " origin is " + k.origin + " which is not valid for this operation.");
  return okResult();
}

/// EnableKeyRotation, DisableKeyRotation and RotateKeyOnDemand: Enabled keys only
/// (DisabledException for a disabled key, as AWS's key state table).
Result<void> requireEnabledForRotation(const KeyRecord& k) { return requireUsable(k); }

std::string jobKey(const KeyRecord& k) { return deletionJobKey(k); }

void saveSchedule(runtime::Services& s, store::Tx& tx, const KeyRecord& k, SysTime base,
                  SysTime next) {
  tx.exec(
      "INSERT INTO kms_rotation_schedule (account_id, region, key_id, base_ms, next_ms) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, region, key_id) DO UPDATE SET "
      "base_ms = excluded.base_ms, next_ms = excluded.next_ms",
      {k.account_id, k.region, k.key_id, toEpochMillis(base), toEpochMillis(next)});
  s.scheduler.schedule(tx,
                       runtime::Job{kRotateKeyJob, jobKey(k), next, k.account_id, k.region, "{}"});
  tx.afterCommit([&s] { s.scheduler.wake(); });
}

void dropSchedule(runtime::Services& s, store::Tx& tx, const KeyRecord& k) {
  tx.exec("DELETE FROM kms_rotation_schedule WHERE account_id = ? AND region = ? AND key_id = ?",
          keyParams(k));
  s.scheduler.cancel(tx, kRotateKeyJob, jobKey(k));
}

struct Schedule {
  SysTime base;
  SysTime next;
};

std::optional<Schedule> loadSchedule(store::Tx& tx, const KeyRecord& k) {
  auto rows = tx.query(
      "SELECT base_ms, next_ms FROM kms_rotation_schedule WHERE account_id = ? AND region = ? "
      "AND key_id = ?",
      keyParams(k));
  if (rows.empty()) return std::nullopt;
  return Schedule{fromEpochMillis(rows[0].integer(0)), fromEpochMillis(rows[0].integer(1))};
}

std::optional<KeyRecord> keyOfJob(store::Tx& tx, const runtime::Job& job) {
  auto first = job.key.find('/');
  auto second = job.key.find('/', first + 1);
  if (first == std::string::npos || second == std::string::npos) return std::nullopt;
  return loadKey(tx, job.key.substr(0, first), job.key.substr(first + 1, second - first - 1),
                 job.key.substr(second + 1));
}

/// Adds a material version and makes it current; records the rotation, its EventBridge event
/// and its CloudTrail service event. Returns the new version.
Result<uint32_t> rotateNow(runtime::Services& s, store::Tx& tx, KeyRecord& k,
                           std::string_view rotation_type, SysTime when) {
  auto rows = tx.query(
      "SELECT COALESCE(MAX(version), 0) FROM kms_key_material WHERE account_id = ? AND "
      "region = ? AND key_id = ?",
      keyParams(k));
  uint32_t previous = k.current_version;
  uint32_t version =
      std::max<uint32_t>(static_cast<uint32_t>(rows.empty() ? 0 : rows[0].integer(0)), previous) +
      1;
  TRY_ASSIGN(std::string material, generateMaterial(k.key_spec));
  storeMaterial(s, tx, k, version, material);
  k.current_version = version;
  updateKey(tx, k);
  auto replicated = replicateMaterialVersion(s, tx, k, version, material);
  crypto::wipe(material);
  TRY_VOID(replicated);
  tx.exec(
      "INSERT INTO kms_rotations (account_id, region, key_id, version, rotation_ms, "
      "rotation_type) VALUES (?, ?, ?, ?, ?, ?)",
      {k.account_id, k.region, k.key_id, int64_t{version}, toEpochMillis(when),
       std::string(rotation_type)});

  // AWS: the "KMS CMK Rotation" event goes to EventBridge for automatic and on-demand rotations.
  runtime::OutboxEvent ev;
  ev.detail_type = "KMS CMK Rotation";
  ev.source = "aws.kms";
  ev.account = k.account_id;
  ev.region = k.region;
  ev.time = when;
  ev.resources = {k.arn};
  ev.detail = json::serialize(json::object{{"key-id", k.key_id}});
  runtime::putEvent(tx, ev);

  json::object details{{"rotationType", rotation_type},
                       {"keyId", k.key_id},
                       {"keyOrigin", k.origin},
                       {"previousKeyMaterialId", keyMaterialId(k, previous)},
                       {"currentKeyMaterialId", keyMaterialId(k, version)}};
  appendKmsServiceEvent(s, tx, k, "RotateKey", std::move(details), when);
  return version;
}

std::vector<store::Migration> rotationSchema() { return {{"kms-rotation", 1, kRotationSchemaV1}}; }

}  // namespace

std::vector<store::Migration> rotationMigrations() {
  auto out = rotationSchema();
  for (auto& m : runtime::eventOutboxMigrations()) out.push_back(m);
  return out;
}

std::string keyMaterialId(const KeyRecord& k, uint32_t version) {
  // A stable public identifier of one version (64 hex digits, as AWS's KeyMaterialId); it is
  // derived from the key's ARN and the version only, never from the material.
  return crypto::sha256Hex("kms-key-material-id:" + k.arn + "/" + std::to_string(version));
}

void appendKmsServiceEvent(runtime::Services& s, store::Tx& tx, const KeyRecord& k,
                           std::string_view event_name, json::object details, SysTime when) {
  // AWS: service events (RotateKey, DeleteExpiredKeyMaterial ...) are recorded with
  // "AWS Internal" as the caller.
  // https://docs.aws.amazon.com/kms/latest/developerguide/ct-rotatekey.html
  runtime::ServiceEvent ev;
  ev.event_source = "kms.amazonaws.com";
  ev.event_name = std::string(event_name);
  ev.account_id = k.account_id;
  ev.region = k.region;
  ev.time = when;
  ev.resources = {{"AWS::KMS::Key", k.arn}};
  ev.service_event_details = json::serialize(details);
  runtime::appendServiceEvent(s, tx, ev);
}

void scheduleAutomaticRotation(runtime::Services& s, store::Tx& tx, const KeyRecord& k,
                               SysTime from) {
  int days = k.rotation_period_days > 0 ? k.rotation_period_days : kDefaultPeriodDays;
  saveSchedule(s, tx, k, from, from + kDay * days);
}

Result<void> runRotateKeyJob(runtime::Services& s, store::Tx& tx, const runtime::Job& job) {
  auto k = keyOfJob(tx, job);
  if (!k) return okResult();  // the key is gone: the job ends with it
  if (!k->rotation_enabled) {
    dropSchedule(s, tx, *k);
    return okResult();
  }
  SysTime now = Clock::now();
  if (k->key_state != "Enabled") {
    // AWS: a disabled key (or one pending deletion) is not rotated; once it is usable again and
    // the date has passed, it rotates within a day. Check again daily, keeping the due date.
    s.scheduler.schedule(
        tx, runtime::Job{kRotateKeyJob, job.key, now + kDay, k->account_id, k->region, "{}"});
    return okResult();
  }
  TRY_VOID(rotateNow(s, tx, *k, "AUTOMATIC", now));
  int days = k->rotation_period_days > 0 ? k->rotation_period_days : kDefaultPeriodDays;
  saveSchedule(s, tx, *k, now, now + kDay * days);
  return okResult();
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html
Result<json::value> enableKeyRotation(RequestContext& ctx, const json::value& in) {
  int64_t days = intMember(in, "RotationPeriodInDays", kDefaultPeriodDays);
  if (days < kMinPeriodDays || days > kMaxPeriodDays)
    return AwsError::validation("1 validation error detected: Value '" + std::to_string(days) +
                                "' at 'rotationPeriodInDays' failed to satisfy constraint: " +
                                (days < kMinPeriodDays
                                     ? "Member must have value greater than or equal to 90"
                                     : "Member must have value less than or equal to 2560"));
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireRotatable(k));
  TRY_VOID(requireCustomerManaged(k, "EnableKeyRotation"));
  TRY_VOID(requireNotReplica(ctx.tx(), k, "EnableKeyRotation"));
  TRY_VOID(requireEnabledForRotation(k));
  runtime::Services& s = *ctx.services;
  store::Tx& tx = ctx.tx();
  SysTime base = ctx.time;
  if (k.rotation_enabled) {
    // AWS: a new period on a key that already rotates counts from the start of the current
    // period (the last automatic rotation, or when rotation was enabled).
    if (auto sched = loadSchedule(tx, k)) base = sched->base;
  }
  k.rotation_enabled = true;
  k.rotation_period_days = static_cast<int>(days);
  updateKey(tx, k);
  SysTime next = base + kDay * days;
  if (next < ctx.time) next = ctx.time;
  saveSchedule(s, tx, k, base, next);
  return json::value(nullptr);
}

Result<json::value> disableKeyRotation(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireRotatable(k));
  TRY_VOID(requireCustomerManaged(k, "DisableKeyRotation"));
  TRY_VOID(requireNotReplica(ctx.tx(), k, "DisableKeyRotation"));
  TRY_VOID(requireEnabledForRotation(k));
  k.rotation_enabled = false;
  k.rotation_period_days = 0;
  updateKey(ctx.tx(), k);
  dropSchedule(*ctx.services, ctx.tx(), k);
  return json::value(nullptr);
}

Result<json::value> getKeyRotationStatus(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), false, Access::kCrossAccount));
  const KeyRecord& k = key->record;
  // AWS: imported (EXTERNAL) symmetric keys answer (they never rotate automatically);
  // asymmetric, HMAC and custom key store keys do not support the operation.
  if (k.key_spec != "SYMMETRIC_DEFAULT" || (k.origin != "AWS_KMS" && k.origin != "EXTERNAL"))
    TRY_VOID(requireRotatable(k));
  json::object out{{"KeyId", k.arn}, {"KeyRotationEnabled", k.rotation_enabled}};
  if (k.rotation_enabled) {
    out["RotationPeriodInDays"] =
        k.rotation_period_days > 0 ? k.rotation_period_days : kDefaultPeriodDays;
    if (auto sched = loadSchedule(ctx.tx(), k))
      out["NextRotationDate"] = toEpochSeconds(sched->next);
  }
  return json::value(std::move(out));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
// At most 25 on-demand rotations per key; the automatic schedule is not changed.
Result<json::value> rotateKeyOnDemand(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireRotatable(k));
  TRY_VOID(requireCustomerManaged(k, "RotateKeyOnDemand"));
  TRY_VOID(requireNotReplica(ctx.tx(), k, "RotateKeyOnDemand"));
  TRY_VOID(requireEnabledForRotation(k));
  store::Tx& tx = ctx.tx();
  auto n = tx.query(
      "SELECT COUNT(*) FROM kms_rotations WHERE account_id = ? AND region = ? AND key_id = ? "
      "AND rotation_type = 'ON_DEMAND'",
      keyParams(k));
  if (!n.empty() && n[0].integer(0) >= kMaxOnDemandRotations)
    return kmsError("LimitExceededException",
                    "The request was rejected because " + k.arn +
                        " has reached the maximum number of on-demand rotations (25).");
  TRY_VOID(rotateNow(*ctx.services, tx, k, "ON_DEMAND", ctx.time));
  return json::value(json::object{{"KeyId", k.key_id}});
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyRotations.html
Result<json::value> listKeyRotations(RequestContext& ctx, const json::value& in) {
  int64_t limit = intMember(in, "Limit", 100);
  if (limit < 1 || limit > 1000) limit = 100;
  std::string include = str(in, "IncludeKeyMaterial");
  const bool all = include == "ALL_KEY_MATERIAL";
  std::string marker = str(in, "Marker");
  int64_t after = all ? 0 : 1;  // version 1 is the original material, not a rotation
  if (!marker.empty()) {
    try {
      size_t used = 0;
      after = std::stoll(marker, &used);
      if (used != marker.size() || after < 0) throw std::invalid_argument("marker");
    } catch (const std::exception&) {
      return kmsError("InvalidMarkerException",
                      "The marker that specifies where to start is "
                      "invalid.");
    }
  }
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  if (k.key_spec != "SYMMETRIC_DEFAULT" || (k.origin != "AWS_KMS" && k.origin != "EXTERNAL"))
    TRY_VOID(requireRotatable(k));
  store::Tx& tx = ctx.tx();
  json::array rotations;
  bool truncated = false;
  std::string next_marker;
  if (k.origin == "EXTERNAL") {
    // One imported material at most (import.cc); listed with ALL_KEY_MATERIAL only.
    if (all && after == 0) {
      json::object e{{"KeyId", k.key_id}};
      if (auto id = importedKeyMaterialId(tx, k)) e["KeyMaterialId"] = *id;
      e["ImportState"] = k.current_version == 0 ? "PENDING_IMPORT" : "IMPORTED";
      e["KeyMaterialState"] = "CURRENT";
      if (!k.expiration_model.empty()) e["ExpirationModel"] = k.expiration_model;
      if (k.valid_to) e["ValidTo"] = toEpochSeconds(*k.valid_to);
      rotations.push_back(std::move(e));
    }
    return json::value(json::object{{"Rotations", std::move(rotations)}, {"Truncated", false}});
  }
  // Versions of the key (the original one first when ALL_KEY_MATERIAL), joined with their
  // rotation records.
  std::string sql =
      "SELECT m.version, r.rotation_ms, r.rotation_type FROM kms_key_material m "
      "LEFT JOIN kms_rotations r ON r.account_id = m.account_id AND r.region = m.region AND "
      "r.key_id = m.key_id AND r.version = m.version "
      "WHERE m.account_id = ? AND m.region = ? AND m.key_id = ? AND m.version > ? ";
  if (!all) sql += "AND r.version IS NOT NULL ";
  sql += "ORDER BY m.version LIMIT ?";
  auto rows = tx.query(sql, {k.account_id, k.region, k.key_id, after, limit + 1});
  if (static_cast<int64_t>(rows.size()) > limit) {
    truncated = true;
    rows.pop_back();
    next_marker = std::to_string(rows.back().integer(0));
  }
  for (const auto& r : rows) {
    uint32_t version = static_cast<uint32_t>(r.integer(0));
    json::object e{{"KeyId", k.key_id}, {"KeyMaterialId", keyMaterialId(k, version)}};
    e["KeyMaterialState"] = version == k.current_version ? "CURRENT" : "NON_CURRENT";
    if (!r.isNull(1)) {
      e["RotationDate"] = toEpochSeconds(fromEpochMillis(r.integer(1)));
      e["RotationType"] = r.text(2);
    }
    rotations.push_back(std::move(e));
  }
  json::object out{{"Rotations", std::move(rotations)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = next_marker;
  return json::value(std::move(out));
}

void resetRotations(runtime::Services& s, store::Tx& tx) {
  tx.exec("DELETE FROM kms_rotations");
  tx.exec("DELETE FROM kms_rotation_schedule");
  for (const auto& job : s.scheduler.pending(tx, kRotateKeyJob))
    s.scheduler.cancel(tx, job.kind, job.key);
}

}  // namespace citadel::kms
