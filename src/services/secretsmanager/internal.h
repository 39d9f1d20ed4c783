#pragma once
/// Shared pieces of the Secrets Manager service: the secret record and its versions, the
/// snapshot cache the read path uses, envelope encryption through KMS, staging-label moves,
/// AWS's errors, and the handler declarations the registration (service.cc) maps to
/// operations.
///
/// Layout: secrets.cc (lifecycle, listing, tags, policies, replication), values.cc (versions,
/// values, staging labels, envelope encryption), rotation.cc (RotateSecret, the scheduler jobs,
/// the SecretVersions lent to rotation functions), password.cc (GetRandomPassword),
/// schedule.cc (rotation rules: rate()/cron() and windows, pure), store.cc (SQL and cache).

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "runtime/context.h"
#include "runtime/scheduler.h"
#include "store/store.h"

namespace citadel::iam {
class CompiledPolicy;
}

namespace citadel::secretsmanager {

namespace json = boost::json;
using runtime::RequestContext;

/// The service principal Secrets Manager calls other services as.
inline constexpr const char* kServicePrincipal = "secretsmanager.amazonaws.com";
/// AWSCURRENT, AWSPREVIOUS, AWSPENDING.
inline constexpr const char* kCurrent = "AWSCURRENT";
inline constexpr const char* kPrevious = "AWSPREVIOUS";
inline constexpr const char* kPending = "AWSPENDING";
/// AWS keeps at most this many versions; the oldest versions without a label go first.
inline constexpr size_t kMaxVersions = 100;

/// One secret as stored in sm_secrets (per account and region; a replica is its own row in
/// the replica's region).
struct SecretRecord {
  std::string account_id;
  std::string region;
  std::string name;
  std::string arn;  ///< arn:aws:secretsmanager:<region>:<account>:secret:<name>-XXXXXX
  std::string description;
  std::string kms_key_id;  ///< as the client gave it; empty = aws/secretsmanager
  SysTime created{};
  SysTime last_changed{};
  std::optional<SysTime> last_accessed;  ///< day resolution
  std::optional<SysTime> deletion_date;  ///< set while scheduled for deletion
  std::optional<SysTime> deleted_date;   ///< when DeleteSecret was called
  bool rotation_enabled = false;
  std::string rotation_lambda;
  int64_t rotation_days = 0;      ///< AutomaticallyAfterDays (0 = none)
  std::string rotation_schedule;  ///< ScheduleExpression ("" = none)
  std::string rotation_duration;  ///< Duration ("" = default)
  std::optional<SysTime> last_rotated;
  std::optional<SysTime> next_rotation;  ///< end of the next rotation window
  std::string policy;                    ///< resource policy ("" = none)
  std::string primary_region;            ///< set on replicas: the primary's region
  std::string owning_service;
  std::string type;  ///< MedeaTypeType (managed external secrets), as given
  int64_t rev = 0;

  bool deleted() const { return deletion_date.has_value(); }
  bool isReplica() const { return !primary_region.empty(); }
};

/// One version of a secret's value, encrypted.
struct VersionRecord {
  std::string version_id;
  SysTime created{};
  std::optional<SysTime> last_accessed;
  std::string kms_key_arn;          ///< the key that encrypted the data key
  std::string encrypted_key;        ///< KMS ciphertext of the data key
  std::string sealed;               ///< citadel's AES-256-GCM envelope of the value
  bool binary = false;              ///< SecretBinary (else SecretString)
  bool has_value = false;           ///< false for a rotation placeholder
  std::vector<std::string> stages;  ///< in attachment order
};

/// A replica of a primary secret (sm_replicas, stored with the primary).
struct ReplicaRecord {
  std::string region;
  std::string kms_key_id;  ///< as given; empty = that region's aws/secretsmanager
  std::string status;      ///< InSync / Failed / InProgress
  std::string status_message;
};

/// An immutable view of one secret: its record, tags, versions, labels, replicas and compiled
/// resource policy. The read path (GetSecretValue, authorization) works from these.
struct Snapshot {
  SecretRecord record;
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<VersionRecord> versions;  ///< oldest first
  std::vector<ReplicaRecord> replicas;
  std::shared_ptr<const iam::CompiledPolicy> policy;  ///< null without a policy

