#pragma once
/// The service registry: each service declares, in one table, its botocore model and, per
/// operation, its handler, IAM action, resource ARN(s) and flags. Services register
/// themselves from a static initializer in their service.cc (CITADEL_REGISTER_SERVICE).

#include <boost/json/fwd.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "runtime/context.h"

namespace citadel::iam {
class CompiledPolicy;
}

namespace citadel::runtime {

class Services;

/// A handler: validated input document in, output document (or null) out.
using Handler =
    std::function<Result<boost::json::value>(RequestContext&, const boost::json::value& input)>;

/// Computes the resource ARNs an operation acts on (for IAM and CloudTrail).
using ResourceFn =
    std::function<std::vector<std::string>(const RequestContext&, const boost::json::value&)>;

/// What a service adds to the authorization of one request, computed from the request before
/// the policy evaluation: its condition keys and the resource's own policy.
struct AuthInputs {
  /// The service's condition keys for this request (kms:EncryptionContextKeys, kms:KeySpec,
  /// secretsmanager:ResourceTag/..., aws:ResourceTag/...): name -> values (multi-valued keys
  /// such as kms:EncryptionContextKeys as several values). aws:ResourceTag/<key> is the
  /// service's to add here (only it knows the addressed resource's tags); aws:RequestTag/<key>
  /// and aws:TagKeys are added by the framework from the input's tags for every operation
  /// (iam_authorizer.h addRequestTagKeys), before these, so a service's value of the same
  /// key wins. For calls through another service, ctx.via_service gives kms:ViaService.
  std::vector<std::pair<std::string, std::vector<std::string>>> condition_keys;
  /// The resource-based policy of the addressed resource (key policy, secret policy), or null.
  std::shared_ptr<const iam::CompiledPolicy> resource_policy;
  /// The account that owns the resource; empty = the request's account (ctx.account_id).
  std::string resource_account;
  /// KMS key-policy semantics: the resource policy must allow, either by naming the caller or
  /// by naming the caller's account (which then delegates to identity policies). Identity
  /// policies alone, and a root user's implicit rights, are not enough.
  bool resource_policy_required = false;
  /// Consulted only when the policies deny implicitly (never over an explicit deny): true when
  /// something other than a policy allows the request (a KMS grant). May be empty.
  std::function<bool()> alternative_allow;
};

/// Computes an operation's AuthInputs. An error (NotFoundException for an unknown key) is
/// answered instead of authorizing.
using AuthInputsFn =
    std::function<Result<AuthInputs>(const RequestContext&, const boost::json::value& input)>;

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
  /// Service condition keys and resource policy for the authorization (empty = none).
  AuthInputsFn auth_inputs;
  /// Adjusts the CloudTrail requestParameters after the model's view of the input was made
  /// (members AWS leaves out of its records or always prints, e.g. KMS's Plaintext and
  /// encryptionAlgorithm). `request_parameters` is an empty object when the view had nothing;
  /// an object left empty is recorded as null. Called for successes and failures alike.
  /// Empty = the view as is.
  std::function<void(const RequestContext&, const boost::json::value& input,
                     boost::json::object& request_parameters)>
      audit_request;
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
  /// Deletes every resource of the service (dev-mode state reset) inside `tx` and, after the
  /// commit (tx.afterCommit), drops the service's caches. Empty = nothing to reset.
  std::function<void(Services&, store::Tx&)> reset;
};

/// Global list of declared services (filled before main by static registration).
std::vector<ServiceSpec>& declaredServices();

struct Registrar {
  explicit Registrar(ServiceSpec (*make)()) { declaredServices().push_back(make()); }
};

}  // namespace citadel::runtime

#define CITADEL_REGISTER_SERVICE(make_fn) \
  static ::citadel::runtime::Registrar CITADEL_CONCAT(citadel_registrar_, __LINE__)(make_fn)
