// Organizations: the one registration (operations, IAM actions) and the schema.
#include <boost/json.hpp>

#include "runtime/registry.h"
#include "runtime/services.h"
#include "services/organizations/internal.h"
#include "services/organizations/provider.h"

namespace citadel::orgs {

namespace {

using runtime::OperationSpec;

// org_accounts holds the management account too; parent_id is the root or an OU id.
// org_policies rows are per organization (FullAWSAccess is copied into each, aws_managed=1);
// rev grows with each content change (the compiled-policy cache key).
constexpr const char* kSchemaV1 =
    "CREATE TABLE org_organizations (id TEXT PRIMARY KEY, management_account TEXT NOT NULL "
    "UNIQUE, root_id TEXT NOT NULL, feature_set TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE org_accounts (account_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
    "parent_id TEXT NOT NULL, name TEXT NOT NULL, email TEXT NOT NULL, "
    "joined_method TEXT NOT NULL, joined_ms INTEGER NOT NULL);"
    "CREATE INDEX org_accounts_parent ON org_accounts(org_id, parent_id);"
    "CREATE INDEX org_accounts_email ON org_accounts(email);"
    "CREATE TABLE org_ous (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, parent_id TEXT NOT NULL, "
    "name TEXT NOT NULL);"
    "CREATE INDEX org_ous_parent ON org_ous(org_id, parent_id);"
    "CREATE TABLE org_policies (org_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, "
    "description TEXT NOT NULL, type TEXT NOT NULL, content TEXT NOT NULL, "
    "aws_managed INTEGER NOT NULL, rev INTEGER NOT NULL, PRIMARY KEY (org_id, id));"
    "CREATE TABLE org_attachments (org_id TEXT NOT NULL, policy_id TEXT NOT NULL, "
    "target_id TEXT NOT NULL, PRIMARY KEY (org_id, policy_id, target_id));"
    "CREATE INDEX org_attachments_target ON org_attachments(org_id, target_id);"
    "CREATE TABLE org_create_status (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, "
    "account_name TEXT NOT NULL, state TEXT NOT NULL, requested_ms INTEGER NOT NULL, "
    "completed_ms INTEGER NOT NULL, account_id TEXT NOT NULL, failure TEXT NOT NULL);"
    "CREATE TABLE org_service_access (org_id TEXT NOT NULL, principal TEXT NOT NULL, "
    "enabled_ms INTEGER NOT NULL, PRIMARY KEY (org_id, principal));"
    "CREATE TABLE org_delegated_admins (org_id TEXT NOT NULL, account_id TEXT NOT NULL, "
    "principal TEXT NOT NULL, created_ms INTEGER NOT NULL, "
    "PRIMARY KEY (org_id, account_id, principal));";

runtime::ServiceSpec makeOrganizations() {
  runtime::ServiceSpec s;
  s.model = "organizations";
  s.event_source = "organizations.amazonaws.com";
  s.iam_prefix = "organizations";
  s.throttle_code = "TooManyRequestsException";
  auto op = [&s](const char* name, runtime::Handler h, bool read_only) {
    OperationSpec spec;
    spec.handler = std::move(h);
    spec.read_only = read_only;
    spec.global = true;
    s.operations[name] = std::move(spec);
  };
  op("CreateOrganization", createOrganization, false);
  op("DescribeOrganization", describeOrganization, true);
  op("DeleteOrganization", deleteOrganization, false);
  op("ListRoots", listRoots, true);
  op("CreateAccount", createAccount, false);
  op("DescribeCreateAccountStatus", describeCreateAccountStatus, true);
  op("ListCreateAccountStatus", listCreateAccountStatus, true);
  op("ListAccounts", listAccounts, true);
  op("DescribeAccount", describeAccount, true);
  op("ListAccountsForParent", listAccountsForParent, true);
  op("CreateOrganizationalUnit", createOrganizationalUnit, false);
  op("DescribeOrganizationalUnit", describeOrganizationalUnit, true);
  op("UpdateOrganizationalUnit", updateOrganizationalUnit, false);
  op("DeleteOrganizationalUnit", deleteOrganizationalUnit, false);
  op("ListOrganizationalUnitsForParent", listOrganizationalUnitsForParent, true);
  op("MoveAccount", moveAccount, false);
  op("ListParents", listParents, true);
  op("ListChildren", listChildren, true);
  op("CreatePolicy", createPolicy, false);
  op("DescribePolicy", describePolicy, true);
  op("ListPolicies", listPolicies, true);
  op("UpdatePolicy", updatePolicy, false);
  op("DeletePolicy", deletePolicy, false);
  op("AttachPolicy", attachPolicy, false);
  op("DetachPolicy", detachPolicy, false);
  op("ListPoliciesForTarget", listPoliciesForTarget, true);
  op("ListTargetsForPolicy", listTargetsForPolicy, true);
  op("EnableAWSServiceAccess", enableAwsServiceAccess, false);
  op("DisableAWSServiceAccess", disableAwsServiceAccess, false);
  op("ListAWSServiceAccessForOrganization", listAwsServiceAccess, true);
  op("RegisterDelegatedAdministrator", registerDelegatedAdministrator, false);
  op("DeregisterDelegatedAdministrator", deregisterDelegatedAdministrator, false);
  op("ListDelegatedAdministrators", listDelegatedAdministrators, true);
  // Condition keys (auth_inputs) where AWS documents them.
  for (const char* name : {"CreatePolicy", "DescribePolicy", "UpdatePolicy", "DeletePolicy",
                           "AttachPolicy", "DetachPolicy", "ListPolicies", "ListPoliciesForTarget"})
    s.operations[name].auth_inputs = conditionKeys(true, false);
  for (const char* name :
       {"EnableAWSServiceAccess", "DisableAWSServiceAccess", "RegisterDelegatedAdministrator",
        "DeregisterDelegatedAdministrator", "ListDelegatedAdministrators"})
    s.operations[name].auth_inputs = conditionKeys(false, true);
  s.migrations.push_back({"organizations", 1, kSchemaV1});
  s.init = [](runtime::Services& services) {
    services.organizations = std::make_unique<OrgProvider>(services.store);
    registerCreateAccountJob(services);
  };
  // State reset (dev mode): every organization with its OUs, policies and records. The
  // accounts it created stay (accounts survive a reset), outside any organization.
  s.reset = [](runtime::Services& services, store::Tx& tx) {
    for (const char* table :
         {"org_attachments", "org_policies", "org_ous", "org_accounts", "org_create_status",
          "org_service_access", "org_delegated_admins", "org_organizations"})
      tx.exec(std::string("DELETE FROM ") + table);
    tx.afterCommit([&services] {
      if (auto* p = dynamic_cast<OrgProvider*>(services.organizations.get())) p->invalidate();
    });
  };
  return s;
}

}  // namespace

CITADEL_REGISTER_SERVICE(makeOrganizations);

}  // namespace citadel::orgs
