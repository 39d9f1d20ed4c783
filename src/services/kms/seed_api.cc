// Keys with given ids for seed files (issue 6): the one KMS operation AWS has no API for.

#include "services/kms/api.h"
#include "services/kms/internal.h"

namespace citadel::kms::api {

Result<bool> createKeyWithId(runtime::Services& s, store::Tx& tx, const SeedKey& seed) {
  if (auto existing = loadKey(tx, seed.account, seed.region, seed.key_id)) {
    if (existing->key_spec != seed.key_spec || existing->key_usage != seed.key_usage ||
        existing->origin != seed.origin)
      return AwsError::validation("key " + seed.key_id + " exists as a " + existing->key_spec +
                                  "/" + existing->key_usage + " key of origin " +
                                  existing->origin + ", not as the seed describes it");
    return false;
  }
  const KeySpecInfo* info = keySpecInfo(seed.key_spec);
  if (!info || !info->implemented)
    return kmsError("UnsupportedOperationException",
                    "KeySpec " + seed.key_spec + " is not supported by citadel.");
  if (std::find(info->usages.begin(), info->usages.end(), seed.key_usage) == info->usages.end())
    return AwsError::validation("KeyUsage " + seed.key_usage + " is not compatible with KeySpec " +
                                seed.key_spec + ".");
  if (seed.origin != "AWS_KMS" && seed.origin != "EXTERNAL")
    return AwsError::validation("a seeded key's origin is AWS_KMS or EXTERNAL");
  KeyRecord k;
  k.account_id = seed.account;
  k.region = seed.region;
  k.key_id = seed.key_id;
  k.created = Clock::now();
  k.description = seed.description;
  k.key_spec = seed.key_spec;
  k.key_usage = seed.key_usage;
  k.origin = seed.origin;
  TRY_VOID(createKeyRecord(s, tx, std::move(k), nullptr));
  return true;
}

}  // namespace citadel::kms::api
