#pragma once
/// The PolicyProvider over IAM's state: the compiled policies of an IAM user (its own and its
/// groups') or of a role session's role, read in one snapshot, compiled once per version.

#include <atomic>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "iam/compiled.h"
#include "runtime/policy_provider.h"
#include "store/store.h"

namespace citadel::iamsvc {

/// Marks the IAM state (entities, policies, attachments, groups, tags, boundaries) changed by
/// `tx`: once it commits, every principal's cached policies are read again. Every IAM write
/// calls it (the service wraps its mutating handlers; other writers call it themselves).
void policiesChanged(store::Tx& tx);

class IamPolicyProvider : public runtime::PolicyProvider {
 public:
  explicit IamPolicyProvider(store::Store& db) : db_(db) {}
  /// Identity policies, boundary and tags of an IAM user or assumed-role principal; other
  /// principals have none (exists=true, no policies). Cached per principal until the next
  /// committed IAM change (policiesChanged): the hot path reads no SQLite.
  runtime::PrincipalPolicies policiesFor(const runtime::Principal& principal) override;
  /// Session policies of a role session: inline (compiled as kSession) and managed by ARN.
  std::vector<std::shared_ptr<const iam::CompiledPolicy>> sessionPolicies(
      const std::string& account, const std::string& session_key, const std::string& inline_policy,
      const std::vector<std::string>& policy_arns) override;
  /// The compiled-policy cache (exposed for tests).
  const iam::PolicyCache& cache() const { return cache_; }

 private:
  /// One snapshot read of a principal's policies (no cache).
  runtime::PrincipalPolicies load(const runtime::Principal& principal);

  struct Cached {
    uint64_t generation;
    std::shared_ptr<const runtime::PrincipalPolicies> policies;
  };
  store::Store& db_;
  iam::PolicyCache cache_;
  std::shared_mutex principals_mu_;
  std::unordered_map<std::string, Cached> principals_;
};

/// What STS needs to know of a role to let a caller assume it.
struct RoleForSts {
  std::string account_id;
  std::string arn;
  std::string id;  ///< AROA...
  std::string name;
  std::string trust_policy;
  int64_t max_session = 3600;  ///< MaxSessionDuration in seconds
};

/// The role with exactly this ARN, or nullopt.
std::optional<RoleForSts> findRoleForSts(store::Tx& tx, const std::string& role_arn);
/// The role's trust policy, compiled once per document (kTrust).
Result<std::shared_ptr<const iam::CompiledPolicy>> compiledTrustPolicy(const RoleForSts& role);
/// True when a managed policy with this ARN exists and is visible to `account` (its own or
/// AWS managed).
bool managedPolicyExists(store::Tx& tx, const std::string& account, const std::string& arn);

}  // namespace citadel::iamsvc
