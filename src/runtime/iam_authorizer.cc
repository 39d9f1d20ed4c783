#include "runtime/iam_authorizer.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "core/time.h"
#include "iam/evaluator.h"
#include "protocol/model.h"
#include "runtime/authorization_message.h"
#include "runtime/services.h"

namespace citadel::runtime {
namespace {

iam::PrincipalType engineType(Principal::Type t) {
  switch (t) {
    case Principal::Type::kRoot: return iam::PrincipalType::kRoot;
    case Principal::Type::kIamUser: return iam::PrincipalType::kUser;
    case Principal::Type::kAssumedRole: return iam::PrincipalType::kAssumedRole;
    case Principal::Type::kFederatedUser: return iam::PrincipalType::kFederatedUser;
    case Principal::Type::kAwsService: return iam::PrincipalType::kService;
    case Principal::Type::kAnonymous: return iam::PrincipalType::kAnonymous;
  }
  return iam::PrincipalType::kAnonymous;
}

}  // namespace

PrincipalPolicies effectivePolicies(Services& services, const Principal& p) {
  PrincipalPolicies policies;
  if (p.type == Principal::Type::kRoot || p.type == Principal::Type::kAnonymous ||
      !services.policies)
    return policies;
  policies = services.policies->policiesFor(p);
  if (p.type != Principal::Type::kAssumedRole || !policies.exists) return policies;
  auto cred = services.identity.lookup(p.access_key_id);
  if (!cred || !cred->session) return policies;  // a pre-AssumeRole session row: role only
  const SessionInfo& s = *cred->session;
  policies.role_arn = s.role_arn;
  policies.source_identity = s.source_identity;
  for (const auto& [k, v] : s.tags) {
    bool replaced = false;
    for (auto& t : policies.tags) {
      if (t.first.size() == k.size() &&
          std::equal(k.begin(), k.end(), t.first.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        t = {k, v};  // AWS: a session tag overrides the role's tag with the same key
        replaced = true;
      }
    }
    if (!replaced) policies.tags.emplace_back(k, v);
  }
  if (s.hasSessionPolicies())
    policies.session = services.policies->sessionPolicies(p.account_id, p.access_key_id,
                                                          s.policy, s.policy_arns);
  return policies;
}

void IamAuthorizer::fillGlobalKeys(const RequestContext& ctx, iam::ContextKeys& keys) {
  const Principal& p = ctx.principal;
  keys.set("aws:SourceIp", ctx.source_ip);
  keys.set("aws:CurrentTime", formatIso8601(ctx.time));
  keys.set("aws:EpochTime", std::to_string(toEpochMillis(ctx.time) / 1000));
  keys.set("aws:RequestedRegion", ctx.region);
  keys.set("aws:SecureTransport", ctx.http && ctx.http->tls ? "true" : "false");
  keys.set("aws:ViaAWSService", p.invoked_by.empty() ? "false" : "true");
  if (!p.principal_id.empty()) keys.set("aws:userid", p.principal_id);
  if (!ctx.user_agent.empty()) keys.set("aws:UserAgent", ctx.user_agent);
  // AWS: aws:MultiFactorAuthPresent is absent for long-term keys, present for sessions.
  if (!p.session_token.empty()) {
    keys.set("aws:MultiFactorAuthPresent", p.mfa_authenticated ? "true" : "false");
    if (p.mfa_authenticated)
      keys.set("aws:MultiFactorAuthAge",
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(ctx.time -
                                                                               p.mfa_time)
                                  .count()));
  }
  if (!p.invoked_by.empty()) keys.setMulti("aws:CalledVia", {p.invoked_by});
  // aws:PrincipalOrgID / aws:PrincipalOrgPaths for principals of an organization's accounts.
  if (ctx.services && ctx.services->organizations && !p.account_id.empty() &&
      p.type != Principal::Type::kAnonymous && p.type != Principal::Type::kAwsService) {
    auto org = ctx.services->organizations->orgFor(p.account_id);
    if (org->in_org) {
      keys.set("aws:PrincipalOrgID", org->org_id);
      keys.setMulti("aws:PrincipalOrgPaths", {org->org_path});
    }
  }
}

void IamAuthorizer::fillVpcKeys(const RequestContext& ctx, const std::string& vpc_header,
                                const std::string& vpce_header, iam::ContextKeys& keys) {
  if (!ctx.http) return;
  if (!vpc_header.empty())
    if (const std::string* v = ctx.http->header(vpc_header)) keys.set("aws:SourceVpc", *v);
  if (!vpce_header.empty())
    if (const std::string* v = ctx.http->header(vpce_header)) keys.set("aws:SourceVpce", *v);
}

std::shared_ptr<const OrgInfo> IamAuthorizer::addServiceControlPolicies(Services& services,
                                                                        const Principal& p,
                                                                        iam::EvalRequest& req) {
  // SCPs bind every principal of a member account (root included); the management account is
  // exempt. One cached read per account (none for accounts outside any organization).
  if (!services.organizations || p.type == Principal::Type::kAnonymous ||
      p.type == Principal::Type::kAwsService)
    return nullptr;
  std::shared_ptr<const OrgInfo> org = services.organizations->orgFor(p.account_id);
  if (org && org->in_org) {
    req.is_management_account = org->is_management;
    for (const auto& level : org->scp_levels) {
      auto& out = req.scp_levels.emplace_back();
      for (const auto& pol : level) out.push_back(pol.get());
    }
  }
  return org;
}

Result<void> IamAuthorizer::authorize(const RequestContext& ctx, const std::string& action,
                                      const std::vector<std::string>& resources) {
  return authorize(ctx, action, resources, nullptr);
}

Result<void> IamAuthorizer::authorize(const RequestContext& ctx, const std::string& action,
                                      const std::vector<std::string>& resources,
                                      const AuthInputs* inputs) {
  const Principal& p = ctx.principal;
  iam::EvalRequest req;
  req.principal.type = engineType(p.type);
  req.principal.arn = p.arn;
  req.principal.account = p.account_id;
  req.action = action;
  req.resource_account = ctx.account_id == p.account_id ? std::string() : ctx.account_id;

  PrincipalPolicies policies = effectivePolicies(services_, p);
  if (!policies.exists) {
    return AwsError{"AccessDenied",
                    "User: " + p.arn + " is not authorized to perform: " + action +
                        " because the principal no longer exists",
                    403, true, {}};
  }
  req.principal.tags = policies.tags;
  req.principal.role_arn = policies.role_arn;
  for (const auto& pol : policies.identity) req.identity_policies.push_back(pol.get());
  req.permissions_boundary = policies.boundary.get();
  for (const auto& pol : policies.session) req.session_policies.push_back(pol.get());

  // Keeps the organization's compiled SCPs alive while `req` points at them.
  std::shared_ptr<const OrgInfo> org = addServiceControlPolicies(services_, p, req);

  iam::ContextKeys keys;
  fillGlobalKeys(ctx, keys);
  fillVpcKeys(ctx, services_.config.source_vpc_header, services_.config.source_vpce_header, keys);
  iam::addPrincipalKeys(req.principal, keys);
  if (!policies.source_identity.empty()) keys.set("aws:SourceIdentity", policies.source_identity);
  if (inputs) {
    for (const auto& [name, values] : inputs->condition_keys) keys.setMulti(name, values);
    req.resource_policy = inputs->resource_policy.get();
    if (!inputs->resource_account.empty())
      req.resource_account =
          inputs->resource_account == p.account_id ? std::string() : inputs->resource_account;
    req.resource_policy_required = inputs->resource_policy_required;
  }
  req.context = &keys;

  static const std::vector<std::string> kAnyResource{"*"};
  const auto& targets = resources.empty() ? kAnyResource : resources;
  for (const auto& resource : targets) {
    req.resource = resource;
    iam::EvalResult result = iam::evaluate(req);
    if (result.decision == iam::Decision::kAllow) continue;
    // AWS: a grant allows what the policies leave undecided, never what one denies.
    if (result.decision == iam::Decision::kImplicitDeny && inputs && inputs->alternative_allow &&
        inputs->alternative_allow())
      continue;
    AwsError denied{"AccessDenied", iam::accessDeniedMessage(req, result), 403, true, {}};
    const auto& encoded = services_.config.encode_authorization_messages;
    if (!encoded.empty() && !p.account_id.empty() &&
        encodesAuthorizationMessages(encoded, action.substr(0, action.find(':')))) {
      // AWS (EC2): "... Encoded authorization failure message: <token>".
      denied.message += ". ";
      denied.message += kEncodedMessageMarker;
      denied.message +=
          encodeAuthorizationMessage(services_.barrier, p.account_id, req, result, p.principal_id);
    }
    return denied;
  }
  return okResult();
}

namespace {

/// Where an operation's input carries its tags (found once per model operation).
struct TagSource {
  enum class Kind : uint8_t { kNone, kPairs, kMap, kKeys, kSpecs };
  Kind kind = Kind::kNone;
  std::string member;       ///< input member holding the tags
  std::string key_field;    ///< kPairs/kSpecs: "Key" / "TagKey" / "key"
  std::string value_field;  ///< kPairs/kSpecs: "Value" / "TagValue" / "value"
  std::string inner;        ///< kSpecs: the member of each specification holding the pairs
};

/// A list of {Key,Value}-like structures: fills the field names.
bool pairShape(const protocol::Shape* list, TagSource& out) {
  if (!list || list->type != protocol::ShapeType::kList || !list->member) return false;
  const protocol::Shape* e = list->member->shape;
  if (!e || e->type != protocol::ShapeType::kStructure) return false;
  for (const auto& [k, v] : {std::pair{"Key", "Value"}, {"TagKey", "TagValue"}, {"key", "value"}}) {
    if (e->findMember(k) && e->findMember(v)) {
      out.key_field = k;
      out.value_field = v;
      return true;
    }
  }
  return false;
}

TagSource findTagSource(const protocol::Operation& op) {
  TagSource t;
  const protocol::Shape* in = op.input;
  if (!in || in->type != protocol::ShapeType::kStructure) return t;
  for (const auto& m : in->members) {
    const protocol::Shape* s = m.shape;
    if (!s) continue;
    if (m.name == "Tags" || m.name == "tags" || m.name == "TagList" || m.name == "TagsList") {
      if (s->type == protocol::ShapeType::kMap) {
        t.kind = TagSource::Kind::kMap;
      } else if (pairShape(s, t)) {
        t.kind = TagSource::Kind::kPairs;
      } else if (s->type == protocol::ShapeType::kList && s->member && s->member->shape &&
                 s->member->shape->type == protocol::ShapeType::kString) {
        t.kind = TagSource::Kind::kKeys;  // logs UntagLogGroup: "tags" is a list of keys
      } else {
        continue;
      }
    } else if (m.name == "TagKeys" || m.name == "tagKeys") {
      if (s->type != protocol::ShapeType::kList) continue;
      t.kind = TagSource::Kind::kKeys;
    } else if (m.name == "TagSpecifications") {
      // EC2: [{ResourceType, Tags: [{Key, Value}]}]
      if (s->type != protocol::ShapeType::kList || !s->member || !s->member->shape) continue;
      const protocol::Member* inner = s->member->shape->findMember("Tags");
      if (!inner || !pairShape(inner->shape, t)) continue;
      t.kind = TagSource::Kind::kSpecs;
      t.inner = "Tags";
    } else {
      continue;
    }
    t.member = m.name;
    return t;
  }
  return t;
}

/// The operation's tag source; computed on first use. Model operations live as long as the
/// process, so their address is a stable key.
const TagSource& tagSource(const protocol::Operation& op) {
  static std::shared_mutex mu;
  static std::unordered_map<const protocol::Operation*, TagSource> cache;
  {
    std::shared_lock lock(mu);
    auto it = cache.find(&op);
    if (it != cache.end()) return it->second;
  }
  TagSource t = findTagSource(op);
  std::unique_lock lock(mu);
  // INVARIANT: entries are never erased, so references stay valid (unordered_map nodes).
  return cache.try_emplace(&op, std::move(t)).first->second;
}

void addPairs(const boost::json::array& pairs, const TagSource& t,
              std::vector<std::pair<std::string, std::vector<std::string>>>& keys,
              std::vector<std::string>& tag_keys) {
  for (const auto& item : pairs) {
    const auto* o = item.if_object();
    if (!o) continue;
    const auto* k = o->if_contains(t.key_field);
    if (!k || !k->is_string()) continue;
    const auto* v = o->if_contains(t.value_field);
    std::string value = v && v->is_string() ? std::string(v->get_string()) : std::string();
    keys.push_back({"aws:RequestTag/" + std::string(k->get_string()), {std::move(value)}});
    tag_keys.emplace_back(k->get_string());
  }
}

}  // namespace

void addRequestTagKeys(const protocol::Operation& op, const boost::json::value& input,
                       std::optional<AuthInputs>& out) {
  const TagSource& t = tagSource(op);
  if (t.kind == TagSource::Kind::kNone) return;
  const auto* doc = input.if_object();
  if (!doc) return;
  const boost::json::value* v = doc->if_contains(t.member);
  if (!v || v->is_null()) return;

  std::vector<std::pair<std::string, std::vector<std::string>>> keys;
  std::vector<std::string> tag_keys;
  switch (t.kind) {
    case TagSource::Kind::kNone:
      return;
    case TagSource::Kind::kPairs:
      if (const auto* a = v->if_array()) addPairs(*a, t, keys, tag_keys);
      break;
    case TagSource::Kind::kMap:
      if (const auto* o = v->if_object()) {
        for (const auto& kv : *o) {
          std::string value =
              kv.value().is_string() ? std::string(kv.value().get_string()) : std::string();
          keys.push_back({"aws:RequestTag/" + std::string(kv.key()), {std::move(value)}});
          tag_keys.emplace_back(kv.key());
        }
      }
      break;
    case TagSource::Kind::kKeys:
      if (const auto* a = v->if_array()) {
        for (const auto& k : *a)
          if (k.is_string()) tag_keys.emplace_back(k.get_string());
      }
      break;
    case TagSource::Kind::kSpecs:
      if (const auto* a = v->if_array()) {
        for (const auto& spec : *a) {
          const auto* so = spec.if_object();
          const boost::json::value* pairs = so ? so->if_contains(t.inner) : nullptr;
          if (pairs && pairs->is_array()) addPairs(pairs->get_array(), t, keys, tag_keys);
        }
      }
      break;
  }
  if (!out) out.emplace();
  keys.push_back({"aws:TagKeys", std::move(tag_keys)});
  auto& dst = out->condition_keys;
  dst.insert(dst.begin(), std::make_move_iterator(keys.begin()),
             std::make_move_iterator(keys.end()));
}

}  // namespace citadel::runtime
