#pragma once
/// The PolicyProvider over IAM's state: the compiled policies of an IAM user (its own and its
/// groups') or of a role session's role, read in one snapshot, compiled once per version.

#include "iam/compiled.h"
#include "runtime/policy_provider.h"
#include "store/store.h"

namespace citadel::iamsvc {

class IamPolicyProvider : public runtime::PolicyProvider {
 public:
  explicit IamPolicyProvider(store::Store& db) : db_(db) {}
  /// Identity policies, boundary and tags of an IAM user or assumed-role principal; other
  /// principals have none (exists=true, no policies).
  runtime::PrincipalPolicies policiesFor(const runtime::Principal& principal) override;
  /// The compiled-policy cache (exposed for tests).
  const iam::PolicyCache& cache() const { return cache_; }

 private:
  store::Store& db_;
  iam::PolicyCache cache_;
};

}  // namespace citadel::iamsvc
