// IAM policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy. Decisions come from
// the same evaluator (iam::evaluate) over the same policies (runtime::effectivePolicies) that
// enforcement uses; the simulator adds the report (matched statements with their positions,
// missing context values, the permissions boundary's verdict).
//
// AWS: https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>

#include "core/encoding.h"
#include "iam/evaluator.h"
#include "runtime/iam_authorizer.h"
#include "runtime/policy_provider.h"
#include "runtime/services.h"
#include "services/iam/internal.h"

namespace citadel::iamsvc {

namespace {

/// Where a compiled policy came from, for MatchedStatements.
struct Source {
  std::string id;    ///< SourcePolicyId
  std::string type;  ///< SourcePolicyType
  std::string document;
};

/// A (line, column) position in a document, both 1-based.
struct Position {
  int line = 1;
  int column = 1;
};

/// The [start, end) positions of each statement object of a policy document (the one object
/// when Statement is an object). Empty when the text cannot be scanned.
std::vector<std::pair<Position, Position>> statementSpans(const std::string& doc) {
  std::vector<std::pair<Position, Position>> spans;
  std::vector<Position> pos(doc.size() + 1);
  Position p;
  for (size_t i = 0; i < doc.size(); ++i) {
    pos[i] = p;
    if (doc[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  pos[doc.size()] = p;

  // Walk the top-level object; find the member named Statement; record its objects.
  int depth = 0;
  bool in_string = false;
  size_t string_start = 0;
  std::string last_key;
  bool in_statement = false;
  bool statement_array = false;  // Statement is a list (else one object)
  int statement_depth = 0;       // depth inside the Statement value
  size_t object_start = 0;
  for (size_t i = 0; i < doc.size(); ++i) {
    char c = doc[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 1 && !in_statement)
          last_key = doc.substr(string_start + 1, i - string_start - 1);
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      string_start = i;
    } else if (c == '{' || c == '[') {
      if (depth == 1 && !in_statement && last_key == "Statement") {
        in_statement = true;
        statement_depth = depth + 1;
        statement_array = c == '[';
        if (c == '{') object_start = i;
      } else if (in_statement && statement_array && c == '{' && depth == statement_depth) {
        object_start = i;
      }
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
      if (in_statement && c == '}' &&
          depth == (statement_array ? statement_depth : statement_depth - 1))
        spans.push_back({pos[object_start], pos[i + 1]});
      if (in_statement && depth == statement_depth - 1) {
        in_statement = false;
        last_key.clear();
      }
    } else if (c == ',' && depth == 1 && !in_statement) {
      last_key.clear();
    }
  }
  return spans;
}

json::object positionDoc(const Position& p) {
  return json::object{{"Line", p.line}, {"Column", p.column}};
}

/// Condition-key values from ContextEntries, by type.
Result<void> fillContextEntries(const json::value& in, iam::ContextKeys& keys) {
  const json::value* entries = in.as_object().if_contains("ContextEntries");
  if (!entries || !entries->is_array()) return okResult();
  for (const auto& e : entries->as_array()) {
    if (!e.is_object()) continue;
    std::string name = str(e, "ContextKeyName");
    std::string type = str(e, "ContextKeyType");
    if (name.empty()) return invalidInput("ContextKeyName is required for each context entry.");
    std::vector<std::string> values;
    if (const json::value* vs = e.as_object().if_contains("ContextKeyValues"); vs && vs->is_array())
      for (const auto& v : vs->as_array())
        if (v.is_string()) values.emplace_back(v.as_string());
    bool list = type.size() > 4 && type.compare(type.size() - 4, 4, "List") == 0;
    std::string base = list ? type.substr(0, type.size() - 4) : type;
    for (auto& v : values) {
      if (base == "boolean") {
        std::string lower = toLower(v);
        if (lower != "true" && lower != "false")
          return invalidInput("Context key " + name + " has an invalid boolean value: " + v);
        v = lower;
      } else if (base == "numeric") {
        char* end = nullptr;
        std::strtod(v.c_str(), &end);
        if (v.empty() || end != v.c_str() + v.size())
          return invalidInput("Context key " + name + " has an invalid numeric value: " + v);
      } else if (base == "date") {
        if (!iam::parseConditionDate(v))
          return invalidInput("Context key " + name + " has an invalid date value: " + v);
      } else if (base == "ip") {
        if (!iam::parseCidr(v))
          return invalidInput("Context key " + name + " has an invalid ip value: " + v);
      }
    }
    if (list || values.size() != 1) {
      keys.setMulti(name, std::move(values));
    } else {
      keys.set(name, std::move(values[0]));
    }
  }
  return okResult();
}

/// Strings of a list member.
std::vector<std::string> strings(const json::value& in, const char* member) {
  std::vector<std::string> out;
  if (const json::value* v = in.as_object().if_contains(member); v && v->is_array())
    for (const auto& s : v->as_array())
      if (s.is_string()) out.emplace_back(s.as_string());
  return out;
}

/// Everything one simulation needs, the compiled policies owned here.
struct Simulation {
  iam::EvalRequest base;  ///< principal, policies, resource owner; action/resource set per pair
  iam::ContextKeys keys;
  std::vector<std::shared_ptr<const iam::CompiledPolicy>> owned;
  std::map<const iam::CompiledPolicy*, Source> sources;
  std::map<const iam::CompiledPolicy*, std::vector<std::pair<Position, Position>>> spans;
  /// The principal's organization (keeps its SCPs alive); null outside one.
  std::shared_ptr<const runtime::OrgInfo> org;
};

/// A policy allowing everything: stands in for the sides of an evaluation not being examined.
const iam::CompiledPolicy* allowAll() {
  static const std::shared_ptr<const iam::CompiledPolicy> policy =
      iam::CompiledPolicy::compile(
          R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})",
          iam::PolicyKind::kIdentity, "allow-all")
          .value();
  return policy.get();
}

/// Whether the organization's SCPs alone allow the request (the management account's always).
bool allowedByOrganizations(const iam::EvalRequest& req) {
  iam::EvalRequest alone;
  alone.principal = req.principal;
  alone.action = req.action;
  alone.resource = req.resource;
  alone.context = req.context;
  alone.scp_levels = req.scp_levels;
  alone.is_management_account = req.is_management_account;
  alone.identity_policies.push_back(allowAll());
  return iam::evaluate(alone).decision == iam::Decision::kAllow;
}

/// The two sides of a cross-account evaluation, each judged alone: "IAM Policy" (identity
/// policies with the boundary and session policies, as in the caller's own account) and
/// "Resource Policy" (the resource policy, the caller's side allowing everything).
json::object crossAccountDetails(const iam::EvalRequest& req);

/// Compiles input documents (PolicyInputList ...) and records them as `member.N`.
Result<std::vector<const iam::CompiledPolicy*>> compileInputs(Simulation& sim,
                                                              const json::value& in,
                                                              const char* member,
                                                              iam::PolicyKind kind) {
  std::vector<const iam::CompiledPolicy*> out;
  auto docs = strings(in, member);
  for (size_t i = 0; i < docs.size(); ++i) {
    std::string id = std::string(member) + "." + std::to_string(i + 1);
    TRY_ASSIGN(auto compiled, iam::CompiledPolicy::compile(docs[i], kind, id));
    sim.sources[compiled.get()] = {id, "IAM Policy", docs[i]};
    out.push_back(compiled.get());
    sim.owned.push_back(std::move(compiled));
  }
  return out;
}

/// Names a policy held by the IAM state from its compiled id (see IamPolicyProvider):
/// "inline:<entity id>:<name>", "boundary:<policy id>" or "<policy id>".
Source sourceOf(store::Tx& tx, const std::string& compiled_id) {
  Source s;
  if (compiled_id.rfind("inline:", 0) == 0) {
    std::string rest = compiled_id.substr(7);
    std::string entity_id = rest.substr(0, rest.find(':'));
    s.id = rest.substr(entity_id.size() + 1);
    auto kind = tx.query("SELECT kind FROM iam_entities WHERE id = ?", {entity_id});
    s.type = kind.empty() ? "none" : kind[0].text(0);
    auto doc = tx.query("SELECT document FROM iam_inline_policies WHERE entity_id = ? AND name = ?",
                        {entity_id, s.id});
    if (!doc.empty()) s.document = doc[0].text(0);
    return s;
  }
  std::string policy_id = compiled_id;
  if (policy_id.rfind("boundary:", 0) == 0) policy_id = policy_id.substr(9);
  auto row = tx.query("SELECT name, account_id, default_version FROM iam_policies WHERE id = ?",
                      {policy_id});
  if (row.empty()) {
    s.id = compiled_id;
    s.type = "none";
    return s;
  }
  s.id = row[0].text(0);
  s.type = row[0].text(1) == kAwsAccount ? "aws-managed" : "user-managed";
  if (auto doc = policyDocument(tx, policy_id, row[0].text(2))) s.document = *doc;
  return s;
}

/// Adds policies read from the IAM state to the simulation's name table.
void nameStatePolicies(Simulation& sim, store::Tx& tx,
                       const std::vector<std::shared_ptr<const iam::CompiledPolicy>>& policies) {
  for (const auto& p : policies) {
    if (!p || sim.sources.count(p.get())) continue;
    sim.sources[p.get()] = sourceOf(tx, p->id());
    sim.owned.push_back(p);
  }
}

/// A group's own inline and attached policies (a group is never a caller, so enforcement has
/// no path for it; compiled the same way the provider compiles them).
std::vector<std::shared_ptr<const iam::CompiledPolicy>> groupPolicies(store::Tx& tx,
                                                                      const std::string& id) {
  static iam::PolicyCache cache;
  std::vector<std::shared_ptr<const iam::CompiledPolicy>> out;
  for (const auto& r :
       tx.query("SELECT name, document, rev FROM iam_inline_policies WHERE entity_id = ?", {id})) {
    auto c = cache.get("inline:" + id + ":" + r.text(0), r.text(2), r.text(1),
                       iam::PolicyKind::kIdentity);
    if (c.ok()) out.push_back(std::move(c).value());
  }
  for (const auto& r : tx.query(
           "SELECT p.id, p.default_version, v.document FROM iam_attachments a JOIN iam_policies "
           "p ON p.arn = a.policy_arn JOIN iam_policy_versions v ON v.policy_id = p.id AND "
           "v.version_id = p.default_version WHERE a.entity_id = ?",
           {id})) {
    auto c = cache.get(r.text(0), r.text(1), r.text(2), iam::PolicyKind::kIdentity);
    if (c.ok()) out.push_back(std::move(c).value());
  }
  return out;
}

/// True when a statement concerns the action and resource (conditions aside).
bool statementConcerns(const iam::CompiledStatement& st, std::string_view action,
                       std::string_view resource, const iam::ContextKeys& keys) {
  return st.matchesAction(action) && st.matchesResource(resource, keys);
}

/// Condition keys referenced by the statements concerning (action, resource) and absent.
std::vector<std::string> missingKeys(const Simulation& sim, std::string_view action,
                                     std::string_view resource) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto scan = [&](const iam::CompiledPolicy* p) {
    if (!p) return;
    for (const auto& st : p->statements()) {
      if (!statementConcerns(st, action, resource, sim.keys)) continue;
      for (const auto& c : st.conditions) {
        if (sim.keys.find(c.key()) != nullptr) continue;
        if (seen.insert(toLower(c.key())).second) out.push_back(c.key());
      }
    }
  };
  for (const auto* p : sim.base.identity_policies) scan(p);
  scan(sim.base.resource_policy);
  scan(sim.base.permissions_boundary);
  for (const auto* p : sim.base.session_policies) scan(p);
  return out;
}

const char* decisionName(iam::Decision d);

json::object crossAccountDetails(const iam::EvalRequest& req) {
  iam::EvalRequest identity = req;
  identity.scp_levels.clear();
  identity.resource_policy = nullptr;
  identity.resource_account.clear();
  iam::EvalRequest resource;
  resource.principal = req.principal;
  resource.action = req.action;
  resource.resource = req.resource;
  resource.context = req.context;
  resource.resource_account = req.resource_account;
  resource.resource_policy = req.resource_policy;
  resource.identity_policies.push_back(allowAll());
  return json::object{{"IAM Policy", decisionName(iam::evaluate(identity).decision)},
                      {"Resource Policy", decisionName(iam::evaluate(resource).decision)}};
}

const char* decisionName(iam::Decision d) {
  switch (d) {
    case iam::Decision::kAllow:
      return "allowed";
    case iam::Decision::kExplicitDeny:
      return "explicitDeny";
    case iam::Decision::kImplicitDeny:
      return "implicitDeny";
  }
  return "implicitDeny";
}

json::array matchedDocs(Simulation& sim, const iam::EvalResult& result) {
  json::array out;
  for (const auto& m : result.statements) {
    json::object o;
    auto it = sim.sources.find(m.policy);
    const Source* src = it == sim.sources.end() ? nullptr : &it->second;
    o["SourcePolicyId"] = src ? src->id : m.policy->id();
    o["SourcePolicyType"] = src ? src->type : "none";
    auto& spans = sim.spans[m.policy];
    if (spans.empty() && src) spans = statementSpans(src->document);
    if (m.index < spans.size()) {
      o["StartPosition"] = positionDoc(spans[m.index].first);
      o["EndPosition"] = positionDoc(spans[m.index].second);
    }
    out.push_back(std::move(o));
  }
  return out;
}

/// Runs every (action, resource) pair and pages the results.
json::value run(Simulation& sim, const json::value& in) {
  auto actions = strings(in, "ActionNames");
  auto resources = strings(in, "ResourceArns");
  if (resources.empty()) resources.push_back("*");
  sim.base.context = &sim.keys;

  std::vector<std::pair<std::string, json::value>> items;
  char key[32];
  for (const auto& action : actions) {
    for (const auto& resource : resources) {
      iam::EvalRequest req = sim.base;
      req.action = action;
      req.resource = resource;
      iam::EvalResult result = iam::evaluate(req);
      json::array matched = matchedDocs(sim, result);
      json::array missing;
      for (auto& k : missingKeys(sim, action, resource)) missing.emplace_back(k);

      json::object r;
      r["EvalActionName"] = action;
      r["EvalResourceName"] = resource;
      r["EvalDecision"] = decisionName(result.decision);
      r["MatchedStatements"] = matched;
      r["MissingContextValues"] = missing;
      json::object specific{{"EvalResourceName", resource},
                            {"EvalResourceDecision", decisionName(result.decision)},
                            {"MatchedStatements", matched},
                            {"MissingContextValues", missing}};
      if (sim.base.permissions_boundary) {
        // The boundary's own verdict: would it allow the action by itself?
        iam::EvalRequest alone;
        alone.principal = req.principal;
        alone.action = action;
        alone.resource = resource;
        alone.context = &sim.keys;
        alone.identity_policies.push_back(sim.base.permissions_boundary);
        bool allowed = iam::evaluate(alone).decision == iam::Decision::kAllow;
        json::object detail{{"AllowedByPermissionsBoundary", allowed}};
        r["PermissionsBoundaryDecisionDetail"] = detail;
        specific["PermissionsBoundaryDecisionDetail"] = detail;
      }
      // AWS: OrganizationsDecisionDetail when the principal's account is in an organization;
      // EvalDecisionDetails for cross-account simulations, empty for a named resource in the
      // same account, absent for "*" and when an SCP denies (the evaluation stops there).
      bool scp_allows = true;
      if (sim.org && sim.org->in_org) {
        scp_allows = allowedByOrganizations(req);
        r["OrganizationsDecisionDetail"] = json::object{{"AllowedByOrganizations", scp_allows}};
      }
      if (scp_allows && !req.resource_account.empty()) {
        json::object details = crossAccountDetails(req);
        r["EvalDecisionDetails"] = details;
        specific["EvalDecisionDetails"] = details;
      } else if (scp_allows && resource != "*") {
        r["EvalDecisionDetails"] = json::object{};
        specific["EvalDecisionDetails"] = json::object{};
      }
      if (!in.as_object().if_contains("ResourceArns")) {
        r["ResourceSpecificResults"] = json::array{};
      } else {
        r["ResourceSpecificResults"] = json::array{std::move(specific)};
      }
      std::snprintf(key, sizeof key, "%010zu", items.size());
      items.emplace_back(key, std::move(r));
    }
  }
  json::object out;
  page(out, "EvaluationResults", std::move(items), in);
  return out;
}

/// ResourcePolicy, ResourceOwner, PermissionsBoundaryPolicyInputList and PolicyInputList.
Result<void> addInputPolicies(Simulation& sim, const json::value& in) {
  TRY_ASSIGN(auto identity, compileInputs(sim, in, "PolicyInputList", iam::PolicyKind::kIdentity));
  for (const auto* p : identity) sim.base.identity_policies.push_back(p);
  TRY_ASSIGN(auto boundaries, compileInputs(sim, in, "PermissionsBoundaryPolicyInputList",
                                            iam::PolicyKind::kBoundary));
  if (boundaries.size() > 1)
    return invalidInput("PermissionsBoundaryPolicyInputList accepts one policy.");
  if (!boundaries.empty()) sim.base.permissions_boundary = boundaries[0];
  std::string resource_policy = str(in, "ResourcePolicy");
  if (!resource_policy.empty()) {
    TRY_ASSIGN(auto compiled, iam::CompiledPolicy::compile(
                                  resource_policy, iam::PolicyKind::kResource, "ResourcePolicy"));
    sim.sources[compiled.get()] = {"ResourcePolicy", "resource", resource_policy};
    sim.base.resource_policy = compiled.get();
    sim.owned.push_back(std::move(compiled));
  }
  std::string owner = str(in, "ResourceOwner");
  if (!owner.empty()) {
    // arn:aws:iam::<account>:root, or a bare account id.
    std::string account = owner;
    if (owner.rfind("arn:", 0) == 0) {
      size_t a = 0;
      for (int i = 0; i < 4 && a != std::string::npos; ++i) a = owner.find(':', a + 1);
      size_t b = a == std::string::npos ? a : owner.find(':', a + 1);
      account = b == std::string::npos ? std::string() : owner.substr(a + 1, b - a - 1);
    }
    if (account != sim.base.principal.account) sim.base.resource_account = account;
  }
  return okResult();
}

/// The account id field of an ARN (""when absent).
std::string accountOfArn(const std::string& arn) {
  size_t a = 0;
  for (int i = 0; i < 4 && a != std::string::npos; ++i) a = arn.find(':', a + 1);
  if (a == std::string::npos) return {};
  size_t b = arn.find(':', a + 1);
  return b == std::string::npos ? std::string() : arn.substr(a + 1, b - a - 1);
}

}  // namespace

