#pragma once
/// The service registry: each service declares, in one table, its botocore model and, per
/// operation, its handler, IAM action, resource ARN(s) and flags. Services register
/// themselves from a static initializer in their service.cc (CITADEL_REGISTER_SERVICE).

#include <boost/json/fwd.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "runtime/context.h"

namespace citadel::runtime {

class Services;

/// A handler: validated input document in, output document (or null) out.
using Handler =
    std::function<Result<boost::json::value>(RequestContext&, const boost::json::value& input)>;

/// Computes the resource ARNs an operation acts on (for IAM and CloudTrail).
using ResourceFn =
    std::function<std::vector<std::string>(const RequestContext&, const boost::json::value&)>;

/// One operation's declaration.
struct OperationSpec {
  Handler handler;
  std::string iam_action;  ///< "sts:GetCallerIdentity"; empty = "<prefix>:<Operation>"
  ResourceFn resources;    ///< empty = "*"
  bool read_only = false;  ///< CloudTrail readOnly; read-only ops run in a read transaction
  bool data_event = false; ///< CloudTrail data event (not recorded by default)
  bool global = false;     ///< global service (IAM, STS global endpoint): region us-east-1
  /// False for the few operations IAM policies cannot control (AWS: sts:GetCallerIdentity,
  /// sts:GetSessionToken); every other operation is authorized.
  bool authorize = true;
};

/// Throttling quota: one token bucket per quota, off unless configuration enables it.
struct QuotaSpec {
  std::string name;                   ///< "LookupEvents"
  double rate_per_second = 0;
  std::vector<std::string> operations;  ///< operations sharing this bucket
};

/// A service's declaration.
struct ServiceSpec {
  std::string model;          ///< botocore model name ("sts")
  std::string event_source;   ///< "sts.amazonaws.com"
  std::string iam_prefix;     ///< "sts"
  std::string throttle_code = "ThrottlingException";  ///< the service's throttling error
  std::string throttle_message = "Rate exceeded";
  std::map<std::string, OperationSpec> operations;
  std::vector<QuotaSpec> quotas;
  /// The service's schema migrations (its own component name).
  std::vector<store::Migration> migrations;
  /// Called once at start with the services context (store, barrier, config ...).
  std::function<void(Services&)> init;
};

/// Global list of declared services (filled before main by static registration).
std::vector<ServiceSpec>& declaredServices();

struct Registrar {
  explicit Registrar(ServiceSpec (*make)()) { declaredServices().push_back(make()); }
};

}  // namespace citadel::runtime

#define CITADEL_REGISTER_SERVICE(make_fn) \
  static ::citadel::runtime::Registrar CITADEL_CONCAT(citadel_registrar_, __LINE__)(make_fn)
