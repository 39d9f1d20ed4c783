#pragma once
/// Shared pieces of the KMS service: the key record, key specs, key-id resolution, the
/// in-memory key/material cache, the ciphertext blob format, AWS's errors, and the handler
/// declarations the registration (service.cc) maps to operations.
///
/// Layering inside the service: keys.cc (key lifecycle, tags, policies), aliases.cc,
/// symmetric.cc (AES-GCM operations and the blob), material.cc (the sealed store and cache),
/// managed.cc (AWS managed keys). Teammates add asymmetric.cc, grants.cc, rotation.cc,
/// import.cc, custom_key_store.cc and multi_region.cc on the same record and store.

#include <atomic>
#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "runtime/context.h"
#include "runtime/registry.h"
#include "runtime/scheduler.h"
#include "store/store.h"

namespace citadel::runtime {
class Services;
}

namespace citadel::kms {

namespace json = boost::json;
using runtime::RequestContext;

// ---------------------------------------------------------------------------------------
// Key specs

/// What AWS allows for one KeySpec (AWS: "Key spec reference" in the KMS developer guide).
struct KeySpecInfo {
  std::string_view name;                 ///< "SYMMETRIC_DEFAULT"
  std::vector<std::string_view> usages;  ///< allowed KeyUsage values, first = default
  std::vector<std::string_view> encryption_algorithms;
  std::vector<std::string_view> signing_algorithms;
  std::vector<std::string_view> mac_algorithms;
  std::vector<std::string_view> key_agreement_algorithms;
  /// True once citadel can generate and use keys of this spec. Others answer
  /// UnsupportedOperationException at CreateKey (never a fake key).
  bool implemented = false;
};

/// The spec's description, or nullptr for a name that is not a KeySpec.
const KeySpecInfo* keySpecInfo(std::string_view spec);
/// Marks a spec implemented (teammates call this from their service init for the specs they
/// add, together with registerMaterialGenerator).
void markKeySpecImplemented(std::string_view spec);

/// Generates fresh key material for a spec (opaque bytes: raw AES key, DER private key ...).
using MaterialGenerator = std::function<Result<std::string>(std::string_view spec)>;
/// Registers the generator of a spec ("SYMMETRIC_DEFAULT" is registered by the core).
void registerMaterialGenerator(std::string_view spec, MaterialGenerator gen);
/// Generates material for `spec` with the registered generator (UnsupportedOperationException
/// when none is registered).
Result<std::string> generateMaterial(std::string_view spec);

// ---------------------------------------------------------------------------------------
// The key record

/// One KMS key as stored in kms_keys. Material lives separately (kms_key_material), one
/// sealed row per version.
struct KeyRecord {
  std::string account_id;
  std::string region;
  std::string key_id;  ///< UUID, or "mrk-" + 32 hex for multi-Region keys
  std::string arn;     ///< arn:aws:kms:<region>:<account>:key/<key_id>
  SysTime created{};
  std::string description;
  std::string key_usage = "ENCRYPT_DECRYPT";
  std::string key_spec = "SYMMETRIC_DEFAULT";
  std::string key_state = "Enabled";     ///< AWS KeyState
  std::string origin = "AWS_KMS";        ///< AWS_KMS / EXTERNAL / AWS_CLOUDHSM / EXTERNAL_KEY_STORE
  std::string key_manager = "CUSTOMER";  ///< CUSTOMER / AWS
  bool multi_region = false;
  std::optional<SysTime> deletion_date;  ///< set while PendingDeletion
  int pending_window_days = 0;           ///< set while PendingDeletion
  std::string policy;                    ///< the "default" key policy document, as stored
  uint32_t current_version = 0;          ///< material version Encrypt uses; 0 = no material
  bool rotation_enabled = false;
  int rotation_period_days = 0;     ///< 0 when rotation is off
  std::optional<SysTime> valid_to;  ///< imported material expiry (EXTERNAL)
  std::string expiration_model;     ///< EXTERNAL with material only
  std::string custom_key_store_id;  ///< AWS_CLOUDHSM / EXTERNAL_KEY_STORE
  int64_t rev = 0;                  ///< grows with every change of the row (policy cache key)
};

/// The ARN of a key: arn:aws:kms:<region>:<account>:key/<id>.
std::string keyArn(std::string_view account, std::string_view region, std::string_view key_id);
/// The ARN of an alias: arn:aws:kms:<region>:<account>:<alias/name>.
std::string aliasArn(std::string_view account, std::string_view region, std::string_view alias);

/// The AWS-shaped KeyMetadata document of a key.
json::object keyMetadata(const KeyRecord& k);

/// Reads a key row inside `tx` (no cache), or nullopt.
std::optional<KeyRecord> loadKey(store::Tx& tx, std::string_view account, std::string_view region,
                                 std::string_view key_id);
/// Inserts a new key row.
void insertKey(store::Tx& tx, const KeyRecord& k);
/// Writes back every mutable column of a key row (rev + 1) and drops the key from the cache
/// after the commit.
void updateKey(store::Tx& tx, KeyRecord& k);
/// Deletes a key and everything that hangs off it (material, aliases, tags); the cache drops
/// it after the commit.
void deleteKeyRows(store::Tx& tx, const KeyRecord& k);

// ---------------------------------------------------------------------------------------
// Key material store (sealed by the barrier) and cache (material.cc)

/// Key material decrypted in memory: page-aligned, mlock'ed where the limit allows, excluded
/// from core dumps, wiped (OPENSSL_cleanse) when the last reference goes.
class Secret {
 public:
  explicit Secret(std::string_view bytes);
  ~Secret();
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  /// The bytes (valid while this object lives).
  std::string_view bytes() const { return {data_, size_}; }
  const unsigned char* data() const { return reinterpret_cast<const unsigned char*>(data_); }
  size_t size() const { return size_; }
  /// True when the pages are locked in RAM.
  bool locked() const { return locked_; }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t alloc_ = 0;
  bool locked_ = false;
};

/// The barrier AAD that binds a material row to its key and version.
std::string materialAad(std::string_view account, std::string_view region, std::string_view key_id,
                        uint32_t version);
/// Seals and stores one version of a key's material (in the caller's transaction).
void storeMaterial(runtime::Services& s, store::Tx& tx, const KeyRecord& k, uint32_t version,
                   std::string_view material);

/// A cached key: an immutable snapshot of its record plus its material versions, unsealed
/// lazily on first use.
class CachedKey {
 public:
  /// `tx`: for an uncached snapshot read inside a request's write transaction (the key may be
  /// uncommitted, e.g. a managed key created in the same transaction); material is then read
  /// through it. Such an object is never inserted in the cache.
  explicit CachedKey(KeyRecord r, store::Tx* tx = nullptr) : record(std::move(r)), tx_(tx) {}
  const KeyRecord record;
  /// The material of a version: from memory, else unsealed from the store (its own read
  /// transaction, or the one given at construction). nullptr when the version has no material.
  std::shared_ptr<const Secret> material(runtime::Services& s, uint32_t version) const;

