#pragma once
/// The narrow interface other services (Secrets Manager, SSM Parameter Store, S3, CloudTrail)
/// call to use KMS: AWS managed keys and the cryptographic operations on behalf of their own
/// caller. The request context passed is the original caller's (principal, account, region);
/// the audited service-to-service invocation (invokedBy, kms:ViaService, a CloudTrail record
/// of the KMS call) is the runtime's generic facility, which calls these.

#include <boost/json/fwd.hpp>
#include <string>
#include <string_view>

#include "core/result.h"
#include "runtime/context.h"
#include "store/store.h"

namespace citadel::runtime {
class Services;
}

namespace citadel::kms::api {

/// The id of the AWS managed key `alias/aws/<service>` of (account, region), created inside
/// `tx` on first use (KeyManager AWS, AWS's managed-key policy form, rotation on).
/// `service` is the short name: "secretsmanager", "ssm", "s3", "ebs", "lambda" ...
Result<std::string> managedKeyId(runtime::Services& s, store::Tx& tx, const std::string& account,
                                 const std::string& region, const std::string& service);

/// KMS Encrypt as `ctx`'s caller: input {KeyId, Plaintext (raw bytes), EncryptionContext?};
/// output {CiphertextBlob (raw bytes), KeyId (ARN), EncryptionAlgorithm}.
Result<boost::json::value> encrypt(runtime::RequestContext& ctx, const boost::json::value& input);
/// KMS Decrypt as `ctx`'s caller: input {CiphertextBlob, EncryptionContext?, KeyId?};
/// output {KeyId, Plaintext, EncryptionAlgorithm}.
Result<boost::json::value> decrypt(runtime::RequestContext& ctx, const boost::json::value& input);
/// KMS GenerateDataKey as `ctx`'s caller: input {KeyId, KeySpec | NumberOfBytes,
/// EncryptionContext?}; output {CiphertextBlob, Plaintext, KeyId}.
Result<boost::json::value> generateDataKey(runtime::RequestContext& ctx,
                                           const boost::json::value& input);
/// KMS GenerateDataKeyWithoutPlaintext as `ctx`'s caller.
Result<boost::json::value> generateDataKeyWithoutPlaintext(runtime::RequestContext& ctx,
                                                           const boost::json::value& input);
/// KMS DescribeKey as `ctx`'s caller: {KeyId} -> {KeyMetadata}.
Result<boost::json::value> describeKey(runtime::RequestContext& ctx,
                                       const boost::json::value& input);
/// A key with a given id, as a seed file describes it (citadel's own start-up seeding).
struct SeedKey {
  std::string account;
  std::string region;
  std::string key_id;  ///< a UUID
  std::string key_spec = "SYMMETRIC_DEFAULT";
  std::string key_usage = "ENCRYPT_DECRYPT";
  std::string origin = "AWS_KMS";  ///< EXTERNAL: created in PendingImport, awaiting material
  std::string description;
};
/// Creates the key with its given id inside `tx` (default key policy, fresh material unless
/// EXTERNAL). True when created; false when a key with that id already exists as described
/// (idempotent seeding); ValidationException when it exists otherwise. The caller writes the
/// audit record.
Result<bool> createKeyWithId(runtime::Services& s, store::Tx& tx, const SeedKey& seed);

/// The key ARN a KeyId (id, ARN, alias name or alias ARN) names, for the calling service's own
/// resources / condition keys. NotFoundException as KMS answers it.
Result<std::string> resolveKeyArn(runtime::RequestContext& ctx, std::string_view key_id);

}  // namespace citadel::kms::api
