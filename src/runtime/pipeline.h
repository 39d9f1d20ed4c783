#pragma once
/// The request path: route → authenticate → parse + validate → authorize → throttle →
/// handler in a transaction → audit (committed with the change) → serialize.

#include <string>

#include "auth/sigv4.h"
#include "core/http_message.h"
#include "runtime/services.h"

namespace citadel::runtime {

/// Extra endpoints served before the AWS request path (/_citadel/health ...).
struct InternalEndpoints {
  std::function<bool(const HttpRequest&, HttpResponse&)> handle;  ///< true when handled
};

class Pipeline {
 public:
  explicit Pipeline(Services& services);
  /// Answers one request. Never throws.
  void handle(HttpRequest& req, HttpResponse& resp);
  /// Endpoints the app serves beside AWS's (health, metrics).
  void setInternal(InternalEndpoints internal) { internal_ = std::move(internal); }

 private:
  Services& services_;
  auth::SigningKeyCache key_cache_;
  InternalEndpoints internal_;
};

}  // namespace citadel::runtime
