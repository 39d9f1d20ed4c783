// SSM Parameter Store: the SQL, and the metadata cache of current parameters that keeps the
// GetParameter hot path free of store reads.
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "runtime/services.h"
#include "services/ssm/internal.h"

namespace citadel::ssm {

namespace {

constexpr const char* kCols =
    "name, version, type, value, key_id, tier, data_type, description, allowed_pattern, "
    "policies, modified_ms, modified_user";

ParamRecord fromRow(const store::Row& r) {
  ParamRecord p;
  p.name = r.text(0);
  p.version = r.integer(1);
  p.type = r.text(2);
  p.value = r.text(3);
  p.key_id = r.text(4);
  p.tier = r.text(5);
  p.data_type = r.text(6);
  p.description = r.text(7);
  p.allowed_pattern = r.text(8);
  p.policies = r.text(9);
  p.modified_ms = r.integer(10);
  p.modified_user = r.text(11);
  return p;
}

std::vector<std::pair<std::string, std::string>> loadTags(store::Tx& tx, const std::string& account,
                                                          const std::string& region,
                                                          const std::string& name) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r :
       tx.query("SELECT tag_key, tag_value FROM ssm_tags WHERE account_id = ? AND region = ? AND "
                "name = ? ORDER BY tag_key",
                {account, region, name}))
    out.emplace_back(r.text(0), r.text(1));
  return out;
}

std::vector<std::string> labelsOf(store::Tx& tx, const std::string& account,
                                  const std::string& region, const std::string& name,
                                  int64_t version) {
  std::vector<std::string> out;
  for (const auto& r :
       tx.query("SELECT label FROM ssm_labels WHERE account_id = ? AND region = ? AND name = ? AND "
                "version = ? ORDER BY label",
                {account, region, name, version}))
    out.push_back(r.text(0));
  return out;
}

/// The metadata cache: (account, region, name) -> current parameter. Entries are dropped after
/// the commit of any change; a fill is refused when an invalidation happened since its read
/// began (the generation moved), so no reader re-caches state from before a change.
class Cache {
 public:
  std::shared_ptr<const CurrentParam> get(const std::string& key) {
    std::shared_lock lock(mu_);
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }
  uint64_t generation() const { return gen_.load(std::memory_order_acquire); }
  void fill(const std::string& key, uint64_t gen, std::shared_ptr<const CurrentParam> p) {
    std::unique_lock lock(mu_);
    if (gen_.load(std::memory_order_acquire) != gen) return;
    if (map_.size() > 100000) map_.clear();
    map_[key] = std::move(p);
  }
  void erase(const std::string& key) {
    std::unique_lock lock(mu_);
    gen_.fetch_add(1, std::memory_order_acq_rel);
    map_.erase(key);
  }
  void clear() {
    std::unique_lock lock(mu_);
    gen_.fetch_add(1, std::memory_order_acq_rel);
    map_.clear();
  }

 private:
  std::shared_mutex mu_;
  std::atomic<uint64_t> gen_{0};
  std::unordered_map<std::string, std::shared_ptr<const CurrentParam>> map_;
};

Cache& cache() {
  static Cache c;
  return c;
}

std::string cacheKey(const std::string& account, const std::string& region,
                     const std::string& name) {
  std::string k;
  k.reserve(account.size() + region.size() + name.size() + 2);
  k.append(account).append(1, '\n').append(region).append(1, '\n').append(name);
  return k;
}

}  // namespace

std::optional<CurrentParam> loadCurrentTx(store::Tx& tx, const std::string& account,
                                          const std::string& region, const std::string& name) {
  auto rows = tx.query(std::string("SELECT ") + kCols +
                           " FROM ssm_parameters WHERE account_id = ? AND region = ? AND name = ?",
                       {account, region, name});
  if (rows.empty()) return std::nullopt;
  CurrentParam c;
  c.rec = fromRow(rows[0]);
  c.rec.labels = labelsOf(tx, account, region, name, c.rec.version);
  c.tags = loadTags(tx, account, region, name);
  return c;
}

std::shared_ptr<const CurrentParam> loadCurrent(RequestContext& ctx, const std::string& name) {
  const std::string key = cacheKey(ctx.account_id, ctx.region, name);
  if (auto hit = cache().get(key)) return hit;
  if (ctx.tx_) {
    // The request's own transaction may predate a concurrent change: read, do not cache.
    auto c = loadCurrentTx(*ctx.tx_, ctx.account_id, ctx.region, name);
    return c ? std::make_shared<const CurrentParam>(std::move(*c)) : nullptr;
  }
  const uint64_t gen = cache().generation();
  auto tx = ctx.services->store.begin(false);
  auto c = loadCurrentTx(*tx, ctx.account_id, ctx.region, name);
  tx->rollback();
  if (!c) return nullptr;
  auto p = std::make_shared<const CurrentParam>(std::move(*c));
  cache().fill(key, gen, p);
  return p;
}

