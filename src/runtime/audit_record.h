#pragma once
/// Builds the CloudTrail record of a request from its context, input, output or error.

#include <boost/json/fwd.hpp>

#include "audit/audit.h"
#include "core/result.h"
#include "protocol/model.h"
#include "runtime/context.h"

namespace citadel::runtime {

/// The CloudTrail event of a finished request. `input`/`output` may be nullptr.
audit::AuditEvent buildAuditEvent(const RequestContext& ctx, const protocol::Operation* op,
                                  const boost::json::value* input,
                                  const boost::json::value* output, const AwsError* error);

}  // namespace citadel::runtime
