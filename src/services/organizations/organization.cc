// Organizations: the organization, its root, accounts, OUs, service access and delegated
// administrators.
#include <algorithm>
#include <cctype>

#include "core/encoding.h"
#include "core/ids.h"
#include "core/time.h"
#include "protocol/protocol.h"
#include "runtime/audit_record.h"
#include "runtime/identity.h"
#include "runtime/services.h"
#include "services/iam/internal.h"
#include "services/organizations/internal.h"
#include "services/organizations/provider.h"

namespace citadel::orgs {

namespace {

const std::string kLowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

json::object policyTypes() {
  return json::object{{"Type", "SERVICE_CONTROL_POLICY"}, {"Status", "ENABLED"}};
}

json::object accountDoc(const Org& org, const store::Row& r) {
  // Columns: account_id, name, email, joined_method, joined_ms.
  json::object a;
  a["Id"] = r.text(0);
  a["Arn"] = orgArn(org, "account/" + org.id + "/" + r.text(0));
  a["Email"] = r.text(2);
  a["Name"] = r.text(1);
  a["Status"] = "ACTIVE";
  a["State"] = "ACTIVE";
  a["JoinedMethod"] = r.text(3);
  a["JoinedTimestamp"] = seconds(r.integer(4));
  return a;
}

constexpr const char* kAccountCols = "account_id, name, email, joined_method, joined_ms";

json::object organizationDoc(store::Tx& tx, const Org& org) {
  json::object o;
  o["Id"] = org.id;
  o["Arn"] = orgArn(org, "organization/" + org.id);
  o["FeatureSet"] = org.feature_set;
  o["MasterAccountArn"] = orgArn(org, "account/" + org.id + "/" + org.management_account);
  o["MasterAccountId"] = org.management_account;
  auto rows =
      tx.query("SELECT email FROM org_accounts WHERE account_id = ?", {org.management_account});
  o["MasterAccountEmail"] = rows.empty() ? "" : rows[0].text(0);
  o["AvailablePolicyTypes"] = json::array{policyTypes()};
  return o;
}

json::object ouDoc(const Org& org, const std::string& id, const std::string& name) {
  return json::object{{"Id", id}, {"Arn", orgArn(org, "ou/" + org.id + "/" + id)}, {"Name", name}};
}

Result<Target> requireParent(store::Tx& tx, const Org& org, const std::string& id,
                             const char* code = "ParentNotFoundException") {
  auto t = findTarget(tx, org, id);
  if (!t || t->type == "ACCOUNT")
    return orgError(code, "We can't find a root or OU with the ParentId that you specified.");
  return *t;
}

json::object createStatusDoc(const store::Row& r) {
  // Columns: id, account_name, state, requested_ms, completed_ms, account_id, failure.
  json::object s;
  s["Id"] = r.text(0);
  s["AccountName"] = r.text(1);
  s["State"] = r.text(2);
  s["RequestedTimestamp"] = seconds(r.integer(3));
  if (r.integer(4)) s["CompletedTimestamp"] = seconds(r.integer(4));
  if (!r.text(5).empty()) s["AccountId"] = r.text(5);
  if (!r.text(6).empty()) s["FailureReason"] = r.text(6);
  return s;
}

}  // namespace

AwsError orgError(std::string code, std::string message) {
  return AwsError{std::move(code), std::move(message), 400, true, {}};
}

AwsError constraintViolation(std::string reason, std::string message) {
  AwsError e{"ConstraintViolationException", std::move(message), 400, true, {}};
  e.extra.emplace_back("Reason", std::move(reason));
  return e;
}

std::string str(const json::value& in, const char* member) {
  const json::value* v = in.as_object().if_contains(member);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<json::value> paged(const char* list_name, json::array items, const json::value& in) {
  const std::string prefix = std::string("citadel:") + list_name + ":";
  size_t offset = 0;
  if (const std::string token = str(in, "NextToken"); !token.empty()) {
    auto text = base64Decode(token);
    bool ok = text && text->rfind(prefix, 0) == 0 && text->size() > prefix.size() &&
              text->size() - prefix.size() <= 9;
    for (size_t i = prefix.size(); ok && i < text->size(); ++i)
      ok = std::isdigit(static_cast<unsigned char>((*text)[i])) != 0;
    if (ok) offset = std::stoul(text->substr(prefix.size()));
    if (!ok || offset > items.size()) {
      AwsError e{
          "InvalidInputException", "You specified an invalid value for nextToken.", 400, true, {}};
      e.extra.emplace_back("Reason", "INVALID_PAGINATION_TOKEN");
      return e;
    }
  }
  // AWS: MaxResults is 1-20 (the model bounds it); without it a page holds up to 20.
  size_t max = 20;
  if (const json::value* m = in.as_object().if_contains("MaxResults"); m && m->is_number())
    max = static_cast<size_t>(std::max<int64_t>(1, m->to_number<int64_t>()));
  json::array page;
  const size_t end = std::min(items.size(), offset + max);
  for (size_t i = offset; i < end; ++i) page.push_back(std::move(items[i]));
  json::object out{{list_name, std::move(page)}};
  if (end < items.size()) out["NextToken"] = base64Encode(prefix + std::to_string(end));
  return json::value(std::move(out));
}

std::string orgArn(const Org& org, const std::string& suffix) {
  return "arn:aws:organizations::" + org.management_account + ":" + suffix;
}

void invalidateAfterCommit(RequestContext& ctx) {
  auto* provider = dynamic_cast<OrgProvider*>(ctx.services->organizations.get());
  if (provider) ctx.tx().afterCommit([provider] { provider->invalidate(); });
}

Result<Org> requireOrg(RequestContext& ctx) {
  auto rows = ctx.tx().query(
      "SELECT o.id, o.management_account, o.root_id, o.feature_set FROM org_accounts a "
      "JOIN org_organizations o ON o.id = a.org_id WHERE a.account_id = ?",
      {ctx.principal.account_id});
  if (rows.empty())
    return orgError("AWSOrganizationsNotInUseException",
                    "Your account is not a member of an organization.");
  return Org{rows[0].text(0), rows[0].text(1), rows[0].text(2), rows[0].text(3)};
}

Result<Org> requireManagement(RequestContext& ctx) {
  TRY_ASSIGN(Org org, requireOrg(ctx));
  if (org.management_account != ctx.principal.account_id)
    return orgError("AccessDeniedException", "You don't have permissions to access this resource.");
  return org;
}

std::optional<Target> findTarget(store::Tx& tx, const Org& org, const std::string& id) {
  if (id == org.root_id)
    return Target{id, "ROOT", "Root", orgArn(org, "root/" + org.id + "/" + id)};
  if (id.rfind("ou-", 0) == 0) {
    auto rows = tx.query("SELECT name FROM org_ous WHERE org_id = ? AND id = ?", {org.id, id});
    if (rows.empty()) return std::nullopt;
    return Target{id, "ORGANIZATIONAL_UNIT", rows[0].text(0),
                  orgArn(org, "ou/" + org.id + "/" + id)};
  }
  auto rows =
      tx.query("SELECT name FROM org_accounts WHERE org_id = ? AND account_id = ?", {org.id, id});
  if (rows.empty()) return std::nullopt;
  return Target{id, "ACCOUNT", rows[0].text(0), orgArn(org, "account/" + org.id + "/" + id)};
}

// AWS: https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganization.html
// The caller's account becomes the management account; the root gets FullAWSAccess.
Result<json::value> createOrganization(RequestContext& ctx, const json::value& in) {
  auto& tx = ctx.tx();
  if (requireOrg(ctx).ok())
    return orgError("AlreadyInOrganizationException",
                    "The AWS account is already a member of an organization.");
  Org org;
  org.id = "o-" + randomFrom(kLowerAlnum, 10);
  org.management_account = ctx.principal.account_id;
  org.root_id = "r-" + randomFrom(kLowerAlnum, 4);
  org.feature_set = str(in, "FeatureSet").empty() ? "ALL" : str(in, "FeatureSet");
  const int64_t now = toEpochMillis(ctx.time);
  tx.exec(
      "INSERT INTO org_organizations(id, management_account, root_id, feature_set, "
      "created_ms) VALUES (?, ?, ?, ?, ?)",
      {org.id, org.management_account, org.root_id, org.feature_set, now});
  tx.exec(
      "INSERT INTO org_accounts(account_id, org_id, parent_id, name, email, joined_method, "
      "joined_ms) VALUES (?, ?, ?, ?, ?, 'INVITED', ?)",
      {org.management_account, org.id, org.root_id, org.management_account,
       org.management_account + "@citadel.invalid", now});
  insertFullAccessPolicy(tx, org);
  attachFullAccess(tx, org, org.root_id);
  attachFullAccess(tx, org, org.management_account);
  invalidateAfterCommit(ctx);
  return json::value(json::object{{"Organization", organizationDoc(tx, org)}});
}

Result<json::value> describeOrganization(RequestContext& ctx, const json::value&) {
  TRY_ASSIGN(Org org, requireOrg(ctx));
  return json::value(json::object{{"Organization", organizationDoc(ctx.tx(), org)}});
}

Result<json::value> deleteOrganization(RequestContext& ctx, const json::value&) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  if (!tx.query("SELECT 1 FROM org_accounts WHERE org_id = ? AND account_id <> ?",
                {org.id, org.management_account})
           .empty())
    return orgError("OrganizationNotEmptyException",
                    "To delete an organization you must first remove all member accounts "
                    "(except the master).");
  for (const char* table : {"org_accounts", "org_ous", "org_policies", "org_attachments",
                            "org_create_status", "org_service_access", "org_delegated_admins"})
    tx.exec(std::string("DELETE FROM ") + table + " WHERE org_id = ?", {org.id});
  tx.exec("DELETE FROM org_organizations WHERE id = ?", {org.id});
  invalidateAfterCommit(ctx);
  return json::value(json::object{});
}

Result<json::value> listRoots(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  json::object root{{"Id", org.root_id},
                    {"Arn", orgArn(org, "root/" + org.id + "/" + org.root_id)},
                    {"Name", "Root"},
                    {"PolicyTypes", json::array{policyTypes()}}};
  return paged("Roots", json::array{std::move(root)}, in);
}

// AWS: https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html
// CreateAccount answers at once with an IN_PROGRESS status; the account is made afterwards
// (a scheduler job, run as soon as the request commits) and the status becomes SUCCEEDED, or
// FAILED with EMAIL_ALREADY_EXISTS. The access role is named by RoleName
// (OrganizationAccountAccessRole by default).
Result<json::value> createAccount(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  const std::string email = str(in, "Email"), name = str(in, "AccountName");
  std::string role = str(in, "RoleName");
  if (role.empty()) role = "OrganizationAccountAccessRole";
  if (role.rfind("AWSServiceRoleFor", 0) == 0) {
    AwsError e{"InvalidInputException",
               "You provided a role name that isn't valid. A role name can't begin with the "
               "reserved prefix 'AWSServiceRoleFor'.",
               400,
               true,
               {}};
    e.extra.emplace_back("Reason", "INVALID_ROLE_NAME");
    return e;
  }
  const int64_t now = toEpochMillis(ctx.time);
  const std::string request_id = "car-" + randomFrom(kLowerAlnum, 32);
  tx.exec(
      "INSERT INTO org_create_status(id, org_id, account_name, state, requested_ms, "
      "completed_ms, account_id, failure) VALUES (?, ?, ?, 'IN_PROGRESS', ?, 0, '', '')",
      {request_id, org.id, name, now});
  runtime::Job job;
  job.kind = kCreateAccountJob;
  job.key = request_id;
  job.due = Clock::now();
  job.account_id = org.management_account;
  job.region = ctx.region;
  job.payload = json::serialize(
      json::object{{"org", org.id}, {"request", request_id}, {"email", email}, {"role", role}});
  runtime::Services* services = ctx.services;
  services->scheduler.schedule(tx, job);
  tx.afterCommit([services] { services->scheduler.wake(); });
  auto rows = tx.query(
      "SELECT id, account_name, state, requested_ms, completed_ms, account_id, failure "
      "FROM org_create_status WHERE id = ?",
      {request_id});
  return json::value(json::object{{"CreateAccountStatus", createStatusDoc(rows.at(0))}});
}

namespace {

// AWS: the outcome of CreateAccount is recorded in the management account as the service
// event "CreateAccountResult", serviceEventDetails.createAccountStatus holding the request's
// status (CloudTrail's view of the model's CreateAccountStatus: camelCase, CloudTrail's
// timestamps, the sensitive AccountName hidden).
// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_security_incident-response.html
void recordCreateAccountResult(runtime::Services& services, store::Tx& tx, const Org& org,
                               const std::string& request_id, const std::string& region,
                               SysTime when) {
  auto rows = tx.query(
      "SELECT id, account_name, state, requested_ms, completed_ms, account_id, failure "
      "FROM org_create_status WHERE id = ?",
      {request_id});
  json::value status = createStatusDoc(rows.at(0));
  const protocol::ServiceModel* model = protocol::Models::get("organizations");
  if (const protocol::Shape* shape = model ? model->findShape("CreateAccountStatus") : nullptr)
    status = protocol::toCloudTrailView(shape, status);
  runtime::ServiceEvent ev;
  ev.event_source = "organizations.amazonaws.com";
  ev.event_name = "CreateAccountResult";
  ev.account_id = org.management_account;
  ev.region = region;
  ev.time = when;
  ev.service_event_details =
      json::serialize(json::object{{"createAccountStatus", std::move(status)}});
  runtime::appendServiceEvent(services, tx, ev);
}

/// Completes a CreateAccount request: the account, its access role, its place under the root
/// and the FullAWSAccess SCP; or FAILED when the email is taken by then. Either way the
/// CreateAccountResult service event is recorded in the same transaction.
Result<void> runCreateAccount(runtime::Services& services, store::Tx& tx, const runtime::Job& job) {
  json::value p = json::parse(job.payload);
  const std::string org_id = str(p, "org"), request_id = str(p, "request");
  const std::string email = str(p, "email"), role = str(p, "role");
  auto orgs = tx.query(
      "SELECT id, management_account, root_id, feature_set FROM org_organizations WHERE id = ?",
      {org_id});
  auto status =
      tx.query("SELECT account_name FROM org_create_status WHERE id = ? AND state = 'IN_PROGRESS'",
               {request_id});
  if (orgs.empty() || status.empty()) return okResult();  // the organization went away
  const Org org{orgs[0].text(0), orgs[0].text(1), orgs[0].text(2), orgs[0].text(3)};
  const std::string name = status[0].text(0);
  const SysTime when = Clock::now();
  const int64_t now = toEpochMillis(when);
  if (!tx.query("SELECT 1 FROM org_accounts WHERE email = ?", {email}).empty()) {
    tx.exec(
        "UPDATE org_create_status SET state = 'FAILED', completed_ms = ?, "
        "failure = 'EMAIL_ALREADY_EXISTS' WHERE id = ?",
        {now, request_id});
    recordCreateAccountResult(services, tx, org, request_id, job.region, when);
    return okResult();
  }
  TRY_ASSIGN(std::string account_id, services.identity.createAccount(tx, std::nullopt, false));
  TRY_VOID(iamsvc::createOrganizationAccountAccessRole(tx, account_id, org.management_account, when,
                                                       role));
  tx.exec(
      "INSERT INTO org_accounts(account_id, org_id, parent_id, name, email, joined_method, "
      "joined_ms) VALUES (?, ?, ?, ?, ?, 'CREATED', ?)",
      {account_id, org.id, org.root_id, name, email, now});
  attachFullAccess(tx, org, account_id);
  tx.exec(
      "UPDATE org_create_status SET state = 'SUCCEEDED', completed_ms = ?, account_id = ? "
      "WHERE id = ?",
      {now, account_id, request_id});
  recordCreateAccountResult(services, tx, org, request_id, job.region, when);
  if (auto* provider = dynamic_cast<OrgProvider*>(services.organizations.get()))
    tx.afterCommit([provider] { provider->invalidate(); });
  return okResult();
}

}  // namespace

void registerCreateAccountJob(runtime::Services& services) {
  services.scheduler.registerKind(kCreateAccountJob, runCreateAccount);
}

Result<json::value> describeCreateAccountStatus(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto rows = ctx.tx().query(
      "SELECT id, account_name, state, requested_ms, completed_ms, account_id, failure "
      "FROM org_create_status WHERE org_id = ? AND id = ?",
      {org.id, str(in, "CreateAccountRequestId")});
  if (rows.empty())
    return orgError("CreateAccountStatusNotFoundException",
                    "We can't find an create account request with the CreateAccountRequestId "
                    "that you specified.");
  return json::value(json::object{{"CreateAccountStatus", createStatusDoc(rows[0])}});
}

Result<json::value> listCreateAccountStatus(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  json::array states;
  if (const json::value* s = in.as_object().if_contains("States"); s && s->is_array())
    states = s->as_array();
  json::array out;
  for (const auto& r : ctx.tx().query(
           "SELECT id, account_name, state, requested_ms, completed_ms, account_id, failure "
           "FROM org_create_status WHERE org_id = ? ORDER BY requested_ms, id",
           {org.id})) {
    bool keep = states.empty();
    for (const auto& s : states) keep = keep || (s.is_string() && s.as_string() == r.text(2));
    if (keep) out.push_back(createStatusDoc(r));
  }
  return paged("CreateAccountStatuses", std::move(out), in);
}

Result<json::value> listAccounts(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  json::array out;
  for (const auto& r : ctx.tx().query(std::string("SELECT ") + kAccountCols +
                                          " FROM org_accounts WHERE org_id = ? "
                                          "ORDER BY joined_ms, account_id",
                                      {org.id}))
    out.push_back(accountDoc(org, r));
  return paged("Accounts", std::move(out), in);
}

Result<json::value> describeAccount(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto rows = ctx.tx().query(std::string("SELECT ") + kAccountCols +
                                 " FROM org_accounts WHERE org_id = ? AND account_id = ?",
                             {org.id, str(in, "AccountId")});
  if (rows.empty())
    return orgError("AccountNotFoundException", "You specified an account that doesn't exist.");
  return json::value(json::object{{"Account", accountDoc(org, rows[0])}});
}

Result<json::value> listAccountsForParent(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(Target parent, requireParent(tx, org, str(in, "ParentId")));
  json::array out;
  for (const auto& r : tx.query(std::string("SELECT ") + kAccountCols +
                                    " FROM org_accounts WHERE org_id = ? AND parent_id = ? "
                                    "ORDER BY joined_ms, account_id",
                                {org.id, parent.id}))
    out.push_back(accountDoc(org, r));
  return paged("Accounts", std::move(out), in);
}

Result<json::value> createOrganizationalUnit(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(Target parent, requireParent(tx, org, str(in, "ParentId")));
  const std::string name = str(in, "Name");
  if (!tx.query("SELECT 1 FROM org_ous WHERE org_id = ? AND parent_id = ? AND name = ?",
                {org.id, parent.id, name})
           .empty())
    return orgError("DuplicateOrganizationalUnitException",
                    "An OU with the same name already exists.");
  // AWS: OUs nest at most five levels below the root.
  int depth = 1;
  for (std::string p = parent.id; p != org.root_id && depth <= 6; ++depth) {
    auto up = tx.query("SELECT parent_id FROM org_ous WHERE org_id = ? AND id = ?", {org.id, p});
    if (up.empty()) break;
    p = up[0].text(0);
  }
  if (depth > 5)
    return constraintViolation("OU_DEPTH_LIMIT_EXCEEDED",
                               "You have tried to create an OU deeper than allowed.");
  const std::string id = "ou-" + org.root_id.substr(2) + "-" + randomFrom(kLowerAlnum, 8);
  tx.exec("INSERT INTO org_ous(id, org_id, parent_id, name) VALUES (?, ?, ?, ?)",
          {id, org.id, parent.id, name});
  attachFullAccess(tx, org, id);
  invalidateAfterCommit(ctx);
  return json::value(json::object{{"OrganizationalUnit", ouDoc(org, id, name)}});
}

/// The OU with that id in the organization, or OrganizationalUnitNotFoundException.
Result<Target> requireOu(store::Tx& tx, const Org& org, const std::string& id) {
  auto t = findTarget(tx, org, id);
  if (!t || t->type != "ORGANIZATIONAL_UNIT")
    return orgError("OrganizationalUnitNotFoundException",
                    "We can't find an OU with the OrganizationalUnitId that you specified.");
  return std::move(*t);
}

Result<json::value> describeOrganizationalUnit(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  TRY_ASSIGN(auto t, requireOu(ctx.tx(), org, str(in, "OrganizationalUnitId")));
  return json::value(json::object{{"OrganizationalUnit", ouDoc(org, t.id, t.name)}});
}

Result<json::value> updateOrganizationalUnit(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(auto t, requireOu(tx, org, str(in, "OrganizationalUnitId")));
  std::string name = str(in, "Name");
  if (!name.empty()) {
    tx.exec("UPDATE org_ous SET name = ? WHERE org_id = ? AND id = ?", {name, org.id, t.id});
    t.name = name;
  }
  return json::value(json::object{{"OrganizationalUnit", ouDoc(org, t.id, t.name)}});
}

Result<json::value> deleteOrganizationalUnit(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(auto t, requireOu(tx, org, str(in, "OrganizationalUnitId")));
  if (!tx.query("SELECT 1 FROM org_accounts WHERE org_id = ? AND parent_id = ?", {org.id, t.id})
           .empty() ||
      !tx.query("SELECT 1 FROM org_ous WHERE org_id = ? AND parent_id = ?", {org.id, t.id}).empty())
    return orgError("OrganizationalUnitNotEmptyException",
                    "The specified OU is not empty. Move all accounts to another root or to "
                    "other OUs, remove all child OUs, and try the operation again.");
  tx.exec("DELETE FROM org_attachments WHERE org_id = ? AND target_id = ?", {org.id, t.id});
  tx.exec("DELETE FROM org_ous WHERE org_id = ? AND id = ?", {org.id, t.id});
  invalidateAfterCommit(ctx);
  return json::value(json::object{});
}

Result<json::value> listOrganizationalUnitsForParent(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(Target parent, requireParent(tx, org, str(in, "ParentId")));
  json::array out;
  for (const auto& r :
       tx.query("SELECT id, name FROM org_ous WHERE org_id = ? AND parent_id = ? ORDER BY name, id",
                {org.id, parent.id}))
    out.push_back(ouDoc(org, r.text(0), r.text(1)));
  return paged("OrganizationalUnits", std::move(out), in);
}

Result<json::value> moveAccount(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  const std::string account = str(in, "AccountId");
  auto rows = tx.query("SELECT parent_id FROM org_accounts WHERE org_id = ? AND account_id = ?",
                       {org.id, account});
  if (rows.empty())
    return orgError("AccountNotFoundException", "You specified an account that doesn't exist.");
  TRY_ASSIGN(Target source,
             requireParent(tx, org, str(in, "SourceParentId"), "SourceParentNotFoundException"));
  TRY_ASSIGN(Target dest, requireParent(tx, org, str(in, "DestinationParentId"),
                                        "DestinationParentNotFoundException"));
  if (rows[0].text(0) != source.id)
    return orgError("AccountNotFoundException", "You specified an account that doesn't exist.");
  if (source.id == dest.id)
    return orgError("DuplicateAccountException",
                    "That account is already present in the specified destination.");
  tx.exec("UPDATE org_accounts SET parent_id = ? WHERE account_id = ?", {dest.id, account});
  invalidateAfterCommit(ctx);
  return json::value(json::object{});
}

Result<json::value> listParents(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  const std::string child = str(in, "ChildId");
  std::vector<store::Row> rows;
  if (child.rfind("ou-", 0) == 0)
    rows = tx.query("SELECT parent_id FROM org_ous WHERE org_id = ? AND id = ?", {org.id, child});
  else
    rows = tx.query("SELECT parent_id FROM org_accounts WHERE org_id = ? AND account_id = ?",
                    {org.id, child});
  if (rows.empty())
    return orgError("ChildNotFoundException",
                    "We can't find an organizational unit (OU) or AWS account with the ChildId "
                    "that you specified.");
  const std::string parent = rows[0].text(0);
  json::object p{{"Id", parent}, {"Type", parent == org.root_id ? "ROOT" : "ORGANIZATIONAL_UNIT"}};
  return paged("Parents", json::array{std::move(p)}, in);
}

Result<json::value> listChildren(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(Target parent, requireParent(tx, org, str(in, "ParentId")));
  const std::string type = str(in, "ChildType");
  json::array out;
  if (type == "ACCOUNT") {
    for (const auto& r : tx.query("SELECT account_id FROM org_accounts WHERE org_id = ? AND "
                                  "parent_id = ? ORDER BY joined_ms, account_id",
                                  {org.id, parent.id}))
      out.push_back(json::object{{"Id", r.text(0)}, {"Type", "ACCOUNT"}});
  } else {
    for (const auto& r :
         tx.query("SELECT id FROM org_ous WHERE org_id = ? AND parent_id = ? ORDER BY name, id",
                  {org.id, parent.id}))
      out.push_back(json::object{{"Id", r.text(0)}, {"Type", "ORGANIZATIONAL_UNIT"}});
  }
  return paged("Children", std::move(out), in);
}

Result<json::value> enableAwsServiceAccess(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  ctx.tx().exec(
      "INSERT INTO org_service_access(org_id, principal, enabled_ms) VALUES (?, ?, ?) "
      "ON CONFLICT (org_id, principal) DO NOTHING",
      {org.id, str(in, "ServicePrincipal"), toEpochMillis(ctx.time)});
  return json::value(json::object{});
}

Result<json::value> disableAwsServiceAccess(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  ctx.tx().exec("DELETE FROM org_service_access WHERE org_id = ? AND principal = ?",
                {org.id, str(in, "ServicePrincipal")});
  return json::value(json::object{});
}

Result<json::value> listAwsServiceAccess(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  json::array out;
  for (const auto& r : ctx.tx().query("SELECT principal, enabled_ms FROM org_service_access "
                                      "WHERE org_id = ? ORDER BY principal",
                                      {org.id}))
    out.push_back(
        json::object{{"ServicePrincipal", r.text(0)}, {"DateEnabled", seconds(r.integer(1))}});
  return paged("EnabledServicePrincipals", std::move(out), in);
}

Result<json::value> registerDelegatedAdministrator(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  const std::string account = str(in, "AccountId"), principal = str(in, "ServicePrincipal");
  if (tx.query("SELECT 1 FROM org_accounts WHERE org_id = ? AND account_id = ?", {org.id, account})
          .empty())
    return orgError("AccountNotFoundException", "You specified an account that doesn't exist.");
  if (account == org.management_account)
    return constraintViolation("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
                               "You cannot register the management account as a delegated "
                               "administrator for an AWS service.");
  if (tx.exec("INSERT INTO org_delegated_admins(org_id, account_id, principal, created_ms) "
              "VALUES (?, ?, ?, ?)",
              {org.id, account, principal, toEpochMillis(ctx.time)}) ==
      store::ExecStatus::kConstraint)
    return orgError("AccountAlreadyRegisteredException",
                    "The provided account is already a delegated administrator for your "
                    "organization.");
  return json::value(json::object{});
}

Result<json::value> deregisterDelegatedAdministrator(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  tx.exec(
      "DELETE FROM org_delegated_admins WHERE org_id = ? AND account_id = ? AND "
      "principal = ?",
      {org.id, str(in, "AccountId"), str(in, "ServicePrincipal")});
  if (tx.changes() == 0)
    return orgError("AccountNotRegisteredException",
                    "The provided account is not a registered delegated administrator for your "
                    "organization.");
  return json::value(json::object{});
}

Result<json::value> listDelegatedAdministrators(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  const std::string principal = str(in, "ServicePrincipal");
  json::array out;
  for (const auto& r :
       tx.query("SELECT a.account_id, a.name, a.email, a.joined_method, a.joined_ms, "
                "MIN(d.created_ms) FROM org_delegated_admins d JOIN org_accounts a ON "
                "a.account_id = d.account_id WHERE d.org_id = ? AND (? = '' OR d.principal = ?) "
                "GROUP BY a.account_id ORDER BY a.account_id",
                {org.id, principal, principal})) {
    json::object d = accountDoc(org, r);
    d["DelegationEnabledDate"] = seconds(r.integer(5));
    out.push_back(std::move(d));
  }
  return paged("DelegatedAdministrators", std::move(out), in);
}

}  // namespace citadel::orgs
