// KMS grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, grant
// tokens, the kms_grants table and the per-key grant cache consulted by authorization.
//
// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/grants.html
#include <algorithm>
#include <cctype>
#include <unordered_map>

#include "core/encoding.h"
#include "crypto/crypto.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

constexpr const char* kGrantsSchemaV1 =
    "CREATE TABLE kms_grants (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, grant_id TEXT NOT NULL, token TEXT NOT NULL, name TEXT NOT NULL, "
    "grantee TEXT NOT NULL, retiring TEXT NOT NULL, operations TEXT NOT NULL, "
    "constraint_type TEXT NOT NULL, constraint_json TEXT NOT NULL, "
    "issuing_account TEXT NOT NULL, created_ms INTEGER NOT NULL, "
    "PRIMARY KEY (account_id, region, key_id, grant_id));"
    "CREATE UNIQUE INDEX kms_grants_token ON kms_grants (token);"
    "CREATE INDEX kms_grants_retiring ON kms_grants (region, retiring)";

constexpr const char* kGrantColumns =
    "account_id, region, key_id, grant_id, token, name, grantee, retiring, operations, "
    "constraint_type, constraint_json, issuing_account, created_ms";

/// The grant operations AWS accepts (AWS: GrantOperation enum).
constexpr std::string_view kGrantOperations[] = {"Decrypt",
                                                 "Encrypt",
                                                 "GenerateDataKey",
                                                 "GenerateDataKeyWithoutPlaintext",
                                                 "ReEncryptFrom",
                                                 "ReEncryptTo",
                                                 "Sign",
                                                 "Verify",
                                                 "GetPublicKey",
                                                 "CreateGrant",
                                                 "RetireGrant",
                                                 "DescribeKey",
                                                 "GenerateDataKeyPair",
                                                 "GenerateDataKeyPairWithoutPlaintext",
                                                 "GenerateMac",
                                                 "VerifyMac",
                                                 "DeriveSharedSecret"};

std::atomic<uint64_t>& grantGeneration() {
  static std::atomic<uint64_t> gen{0};
  return gen;
}

struct GrantCacheEntry {
  uint64_t gen = 0;
  std::shared_ptr<const std::vector<Grant>> grants;
};

struct GrantCache {
  std::shared_mutex mu;
  std::unordered_map<std::string, GrantCacheEntry> map;
};

GrantCache& grantCache() {
  static GrantCache c;
  return c;
}

