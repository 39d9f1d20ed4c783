// Organizations: service control policies, their attachments and FullAWSAccess.
#include "core/ids.h"
#include "core/time.h"
#include "iam/policy.h"
#include "runtime/services.h"
#include "services/organizations/internal.h"

namespace citadel::orgs {

namespace {

constexpr const char* kFullAccessId = "p-FullAWSAccess";
constexpr const char* kFullAccessDoc =
    "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n"
    "      \"Action\": \"*\",\n      \"Resource\": \"*\"\n    }\n  ]\n}";
constexpr const char* kScpType = "SERVICE_CONTROL_POLICY";

struct PolicyRow {
  std::string id, name, description, type, content;
  bool aws_managed = false;
};

std::string policyArn(const Org& org, const PolicyRow& p) {
  if (p.aws_managed) return "arn:aws:organizations::aws:policy/service_control_policy/" + p.id;
  return orgArn(org, "policy/" + org.id + "/service_control_policy/" + p.id);
}

json::object summaryDoc(const Org& org, const PolicyRow& p) {
  return json::object{{"Id", p.id},     {"Arn", policyArn(org, p)},
                      {"Name", p.name}, {"Description", p.description},
                      {"Type", p.type}, {"AwsManaged", p.aws_managed}};
}

constexpr const char* kPolicyCols = "id, name, description, type, content, aws_managed";

PolicyRow rowOf(const store::Row& r) {
  return PolicyRow{r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.integer(5) != 0};
}

Result<PolicyRow> requirePolicy(store::Tx& tx, const Org& org, const std::string& id) {
  auto rows = tx.query(
      std::string("SELECT ") + kPolicyCols + " FROM org_policies WHERE org_id = ? AND id = ?",
      {org.id, id});
  if (rows.empty())
    return orgError("PolicyNotFoundException",
                    "We can't find a policy with the PolicyId that you specified.");
  return rowOf(rows[0]);
}

Result<Target> requireTarget(store::Tx& tx, const Org& org, const std::string& id) {
  auto t = findTarget(tx, org, id);
  if (!t)
    return orgError("TargetNotFoundException",
                    "We can't find a root, OU, account, or policy with the TargetId that you "
                    "specified.");
  return *t;
}

Result<void> checkType(const std::string& type) {
  if (type != kScpType)
    return orgError("PolicyTypeNotEnabledException",
                    "This operation can be performed only for enabled policy types.");
  return okResult();
}

/// AWS: SCP content is at most 5,120 characters and must be a valid SCP.
Result<void> validateContent(const std::string& content) {
  if (content.size() > 5120)
    return constraintViolation("POLICY_CONTENT_LIMIT_EXCEEDED",
                               "You have exceeded the maximum size of a policy's content.");
  auto parsed = iam::parsePolicy(content, iam::PolicyKind::kScp);
  if (!parsed.ok()) {
    return orgError("MalformedPolicyDocumentException",
                    "The provided policy document doesn't meet the requirements of the "
                    "specified policy type. " +
                        parsed.error().message);
  }
  return okResult();
}

}  // namespace

void insertFullAccessPolicy(store::Tx& tx, const Org& org) {
  tx.exec(
      "INSERT INTO org_policies(org_id, id, name, description, type, content, aws_managed, "
      "rev) VALUES (?, ?, 'FullAWSAccess', 'Allows access to every operation', ?, ?, 1, 1)",
      {org.id, std::string(kFullAccessId), std::string(kScpType), std::string(kFullAccessDoc)});
}

void attachFullAccess(store::Tx& tx, const Org& org, const std::string& target_id) {
  tx.exec("INSERT INTO org_attachments(org_id, policy_id, target_id) VALUES (?, ?, ?)",
          {org.id, std::string(kFullAccessId), target_id});
}

Result<json::value> createPolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  PolicyRow p{"p-" + randomFrom("abcdefghijklmnopqrstuvwxyz0123456789", 8),
              str(in, "Name"),
              str(in, "Description"),
              str(in, "Type"),
              str(in, "Content"),
              false};
  TRY_VOID(checkType(p.type));
  TRY_VOID(validateContent(p.content));
  if (!tx.query("SELECT 1 FROM org_policies WHERE org_id = ? AND type = ? AND name = ?",
                {org.id, p.type, p.name})
           .empty())
    return orgError("DuplicatePolicyException", "A policy with the same name already exists.");
  tx.exec(
      "INSERT INTO org_policies(org_id, id, name, description, type, content, aws_managed, "
      "rev) VALUES (?, ?, ?, ?, ?, ?, 0, 1)",
      {org.id, p.id, p.name, p.description, p.type, p.content});
  json::object policy{{"PolicySummary", summaryDoc(org, p)}, {"Content", p.content}};
  return json::value(json::object{{"Policy", std::move(policy)}});
}

