#pragma once
/// Finds which service a request addresses: X-Amz-Target, the smithy rpc-v2 path, the SigV4
/// credential scope, the Host header and the path (S3 path-style and virtual-host style).

#include <optional>
#include <string>

#include "core/http_message.h"
#include "protocol/embedded.h"

namespace citadel::runtime {

struct Route {
  const protocol::EmbeddedModelMeta* meta = nullptr;
  std::string virtual_host_bucket;  ///< S3 virtual-host style: the bucket from the Host
};

/// `scope_service` is the SigV4 scope's service when the request is signed ("" otherwise).
std::optional<Route> routeRequest(const HttpRequest& req, const std::string& scope_service);

/// Rewrites a virtual-host S3 request to path style (/bucket/key), after its signature (which
/// covers the original path) has been checked.
void applyVirtualHost(const Route& route, HttpRequest& req);

/// The routing metadata of a model by name, or nullptr.
const protocol::EmbeddedModelMeta* modelMeta(std::string_view name);

}  // namespace citadel::runtime