void grantsChanged(store::Tx& tx) {
  tx.afterCommit([] {
    grantGeneration().fetch_add(1, std::memory_order_acq_rel);
    GrantCache& c = grantCache();
    std::unique_lock lock(c.mu);
    c.map.clear();
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Grant grantFromRow(const store::Row& r) {
  Grant g;
  g.account_id = r.text(0);
  g.region = r.text(1);
  g.key_id = r.text(2);
  g.grant_id = r.text(3);
  g.token = r.text(4);
  g.name = r.text(5);
  g.grantee_principal = r.text(6);
  g.retiring_principal = r.text(7);
  const json::value ops = json::parse(r.text(8));
  for (const auto& op : ops.as_array()) g.operations.emplace_back(op.as_string());
  g.constraint_type = r.text(9);
  const json::value pairs = json::parse(r.text(10));
  for (const auto& [k, v] : pairs.as_object())
    g.constraint.emplace_back(std::string(k), std::string(v.as_string()));
  std::sort(g.constraint.begin(), g.constraint.end());
  g.issuing_account = r.text(11);
  g.created = fromEpochMillis(r.integer(12));
  return g;
}

std::vector<Grant> readKeyGrants(store::Tx& tx, std::string_view account, std::string_view region,
                                 std::string_view key_id) {
  std::vector<Grant> out;
  for (const auto& r :
       tx.query(std::string("SELECT ") + kGrantColumns +
                    " FROM kms_grants WHERE account_id = ? AND region = ? AND key_id = ? "
                    "ORDER BY grant_id",
                {std::string(account), std::string(region), std::string(key_id)}))
    out.push_back(grantFromRow(r));
  return out;
}

/// Runs `fn` with the request's write transaction, else a fresh read transaction.
template <typename Fn>
auto withReadTx(const RequestContext& ctx, Fn fn) {
  if (ctx.tx_ && ctx.tx_->writable()) return fn(*ctx.tx_);
  if (ctx.tx_) return fn(*ctx.tx_);
  auto tx = ctx.services->store.begin(false);
  auto out = fn(*tx);
  tx->rollback();
  return out;
}

AwsError invalidGrantToken() {
  return kmsError("InvalidGrantTokenException", "The grant token you provided is invalid.");
}

AwsError invalidGrantId(std::string_view id) {
  return kmsError("InvalidGrantIdException", "Invalid grant ID: " + std::string(id));
}

AwsError grantNotFound(std::string_view id) {
  return kmsError("NotFoundException", "Grant ID " + std::string(id) + " not found");
}

bool validGrantId(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

/// Whether the ARN `named` designates the caller: its own ARN, or for a role session the
/// role's ARN (role names are unique in an account whatever the path).
bool principalMatches(std::string_view named, const runtime::Principal& p) {
  if (named.empty()) return false;
  if (named == p.arn) return true;
  if (p.type != runtime::Principal::Type::kAssumedRole) return false;
  // arn:aws:sts::<account>:assumed-role/<role>/<session>
  constexpr std::string_view kMarker = ":assumed-role/";
  auto pos = p.arn.find(kMarker);
  if (pos == std::string::npos) return false;
  std::string_view rest = std::string_view(p.arn).substr(pos + kMarker.size());
  std::string_view role = rest.substr(0, rest.find('/'));
  std::string prefix = "arn:aws:iam::" + p.account_id + ":role/";
  if (named.rfind(prefix, 0) != 0) return false;
  std::string_view path_name = named.substr(prefix.size());
  auto slash = path_name.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path_name : path_name.substr(slash + 1);
  return name == role;
}

/// The request's constraint: its type and pairs (sorted); ValidationException when both kinds
/// are given.
Result<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> requestConstraint(
    const json::value& in) {
  std::pair<std::string, std::vector<std::pair<std::string, std::string>>> out;
  const json::value* c = in.as_object().if_contains("Constraints");
  if (!c || !c->is_object()) return out;
  for (const char* t : {"EncryptionContextEquals", "EncryptionContextSubset"}) {
    const json::value* pairs = c->as_object().if_contains(t);
    if (!pairs || !pairs->is_object() || pairs->get_object().empty()) continue;
    if (!out.first.empty())
      return AwsError::validation(
          "You can specify only one type of encryption context constraint in a grant.");
    out.first = t;
    for (const auto& [k, v] : pairs->get_object())
      out.second.emplace_back(std::string(k), v.is_string() ? std::string(v.get_string()) : "");
  }
  std::sort(out.second.begin(), out.second.end());
  return out;
}

json::object constraintJson(const Grant& g) {
  json::object pairs;
  for (const auto& [k, v] : g.constraint) pairs[k] = v;
  return json::object{{g.constraint_type, std::move(pairs)}};
}

json::object grantJson(const Grant& g) {
  json::object o;
  o["KeyId"] = keyArn(g.account_id, g.region, g.key_id);
  o["GrantId"] = g.grant_id;
  if (!g.name.empty()) o["Name"] = g.name;
  o["CreationDate"] = toEpochSeconds(g.created);
  o["GranteePrincipal"] = g.grantee_principal;
  if (!g.retiring_principal.empty()) o["RetiringPrincipal"] = g.retiring_principal;
  o["IssuingAccount"] = g.issuing_account;
  json::array ops;
  for (const auto& op : g.operations) ops.emplace_back(json::string(op));
  o["Operations"] = std::move(ops);
  if (!g.constraint_type.empty()) o["Constraints"] = constraintJson(g);
  return o;
}

int64_t limitOf(const json::value& in, int64_t fallback) {
  const json::value* v = in.as_object().if_contains("Limit");
  if (v && (v->is_int64() || v->is_uint64())) return v->to_number<int64_t>();
  return fallback;
}

bool dryRun(const json::value& in) {
  const json::value* v = in.as_object().if_contains("DryRun");
  return v && v->is_bool() && v->get_bool();
}

AwsError dryRunError() {
  return AwsError{"DryRunOperationException",
                  "The request would have succeeded, but the DryRun option is set.",
                  412,
                  true,
                  {}};
}

json::object listOutput(std::vector<Grant> grants, int64_t limit) {
  bool truncated = static_cast<int64_t>(grants.size()) > limit;
  if (truncated) grants.resize(static_cast<size_t>(limit));
  json::array out;
  for (const auto& g : grants) out.push_back(grantJson(g));
  json::object o{{"Grants", std::move(out)}, {"Truncated", truncated}};
  if (truncated) o["NextMarker"] = grants.back().grant_id;
  return o;
}

}  // namespace

std::vector<store::Migration> grantMigrations() { return {{"kms_grants", 1, kGrantsSchemaV1}}; }

std::shared_ptr<const std::vector<Grant>> keyGrants(const RequestContext& ctx, const KeyRecord& k) {
  if (ctx.tx_ && ctx.tx_->writable())
    return std::make_shared<const std::vector<Grant>>(
        readKeyGrants(*ctx.tx_, k.account_id, k.region, k.key_id));
  std::string id = k.account_id + "/" + k.region + "/" + k.key_id;
  GrantCache& c = grantCache();
  const uint64_t gen = grantGeneration().load(std::memory_order_acquire);
  {
    std::shared_lock lock(c.mu);
    auto it = c.map.find(id);
    if (it != c.map.end() && it->second.gen == gen) return it->second.grants;
  }
  auto tx = ctx.services->store.begin(false);
  auto grants = std::make_shared<const std::vector<Grant>>(
      readKeyGrants(*tx, k.account_id, k.region, k.key_id));
  tx->rollback();
  std::unique_lock lock(c.mu);
  // INVARIANT: a fill that raced with a grant change is not kept.
  if (grantGeneration().load(std::memory_order_acquire) == gen) {
    if (c.map.size() > KeyCache::kCapacity) c.map.clear();
    c.map[id] = GrantCacheEntry{gen, grants};
  }
  return grants;
}

Result<std::vector<Grant>> grantsOfTokens(const RequestContext& ctx, const json::value& in) {
  std::vector<Grant> out;
  const json::value* tokens = in.is_object() ? in.as_object().if_contains("GrantTokens") : nullptr;
  if (!tokens || !tokens->is_array() || tokens->get_array().empty()) return out;
  for (const auto& t : tokens->get_array()) {
    if (!t.is_string() || t.get_string().empty()) return invalidGrantToken();
    std::string token(t.get_string());
    auto rows = withReadTx(ctx, [&](store::Tx& tx) {
      return tx.query(std::string("SELECT ") + kGrantColumns + " FROM kms_grants WHERE token = ?",
                      {token});
    });
    if (rows.empty()) return invalidGrantToken();
    out.push_back(grantFromRow(rows[0]));
  }
  return out;
}

bool grantAllows(const Grant& g, const runtime::Principal& principal, std::string_view operation,
                 const json::object* context, bool takes_context) {
  if (std::find(g.operations.begin(), g.operations.end(), operation) == g.operations.end())
    return false;
  if (!principalMatches(g.grantee_principal, principal)) return false;
  if (!takes_context || g.constraint_type.empty()) return true;
  // AWS: in a grant constraint the keys are not case sensitive, the values are.
  std::vector<std::pair<std::string, std::string>> request;
  if (context)
    for (const auto& [k, v] : *context)
      request.emplace_back(lower(k), v.is_string() ? std::string(v.get_string()) : "");
  auto has = [&](const std::pair<std::string, std::string>& want) {
    std::string key = lower(want.first);
    return std::any_of(request.begin(), request.end(),
                       [&](const auto& p) { return p.first == key && p.second == want.second; });
  };
  if (!std::all_of(g.constraint.begin(), g.constraint.end(), has)) return false;
  if (g.constraint_type == "EncryptionContextEquals") return request.size() == g.constraint.size();
  return true;
}

bool grantAllowsCreateGrant(const Grant& g, const json::value& in) {
  // AWS: a grant created through a grant's CreateGrant permission may carry only operations of
  // that grant, and a constraint at least as strict.
  const json::value* ops = in.as_object().if_contains("Operations");
  if (!ops || !ops->is_array()) return false;
  for (const auto& op : ops->get_array())
    if (!op.is_string() || std::find(g.operations.begin(), g.operations.end(),
                                     std::string_view(op.get_string())) == g.operations.end())
      return false;
  if (g.constraint_type.empty()) return true;
  auto wanted = requestConstraint(in);
  if (!wanted.ok() || wanted->first.empty()) return false;
  if (g.constraint_type == "EncryptionContextEquals")
    return wanted->first == g.constraint_type && wanted->second == g.constraint;
  return std::all_of(g.constraint.begin(), g.constraint.end(), [&](const auto& p) {
    return std::find(wanted->second.begin(), wanted->second.end(), p) != wanted->second.end();
  });
}

void deleteKeyGrants(store::Tx& tx, const KeyRecord& k) {
  tx.exec("DELETE FROM kms_grants WHERE account_id = ? AND region = ? AND key_id = ?",
          {k.account_id, k.region, k.key_id});
  grantsChanged(tx);
}

void resetGrants(store::Tx& tx) {
  tx.exec("DELETE FROM kms_grants");
  grantsChanged(tx);
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html
Result<json::value> createGrant(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), false, Access::kCrossAccount));
  const KeyRecord& k = key->record;
  TRY_VOID(requireNotPendingDeletion(k));
  if (k.key_state == "Unavailable") return invalidState(k);
  Grant g;
  g.account_id = k.account_id;
  g.region = k.region;
  g.key_id = k.key_id;
  g.grantee_principal = str(in, "GranteePrincipal");
  g.retiring_principal = str(in, "RetiringPrincipal");
  g.name = str(in, "Name");
  g.issuing_account = "arn:aws:iam::" + ctx.principal.account_id + ":root";
  g.created = ctx.time;
  const json::value* ops = in.as_object().if_contains("Operations");
  if (!ops || !ops->is_array() || ops->get_array().empty())
    return AwsError::validation(
        "1 validation error detected: Value null at 'operations' failed to satisfy constraint: "
        "Member must not be null");
  for (const auto& op : ops->get_array()) {
    std::string name = op.is_string() ? std::string(op.get_string()) : std::string();
    if (std::find(std::begin(kGrantOperations), std::end(kGrantOperations), name) ==
        std::end(kGrantOperations))
      return AwsError::validation("1 validation error detected: Value '" + name +
                                  "' at 'operations' failed to satisfy constraint: Member must "
                                  "satisfy enum value set");
    if (std::find(g.operations.begin(), g.operations.end(), name) == g.operations.end())
      g.operations.push_back(std::move(name));
  }
  TRY_ASSIGN(auto constraint, requestConstraint(in));
  g.constraint_type = std::move(constraint.first);
  g.constraint = std::move(constraint.second);
  if (!g.constraint_type.empty() && k.key_spec != "SYMMETRIC_DEFAULT")
    return AwsError::validation(
        "Grant constraints are not supported for asymmetric or HMAC KMS keys.");
  if (dryRun(in)) return dryRunError();

  json::value op_json(json::array{});
  for (const auto& op : g.operations) op_json.as_array().emplace_back(json::string(op));
  json::object pairs;
  for (const auto& [pk, pv] : g.constraint) pairs[pk] = pv;
  store::Tx& tx = ctx.tx();
  // AWS: a retry with the same Name (and the same grant) gets the existing grant back.
  if (!g.name.empty()) {
    for (const auto& existing : readKeyGrants(tx, k.account_id, k.region, k.key_id)) {
      if (existing.name == g.name && existing.grantee_principal == g.grantee_principal &&
          existing.retiring_principal == g.retiring_principal &&
          existing.operations == g.operations && existing.constraint_type == g.constraint_type &&
          existing.constraint == g.constraint)
        return json::value(
            json::object{{"GrantToken", existing.token}, {"GrantId", existing.grant_id}});
    }
  }
  g.grant_id = hexEncode(crypto::randomBytes(32));
  std::string token = base64Encode(crypto::randomBytes(96));
  for (auto& c : token) c = c == '+' ? '-' : c == '/' ? '_' : c;
  g.token = std::move(token);
  tx.exec(std::string("INSERT INTO kms_grants (") + kGrantColumns +
              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {g.account_id, g.region, g.key_id, g.grant_id, g.token, g.name, g.grantee_principal,
           g.retiring_principal, json::serialize(op_json), g.constraint_type,
           json::serialize(pairs), g.issuing_account, toEpochMillis(g.created)});
  grantsChanged(tx);
  return json::value(json::object{{"GrantToken", g.token}, {"GrantId", g.grant_id}});
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html
Result<json::value> listGrants(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), false, Access::kCrossAccount));
  const KeyRecord& k = key->record;
  std::string grant_id = str(in, "GrantId");
  if (!grant_id.empty() && !validGrantId(grant_id)) return invalidGrantId(grant_id);
  std::string grantee = str(in, "GranteePrincipal");
  std::string marker = str(in, "Marker");
  int64_t limit = limitOf(in, 50);
  std::vector<Grant> grants;
  for (auto& g : readKeyGrants(ctx.tx(), k.account_id, k.region, k.key_id)) {
    if (!marker.empty() && g.grant_id <= marker) continue;
    if (!grant_id.empty() && g.grant_id != grant_id) continue;
    if (!grantee.empty() && g.grantee_principal != grantee) continue;
    grants.push_back(std::move(g));
  }
  return json::value(listOutput(std::move(grants), limit));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListRetirableGrants.html
