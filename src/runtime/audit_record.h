#pragma once
/// Builds the CloudTrail record of a request from its context, input, output or error.

#include <boost/json/fwd.hpp>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "core/result.h"
#include "protocol/model.h"
#include "runtime/context.h"
#include "store/store.h"

namespace citadel::runtime {

/// The CloudTrail event of a finished request. `input`/`output` may be nullptr.
audit::AuditEvent buildAuditEvent(const RequestContext& ctx, const protocol::Operation* op,
                                  const boost::json::value* input,
                                  const boost::json::value* output, const AwsError* error);

class Services;

/// A record a service writes on its own, not for a request (CloudTrail eventType
/// "AwsServiceEvent"): what a scheduler job did (KMS RotateKey, Organizations
/// CreateAccountResult ...).
struct ServiceEvent {
  std::string event_source;  ///< "kms.amazonaws.com"
  std::string event_name;    ///< "RotateKey"
  std::string account_id;    ///< the account it is recorded in (recipientAccountId)
  std::string region;
  SysTime time;
  /// userIdentity.invokedBy, sourceIPAddress and userAgent.
  std::string invoked_by = "AWS Internal";
  /// The record's resources (each with account_id); LookupEvents ResourceType/ResourceName.
  std::vector<audit::EventResource> resources;
  /// additionalEventData as JSON text; empty = none.
  std::string additional_event_data;
  /// serviceEventDetails as JSON text; empty = none.
  std::string service_event_details;
};

/// Appends a service event to the audit log in `tx`: it commits with the job's change or not
/// at all.
void appendServiceEvent(Services& services, store::Tx& tx, const ServiceEvent& event);

}  // namespace citadel::runtime
