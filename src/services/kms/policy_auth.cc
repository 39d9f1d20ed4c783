// KMS authorization inputs: the key policy (compiled once per key revision), the kms:* and
// aws:ResourceTag/* condition keys, grants as the alternative allow, the alias operations'
// double check, ReEncrypt's ReEncryptTo check and the lockout safety check.
//
// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/policy-conditions.html
#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "iam/compiled.h"
#include "runtime/authorizer.h"
#include "runtime/invoke.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

using CondKeys = std::vector<std::pair<std::string, std::vector<std::string>>>;

// ---------------------------------------------------------------------------------------
// Compiled key policies, by (key ARN, row revision)

iam::PolicyCache& policyCache() {
  static iam::PolicyCache cache;
  return cache;
}

std::shared_ptr<const iam::CompiledPolicy> compiledPolicy(const KeyRecord& k) {
  auto r = policyCache().get(k.arn, std::to_string(k.rev), k.policy, iam::PolicyKind::kResource);
  // A stored policy was validated when written; one that no longer compiles allows nothing.
  return r.ok() ? std::move(r).value() : nullptr;
}

// ---------------------------------------------------------------------------------------
// Tags and aliases of a key (aws:ResourceTag/*, kms:ResourceAliases), cached.
// INVARIANT: an entry is used only while both generations it was filled under are current:
// the key cache's (bumped by every key and alias change) and ours (tag changes).

struct KeyAttributes {
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::string> aliases;
};

std::atomic<uint64_t>& attrGeneration() {
  static std::atomic<uint64_t> gen{0};
  return gen;
}

struct AttrEntry {
  uint64_t kms_gen = 0;
  uint64_t own_gen = 0;
  std::shared_ptr<const KeyAttributes> attrs;
};

struct AttrCache {
  std::shared_mutex mu;
  std::unordered_map<std::string, AttrEntry> map;
};

AttrCache& attrCache() {
  static AttrCache c;
  return c;
}

KeyAttributes readAttributes(store::Tx& tx, const KeyRecord& k) {
  KeyAttributes a;
  std::vector<store::Value> id{k.account_id, k.region, k.key_id};
  for (const auto& r :
       tx.query("SELECT tag_key, tag_value FROM kms_tags WHERE account_id = ? AND region = ? AND "
                "key_id = ? ORDER BY tag_key",
                id))
    a.tags.emplace_back(r.text(0), r.text(1));
  for (const auto& r :
       tx.query("SELECT alias_name FROM kms_aliases WHERE account_id = ? AND region = ? AND "
                "key_id = ? ORDER BY alias_name",
                id))
    a.aliases.push_back(r.text(0));
  return a;
}

std::shared_ptr<const KeyAttributes> keyAttributes(const RequestContext& ctx, const KeyRecord& k) {
  if (ctx.tx_ && ctx.tx_->writable())
    return std::make_shared<const KeyAttributes>(readAttributes(*ctx.tx_, k));
  std::string id = k.account_id + "/" + k.region + "/" + k.key_id;
  AttrCache& c = attrCache();
  const uint64_t kms_gen = keyCache().generation();
  const uint64_t own_gen = attrGeneration().load(std::memory_order_acquire);
  {
    std::shared_lock lock(c.mu);
    auto it = c.map.find(id);
    if (it != c.map.end() && it->second.kms_gen == kms_gen && it->second.own_gen == own_gen)
      return it->second.attrs;
  }
  auto tx = ctx.services->store.begin(false);
  auto attrs = std::make_shared<const KeyAttributes>(readAttributes(*tx, k));
  tx->rollback();
  std::unique_lock lock(c.mu);
  if (c.map.size() > KeyCache::kCapacity) c.map.clear();
  c.map[id] = AttrEntry{kms_gen, own_gen, attrs};
  return attrs;
}

// ---------------------------------------------------------------------------------------
// Condition keys

