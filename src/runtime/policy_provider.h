#pragma once
/// Where the authorizer gets the policies of a principal. The IAM service implements it over
/// its state and installs it at start (Services::policies); the pipeline's authorizer reads it.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "iam/compiled.h"
#include "runtime/context.h"

namespace citadel::runtime {

/// The compiled policies that apply to one principal.
struct PrincipalPolicies {
  /// Identity policies: a user's inline and attached managed policies plus those of its
  /// groups; a role's inline and attached policies.
  std::vector<std::shared_ptr<const iam::CompiledPolicy>> identity;
  /// The permissions boundary, or null.
  std::shared_ptr<const iam::CompiledPolicy> boundary;
  /// The principal's tags (aws:PrincipalTag/<key>).
  std::vector<std::pair<std::string, std::string>> tags;
  /// False when the principal no longer exists (deleted user): every request is denied.
  bool exists = true;
  /// Role sessions: the session policies (inline and managed) that narrow the role's
  /// permissions; empty = not narrowed. Filled by effectivePolicies().
  std::vector<std::shared_ptr<const iam::CompiledPolicy>> session;
  /// Role sessions: the assumed role's ARN. Filled by effectivePolicies().
  std::string role_arn;
  /// Role sessions: the session's source identity (aws:SourceIdentity), or empty.
  std::string source_identity;
};

class PolicyProvider {
 public:
  virtual ~PolicyProvider() = default;
  /// The policies of `principal` (an IAM user today; roles when STS lands). Reads its own
  /// snapshot; never called inside a write transaction of the same thread.
  virtual PrincipalPolicies policiesFor(const Principal& principal) = 0;
  /// The compiled session policies of a role session of `account`: the inline document
  /// (cached under `session_key`) and the managed policies named by ARN. A policy that no
  /// longer exists or cannot be compiled yields a policy that allows nothing (fail closed).
  virtual std::vector<std::shared_ptr<const iam::CompiledPolicy>> sessionPolicies(
      const std::string& account, const std::string& session_key, const std::string& inline_policy,
      const std::vector<std::string>& policy_arns) = 0;
};


/// What the organization an account belongs to means for its principals' requests.
struct OrgInfo {
  /// False for an account outside any organization (every other member is then empty).
  bool in_org = false;
  std::string org_id;              ///< o-xxxxxxxxxx (aws:PrincipalOrgID)
  bool is_management = false;      ///< the management account: SCPs do not apply
  /// aws:PrincipalOrgPaths: "o-id/r-id/ou-id/.../" (the path of the account's parent).
  std::string org_path;
  /// SCPs per level: root, each OU down the path, then the account (empty for management).
  std::vector<std::vector<std::shared_ptr<const iam::CompiledPolicy>>> scp_levels;
};

/// Where the authorizer gets an account's organization context. The Organizations service
/// implements it over its state and installs it at start (Services::organizations).
class OrgPolicyProvider {
 public:
  virtual ~OrgPolicyProvider() = default;
  /// The organization context of `account_id` (cached; one read transaction on a miss).
  /// Never called inside a write transaction of the same thread.
  virtual std::shared_ptr<const OrgInfo> orgFor(const std::string& account_id) = 0;
};

class Services;

/// Everything that decides what `principal` may do: policiesFor() plus, for role sessions, the
/// session policies, the role ARN, the source identity and the session tags (which override
/// the role's tags of the same key). Never inside a write transaction of the same thread.
/// Defined in iam_authorizer.cc.
PrincipalPolicies effectivePolicies(Services& services, const Principal& principal);

}  // namespace citadel::runtime
