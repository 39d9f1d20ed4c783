#pragma once
/// The request context every handler receives: who is calling, from where, about what.
/// The IAM authorizer (issue 3) reads the same context to fill condition keys.

#include <boost/json/fwd.hpp>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/http_message.h"
#include "core/time.h"
#include "store/store.h"

namespace citadel::runtime {

class Services;

/// The authenticated caller.
struct Principal {
  enum class Type { kAnonymous, kRoot, kIamUser, kAssumedRole, kFederatedUser, kAwsService };
  Type type = Type::kAnonymous;
  std::string arn;            ///< arn:aws:iam::123456789012:root
  std::string account_id;     ///< the caller's account
  std::string principal_id;   ///< CloudTrail principalId / aws:userid
  std::string user_name;      ///< aws:username (IAM users), "root" for root in LookupEvents
  std::string access_key_id;
  std::string session_token;  ///< non-empty for temporary credentials
  bool mfa_authenticated = false;
  SysTime mfa_time{};
  std::string invoked_by;     ///< "kms.amazonaws.com" when one service calls another
};

/// CloudTrail's userIdentity.type for a principal type ("Root", "IAMUser" ...).
const char* principalTypeName(Principal::Type t);
/// The inverse of principalTypeName (kAnonymous for an unknown name).
Principal::Type principalTypeFromName(std::string_view name);

/// Everything about one request; owned by the pipeline for the request's lifetime.
struct RequestContext {
  std::string request_id;
  SysTime time;
  Services* services = nullptr;  ///< shared dependencies (store, barrier, identity, events)
  const HttpRequest* http = nullptr;

  std::string service;        ///< model name ("sts")
  std::string event_source;   ///< "sts.amazonaws.com"
  std::string operation;      ///< "GetCallerIdentity"
  std::string region;         ///< from the SigV4 scope (or the default region)
  std::string account_id;     ///< the account whose resources are addressed (recipient)
  Principal principal;

  std::string source_ip;
  std::string user_agent;
  /// Set by invokeAs (invoke.h) on the inner request of a service-to-service call: the calling
  /// service's endpoint, "secretsmanager.us-east-1.amazonaws.com" (the value of KMS's
  /// kms:ViaService and of its peers); empty for a request from a client.
  std::string via_service;

  bool read_only = false;
  /// The request's transaction, begun on first use: a write transaction for mutating
  /// operations, a read transaction otherwise. The pipeline commits it together with the
  /// request's audit record (or rolls it back on error).
  store::Tx& tx();
  /// Owned transaction (null until tx() is first called); managed by the pipeline.
  std::unique_ptr<store::Tx> tx_;
  /// Resources the handler names for the CloudTrail record (LookupEvents ResourceType/Name).
  std::vector<audit::EventResource> resources;
  /// Response elements override for CloudTrail (null = derived from the output document).
  bool omit_response_elements = false;
};

}  // namespace citadel::runtime