void add(CondKeys& keys, std::string name, std::string value) {
  keys.push_back({std::move(name), {std::move(value)}});
}

const json::object* objectMember(const json::value& in, std::string_view name) {
  if (name.empty() || !in.is_object()) return nullptr;
  const json::value* v = in.as_object().if_contains(name);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

/// kms:EncryptionContext:<key> (one per pair) and kms:EncryptionContextKeys.
void addContextKeys(CondKeys& keys, const json::object* context) {
  if (!context || context->empty()) return;
  std::vector<std::string> names;
  for (const auto& [k, v] : *context) {
    names.emplace_back(k);
    add(keys, "kms:EncryptionContext:" + std::string(k),
        v.is_string() ? std::string(v.get_string()) : std::string());
  }
  keys.push_back({"kms:EncryptionContextKeys", std::move(names)});
}

/// Keys of every request: kms:CallerAccount and, through a service, kms:ViaService.
void addRequestKeys(CondKeys& keys, const RequestContext& ctx) {
  add(keys, "kms:CallerAccount", ctx.principal.account_id);
  if (!ctx.via_service.empty()) add(keys, "kms:ViaService", ctx.via_service);
}

void addCopies(CondKeys& keys, const std::vector<KeyAuth::Copy>& copies, const json::value& in) {
  for (const auto& c : copies) {
    const json::value* v = in.is_object() ? in.as_object().if_contains(c.member) : nullptr;
    if (v && v->is_string()) {
      add(keys, std::string(c.key), std::string(v->get_string()));
    } else if (v && v->is_bool()) {
      add(keys, std::string(c.key), v->get_bool() ? "true" : "false");
    } else if (v && (v->is_int64() || v->is_uint64())) {
      add(keys, std::string(c.key), std::to_string(v->to_number<int64_t>()));
    } else if (!c.fallback.empty()) {
      add(keys, std::string(c.key), std::string(c.fallback));
    }
  }
}

/// The key's own keys: spec, usage, origin, multi-Region, aliases and tags.
void addKeyKeys(CondKeys& keys, const RequestContext& ctx, const KeyRecord& k) {
  add(keys, "kms:KeySpec", k.key_spec);
  add(keys, "kms:KeyUsage", k.key_usage);
  add(keys, "kms:KeyOrigin", k.origin);
  add(keys, "kms:MultiRegion", k.multi_region ? "true" : "false");
  // AWS: the deprecated spellings still work in policies.
  add(keys, "kms:CustomerMasterKeySpec", k.key_spec);
  add(keys, "kms:CustomerMasterKeyUsage", k.key_usage);
  auto attrs = keyAttributes(ctx, k);
  if (!attrs->aliases.empty()) keys.push_back({"kms:ResourceAliases", attrs->aliases});
  for (const auto& [tk, tv] : attrs->tags) add(keys, "aws:ResourceTag/" + tk, tv);
}

/// kms:RequestAlias: the alias a request names its key by ("alias/name").
void addRequestAlias(CondKeys& keys, const std::string& ref) {
  if (ref.rfind("alias/", 0) == 0) {
    add(keys, "kms:RequestAlias", ref);
  } else if (ref.rfind("arn:", 0) == 0) {
    auto pos = ref.find(":alias/");
    if (pos != std::string::npos) add(keys, "kms:RequestAlias", ref.substr(pos + 1));
  }
}

/// CreateGrant's keys: kms:GrantOperations, kms:GranteePrincipal, kms:RetiringPrincipal,
/// kms:GrantConstraintType, kms:GrantIsForAWSResource and the constraint's context as
/// kms:EncryptionContext:* (AWS applies those to the grant's constraint).
void addCreateGrantKeys(CondKeys& keys, const RequestContext& ctx, const json::value& in) {
  std::vector<std::string> ops;
  if (const json::value* v = in.as_object().if_contains("Operations"); v && v->is_array())
    for (const auto& o : v->get_array())
      if (o.is_string()) ops.emplace_back(o.get_string());
  keys.push_back({"kms:GrantOperations", std::move(ops)});
  if (std::string g = str(in, "GranteePrincipal"); !g.empty()) add(keys, "kms:GranteePrincipal", g);
  if (std::string r = str(in, "RetiringPrincipal"); !r.empty())
    add(keys, "kms:RetiringPrincipal", r);
  add(keys, "kms:GrantIsForAWSResource", ctx.via_service.empty() ? "false" : "true");
  if (const json::object* c = objectMember(in, "Constraints")) {
    std::vector<std::string> types;
    for (const char* t : {"EncryptionContextEquals", "EncryptionContextSubset"}) {
      const json::value* pairs = c->if_contains(t);
      if (pairs && pairs->is_object()) {
        types.emplace_back(t);
        addContextKeys(keys, &pairs->get_object());
      }
    }
    if (!types.empty()) keys.push_back({"kms:GrantConstraintType", std::move(types)});
  }
}

bool takesContext(std::string_view op) {
  static constexpr std::string_view kOps[] = {"Encrypt",
                                              "Decrypt",
                                              "ReEncryptFrom",
                                              "ReEncryptTo",
                                              "GenerateDataKey",
                                              "GenerateDataKeyWithoutPlaintext",
                                              "GenerateDataKeyPair",
                                              "GenerateDataKeyPairWithoutPlaintext"};
  return std::find(std::begin(kOps), std::end(kOps), op) != std::end(kOps);
}

AwsError invalidCiphertext() { return kmsError("InvalidCiphertextException", ""); }

/// The key an operation acts on, per its KeyAuth.
Result<std::shared_ptr<const CachedKey>> keyOf(const RequestContext& ctx, const json::value& in,
                                               const KeyAuth& spec, std::string& ref) {
  ref = str(in, spec.key_member);
  if (!ref.empty()) return findKey(ctx, ref, spec.allow_alias, spec.access);
  if (!spec.from_blob) return keyNotFound(ref);
  const json::value* blob = in.as_object().if_contains("CiphertextBlob");
  if (!blob || !blob->is_string()) return invalidCiphertext();
  auto h = parseBlobHeader(blob->get_string());
  if (!h) return invalidCiphertext();
  auto key =
      findKey(ctx, keyArn(h->account_id, ctx.region, h->key_id), false, Access::kCrossAccount);
  if (!key.ok() && key.error().code == "NotFoundException") return invalidCiphertext();
  return key;
}

/// Everything a key operation's AuthInputs needs, kept alive by its alternative_allow.
struct GrantCheck {
  const RequestContext* ctx = nullptr;
  const json::value* in = nullptr;
  std::shared_ptr<const CachedKey> key;
  std::vector<Grant> token_grants;
  std::string_view operation;
  std::string_view context_member;
};

bool consultGrants(const GrantCheck& g) {
  const KeyRecord& k = g.key->record;
  const json::object* context = objectMember(*g.in, g.context_member);
  const bool with_context = takesContext(g.operation) && k.key_spec == "SYMMETRIC_DEFAULT";
  auto matches = [&](const Grant& grant) {
    return grant.account_id == k.account_id && grant.region == k.region &&
           grant.key_id == k.key_id &&
           grantAllows(grant, g.ctx->principal, g.operation, context, with_context) &&
           (g.operation != "CreateGrant" || grantAllowsCreateGrant(grant, *g.in));
  };
  for (const auto& grant : g.token_grants)
    if (matches(grant)) return true;
  auto grants = keyGrants(*g.ctx, k);
  return std::any_of(grants->begin(), grants->end(), matches);
}

Result<runtime::AuthInputs> buildKeyInputs(const RequestContext& ctx, const json::value& in,
                                           const KeyAuth& spec) {
  std::string ref;
  TRY_ASSIGN(auto key, keyOf(ctx, in, spec, ref));
  const KeyRecord& k = key->record;
  runtime::AuthInputs out;
  out.resource_policy = compiledPolicy(k);
  out.resource_policy_required = true;
  out.resource_account = k.account_id;
  CondKeys& keys = out.condition_keys;
  addRequestKeys(keys, ctx);
  addKeyKeys(keys, ctx, k);
  addRequestAlias(keys, ref);
  addContextKeys(keys, objectMember(in, spec.context_member));
  addCopies(keys, spec.copies, in);
  if (spec.grant_operation == "CreateGrant") addCreateGrantKeys(keys, ctx, in);
  TRY_ASSIGN(std::vector<Grant> token_grants, grantsOfTokens(ctx, in));
  if (!spec.grant_operation.empty()) {
    auto check = std::make_shared<GrantCheck>();
    check->ctx = &ctx;
    check->in = &in;
    check->key = std::move(key);
    check->token_grants = std::move(token_grants);
    check->operation = spec.grant_operation;
    check->context_member = spec.context_member;
    // INVARIANT: called only inside the authorization of this request (ctx and in alive).
    out.alternative_allow = [check] { return consultGrants(*check); };
  }
  return out;
}

/// The caller's identity-only authorization of `action` on `resource` (no key policy).
Result<void> authorizeIdentityOnly(const RequestContext& ctx, const std::string& action,
                                   const std::string& resource) {
  if (!ctx.services || !ctx.services->authorizer) return okResult();
  runtime::AuthInputs inputs;
  addRequestKeys(inputs.condition_keys, ctx);
  return ctx.services->authorizer->authorize(ctx, action, {resource}, &inputs);
}

/// kms:ReEncryptOnSameKey on both ReEncrypt checks.
void addSameKey(CondKeys& keys, const RequestContext& ctx, const json::value& in) {
  std::string source = str(in, "SourceKeyId");
  std::string source_arn;
  if (!source.empty()) {
    source_arn = keyArnFor(ctx, source);
  } else if (const json::value* blob = in.as_object().if_contains("CiphertextBlob");
             blob && blob->is_string()) {
    if (auto h = parseBlobHeader(blob->get_string()))
      source_arn = keyArn(h->account_id, ctx.region, h->key_id);
  }
  std::string dest_arn = keyArnFor(ctx, str(in, "DestinationKeyId"));
  add(keys, "kms:ReEncryptOnSameKey", source_arn == dest_arn ? "true" : "false");
}

}  // namespace

