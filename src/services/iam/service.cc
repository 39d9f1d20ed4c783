// IAM: the one registration (operations, IAM actions, resource ARNs) and the schema.
#include <boost/json.hpp>

#include "runtime/registry.h"
#include "runtime/services.h"
#include "services/iam/internal.h"
#include "services/iam/provider.h"

namespace citadel::iamsvc {

namespace {

using runtime::OperationSpec;
using runtime::ResourceFn;

constexpr const char* kSchemaV1 =
    "CREATE TABLE iam_entities (kind TEXT NOT NULL, account_id TEXT NOT NULL, "
    "name_key TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, "
    "arn TEXT NOT NULL, created_ms INTEGER NOT NULL, boundary_arn TEXT NOT NULL DEFAULT '', "
    "trust_policy TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', "
    "max_session INTEGER NOT NULL DEFAULT 3600, PRIMARY KEY (kind, account_id, name_key));"
    "CREATE INDEX iam_entities_arn ON iam_entities(arn);"
    "CREATE TABLE iam_tags (entity_id TEXT NOT NULL, tag_key TEXT NOT NULL, "
    "tag_value TEXT NOT NULL, PRIMARY KEY (entity_id, tag_key));"
    "CREATE TABLE iam_group_members (group_id TEXT NOT NULL, user_id TEXT NOT NULL, "
    "PRIMARY KEY (group_id, user_id));"
    "CREATE INDEX iam_group_members_user ON iam_group_members(user_id);"
    "CREATE TABLE iam_policies (arn TEXT PRIMARY KEY, account_id TEXT NOT NULL, "
    "name_key TEXT NOT NULL, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, path TEXT NOT NULL, "
    "description TEXT NOT NULL DEFAULT '', default_version TEXT NOT NULL, "
    "next_version INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, "
    "UNIQUE (account_id, name_key));"
    "CREATE TABLE iam_policy_versions (policy_id TEXT NOT NULL, version_id TEXT NOT NULL, "
    "document TEXT NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY (policy_id, version_id));"
    "CREATE TABLE iam_attachments (entity_id TEXT NOT NULL, policy_arn TEXT NOT NULL, "
    "PRIMARY KEY (entity_id, policy_arn));"
    "CREATE INDEX iam_attachments_policy ON iam_attachments(policy_arn);"
    "CREATE TABLE iam_inline_policies (entity_id TEXT NOT NULL, name TEXT NOT NULL, "
    "document TEXT NOT NULL, rev TEXT NOT NULL, PRIMARY KEY (entity_id, name));"
    // AWS managed policy AdministratorAccess (its published id, path and document).
    "INSERT INTO iam_policies(arn, account_id, name_key, id, name, path, description, "
    "default_version, next_version, created_ms, updated_ms) VALUES "
    "('arn:aws:iam::aws:policy/AdministratorAccess', 'aws', 'administratoraccess', "
    "'ANPAIWMBCKSKIEE64ZLYK', 'AdministratorAccess', '/', "
    "'Provides full access to AWS services and resources.', 'v1', 2, 1423250000000, "
    "1423250000000);"
    "INSERT INTO iam_policy_versions(policy_id, version_id, document, created_ms) VALUES "
    "('ANPAIWMBCKSKIEE64ZLYK', 'v1', '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
    "\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}', 1423250000000);";

// Virtual MFA devices: the TOTP seed sealed by the barrier (AAD = the serial number, the
// device ARN); user_id is the assigned user's id (the account id for root), '' = unassigned;
// last_step is the latest TOTP step accepted, so a code is never accepted twice.
constexpr const char* kSchemaV2 =
    "CREATE TABLE iam_mfa_devices (serial TEXT PRIMARY KEY, account_id TEXT NOT NULL, "
    "name TEXT NOT NULL, path TEXT NOT NULL, seed BLOB NOT NULL, "
    "user_id TEXT NOT NULL DEFAULT '', enable_ms INTEGER NOT NULL DEFAULT 0, "
    "created_ms INTEGER NOT NULL, last_step INTEGER NOT NULL DEFAULT -1);"
    "CREATE INDEX iam_mfa_devices_user ON iam_mfa_devices(user_id);";

// A device's clock drift in TOTP steps (ResyncMFADevice); codes are expected at now + drift.
constexpr const char* kSchemaV3 =
    "ALTER TABLE iam_mfa_devices ADD COLUMN drift INTEGER NOT NULL DEFAULT 0;";

/// The ARN of a named entity (with its stored path when it exists, else path "/").
ResourceFn entityArn(std::string kind, std::string member) {
  return [kind, member](const RequestContext& ctx, const json::value& in) {
    std::string name = str(in, member.c_str());
    if (name.empty()) return std::vector<std::string>{ctx.principal.arn};
    auto tx = ctx.services->store.begin(false);
    if (auto e = findEntity(*tx, kind, ctx.account_id, name))
      return std::vector<std::string>{e->arn};
    return std::vector<std::string>{iamArn(ctx.account_id, kind, "/", name)};
  };
}

/// The ARN a Create operation will give (Path + name in the input).
ResourceFn newArn(std::string type, std::string member) {
  return [type, member](const RequestContext& ctx, const json::value& in) {
    std::string path = str(in, "Path");
    return std::vector<std::string>{
        iamArn(ctx.account_id, type, path.empty() ? "/" : path, str(in, member.c_str()))};
  };
}

std::vector<std::string> policyArn(const RequestContext&, const json::value& in) {
  return {str(in, "PolicyArn")};
}

OperationSpec op(runtime::Handler h, bool read_only, ResourceFn resources = {}) {
  OperationSpec s;
  if (!read_only) {
    // Every IAM change drops the principals' cached policies once it commits.
    h = [inner = std::move(h)](RequestContext& ctx, const json::value& in) {
      auto out = inner(ctx, in);
      if (out.ok()) policiesChanged(ctx.tx());
      return out;
    };
  }
  s.handler = std::move(h);
  s.read_only = read_only;
  s.global = true;
  s.resources = std::move(resources);
  return s;
}

runtime::Handler byKind(Result<json::value> (*fn)(const std::string&, RequestContext&,
                                                  const json::value&),
                        std::string kind) {
  return [fn, kind](RequestContext& ctx, const json::value& in) { return fn(kind, ctx, in); };
}

runtime::ServiceSpec makeIam() {
  runtime::ServiceSpec s;
  s.model = "iam";
  s.event_source = "iam.amazonaws.com";
  s.iam_prefix = "iam";
  s.throttle_code = "Throttling";
  s.migrations.push_back({"iam", 1, kSchemaV1});
  s.migrations.push_back({"iam", 2, kSchemaV2});
  s.migrations.push_back({"iam", 3, kSchemaV3});
  auto& o = s.operations;
  auto user = entityArn("user", "UserName");
  auto group = entityArn("group", "GroupName");
  auto role = entityArn("role", "RoleName");

  // Condition keys (auth_inputs): tags of the addressed user or role on every operation on
  // one; iam:PermissionsBoundary and iam:PolicyARN where AWS documents them.
  const AuthKeyFlags none{};
  const AuthKeyFlags from_input{true, false, false};
  const AuthKeyFlags of_entity{false, true, false};
  const AuthKeyFlags attach{false, true, true};

  o["CreateUser"] = op(createUser, false, newArn("user", "UserName"));
  o["CreateUser"].auth_inputs = authKeys("", "", from_input);
  o["GetUser"] = op(getUser, true, user);
  o["ListUsers"] = op(listUsers, true);
  o["UpdateUser"] = op(updateUser, false, user);
  o["DeleteUser"] = op(deleteUser, false, user);
  o["TagUser"] = op(tagEntity("user", "UserName"), false, user);
  o["UntagUser"] = op(untagEntity("user", "UserName"), false, user);
  o["ListUserTags"] = op(listEntityTags("user", "UserName"), true, user);

  o["CreateGroup"] = op(createGroup, false, newArn("group", "GroupName"));
  o["GetGroup"] = op(getGroup, true, group);
  o["ListGroups"] = op(listGroups, true);
  o["DeleteGroup"] = op(deleteGroup, false, group);
  o["AddUserToGroup"] = op(addUserToGroup, false, group);
  o["RemoveUserFromGroup"] = op(removeUserFromGroup, false, group);
  o["ListGroupsForUser"] = op(listGroupsForUser, true, user);

  o["CreateRole"] = op(createRole, false, newArn("role", "RoleName"));
  o["CreateRole"].auth_inputs = authKeys("", "", from_input);
  o["GetRole"] = op(getRole, true, role);
  o["ListRoles"] = op(listRoles, true);
  o["UpdateRole"] = op(updateRole, false, role);
  o["DeleteRole"] = op(deleteRole, false, role);
  o["UpdateAssumeRolePolicy"] = op(updateAssumeRolePolicy, false, role);
  o["TagRole"] = op(tagEntity("role", "RoleName"), false, role);
  o["UntagRole"] = op(untagEntity("role", "RoleName"), false, role);
  o["ListRoleTags"] = op(listEntityTags("role", "RoleName"), true, role);

  auto mfa = [](const RequestContext& ctx, const json::value& in) {
    std::string serial = str(in, "SerialNumber");
    return std::vector<std::string>{serial.empty() ? ctx.principal.arn : serial};
  };
  o["CreateVirtualMFADevice"] =
      op(createVirtualMfaDevice, false, newArn("mfa", "VirtualMFADeviceName"));
  o["EnableMFADevice"] = op(enableMfaDevice, false, user);
  o["DeactivateMFADevice"] = op(deactivateMfaDevice, false, user);
  o["ResyncMFADevice"] = op(resyncMfaDevice, false, user);
  o["DeleteVirtualMFADevice"] = op(deleteVirtualMfaDevice, false, mfa);
  o["ListMFADevices"] = op(listMfaDevices, true, user);
  o["ListVirtualMFADevices"] = op(listVirtualMfaDevices, true);

  o["CreatePolicy"] = op(createPolicy, false, newArn("policy", "PolicyName"));
  o["GetPolicy"] = op(getPolicy, true, policyArn);
  o["ListPolicies"] = op(listPolicies, true);
  o["DeletePolicy"] = op(deletePolicy, false, policyArn);
  o["CreatePolicyVersion"] = op(createPolicyVersion, false, policyArn);
  o["GetPolicyVersion"] = op(getPolicyVersion, true, policyArn);
  o["ListPolicyVersions"] = op(listPolicyVersions, true, policyArn);
  o["DeletePolicyVersion"] = op(deletePolicyVersion, false, policyArn);
  o["SetDefaultPolicyVersion"] = op(setDefaultPolicyVersion, false, policyArn);
  o["ListEntitiesForPolicy"] = op(listEntitiesForPolicy, true, policyArn);

  const std::pair<std::string, ResourceFn> kinds[] = {
      {"user", user}, {"group", group}, {"role", role}};
  for (const auto& [kind, res] : kinds) {
    std::string t = kindTitle(kind);
    o["Attach" + t + "Policy"] = op(byKind(attachPolicy, kind), false, res);
    o["Detach" + t + "Policy"] = op(byKind(detachPolicy, kind), false, res);
    o["ListAttached" + t + "Policies"] = op(byKind(listAttached, kind), true, res);
    o["Put" + t + "Policy"] = op(byKind(putInline, kind), false, res);
    o["Get" + t + "Policy"] = op(byKind(getInline, kind), true, res);
    o["Delete" + t + "Policy"] = op(byKind(deleteInline, kind), false, res);
    o["List" + t + "Policies"] = op(byKind(listInline, kind), true, res);
    if (kind != "group") {
      o["Put" + t + "PermissionsBoundary"] = op(byKind(putBoundary, kind), false, res);
      o["Delete" + t + "PermissionsBoundary"] = op(byKind(deleteBoundary, kind), false, res);
    }
  }

  for (const char* name : {"GetUser", "UpdateUser", "DeleteUser", "TagUser", "UntagUser",
                           "ListUserTags", "ListGroupsForUser", "EnableMFADevice",
                           "DeactivateMFADevice", "ResyncMFADevice", "ListMFADevices"})
    o[name].auth_inputs = authKeys("user", "UserName", none);
  for (const char* name : {"GetRole", "UpdateRole", "DeleteRole", "UpdateAssumeRolePolicy",
                           "TagRole", "UntagRole", "ListRoleTags"})
    o[name].auth_inputs = authKeys("role", "RoleName", none);
  for (const auto& [kind, res] : kinds) {
    std::string t = kindTitle(kind);
    std::string member = t + "Name";
    const AuthKeyFlags entity_flags = kind == "group" ? none : of_entity;
    o["Attach" + t + "Policy"].auth_inputs =
        authKeys(kind, member, kind == "group" ? AuthKeyFlags{false, false, true} : attach);
    o["Detach" + t + "Policy"].auth_inputs = o["Attach" + t + "Policy"].auth_inputs;
    o["Put" + t + "Policy"].auth_inputs = authKeys(kind, member, entity_flags);
    o["Delete" + t + "Policy"].auth_inputs = authKeys(kind, member, entity_flags);
    for (const std::string& read :
         {"ListAttached" + t + "Policies", "Get" + t + "Policy", "List" + t + "Policies"})
      o[read].auth_inputs = authKeys(kind, member, none);
    if (kind != "group") {
      o["Put" + t + "PermissionsBoundary"].auth_inputs = authKeys(kind, member, from_input);
      o["Delete" + t + "PermissionsBoundary"].auth_inputs = authKeys(kind, member, of_entity);
    }
  }

  o["CreateAccessKey"] = op(createAccessKey, false, user);
  o["ListAccessKeys"] = op(listAccessKeys, true, user);
  o["UpdateAccessKey"] = op(updateAccessKey, false, user);
  o["DeleteAccessKey"] = op(deleteAccessKey, false, user);
  o["GetAccessKeyLastUsed"] = op(getAccessKeyLastUsed, true);
  o["GetAccountAuthorizationDetails"] = op(getAccountAuthorizationDetails, true);
  o["SimulatePrincipalPolicy"] =
      op(simulatePrincipalPolicy, true, [](const RequestContext&, const json::value& in) {
        return std::vector<std::string>{str(in, "PolicySourceArn")};
      });
  o["SimulateCustomPolicy"] = op(simulateCustomPolicy, true);

  s.init = [](runtime::Services& services) {
    services.policies = std::make_unique<IamPolicyProvider>(services.store);
  };
  // State reset (dev mode): every customer entity, policy and MFA device, and the access keys
  // of IAM users; AWS managed policies and the accounts' root keys stay.
  s.reset = [](runtime::Services& services, store::Tx& tx) {
    for (const char* table : {"iam_tags", "iam_group_members", "iam_attachments",
                              "iam_inline_policies", "iam_mfa_devices", "iam_entities"})
      tx.exec(std::string("DELETE FROM ") + table);
    tx.exec(
        "DELETE FROM iam_policy_versions WHERE policy_id IN "
        "(SELECT id FROM iam_policies WHERE account_id <> 'aws')");
    tx.exec("DELETE FROM iam_policies WHERE account_id <> 'aws'");
    tx.exec("DELETE FROM access_keys WHERE principal_type = 'IAMUser'");
    tx.afterCommit([&services] { services.identity.invalidate(); });
    policiesChanged(tx);
  };
  return s;
}

}  // namespace

CITADEL_REGISTER_SERVICE(makeIam);

}  // namespace citadel::iamsvc
