// Secrets Manager: secret lifecycle, listing, tags, resource policies and replication.
#include <algorithm>
#include <cctype>
#include <set>

#include "core/encoding.h"
#include "core/ids.h"
#include "iam/policy.h"
#include "runtime/services.h"
#include "services/kms/api.h"
#include "services/secretsmanager/internal.h"

namespace citadel::secretsmanager {

// ---------------------------------------------------------------------------------------
// Shared helpers

AwsError smError(std::string code, std::string message) {
  return AwsError{std::move(code), std::move(message), 400, true, {}};
}

AwsError notFound() {
  return smError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
}

AwsError markedForDeletion() {
  return smError("InvalidRequestException",
                 "You can't perform this operation on the secret because it was marked for "
                 "deletion.");
}

AwsError onReplica() {
  return smError("InvalidParameterException",
                 "Operation not permitted on a replica secret. Call must be made in primary "
                 "secret's region.");
}

std::string str(const json::value& in, std::string_view member) {
  if (!in.is_object()) return {};
  const json::value* v = in.as_object().if_contains(member);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool boolean(const json::value& in, std::string_view member, bool dflt) {
  if (!in.is_object()) return dflt;
  const json::value* v = in.as_object().if_contains(member);
  return v && v->is_bool() ? v->get_bool() : dflt;
}

std::string secretArn(std::string_view region, std::string_view account, std::string_view name,
                      std::string_view suffix) {
  std::string arn = "arn:aws:secretsmanager:";
  arn.append(region).append(1, ':').append(account).append(":secret:").append(name);
  arn.append(1, '-').append(suffix);
  return arn;
}

std::optional<ArnParts> parseSecretArn(std::string_view id) {
  // arn:<partition>:secretsmanager:<region>:<account>:secret:<resource>
  if (id.substr(0, 4) != "arn:") return std::nullopt;
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 6; ++i) {
    size_t pos = id.find(':', start);
    if (pos == std::string_view::npos) return std::nullopt;
    parts.push_back(id.substr(start, pos - start));
    start = pos + 1;
  }
  if (parts[2] != "secretsmanager" || parts[5] != "secret") return std::nullopt;
  ArnParts out{std::string(parts[3]), std::string(parts[4]), std::string(id.substr(start))};
  if (out.resource.empty()) return std::nullopt;
  return out;
}

Result<void> validateName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 512;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) ||
          std::string_view("/_+=.@-").find(c) != std::string_view::npos))
      ok = false;
  if (!ok)
    return smError("InvalidParameterException",
                   "Invalid name. Must be a valid name containing alphanumeric characters, or "
                   "any of the following: -/_+=.@!");
  return okResult();
}

void nameResource(RequestContext& ctx, const std::string& arn) {
  ctx.resources.clear();
  ctx.resources.push_back({"AWS::SecretsManager::Secret", arn});
}

Result<Snapshot> requireLive(RequestContext& ctx, const std::string& secret_id,
                             bool allow_replica) {
  auto snap = findSecretForUpdate(ctx, secret_id);
  if (!snap) return notFound();
  if (snap->record.deleted()) return markedForDeletion();
  if (snap->record.isReplica() && !allow_replica) return onReplica();
  return std::move(*snap);
}

namespace {

json::array tagsJson(const std::vector<std::pair<std::string, std::string>>& tags) {
  json::array a;
  for (const auto& [k, v] : tags) a.push_back(json::object{{"Key", k}, {"Value", v}});
  return a;
}

std::vector<std::pair<std::string, std::string>> tagsFrom(const json::value* v) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!v || !v->is_array()) return out;
  for (const auto& t : v->as_array()) {
    std::string k = str(t, "Key"), val = str(t, "Value");
    bool replaced = false;
    for (auto& e : out)
      if (e.first == k) {
        e.second = val;
        replaced = true;
      }
    if (!replaced) out.emplace_back(std::move(k), std::move(val));
  }
  return out;
}

