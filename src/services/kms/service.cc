// KMS: the one registration (operations, read-only flags, resources) and the schema.
#include <boost/json.hpp>

#include "runtime/registry.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {

namespace {

using runtime::OperationSpec;

// kms_keys: one row per key (KeyRecord). kms_key_material: one sealed row per material version
// (barrier AAD = materialAad). kms_aliases and kms_tags hang off a key and go with it.
constexpr const char* kSchemaV1 =
    "CREATE TABLE kms_keys (account_id TEXT NOT NULL, region TEXT NOT NULL, key_id TEXT NOT NULL, "
    "created_ms INTEGER NOT NULL, description TEXT NOT NULL, key_usage TEXT NOT NULL, "
    "key_spec TEXT NOT NULL, key_state TEXT NOT NULL, origin TEXT NOT NULL, "
    "key_manager TEXT NOT NULL, multi_region INTEGER NOT NULL, deletion_ms INTEGER, "
    "pending_days INTEGER NOT NULL, policy TEXT NOT NULL, current_version INTEGER NOT NULL, "
    "rotation_enabled INTEGER NOT NULL, rotation_days INTEGER NOT NULL, valid_to_ms INTEGER, "
    "expiration_model TEXT NOT NULL, custom_key_store_id TEXT NOT NULL, rev INTEGER NOT NULL, "
    "PRIMARY KEY (account_id, region, key_id));"
    "CREATE TABLE kms_key_material (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, version INTEGER NOT NULL, sealed BLOB NOT NULL, "
    "created_ms INTEGER NOT NULL, PRIMARY KEY (account_id, region, key_id, version));"
    "CREATE TABLE kms_aliases (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "alias_name TEXT NOT NULL, key_id TEXT NOT NULL, created_ms INTEGER NOT NULL, "
    "updated_ms INTEGER NOT NULL, PRIMARY KEY (account_id, region, alias_name));"
    "CREATE INDEX kms_aliases_key ON kms_aliases (account_id, region, key_id);"
    "CREATE TABLE kms_tags (account_id TEXT NOT NULL, region TEXT NOT NULL, "
    "key_id TEXT NOT NULL, tag_key TEXT NOT NULL, tag_value TEXT NOT NULL, "
    "PRIMARY KEY (account_id, region, key_id, tag_key))";

std::vector<std::string> keyIdResource(const RequestContext& ctx, const json::value& in) {
  std::string id = str(in, "KeyId");
  if (id.empty()) return {};
  return {keyArnFor(ctx, id)};
}

/// The key of a ciphertext blob (when KeyId is absent).
std::string blobKeyArn(const RequestContext& ctx, const json::value& in, const char* key_member) {
  std::string id = str(in, key_member);
  if (!id.empty()) return keyArnFor(ctx, id);
  const json::value* blob = in.as_object().if_contains("CiphertextBlob");
  if (blob && blob->is_string())
    if (auto h = parseBlobHeader(blob->get_string()))
      return keyArn(h->account_id, ctx.region, h->key_id);
  return "*";
}

/// The key an alias operation is authorized on with its key policy (the alias ARN itself, and
/// UpdateAlias's current key, are checked by aliasAuthInputs).
std::vector<std::string> aliasResources(const RequestContext& ctx, const json::value& in) {
  std::string target = str(in, "TargetKeyId");
  return {keyArnFor(ctx, target.empty() ? str(in, "AliasName") : target)};
}

}  // namespace

std::vector<store::Migration> migrations() { return {{"kms", 1, kSchemaV1}}; }

