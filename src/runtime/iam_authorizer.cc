#include "runtime/iam_authorizer.h"

#include <algorithm>
#include <cctype>

#include "core/time.h"
#include "iam/evaluator.h"
#include "runtime/services.h"

namespace citadel::runtime {
namespace {

iam::PrincipalType engineType(Principal::Type t) {
  switch (t) {
    case Principal::Type::kRoot: return iam::PrincipalType::kRoot;
    case Principal::Type::kIamUser: return iam::PrincipalType::kUser;
    case Principal::Type::kAssumedRole: return iam::PrincipalType::kAssumedRole;
    case Principal::Type::kFederatedUser: return iam::PrincipalType::kFederatedUser;
    case Principal::Type::kAwsService: return iam::PrincipalType::kService;
    case Principal::Type::kAnonymous: return iam::PrincipalType::kAnonymous;
  }
  return iam::PrincipalType::kAnonymous;
}

}  // namespace

PrincipalPolicies effectivePolicies(Services& services, const Principal& p) {
  PrincipalPolicies policies;
  if (p.type == Principal::Type::kRoot || p.type == Principal::Type::kAnonymous ||
      !services.policies)
    return policies;
  policies = services.policies->policiesFor(p);
  if (p.type != Principal::Type::kAssumedRole || !policies.exists) return policies;
  auto cred = services.identity.lookup(p.access_key_id);
  if (!cred || !cred->session) return policies;  // a pre-AssumeRole session row: role only
  const SessionInfo& s = *cred->session;
  policies.role_arn = s.role_arn;
  policies.source_identity = s.source_identity;
  for (const auto& [k, v] : s.tags) {
    bool replaced = false;
    for (auto& t : policies.tags) {
      if (t.first.size() == k.size() &&
          std::equal(k.begin(), k.end(), t.first.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        t = {k, v};  // AWS: a session tag overrides the role's tag with the same key
        replaced = true;
      }
    }
    if (!replaced) policies.tags.emplace_back(k, v);
  }
  if (s.hasSessionPolicies())
    policies.session = services.policies->sessionPolicies(p.account_id, p.access_key_id,
                                                          s.policy, s.policy_arns);
  return policies;
}

void IamAuthorizer::fillGlobalKeys(const RequestContext& ctx, iam::ContextKeys& keys) {
  const Principal& p = ctx.principal;
  keys.set("aws:SourceIp", ctx.source_ip);
  keys.set("aws:CurrentTime", formatIso8601(ctx.time));
  keys.set("aws:EpochTime", std::to_string(toEpochMillis(ctx.time) / 1000));
  keys.set("aws:RequestedRegion", ctx.region);
  keys.set("aws:SecureTransport", ctx.http && ctx.http->tls ? "true" : "false");
  keys.set("aws:ViaAWSService", p.invoked_by.empty() ? "false" : "true");
  if (!p.principal_id.empty()) keys.set("aws:userid", p.principal_id);
  if (!ctx.user_agent.empty()) keys.set("aws:UserAgent", ctx.user_agent);
  // AWS: aws:MultiFactorAuthPresent is absent for long-term keys, present for sessions.
  if (!p.session_token.empty()) {
    keys.set("aws:MultiFactorAuthPresent", p.mfa_authenticated ? "true" : "false");
    if (p.mfa_authenticated)
      keys.set("aws:MultiFactorAuthAge",
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(ctx.time -
                                                                               p.mfa_time)
                                  .count()));
  }
  if (!p.invoked_by.empty()) keys.setMulti("aws:CalledVia", {p.invoked_by});
  // aws:PrincipalOrgID / aws:PrincipalOrgPaths for principals of an organization's accounts.
  if (ctx.services && ctx.services->organizations && !p.account_id.empty() &&
      p.type != Principal::Type::kAnonymous && p.type != Principal::Type::kAwsService) {
    auto org = ctx.services->organizations->orgFor(p.account_id);
    if (org->in_org) {
      keys.set("aws:PrincipalOrgID", org->org_id);
      keys.setMulti("aws:PrincipalOrgPaths", {org->org_path});
    }
  }
}

void IamAuthorizer::fillVpcKeys(const RequestContext& ctx, const std::string& vpc_header,
                                const std::string& vpce_header, iam::ContextKeys& keys) {
  if (!ctx.http) return;
  if (!vpc_header.empty())
    if (const std::string* v = ctx.http->header(vpc_header)) keys.set("aws:SourceVpc", *v);
  if (!vpce_header.empty())
    if (const std::string* v = ctx.http->header(vpce_header)) keys.set("aws:SourceVpce", *v);
}

std::shared_ptr<const OrgInfo> IamAuthorizer::addServiceControlPolicies(Services& services,
                                                                        const Principal& p,
                                                                        iam::EvalRequest& req) {
  // SCPs bind every principal of a member account (root included); the management account is
  // exempt. One cached read per account (none for accounts outside any organization).
  if (!services.organizations || p.type == Principal::Type::kAnonymous ||
      p.type == Principal::Type::kAwsService)
    return nullptr;
  std::shared_ptr<const OrgInfo> org = services.organizations->orgFor(p.account_id);
  if (org && org->in_org) {
    req.is_management_account = org->is_management;
    for (const auto& level : org->scp_levels) {
      auto& out = req.scp_levels.emplace_back();
      for (const auto& pol : level) out.push_back(pol.get());
    }
  }
  return org;
}

Result<void> IamAuthorizer::authorize(const RequestContext& ctx, const std::string& action,
                                      const std::vector<std::string>& resources) {
  const Principal& p = ctx.principal;
  iam::EvalRequest req;
  req.principal.type = engineType(p.type);
  req.principal.arn = p.arn;
  req.principal.account = p.account_id;
  req.action = action;
  req.resource_account = ctx.account_id == p.account_id ? std::string() : ctx.account_id;

  PrincipalPolicies policies = effectivePolicies(services_, p);
  if (!policies.exists) {
    return AwsError{"AccessDenied",
                    "User: " + p.arn + " is not authorized to perform: " + action +
                        " because the principal no longer exists",
                    403, true, {}};
  }
  req.principal.tags = policies.tags;
  req.principal.role_arn = policies.role_arn;
  for (const auto& pol : policies.identity) req.identity_policies.push_back(pol.get());
  req.permissions_boundary = policies.boundary.get();
  for (const auto& pol : policies.session) req.session_policies.push_back(pol.get());

  // Keeps the organization's compiled SCPs alive while `req` points at them.
  std::shared_ptr<const OrgInfo> org = addServiceControlPolicies(services_, p, req);

  iam::ContextKeys keys;
  fillGlobalKeys(ctx, keys);
  fillVpcKeys(ctx, services_.config.source_vpc_header, services_.config.source_vpce_header, keys);
  iam::addPrincipalKeys(req.principal, keys);
  if (!policies.source_identity.empty()) keys.set("aws:SourceIdentity", policies.source_identity);
  req.context = &keys;

  static const std::vector<std::string> kAnyResource{"*"};
  const auto& targets = resources.empty() ? kAnyResource : resources;
  for (const auto& resource : targets) {
    req.resource = resource;
    iam::EvalResult result = iam::evaluate(req);
    if (result.decision != iam::Decision::kAllow)
      return AwsError{"AccessDenied", iam::accessDeniedMessage(req, result), 403, true, {}};
  }
  return okResult();
}

}  // namespace citadel::runtime