Result<json::value> simulatePrincipalPolicy(RequestContext& ctx, const json::value& in) {
  std::string source_arn = str(in, "PolicySourceArn");
  Simulation sim;
  runtime::PrincipalPolicies policies;
  {
    auto tx = ctx.services->store.begin(false);
    auto e = findEntityByArn(*tx, source_arn);
    if (!e || e->account_id != ctx.account_id)
      return noSuchEntity("The entity " + source_arn + " does not exist.");
    iam::PrincipalInfo& who = sim.base.principal;
    who.account = e->account_id;
    if (e->kind == "group") {
      who.type = iam::PrincipalType::kUser;
      who.arn = e->arn;
      policies.identity = groupPolicies(*tx, e->id);
    } else {
      runtime::Principal p;
      p.account_id = e->account_id;
      if (e->kind == "user") {
        p.type = runtime::Principal::Type::kIamUser;
        p.arn = e->arn;
        p.user_name = e->name;
        who.type = iam::PrincipalType::kUser;
        who.arn = e->arn;
      } else {
        p.type = runtime::Principal::Type::kAssumedRole;
        p.arn = "arn:aws:sts::" + e->account_id + ":assumed-role/" + e->name + "/simulation";
        who.type = iam::PrincipalType::kAssumedRole;
        who.arn = p.arn;
        who.role_arn = e->arn;
      }
      tx.reset();
      // INVARIANT: the policies enforcement would judge this principal by.
      policies = runtime::effectivePolicies(*ctx.services, p);
      tx = ctx.services->store.begin(false);
      who.tags = policies.tags;
      if (!policies.role_arn.empty()) who.role_arn = policies.role_arn;
    }
    nameStatePolicies(sim, *tx, policies.identity);
    if (policies.boundary) nameStatePolicies(sim, *tx, {policies.boundary});
    nameStatePolicies(sim, *tx, policies.session);
  }
  // AWS: CallerArn (an IAM user) calls with the source's policies; it is required with a
  // ResourcePolicy when the source is not a user.
  std::string caller = str(in, "CallerArn");
  if (!caller.empty()) {
    if (caller.find(":user/") == std::string::npos)
      return invalidInput("CallerArn must be the ARN of an IAM user.");
    iam::PrincipalInfo& who = sim.base.principal;
    who.type = iam::PrincipalType::kUser;
    who.arn = caller;
    who.account = accountOfArn(caller);
    who.role_arn.clear();
  } else if (!str(in, "ResourcePolicy").empty() &&
             sim.base.principal.type != iam::PrincipalType::kUser) {
    return invalidInput(
        "CallerArn is required when a ResourcePolicy is given and "
        "PolicySourceArn is not an IAM user.");
  }
  for (const auto& p : policies.identity) sim.base.identity_policies.push_back(p.get());
  sim.base.permissions_boundary = policies.boundary.get();
  for (const auto& p : policies.session) sim.base.session_policies.push_back(p.get());
  TRY_VOID(addInputPolicies(sim, in));
  iam::addPrincipalKeys(sim.base.principal, sim.keys);
  // INVARIANT: the SCPs enforcement applies (the same helper adds them), with the
  // organization's keys enforcement sets; ContextEntries may still override the keys.
  {
    runtime::Principal scp_subject;
    scp_subject.type = sim.base.principal.type == iam::PrincipalType::kAssumedRole
                           ? runtime::Principal::Type::kAssumedRole
                           : runtime::Principal::Type::kIamUser;
    scp_subject.account_id = sim.base.principal.account;
    scp_subject.arn = sim.base.principal.arn;
    sim.org =
        runtime::IamAuthorizer::addServiceControlPolicies(*ctx.services, scp_subject, sim.base);
    if (sim.org && sim.org->in_org) {
      sim.keys.set("aws:PrincipalOrgID", sim.org->org_id);
      sim.keys.setMulti("aws:PrincipalOrgPaths", {sim.org->org_path});
      for (const auto& level : sim.org->scp_levels)
        for (const auto& p : level)
          if (!sim.sources.count(p.get())) {
            // The compiled id is "<org id>/<policy id>": the SCP is named by its policy id.
            const std::string& id = p->id();
            sim.sources[p.get()] = {id.substr(id.find('/') + 1), "none", ""};
          }
    }
  }
  TRY_VOID(fillContextEntries(in, sim.keys));
  return run(sim, in);
}

Result<json::value> simulateCustomPolicy(RequestContext& ctx, const json::value& in) {
  Simulation sim;
  std::string caller = str(in, "CallerArn");
  iam::PrincipalInfo& who = sim.base.principal;
  if (!caller.empty()) {
    who.arn = caller;
    who.account = accountOfArn(caller);
    if (caller.find(":assumed-role/") != std::string::npos) {
      who.type = iam::PrincipalType::kAssumedRole;
    } else if (caller.size() > 5 && caller.compare(caller.size() - 5, 5, ":root") == 0) {
      who.type = iam::PrincipalType::kRoot;
    } else {
      who.type = iam::PrincipalType::kUser;
    }
  } else {
    // AWS: without CallerArn the caller is a user of the requesting account.
    who.type = iam::PrincipalType::kUser;
    who.account = ctx.account_id;
    who.arn = "arn:aws:iam::" + ctx.account_id + ":user/simulated-user";
  }
  TRY_VOID(addInputPolicies(sim, in));
  if (!caller.empty()) iam::addPrincipalKeys(who, sim.keys);
  TRY_VOID(fillContextEntries(in, sim.keys));
  return run(sim, in);
}

}  // namespace citadel::iamsvc
