#pragma once
/// The CloudTrail record of a change citadel makes itself (bootstrap, admin commands, seed
/// files, state reset): userIdentity AWSService "citadel.amazonaws.com".

#include <boost/json/object.hpp>
#include <string>

#include "audit/audit.h"

namespace citadel::app {

/// An AwsServiceEvent named `name` in `account`/`region` with `params` as requestParameters.
audit::AuditEvent adminEvent(const std::string& name, const std::string& account,
                             const std::string& region, boost::json::object params);

}  // namespace citadel::app
