// The IAM service's PolicyProvider: one read transaction, compiled policies from the cache.
#include "services/iam/provider.h"

#include "core/encoding.h"
#include "crypto/crypto.h"
#include "services/iam/internal.h"

namespace citadel::iamsvc {

namespace {

/// The role a session ARN names (arn:aws:sts::<acct>:assumed-role/<name>/<session>).
std::string roleNameOfSession(const std::string& arn) {
  auto pos = arn.find(":assumed-role/");
  if (pos == std::string::npos) return {};
  std::string rest = arn.substr(pos + 14);
  return rest.substr(0, rest.find('/'));
}

/// A policy that allows nothing: stands for a session policy that cannot be used.
std::shared_ptr<const iam::CompiledPolicy> allowsNothing() {
  static const auto kPolicy =
      iam::CompiledPolicy::compile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny",)"
                                   R"("NotAction":"*","Resource":"*"}]})",
                                   iam::PolicyKind::kSession, "session:unusable")
          .value();
  return kPolicy;
}

/// Grows once after every committed IAM change; a cached entry is valid only while the
/// generation it was read under is current. The generation is read before the snapshot
/// begins, so an entry filled from a snapshot older than a commit is never served after it.
std::atomic<uint64_t> g_generation{1};
constexpr size_t kMaxCachedPrincipals = 16384;

iam::PolicyCache& trustCache() {
  static iam::PolicyCache cache;
  return cache;
}

}  // namespace

std::optional<RoleForSts> findRoleForSts(store::Tx& tx, const std::string& role_arn) {
  auto e = findEntityByArn(tx, role_arn);
  if (!e || e->kind != "role") return std::nullopt;
  RoleForSts r;
  r.account_id = e->account_id;
  r.arn = e->arn;
  r.id = e->id;
  r.name = e->name;
  r.trust_policy = e->trust_policy;
  r.max_session = e->max_session;
  return r;
}

Result<std::shared_ptr<const iam::CompiledPolicy>> compiledTrustPolicy(const RoleForSts& role) {
  return trustCache().get("trust:" + role.id, crypto::sha256Hex(role.trust_policy),
                          role.trust_policy, iam::PolicyKind::kTrust);
}

void policiesChanged(store::Tx& tx) {
  tx.afterCommit([] { g_generation.fetch_add(1, std::memory_order_acq_rel); });
}

bool managedPolicyExists(store::Tx& tx, const std::string& account, const std::string& arn) {
  return findPolicy(tx, account, arn).has_value();
}

std::vector<std::shared_ptr<const iam::CompiledPolicy>> IamPolicyProvider::sessionPolicies(
    const std::string& account, const std::string& session_key, const std::string& inline_policy,
    const std::vector<std::string>& policy_arns) {
  std::vector<std::shared_ptr<const iam::CompiledPolicy>> out;
  if (!inline_policy.empty()) {
    auto compiled =
        cache_.get("session:" + session_key, "1", inline_policy, iam::PolicyKind::kSession);
    out.push_back(compiled.ok() ? std::move(compiled).value() : allowsNothing());
  }
  if (policy_arns.empty()) return out;
  auto tx = db_.begin(false);
  for (const auto& arn : policy_arns) {
    auto p = findPolicy(*tx, account, arn);
    std::optional<std::string> doc;
    if (p) doc = policyDocument(*tx, p->id, p->default_version);
    if (!doc) {
      out.push_back(allowsNothing());
      continue;
    }
    auto compiled = cache_.get(p->id, p->default_version, *doc, iam::PolicyKind::kIdentity);
    out.push_back(compiled.ok() ? std::move(compiled).value() : allowsNothing());
  }
  return out;
}

