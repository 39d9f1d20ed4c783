#pragma once
/// Metadata of the embedded models, available without loading any model (routing uses it).

#include <cstddef>

namespace citadel::protocol {

/// One embedded model's routing metadata (generated at build time).
struct EmbeddedModelMeta {
  const char* name;             ///< botocore folder name
  const char* target_prefix;    ///< X-Amz-Target prefix ("" when none)
  const char* signing_name;     ///< SigV4 scope service
  const char* endpoint_prefix;  ///< host prefix
  const char* protocols;        ///< comma-separated botocore protocol names
  const char* api_version;
};

extern const EmbeddedModelMeta kEmbeddedModelMeta[];
extern const size_t kEmbeddedModelMetaCount;

}  // namespace citadel::protocol
