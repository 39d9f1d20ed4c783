#include "services/organizations/provider.h"

#include <algorithm>
#include <vector>

#include "iam/policy.h"

namespace citadel::orgs {

std::shared_ptr<const runtime::OrgInfo> OrgProvider::orgFor(const std::string& account_id) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cache_.find(account_id); it != cache_.end()) return it->second;
    generation = generation_;
  }
  auto info = load(account_id);
  std::lock_guard<std::mutex> lock(mu_);
  // INVARIANT: an answer read before a change committed is never cached after it.
  if (generation == generation_) {
    if (cache_.size() > 100000) cache_.clear();
    cache_[account_id] = info;
  }
  return info;
}

void OrgProvider::invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  cache_.clear();
}

std::shared_ptr<const runtime::OrgInfo> OrgProvider::load(const std::string& account_id) {
  static const auto kNotInOrg = std::make_shared<const runtime::OrgInfo>();
  auto tx = db_.begin(false);
  auto rows = tx->query(
      "SELECT a.org_id, a.parent_id, o.management_account, o.root_id FROM org_accounts a "
      "JOIN org_organizations o ON o.id = a.org_id WHERE a.account_id = ?",
      {account_id});
  if (rows.empty()) return kNotInOrg;
  auto info = std::make_shared<runtime::OrgInfo>();
  info->in_org = true;
  info->org_id = rows[0].text(0);
  info->is_management = rows[0].text(2) == account_id;
  const std::string root_id = rows[0].text(3);
  // The OUs from the account's parent up to the root.
  std::vector<std::string> ous;
  std::string parent = rows[0].text(1);
  while (parent != root_id && ous.size() < 10) {
    auto up = tx->query("SELECT parent_id FROM org_ous WHERE org_id = ? AND id = ?",
                        {info->org_id, parent});
    if (up.empty()) break;
    ous.push_back(parent);
    parent = up[0].text(0);
  }
  std::reverse(ous.begin(), ous.end());
  info->org_path = info->org_id + "/" + root_id + "/";
  for (const auto& ou : ous) info->org_path += ou + "/";
  if (info->is_management) return info;

  std::vector<std::string> levels{root_id};
  levels.insert(levels.end(), ous.begin(), ous.end());
  levels.push_back(account_id);
  for (const auto& target : levels) {
    std::vector<std::shared_ptr<const iam::CompiledPolicy>> level;
    for (const auto& r :
         tx->query("SELECT p.id, p.rev, p.content FROM org_attachments t JOIN org_policies p "
                   "ON p.org_id = t.org_id AND p.id = t.policy_id WHERE t.org_id = ? AND "
                   "t.target_id = ? AND p.type = 'SERVICE_CONTROL_POLICY' ORDER BY p.id",
                   {info->org_id, target})) {
      auto compiled = compiled_.get(info->org_id + "/" + r.text(0), std::to_string(r.integer(1)),
                                    r.text(2), iam::PolicyKind::kScp);
      // A stored SCP that no longer compiles allows nothing (fail closed).
      if (!compiled.ok()) {
        compiled = iam::CompiledPolicy::compile(
            "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Action\":\"*\","
            "\"Resource\":\"*\"}]}",
            iam::PolicyKind::kScp, r.text(0));
      }
      if (compiled.ok()) level.push_back(compiled.value());
    }
    info->scp_levels.push_back(std::move(level));
  }
  return info;
}

}  // namespace citadel::orgs