  /// The version carrying `stage`, or nullptr.
  const VersionRecord* byStage(std::string_view stage) const;
  /// The version with this id, or nullptr.
  const VersionRecord* byId(std::string_view id) const;
};

// ---------------------------------------------------------------------------------------
// ARNs and ids

/// arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>.
std::string secretArn(std::string_view region, std::string_view account, std::string_view name,
                      std::string_view suffix);
/// The parts of a secret ARN (full, or partial without the random suffix).
struct ArnParts {
  std::string region;
  std::string account_id;
  std::string resource;  ///< after "secret:": name-XXXXXX, or a partial name
};
/// Parses an ARN of Secrets Manager's secret resource type; nullopt when `id` is not one.
std::optional<ArnParts> parseSecretArn(std::string_view id);
/// InvalidParameterException unless `name` follows AWS's name rules (1-512 of
/// A-Za-z0-9/_+=.@-; not ending in a hyphen followed by six characters is advised only).
Result<void> validateName(std::string_view name);

// ---------------------------------------------------------------------------------------
// Store and cache (store.cc)

/// The service's schema migrations (component "secretsmanager").
std::vector<store::Migration> migrations();
/// The secret a SecretId names (ARN, partial ARN or name) in the request's account and
/// region (or the ARN's), read inside `tx`; nullopt when none.
std::optional<Snapshot> loadSnapshot(store::Tx& tx, std::string_view account,
                                     std::string_view region, std::string_view secret_id);
/// The secret by exact (account, region, name), read inside `tx`.
std::optional<Snapshot> loadByName(store::Tx& tx, std::string_view account, std::string_view region,
                                   std::string_view name);
/// The cached snapshot for a SecretId as seen by `ctx` (ARN account/region or the request's),
/// filled from a fresh read transaction on a miss (or from the request's write transaction
/// when it is open, without caching). nullptr when there is no such secret.
std::shared_ptr<const Snapshot> findSecret(const RequestContext& ctx, std::string_view secret_id);
/// Same, reading through the request's transaction (for operations that change the secret).
std::optional<Snapshot> findSecretForUpdate(RequestContext& ctx, std::string_view secret_id);
/// Drops one secret from the cache after `tx` commits.
void invalidateAfterCommit(store::Tx& tx, const std::string& arn);
/// Drops every cached secret (reset).
void clearCache();

/// Inserts a new secret row (with tags).
void insertSecret(store::Tx& tx, const SecretRecord& r,
                  const std::vector<std::pair<std::string, std::string>>& tags);
/// Writes every mutable column of the record (rev + 1); cache dropped after commit.
void updateSecret(store::Tx& tx, SecretRecord& r);
/// Deletes the secret and all its rows; cache dropped after commit.
void deleteSecretRows(store::Tx& tx, const SecretRecord& r);
/// Replaces the secret's tags.
void writeTags(store::Tx& tx, const std::string& arn,
               const std::vector<std::pair<std::string, std::string>>& tags);
/// Inserts a version row (without labels).
void insertVersion(store::Tx& tx, const SecretRecord& r, const VersionRecord& v);
/// Fills a placeholder version's value.
void updateVersionValue(store::Tx& tx, const std::string& arn, const VersionRecord& v);
/// Replaces the label table of a secret with `versions`' stages.
void writeStages(store::Tx& tx, const std::string& arn, const std::vector<VersionRecord>& versions);
/// Deletes versions (by id).
void deleteVersions(store::Tx& tx, const std::string& arn, const std::vector<std::string>& ids);
/// Replaces the replica list of a primary.
void writeReplicas(store::Tx& tx, const std::string& arn,
                   const std::vector<ReplicaRecord>& replicas);
/// Every secret of (account, region), oldest first (ListSecrets, BatchGetSecretValue).
std::vector<Snapshot> listSnapshots(store::Tx& tx, std::string_view account,
                                    std::string_view region);
/// Records the day a secret (and version) was last read, at most once per day per secret,
/// in its own write transaction (never the request's).
void touchAccessed(runtime::Services& s, const Snapshot& snap, const std::string& version_id);

// ---------------------------------------------------------------------------------------
// Values (values.cc)

/// A plaintext value in memory; wiped when destroyed.
struct Plain {
  std::string bytes;
  bool binary = false;
  Plain() = default;
  Plain(std::string b, bool bin) : bytes(std::move(b)), binary(bin) {}
  Plain(const Plain&) = delete;
  Plain& operator=(const Plain&) = delete;
  Plain(Plain&&) = default;
  Plain& operator=(Plain&&) = default;
  ~Plain();
};

/// Encrypts a value for version `version_id` of `r`: a data key from KMS GenerateDataKey (run
/// as ctx's caller through invokeAs, encryption context {SecretARN, SecretVersionId}) seals it
/// with AES-256-GCM. Fills v's kms_key_arn, encrypted_key and sealed.
Result<void> sealValue(RequestContext& ctx, const SecretRecord& r, VersionRecord& v,
                       const Plain& value);
/// Decrypts a version's value (KMS Decrypt through invokeAs). DecryptionFailure when the
/// envelope does not open.
Result<Plain> openValue(RequestContext& ctx, const SecretRecord& r, const VersionRecord& v);

/// Selects the version GetSecretValue returns: by id and/or stage (AWSCURRENT by default).
/// ResourceNotFoundException / InvalidRequestException worded as AWS.
Result<const VersionRecord*> selectVersion(const Snapshot& snap, const std::string& version_id,
                                           const std::string& stage);

/// Adds a new version (or confirms an idempotent retry): the core of CreateSecret,
/// PutSecretValue, UpdateSecret and a rotation's putPending. `stages` empty = [AWSCURRENT].
/// Moving AWSCURRENT moves AWSPREVIOUS to the version that held it. Writes the version, its
/// labels and, for a primary, its replicas, in ctx's transaction; `snap` is updated in place.
/// Returns the version id.
Result<std::string> addVersion(RequestContext& ctx, Snapshot& snap, const std::string& token,
                               Plain value, std::vector<std::string> stages);
/// UpdateSecretVersionStage's move on `snap` (in memory; the caller writes the stages).
Result<void> moveStage(Snapshot& snap, const std::string& stage, const std::string& move_to,
                       const std::string& remove_from);
/// Writes snap's labels, drops versions beyond kMaxVersions and mirrors to replicas.
void saveStages(RequestContext& ctx, Snapshot& snap);
/// Copies the primary's versions (re-encrypted under each replica's key) and labels into its
/// replicas. `plain` holds values at hand by version id (others are decrypted).
Result<void> syncReplicas(RequestContext& ctx, Snapshot& primary,
                          const std::map<std::string, const Plain*>& plain);

// ---------------------------------------------------------------------------------------
// Errors

/// An error of the service (HTTP 400).
AwsError smError(std::string code, std::string message);
/// ResourceNotFoundException "Secrets Manager can't find the specified secret."
AwsError notFound();
/// InvalidRequestException for a secret scheduled for deletion.
AwsError markedForDeletion();
/// InvalidParameterException for an operation on a replica.
AwsError onReplica();
/// The member as a string ("" when absent).
std::string str(const json::value& in, std::string_view member);
/// The member as a bool (default when absent).
bool boolean(const json::value& in, std::string_view member, bool dflt);
/// A live (not deleted) secret for a mutating operation, or the AWS error.
Result<Snapshot> requireLive(RequestContext& ctx, const std::string& secret_id,
                             bool allow_replica = false);
/// The describe document (DescribeSecret / ListSecrets entry).
json::object describeDoc(const Snapshot& snap, bool list_entry);
/// The CloudTrail resource of a secret.
void nameResource(RequestContext& ctx, const std::string& arn);

// ---------------------------------------------------------------------------------------
// Password (password.cc)

/// GetRandomPassword's options.
struct PasswordOptions {
  int64_t length = 32;
  std::string exclude_characters;
  bool exclude_numbers = false;
  bool exclude_punctuation = false;
  bool exclude_uppercase = false;
  bool exclude_lowercase = false;
  bool include_space = false;
  bool require_each_included_type = true;
};
/// A password as GetRandomPassword makes it. InvalidParameterException when nothing is left to
/// draw from or the length cannot hold one character of each required type.
Result<std::string> randomPassword(const PasswordOptions& o);

// ---------------------------------------------------------------------------------------
// Rotation (rotation.cc)

/// The scheduler job kind that rotates a secret when its window opens.
inline constexpr const char* kRotateJob = "secretsmanager.Rotate";
/// The scheduler job kind that deletes a secret when its recovery window ends.
inline constexpr const char* kDeleteJob = "secretsmanager.Delete";
/// Registers both job kinds (service init).
void registerJobs(runtime::Services& s);
/// Schedules (or cancels) the rotation job of `r` from its next_rotation window, in `tx`.
void scheduleRotation(runtime::Services& s, store::Tx& tx, const SecretRecord& r);
/// Runs the four steps for version `token` of the secret (placeholder created first), in
/// ctx's transaction. A function failure is recorded (RotationFailed) and leaves AWSCURRENT
/// untouched and AWSPENDING on the failed version; it is returned as the Result's error with
/// the rotation's state already written.
Result<void> runRotation(RequestContext& ctx, const std::string& arn, const std::string& token);

// Handlers.
Result<json::value> createSecret(RequestContext&, const json::value&);
Result<json::value> describeSecret(RequestContext&, const json::value&);
Result<json::value> listSecrets(RequestContext&, const json::value&);
Result<json::value> updateSecretOp(RequestContext&, const json::value&);
Result<json::value> deleteSecret(RequestContext&, const json::value&);
Result<json::value> restoreSecret(RequestContext&, const json::value&);
Result<json::value> tagResource(RequestContext&, const json::value&);
Result<json::value> untagResource(RequestContext&, const json::value&);
Result<json::value> putResourcePolicy(RequestContext&, const json::value&);
Result<json::value> getResourcePolicy(RequestContext&, const json::value&);
Result<json::value> deleteResourcePolicy(RequestContext&, const json::value&);
Result<json::value> validateResourcePolicy(RequestContext&, const json::value&);
Result<json::value> replicateSecretToRegions(RequestContext&, const json::value&);
Result<json::value> removeRegionsFromReplication(RequestContext&, const json::value&);
Result<json::value> stopReplicationToReplica(RequestContext&, const json::value&);
Result<json::value> getSecretValue(RequestContext&, const json::value&);
Result<json::value> batchGetSecretValue(RequestContext&, const json::value&);
Result<json::value> putSecretValue(RequestContext&, const json::value&);
Result<json::value> updateSecretVersionStage(RequestContext&, const json::value&);
Result<json::value> listSecretVersionIds(RequestContext&, const json::value&);
Result<json::value> getRandomPassword(RequestContext&, const json::value&);
Result<json::value> rotateSecret(RequestContext&, const json::value&);
Result<json::value> cancelRotateSecret(RequestContext&, const json::value&);

/// Filters of ListSecrets / BatchGetSecretValue: true when the secret passes all of them.
/// InvalidParameterException for a malformed filter.
Result<bool> matchesFilters(const Snapshot& snap, const json::value* filters);

}  // namespace citadel::secretsmanager