 private:
  store::Tx* tx_ = nullptr;
  mutable std::shared_mutex mu_;
  mutable std::map<uint32_t, std::shared_ptr<const Secret>> versions_;
};

/// The process-wide cache of keys and aliases. Lookups never touch the store on a hit.
/// INVARIANT: entries are dropped in tx.afterCommit of every change (invalidateKey /
/// invalidateAliases), and a fill that raced with a change is not inserted (generation check).
class KeyCache {
 public:
  /// The cached key, or nullptr (a miss).
  std::shared_ptr<const CachedKey> find(std::string_view account, std::string_view region,
                                        std::string_view key_id) const;
  /// The key an alias names, or nullopt (a miss).
  std::optional<std::string> findAlias(std::string_view account, std::string_view region,
                                       std::string_view alias) const;
  /// Current generation (read before a fill's store read).
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  /// Inserts unless a change happened since `gen` was read.
  void insert(std::shared_ptr<const CachedKey> key, uint64_t gen);
  void insertAlias(std::string_view account, std::string_view region, std::string_view alias,
                   std::string key_id, uint64_t gen);
  /// Drops one key (its material is wiped when the last user lets go).
  void invalidateKey(std::string_view account, std::string_view region, std::string_view key_id);
  /// Drops every alias entry.
  void invalidateAliases();
  /// Drops everything (reset).
  void clear();
  /// Entries (tests).
  size_t size() const;

  /// Keys kept before the cache is emptied and refilled on demand.
  static constexpr size_t kCapacity = 16384;

