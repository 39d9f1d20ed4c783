// SSM Parameter Store: the one registration (operations, resources, condition keys), the
// schema and the state reset.
#include <boost/json.hpp>

#include "runtime/event_outbox.h"
#include "runtime/registry.h"
#include "runtime/services.h"
#include "services/ssm/internal.h"

namespace citadel::ssm {

namespace {

using runtime::OperationSpec;

// ssm_parameters: the current (latest) version of each parameter. ssm_versions: every kept
// version (the latest too). ssm_labels: label -> version (a label is on one version at a
// time). ssm_tags: the parameter's tags.
constexpr const char* kSchemaV1 =
    "CREATE TABLE ssm_parameters (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "name TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL, "
    "key_id TEXT NOT NULL, tier TEXT NOT NULL, data_type TEXT NOT NULL, "
    "description TEXT NOT NULL, allowed_pattern TEXT NOT NULL, policies TEXT NOT NULL, "
    "modified_ms INTEGER NOT NULL, modified_user TEXT NOT NULL, "
    "PRIMARY KEY (account_id, region, name));"
    "CREATE TABLE ssm_versions (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "name TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL, value TEXT NOT NULL, "
    "key_id TEXT NOT NULL, tier TEXT NOT NULL, data_type TEXT NOT NULL, "
    "description TEXT NOT NULL, allowed_pattern TEXT NOT NULL, policies TEXT NOT NULL, "
    "modified_ms INTEGER NOT NULL, modified_user TEXT NOT NULL, "
    "PRIMARY KEY (account_id, region, name, version));"
    "CREATE TABLE ssm_labels (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "name TEXT NOT NULL, label TEXT NOT NULL, version INTEGER NOT NULL, "
    "PRIMARY KEY (account_id, region, name, label));"
    "CREATE TABLE ssm_tags (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "name TEXT NOT NULL, tag_key TEXT NOT NULL, tag_value TEXT NOT NULL, "
    "PRIMARY KEY (account_id, region, name, tag_key))";

std::string arnFor(const RequestContext& ctx, const std::string& given) {
  std::string name = nameFromInput(given);
  if (auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
  return parameterArn(isPublicName(name) ? "" : ctx.account_id, ctx.region, name);
}

std::vector<std::string> byName(const RequestContext& ctx, const json::value& in) {
  return {arnFor(ctx, str(in, "Name"))};
}

std::vector<std::string> byNames(const RequestContext& ctx, const json::value& in) {
  std::vector<std::string> out;
  if (const auto* names = in.as_object().if_contains("Names"); names && names->is_array())
    for (const auto& n : names->as_array())
      if (n.is_string()) out.push_back(arnFor(ctx, std::string(n.as_string())));
  return out;
}

std::vector<std::string> byResourceId(const RequestContext& ctx, const json::value& in) {
  return {arnFor(ctx, str(in, "ResourceId"))};
}

std::vector<std::string> byPath(const RequestContext& ctx, const json::value& in) {
  return {arnFor(ctx, str(in, "Path"))};
}

/// ssm:ResourceTag/<k> and aws:ResourceTag/<k> of the addressed parameter, plus the
/// operation's own keys (ssm:Overwrite, ssm:Policies, ssm:Recursive).
runtime::AuthInputsFn authInputs(const char* name_member) {
  return [name_member](const RequestContext& cctx,
                       const json::value& in) -> Result<runtime::AuthInputs> {
    runtime::AuthInputs out;
    auto& ctx = const_cast<RequestContext&>(cctx);  // loadCurrent may begin a read
    std::string name = nameFromInput(str(in, name_member));
    if (auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
    if (!name.empty() && !isPublicName(name) && ctx.services) {
      if (auto cur = loadCurrent(ctx, name)) {
        for (const auto& [k, v] : cur->tags) {
          out.condition_keys.push_back({"ssm:ResourceTag/" + k, {v}});
          out.condition_keys.push_back({"aws:ResourceTag/" + k, {v}});
        }
      }
    }
    const json::object& o = in.as_object();
    if (ctx.operation == "PutParameter") {
      out.condition_keys.push_back({"ssm:Overwrite", {flag(in, "Overwrite") ? "true" : "false"}});
      if (o.contains("Policies"))
        out.condition_keys.push_back({"ssm:Policies", {str(in, "Policies")}});
    }
    if (ctx.operation == "GetParametersByPath")
      out.condition_keys.push_back({"ssm:Recursive", {flag(in, "Recursive") ? "true" : "false"}});
    return out;
  };
}

runtime::ServiceSpec makeSsm() {
  runtime::ServiceSpec s;
  s.model = "ssm";
  s.event_source = "ssm.amazonaws.com";
  s.iam_prefix = "ssm";
  auto op = [&s](const char* name, runtime::Handler h, bool read_only,
                 runtime::ResourceFn resources, runtime::AuthInputsFn inputs) {
    OperationSpec spec;
    spec.handler = std::move(h);
    spec.read_only = read_only;
    spec.resources = std::move(resources);
    spec.auth_inputs = std::move(inputs);
    s.operations[name] = std::move(spec);
  };
  op("PutParameter", putParameter, false, byName, authInputs("Name"));
  op("GetParameter", getParameter, true, byName, authInputs("Name"));
  op("GetParameters", getParameters, true, byNames, nullptr);
  op("GetParametersByPath", getParametersByPath, true, byPath, authInputs("Path"));
  op("GetParameterHistory", getParameterHistory, true, byName, authInputs("Name"));
  op("DescribeParameters", describeParameters, true, nullptr, nullptr);
  op("DeleteParameter", deleteParameter, false, byName, authInputs("Name"));
  op("DeleteParameters", deleteParameters, false, byNames, nullptr);
  op("LabelParameterVersion", labelParameterVersion, false, byName, authInputs("Name"));
  op("UnlabelParameterVersion", unlabelParameterVersion, false, byName, authInputs("Name"));
  op("AddTagsToResource", addTagsToResource, false, byResourceId, authInputs("ResourceId"));
  op("RemoveTagsFromResource", removeTagsFromResource, false, byResourceId,
     authInputs("ResourceId"));
  op("ListTagsForResource", listTagsForResource, true, byResourceId, authInputs("ResourceId"));
  s.migrations = migrations();
  s.init = [](runtime::Services& services) { registerPolicyJobs(services); };
  // State reset (dev mode): every parameter, version, label, tag, policy job and SSM event.
  s.reset = [](runtime::Services& services, store::Tx& tx) {
    for (const char* table : {"ssm_parameters", "ssm_versions", "ssm_labels", "ssm_tags"})
      tx.exec(std::string("DELETE FROM ") + table);
    for (const char* kind : {kExpirationJob, kExpirationNotificationJob, kNoChangeJob})
      for (const auto& job : services.scheduler.pending(tx, kind))
        services.scheduler.cancel(tx, kind, job.key);
    runtime::clearEvents(tx, "aws.ssm");
    tx.afterCommit([] { clearCache(); });
  };
  return s;
}

}  // namespace

std::vector<store::Migration> migrations() {
  std::vector<store::Migration> out{{"ssm", 1, kSchemaV1}};
  for (auto& m : runtime::eventOutboxMigrations()) out.push_back(m);
  return out;
}

CITADEL_REGISTER_SERVICE(makeSsm);

}  // namespace citadel::ssm