json::array replicationJson(const Snapshot& snap) {
  json::array a;
  for (const auto& r : snap.replicas) {
    json::object o{{"Region", r.region}, {"Status", r.status}};
    if (!r.kms_key_id.empty())
      o["KmsKeyId"] = r.kms_key_id;
    else
      o["KmsKeyId"] = "alias/aws/secretsmanager";
    if (!r.status_message.empty()) o["StatusMessage"] = r.status_message;
    a.push_back(std::move(o));
  }
  return a;
}

std::string suffixOf(const std::string& arn) {
  return arn.size() >= 6 ? arn.substr(arn.size() - 6) : std::string();
}

bool validRegion(std::string_view r) {
  // <area>-<direction>-<n> (us-east-1, ap-southeast-2, us-gov-west-1 ...)
  if (r.size() < 9 || r.size() > 25) return false;
  int dashes = 0;
  for (char c : r) {
    if (c == '-')
      ++dashes;
    else if (!std::islower(static_cast<unsigned char>(c)) &&
             !std::isdigit(static_cast<unsigned char>(c)))
      return false;
  }
  return dashes >= 2 && std::isdigit(static_cast<unsigned char>(r.back()));
}

/// The KmsKeyId as stored: the key's ARN when KMS knows it (aliases resolved), else as given.
std::string storedKeyId(RequestContext& ctx, const std::string& given) {
  if (given.empty()) return {};
  auto arn = kms::api::resolveKeyArn(ctx, given);
  return arn.ok() ? *arn : given;
}

/// Adds replicas of `snap` in `regions` ([{Region, KmsKeyId}]); writes the primary's list.
Result<void> replicate(RequestContext& ctx, Snapshot& snap, const json::value* regions,
                       bool force_overwrite) {
  if (!regions || !regions->is_array()) return okResult();
  store::Tx& tx = ctx.tx();
  std::vector<std::string> added;
  for (const auto& e : regions->as_array()) {
    std::string region = str(e, "Region");
    std::string key = str(e, "KmsKeyId");
    if (!validRegion(region) || region == snap.record.region)
      return smError("InvalidParameterException", "Invalid replica region.");
    bool known = false;
    for (const auto& r : snap.replicas) known = known || r.region == region;
    if (known) continue;
    ReplicaRecord rep{region, key, "InSync", "Replication succeeded"};
    auto existing = loadByName(tx, snap.record.account_id, region, snap.record.name);
    if (existing && !force_overwrite) {
      rep.status = "Failed";
      rep.status_message =
          "Replication failed: Secret name already exists in Region " + region + ".";
      snap.replicas.push_back(std::move(rep));
      continue;
    }
    if (existing) deleteSecretRows(tx, existing->record);
    SecretRecord r;
    r.account_id = snap.record.account_id;
    r.region = region;
    r.name = snap.record.name;
    r.arn = secretArn(region, r.account_id, r.name, suffixOf(snap.record.arn));
    r.description = snap.record.description;
    r.kms_key_id = key;
    r.created = Clock::now();
    r.last_changed = r.created;
    r.policy = snap.record.policy;
    r.primary_region = snap.record.region;
    insertSecret(tx, r, snap.tags);
    snap.replicas.push_back(std::move(rep));
    added.push_back(region);
  }
  std::sort(snap.replicas.begin(), snap.replicas.end(),
            [](const ReplicaRecord& a, const ReplicaRecord& b) { return a.region < b.region; });
  writeReplicas(tx, snap.record.arn, snap.replicas);
  if (!added.empty()) TRY_VOID(syncReplicas(ctx, snap, {}));
  return okResult();
}

// ListSecrets filters (AWS: the Filter shape's documentation).
bool startsWith(std::string_view s, std::string_view p, bool case_sensitive) {
  if (p.size() > s.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    char a = s[i], b = p[i];
    if (!case_sensitive) {
      a = static_cast<char>(std::tolower(static_cast<unsigned char>(a)));
      b = static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
    }
    if (a != b) return false;
  }
  return true;
}

/// Words of an attribute for the "all" filter: split at separators and at lower-to-upper
/// case changes.
std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(toLower(cur));
    cur.clear();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (std::string_view("/-_+=.@ :").find(c) != std::string_view::npos) {
      flush();
      continue;
    }
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0 &&
        std::islower(static_cast<unsigned char>(s[i - 1])))
      flush();
    cur += c;
  }
  flush();
  return out;
}

