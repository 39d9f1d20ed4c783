// KMS key records: the spec table, the kms_keys row, KeyId resolution, key states and errors.
#include <algorithm>
#include <cctype>

#include "crypto/crypto.h"
#include "iam/policy.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

std::vector<KeySpecInfo>& specTable() {
  static std::vector<KeySpecInfo> table = [] {
    const std::vector<std::string_view> rsa_sign = {
        "RSASSA_PSS_SHA_256",        "RSASSA_PSS_SHA_384",        "RSASSA_PSS_SHA_512",
        "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"};
    const std::vector<std::string_view> rsa_enc = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"};
    std::vector<KeySpecInfo> t;
    t.push_back(
        {"SYMMETRIC_DEFAULT", {"ENCRYPT_DECRYPT"}, {"SYMMETRIC_DEFAULT"}, {}, {}, {}, true});
    for (auto n : {"RSA_2048", "RSA_3072", "RSA_4096"})
      t.push_back({n, {"ENCRYPT_DECRYPT", "SIGN_VERIFY"}, rsa_enc, rsa_sign, {}, {}, false});
    t.push_back({"ECC_NIST_P256",
                 {"SIGN_VERIFY", "KEY_AGREEMENT"},
                 {},
                 {"ECDSA_SHA_256"},
                 {},
                 {"ECDH"},
                 false});
    t.push_back({"ECC_NIST_P384",
                 {"SIGN_VERIFY", "KEY_AGREEMENT"},
                 {},
                 {"ECDSA_SHA_384"},
                 {},
                 {"ECDH"},
                 false});
    t.push_back({"ECC_NIST_P521",
                 {"SIGN_VERIFY", "KEY_AGREEMENT"},
                 {},
                 {"ECDSA_SHA_512"},
                 {},
                 {"ECDH"},
                 false});
    t.push_back({"ECC_SECG_P256K1", {"SIGN_VERIFY"}, {}, {"ECDSA_SHA_256"}, {}, {}, false});
    t.push_back({"ECC_NIST_EDWARDS25519",
                 {"SIGN_VERIFY"},
                 {},
                 {"ED25519_SHA_512", "ED25519_PH_SHA_512"},
                 {},
                 {},
                 false});
    t.push_back({"SM2",
                 {"SIGN_VERIFY", "ENCRYPT_DECRYPT", "KEY_AGREEMENT"},
                 {"SM2PKE"},
                 {"SM2DSA"},
                 {},
                 {"ECDH"},
                 false});
    t.push_back({"HMAC_224", {"GENERATE_VERIFY_MAC"}, {}, {}, {"HMAC_SHA_224"}, {}, false});
    t.push_back({"HMAC_256", {"GENERATE_VERIFY_MAC"}, {}, {}, {"HMAC_SHA_256"}, {}, false});
    t.push_back({"HMAC_384", {"GENERATE_VERIFY_MAC"}, {}, {}, {"HMAC_SHA_384"}, {}, false});
    t.push_back({"HMAC_512", {"GENERATE_VERIFY_MAC"}, {}, {}, {"HMAC_SHA_512"}, {}, false});
    for (auto n : {"ML_DSA_44", "ML_DSA_65", "ML_DSA_87"})
      t.push_back({n, {"SIGN_VERIFY"}, {}, {"ML_DSA_SHAKE_256"}, {}, {}, false});
    return t;
  }();
  return table;
}

std::mutex& generatorsMu() {
  static std::mutex mu;
  return mu;
}

std::map<std::string, MaterialGenerator, std::less<>>& generators() {
  static std::map<std::string, MaterialGenerator, std::less<>> g = [] {
    std::map<std::string, MaterialGenerator, std::less<>> m;
    m["SYMMETRIC_DEFAULT"] = [](std::string_view) -> Result<std::string> {
      return crypto::randomBytes(32);
    };
    return m;
  }();
  return g;
}

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

/// A KMS key id: a UUID or "mrk-" and 32 hex digits.
bool validKeyIdFormat(std::string_view id) {
  if (id.rfind("mrk-", 0) == 0) return id.size() == 36 && isHex(id.substr(4));
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (id[i] == '-')) return false;
    if (!dash && !isHex(id.substr(i, 1))) return false;
  }
  return true;
}

constexpr const char* kKeyColumns =
    "account_id, region, key_id, created_ms, description, key_usage, key_spec, key_state, "
    "origin, key_manager, multi_region, deletion_ms, pending_days, policy, current_version, "
    "rotation_enabled, rotation_days, valid_to_ms, expiration_model, custom_key_store_id, rev";