Result<json::value> describePolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  TRY_ASSIGN(PolicyRow p, requirePolicy(ctx.tx(), org, str(in, "PolicyId")));
  json::object policy{{"PolicySummary", summaryDoc(org, p)}, {"Content", p.content}};
  return json::value(json::object{{"Policy", std::move(policy)}});
}

Result<json::value> listPolicies(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  TRY_VOID(checkType(str(in, "Filter")));
  json::array out;
  for (const auto& r : ctx.tx().query(std::string("SELECT ") + kPolicyCols +
                                          " FROM org_policies WHERE org_id = ? AND type = ? "
                                          "ORDER BY aws_managed DESC, name",
                                      {org.id, str(in, "Filter")}))
    out.push_back(summaryDoc(org, rowOf(r)));
  return paged("Policies", std::move(out), in);
}

Result<json::value> updatePolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(PolicyRow p, requirePolicy(tx, org, str(in, "PolicyId")));
  if (p.aws_managed)
    return orgError("PolicyChangesInProgressException", "You can't change an AWS managed policy.");
  const auto& o = in.as_object();
  if (o.contains("Name")) p.name = str(in, "Name");
  if (o.contains("Description")) p.description = str(in, "Description");
  if (o.contains("Content")) {
    p.content = str(in, "Content");
    TRY_VOID(validateContent(p.content));
  }
  tx.exec(
      "UPDATE org_policies SET name = ?, description = ?, content = ?, rev = rev + 1 "
      "WHERE org_id = ? AND id = ?",
      {p.name, p.description, p.content, org.id, p.id});
  invalidateAfterCommit(ctx);
  json::object policy{{"PolicySummary", summaryDoc(org, p)}, {"Content", p.content}};
  return json::value(json::object{{"Policy", std::move(policy)}});
}

Result<json::value> deletePolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(PolicyRow p, requirePolicy(tx, org, str(in, "PolicyId")));
  if (p.aws_managed)
    return orgError("AccessDeniedException", "You can't delete an AWS managed policy.");
  if (!tx.query("SELECT 1 FROM org_attachments WHERE org_id = ? AND policy_id = ?", {org.id, p.id})
           .empty())
    return orgError("PolicyInUseException",
                    "The policy is attached to one or more entities. You must detach it from "
                    "all roots, OUs, and accounts before performing this operation.");
  tx.exec("DELETE FROM org_policies WHERE org_id = ? AND id = ?", {org.id, p.id});
  return json::value(json::object{});
}

Result<json::value> attachPolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(PolicyRow p, requirePolicy(tx, org, str(in, "PolicyId")));
  TRY_ASSIGN(Target t, requireTarget(tx, org, str(in, "TargetId")));
  // AWS: at most five SCPs per root, OU or account.
  if (tx.query("SELECT COUNT(*) FROM org_attachments WHERE org_id = ? AND target_id = ?",
               {org.id, t.id})[0]
          .integer(0) >= 5)
    return constraintViolation("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                               "You have attached too many policies of this type to the entity.");
  if (tx.exec("INSERT INTO org_attachments(org_id, policy_id, target_id) VALUES (?, ?, ?)",
              {org.id, p.id, t.id}) == store::ExecStatus::kConstraint)
    return orgError("DuplicatePolicyAttachmentException",
                    "The selected policy is already attached to the specified target.");
  invalidateAfterCommit(ctx);
  return json::value(json::object{});
}