runtime::PrincipalPolicies IamPolicyProvider::policiesFor(const runtime::Principal& principal) {
  using Type = runtime::Principal::Type;
  if (principal.type != Type::kIamUser && principal.type != Type::kAssumedRole) return {};
  // A role's sessions share their role's policies: key by account and role name.
  std::string key = principal.type == Type::kIamUser
                        ? "u " + principal.arn
                        : "r " + principal.account_id + " " + toLower(roleNameOfSession(principal.arn));
  const uint64_t generation = g_generation.load(std::memory_order_acquire);
  {
    std::shared_lock lock(principals_mu_);
    auto it = principals_.find(key);
    if (it != principals_.end() && it->second.generation == generation)
      return *it->second.policies;
  }
  auto loaded = std::make_shared<const runtime::PrincipalPolicies>(load(principal));
  {
    std::unique_lock lock(principals_mu_);
    if (principals_.size() >= kMaxCachedPrincipals) principals_.clear();
    auto& slot = principals_[key];
    if (slot.generation <= generation) slot = Cached{generation, loaded};
  }
  return *loaded;
}

runtime::PrincipalPolicies IamPolicyProvider::load(const runtime::Principal& principal) {
  runtime::PrincipalPolicies out;
  using Type = runtime::Principal::Type;
  auto tx = db_.begin(false);

  std::vector<store::Row> rows;
  if (principal.type == Type::kIamUser) {
    rows = tx->query("SELECT id, boundary_arn FROM iam_entities WHERE arn = ? AND kind = 'user'",
                     {principal.arn});
  } else {
    rows = tx->query(
        "SELECT id, boundary_arn FROM iam_entities WHERE kind = 'role' AND account_id = ? AND "
        "name_key = ?",
        {principal.account_id, toLower(roleNameOfSession(principal.arn))});
  }
  if (rows.empty()) {
    out.exists = false;
    return out;
  }
  std::string id = rows[0].text(0);
  std::string boundary_arn = rows[0].text(1);

  // The principal itself and (for users) its groups.
  const char* kHolders =
      "(SELECT ? UNION ALL SELECT group_id FROM iam_group_members WHERE user_id = ?)";
  for (const auto& r :
       tx->query(std::string("SELECT entity_id, name, document, rev FROM iam_inline_policies WHERE "
                             "entity_id IN ") +
                     kHolders,
                 {id, id})) {
    auto compiled = cache_.get("inline:" + r.text(0) + ":" + r.text(1), r.text(3), r.text(2),
                               iam::PolicyKind::kIdentity);
    if (compiled.ok()) out.identity.push_back(std::move(compiled).value());
  }
  for (const auto& r : tx->query(
           std::string("SELECT DISTINCT p.id, p.default_version, v.document FROM iam_attachments "
                       "a JOIN iam_policies p ON p.arn = a.policy_arn JOIN iam_policy_versions v "
                       "ON v.policy_id = p.id AND v.version_id = p.default_version WHERE "
                       "a.entity_id IN ") +
               kHolders,
           {id, id})) {
    auto compiled = cache_.get(r.text(0), r.text(1), r.text(2), iam::PolicyKind::kIdentity);
    if (compiled.ok()) out.identity.push_back(std::move(compiled).value());
  }
  if (!boundary_arn.empty()) {
    auto b = tx->query(
        "SELECT p.id, p.default_version, v.document FROM iam_policies p JOIN "
        "iam_policy_versions v ON v.policy_id = p.id AND v.version_id = p.default_version "
        "WHERE p.arn = ?",
        {boundary_arn});
    if (!b.empty()) {
      auto compiled = cache_.get("boundary:" + b[0].text(0), b[0].text(1), b[0].text(2),
                                 iam::PolicyKind::kBoundary);
      if (compiled.ok()) out.boundary = std::move(compiled).value();
    }
  }
  for (const auto& r :
       tx->query("SELECT tag_key, tag_value FROM iam_tags WHERE entity_id = ?", {id}))
    out.tags.emplace_back(r.text(0), r.text(1));
  return out;
}

}  // namespace citadel::iamsvc
