#include "runtime/identity.h"

#include <boost/json.hpp>

#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/time.h"
#include "crypto/crypto.h"

namespace citadel::runtime {
namespace {
std::string sealAad(const std::string& akid) { return "citadel:access-key:" + akid; }

namespace json = boost::json;

std::string sessionToJson(const SessionInfo& s) {
  json::object o;
  o["role_arn"] = s.role_arn;
  o["role_id"] = s.role_id;
  o["policy"] = s.policy;
  json::array arns;
  for (const auto& a : s.policy_arns) arns.emplace_back(a);
  o["policy_arns"] = std::move(arns);
  json::array tags;
  for (const auto& [k, v] : s.tags) tags.emplace_back(json::array{json::value(k), json::value(v)});
  o["tags"] = std::move(tags);
  json::array keys;
  for (const auto& k : s.transitive_keys) keys.emplace_back(k);
  o["transitive_keys"] = std::move(keys);
  o["source_identity"] = s.source_identity;
  o["chained"] = s.chained;
  return json::serialize(o);
}

std::optional<SessionInfo> sessionFromJson(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  auto str = [&](const char* k) -> std::string {
    const json::value* x = o.if_contains(k);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  auto strings = [&](const char* k) {
    std::vector<std::string> out;
    if (const json::value* x = o.if_contains(k); x && x->is_array())
      for (const auto& e : x->as_array())
        if (e.is_string()) out.emplace_back(e.as_string());
    return out;
  };
  SessionInfo s;
  s.role_arn = str("role_arn");
  s.role_id = str("role_id");
  s.policy = str("policy");
  s.policy_arns = strings("policy_arns");
  if (const json::value* x = o.if_contains("tags"); x && x->is_array())
    for (const auto& e : x->as_array())
      if (e.is_array() && e.as_array().size() == 2 && e.as_array()[0].is_string() &&
          e.as_array()[1].is_string())
        s.tags.emplace_back(std::string(e.as_array()[0].as_string()),
                            std::string(e.as_array()[1].as_string()));
  s.transitive_keys = strings("transitive_keys");
  s.source_identity = str("source_identity");
  if (const json::value* x = o.if_contains("chained"); x && x->is_bool()) s.chained = x->as_bool();
  return s;
}

}  // namespace

Identity::Identity(store::Store& db, const crypto::Barrier& barrier) : db_(db), barrier_(barrier) {}

std::vector<store::Migration> Identity::migrations() {
  return {
      {"identity", 1,
       "CREATE TABLE accounts (account_id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', "
       "created_ms INTEGER NOT NULL, is_default INTEGER NOT NULL DEFAULT 0);"
       "CREATE TABLE access_keys (access_key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, "
       "principal_type TEXT NOT NULL, principal_arn TEXT NOT NULL, principal_id TEXT NOT NULL, "
       "user_name TEXT NOT NULL DEFAULT '', secret_sealed BLOB NOT NULL, "
       "status TEXT NOT NULL DEFAULT 'Active', created_ms INTEGER NOT NULL, last_used_ms INTEGER);"
       "CREATE INDEX access_keys_account ON access_keys(account_id);"},
      // Temporary credentials (STS): the token is kept only as a hash.
      {"identity", 2,
       "ALTER TABLE access_keys ADD COLUMN session_token_sha256 TEXT;"
       "ALTER TABLE access_keys ADD COLUMN expires_ms INTEGER;"
       "ALTER TABLE access_keys ADD COLUMN mfa_ms INTEGER;"
       "CREATE INDEX access_keys_expiry ON access_keys(expires_ms);"},
      // Role sessions (AssumeRole): role, session policies, tags, source identity, as JSON.
      {"identity", 3, "ALTER TABLE access_keys ADD COLUMN session_info TEXT;"}};
}

bool Identity::validAccountId(const std::string& id) {
  if (id.size() != 12) return false;
  for (char c : id)
    if (c < '0' || c > '9') return false;
  return true;
}

Principal Identity::rootPrincipal(const std::string& account_id) {
  Principal p;
  p.type = Principal::Type::kRoot;
  p.account_id = account_id;
  p.arn = "arn:aws:iam::" + account_id + ":root";
  p.principal_id = account_id;
  p.user_name = "root";
  return p;
}

std::optional<Credential> Identity::lookup(const std::string& access_key_id) {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(access_key_id);
    if (it != cache_.end()) return it->second;
  }
  auto cred = load(access_key_id);
  if (cred) {
    std::lock_guard lock(mu_);
    if (cache_.size() > 100'000) cache_.clear();
    cache_.emplace(access_key_id, *cred);
  }
  return cred;
}

void Identity::forget(const std::string& access_key_id) {
  std::lock_guard lock(mu_);
  cache_.erase(access_key_id);
}

void Identity::invalidate() {
  std::lock_guard lock(mu_);
  cache_.clear();
}

std::optional<Credential> Identity::load(const std::string& akid) {
  auto tx = db_.begin(false);
  auto rows = tx->query(
      "SELECT account_id, principal_type, principal_arn, principal_id, user_name, secret_sealed, "
      "status, session_token_sha256, expires_ms, mfa_ms, session_info FROM access_keys "
      "WHERE access_key_id = ?",
      {akid});
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  auto secret = barrier_.open(r.text(5), sealAad(akid));
  if (!secret) return std::nullopt;  // tampered or foreign: treat as unknown
  Credential c;
  c.access_key_id = akid;
  c.secret_access_key = std::move(*secret);
  c.principal.type = principalTypeFromName(r.text(1));
  c.principal.account_id = r.text(0);
  c.principal.arn = r.text(2);
  c.principal.principal_id = r.text(3);
  c.principal.user_name = r.text(4);
  c.principal.access_key_id = akid;
  c.active = r.text(6) == "Active";
  c.session_token_sha256 = r.text(7);
  c.expires_ms = r.integer(8);
  if (!r.isNull(9)) {
    c.principal.mfa_authenticated = true;
    c.principal.mfa_time = fromEpochMillis(r.integer(9));
  }
  if (!r.isNull(10)) {
    c.session = sessionFromJson(r.text(10));
    if (!c.session) return std::nullopt;  // unreadable session: fail closed
  }
  return c;
}

std::optional<Credential> Identity::devCredential(const std::string& akid) {
  if (!dev_mode_) return std::nullopt;
  std::string account;
  std::lock_guard lock(dev_mu_);
  if (validAccountId(akid)) {
    account = akid;
    if (!dev_accounts_.count(account)) {
      auto tx = db_.begin(true);
      if (!accountExists(*tx, account)) {
        auto made = createAccount(*tx, account, false);
        if (!made.ok()) return std::nullopt;
        tx->commit();
        log::info("dev mode: created account for access key id", {{"account", account}});
      }
      dev_accounts_.insert(account);
    }
  } else {
    if (dev_default_account_.empty()) {
      auto tx = db_.begin(false);
      auto def = defaultAccount(*tx);
      if (!def) return std::nullopt;
      dev_default_account_ = *def;
    }
    account = dev_default_account_;
  }
  Credential c;
  c.access_key_id = akid;
  c.principal = rootPrincipal(account);
  c.principal.access_key_id = akid;
  return c;
}

bool Identity::accountExists(store::Tx& tx, const std::string& account_id) {
  return !tx.query("SELECT 1 FROM accounts WHERE account_id = ?", {account_id}).empty();
}

Result<std::string> Identity::createAccount(store::Tx& tx, std::optional<std::string> account_id,
                                            bool make_default) {
  std::string id;
  if (account_id) {
    if (!validAccountId(*account_id))
      return AwsError{"InvalidInputException", "Account id must be 12 digits.", 400, true, {}};
    id = *account_id;
  } else {
    do {
      id = randomFrom("0123456789", 12);
    } while (id[0] == '0' || accountExists(tx, id));
  }
  if (make_default) tx.exec("UPDATE accounts SET is_default = 0");
  auto st = tx.exec("INSERT INTO accounts(account_id, created_ms, is_default) VALUES (?, ?, ?)",
                    {id, toEpochMillis(Clock::now()), int64_t(make_default ? 1 : 0)});
  if (st == store::ExecStatus::kConstraint)
    return AwsError{"EntityAlreadyExists", "Account " + id + " already exists.", 409, true, {}};
  return id;
}

std::optional<std::string> Identity::defaultAccount(store::Tx& tx) {
  auto rows =
      tx.query("SELECT account_id FROM accounts ORDER BY is_default DESC, created_ms ASC LIMIT 1");
  if (rows.empty()) return std::nullopt;
  return rows[0].text(0);
}

Result<KeyPair> Identity::createRootKey(store::Tx& tx, const std::string& account_id) {
  if (!accountExists(tx, account_id))
    return AwsError{"NoSuchEntity", "Account " + account_id + " does not exist.", 404, true, {}};
  KeyPair kp;
  kp.access_key_id = "AKIA" + randomUpperAlnum(16);
  kp.secret_access_key =
      randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
  TRY_VOID(putRootKey(tx, account_id, kp));
  return kp;
}

Result<void> Identity::putRootKey(store::Tx& tx, const std::string& account_id,
                                  const KeyPair& pair) {
  if (pair.access_key_id.size() < 16 || pair.access_key_id.size() > 128)
    return AwsError{
        "InvalidInputException", "Access key id must be 16 to 128 characters.", 400, true, {}};
  Principal p = rootPrincipal(account_id);
  auto sealed = barrier_.seal(pair.secret_access_key, sealAad(pair.access_key_id));
  auto existing =
      tx.query("SELECT account_id FROM access_keys WHERE access_key_id = ?", {pair.access_key_id});
  if (!existing.empty() && existing[0].text(0) != account_id)
    return AwsError{"EntityAlreadyExists",
                    "Access key " + pair.access_key_id + " belongs to another account.",
                    409,
                    true,
                    {}};
  tx.exec(
      "INSERT INTO access_keys(access_key_id, account_id, principal_type, principal_arn, "
      "principal_id, user_name, secret_sealed, status, created_ms) VALUES (?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT(access_key_id) DO UPDATE SET secret_sealed = excluded.secret_sealed",
      {pair.access_key_id, account_id, std::string(principalTypeName(p.type)), p.arn,
       p.principal_id, p.user_name, store::Blob{sealed}, std::string("Active"),
       toEpochMillis(Clock::now())});
  tx.afterCommit([this, akid = pair.access_key_id] { forget(akid); });
  return okResult();
}

std::vector<KeyPair> Identity::rootKeys(store::Tx& tx, const std::string& account_id) {
  std::vector<KeyPair> out;
  auto rows = tx.query(
      "SELECT access_key_id, secret_sealed FROM access_keys WHERE account_id = ? AND "
      "principal_type = 'Root' AND status = 'Active' AND session_token_sha256 IS NULL "
      "ORDER BY created_ms",
      {account_id});
  for (const auto& r : rows) {
    auto secret = barrier_.open(r.text(1), sealAad(r.text(0)));
    if (secret) out.push_back({r.text(0), std::move(*secret)});
  }
  return out;
}

namespace {
Identity::KeyInfo keyInfoFromRow(const store::Row& r) {
  Identity::KeyInfo k;
  k.access_key_id = r.text(0);
  k.principal_arn = r.text(1);
  k.user_name = r.text(2);
  k.status = r.text(3);
  k.created_ms = r.integer(4);
  k.last_used_ms = r.isNull(5) ? 0 : r.integer(5);
  return k;
}
constexpr const char* kKeyInfoColumns =
    "SELECT access_key_id, principal_arn, user_name, status, created_ms, last_used_ms "
    "FROM access_keys ";
}  // namespace

Result<KeyPair> Identity::createUserKey(store::Tx& tx, const Principal& user) {
  KeyPair kp;
  kp.access_key_id = "AKIA" + randomUpperAlnum(16);
  kp.secret_access_key =
      randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
  auto sealed = barrier_.seal(kp.secret_access_key, sealAad(kp.access_key_id));
  auto st = tx.exec(
      "INSERT INTO access_keys(access_key_id, account_id, principal_type, principal_arn, "
      "principal_id, user_name, secret_sealed, status, created_ms) VALUES (?,?,?,?,?,?,?,?,?)",
      {kp.access_key_id, user.account_id, std::string(principalTypeName(user.type)), user.arn,
       user.principal_id, user.user_name, store::Blob{sealed}, std::string("Active"),
       toEpochMillis(Clock::now())});
  if (st == store::ExecStatus::kConstraint)
    return AwsError{"ServiceFailure", "Access key id collision; retry.", 500, false, {}};
  return kp;
}

Result<void> Identity::putUserKey(store::Tx& tx, const Principal& user, const KeyPair& pair) {
  if (pair.access_key_id.size() < 16 || pair.access_key_id.size() > 128)
    return AwsError{
        "InvalidInputException", "Access key id must be 16 to 128 characters.", 400, true, {}};
  if (pair.secret_access_key.empty())
    return AwsError{"InvalidInputException", "Secret access key must not be empty.", 400, true, {}};
  auto existing =
      tx.query("SELECT principal_arn FROM access_keys WHERE access_key_id = ?", {pair.access_key_id});
  if (!existing.empty() && existing[0].text(0) != user.arn)
    return AwsError{"EntityAlreadyExists",
                    "Access key " + pair.access_key_id + " belongs to another principal.",
                    409,
                    true,
                    {}};
  auto sealed = barrier_.seal(pair.secret_access_key, sealAad(pair.access_key_id));
  tx.exec(
      "INSERT INTO access_keys(access_key_id, account_id, principal_type, principal_arn, "
      "principal_id, user_name, secret_sealed, status, created_ms) VALUES (?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT(access_key_id) DO UPDATE SET secret_sealed = excluded.secret_sealed",
      {pair.access_key_id, user.account_id, std::string(principalTypeName(user.type)), user.arn,
       user.principal_id, user.user_name, store::Blob{sealed}, std::string("Active"),
       toEpochMillis(Clock::now())});
  tx.afterCommit([this, akid = pair.access_key_id] { forget(akid); });
  return okResult();
}

Result<void> Identity::setKeyStatus(store::Tx& tx, const std::string& akid,
                                    const std::string& status) {
  tx.exec("UPDATE access_keys SET status = ? WHERE access_key_id = ?", {status, akid});
  if (tx.changes() == 0)
    return AwsError{
        "NoSuchEntity", "The Access Key with id " + akid + " cannot be found.", 404, true, {}};
  tx.afterCommit([this, akid] { forget(akid); });
  return okResult();
}

Result<void> Identity::deleteKey(store::Tx& tx, const std::string& akid) {
  tx.exec("DELETE FROM access_keys WHERE access_key_id = ?", {akid});
  if (tx.changes() == 0)
    return AwsError{
        "NoSuchEntity", "The Access Key with id " + akid + " cannot be found.", 404, true, {}};
  tx.afterCommit([this, akid] { forget(akid); });
  return okResult();
}

std::vector<Identity::KeyInfo> Identity::keysOf(store::Tx& tx, const std::string& principal_arn) {
  std::vector<KeyInfo> out;
  for (const auto& r : tx.query(std::string(kKeyInfoColumns) +
                                    "WHERE principal_arn = ? AND session_token_sha256 IS NULL "
                                    "ORDER BY created_ms, access_key_id",
                                {principal_arn}))
    out.push_back(keyInfoFromRow(r));
  return out;
}

std::optional<Identity::KeyInfo> Identity::keyInfo(store::Tx& tx, const std::string& akid) {
  auto rows = tx.query(std::string(kKeyInfoColumns) + "WHERE access_key_id = ?", {akid});
  if (rows.empty()) return std::nullopt;
  return keyInfoFromRow(rows[0]);
}

Result<SessionCredentials> Identity::createSession(store::Tx& tx, const Principal& principal,
                                                   std::chrono::seconds duration,
                                                   std::optional<SysTime> mfa_time) {
  return createSessionRow(tx, principal, duration, mfa_time, nullptr);
}

Result<SessionCredentials> Identity::createSession(store::Tx& tx, const Principal& principal,
                                                   std::chrono::seconds duration,
                                                   std::optional<SysTime> mfa_time,
                                                   const SessionInfo& session) {
  return createSessionRow(tx, principal, duration, mfa_time, &session);
}

Result<SessionCredentials> Identity::createSessionRow(store::Tx& tx, const Principal& principal,
                                                      std::chrono::seconds duration,
                                                      std::optional<SysTime> mfa_time,
                                                      const SessionInfo* session) {
  SessionCredentials sc;
  sc.access_key_id = "ASIA" + randomUpperAlnum(16);
  sc.secret_access_key =
      randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
  sc.session_token = base64Encode(crypto::randomBytes(240));
  SysTime now = Clock::now();
  sc.expiration = std::chrono::time_point_cast<std::chrono::seconds>(now + duration);
  auto sealed = barrier_.seal(sc.secret_access_key, sealAad(sc.access_key_id));
  auto st = tx.exec(
      "INSERT INTO access_keys(access_key_id, account_id, principal_type, principal_arn, "
      "principal_id, user_name, secret_sealed, status, created_ms, session_token_sha256, "
      "expires_ms, mfa_ms, session_info) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
      {sc.access_key_id, principal.account_id, std::string(principalTypeName(principal.type)),
       principal.arn, principal.principal_id, principal.user_name, store::Blob{sealed},
       std::string("Active"), toEpochMillis(now), crypto::sha256Hex(sc.session_token),
       toEpochMillis(sc.expiration),
       mfa_time ? store::Value(toEpochMillis(*mfa_time)) : store::Value(std::monostate{}),
       session ? store::Value(sessionToJson(*session)) : store::Value(std::monostate{})});
  if (st == store::ExecStatus::kConstraint)
    return AwsError{"ServiceFailure", "Access key id collision; retry.", 500, false, {}};
  // Expired sessions are of no use to anyone: drop them as new ones are made.
  tx.exec("DELETE FROM access_keys WHERE expires_ms IS NOT NULL AND expires_ms < ?",
          {toEpochMillis(now) - 3'600'000});
  return sc;
}

Result<void> Identity::checkSessionToken(const Credential& cred, const std::string& token,
                                         SysTime now) {
  if (cred.session_token_sha256.empty()) return okResult();
  if (token.empty() ||
      !crypto::constantTimeEqual(crypto::sha256Hex(token), cred.session_token_sha256))
    return AwsError{"InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                    403,
                    true,
                    {}};
  if (toEpochMillis(now) >= cred.expires_ms)
    return AwsError{
        "ExpiredToken", "The security token included in the request is expired", 403, true, {}};
  return okResult();
}

void Identity::renamePrincipal(store::Tx& tx, const std::string& old_arn,
                               const std::string& new_arn, const std::string& new_user_name) {
  tx.exec("UPDATE access_keys SET principal_arn = ?, user_name = ? WHERE principal_arn = ?",
          {new_arn, new_user_name, old_arn});
  tx.afterCommit([this] { invalidate(); });
}

}  // namespace citadel::runtime