bool wordMatch(const std::vector<std::string>& attributes, std::string_view value) {
  auto pattern = words(value);
  if (pattern.empty()) return false;
  std::vector<std::string> all;
  for (const auto& a : attributes)
    for (auto& w : words(a)) all.push_back(std::move(w));
  for (const auto& p : pattern) {
    bool found = false;
    for (const auto& w : all) found = found || startsWith(w, p, true);
    if (!found) return false;
  }
  return true;
}

}  // namespace

Result<bool> matchesFilters(const Snapshot& snap, const json::value* filters) {
  if (!filters || !filters->is_array()) return true;
  const SecretRecord& r = snap.record;
  for (const auto& f : filters->as_array()) {
    std::string key = str(f, "Key");
    const json::value* values = f.is_object() ? f.as_object().if_contains("Values") : nullptr;
    if (!values || !values->is_array() || values->as_array().empty())
      return smError("InvalidParameterException", "Invalid filter values for key: " + key);
    bool any = false;
    for (const auto& vv : values->as_array()) {
      std::string value(vv.as_string());
      bool negate = !value.empty() && value[0] == '!';
      if (negate) value.erase(0, 1);
      bool hit = false;
      if (key == "name") {
        hit = startsWith(r.name, value, true);
      } else if (key == "description") {
        hit = startsWith(r.description, value, false);
      } else if (key == "tag-key") {
        for (const auto& t : snap.tags) hit = hit || startsWith(t.first, value, true);
      } else if (key == "tag-value") {
        for (const auto& t : snap.tags) hit = hit || startsWith(t.second, value, true);
      } else if (key == "primary-region") {
        hit = startsWith(r.primary_region.empty() ? r.region : r.primary_region, value, true);
      } else if (key == "owning-service") {
        hit = !r.owning_service.empty() && startsWith(r.owning_service, value, true);
      } else if (key == "all") {
        std::vector<std::string> attrs{r.name, r.description};
        for (const auto& t : snap.tags) {
          attrs.push_back(t.first);
          attrs.push_back(t.second);
        }
        hit = wordMatch(attrs, value);
      } else {
        return smError("InvalidParameterException", "Invalid filter key: " + key);
      }
      any = any || (negate ? !hit : hit);
    }
    if (!any) return false;
  }
  return true;
}

json::object describeDoc(const Snapshot& snap, bool list_entry) {
  const SecretRecord& r = snap.record;
  json::object o;
  o["ARN"] = r.arn;
  o["Name"] = r.name;
  if (!r.type.empty()) o["Type"] = r.type;
  if (!r.description.empty()) o["Description"] = r.description;
  if (!r.kms_key_id.empty()) o["KmsKeyId"] = r.kms_key_id;
  if (r.rotation_enabled || !r.rotation_lambda.empty()) o["RotationEnabled"] = r.rotation_enabled;
  if (!r.rotation_lambda.empty()) o["RotationLambdaARN"] = r.rotation_lambda;
  if (r.rotation_days > 0 || !r.rotation_schedule.empty()) {
    json::object rules;
    if (r.rotation_days > 0) rules["AutomaticallyAfterDays"] = r.rotation_days;
    if (!r.rotation_schedule.empty()) rules["ScheduleExpression"] = r.rotation_schedule;
    if (!r.rotation_duration.empty()) rules["Duration"] = r.rotation_duration;
    o["RotationRules"] = std::move(rules);
  }
  if (r.last_rotated) o["LastRotatedDate"] = toEpochSeconds(*r.last_rotated);
  o["LastChangedDate"] = toEpochSeconds(r.last_changed);
  if (r.last_accessed) o["LastAccessedDate"] = toEpochSeconds(*r.last_accessed);
  if (r.deleted_date) o["DeletedDate"] = toEpochSeconds(*r.deleted_date);
  if (r.rotation_enabled && r.next_rotation)
    o["NextRotationDate"] = toEpochSeconds(*r.next_rotation);
  if (!snap.tags.empty()) o["Tags"] = tagsJson(snap.tags);
  json::object stages;
  for (const auto& v : snap.versions) {
    if (v.stages.empty()) continue;
    json::array a;
    for (const auto& s : v.stages) a.emplace_back(s);
    stages[v.version_id] = std::move(a);
  }
  o[list_entry ? "SecretVersionsToStages" : "VersionIdsToStages"] = std::move(stages);
  if (!r.owning_service.empty()) o["OwningService"] = r.owning_service;
  o["CreatedDate"] = toEpochSeconds(r.created);
  if (r.isReplica())
    o["PrimaryRegion"] = r.primary_region;
  else if (!snap.replicas.empty())
    o["PrimaryRegion"] = r.region;
  if (!list_entry && !snap.replicas.empty()) o["ReplicationStatus"] = replicationJson(snap);
  return o;
}

