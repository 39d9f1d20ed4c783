#include "runtime/router.h"

#include <string_view>

#include "core/encoding.h"

namespace citadel::runtime {
namespace {

using protocol::EmbeddedModelMeta;
using protocol::kEmbeddedModelMeta;
using protocol::kEmbeddedModelMetaCount;

const EmbeddedModelMeta* byTargetPrefix(std::string_view prefix) {
  for (size_t i = 0; i < kEmbeddedModelMetaCount; ++i)
    if (prefix == kEmbeddedModelMeta[i].target_prefix) return &kEmbeddedModelMeta[i];
  return nullptr;
}

const EmbeddedModelMeta* bySigningName(std::string_view name, std::string_view path) {
  if (name == "s3" && path.rfind("/v20180820", 0) == 0) return modelMeta("s3control");
  for (size_t i = 0; i < kEmbeddedModelMetaCount; ++i)
    if (name == kEmbeddedModelMeta[i].signing_name) return &kEmbeddedModelMeta[i];
  for (size_t i = 0; i < kEmbeddedModelMetaCount; ++i)
    if (name == kEmbeddedModelMeta[i].endpoint_prefix) return &kEmbeddedModelMeta[i];
  return nullptr;
}

}  // namespace

const EmbeddedModelMeta* modelMeta(std::string_view name) {
  for (size_t i = 0; i < kEmbeddedModelMetaCount; ++i)
    if (name == kEmbeddedModelMeta[i].name) return &kEmbeddedModelMeta[i];
  return nullptr;
}

std::optional<Route> routeRequest(const HttpRequest& req, const std::string& scope_service) {
  Route r;
  if (const std::string* target = req.header("x-amz-target")) {
    auto dot = target->rfind('.');
    if (dot != std::string::npos) r.meta = byTargetPrefix(std::string_view(*target).substr(0, dot));
    if (r.meta) return r;
  }
  if (req.path.rfind("/service/", 0) == 0) {
    std::string_view rest = std::string_view(req.path).substr(9);
    auto slash = rest.find('/');
    if (slash != std::string_view::npos) {
      r.meta = byTargetPrefix(rest.substr(0, slash));
      if (r.meta) return r;
    }
  }
  // Host: "<bucket>.s3.<...>" (virtual-host S3) or "<endpointPrefix>.<region>.amazonaws.com".
  std::string host;
  if (const std::string* h = req.header("host")) host = toLower(*h);
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos)
    host.resize(colon);
  auto s3pos = host.find(".s3.");
  bool s3_signed = scope_service == "s3";
  if (s3pos != std::string::npos && s3pos > 0 && (s3_signed || scope_service.empty())) {
    r.meta = modelMeta("s3");
    r.virtual_host_bucket = host.substr(0, s3pos);
    return r;
  }
  if (!scope_service.empty()) {
    r.meta = bySigningName(scope_service, req.path);
    if (r.meta) return r;
  }
  if (!host.empty()) {
    auto dot = host.find('.');
    std::string_view first = std::string_view(host).substr(0, dot);
    if (dot != std::string::npos) {
      r.meta = bySigningName(first, req.path);
      if (r.meta) return r;
    }
  }
  return std::nullopt;
}

}  // namespace citadel::runtime

namespace citadel::runtime {
void applyVirtualHost(const Route& route, HttpRequest& req) {
  if (route.virtual_host_bucket.empty()) return;
  req.path = "/" + route.virtual_host_bucket + (req.path.empty() ? "/" : req.path);
  req.target = req.path + (req.raw_query.empty() ? "" : "?" + req.raw_query);
}
}  // namespace citadel::runtime
