// Secrets Manager: the one registration (operations, resources, condition keys and resource
// policy), BatchGetSecretValue (which authorizes each secret) and the schema hookup.
#include <boost/json.hpp>

#include "core/encoding.h"
#include "runtime/registry.h"
#include "runtime/services.h"
#include "services/secretsmanager/internal.h"

namespace citadel::secretsmanager {

namespace {

using runtime::AuthInputs;
using runtime::OperationSpec;

/// The condition keys and resource policy a secret contributes.
void addSecretInputs(AuthInputs& a, const Snapshot& snap) {
  auto& keys = a.condition_keys;
  keys.push_back({"secretsmanager:SecretId", {snap.record.arn}});
  for (const auto& [k, v] : snap.tags) {
    keys.push_back({"secretsmanager:ResourceTag/" + k, {v}});
    keys.push_back({"aws:ResourceTag/" + k, {v}});
  }
  if (!snap.record.rotation_lambda.empty())
    keys.push_back(
        {"secretsmanager:resource/AllowRotationLambdaArn", {snap.record.rotation_lambda}});
  if (!snap.record.primary_region.empty() || !snap.replicas.empty())
    keys.push_back(
        {"secretsmanager:resource/PrimaryRegion",
         {snap.record.primary_region.empty() ? snap.record.region : snap.record.primary_region}});
  a.resource_policy = snap.policy;
  a.resource_account = snap.record.account_id;
}

/// AWS: the request condition keys of Secrets Manager (service authorization reference).
Result<AuthInputs> authInputs(const RequestContext& ctx, const json::value& in) {
  AuthInputs a;
  if (!in.is_object()) return a;
  const json::object& o = in.as_object();
  auto& keys = a.condition_keys;
  auto text = [&](const char* member, const char* key) {
    if (const json::value* v = o.if_contains(member); v && v->is_string())
      keys.push_back({key, {std::string(v->get_string())}});
  };
  auto flag = [&](const char* member, const char* key) {
    if (const json::value* v = o.if_contains(member); v && v->is_bool())
      keys.push_back({key, {v->get_bool() ? "true" : "false"}});
  };
  text("Name", "secretsmanager:Name");
  text("Description", "secretsmanager:Description");
  text("KmsKeyId", "secretsmanager:KmsKeyId");
  text("VersionId", "secretsmanager:VersionId");
  text("VersionStage", "secretsmanager:VersionStage");
  text("RotationLambdaARN", "secretsmanager:RotationLambdaARN");
  flag("BlockPublicPolicy", "secretsmanager:BlockPublicPolicy");
  flag("ForceDeleteWithoutRecovery", "secretsmanager:ForceDeleteWithoutRecovery");
  flag("ForceOverwriteReplicaSecret", "secretsmanager:ForceOverwriteReplicaSecret");
  flag("RotateImmediately", "secretsmanager:RotateImmediately");
  if (o.contains("RotationRules")) keys.push_back({"secretsmanager:ModifyRotationRules", {"true"}});
  if (const json::value* v = o.if_contains("RecoveryWindowInDays"); v && v->is_number())
    keys.push_back(
        {"secretsmanager:RecoveryWindowInDays", {std::to_string(v->to_number<int64_t>())}});
  if (const json::value* v = o.if_contains("AddReplicaRegions"); v && v->is_array()) {
    std::vector<std::string> regions;
    for (const auto& e : v->as_array()) regions.push_back(str(e, "Region"));
    keys.push_back({"secretsmanager:AddReplicaRegions", std::move(regions)});
  }
  if (const json::value* id = o.if_contains("SecretId"); id && id->is_string())
    if (auto snap = findSecret(ctx, id->get_string())) addSecretInputs(a, *snap);
  return a;
}

/// The secret's ARN (for IAM and CloudTrail); for an unknown secret the ARN it would have.
std::vector<std::string> secretResource(const RequestContext& ctx, const json::value& in) {
  std::string id = str(in, "SecretId");
  if (id.empty()) {
    std::string name = str(in, "Name");
    if (name.empty()) return {};
    // AWS: the new secret's ARN ends in a random suffix not known before it exists.
    return {"arn:aws:secretsmanager:" + ctx.region + ":" + ctx.account_id + ":secret:" + name +
            "-??????"};
  }
  if (auto snap = findSecret(ctx, id)) return {snap->record.arn};
  if (parseSecretArn(id)) return {id};
  return {"arn:aws:secretsmanager:" + ctx.region + ":" + ctx.account_id + ":secret:" + id};
}

json::object apiError(const std::string& id, const AwsError& e) {
  return json::object{{"SecretId", id}, {"ErrorCode", e.code}, {"Message", e.message}};
}

/// One secret's GetSecretValue inside BatchGetSecretValue: authorized on its own.
Result<json::object> batchEntry(RequestContext& ctx, const std::shared_ptr<const Snapshot>& snap) {
  if (ctx.services->authorizer) {
    AuthInputs a;
    addSecretInputs(a, *snap);
    auto allowed = ctx.services->authorizer->authorize(ctx, "secretsmanager:GetSecretValue",
                                                       {snap->record.arn}, &a);
    if (!allowed.ok())
      return AwsError{"AccessDeniedException", allowed.error().message, 400, true, {}};
  }
  if (snap->record.deleted()) return markedForDeletion();
  TRY_ASSIGN(const VersionRecord* v, selectVersion(*snap, "", ""));
  TRY_ASSIGN(Plain value, openValue(ctx, snap->record, *v));
  json::object e{
      {"ARN", snap->record.arn}, {"Name", snap->record.name}, {"VersionId", v->version_id}};
  e[value.binary ? "SecretBinary" : "SecretString"] =
      json::string(value.bytes.data(), value.bytes.size());
  json::array stages;
  for (const auto& s : v->stages) stages.emplace_back(s);
  e["VersionStages"] = std::move(stages);
  e["CreatedDate"] = toEpochSeconds(v->created);
  return e;
}

}  // namespace

Result<json::value> batchGetSecretValue(RequestContext& ctx, const json::value& in) {
  const json::object& o = in.as_object();
  const json::value* ids = o.if_contains("SecretIdList");
  const json::value* filters = o.if_contains("Filters");
  if (ids && filters)
    return smError("InvalidParameterException",
                   "Either 'SecretIdList' or 'Filters' must be provided, but not both.");
  if (!ids && !filters)
    return smError("InvalidParameterException",
                   "Either 'SecretIdList' or 'Filters' must be provided.");
  if (o.contains("MaxResults") && !filters)
    return smError("InvalidParameterException",
                   "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' "
                   "is provided.");
  json::array values, errors;
  json::object out;
  if (ids) {
    for (const auto& e : ids->as_array()) {
      std::string id(e.as_string());
      auto snap = findSecret(ctx, id);
      if (!snap) {
        errors.push_back(apiError(id, notFound()));
        continue;
      }
      auto entry = batchEntry(ctx, snap);
      if (entry.ok())
        values.push_back(std::move(*entry));
      else
        errors.push_back(apiError(id, entry.error()));
    }
  } else {
    std::vector<std::string> arns;
    {
      auto tx = ctx.services->store.begin(false);
      for (const auto& s : listSnapshots(*tx, ctx.account_id, ctx.region)) {
        if (s.record.deleted()) continue;
        TRY_ASSIGN(bool ok, matchesFilters(s, filters));
        if (ok) arns.push_back(s.record.arn);
      }
      tx->rollback();
    }
    size_t start = 0;
    if (std::string token = str(in, "NextToken"); !token.empty()) {
      auto decoded = base64Decode(token);
      bool ok = decoded && !decoded->empty() &&
                decoded->find_first_not_of("0123456789") == std::string::npos;
      if (ok) start = std::stoul(*decoded);
      if (!ok || start > arns.size())
        return smError("InvalidNextTokenException", "The NextToken value is invalid.");
    }
    size_t max = 20;
    if (const json::value* m = o.if_contains("MaxResults"); m && m->is_number())
      max = static_cast<size_t>(m->to_number<int64_t>());
    for (size_t i = start; i < arns.size() && i < start + max; ++i) {
      auto snap = findSecret(ctx, arns[i]);
      if (!snap) continue;
      auto entry = batchEntry(ctx, snap);
      if (entry.ok())
        values.push_back(std::move(*entry));
      else
        errors.push_back(apiError(arns[i], entry.error()));
    }
    if (start + max < arns.size()) out["NextToken"] = base64Encode(std::to_string(start + max));
  }
  out["SecretValues"] = std::move(values);
  out["Errors"] = std::move(errors);
  return json::value(std::move(out));
}

namespace {

runtime::ServiceSpec makeSecretsManager() {
  runtime::ServiceSpec s;
  s.model = "secretsmanager";
  s.event_source = kServicePrincipal;
  s.iam_prefix = "secretsmanager";
  auto op = [&s](const char* name, runtime::Handler h, bool read_only, bool per_secret) {
    OperationSpec spec;
    spec.handler = std::move(h);
    spec.read_only = read_only;
    spec.auth_inputs = authInputs;
    if (per_secret) spec.resources = secretResource;
    s.operations[name] = std::move(spec);
  };
  op("CreateSecret", createSecret, false, true);
  op("DescribeSecret", describeSecret, true, true);
  op("ListSecrets", listSecrets, true, false);
  op("GetSecretValue", getSecretValue, true, true);
  op("BatchGetSecretValue", batchGetSecretValue, true, false);
  op("PutSecretValue", putSecretValue, false, true);
  op("UpdateSecret", updateSecretOp, false, true);
  op("UpdateSecretVersionStage", updateSecretVersionStage, false, true);
  op("ListSecretVersionIds", listSecretVersionIds, true, true);
  op("DeleteSecret", deleteSecret, false, true);
  op("RestoreSecret", restoreSecret, false, true);
  op("TagResource", tagResource, false, true);
  op("UntagResource", untagResource, false, true);
  op("GetRandomPassword", getRandomPassword, true, false);
  op("PutResourcePolicy", putResourcePolicy, false, true);
  op("GetResourcePolicy", getResourcePolicy, true, true);
  op("DeleteResourcePolicy", deleteResourcePolicy, false, true);
  op("ValidateResourcePolicy", validateResourcePolicy, true, true);
  op("ReplicateSecretToRegions", replicateSecretToRegions, false, true);
  op("RemoveRegionsFromReplication", removeRegionsFromReplication, false, true);
  op("StopReplicationToReplica", stopReplicationToReplica, false, true);
  op("RotateSecret", rotateSecret, false, true);
  op("CancelRotateSecret", cancelRotateSecret, false, true);
  // AWS: GetSecretValue and BatchGetSecretValue are data reads CloudTrail records as
  // management events (readOnly true); nothing here is a data event.
  s.migrations = migrations();
  s.init = [](runtime::Services& services) { registerJobs(services); };
  s.reset = [](runtime::Services& services, store::Tx& tx) {
    for (const char* kind : {kRotateJob, kDeleteJob})
      for (const auto& job : services.scheduler.pending(tx, kind))
        services.scheduler.cancel(tx, kind, job.key);
    for (const char* table : {"sm_versions", "sm_stages", "sm_tags", "sm_replicas", "sm_secrets"})
      tx.exec(std::string("DELETE FROM ") + table);
    tx.afterCommit([] { clearCache(); });
  };
  return s;
}

}  // namespace

CITADEL_REGISTER_SERVICE(makeSecretsManager);

}  // namespace citadel::secretsmanager