std::optional<ParamRecord> loadVersion(store::Tx& tx, const std::string& account,
                                       const std::string& region, const std::string& name,
                                       int64_t version) {
  auto rows = tx.query(std::string("SELECT ") + kCols +
                           " FROM ssm_versions WHERE account_id = ? AND region = ? AND name = ? "
                           "AND version = ?",
                       {account, region, name, version});
  if (rows.empty()) return std::nullopt;
  ParamRecord p = fromRow(rows[0]);
  p.labels = labelsOf(tx, account, region, name, version);
  return p;
}

std::optional<int64_t> versionOfLabel(store::Tx& tx, const std::string& account,
                                      const std::string& region, const std::string& name,
                                      const std::string& label) {
  auto rows = tx.query(
      "SELECT version FROM ssm_labels WHERE account_id = ? AND region = ? AND name = ? AND "
      "label = ?",
      {account, region, name, label});
  if (rows.empty()) return std::nullopt;
  return rows[0].integer(0);
}

std::vector<ParamRecord> loadHistory(store::Tx& tx, const std::string& account,
                                     const std::string& region, const std::string& name) {
  std::vector<ParamRecord> out;
  for (const auto& r : tx.query(std::string("SELECT ") + kCols +
                                    " FROM ssm_versions WHERE account_id = ? AND region = ? AND "
                                    "name = ? ORDER BY version",
                                {account, region, name}))
    out.push_back(fromRow(r));
  std::unordered_map<int64_t, ParamRecord*> by_version;
  for (auto& p : out) by_version[p.version] = &p;
  for (const auto& r :
       tx.query("SELECT label, version FROM ssm_labels WHERE account_id = ? AND region = ? AND "
                "name = ? ORDER BY label",
                {account, region, name}))
    if (auto it = by_version.find(r.integer(1)); it != by_version.end())
      it->second->labels.push_back(r.text(0));
  return out;
}

std::vector<CurrentParam> listCurrent(store::Tx& tx, const std::string& account,
                                      const std::string& region, const std::string& prefix) {
  std::vector<CurrentParam> out;
  std::string sql =
      std::string("SELECT ") + kCols + " FROM ssm_parameters WHERE account_id = ? AND region = ?";
  std::vector<store::Value> params{account, region};
  if (!prefix.empty()) {
    sql += " AND substr(name, 1, ?) = ?";
    params.emplace_back(static_cast<int64_t>(prefix.size()));
    params.emplace_back(prefix);
  }
  sql += " ORDER BY name";
  std::unordered_map<std::string, size_t> index;
  for (const auto& r : tx.query(sql, params)) {
    CurrentParam c;
    c.rec = fromRow(r);
    index[c.rec.name] = out.size();
    out.push_back(std::move(c));
  }
  if (out.empty()) return out;
  for (const auto& r :
       tx.query("SELECT t.name, t.tag_key, t.tag_value FROM ssm_tags t WHERE t.account_id = ? AND "
                "t.region = ? ORDER BY t.tag_key",
                {account, region}))
    if (auto it = index.find(r.text(0)); it != index.end())
      out[it->second].tags.emplace_back(r.text(1), r.text(2));
  for (const auto& r :
       tx.query("SELECT l.name, l.label FROM ssm_labels l JOIN ssm_parameters p ON "
                "p.account_id = l.account_id AND p.region = l.region AND p.name = l.name AND "
                "p.version = l.version WHERE l.account_id = ? AND l.region = ? ORDER BY l.label",
                {account, region}))
    if (auto it = index.find(r.text(0)); it != index.end())
      out[it->second].rec.labels.push_back(r.text(1));
  return out;
}

void writeVersion(store::Tx& tx, const std::string& account, const std::string& region,
                  const ParamRecord& p) {
  const std::vector<store::Value> values{
      account,           region,     p.name,        p.version,      p.type,
      p.value,           p.key_id,   p.tier,        p.data_type,    p.description,
      p.allowed_pattern, p.policies, p.modified_ms, p.modified_user};
  const std::string cols = std::string("account_id, region, ") + kCols;
  tx.exec("INSERT INTO ssm_versions (" + cols + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", values);
  tx.exec(
      "INSERT OR REPLACE INTO ssm_parameters (" + cols + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
      values);
  invalidateAfterCommit(tx, account, region, p.name);
}

void deleteParam(runtime::Services& s, store::Tx& tx, const std::string& account,
                 const std::string& region, const std::string& name) {
  for (const char* table : {"ssm_parameters", "ssm_versions", "ssm_labels", "ssm_tags"})
    tx.exec(
        std::string("DELETE FROM ") + table + " WHERE account_id = ? AND region = ? AND name = ?",
        {account, region, name});
  cancelPolicies(s, tx, account, region, name);
  invalidateAfterCommit(tx, account, region, name);
}

void invalidateAfterCommit(store::Tx& tx, const std::string& account, const std::string& region,
                           const std::string& name) {
  tx.afterCommit([key = cacheKey(account, region, name)] { cache().erase(key); });
}

void clearCache() { cache().clear(); }

int64_t countStandard(store::Tx& tx, const std::string& account, const std::string& region) {
  auto rows = tx.query(
      "SELECT COUNT(*) FROM ssm_parameters WHERE account_id = ? AND region = ? AND "
      "tier = 'Standard'",
      {account, region});
  return rows.empty() ? 0 : rows[0].integer(0);
}

}  // namespace citadel::ssm