// Grants of any account whose retiring principal is the one given, in this Region.
Result<json::value> listRetirableGrants(RequestContext& ctx, const json::value& in) {
  std::string retiring = str(in, "RetiringPrincipal");
  std::string marker = str(in, "Marker");
  int64_t limit = limitOf(in, 50);
  auto rows = ctx.tx().query(std::string("SELECT ") + kGrantColumns +
                                 " FROM kms_grants WHERE region = ? AND retiring = ? AND "
                                 "grant_id > ? ORDER BY grant_id LIMIT ?",
                             {ctx.region, retiring, marker, limit + 1});
  std::vector<Grant> grants;
  for (const auto& r : rows) grants.push_back(grantFromRow(r));
  return json::value(listOutput(std::move(grants), limit));
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_RetireGrant.html
// "Permission to retire a grant is determined primarily by the grant": its retiring principal,
// its grantee when RetireGrant is one of its operations, or the root user of the account that
// owns the key or issued the grant. No policy alone allows it.
Result<json::value> retireGrant(RequestContext& ctx, const json::value& in) {
  std::string token = str(in, "GrantToken");
  std::string key_input = str(in, "KeyId");
  std::string grant_id = str(in, "GrantId");
  store::Tx& tx = ctx.tx();
  std::optional<Grant> grant;
  if (!token.empty()) {
    auto rows = tx.query(
        std::string("SELECT ") + kGrantColumns + " FROM kms_grants WHERE token = ?", {token});
    if (rows.empty()) return invalidGrantToken();
    grant = grantFromRow(rows[0]);
  } else {
    if (key_input.empty() || grant_id.empty())
      return AwsError::validation(
          "Either a grant token or both a key ARN and a grant ID must be specified.");
    TRY_ASSIGN(auto key, resolveKey(ctx, key_input, false, Access::kCrossAccount));
    if (!validGrantId(grant_id)) return invalidGrantId(grant_id);
    for (auto& g :
         readKeyGrants(tx, key->record.account_id, key->record.region, key->record.key_id))
      if (g.grant_id == grant_id) grant = std::move(g);
    if (!grant) return grantNotFound(grant_id);
  }
  const std::string key_arn = keyArn(grant->account_id, grant->region, grant->key_id);
  ctx.resources = {{"AWS::KMS::Key", key_arn}};
  const runtime::Principal& p = ctx.principal;
  const bool allowed = principalMatches(grant->retiring_principal, p) ||
                       (principalMatches(grant->grantee_principal, p) &&
                        std::find(grant->operations.begin(), grant->operations.end(),
                                  "RetireGrant") != grant->operations.end()) ||
                       (p.type == runtime::Principal::Type::kRoot &&
                        (p.account_id == grant->account_id ||
                         grant->issuing_account == "arn:aws:iam::" + p.account_id + ":root"));
  if (!allowed)
    return AwsError{"AccessDeniedException",
                    "User: " + p.arn +
                        " is not authorized to perform: kms:RetireGrant on "
                        "resource: " +
                        key_arn + " because the grant does not allow it",
                    400,
                    true,
                    {}};
  if (dryRun(in)) return dryRunError();
  tx.exec(
      "DELETE FROM kms_grants WHERE account_id = ? AND region = ? AND key_id = ? AND "
      "grant_id = ?",
      {grant->account_id, grant->region, grant->key_id, grant->grant_id});
  grantsChanged(tx);
  return json::value(nullptr);
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_RevokeGrant.html
Result<json::value> revokeGrant(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(auto key, resolveKey(ctx, str(in, "KeyId"), false, Access::kCrossAccount));
  const KeyRecord& k = key->record;
  std::string grant_id = str(in, "GrantId");
  if (!validGrantId(grant_id)) return invalidGrantId(grant_id);
  store::Tx& tx = ctx.tx();
  tx.exec(
      "DELETE FROM kms_grants WHERE account_id = ? AND region = ? AND key_id = ? AND "
      "grant_id = ?",
      {k.account_id, k.region, k.key_id, grant_id});
  if (tx.changes() == 0) return grantNotFound(grant_id);
  if (dryRun(in)) return dryRunError();
  grantsChanged(tx);
  return json::value(nullptr);
}

}  // namespace citadel::kms