KeyRecord keyFromRow(const store::Row& r) {
  KeyRecord k;
  k.account_id = r.text(0);
  k.region = r.text(1);
  k.key_id = r.text(2);
  k.arn = keyArn(k.account_id, k.region, k.key_id);
  k.created = fromEpochMillis(r.integer(3));
  k.description = r.text(4);
  k.key_usage = r.text(5);
  k.key_spec = r.text(6);
  k.key_state = r.text(7);
  k.origin = r.text(8);
  k.key_manager = r.text(9);
  k.multi_region = r.integer(10) != 0;
  if (!r.isNull(11)) k.deletion_date = fromEpochMillis(r.integer(11));
  k.pending_window_days = static_cast<int>(r.integer(12));
  k.policy = r.text(13);
  k.current_version = static_cast<uint32_t>(r.integer(14));
  k.rotation_enabled = r.integer(15) != 0;
  k.rotation_period_days = static_cast<int>(r.integer(16));
  if (!r.isNull(17)) k.valid_to = fromEpochMillis(r.integer(17));
  k.expiration_model = r.text(18);
  k.custom_key_store_id = r.text(19);
  k.rev = r.integer(20);
  return k;
}

store::Value optMillis(const std::optional<SysTime>& t) {
  if (!t) return std::monostate{};
  return toEpochMillis(*t);
}

void invalidateAfterCommit(store::Tx& tx, const KeyRecord& k) {
  tx.afterCommit(
      [a = k.account_id, r = k.region, id = k.key_id] { keyCache().invalidateKey(a, r, id); });
}

json::array strings(const std::vector<std::string_view>& v) {
  json::array a;
  for (auto s : v) a.emplace_back(json::string(s));
  return a;
}

}  // namespace

const KeySpecInfo* keySpecInfo(std::string_view spec) {
  for (const auto& s : specTable())
    if (s.name == spec) return &s;
  return nullptr;
}

void markKeySpecImplemented(std::string_view spec) {
  for (auto& s : specTable())
    if (s.name == spec) s.implemented = true;
}

void registerMaterialGenerator(std::string_view spec, MaterialGenerator gen) {
  std::lock_guard lock(generatorsMu());
  generators()[std::string(spec)] = std::move(gen);
}

Result<std::string> generateMaterial(std::string_view spec) {
  MaterialGenerator gen;
  {
    std::lock_guard lock(generatorsMu());
    auto it = generators().find(spec);
    if (it != generators().end()) gen = it->second;
  }
  if (!gen)
    return kmsError("UnsupportedOperationException",
                    "KeySpec " + std::string(spec) + " is not supported by citadel yet.");
  return gen(spec);
}

std::string keyArn(std::string_view account, std::string_view region, std::string_view key_id) {
  std::string a = "arn:aws:kms:";
  a.append(region).append(1, ':').append(account).append(":key/").append(key_id);
  return a;
}

std::string aliasArn(std::string_view account, std::string_view region, std::string_view alias) {
  std::string a = "arn:aws:kms:";
  a.append(region).append(1, ':').append(account).append(1, ':').append(alias);
  return a;
}

AwsError kmsError(std::string code, std::string message) {
  return AwsError{std::move(code), std::move(message), 400, true, {}};
}

AwsError keyNotFound(std::string_view arn) {
  return kmsError("NotFoundException", "Key '" + std::string(arn) + "' does not exist");
}