runtime::AuthInputsFn keyAuthInputs(KeyAuth spec) {
  const bool reencrypt = spec.grant_operation == "ReEncryptFrom";
  return [spec = std::move(spec), reencrypt](const RequestContext& ctx,
                                             const json::value& in) -> Result<runtime::AuthInputs> {
    TRY_ASSIGN(runtime::AuthInputs out, buildKeyInputs(ctx, in, spec));
    if (reencrypt) addSameKey(out.condition_keys, ctx, in);
    return out;
  };
}

runtime::AuthInputsFn requestAuthInputs(std::vector<KeyAuth::Copy> copies) {
  return [copies = std::move(copies)](const RequestContext& ctx,
                                      const json::value& in) -> Result<runtime::AuthInputs> {
    runtime::AuthInputs out;
    addRequestKeys(out.condition_keys, ctx);
    addCopies(out.condition_keys, copies, in);
    return out;
  };
}

runtime::AuthInputsFn aliasAuthInputs(std::string_view operation, std::string_view key_member) {
  // AWS: https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html — the alias
  // by IAM policy, each key by its key policy (UpdateAlias: the current and the new key).
  std::string action = "kms:" + std::string(operation);
  KeyAuth spec;
  spec.key_member = key_member;
  spec.allow_alias = key_member == "AliasName";
  const bool update = operation == "UpdateAlias";
  return [action, spec, update](const RequestContext& ctx,
                                const json::value& in) -> Result<runtime::AuthInputs> {
    std::string alias = str(in, "AliasName");
    TRY_VOID(authorizeIdentityOnly(ctx, action, aliasArn(ctx.account_id, ctx.region, alias)));
    std::string target = str(in, "TargetKeyId");
    const bool target_is_alias =
        target.rfind("alias/", 0) == 0 ||
        (target.rfind("arn:", 0) == 0 && target.find(":alias/") != std::string::npos);
    if (alias.rfind("alias/aws/", 0) == 0 || target_is_alias) {
      // Reserved names (NotAuthorizedException) and alias targets (ValidationException) are
      // refused by the handler whatever the key.
      runtime::AuthInputs none;
      addRequestKeys(none.condition_keys, ctx);
      return none;
    }
    if (update && ctx.services && ctx.services->authorizer) {
      KeyAuth current;
      current.key_member = "AliasName";
      TRY_ASSIGN(runtime::AuthInputs cur, buildKeyInputs(ctx, in, current));
      std::string arn = keyArnFor(ctx, alias);
      TRY_VOID(ctx.services->authorizer->authorize(ctx, action, {arn}, &cur));
    }
    return buildKeyInputs(ctx, in, spec);
  };
}

