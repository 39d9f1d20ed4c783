#pragma once
/// Which of a service's protocols a request speaks (used to render errors before the
/// operation is known).

#include "core/http_message.h"
#include "protocol/model.h"

namespace citadel::protocol {

/// The protocol of `req` among those `model` speaks: smithy-protocol header → cbor,
/// X-Amz-Target → json, form body or Action= query → query/ec2, else the model's preferred.
Protocol detectProtocol(const ServiceModel& model, const HttpRequest& req);

/// Parses a botocore protocol name ("rest-json"); kJson when unknown.
Protocol protocolFromName(std::string_view name);

}  // namespace citadel::protocol
