// KMS imported key material (Origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
// DeleteImportedKeyMaterial and the expiry job (kind kExpireKeyMaterialJob).
//
// Each GetParametersForImport makes a fresh wrapping key pair; its private key is sealed by the
// barrier in kms_import_tokens under the SHA-256 of the import token (256 random bits, opaque),
// bound to the key and valid 24 hours. Imported material is stored as version 1 of the key
// (DeleteImportedKeyMaterial removes it, a re-import of the same material puts it back, so old
// ciphertexts decrypt again). Re-import is checked against a keyed digest (HMAC-SHA-256 under a
// per-key random key sealed by the barrier), compared in constant time.
//
// AWS: https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html
#include <boost/json.hpp>

#include "core/encoding.h"
#include "crypto/barrier.h"
#include "crypto/crypto.h"
#include "crypto/kms_crypto.h"
#include "runtime/event_outbox.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

// kms_import_tokens: one row per GetParametersForImport (token_hash = hex SHA-256 of the token).
// kms_imported_material: the keyed digest of the material imported into a key (kept after the
// material is deleted or expires, so that only the same material can come back).
constexpr const char* kImportSchemaV1 =
    "CREATE TABLE kms_import_tokens (token_hash TEXT NOT NULL PRIMARY KEY, "
    "account_id TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, "
    "wrapping_algorithm TEXT NOT NULL, wrapping_key_spec TEXT NOT NULL, "
    "sealed_private BLOB NOT NULL, valid_to_ms INTEGER NOT NULL);"
    "CREATE INDEX kms_import_tokens_key ON kms_import_tokens (account_id, region, key_id);"
    "CREATE TABLE kms_imported_material (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, sealed_digest_key BLOB NOT NULL, digest TEXT NOT NULL, "
    "imported_ms INTEGER NOT NULL, PRIMARY KEY (account_id, region, key_id))";

constexpr uint8_t kTokenFormat = 1;
constexpr size_t kTokenRandomLen = 32;
constexpr auto kTokenLifetime = std::chrono::hours(24);
constexpr auto kMaxValidTo = std::chrono::hours(24 * 365);

std::vector<store::Value> keyParams(const KeyRecord& k) {
  return {k.account_id, k.region, k.key_id};
}

std::string tokenAad(const KeyRecord& k, std::string_view token_hash) {
  return "kms-import-token:" + k.account_id + "/" + k.region + "/" + k.key_id + "/" +
         std::string(token_hash);
}

std::string digestKeyAad(const KeyRecord& k) {
  return "kms-import-digest:" + k.account_id + "/" + k.region + "/" + k.key_id;
}

/// AWS: only keys created with Origin EXTERNAL take imported material.
Result<void> requireExternal(const KeyRecord& k) {
  if (k.origin == "EXTERNAL") return okResult();
  return kmsError("UnsupportedOperationException",
                  k.arn + " origin is " + k.origin + " which is not valid for this operation.");
}

AwsError invalidToken() {
  return kmsError("InvalidImportTokenException",
                  "The request was rejected because the provided import token is invalid or is "
                  "associated with a different KMS key.");
}

AwsError incorrectMaterial() {
  return kmsError("IncorrectKeyMaterialException",
                  "The key material in the request is, expired, invalid, or is not the same key "
                  "material that was previously imported into this KMS key.");
}

/// AWS: which wrapping algorithms go with which wrapping key specs.
Result<void> checkWrapping(const std::string& spec, const std::string& algorithm) {
  if (algorithm == "RSAES_PKCS1_V1_5")
    return kmsError("UnsupportedOperationException",
                    "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported.");
  const bool rsa_spec = spec == "RSA_2048" || spec == "RSA_3072" || spec == "RSA_4096";
  const bool rsa_alg = algorithm == "RSAES_OAEP_SHA_1" || algorithm == "RSAES_OAEP_SHA_256" ||
                       algorithm == "RSA_AES_KEY_WRAP_SHA_1" ||
                       algorithm == "RSA_AES_KEY_WRAP_SHA_256";
  if ((rsa_spec && rsa_alg) || (spec == "SM2" && algorithm == "SM2PKE")) return okResult();
  if (!rsa_spec && spec != "SM2")
    return AwsError::validation("1 validation error detected: Value '" + spec +
                                "' at 'wrappingKeySpec' failed to satisfy constraint: Member must "
                                "satisfy enum value set: [RSA_2048, RSA_3072, RSA_4096, SM2]");
  return AwsError::validation("The wrapping algorithm " + algorithm +
                              " is not compatible with the wrapping key spec " + spec + ".");
}

