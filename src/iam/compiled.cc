#include "iam/compiled.h"

#include <algorithm>
#include <mutex>

namespace citadel::iam {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return !s.empty() && std::find(v.begin(), v.end(), s) != v.end();
}

// "123456789012" or "arn:aws:iam::123456789012:root" → the account id; else empty.
std::string accountOf(std::string_view v) {
  auto digits = [](std::string_view s) {
    if (s.size() != 12) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (digits(v)) return std::string(v);
  std::array<std::string_view, 6> parts;
  if (splitArn(v, parts) && parts[2] == "iam" && parts[5] == "root" && digits(parts[4])) {
    return std::string(parts[4]);
  }
  return {};
}

}  // namespace

CompiledPrincipal CompiledPrincipal::compile(const PrincipalBlock& block) {
  CompiledPrincipal p;
  p.any_ = block.wildcard;
  for (const auto& [type, value] : block.items) {
    if (type == "AWS") {
      if (value == "*") continue;
      std::string acct = accountOf(value);
      if (!acct.empty()) {
        p.accounts_.push_back(std::move(acct));
      } else {
        p.arns_.push_back(value);
      }
    } else if (type == "Service") {
      p.services_.push_back(value);
    } else if (type == "Federated") {
      p.federated_.push_back(value);
    } else if (type == "CanonicalUser") {
      p.canonical_.push_back(value);
    }
  }
  return p;
}

PrincipalMatch CompiledPrincipal::match(const PrincipalInfo& p) const {
  if (any_) return PrincipalMatch::kDirect;
  if (contains(arns_, p.arn)) return PrincipalMatch::kDirect;
  if (p.type == PrincipalType::kService && contains(services_, p.service)) {
    return PrincipalMatch::kDirect;
  }
  if (contains(federated_, p.federated_provider)) return PrincipalMatch::kDirect;
  if (contains(canonical_, p.canonical_user)) return PrincipalMatch::kDirect;
  if (p.type == PrincipalType::kAssumedRole && contains(arns_, p.role_arn)) {
    return PrincipalMatch::kRole;
  }
  if (p.type != PrincipalType::kService && p.type != PrincipalType::kAnonymous &&
      contains(accounts_, p.account)) {
    return p.type == PrincipalType::kRoot ? PrincipalMatch::kDirect : PrincipalMatch::kAccount;
  }
  return PrincipalMatch::kNone;
}

bool CompiledPrincipal::listsForNotPrincipal(const PrincipalInfo& p) const {
  if (any_) return true;
  bool account = contains(accounts_, p.account);
  switch (p.type) {
    case PrincipalType::kRoot:
      return account;
    case PrincipalType::kUser:
    case PrincipalType::kFederatedUser:
    case PrincipalType::kAssumedRole:
      // AWS: NotPrincipal documentation — list the session/user ARN and the account ARN.
      return account && contains(arns_, p.arn);
    case PrincipalType::kService:
      return contains(services_, p.service);
    case PrincipalType::kAnonymous:
      return false;
  }
  return false;
}

bool CompiledStatement::matchesAction(std::string_view action) const {
  bool any = false;
  for (const auto& a : actions) {
    if (a.match(action)) {
      any = true;
      break;
    }
  }
  return not_action ? !any : any;
}

bool CompiledStatement::matchesResource(std::string_view resource, const ContextKeys& ctx) const {
  if (!has_resource) return true;
  bool any = false;
  for (const auto& r : resources) {
    if (r.match(resource, &ctx)) {
      any = true;
      break;
    }
  }
  return not_resource ? !any : any;
}

bool CompiledStatement::conditionsHold(const ContextKeys& ctx) const {
  for (const auto& c : conditions) {
    if (!c.evaluate(ctx)) return false;
  }
  return true;
}

Result<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::compile(std::string_view json,
                                                                      PolicyKind kind,
                                                                      std::string id) {
  TRY_ASSIGN(PolicyDocument doc, parsePolicy(json, kind));
  return fromDocument(doc, kind, std::move(id));
}

Result<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::fromDocument(
    const PolicyDocument& doc, PolicyKind kind, std::string id) {
  auto policy = std::make_shared<CompiledPolicy>();
  policy->id_ = std::move(id);
  policy->kind_ = kind;
  bool vars = doc.variablesEnabled();
  for (const Statement& st : doc.statements) {
    CompiledStatement cs;
    cs.effect = st.effect;
    cs.sid = st.sid;
    cs.has_principal = st.has_principal;
    cs.not_principal = st.not_principal;
    if (st.has_principal) cs.principal = CompiledPrincipal::compile(st.principal);
    cs.not_action = st.not_action;
    for (const auto& a : st.actions) cs.actions.push_back(ActionPattern::compile(a));
    cs.has_resource = st.has_resource;
    cs.not_resource = st.not_resource;
    for (const auto& r : st.resources) cs.resources.push_back(ArnPattern::compile(r, vars));
    for (const auto& c : st.conditions) {
      TRY_ASSIGN(CompiledCondition cc, CompiledCondition::compile(c, vars));
      cs.conditions.push_back(std::move(cc));
    }
    policy->statements_.push_back(std::move(cs));
  }
  policy->sources_ = doc.statements;
  return std::shared_ptr<const CompiledPolicy>(std::move(policy));
}

Result<std::shared_ptr<const CompiledPolicy>> PolicyCache::get(std::string_view policy_id,
                                                               std::string_view version,
                                                               std::string_view document,
                                                               PolicyKind kind) {
  std::string key;
  key.reserve(policy_id.size() + version.size() + 1);
  key.append(policy_id).push_back('\0');
  key.append(version);
  {
    std::shared_lock lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) return it->second;
  }
  TRY_ASSIGN(auto compiled, CompiledPolicy::compile(document, kind, std::string(policy_id)));
  std::unique_lock lock(mu_);
  if (map_.size() >= capacity_) map_.clear();
  auto [it, inserted] = map_.emplace(std::move(key), compiled);
  return it->second;
}

void PolicyCache::invalidate(std::string_view policy_id) {
  std::unique_lock lock(mu_);
  for (auto it = map_.begin(); it != map_.end();) {
    std::string_view k = it->first;
    if (k.substr(0, k.find('\0')) == policy_id) {
      it = map_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t PolicyCache::size() const {
  std::shared_lock lock(mu_);
  return map_.size();
}

}  // namespace citadel::iam