 private:
  static std::string cacheKey(std::string_view a, std::string_view r, std::string_view id);
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const CachedKey>> keys_;
  std::unordered_map<std::string, std::string> aliases_;
  std::atomic<uint64_t> generation_{0};
};

/// The one KMS cache of the process.
KeyCache& keyCache();

/// The key from the cache, else loaded in a fresh read transaction and cached. NotFoundException
/// ("Key '<arn>' does not exist") when there is no such key.
Result<std::shared_ptr<const CachedKey>> cachedKey(runtime::Services& s, std::string_view account,
                                                   std::string_view region,
                                                   std::string_view key_id);

// ---------------------------------------------------------------------------------------
// Key id resolution (one function for every operation)

/// A parsed KeyId parameter.
struct KeyRef {
  std::string account_id;  ///< from an ARN, else the request's account
  std::string region;      ///< from an ARN, else the request's region
  std::string key_id;      ///< set for key ids and key ARNs
  std::string alias;       ///< "alias/name", set for alias names and alias ARNs
  bool isAlias() const { return !alias.empty(); }
};

/// Parses a KeyId (key id, key ARN, alias name, alias ARN) without any lookup. NotFoundException
/// for a malformed one ("Invalid keyId ..."); aliases refused when `allow_alias` is false (AWS:
/// operations that manage a key take only its id or ARN).
Result<KeyRef> parseKeyId(const RequestContext& ctx, std::string_view input, bool allow_alias);

/// Which kind of operation a resolution is for; decides whether another account's key may be
/// named (cryptographic operations and DescribeKey, through its key policy) or not.
enum class Access { kOwnAccount, kCrossAccount };

/// Resolves a KeyId to its cached key (alias lookups through the cache). Sets ctx.resources to
/// the key's ARN for CloudTrail. NotFoundException as AWS words it.
Result<std::shared_ptr<const CachedKey>> resolveKey(RequestContext& ctx, std::string_view input,
                                                    bool allow_alias, Access access);
/// resolveKey without touching ctx.resources (for auth_inputs, which see a const context).
Result<std::shared_ptr<const CachedKey>> findKey(const RequestContext& ctx, std::string_view input,
                                                 bool allow_alias, Access access);
/// Resolves a KeyId to a fresh copy of its row read in the request's transaction (for
/// operations that change the key). Sets ctx.resources.
Result<KeyRecord> resolveKeyForUpdate(RequestContext& ctx, std::string_view input,
                                      bool allow_alias);
/// The key ARN an operation's KeyId names, for IAM and CloudTrail, resolved through the alias
/// cache (falls back to the alias ARN when the alias is unknown).
std::string keyArnFor(const RequestContext& ctx, std::string_view input);
/// Reads the alias row inside `tx` (no cache): the key id, or nullopt.
std::optional<std::string> loadAlias(store::Tx& tx, std::string_view account,
                                     std::string_view region, std::string_view alias);

// ---------------------------------------------------------------------------------------
// Key states (AWS: "Key states of AWS KMS keys", the table of operations per state)

/// For Encrypt/Decrypt/GenerateDataKey/Sign...: Enabled only. DisabledException for a
/// disabled key, KMSInvalidStateException for PendingDeletion/PendingImport/Unavailable ...
Result<void> requireUsable(const KeyRecord& k);
/// For operations that manage a key (tags, description, aliases, schedule deletion):
/// KMSInvalidStateException when PendingDeletion (or PendingReplicaDeletion).
Result<void> requireNotPendingDeletion(const KeyRecord& k);
/// KMSInvalidStateException "<arn> is <state phrase>".
AwsError invalidState(const KeyRecord& k);
/// Customer-managed keys only (AWS managed keys refuse policy, alias and deletion changes).
Result<void> requireCustomerManaged(const KeyRecord& k, std::string_view operation);

// ---------------------------------------------------------------------------------------
// Errors

/// An error of KMS's vocabulary (HTTP 400).
AwsError kmsError(std::string code, std::string message);
/// NotFoundException "Key '<arn>' does not exist".
AwsError keyNotFound(std::string_view arn);

// ---------------------------------------------------------------------------------------
// Ciphertext blob (symmetric.cc)
//
// citadel's own format, version 1 (all integers big-endian):
//   0      1   format version (0x01)
//   1      12  owning account id (ASCII digits)
//   13     1   key id length L (1..64)
//   14     L   key id (ASCII)
//   14+L   4   key material version
//   18+L   12  AES-GCM IV (fresh, random)
//   30+L   n   AES-256-GCM ciphertext
//   ...    16  GCM tag
// AAD = the header (bytes 0 .. 18+L) || canonical encryption context (pairs sorted by key
// bytes, each key and value as a 4-byte length then the bytes). The region is not bound, so
// a multi-Region replica (same id and material) decrypts it.

/// The header fields of a blob.
struct BlobHeader {
  std::string account_id;
  std::string key_id;
  uint32_t version = 0;
  /// Format byte: 1 = AES-GCM by citadel under the key's material; kTokenBlobFormat = the same
  /// layout, AES-GCM run inside a custom key store's PKCS#11 token (custom_key_store.cc).
  uint8_t format = 1;
};

/// Format byte of blobs encrypted inside a custom key store's token (AWS_CLOUDHSM keys).
inline constexpr uint8_t kTokenBlobFormat = 2;

/// The canonical AAD form of an encryption context (order-independent).
std::string canonicalContext(const json::object* context);
/// Encrypts under `material` (32-byte AES key) into the blob format.
Result<std::string> sealBlob(const BlobHeader& h, const Secret& material, std::string_view plain,
                             std::string_view context_aad);
/// Reads a blob's header; nullopt when it is not a citadel blob.
std::optional<BlobHeader> parseBlobHeader(std::string_view blob);
/// Decrypts a blob; nullopt when tampered with, truncated, or the context/material differs.
std::optional<std::string> openBlob(std::string_view blob, const Secret& material,
                                    std::string_view context_aad);

// ---------------------------------------------------------------------------------------
// Scheduled deletion

/// The scheduler job kind that deletes a key when its waiting period ends.
inline constexpr const char* kDeleteKeyJob = "kms.DeleteKey";
/// The job key of a key's deletion: "<account>/<region>/<key id>".
std::string deletionJobKey(const KeyRecord& k);
/// The job handler: deletes the key, its material, aliases and tags, and records CloudTrail's
/// "DeleteKey" service event (kms.amazonaws.com) in the same transaction.
Result<void> runDeleteKeyJob(runtime::Services& s, store::Tx& tx, const runtime::Job& job);

/// Every KMS row of every account (reset); caches drop after the commit.
void resetAll(runtime::Services& s, store::Tx& tx);

// ---------------------------------------------------------------------------------------
// Policies

/// AWS's default key policy for an account, exactly as GetKeyPolicy prints it.
std::string defaultKeyPolicy(std::string_view account);
/// MalformedPolicyDocumentException unless `policy` parses as a resource-based policy.
Result<void> validateKeyPolicy(std::string_view policy);
/// Creates a key (record, material, tags) in the caller's transaction. Used by CreateKey and by
/// managed keys.
Result<KeyRecord> createKeyRecord(runtime::Services& s, store::Tx& tx, KeyRecord k,
                                  const json::array* tags);

/// AWS's managed-key policy for alias/aws/<service> of (account, region).
std::string managedKeyPolicy(std::string_view account, std::string_view region,
                             std::string_view service);

/// The service's schema migrations (component "kms"); defined with the registration.
std::vector<store::Migration> migrations();

/// The member as a string ("" when absent).
std::string str(const json::value& in, std::string_view member);

// Handlers (keys.cc).
Result<json::value> createKey(RequestContext&, const json::value&);
Result<json::value> describeKey(RequestContext&, const json::value&);
Result<json::value> listKeys(RequestContext&, const json::value&);
Result<json::value> enableKey(RequestContext&, const json::value&);
Result<json::value> disableKey(RequestContext&, const json::value&);
Result<json::value> updateKeyDescription(RequestContext&, const json::value&);
Result<json::value> scheduleKeyDeletion(RequestContext&, const json::value&);
Result<json::value> cancelKeyDeletion(RequestContext&, const json::value&);
Result<json::value> tagResource(RequestContext&, const json::value&);
Result<json::value> untagResource(RequestContext&, const json::value&);
Result<json::value> listResourceTags(RequestContext&, const json::value&);
Result<json::value> getKeyPolicy(RequestContext&, const json::value&);
Result<json::value> putKeyPolicy(RequestContext&, const json::value&);
Result<json::value> listKeyPolicies(RequestContext&, const json::value&);

// Handlers (aliases.cc).
Result<json::value> createAlias(RequestContext&, const json::value&);
Result<json::value> updateAlias(RequestContext&, const json::value&);
Result<json::value> deleteAlias(RequestContext&, const json::value&);
Result<json::value> listAliases(RequestContext&, const json::value&);

// Handlers (symmetric.cc).
Result<json::value> encrypt(RequestContext&, const json::value&);
Result<json::value> decrypt(RequestContext&, const json::value&);
Result<json::value> reEncrypt(RequestContext&, const json::value&);
Result<json::value> generateDataKey(RequestContext&, const json::value&);
Result<json::value> generateDataKeyWithoutPlaintext(RequestContext&, const json::value&);
Result<json::value> generateRandom(RequestContext&, const json::value&);

// ---------------------------------------------------------------------------------------
// Key policies, kms:* condition keys and grants in authorization (policy_auth.cc, grants.cc)
//
// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html
// Every operation on a key is authorized with the key's policy (resource_policy_required),
// the key's account as resource account, kms:* and aws:ResourceTag/* condition keys, and the
// key's grants as alternative_allow. Operations without a key stay identity-policy only.

/// How an operation's auth_inputs finds its key and which request members feed its keys.
struct KeyAuth {
  std::string_view key_member = "KeyId";  ///< input member naming the key
  bool allow_alias = true;                ///< the member may be an alias name / alias ARN
  Access access = Access::kOwnAccount;    ///< kCrossAccount where AWS allows a key ARN of
                                          ///< another account
  /// Decrypt / ReEncrypt: when key_member is absent, the ciphertext blob's header names the key
  /// (an unknown one answers InvalidCiphertextException).
  bool from_blob = false;
  /// The member holding the request's encryption context ("" = none): kms:EncryptionContext:*,
  /// kms:EncryptionContextKeys and grant constraints.
  std::string_view context_member;
  /// The grant operation that may allow the request ("Decrypt", "ReEncryptFrom" ...); "" =
  /// grants never allow it.
  std::string_view grant_operation;
  /// Members copied into condition keys: {input member, condition key, default value}.
  struct Copy {
    std::string_view member;
    std::string_view key;
    std::string_view fallback;  ///< used when the member is absent ("" = key absent)
  };
  std::vector<Copy> copies;
};

/// The auth_inputs of an operation acting on one key (see KeyAuth). Errors: the resolution's
/// NotFoundException, InvalidCiphertextException (from_blob), InvalidGrantTokenException for a
/// GrantTokens entry that names no grant.
runtime::AuthInputsFn keyAuthInputs(KeyAuth spec);
/// The auth_inputs of CreateAlias / UpdateAlias / DeleteAlias (AWS authorizes the alias ARN
/// by identity policies only and each key involved by its key policy): checks the alias ARN
/// and, for UpdateAlias, the alias's current key inside; returns the inputs of the key named
/// by `key_member` (DeleteAlias: the alias's key).
runtime::AuthInputsFn aliasAuthInputs(std::string_view operation, std::string_view key_member);
/// The auth_inputs of an operation without a key (CreateKey ...): kms:CallerAccount,
/// kms:ViaService and the copied members only.
runtime::AuthInputsFn requestAuthInputs(std::vector<KeyAuth::Copy> copies);
/// ReEncrypt's second check: kms:ReEncryptTo on the destination key (its key policy, grants,
/// kms:EncryptionContext from DestinationEncryptionContext, kms:ReEncryptOnSameKey). AWS
/// authorizes ReEncryptFrom on the source key before the operation (the registration) and
/// ReEncryptTo on the destination key; there is no kms:ReEncrypt action.
Result<void> authorizeReEncryptTo(RequestContext& ctx, const json::value& in);
/// The lockout safety check of CreateKey / PutKeyPolicy: MalformedPolicyDocumentException
/// ("The new key policy will not allow you to update the key policy in the future.") unless
/// `policy`, as the key policy of `key_arn`, allows the caller kms:PutKeyPolicy (the real
/// evaluation, the caller's identity policies included).
Result<void> checkPolicyLockout(const RequestContext& ctx, const std::string& key_arn,
                                const std::string& policy);
/// Drops cached tags/aliases used for condition keys after `tx` commits (tag changes).
void keyAttributesChanged(store::Tx& tx);

/// One grant (kms_grants row).
struct Grant {
  std::string account_id;
  std::string region;
  std::string key_id;
  std::string grant_id;  ///< 64 hex digits
  std::string token;     ///< the grant token (opaque)
  std::string name;
  std::string grantee_principal;
  std::string retiring_principal;
  std::vector<std::string> operations;
  std::string constraint_type;  ///< "", "EncryptionContextEquals", "EncryptionContextSubset"
  std::vector<std::pair<std::string, std::string>> constraint;  ///< sorted pairs
  std::string issuing_account;  ///< arn:aws:iam::<account>:root
  SysTime created{};
};

/// The grants of a key, cached (dropped after every grant change commits). Inside a write
/// transaction they are read through it and not cached.
std::shared_ptr<const std::vector<Grant>> keyGrants(const RequestContext& ctx,
                                                    const KeyRecord& k);
/// The grants named by a request's GrantTokens member, read from the store (a grant is usable
/// through its token at once). InvalidGrantTokenException for a token that names no grant.
Result<std::vector<Grant>> grantsOfTokens(const RequestContext& ctx, const json::value& in);
/// True when `g` lets `principal` perform `operation` with `context` (the request's encryption
/// context, null = none; constraints apply only to operations taking one).
bool grantAllows(const Grant& g, const runtime::Principal& principal, std::string_view operation,
                 const json::object* context, bool takes_context);
/// For a CreateGrant allowed through grant `g`: the new grant's operations are among g's and
/// its constraint is at least as strict (AWS).
bool grantAllowsCreateGrant(const Grant& g, const json::value& create_grant_input);
/// Deletes a key's grants in `tx` (key deletion); the grant cache drops after the commit.
void deleteKeyGrants(store::Tx& tx, const KeyRecord& k);
/// Deletes every grant (reset).
void resetGrants(store::Tx& tx);
/// The grants schema (component "kms_grants").
std::vector<store::Migration> grantMigrations();

// Handlers (grants.cc).
Result<json::value> createGrant(RequestContext&, const json::value&);
Result<json::value> listGrants(RequestContext&, const json::value&);
Result<json::value> listRetirableGrants(RequestContext&, const json::value&);
Result<json::value> retireGrant(RequestContext&, const json::value&);
Result<json::value> revokeGrant(RequestContext&, const json::value&);

// ---------------------------------------------------------------------------------------
// Custom key stores on PKCS#11 tokens (custom_key_store.cc)

/// CreateKey's part for Origin AWS_CLOUDHSM / CustomKeyStoreId: checks the store (exists,
/// CONNECTED), the spec and MultiRegion, and sets k.custom_key_store_id. AWS's exceptions.
Result<void> prepareCustomKeyStoreKey(RequestContext& ctx, const json::value& in, KeyRecord& k);
/// Generates the non-extractable AES-256 key of an AWS_CLOUDHSM key inside its store's token
/// and records its token key id (createKeyRecord calls it instead of generating material).
Result<void> createTokenKey(runtime::Services& s, store::Tx& tx, const KeyRecord& k);
/// Encrypts inside the token into the blob format (format byte kTokenBlobFormat).
/// KMSInvalidStateException ("... is unavailable.") when the store is not connected.
Result<std::string> tokenSealBlob(runtime::Services& s, const KeyRecord& k, std::string_view plain,
                                  std::string_view context_aad);
/// Decrypts a kTokenBlobFormat blob inside the token. InvalidCiphertextException when tampered
/// with or the context differs; KMSInvalidStateException when the store is not connected.
Result<std::string> tokenOpenBlob(runtime::Services& s, const KeyRecord& k, std::string_view blob,
                                  std::string_view context_aad);
/// Before a key's rows are deleted by the deletion job: drops the token key (after the commit,
/// best effort, as AWS) and the multi-Region bookkeeping; a primary whose last replica goes
/// leaves PendingReplicaDeletion for PendingDeletion.
Result<void> beforeKeyDeleted(runtime::Services& s, store::Tx& tx, const KeyRecord& k);
/// KeyMetadata fields that need the store: CloudHsmClusterId, KeyState Unavailable while the
/// custom key store is not connected, MultiRegionConfiguration with the replicas.
void extendKeyMetadata(runtime::Services& s, store::Tx& tx, const KeyRecord& k, json::object& m);
/// The custom key store part of extendKeyMetadata (multi_region.cc calls it).
void extendCustomKeyStoreMetadata(store::Tx& tx, const KeyRecord& k, json::object& m);
/// The custom key store part of beforeKeyDeleted: the token key row, and the token key itself
/// after the commit.
void deleteCustomKeyStoreKeyRows(runtime::Services& s, store::Tx& tx, const KeyRecord& k);
/// GenerateRandom's bytes from a custom key store's token (C_GenerateRandom):
/// CustomKeyStoreNotFoundException, CustomKeyStoreInvalidStateException unless CONNECTED.
Result<std::string> customKeyStoreRandom(RequestContext& ctx, std::string_view store_id,
                                         size_t n);
/// Every custom key store and multi-Region row (reset); token connections close after commit.
void resetCustomKeyStoresAndReplicas(runtime::Services& s, store::Tx& tx);
/// Schema of custom key stores and multi-Region keys (kms migration 2).
extern const char* const kCustomKeyStoreSchema;

// ---------------------------------------------------------------------------------------
// Multi-Region keys (multi_region.cc)

/// True when `k` is a multi-Region primary key with at least one replica (ScheduleKeyDeletion
/// then puts it in PendingReplicaDeletion, as AWS).
bool hasReplicas(store::Tx& tx, const KeyRecord& k);
/// For operations AWS refuses on a multi-Region replica key (EnableKeyRotation,
/// DisableKeyRotation, RotateKeyOnDemand, ImportKeyMaterial's rotation ...): shared properties
/// change only on the primary. UnsupportedOperationException "<arn> is a multi-Region replica
/// key; <operation> ...".
Result<void> requireNotReplica(store::Tx& tx, const KeyRecord& k, std::string_view operation);
/// For rotation (rotation.cc): after the primary `primary` got material `version` (and its
/// current_version moved), copies that version into every replica (sealed under each replica's
/// AAD) and moves their current_version and rotation settings. No-op for a key that is not a
/// multi-Region primary with replicas.
Result<void> replicateMaterialVersion(runtime::Services& s, store::Tx& tx,
                                      const KeyRecord& primary, uint32_t version,
                                      std::string_view material);

// Handlers (custom_key_store.cc).
Result<json::value> createCustomKeyStore(RequestContext&, const json::value&);
Result<json::value> connectCustomKeyStore(RequestContext&, const json::value&);
Result<json::value> disconnectCustomKeyStore(RequestContext&, const json::value&);
Result<json::value> describeCustomKeyStores(RequestContext&, const json::value&);
Result<json::value> updateCustomKeyStore(RequestContext&, const json::value&);
Result<json::value> deleteCustomKeyStore(RequestContext&, const json::value&);

// Handlers (multi_region.cc).
Result<json::value> replicateKey(RequestContext&, const json::value&);
Result<json::value> updatePrimaryRegion(RequestContext&, const json::value&);

// ---------------------------------------------------------------------------------------
// Rotation (rotation.cc) and imported key material (import.cc)

/// The scheduler job kind of a key's automatic rotation (job key: deletionJobKey(k)).
inline constexpr const char* kRotateKeyJob = "kms.RotateKey";
/// The scheduler job kind of imported material expiry at ValidTo (job key: deletionJobKey(k)).
inline constexpr const char* kExpireKeyMaterialJob = "kms.ExpireKeyMaterial";
/// Schemas of rotation records/schedules (component "kms-rotation") and of import tokens and
/// imported-material digests (component "kms-import"), plus the event outbox.
std::vector<store::Migration> rotationMigrations();
std::vector<store::Migration> importMigrations();
/// Starts the automatic rotation schedule of a key with rotation_enabled (period
/// k.rotation_period_days, 365 when 0) counted from `from` (AWS managed keys at creation).
void scheduleAutomaticRotation(runtime::Services& s, store::Tx& tx, const KeyRecord& k,
                               SysTime from);
/// The job handlers (registered in the service's init).
Result<void> runRotateKeyJob(runtime::Services& s, store::Tx& tx, const runtime::Job& job);
Result<void> runExpireKeyMaterialJob(runtime::Services& s, store::Tx& tx,
                                     const runtime::Job& job);
/// AWS's KeyMaterialId (64 hex digits) of a generated material version of `k`.
std::string keyMaterialId(const KeyRecord& k, uint32_t version);
/// The KeyMaterialId of the material imported into an EXTERNAL key (nullopt: never imported).
std::optional<std::string> importedKeyMaterialId(store::Tx& tx, const KeyRecord& k);
/// Records a CloudTrail service event of KMS itself ("RotateKey", "DeleteExpiredKeyMaterial")
/// on key `k`, with AWS's serviceEventDetails, in `tx`.
void appendKmsServiceEvent(runtime::Services& s, store::Tx& tx, const KeyRecord& k,
                           std::string_view event_name, json::object details, SysTime when);
/// Every rotation / import row and job (reset).
void resetRotations(runtime::Services& s, store::Tx& tx);
void resetImports(runtime::Services& s, store::Tx& tx);

// Handlers (rotation.cc).
Result<json::value> enableKeyRotation(RequestContext&, const json::value&);
Result<json::value> disableKeyRotation(RequestContext&, const json::value&);
Result<json::value> getKeyRotationStatus(RequestContext&, const json::value&);
Result<json::value> rotateKeyOnDemand(RequestContext&, const json::value&);
Result<json::value> listKeyRotations(RequestContext&, const json::value&);

// Handlers (import.cc).
Result<json::value> getParametersForImport(RequestContext&, const json::value&);
Result<json::value> importKeyMaterial(RequestContext&, const json::value&);
Result<json::value> deleteImportedKeyMaterial(RequestContext&, const json::value&);

// ---------------------------------------------------------------------------------------
// Asymmetric, HMAC and key-agreement keys (asymmetric.cc, mac.cc)

/// Registers the material generators of the RSA, ECC, SM2 and HMAC specs and marks them
/// implemented (idempotent; called from the service's init).
void registerAsymmetricSpecs();
/// True for an asymmetric ENCRYPT_DECRYPT key (RSAES_OAEP_* / SM2PKE; the ciphertext is the raw
/// RSA/SM2 ciphertext, not a citadel blob).
bool asymmetricEncryption(const KeyRecord& k);
/// InvalidKeyUsageException "<arn> key usage is X which is not valid for <operation>." unless
/// the key's usage is `usage`.
Result<void> requireKeyUsage(const KeyRecord& k, std::string_view usage,
                             std::string_view operation);
/// Bytes produced by an asymmetric encryption or decryption and the algorithm used.
struct AsymmetricCrypt {
  std::string bytes;      ///< ciphertext, or plaintext (secret: the caller wipes it)
  std::string algorithm;  ///< "RSAES_OAEP_SHA_256" ...
};
/// Encrypts with an asymmetric ENCRYPT_DECRYPT key (empty algorithm = SYMMETRIC_DEFAULT, which
/// answers AWS's InvalidKeyUsageException "Algorithm ... is incompatible with key spec ...").
Result<AsymmetricCrypt> asymmetricEncryptWith(RequestContext& ctx, const CachedKey& key,
                                              std::string_view algorithm,
                                              std::string_view plaintext);
/// Decrypts a raw RSA/SM2 ciphertext with an asymmetric key (InvalidCiphertextException).
Result<AsymmetricCrypt> asymmetricDecryptWith(RequestContext& ctx, const CachedKey& key,
                                              std::string_view algorithm,
                                              std::string_view ciphertext);
/// Encrypt's answer for an asymmetric key (key state and usage already checked).
Result<json::value> asymmetricEncrypt(RequestContext& ctx, const CachedKey& key,
                                      const json::value& in);
/// The KMS hook on CloudTrail requestParameters (OperationSpec::audit_request): drops Plaintext
/// and Message, prints encryptionAlgorithm / messageType defaults as AWS does.
void auditRequestParameters(const RequestContext& ctx, const json::value& input,
                            json::object& params);

// Handlers (asymmetric.cc, mac.cc).
Result<json::value> sign(RequestContext&, const json::value&);
Result<json::value> verify(RequestContext&, const json::value&);
Result<json::value> getPublicKey(RequestContext&, const json::value&);
Result<json::value> generateDataKeyPair(RequestContext&, const json::value&);
Result<json::value> generateDataKeyPairWithoutPlaintext(RequestContext&, const json::value&);
Result<json::value> deriveSharedSecret(RequestContext&, const json::value&);
Result<json::value> generateMac(RequestContext&, const json::value&);
Result<json::value> verifyMac(RequestContext&, const json::value&);

}  // namespace citadel::kms