/// The keyed digest of `material` for key `k` (hex), creating the per-key digest key on first
/// import. `existing` is set when the key had material imported before.
struct Digest {
  std::string hex;
  std::optional<std::string> existing;
};

Digest materialDigest(runtime::Services& s, store::Tx& tx, const KeyRecord& k,
                      std::string_view material, std::string* new_sealed_key) {
  auto rows = tx.query(
      "SELECT sealed_digest_key, digest FROM kms_imported_material WHERE account_id = ? AND "
      "region = ? AND key_id = ?",
      keyParams(k));
  std::string key;
  Digest d;
  if (!rows.empty()) {
    auto opened = s.barrier.open(rows[0].text(0), digestKeyAad(k));
    if (opened) key = std::move(*opened);
    d.existing = rows[0].text(1);
  }
  if (key.empty()) {
    key = crypto::randomBytes(32);
    *new_sealed_key = s.barrier.seal(key, digestKeyAad(k));
  }
  d.hex = hexEncode(crypto::hmacSha256(key, material));
  crypto::wipe(key);
  return d;
}

/// Removes the key's material and puts it back in PendingImport (DeleteImportedKeyMaterial and
/// expiry).
void dropMaterial(runtime::Services& s, store::Tx& tx, KeyRecord& k) {
  tx.exec("DELETE FROM kms_key_material WHERE account_id = ? AND region = ? AND key_id = ?",
          keyParams(k));
  k.current_version = 0;
  k.key_state = "PendingImport";
  k.valid_to.reset();
  k.expiration_model.clear();
  updateKey(tx, k);
  s.scheduler.cancel(tx, kExpireKeyMaterialJob, deletionJobKey(k));
  // Parsed asymmetric keys leave memory at once.
  tx.afterCommit([] { crypto::kms::clearKeyCache(); });
}

std::vector<store::Migration> importSchema() { return {{"kms-import", 1, kImportSchemaV1}}; }

}  // namespace

std::vector<store::Migration> importMigrations() { return importSchema(); }

