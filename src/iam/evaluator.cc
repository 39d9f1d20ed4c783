#include "iam/evaluator.h"

namespace citadel::iam {
namespace {

// What one set of policies says about the request.
struct Verdict {
  bool denied = false;
  bool allowed = false;
  PrincipalMatch best = PrincipalMatch::kNone;  // resource policies: strongest allowing match
};

bool statementApplies(const CompiledStatement& st, const EvalRequest& r, const ContextKeys& ctx,
                      bool check_principal, PrincipalMatch& match) {
  match = PrincipalMatch::kDirect;
  if (!st.matchesAction(r.action)) return false;
  if (!st.matchesResource(r.resource, ctx)) return false;
  if (check_principal && st.has_principal) {
    if (st.not_principal) {
      // AWS: a Deny with NotPrincipal always applies to a principal with a permissions
      // boundary (access_policies_boundaries, "Important").
      bool exempt = st.principal.listsForNotPrincipal(r.principal) &&
                    !(st.effect == Effect::kDeny && r.permissions_boundary != nullptr);
      if (exempt) return false;
      match = PrincipalMatch::kDirect;
    } else {
      match = st.principal.match(r.principal);
      if (match == PrincipalMatch::kNone) return false;
    }
  }
  return st.conditionsHold(ctx);
}

Verdict evalPolicies(const CompiledPolicy* const* policies, size_t n, PolicyType type,
                     const EvalRequest& r, const ContextKeys& ctx, bool check_principal,
                     std::vector<MatchedStatement>* denies, std::vector<MatchedStatement>* allows) {
  Verdict v;
  for (size_t p = 0; p < n; ++p) {
    const CompiledPolicy* policy = policies[p];
    if (policy == nullptr) continue;
    const auto& stmts = policy->statements();
    for (size_t i = 0; i < stmts.size(); ++i) {
      PrincipalMatch m;
      if (!statementApplies(stmts[i], r, ctx, check_principal, m)) continue;
      MatchedStatement ms{type, policy, static_cast<uint32_t>(i)};
      if (stmts[i].effect == Effect::kDeny) {
        v.denied = true;
        if (denies) denies->push_back(ms);
      } else {
        v.allowed = true;
        if (m > v.best) v.best = m;
        if (allows) allows->push_back(ms);
      }
    }
  }
  return v;
}

const char* denyPhrase(PolicyType t) {
  switch (t) {
    case PolicyType::kIdentity:
      return "with an explicit deny in an identity-based policy";
    case PolicyType::kResource:
      return "with an explicit deny in a resource-based policy";
    case PolicyType::kPermissionsBoundary:
      return "with an explicit deny in a permissions boundary";
    case PolicyType::kSession:
      return "with an explicit deny in a session policy";
    case PolicyType::kScp:
      return "with an explicit deny in a service control policy";
  }
  return "";
}

std::string implicitPhrase(PolicyType t, std::string_view action) {
  const char* what = "";
  switch (t) {
    case PolicyType::kIdentity:
      what = "no identity-based policy";
      break;
    case PolicyType::kResource:
      what = "no resource-based policy";
      break;
    case PolicyType::kPermissionsBoundary:
      what = "no permissions boundary";
      break;
    case PolicyType::kSession:
      what = "no session policy";
      break;
    case PolicyType::kScp:
      what = "no service control policy";
      break;
  }
  std::string s = "because ";
  s += what;
  s += " allows the ";
  s += action;
  s += " action";
  return s;
}

EvalResult explicitDeny(PolicyType t, std::vector<MatchedStatement> stmts) {
  EvalResult r;
  r.decision = Decision::kExplicitDeny;
  r.deciding_type = t;
  r.reason = denyPhrase(t);
  for (auto& s : stmts) {
    if (s.type == t) r.statements.push_back(s);
  }
  return r;
}

EvalResult implicitDeny(PolicyType t, std::string_view action) {
  EvalResult r;
  r.decision = Decision::kImplicitDeny;
  r.deciding_type = t;
  r.reason = implicitPhrase(t, action);
  return r;
}

}  // namespace

EvalResult evaluate(const EvalRequest& r) {
  static const ContextKeys kEmpty;
  const ContextKeys& ctx = r.context ? *r.context : kEmpty;
  const PrincipalInfo& who = r.principal;
  const bool is_root = who.type == PrincipalType::kRoot;

  std::vector<MatchedStatement> denies;
  std::vector<MatchedStatement> allows;

  // 1. Every applicable policy is looked at for an explicit deny.
  const bool scps_apply = !r.is_management_account && !r.scp_levels.empty() &&
                          who.type != PrincipalType::kService &&
                          who.type != PrincipalType::kAnonymous;
  bool scp_denied = false;
  std::vector<bool> scp_level_allows;
  if (scps_apply) {
    for (const auto& level : r.scp_levels) {
      Verdict v = evalPolicies(level.data(), level.size(), PolicyType::kScp, r, ctx, false,
                               &denies, nullptr);
      scp_denied = scp_denied || v.denied;
      scp_level_allows.push_back(v.allowed);
    }
  }
  Verdict res = evalPolicies(&r.resource_policy, 1, PolicyType::kResource, r, ctx, true, &denies,
                             &allows);
  Verdict idn = evalPolicies(r.identity_policies.data(), r.identity_policies.size(),
                             PolicyType::kIdentity, r, ctx, false, &denies, &allows);
  Verdict bnd = evalPolicies(&r.permissions_boundary, 1, PolicyType::kPermissionsBoundary, r, ctx,
                             false, &denies, nullptr);
  Verdict ses = evalPolicies(r.session_policies.data(), r.session_policies.size(),
                             PolicyType::kSession, r, ctx, false, &denies, nullptr);
  if (scp_denied) return explicitDeny(PolicyType::kScp, std::move(denies));
  if (res.denied) return explicitDeny(PolicyType::kResource, std::move(denies));
  if (idn.denied) return explicitDeny(PolicyType::kIdentity, std::move(denies));
  if (bnd.denied) return explicitDeny(PolicyType::kPermissionsBoundary, std::move(denies));
  if (ses.denied) return explicitDeny(PolicyType::kSession, std::move(denies));

  // 2. Service control policies: each level from the root down must allow.
  if (scps_apply) {
    for (bool ok : scp_level_allows) {
      if (!ok) return implicitDeny(PolicyType::kScp, r.action);
    }
  }

  auto allow = [&](PolicyType t) {
    EvalResult out;
    out.decision = Decision::kAllow;
    out.deciding_type = t;
    out.statements = std::move(allows);
    return out;
  };

  // Service principals and anonymous callers have no identity policies: only a
  // resource-based policy can grant them access.
  if (who.type == PrincipalType::kService || who.type == PrincipalType::kAnonymous) {
    if (res.allowed) return allow(PolicyType::kResource);
    return implicitDeny(PolicyType::kResource, r.action);
  }

  const bool same_account = r.resource_account.empty() || r.resource_account == who.account;
  // AWS: a KMS key policy is the only way to grant access to its key; identity policies
  // and the root user's rights count only where the key policy delegates to the account.
  if (r.resource_policy_required && !res.allowed) {
    return implicitDeny(PolicyType::kResource, r.action);
  }
  bool identity_needed = true;
  if (same_account) {
    // 3. Same-account resource-based policy.
    if (res.allowed && res.best == PrincipalMatch::kDirect) return allow(PolicyType::kResource);
    if (is_root) return allow(PolicyType::kIdentity);  // AWS: root has full access in its account
    if (res.allowed && res.best == PrincipalMatch::kRole) identity_needed = false;
  } else {
    // 3'. Cross-account: the resource's account must grant access ...
    if (!res.allowed) return implicitDeny(PolicyType::kResource, r.action);
    if (is_root) return allow(PolicyType::kResource);
  }

  // 4. Identity-based policies, then the permissions boundary and session policies.
  if (identity_needed && !idn.allowed) return implicitDeny(PolicyType::kIdentity, r.action);
  if (r.permissions_boundary != nullptr && !bnd.allowed) {
    return implicitDeny(PolicyType::kPermissionsBoundary, r.action);
  }
  if (!r.session_policies.empty() && !ses.allowed) {
    return implicitDeny(PolicyType::kSession, r.action);
  }
  return allow(identity_needed ? PolicyType::kIdentity : PolicyType::kResource);
}

std::string accessDeniedMessage(const EvalRequest& r, const EvalResult& result) {
  std::string m = "User: ";
  m += r.principal.arn;
  m += " is not authorized to perform: ";
  m += r.action;
  if (!r.resource.empty() && r.resource != "*") {
    m += " on resource: ";
    m += r.resource;
  }
  if (!result.reason.empty()) {
    m += ' ';
    m += result.reason;
  }
  return m;
}

void addPrincipalKeys(const PrincipalInfo& p, ContextKeys& ctx) {
  if (!p.arn.empty()) {
    // AWS: for role sessions aws:PrincipalArn is the role's ARN, not the session's.
    ctx.set("aws:PrincipalArn",
            p.type == PrincipalType::kAssumedRole && !p.role_arn.empty() ? p.role_arn : p.arn);
  }
  if (!p.account.empty()) ctx.set("aws:PrincipalAccount", p.account);
  const char* type = "";
  switch (p.type) {
    case PrincipalType::kRoot:
      type = "Account";
      break;
    case PrincipalType::kUser:
      type = "User";
      break;
    case PrincipalType::kAssumedRole:
      type = "AssumedRole";
      break;
    case PrincipalType::kFederatedUser:
      type = "FederatedUser";
      break;
    case PrincipalType::kService:
      type = "AWSService";  // not a documented aws:PrincipalType value; services set it
      break;
    case PrincipalType::kAnonymous:
      type = "Anonymous";
      break;
  }
  ctx.set("aws:PrincipalType", type);
  if (p.type == PrincipalType::kUser) {
    auto slash = p.arn.rfind('/');
    if (slash != std::string::npos) ctx.set("aws:username", p.arn.substr(slash + 1));
  }
  for (const auto& [k, v] : p.tags) ctx.set("aws:PrincipalTag/" + k, v);
}

}  // namespace citadel::iam
