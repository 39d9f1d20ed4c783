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
};

class PolicyProvider {
 public:
  virtual ~PolicyProvider() = default;
  /// The policies of `principal` (an IAM user today; roles when STS lands). Reads its own
  /// snapshot; never called inside a write transaction of the same thread.
  virtual PrincipalPolicies policiesFor(const Principal& principal) = 0;
};

}  // namespace citadel::runtime