std::optional<std::string> importedKeyMaterialId(store::Tx& tx, const KeyRecord& k) {
  auto rows = tx.query(
      "SELECT digest FROM kms_imported_material WHERE account_id = ? AND region = ? AND "
      "key_id = ?",
      keyParams(k));
  if (rows.empty()) return std::nullopt;
  return rows[0].text(0);
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html
Result<json::value> getParametersForImport(RequestContext& ctx, const json::value& in) {
  std::string spec = str(in, "WrappingKeySpec");
  std::string algorithm = str(in, "WrappingAlgorithm");
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireExternal(k));
  TRY_VOID(requireNotPendingDeletion(k));
  TRY_VOID(checkWrapping(spec, algorithm));
  TRY_ASSIGN(crypto::kms::KeyPairDer pair, crypto::kms::generateKeyPair(spec));
  std::string token;
  token.push_back(static_cast<char>(kTokenFormat));
  token += crypto::randomBytes(kTokenRandomLen);
  std::string token_hash = crypto::sha256Hex(token);
  runtime::Services& s = *ctx.services;
  store::Tx& tx = ctx.tx();
  SysTime valid_to = ctx.time + kTokenLifetime;
  // Wrapping keys of every key go a week after they expired (until then, their token still
  // answers ExpiredImportTokenException rather than InvalidImportTokenException).
  tx.exec("DELETE FROM kms_import_tokens WHERE valid_to_ms < ?",
          {toEpochMillis(ctx.time - kTokenLifetime * 7)});
  tx.exec(
      "INSERT INTO kms_import_tokens (token_hash, account_id, region, key_id, "
      "wrapping_algorithm, wrapping_key_spec, sealed_private, valid_to_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {token_hash, k.account_id, k.region, k.key_id, algorithm, spec,
       store::Blob{s.barrier.seal(pair.private_pkcs8, tokenAad(k, token_hash))},
       toEpochMillis(valid_to)});
  crypto::wipe(pair.private_pkcs8);
  return json::value(json::object{{"KeyId", k.arn},
                                  {"ImportToken", std::move(token)},
                                  {"PublicKey", std::move(pair.public_spki)},
                                  {"ParametersValidTo", toEpochSeconds(valid_to)}});
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html
Result<json::value> importKeyMaterial(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireExternal(k));
  TRY_VOID(requireNotPendingDeletion(k));
  runtime::Services& s = *ctx.services;
  store::Tx& tx = ctx.tx();

  // Expiration model and date.
  std::string model = str(in, "ExpirationModel");
  std::optional<SysTime> valid_to;
  if (const json::value* v = in.as_object().if_contains("ValidTo"); v && v->is_number())
    valid_to = fromEpochSeconds(v->to_number<double>());
  if (model.empty()) model = valid_to ? "KEY_MATERIAL_EXPIRES" : "KEY_MATERIAL_DOES_NOT_EXPIRE";
  if (model == "KEY_MATERIAL_EXPIRES") {
    if (!valid_to)
      return AwsError::validation(
          "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
    if (*valid_to <= ctx.time)
      return AwsError::validation("The validTo date must be in the future.");
    if (*valid_to > ctx.time + kMaxValidTo)
      return AwsError::validation("The validTo date must be no more than 365 days from now.");
  } else if (valid_to) {
    return AwsError::validation(
        "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE");
  }

  // The import token: ours, for this key, not expired.
  std::string token = str(in, "ImportToken");
  if (token.size() != 1 + kTokenRandomLen || static_cast<uint8_t>(token[0]) != kTokenFormat)
    return invalidToken();
  std::string token_hash = crypto::sha256Hex(token);
  auto rows = tx.query(
      "SELECT account_id, region, key_id, wrapping_algorithm, sealed_private, valid_to_ms "
      "FROM kms_import_tokens WHERE token_hash = ?",
      {token_hash});
  if (rows.empty() || rows[0].text(0) != k.account_id || rows[0].text(1) != k.region ||
      rows[0].text(2) != k.key_id)
    return invalidToken();
  if (fromEpochMillis(rows[0].integer(5)) < ctx.time)
    return kmsError("ExpiredImportTokenException",
                    "The request was rejected because the specified import token is expired. "
                    "Use GetParametersForImport to get a new import token and public key, use "
                    "the new public key to encrypt the key material, and then try the request "
                    "again.");
  std::string algorithm = rows[0].text(3);
  auto wrapping_key = s.barrier.open(rows[0].text(4), tokenAad(k, token_hash));
  if (!wrapping_key) return kmsError("KMSInternalException", "The import token is unreadable.");

  auto unwrapped = crypto::kms::unwrapImportedMaterial(*wrapping_key, algorithm,
                                                       str(in, "EncryptedKeyMaterial"));
  crypto::wipe(*wrapping_key);
  TRY_ASSIGN(std::string material, std::move(unwrapped));
  if (auto valid = crypto::kms::validateImportedMaterial(k.key_spec, material); !valid.ok()) {
    crypto::wipe(material);
    return kmsError("IncorrectKeyMaterialException", valid.error().message);
  }

  std::string new_sealed_key;
  Digest digest = materialDigest(s, tx, k, material, &new_sealed_key);
  std::string import_type = str(in, "ImportType");
  if (digest.existing) {
    // AWS: a key takes back only the material it had (no second material in citadel).
    if (!crypto::constantTimeEqual(*digest.existing, digest.hex)) {
      crypto::wipe(material);
      if (import_type == "NEW_KEY_MATERIAL")
        return kmsError("UnsupportedOperationException",
                        "citadel keeps one imported key material per key; importing new key "
                        "material into " +
                            k.arn + " is not supported.");
      return incorrectMaterial();
    }
  } else {
    if (import_type == "EXISTING_KEY_MATERIAL") {
      crypto::wipe(material);
      return incorrectMaterial();
    }
    tx.exec(
        "INSERT INTO kms_imported_material (account_id, region, key_id, sealed_digest_key, "
        "digest, imported_ms) VALUES (?, ?, ?, ?, ?, ?)",
        {k.account_id, k.region, k.key_id, store::Blob{std::move(new_sealed_key)}, digest.hex,
         toEpochMillis(ctx.time)});
  }
  if (std::string wanted = str(in, "KeyMaterialId"); !wanted.empty() && wanted != digest.hex) {
    crypto::wipe(material);
    return incorrectMaterial();
  }

  tx.exec(
      "DELETE FROM kms_key_material WHERE account_id = ? AND region = ? AND key_id = ? AND "
      "version = 1",
      keyParams(k));
  storeMaterial(s, tx, k, 1, material);
  crypto::wipe(material);
  k.current_version = 1;
  if (k.key_state == "PendingImport") k.key_state = "Enabled";
  k.expiration_model = model;
  k.valid_to = valid_to;
  updateKey(tx, k);
  if (valid_to)
    s.scheduler.schedule(tx, runtime::Job{kExpireKeyMaterialJob, deletionJobKey(k), *valid_to,
                                          k.account_id, k.region, "{}"});
  else
    s.scheduler.cancel(tx, kExpireKeyMaterialJob, deletionJobKey(k));
  return json::value(json::object{{"KeyId", k.arn}, {"KeyMaterialId", digest.hex}});
}