// ---------------------------------------------------------------------------------------
// Handlers

Result<json::value> createSecret(RequestContext& ctx, const json::value& in) {
  std::string name = str(in, "Name");
  TRY_VOID(validateName(name));
  TRY_ASSIGN(std::optional<Plain> value, [&]() -> Result<std::optional<Plain>> {
    const json::object& o = in.as_object();
    const json::value* s = o.if_contains("SecretString");
    const json::value* b = o.if_contains("SecretBinary");
    if (s && b)
      return smError("InvalidParameterException",
                     "You can't specify both a binary secret value and a string secret value in "
                     "the same secret.");
    if (s) return std::optional<Plain>(Plain(std::string(s->as_string()), false));
    if (b) return std::optional<Plain>(Plain(std::string(b->as_string()), true));
    return std::optional<Plain>();
  }());
  std::string token = str(in, "ClientRequestToken");
  store::Tx& tx = ctx.tx();
  if (auto existing = loadByName(tx, ctx.account_id, ctx.region, name)) {
    nameResource(ctx, existing->record.arn);
    if (existing->record.isReplica()) return onReplica();
    if (existing->record.deleted())
      return smError("InvalidRequestException",
                     "You can't create this secret because a secret with this name is already "
                     "scheduled for deletion.");
    // AWS: a retry of the same CreateSecret (same token and value) succeeds.
    if (!token.empty() && value) {
      if (const VersionRecord* v = existing->byId(token); v && v->has_value) {
        TRY_ASSIGN(Plain old, openValue(ctx, existing->record, *v));
        if (old.binary != value->binary || old.bytes != value->bytes)
          return smError("ResourceExistsException",
                         "You can't use ClientRequestToken " + token +
                             " because that value is already in use for a version of secret " +
                             existing->record.arn + ".");
        json::object out{
            {"ARN", existing->record.arn}, {"Name", existing->record.name}, {"VersionId", token}};
        if (!existing->replicas.empty()) out["ReplicationStatus"] = replicationJson(*existing);
        return json::value(std::move(out));
      }
    }
    return smError("ResourceExistsException",
                   "The operation failed because the secret " + name + " already exists.");
  }
  Snapshot snap;
  SecretRecord& r = snap.record;
  r.account_id = ctx.account_id;
  r.region = ctx.region;
  r.name = name;
  static const std::string kSuffixAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  r.arn = secretArn(r.region, r.account_id, name, randomFrom(kSuffixAlphabet, 6));
  r.description = str(in, "Description");
  r.kms_key_id = storedKeyId(ctx, str(in, "KmsKeyId"));
  r.type = str(in, "Type");
  r.created = Clock::now();
  r.last_changed = r.created;
  snap.tags = tagsFrom(in.as_object().if_contains("Tags"));
  insertSecret(tx, r, snap.tags);
  nameResource(ctx, r.arn);
  json::object out{{"ARN", r.arn}, {"Name", r.name}};
  if (value) {
    TRY_ASSIGN(std::string version, addVersion(ctx, snap, token, std::move(*value), {}));
    out["VersionId"] = version;
  }
  TRY_VOID(replicate(ctx, snap, in.as_object().if_contains("AddReplicaRegions"),
                     boolean(in, "ForceOverwriteReplicaSecret", false)));
  if (!snap.replicas.empty()) out["ReplicationStatus"] = replicationJson(snap);
  return json::value(std::move(out));
}

