#pragma once
/// Endpoints for test suites and LocalStack/moto users, served beside AWS's:
///  - POST /_citadel/reset[?service=NAME] (also LocalStack's POST /_localstack/state/reset and
///    moto's POST /moto-api/reset): wipes resources, events and scheduled jobs; only with
///    --dev or --allow-reset, 403 otherwise;
///  - POST /_citadel/time {"advance_seconds": N} | {"offset_seconds": N}: moves the clock and
///    runs the jobs that fell due; only with --dev or --allow-time-travel, 403 otherwise;
///  - GET /_localstack/health and GET /_localstack/init in LocalStack's shapes.

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "app/init_scripts.h"
#include "core/http_message.h"
#include "core/result.h"
#include "runtime/services.h"

namespace citadel::app {

/// Which test-only endpoints are switched on.
struct DevSwitches {
  bool allow_reset = false;        ///< --dev or --allow-reset
  bool allow_time_travel = false;  ///< --dev or --allow-time-travel
};

/// Wipes every service's resources (through their reset hooks), the CloudTrail event history
/// and every scheduled job, in one transaction — or only `service`'s resources. Accounts and
/// their root keys stay. The reset is logged and, after the wipe, recorded as one CloudTrail
/// event (ResetState) in the default account. Unknown service: InvalidParameterValue.
Result<boost::json::object> resetState(runtime::Services& services,
                                       const std::optional<std::string>& service,
                                       const std::string& region);

class DevEndpoints {
 public:
  DevEndpoints(runtime::Services& services, DevSwitches switches, std::string version,
               const InitScripts* init);
  /// Answers the endpoints above; false when `req` is not one of them.
  bool handle(const HttpRequest& req, HttpResponse& resp);

 private:
  void reset(const HttpRequest& req, HttpResponse& resp);
  void time(const HttpRequest& req, HttpResponse& resp);
  std::string localstackHealth() const;

  runtime::Services& services_;
  DevSwitches switches_;
  std::string version_;
  const InitScripts* init_;
};

}  // namespace citadel::app