// AWS: https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteImportedKeyMaterial.html
Result<json::value> deleteImportedKeyMaterial(RequestContext& ctx, const json::value& in) {
  TRY_ASSIGN(KeyRecord k, resolveKeyForUpdate(ctx, str(in, "KeyId"), false));
  TRY_VOID(requireExternal(k));
  TRY_VOID(requireNotPendingDeletion(k));
  if (k.current_version == 0) return invalidState(k);
  auto id = importedKeyMaterialId(ctx.tx(), k);
  if (std::string wanted = str(in, "KeyMaterialId"); !wanted.empty() && wanted != id)
    return kmsError("NotFoundException",
                    "Key material " + wanted + " of " + k.arn + " does not exist.");
  dropMaterial(*ctx.services, ctx.tx(), k);
  json::object out{{"KeyId", k.arn}};
  if (id) out["KeyMaterialId"] = *id;
  return json::value(std::move(out));
}

Result<void> runExpireKeyMaterialJob(runtime::Services& s, store::Tx& tx, const runtime::Job& job) {
  auto first = job.key.find('/');
  auto second = job.key.find('/', first + 1);
  if (first == std::string::npos || second == std::string::npos) return okResult();
  auto k = loadKey(tx, job.key.substr(0, first), job.key.substr(first + 1, second - first - 1),
                   job.key.substr(second + 1));
  SysTime now = Clock::now();
  if (!k || k->origin != "EXTERNAL" || k->current_version == 0 || !k->valid_to ||
      *k->valid_to > now)
    return okResult();
  json::object details{{"keyId", k->key_id}};
  if (auto id = importedKeyMaterialId(tx, *k)) details["keyMaterialId"] = *id;
  dropMaterial(s, tx, *k);

  // AWS: "KMS Imported Key Material Expiration" to EventBridge and CloudTrail's
  // DeleteExpiredKeyMaterial service event.
  runtime::OutboxEvent ev;
  ev.detail_type = "KMS Imported Key Material Expiration";
  ev.source = "aws.kms";
  ev.account = k->account_id;
  ev.region = k->region;
  ev.time = now;
  ev.resources = {k->arn};
  ev.detail = json::serialize(json::object{{"key-id", k->key_id}});
  runtime::putEvent(tx, ev);
  appendKmsServiceEvent(s, tx, *k, "DeleteExpiredKeyMaterial", std::move(details), now);
  return okResult();
}

void resetImports(runtime::Services& s, store::Tx& tx) {
  tx.exec("DELETE FROM kms_import_tokens");
  tx.exec("DELETE FROM kms_imported_material");
  for (const auto& job : s.scheduler.pending(tx, kExpireKeyMaterialJob))
    s.scheduler.cancel(tx, job.kind, job.key);
  tx.afterCommit([] { crypto::kms::clearKeyCache(); });
}

}  // namespace citadel::kms
