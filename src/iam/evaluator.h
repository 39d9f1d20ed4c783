#pragma once
/// AWS's policy evaluation logic over compiled policies, independent of the request pipeline.
///
/// AWS: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
/// Order: explicit deny in any policy wins; every SCP level must allow (the management account
/// is exempt); a same-account resource-based policy that names the caller itself is enough
/// alone (one that names a role grants the role's sessions subject to their permissions
/// boundary and session policies; one that names the account delegates to identity
/// policies); cross-account needs the resource policy and the identity side; then identity
/// policies, the permissions boundary and session policies must each allow. A root user is
/// allowed in its own account unless denied. With resource_policy_required (KMS keys) the
/// resource policy must allow in every case.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "iam/compiled.h"
#include "iam/context_keys.h"

namespace citadel::iam {

/// The kinds of policy that take part in a decision.
enum class PolicyType { kIdentity, kResource, kPermissionsBoundary, kSession, kScp };

/// The outcome.
enum class Decision { kAllow, kExplicitDeny, kImplicitDeny };

/// A statement that decided (or contributed to) the outcome.
struct MatchedStatement {
  PolicyType type = PolicyType::kIdentity;
  const CompiledPolicy* policy = nullptr;  ///< valid while the caller holds the policy
  uint32_t index = 0;                      ///< statement index in the policy
  /// The statement's Sid (may be empty).
  const std::string& sid() const { return policy->statements()[index].sid; }
};

/// Everything a decision depends on. Pointers are borrowed for the call.
struct EvalRequest {
  PrincipalInfo principal;
  std::string_view action;    ///< e.g. "s3:GetObject"
  std::string_view resource;  ///< the resource ARN, or "*" for actions without one
  const ContextKeys* context = nullptr;
  std::vector<const CompiledPolicy*> identity_policies;  ///< user + groups, or role
  const CompiledPolicy* resource_policy = nullptr;
  std::string resource_account;  ///< owner of the resource; empty = the caller's account
  const CompiledPolicy* permissions_boundary = nullptr;
  std::vector<const CompiledPolicy*> session_policies;
  /// SCPs per level, root first, then each OU, then the account; each level must allow.
  std::vector<std::vector<const CompiledPolicy*>> scp_levels;
  bool is_management_account = false;  ///< the organization's management account: no SCPs
  /// KMS key-policy semantics: the resource policy must allow. One naming the caller itself
  /// (or its role, or the account for the root user) is enough in the same account; one naming
  /// the caller's account delegates to identity policies; without it nothing allows, not even
  /// a root user's implicit rights. Cross-account as usual (both sides). SCPs, explicit denies,
  /// permissions boundaries and session policies apply as without the flag.
  /// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
  bool resource_policy_required = false;
};

/// A decision, what decided it and the AccessDenied reason text.
struct EvalResult {
  Decision decision = Decision::kImplicitDeny;
  PolicyType deciding_type = PolicyType::kIdentity;
  std::vector<MatchedStatement> statements;  ///< deny statements, or the allowing ones
  /// e.g. "because no identity-based policy allows the s3:GetObject action" or
  /// "with an explicit deny in a service control policy"; empty when allowed.
  std::string reason;
};

/// Decides a request.
EvalResult evaluate(const EvalRequest& request);

/// "User: <arn> is not authorized to perform: <action> on resource: <resource> <reason>".
std::string accessDeniedMessage(const EvalRequest& request, const EvalResult& result);

/// Context keys derived from the principal: aws:PrincipalArn, aws:PrincipalAccount,
/// aws:PrincipalType, aws:PrincipalTag/*, aws:username (users). Existing keys are replaced.
void addPrincipalKeys(const PrincipalInfo& principal, ContextKeys& ctx);

}  // namespace citadel::iam