std::string str(const json::value& in, std::string_view member) {
  if (!in.is_object()) return {};
  const json::value* v = in.as_object().if_contains(member);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

json::object keyMetadata(const KeyRecord& k) {
  json::object m;
  m["AWSAccountId"] = k.account_id;
  m["KeyId"] = k.key_id;
  m["Arn"] = k.arn;
  m["CreationDate"] = toEpochSeconds(k.created);
  m["Enabled"] = k.key_state == "Enabled";
  m["Description"] = k.description;
  m["KeyUsage"] = k.key_usage;
  m["KeyState"] = k.key_state;
  if (k.deletion_date) m["DeletionDate"] = toEpochSeconds(*k.deletion_date);
  if (k.valid_to) m["ValidTo"] = toEpochSeconds(*k.valid_to);
  m["Origin"] = k.origin;
  if (!k.custom_key_store_id.empty()) m["CustomKeyStoreId"] = k.custom_key_store_id;
  if (!k.expiration_model.empty()) m["ExpirationModel"] = k.expiration_model;
  m["KeyManager"] = k.key_manager;
  m["CustomerMasterKeySpec"] = k.key_spec;
  m["KeySpec"] = k.key_spec;
  if (const KeySpecInfo* info = keySpecInfo(k.key_spec)) {
    if (k.key_usage == "ENCRYPT_DECRYPT" && !info->encryption_algorithms.empty())
      m["EncryptionAlgorithms"] = strings(info->encryption_algorithms);
    if (k.key_usage == "SIGN_VERIFY" && !info->signing_algorithms.empty())
      m["SigningAlgorithms"] = strings(info->signing_algorithms);
    if (k.key_usage == "GENERATE_VERIFY_MAC" && !info->mac_algorithms.empty())
      m["MacAlgorithms"] = strings(info->mac_algorithms);
    if (k.key_usage == "KEY_AGREEMENT" && !info->key_agreement_algorithms.empty())
      m["KeyAgreementAlgorithms"] = strings(info->key_agreement_algorithms);
  }
  m["MultiRegion"] = k.multi_region;
  if (k.multi_region) {
    // TODO(#4): replicas (ReplicateKey) add themselves here.
    json::object primary{{"Arn", k.arn}, {"Region", k.region}};
    m["MultiRegionConfiguration"] = json::object{{"MultiRegionKeyType", "PRIMARY"},
                                                 {"PrimaryKey", std::move(primary)},
                                                 {"ReplicaKeys", json::array{}}};
  }
  if (k.key_state == "PendingDeletion" && k.pending_window_days > 0)
    m["PendingDeletionWindowInDays"] = k.pending_window_days;
  return m;
}

std::optional<KeyRecord> loadKey(store::Tx& tx, std::string_view account, std::string_view region,
                                 std::string_view key_id) {
  auto rows = tx.query(std::string("SELECT ") + kKeyColumns +
                           " FROM kms_keys WHERE account_id = ? AND region = ? AND key_id = ?",
                       {std::string(account), std::string(region), std::string(key_id)});
  if (rows.empty()) return std::nullopt;
  return keyFromRow(rows[0]);
}

void insertKey(store::Tx& tx, const KeyRecord& k) {
  tx.exec(std::string("INSERT INTO kms_keys (") + kKeyColumns +
              ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {k.account_id,
           k.region,
           k.key_id,
           toEpochMillis(k.created),
           k.description,
           k.key_usage,
           k.key_spec,
           k.key_state,
           k.origin,
           k.key_manager,
           int64_t{k.multi_region},
           optMillis(k.deletion_date),
           int64_t{k.pending_window_days},
           k.policy,
           int64_t{k.current_version},
           int64_t{k.rotation_enabled},
           int64_t{k.rotation_period_days},
           optMillis(k.valid_to),
           k.expiration_model,
           k.custom_key_store_id,
           k.rev});
  invalidateAfterCommit(tx, k);
}

void updateKey(store::Tx& tx, KeyRecord& k) {
  ++k.rev;
  tx.exec(
      "UPDATE kms_keys SET description = ?, key_usage = ?, key_spec = ?, key_state = ?, "
      "origin = ?, key_manager = ?, multi_region = ?, deletion_ms = ?, pending_days = ?, "
      "policy = ?, current_version = ?, rotation_enabled = ?, rotation_days = ?, "
      "valid_to_ms = ?, expiration_model = ?, custom_key_store_id = ?, rev = ? "
      "WHERE account_id = ? AND region = ? AND key_id = ?",
      {k.description,
       k.key_usage,
       k.key_spec,
       k.key_state,
       k.origin,
       k.key_manager,
       int64_t{k.multi_region},
       optMillis(k.deletion_date),
       int64_t{k.pending_window_days},
       k.policy,
       int64_t{k.current_version},
       int64_t{k.rotation_enabled},
       int64_t{k.rotation_period_days},
       optMillis(k.valid_to),
       k.expiration_model,
       k.custom_key_store_id,
       k.rev,
       k.account_id,
       k.region,
       k.key_id});
  invalidateAfterCommit(tx, k);
}

void deleteKeyRows(store::Tx& tx, const KeyRecord& k) {
  std::vector<store::Value> id{k.account_id, k.region, k.key_id};
  for (const char* table :
       {"kms_key_material", "kms_aliases", "kms_tags", "kms_rotations", "kms_rotation_schedule",
        "kms_import_tokens", "kms_imported_material", "kms_keys"})
    tx.exec(
        std::string("DELETE FROM ") + table + " WHERE account_id = ? AND region = ? AND key_id = ?",
        id);
  deleteKeyGrants(tx, k);
  invalidateAfterCommit(tx, k);
  tx.afterCommit([] { keyCache().invalidateAliases(); });
}

std::optional<std::string> loadAlias(store::Tx& tx, std::string_view account,
                                     std::string_view region, std::string_view alias) {
  auto rows = tx.query(
      "SELECT key_id FROM kms_aliases WHERE account_id = ? AND region = ? AND alias_name = ?",
      {std::string(account), std::string(region), std::string(alias)});
  if (rows.empty()) return std::nullopt;
  return rows[0].text(0);
}

Result<KeyRef> parseKeyId(const RequestContext& ctx, std::string_view input, bool allow_alias) {
  KeyRef ref;
  ref.account_id = ctx.account_id;
  ref.region = ctx.region;
  std::string_view resource = input;
  if (input.rfind("arn:", 0) == 0) {
    // arn:<partition>:kms:<region>:<account>:<key/id | alias/name>
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (int i = 0; i < 5; ++i) {
      size_t colon = input.find(':', start);
      if (colon == std::string_view::npos) break;
      parts.push_back(input.substr(start, colon - start));
      start = colon + 1;
    }
    if (parts.size() != 5 || parts[2] != "kms" || parts[3].empty() || parts[4].size() != 12)
      return kmsError("NotFoundException", "Invalid arn " + std::string(input));
    ref.region = std::string(parts[3]);
    ref.account_id = std::string(parts[4]);
    resource = input.substr(start);
    if (resource.rfind("key/", 0) == 0) {
      resource.remove_prefix(4);
    } else if (resource.rfind("alias/", 0) != 0) {
      return kmsError("NotFoundException", "Invalid arn " + std::string(input));
    }
  }
  if (resource.rfind("alias/", 0) == 0) {
    if (!allow_alias) return kmsError("NotFoundException", "Invalid keyId " + std::string(input));
    ref.alias = std::string(resource);
    return ref;
  }
  if (!validKeyIdFormat(resource))
    return kmsError("NotFoundException", "Invalid keyId " + std::string(input));
  ref.key_id = std::string(resource);
  return ref;
}

namespace {

AwsError aliasNotFound(const KeyRef& ref) {
  return kmsError("NotFoundException",
                  "Alias " + aliasArn(ref.account_id, ref.region, ref.alias) + " is not found.");
}

Result<void> checkAccount(const RequestContext& ctx, const KeyRef& ref, Access access) {
  // AWS: a key of another account can be named (by ARN) only by operations that work across
  // accounts; others do not see it.
  if (access == Access::kOwnAccount && ref.account_id != ctx.account_id)
    return keyNotFound(ref.isAlias() ? aliasArn(ref.account_id, ref.region, ref.alias)
                                     : keyArn(ref.account_id, ref.region, ref.key_id));
  if (ref.region != ctx.region)
    return ref.isAlias() ? aliasNotFound(ref)
                         : keyNotFound(keyArn(ref.account_id, ref.region, ref.key_id));
  return okResult();
}

}  // namespace

Result<std::shared_ptr<const CachedKey>> resolveKey(RequestContext& ctx, std::string_view input,
                                                    bool allow_alias, Access access) {
  auto key = findKey(ctx, input, allow_alias, access);
  if (key.ok()) ctx.resources = {{"AWS::KMS::Key", key.value()->record.arn}};
  return key;
}

Result<std::shared_ptr<const CachedKey>> findKey(const RequestContext& ctx, std::string_view input,
                                                 bool allow_alias, Access access) {
  TRY_ASSIGN(KeyRef ref, parseKeyId(ctx, input, allow_alias));
  TRY_VOID(checkAccount(ctx, ref, access));
  runtime::Services& s = *ctx.services;
  if (ctx.tx_ && ctx.tx_->writable()) {
    // Inside a write transaction (a service calling KMS within its own change): read through
    // it, so that keys and aliases created earlier in it are seen; nothing uncommitted is
    // cached.
    store::Tx& tx = *ctx.tx_;
    if (ref.isAlias()) {
      auto target = loadAlias(tx, ref.account_id, ref.region, ref.alias);
      if (!target) return aliasNotFound(ref);
      ref.key_id = *target;
    }
    auto rec = loadKey(tx, ref.account_id, ref.region, ref.key_id);
    if (!rec) return keyNotFound(keyArn(ref.account_id, ref.region, ref.key_id));
    return std::make_shared<const CachedKey>(std::move(*rec), &tx);
  }
  if (ref.isAlias()) {
    KeyCache& cache = keyCache();
    if (auto hit = cache.findAlias(ref.account_id, ref.region, ref.alias)) {
      ref.key_id = std::move(*hit);
    } else {
      uint64_t gen = cache.generation();
      auto tx = s.store.begin(false);
      auto target = loadAlias(*tx, ref.account_id, ref.region, ref.alias);
      tx->rollback();
      if (!target) return aliasNotFound(ref);
      cache.insertAlias(ref.account_id, ref.region, ref.alias, *target, gen);
      ref.key_id = std::move(*target);
    }
  }
  return cachedKey(s, ref.account_id, ref.region, ref.key_id);
}

Result<KeyRecord> resolveKeyForUpdate(RequestContext& ctx, std::string_view input,
                                      bool allow_alias) {
  TRY_ASSIGN(KeyRef ref, parseKeyId(ctx, input, allow_alias));
  TRY_VOID(checkAccount(ctx, ref, Access::kOwnAccount));
  store::Tx& tx = ctx.tx();
  if (ref.isAlias()) {
    auto target = loadAlias(tx, ref.account_id, ref.region, ref.alias);
    if (!target) return aliasNotFound(ref);
    ref.key_id = *target;
  }
  auto k = loadKey(tx, ref.account_id, ref.region, ref.key_id);
  if (!k) return keyNotFound(keyArn(ref.account_id, ref.region, ref.key_id));
  ctx.resources = {{"AWS::KMS::Key", k->arn}};
  return std::move(*k);
}

std::string keyArnFor(const RequestContext& ctx, std::string_view input) {
  auto ref = parseKeyId(ctx, input, true);
  if (!ref.ok()) return keyArn(ctx.account_id, ctx.region, input);
  if (!ref->isAlias()) return keyArn(ref->account_id, ref->region, ref->key_id);
  if (auto hit = keyCache().findAlias(ref->account_id, ref->region, ref->alias))
    return keyArn(ref->account_id, ref->region, *hit);
  if (ctx.services) {
    KeyCache& cache = keyCache();
    uint64_t gen = cache.generation();
    auto tx = ctx.services->store.begin(false);
    auto target = loadAlias(*tx, ref->account_id, ref->region, ref->alias);
    tx->rollback();
    if (target) {
      cache.insertAlias(ref->account_id, ref->region, ref->alias, *target, gen);
      return keyArn(ref->account_id, ref->region, *target);
    }
  }
  return aliasArn(ref->account_id, ref->region, ref->alias);
}

AwsError invalidState(const KeyRecord& k) {
  std::string phrase;
  if (k.key_state == "PendingDeletion")
    phrase = "pending deletion";
  else if (k.key_state == "PendingImport")
    phrase = "pending import";
  else if (k.key_state == "PendingReplicaDeletion")
    phrase = "pending replica deletion";
  else if (k.key_state == "Disabled")
    phrase = "disabled";
  else if (k.key_state == "Enabled")
    phrase = "enabled";
  else if (k.key_state == "Unavailable")
    phrase = "unavailable";
  else if (k.key_state == "Creating")
    phrase = "being created";
  else
    phrase = "being updated";
  return kmsError("KMSInvalidStateException", k.arn + " is " + phrase + ".");
}

Result<void> requireUsable(const KeyRecord& k) {
  if (k.key_state == "Enabled") return okResult();
  if (k.key_state == "Disabled") return kmsError("DisabledException", k.arn + " is disabled.");
  return invalidState(k);
}

Result<void> requireNotPendingDeletion(const KeyRecord& k) {
  if (k.key_state == "PendingDeletion" || k.key_state == "PendingReplicaDeletion")
    return invalidState(k);
  return okResult();
}

Result<void> requireCustomerManaged(const KeyRecord& k, std::string_view operation) {
  if (k.key_manager != "AWS") return okResult();
  // AWS: AWS managed keys cannot be deleted, have their policy changed or be re-aliased.
  return kmsError("UnsupportedOperationException", k.arn + " is an AWS managed key; " +
                                                       std::string(operation) +
                                                       " is not supported on AWS managed keys.");
}

std::string defaultKeyPolicy(std::string_view account) {
  // AWS: the default key policy, printed as GetKeyPolicy returns it.
  return "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n"
         "  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n"
         "    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::" +
         std::string(account) +
         ":root\"\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}";
}

Result<void> validateKeyPolicy(std::string_view policy) {
  auto parsed = iam::parsePolicy(policy, iam::PolicyKind::kResource);
  if (!parsed.ok()) return kmsError("MalformedPolicyDocumentException", parsed.error().message);
  return okResult();
}

std::string deletionJobKey(const KeyRecord& k) {
  return k.account_id + "/" + k.region + "/" + k.key_id;
}

}  // namespace citadel::kms