Result<json::value> describeSecret(RequestContext& ctx, const json::value& in) {
  auto snap = findSecret(ctx, str(in, "SecretId"));
  if (!snap) return notFound();
  nameResource(ctx, snap->record.arn);
  return json::value(describeDoc(*snap, false));
}

Result<json::value> listSecrets(RequestContext& ctx, const json::value& in) {
  const json::value* filters = in.as_object().if_contains("Filters");
  const bool planned = boolean(in, "IncludePlannedDeletion", false);
  std::vector<Snapshot> all = listSnapshots(ctx.tx(), ctx.account_id, ctx.region);
  std::vector<const Snapshot*> kept;
  for (const auto& s : all) {
    if (s.record.deleted() && !planned) continue;
    TRY_ASSIGN(bool ok, matchesFilters(s, filters));
    if (ok) kept.push_back(&s);
  }
  std::string sort_by = str(in, "SortBy");
  const bool desc = str(in, "SortOrder") == "desc";
  auto key_less = [&](const Snapshot* a, const Snapshot* b) {
    const SecretRecord& x = a->record;
    const SecretRecord& y = b->record;
    if (sort_by == "name") return x.name < y.name;
    if (sort_by == "last-changed-date") return x.last_changed < y.last_changed;
    if (sort_by == "last-accessed-date")
      return x.last_accessed.value_or(SysTime{}) < y.last_accessed.value_or(SysTime{});
    return x.created < y.created;
  };
  std::stable_sort(kept.begin(), kept.end(), [&](const Snapshot* a, const Snapshot* b) {
    return desc ? key_less(b, a) : key_less(a, b);
  });
  size_t start = 0;
  if (std::string token = str(in, "NextToken"); !token.empty()) {
    auto decoded = base64Decode(token);
    bool ok = decoded && !decoded->empty() &&
              std::all_of(decoded->begin(), decoded->end(),
                          [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (ok) start = std::stoul(*decoded);
    if (!ok || start > kept.size())
      return smError("InvalidNextTokenException", "The NextToken value is invalid.");
  }
  size_t max = 100;
  if (const json::value* m = in.as_object().if_contains("MaxResults"); m && m->is_number())
    max = static_cast<size_t>(m->to_number<int64_t>());
  json::array list;
  for (size_t i = start; i < kept.size() && list.size() < max; ++i)
    list.push_back(describeDoc(*kept[i], true));
  json::object out{{"SecretList", std::move(list)}};
  if (start + max < kept.size()) out["NextToken"] = base64Encode(std::to_string(start + max));
  return json::value(std::move(out));
}

Result<json::value> updateSecretOp(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  const json::object& o = in.as_object();
  const json::value* s = o.if_contains("SecretString");
  const json::value* b = o.if_contains("SecretBinary");
  if (s && b)
    return smError("InvalidParameterException",
                   "You can't specify both a binary secret value and a string secret value in "
                   "the same secret.");
  bool changed = false;
  if (o.contains("Description")) {
    snap.record.description = str(in, "Description");
    changed = true;
  }
  std::string old_key = snap.record.kms_key_id;
  if (o.contains("KmsKeyId")) {
    snap.record.kms_key_id = storedKeyId(ctx, str(in, "KmsKeyId"));
    changed = true;
  }
  if (snap.record.kms_key_id != old_key) {
    // AWS: a new key re-encrypts the versions labelled AWSCURRENT, AWSPENDING and AWSPREVIOUS.
    SecretRecord before = snap.record;
    before.kms_key_id = old_key;
    for (auto& v : snap.versions) {
      bool labelled = false;
      for (const auto& s : v.stages)
        labelled = labelled || s == kCurrent || s == kPending || s == kPrevious;
      if (!labelled || !v.has_value) continue;
      TRY_ASSIGN(Plain value, openValue(ctx, before, v));
      TRY_VOID(sealValue(ctx, snap.record, v, value));
      updateVersionValue(ctx.tx(), snap.record.arn, v);
    }
  }
  if (o.contains("Type")) {
    snap.record.type = str(in, "Type");
    changed = true;
  }
  if (changed) {
    snap.record.last_changed = Clock::now();
    updateSecret(ctx.tx(), snap.record);
  }
  json::object out{{"ARN", snap.record.arn}, {"Name", snap.record.name}};
  if (s || b) {
    Plain value(std::string(s ? s->as_string() : b->as_string()), b != nullptr);
    TRY_ASSIGN(std::string version,
               addVersion(ctx, snap, str(in, "ClientRequestToken"), std::move(value), {}));
    out["VersionId"] = version;
  } else if (!snap.replicas.empty()) {
    TRY_VOID(syncReplicas(ctx, snap, {}));
  }
  return json::value(std::move(out));
}

Result<json::value> deleteSecret(RequestContext& ctx, const json::value& in) {
  auto found = findSecretForUpdate(ctx, str(in, "SecretId"));
  if (!found) return notFound();
  Snapshot& snap = *found;
  nameResource(ctx, snap.record.arn);
  if (snap.record.isReplica()) return onReplica();
  const json::object& o = in.as_object();
  const bool force = boolean(in, "ForceDeleteWithoutRecovery", false);
  const json::value* window = o.if_contains("RecoveryWindowInDays");
  if (force && window)
    return smError("InvalidParameterException",
                   "You can't use ForceDeleteWithoutRecovery in conjunction with "
                   "RecoveryWindowInDays.");
  int64_t days = window ? window->to_number<int64_t>() : 30;
  if (days < 7 || days > 30)
    return smError("InvalidParameterException",
                   "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  if (snap.record.deleted() && !force) return markedForDeletion();
  if (!snap.replicas.empty()) {
    std::string regions;
    for (const auto& r : snap.replicas) regions += (regions.empty() ? "" : ", ") + r.region;
    return smError("InvalidRequestException", "You can't delete secret " + snap.record.name +
                                                  " because it has replicas in " + regions +
                                                  ". Remove the Regions from replication first.");
  }
  store::Tx& tx = ctx.tx();
  auto& sched = ctx.services->scheduler;
  sched.cancel(tx, kRotateJob, snap.record.arn);
  SysTime now = Clock::now();
  json::object out{{"ARN", snap.record.arn}, {"Name", snap.record.name}};
  if (force) {
    sched.cancel(tx, kDeleteJob, snap.record.arn);
    deleteSecretRows(tx, snap.record);
    out["DeletionDate"] = toEpochSeconds(now);
    return json::value(std::move(out));
  }
  snap.record.deleted_date = now;
  snap.record.deletion_date = now + std::chrono::hours(24 * days);
  updateSecret(tx, snap.record);
  runtime::Job job;
  job.kind = kDeleteJob;
  job.key = snap.record.arn;
  job.due = *snap.record.deletion_date;
  job.account_id = snap.record.account_id;
  job.region = snap.record.region;
  sched.schedule(tx, job);
  tx.afterCommit([s = ctx.services] { s->scheduler.wake(); });
  out["DeletionDate"] = toEpochSeconds(*snap.record.deletion_date);
  return json::value(std::move(out));
}

Result<json::value> restoreSecret(RequestContext& ctx, const json::value& in) {
  auto found = findSecretForUpdate(ctx, str(in, "SecretId"));
  if (!found) return notFound();
  Snapshot& snap = *found;
  nameResource(ctx, snap.record.arn);
  if (snap.record.isReplica()) return onReplica();
  if (snap.record.deleted()) {
    store::Tx& tx = ctx.tx();
    snap.record.deletion_date.reset();
    snap.record.deleted_date.reset();
    snap.record.last_changed = Clock::now();
    updateSecret(tx, snap.record);
    ctx.services->scheduler.cancel(tx, kDeleteJob, snap.record.arn);
    scheduleRotation(*ctx.services, tx, snap.record);
  }
  return json::value(json::object{{"ARN", snap.record.arn}, {"Name", snap.record.name}});
}

Result<json::value> tagResource(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  for (auto& [k, v] : tagsFrom(in.as_object().if_contains("Tags"))) {
    bool replaced = false;
    for (auto& t : snap.tags)
      if (t.first == k) {
        t.second = v;
        replaced = true;
      }
    if (!replaced) snap.tags.emplace_back(k, v);
  }
  if (snap.tags.size() > 50)
    return smError("ValidationException", "The number of tags can't exceed 50.");
  store::Tx& tx = ctx.tx();
  writeTags(tx, snap.record.arn, snap.tags);
  snap.record.last_changed = Clock::now();
  updateSecret(tx, snap.record);
  if (!snap.replicas.empty()) TRY_VOID(syncReplicas(ctx, snap, {}));
  return json::value(nullptr);
}

Result<json::value> untagResource(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  std::set<std::string> keys;
  if (const json::value* k = in.as_object().if_contains("TagKeys"); k && k->is_array())
    for (const auto& e : k->as_array()) keys.insert(std::string(e.as_string()));
  std::erase_if(snap.tags, [&](const auto& t) { return keys.count(t.first) > 0; });
  store::Tx& tx = ctx.tx();
  writeTags(tx, snap.record.arn, snap.tags);
  snap.record.last_changed = Clock::now();
  updateSecret(tx, snap.record);
  if (!snap.replicas.empty()) TRY_VOID(syncReplicas(ctx, snap, {}));
  return json::value(nullptr);
}

// ---------------------------------------------------------------------------------------
// Resource policies

namespace {

/// True when an Allow statement grants access to everyone: Principal "*" (or AWS "*") without
/// a condition that pins the caller's account, organization or network origin.
bool grantsPublicAccess(const iam::PolicyDocument& doc) {
  static const std::set<std::string> kPinning = {
      "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths", "aws:principalarn",
      "aws:sourceaccount",    "aws:sourcearn",      "aws:sourceowner",       "aws:sourcevpc",
      "aws:sourcevpce",       "aws:userid",         "aws:sourceip",          "kms:calleraccount"};
  for (const auto& st : doc.statements) {
    if (st.effect != iam::Effect::kAllow || st.not_principal) continue;
    bool wildcard = st.principal.wildcard;
    for (const auto& [type, value] : st.principal.items)
      if (type == "AWS" && value == "*") wildcard = true;
    if (!wildcard) continue;
    bool pinned = false;
    for (const auto& c : st.conditions) {
      if (!kPinning.count(toLower(c.key))) continue;
      if (c.op.find("Not") != std::string::npos || c.op.find("IfExists") != std::string::npos)
        continue;
      bool broad = false;
      for (const auto& v : c.values) broad = broad || v == "*" || v.empty();
      if (!broad) pinned = true;
    }
    if (!pinned) return true;
  }
  return false;
}

AwsError malformed(const AwsError& e) {
  return smError("MalformedPolicyDocumentException", e.message);
}

}  // namespace

Result<json::value> putResourcePolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  std::string policy = str(in, "ResourcePolicy");
  auto doc = iam::parsePolicy(policy, iam::PolicyKind::kResource);
  if (!doc.ok()) return malformed(doc.error());
  if (boolean(in, "BlockPublicPolicy", false) && grantsPublicAccess(*doc))
    return smError("PublicPolicyException",
                   "The BlockPublicPolicy parameter is set to true, and the resource policy did "
                   "not prevent broad access to the secret.");
  snap.record.policy = policy;
  snap.record.last_changed = Clock::now();
  updateSecret(ctx.tx(), snap.record);
  if (!snap.replicas.empty()) TRY_VOID(syncReplicas(ctx, snap, {}));
  return json::value(json::object{{"ARN", snap.record.arn}, {"Name", snap.record.name}});
}

Result<json::value> getResourcePolicy(RequestContext& ctx, const json::value& in) {
  auto snap = findSecret(ctx, str(in, "SecretId"));
  if (!snap) return notFound();
  nameResource(ctx, snap->record.arn);
  json::object out{{"ARN", snap->record.arn}, {"Name", snap->record.name}};
  if (!snap->record.policy.empty()) out["ResourcePolicy"] = snap->record.policy;
  return json::value(std::move(out));
}

Result<json::value> deleteResourcePolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  snap.record.policy.clear();
  snap.record.last_changed = Clock::now();
  updateSecret(ctx.tx(), snap.record);
  if (!snap.replicas.empty()) TRY_VOID(syncReplicas(ctx, snap, {}));
  return json::value(json::object{{"ARN", snap.record.arn}, {"Name", snap.record.name}});
}

Result<json::value> validateResourcePolicy(RequestContext& ctx, const json::value& in) {
  if (std::string id = str(in, "SecretId"); !id.empty()) {
    auto snap = findSecret(ctx, id);
    if (!snap) return notFound();
    nameResource(ctx, snap->record.arn);
  }
  std::string policy = str(in, "ResourcePolicy");
  boost::system::error_code ec;
  json::value parsed = json::parse(policy, ec);
  if (ec || !parsed.is_object())
    return smError("MalformedPolicyDocumentException",
                   "This resource policy is not a valid JSON document.");
  json::array errors;
  auto doc = iam::parsePolicy(policy, iam::PolicyKind::kResource);
  if (!doc.ok())
    errors.push_back(
        json::object{{"CheckName", "SYNTAX_CHECK"}, {"ErrorMessage", doc.error().message}});
  else if (grantsPublicAccess(*doc))
    errors.push_back(
        json::object{{"CheckName", "PUBLIC_POLICY_CHECK"},
                     {"ErrorMessage",
                      "The resource policy grants broad access to the secret: a statement "
                      "allows Principal \"*\" without a condition that limits the caller."}});
  return json::value(json::object{{"PolicyValidationPassed", errors.empty()},
                                  {"ValidationErrors", std::move(errors)}});
}

// ---------------------------------------------------------------------------------------
// Replication

Result<json::value> replicateSecretToRegions(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  TRY_VOID(replicate(ctx, snap, in.as_object().if_contains("AddReplicaRegions"),
                     boolean(in, "ForceOverwriteReplicaSecret", false)));
  return json::value(
      json::object{{"ARN", snap.record.arn}, {"ReplicationStatus", replicationJson(snap)}});
}

Result<json::value> removeRegionsFromReplication(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId")));
  nameResource(ctx, snap.record.arn);
  store::Tx& tx = ctx.tx();
  if (const json::value* r = in.as_object().if_contains("RemoveReplicaRegions"); r && r->is_array())
    for (const auto& e : r->as_array()) {
      std::string region(e.as_string());
      auto it = std::find_if(snap.replicas.begin(), snap.replicas.end(),
                             [&](const ReplicaRecord& x) { return x.region == region; });
      if (it == snap.replicas.end())
        return smError("InvalidParameterException",
                       "The secret isn't replicated to Region " + region + ".");
      if (it->status == "InSync") {
        auto replica = loadByName(tx, snap.record.account_id, region, snap.record.name);
        if (replica && replica->record.primary_region == snap.record.region)
          deleteSecretRows(tx, replica->record);
      }
      snap.replicas.erase(it);
    }
  writeReplicas(tx, snap.record.arn, snap.replicas);
  return json::value(
      json::object{{"ARN", snap.record.arn}, {"ReplicationStatus", replicationJson(snap)}});
}

Result<json::value> stopReplicationToReplica(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Snapshot snap, requireLive(ctx, str(in, "SecretId"), true));
  nameResource(ctx, snap.record.arn);
  if (!snap.record.isReplica())
    return smError("InvalidRequestException",
                   "StopReplicationToReplica is only allowed on a replica secret.");
  store::Tx& tx = ctx.tx();
  if (auto primary =
          loadByName(tx, snap.record.account_id, snap.record.primary_region, snap.record.name)) {
    std::erase_if(primary->replicas,
                  [&](const ReplicaRecord& r) { return r.region == snap.record.region; });
    writeReplicas(tx, primary->record.arn, primary->replicas);
  }
  snap.record.primary_region.clear();
  snap.record.last_changed = Clock::now();
  updateSecret(tx, snap.record);
  return json::value(json::object{{"ARN", snap.record.arn}});
}

}  // namespace citadel::secretsmanager