Result<json::value> detachPolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(PolicyRow p, requirePolicy(tx, org, str(in, "PolicyId")));
  TRY_ASSIGN(Target t, requireTarget(tx, org, str(in, "TargetId")));
  if (tx.query("SELECT 1 FROM org_attachments WHERE org_id = ? AND policy_id = ? AND "
               "target_id = ?",
               {org.id, p.id, t.id})
          .empty())
    return orgError("PolicyNotAttachedException",
                    "The policy isn't attached to the specified target in the specified root.");
  // AWS: every root, OU and account keeps at least one SCP.
  if (tx.query("SELECT COUNT(*) FROM org_attachments WHERE org_id = ? AND target_id = ?",
               {org.id, t.id})[0]
          .integer(0) <= 1)
    return constraintViolation("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                               "You attempted to detach a policy from an entity that would "
                               "leave it with fewer than the minimum number of policies of "
                               "that type.");
  tx.exec("DELETE FROM org_attachments WHERE org_id = ? AND policy_id = ? AND target_id = ?",
          {org.id, p.id, t.id});
  invalidateAfterCommit(ctx);
  return json::value(json::object{});
}

Result<json::value> listPoliciesForTarget(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_VOID(checkType(str(in, "Filter")));
  TRY_ASSIGN(Target t, requireTarget(tx, org, str(in, "TargetId")));
  json::array out;
  for (const auto& r :
       tx.query("SELECT p.id, p.name, p.description, p.type, p.content, p.aws_managed FROM "
                "org_attachments a JOIN org_policies p ON p.org_id = a.org_id AND "
                "p.id = a.policy_id WHERE a.org_id = ? AND a.target_id = ? AND p.type = ? "
                "ORDER BY p.aws_managed DESC, p.name",
                {org.id, t.id, str(in, "Filter")}))
    out.push_back(summaryDoc(org, rowOf(r)));
  return paged("Policies", std::move(out), in);
}

Result<json::value> listTargetsForPolicy(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(Org org, requireManagement(ctx));
  auto& tx = ctx.tx();
  TRY_ASSIGN(PolicyRow p, requirePolicy(tx, org, str(in, "PolicyId")));
  json::array out;
  for (const auto& r : tx.query("SELECT target_id FROM org_attachments WHERE org_id = ? AND "
                                "policy_id = ? ORDER BY target_id",
                                {org.id, p.id})) {
    auto t = findTarget(tx, org, r.text(0));
    if (!t) continue;
    out.push_back(
        json::object{{"TargetId", t->id}, {"Arn", t->arn}, {"Name", t->name}, {"Type", t->type}});
  }
  return paged("Targets", std::move(out), in);
}

}  // namespace citadel::orgs

namespace citadel::orgs {

// AWS:
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsorganizations.html
runtime::AuthInputsFn conditionKeys(bool policy_type, bool service_principal) {
  return [policy_type, service_principal](const RequestContext& ctx,
                                          const json::value& in) -> Result<runtime::AuthInputs> {
    runtime::AuthInputs out;
    if (service_principal) {
      std::string principal = str(in, "ServicePrincipal");
      if (!principal.empty())
        out.condition_keys.push_back({"organizations:ServicePrincipal", {principal}});
    }
    if (!policy_type) return out;
    // The type named by the request (CreatePolicy's Type, a listing's Filter), else the type of
    // the addressed policy of the caller's organization.
    std::string type = str(in, "Type");
    if (type.empty()) type = str(in, "Filter");
    if (type.empty() && !str(in, "PolicyId").empty()) {
      auto tx = ctx.services->store.begin(false);
      auto rows = tx->query(
          "SELECT p.type FROM org_policies p JOIN org_accounts a ON a.org_id = p.org_id "
          "WHERE a.account_id = ? AND p.id = ?",
          {ctx.principal.account_id, str(in, "PolicyId")});
      if (!rows.empty()) type = rows[0].text(0);
    }
    if (!type.empty()) out.condition_keys.push_back({"organizations:PolicyType", {type}});
    return out;
  };
}

}  // namespace citadel::orgs