Result<void> authorizeReEncryptTo(RequestContext& ctx, const json::value& in) {
  static const runtime::OperationSpec kSpec = [] {
    runtime::OperationSpec s;
    KeyAuth to;
    to.key_member = "DestinationKeyId";
    to.access = Access::kCrossAccount;
    to.context_member = "DestinationEncryptionContext";
    to.grant_operation = "ReEncryptTo";
    to.copies = {
        {"DestinationEncryptionAlgorithm", "kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
    auto base = keyAuthInputs(std::move(to));
    s.auth_inputs = [base](const RequestContext& c,
                           const json::value& i) -> Result<runtime::AuthInputs> {
      TRY_ASSIGN(runtime::AuthInputs out, base(c, i));
      addSameKey(out.condition_keys, c, i);
      return out;
    };
    return s;
  }();
  std::vector<std::string> resources{keyArnFor(ctx, str(in, "DestinationKeyId"))};
  auto r = runtime::authorizeOperation(ctx, kSpec, nullptr, in, "kms:ReEncryptTo", resources);
  if (!r.ok() && r.error().code == "AccessDenied") {
    AwsError e = r.error();
    e.code = "AccessDeniedException";
    return e;
  }
  return r;
}

Result<void> checkPolicyLockout(const RequestContext& ctx, const std::string& key_arn,
                                const std::string& policy) {
  if (!ctx.services || !ctx.services->authorizer) return okResult();
  auto compiled = iam::CompiledPolicy::compile(policy, iam::PolicyKind::kResource, key_arn);
  if (!compiled.ok()) return kmsError("MalformedPolicyDocumentException", compiled.error().message);
  runtime::AuthInputs inputs;
  inputs.resource_policy = std::move(compiled).value();
  inputs.resource_policy_required = true;
  inputs.resource_account = ctx.account_id;
  addRequestKeys(inputs.condition_keys, ctx);
  add(inputs.condition_keys, "kms:BypassPolicyLockoutSafetyCheck", "false");
  // AWS: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
  // ("Allows access to the AWS account and enables IAM policies" / lockout safety check).
  if (!ctx.services->authorizer->authorize(ctx, "kms:PutKeyPolicy", {key_arn}, &inputs).ok())
    return kmsError("MalformedPolicyDocumentException",
                    "The new key policy will not allow you to update the key policy in the "
                    "future.");
  return okResult();
}

void keyAttributesChanged(store::Tx& tx) {
  tx.afterCommit([] { attrGeneration().fetch_add(1, std::memory_order_acq_rel); });
}

}  // namespace citadel::kms
