#pragma once
/// Accounts and the access keys that authenticate callers. Secrets are sealed by the barrier
/// (AAD = the key id); the hot path reads them from an in-memory cache.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/time.h"
#include "crypto/barrier.h"
#include "runtime/context.h"
#include "store/store.h"

namespace citadel::runtime {

/// What a role session (AssumeRole) carries besides its principal.
struct SessionInfo {
  std::string role_arn;                  ///< the assumed role (arn:aws:iam::acct:role/path/name)
  std::string role_id;                   ///< AROA...
  std::string policy;                    ///< inline session policy document; empty = none
  std::vector<std::string> policy_arns;  ///< managed session policies
  std::vector<std::pair<std::string, std::string>> tags;  ///< session tags (aws:PrincipalTag)
  std::vector<std::string> transitive_keys;  ///< tag keys passed on to chained sessions
  std::string source_identity;               ///< sts:SourceIdentity; kept across chaining
  bool chained = false;  ///< made by a role session (role chaining: at most one hour)
  /// True when session policies were passed (the session's permissions are then narrowed).
  bool hasSessionPolicies() const { return !policy.empty() || !policy_arns.empty(); }
};

/// An access key with the principal it authenticates.
struct Credential {
  std::string access_key_id;
  std::string secret_access_key;
  Principal principal;  ///< type, arn, account, principal id, user name (+ MFA for sessions)
  bool active = true;
  std::string session_token_sha256;    ///< temporary credentials: hex SHA-256 of the token
  int64_t expires_ms = 0;              ///< temporary credentials: expiry (ms since epoch)
  std::optional<SessionInfo> session;  ///< role sessions only
};

/// Temporary credentials (STS), shown once.
struct SessionCredentials {
  std::string access_key_id;  ///< "ASIA..."
  std::string secret_access_key;
  std::string session_token;
  SysTime expiration;
};

/// A freshly created key pair (shown once).
struct KeyPair {
  std::string access_key_id;
  std::string secret_access_key;
};

class Identity {
 public:
  Identity(store::Store& db, const crypto::Barrier& barrier);

  /// Migrations of the accounts/access_keys tables.
  static std::vector<store::Migration> migrations();

  /// The credential for an access key id (cached), or nullopt when unknown.
  std::optional<Credential> lookup(const std::string& access_key_id);
  /// Drops cached credentials (after admin changes).
  void invalidate();
  /// Drops one cached credential.
  void forget(const std::string& access_key_id);

  /// True when the account exists.
  bool accountExists(store::Tx& tx, const std::string& account_id);
  /// Creates an account (id given or random 12 digits). AlreadyExists if taken.
  Result<std::string> createAccount(store::Tx& tx, std::optional<std::string> account_id,
                                    bool make_default);
  /// The default account, if any.
  std::optional<std::string> defaultAccount(store::Tx& tx);
  /// Creates a root access key for the account.
  Result<KeyPair> createRootKey(store::Tx& tx, const std::string& account_id);
  /// Stores a root key given by configuration/environment (idempotent for the same pair;
  /// replaces the stored secret when the id exists with a different one).
  Result<void> putRootKey(store::Tx& tx, const std::string& account_id, const KeyPair& pair);
  /// Root keys of an account (secrets included: only for bootstrap printing).
  std::vector<KeyPair> rootKeys(store::Tx& tx, const std::string& account_id);

  /// Metadata of an access key (never its secret).
  struct KeyInfo {
    std::string access_key_id;
    std::string principal_arn;
    std::string user_name;
    std::string status;  ///< "Active" / "Inactive"
    int64_t created_ms = 0;
    int64_t last_used_ms = 0;  ///< 0 = never
  };
  /// Creates an access key for an IAM user (AKIA... id, 40-character secret, Active).
  Result<KeyPair> createUserKey(store::Tx& tx, const Principal& user);
  /// Stores an IAM user's access key with a given id and secret (seed files), idempotently:
  /// the same id for the same user keeps (or replaces) its secret; an id that belongs to
  /// another principal is EntityAlreadyExists.
  Result<void> putUserKey(store::Tx& tx, const Principal& user, const KeyPair& pair);
  /// Sets "Active" or "Inactive". NoSuchEntity when the key does not exist.
  Result<void> setKeyStatus(store::Tx& tx, const std::string& access_key_id,
                            const std::string& status);
  /// Deletes a key. NoSuchEntity when it does not exist.
  Result<void> deleteKey(store::Tx& tx, const std::string& access_key_id);
  /// Keys of a principal (by ARN), oldest first.
  std::vector<KeyInfo> keysOf(store::Tx& tx, const std::string& principal_arn);
  /// Issues temporary credentials acting as `principal` until now + duration. `mfa_time` is
  /// set when the session was created with a verified MFA code.
  Result<SessionCredentials> createSession(store::Tx& tx, const Principal& principal,
                                           std::chrono::seconds duration,
                                           std::optional<SysTime> mfa_time);
  /// As above, for a role session (`principal` is the assumed-role principal).
  Result<SessionCredentials> createSession(store::Tx& tx, const Principal& principal,
                                           std::chrono::seconds duration,
                                           std::optional<SysTime> mfa_time,
                                           const SessionInfo& session);
  /// Checks the session token a request presents for `cred` at `now`: InvalidClientTokenId
  /// when missing or wrong, ExpiredToken when past its expiry. Long-term keys pass.
  static Result<void> checkSessionToken(const Credential& cred, const std::string& token,
                                        SysTime now);

  /// A renamed or moved principal: its keys (and live sessions) authenticate the new ARN/name.
  void renamePrincipal(store::Tx& tx, const std::string& old_arn, const std::string& new_arn,
                       const std::string& new_user_name);

  /// One key's metadata, or nullopt.
  std::optional<KeyInfo> keyInfo(store::Tx& tx, const std::string& access_key_id);

  /// Development credentials mode (`citadel serve --dev`): an access key id citadel does not
  /// know stands for the root user of an account, without signature verification.
  void setDevMode(bool on) { dev_mode_ = on; }
  /// True in development credentials mode.
  bool devMode() const { return dev_mode_; }
  /// In development credentials mode, the credential an unknown access key id stands for: the
  /// root of the account whose id the key id is when it is 12 digits (that account is created
  /// on first use, idempotently), else the root of the default account. The returned
  /// credential has no secret: the caller must not verify a signature with it. nullopt when
  /// dev mode is off.
  std::optional<Credential> devCredential(const std::string& access_key_id);

  /// Checks a 12-digit account id.
  static bool validAccountId(const std::string& id);
  /// Principal of an account's root user.
  static Principal rootPrincipal(const std::string& account_id);

 private:
  std::optional<Credential> load(const std::string& access_key_id);
  Result<SessionCredentials> createSessionRow(store::Tx& tx, const Principal& principal,
                                              std::chrono::seconds duration,
                                              std::optional<SysTime> mfa_time,
                                              const SessionInfo* session);

  store::Store& db_;
  const crypto::Barrier& barrier_;
  std::mutex mu_;
  std::unordered_map<std::string, Credential> cache_;
  std::atomic<bool> dev_mode_{false};
  std::mutex dev_mu_;
  std::unordered_set<std::string> dev_accounts_;  // accounts known to exist (dev mode)
  std::string dev_default_account_;               // cached default account (dev mode)
};

}  // namespace citadel::runtime