namespace {

runtime::ServiceSpec makeKms() {
  runtime::ServiceSpec s;
  s.model = "kms";
  s.event_source = "kms.amazonaws.com";
  s.iam_prefix = "kms";
  auto op = [&s](const char* name, runtime::Handler h, bool read_only,
                 runtime::ResourceFn resources) {
    OperationSpec spec;
    spec.handler = std::move(h);
    spec.read_only = read_only;
    spec.resources = std::move(resources);
    spec.audit_request = auditRequestParameters;
    s.operations[name] = std::move(spec);
  };
  runtime::ResourceFn by_key = keyIdResource;
  op("CreateKey", createKey, false, nullptr);
  op("DescribeKey", describeKey, true, by_key);
  op("ListKeys", listKeys, true, nullptr);
  op("EnableKey", enableKey, false, by_key);
  op("DisableKey", disableKey, false, by_key);
  op("UpdateKeyDescription", updateKeyDescription, false, by_key);
  op("ScheduleKeyDeletion", scheduleKeyDeletion, false, by_key);
  op("CancelKeyDeletion", cancelKeyDeletion, false, by_key);
  op("TagResource", tagResource, false, by_key);
  op("UntagResource", untagResource, false, by_key);
  op("ListResourceTags", listResourceTags, true, by_key);
  op("GetKeyPolicy", getKeyPolicy, true, by_key);
  op("PutKeyPolicy", putKeyPolicy, false, by_key);
  op("ListKeyPolicies", listKeyPolicies, true, by_key);
  op("CreateAlias", createAlias, false, aliasResources);
  op("UpdateAlias", updateAlias, false, aliasResources);
  op("DeleteAlias", deleteAlias, false, aliasResources);
  op("ListAliases", listAliases, true, nullptr);
  op("Encrypt", encrypt, true, by_key);
  op("Decrypt", decrypt, true, [](const RequestContext& ctx, const json::value& in) {
    return std::vector<std::string>{blobKeyArn(ctx, in, "KeyId")};
  });
  // AWS: ReEncrypt is authorized as kms:ReEncryptFrom on the source key here and as
  // kms:ReEncryptTo on the destination key by the handler (authorizeReEncryptTo).
  op("ReEncrypt", reEncrypt, true, [](const RequestContext& ctx, const json::value& in) {
    return std::vector<std::string>{blobKeyArn(ctx, in, "SourceKeyId")};
  });
  s.operations["ReEncrypt"].iam_action = "kms:ReEncryptFrom";
  op("GenerateDataKey", generateDataKey, true, by_key);
  op("GenerateDataKeyWithoutPlaintext", generateDataKeyWithoutPlaintext, true, by_key);
  op("GenerateRandom", generateRandom, true, nullptr);
  op("CreateCustomKeyStore", createCustomKeyStore, false, nullptr);
  op("ConnectCustomKeyStore", connectCustomKeyStore, false, nullptr);
  op("DisconnectCustomKeyStore", disconnectCustomKeyStore, false, nullptr);
  op("DescribeCustomKeyStores", describeCustomKeyStores, true, nullptr);
  op("UpdateCustomKeyStore", updateCustomKeyStore, false, nullptr);
  op("DeleteCustomKeyStore", deleteCustomKeyStore, false, nullptr);
  op("ReplicateKey", replicateKey, false, by_key);
  op("UpdatePrimaryRegion", updatePrimaryRegion, false, by_key);
  op("CreateGrant", createGrant, false, by_key);
  op("ListGrants", listGrants, true, by_key);
  op("ListRetirableGrants", listRetirableGrants, true, nullptr);
  op("RetireGrant", retireGrant, false, by_key);
  op("RevokeGrant", revokeGrant, false, by_key);
  // AWS: "Permission to retire a grant is determined primarily by the grant" (the handler).
  s.operations["RetireGrant"].authorize = false;
  op("EnableKeyRotation", enableKeyRotation, false, by_key);
  op("DisableKeyRotation", disableKeyRotation, false, by_key);
  op("GetKeyRotationStatus", getKeyRotationStatus, true, by_key);
  op("RotateKeyOnDemand", rotateKeyOnDemand, false, by_key);
  op("ListKeyRotations", listKeyRotations, true, by_key);
  op("GetParametersForImport", getParametersForImport, false, by_key);
  op("ImportKeyMaterial", importKeyMaterial, false, by_key);
  op("DeleteImportedKeyMaterial", deleteImportedKeyMaterial, false, by_key);
  op("Sign", sign, true, by_key);
  op("Verify", verify, true, by_key);
  op("GetPublicKey", getPublicKey, true, by_key);
  op("GenerateDataKeyPair", generateDataKeyPair, true, by_key);
  op("GenerateDataKeyPairWithoutPlaintext", generateDataKeyPairWithoutPlaintext, true, by_key);
  op("DeriveSharedSecret", deriveSharedSecret, true, by_key);
  op("GenerateMac", generateMac, true, by_key);
  op("VerifyMac", verifyMac, true, by_key);
  // Authorization (policy_auth.cc): each operation on a key by the key's policy, with kms:*
  // condition keys and its grants; kCrossAccount where AWS lets another account's key ARN be
  // named. Operations without a key (CreateKey, ListKeys, ListAliases, GenerateRandom ...)
  // stay identity-policy only.
  // AWS: https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html
  using Copy = KeyAuth::Copy;
  auto auth = [&s](const char* name, runtime::AuthInputsFn fn) {
    auto it = s.operations.find(name);
    if (it != s.operations.end()) it->second.auth_inputs = std::move(fn);
  };
  auto on_key = [](Access access, std::string_view grant_op = {},
                   std::string_view context = {}, std::vector<Copy> copies = {}) {
    KeyAuth a;
    a.access = access;
    a.grant_operation = grant_op;
    a.context_member = context;
    a.copies = std::move(copies);
    return keyAuthInputs(std::move(a));
  };
  const Access own = Access::kOwnAccount;
  const Access cross = Access::kCrossAccount;
  const Copy enc_alg{"EncryptionAlgorithm", "kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT"};
  auth("CreateKey",
       requestAuthInputs({{"KeySpec", "kms:KeySpec", "SYMMETRIC_DEFAULT"},
                          {"CustomerMasterKeySpec", "kms:KeySpec", ""},
                          {"KeyUsage", "kms:KeyUsage", ""},
                          {"Origin", "kms:KeyOrigin", "AWS_KMS"},
                          {"MultiRegion", "kms:MultiRegion", "false"},
                          {"BypassPolicyLockoutSafetyCheck", "kms:BypassPolicyLockoutSafetyCheck",
                           "false"}}));
  for (const char* name : {"ListKeys", "ListAliases", "GenerateRandom", "ListRetirableGrants"})
    auth(name, requestAuthInputs({}));
  auth("DescribeKey", on_key(cross, "DescribeKey"));
  for (const char* name :
       {"EnableKey", "DisableKey", "UpdateKeyDescription", "CancelKeyDeletion", "TagResource",
        "UntagResource", "ListResourceTags", "GetKeyPolicy", "ListKeyPolicies",
        "DisableKeyRotation", "RotateKeyOnDemand", "ListKeyRotations", "GetParametersForImport",
        "DeleteImportedKeyMaterial", "UpdatePrimaryRegion"})
    auth(name, on_key(own));
  auth("GetKeyRotationStatus", on_key(cross));
  auth("ImportKeyMaterial", on_key(own, {}, {}, {{"ExpirationModel", "kms:ExpirationModel", ""}}));
  auth("ReplicateKey", on_key(own, {}, {}, {{"ReplicaRegion", "kms:ReplicaRegion", ""}}));
  auth("EnableKeyRotation",
       on_key(own, {}, {}, {{"RotationPeriodInDays", "kms:RotationPeriodInDays", "365"}}));
  auth("ScheduleKeyDeletion",
       on_key(own, {}, {},
              {{"PendingWindowInDays", "kms:ScheduleKeyDeletionPendingWindowInDays", "30"}}));
  auth("PutKeyPolicy",
       on_key(own, {}, {},
              {{"BypassPolicyLockoutSafetyCheck", "kms:BypassPolicyLockoutSafetyCheck",
                "false"}}));
  auth("Encrypt", on_key(cross, "Encrypt", "EncryptionContext", {enc_alg}));
  auth("GenerateDataKey", on_key(cross, "GenerateDataKey", "EncryptionContext", {enc_alg}));
  auth("GenerateDataKeyWithoutPlaintext",
       on_key(cross, "GenerateDataKeyWithoutPlaintext", "EncryptionContext", {enc_alg}));
  const Copy pair_spec{"KeyPairSpec", "kms:DataKeyPairSpec", ""};
  auth("GenerateDataKeyPair",
       on_key(cross, "GenerateDataKeyPair", "EncryptionContext", {enc_alg, pair_spec}));
  auth("GenerateDataKeyPairWithoutPlaintext",
       on_key(cross, "GenerateDataKeyPairWithoutPlaintext", "EncryptionContext",
              {enc_alg, pair_spec}));
  {
    KeyAuth decrypt;
    decrypt.access = cross;
    decrypt.from_blob = true;
    decrypt.context_member = "EncryptionContext";
    decrypt.grant_operation = "Decrypt";
    decrypt.copies = {enc_alg};
    auth("Decrypt", keyAuthInputs(decrypt));
    KeyAuth from;
    from.key_member = "SourceKeyId";
    from.access = cross;
    from.from_blob = true;
    from.context_member = "SourceEncryptionContext";
    from.grant_operation = "ReEncryptFrom";
    from.copies = {{"SourceEncryptionAlgorithm", "kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
    auth("ReEncrypt", keyAuthInputs(from));
  }
  const Copy signing{"SigningAlgorithm", "kms:SigningAlgorithm", ""};
  const Copy message{"MessageType", "kms:MessageType", "RAW"};
  auth("Sign", on_key(cross, "Sign", {}, {signing, message}));
  auth("Verify", on_key(cross, "Verify", {}, {signing, message}));
  auth("GetPublicKey", on_key(cross, "GetPublicKey"));
  const Copy mac{"MacAlgorithm", "kms:MacAlgorithm", ""};
  auth("GenerateMac", on_key(cross, "GenerateMac", {}, {mac}));
  auth("VerifyMac", on_key(cross, "VerifyMac", {}, {mac}));
  auth("DeriveSharedSecret",
       on_key(cross, "DeriveSharedSecret", {},
              {{"KeyAgreementAlgorithm", "kms:KeyAgreementAlgorithm", ""}}));
  {
    KeyAuth create_grant;
    create_grant.allow_alias = false;
    create_grant.access = cross;
    create_grant.grant_operation = "CreateGrant";
    auth("CreateGrant", keyAuthInputs(create_grant));
  }
  auth("ListGrants", on_key(cross));
  auth("RevokeGrant", on_key(cross));
  auth("CreateAlias", aliasAuthInputs("CreateAlias", "TargetKeyId"));
  auth("UpdateAlias", aliasAuthInputs("UpdateAlias", "TargetKeyId"));
  auth("DeleteAlias", aliasAuthInputs("DeleteAlias", "AliasName"));
  s.migrations = migrations();
  s.migrations.push_back({"kms.custom_key_store", 1, kCustomKeyStoreSchema});
  for (auto& m : grantMigrations()) s.migrations.push_back(m);
  for (auto& m : rotationMigrations()) s.migrations.push_back(m);
  for (auto& m : importMigrations()) s.migrations.push_back(m);
  s.init = [](runtime::Services& services) {
    services.scheduler.registerKind(kDeleteKeyJob, runDeleteKeyJob);
    registerAsymmetricSpecs();
    services.scheduler.registerKind(kRotateKeyJob, runRotateKeyJob);
    services.scheduler.registerKind(kExpireKeyMaterialJob, runExpireKeyMaterialJob);
  };
  s.reset = [](runtime::Services& services, store::Tx& tx) {
    resetAll(services, tx);
    resetRotations(services, tx);
    resetImports(services, tx);
    resetGrants(tx);
  };
  return s;
}

}  // namespace

CITADEL_REGISTER_SERVICE(makeKms);

}  // namespace citadel::kms
