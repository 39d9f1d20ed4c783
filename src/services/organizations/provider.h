#pragma once
/// The OrgPolicyProvider over the Organizations service's state: an account's organization,
/// its path from the root and the compiled SCPs of every level, read in one snapshot and
/// cached until the next committed change to any organization.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "iam/compiled.h"
#include "runtime/policy_provider.h"
#include "store/store.h"

namespace citadel::orgs {

class OrgProvider : public runtime::OrgPolicyProvider {
 public:
  explicit OrgProvider(store::Store& db) : db_(db) {}
  /// The account's organization context; accounts outside any organization get a shared
  /// "not in an organization" answer from the cache after their first request.
  std::shared_ptr<const runtime::OrgInfo> orgFor(const std::string& account_id) override;
  /// Drops every cached context; called after a change to any organization has committed.
  void invalidate();

 private:
  std::shared_ptr<const runtime::OrgInfo> load(const std::string& account_id);

  store::Store& db_;
  iam::PolicyCache compiled_;
  std::mutex mu_;
  uint64_t generation_ = 0;  ///< bumped by invalidate(); a load that spans a bump is not cached
  std::unordered_map<std::string, std::shared_ptr<const runtime::OrgInfo>> cache_;
};

}  // namespace citadel::orgs
