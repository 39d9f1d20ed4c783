#pragma once
/// Which of a service's protocols a request speaks (used to render errors before the
/// operation is known).

#include "core/http_message.h"
#include "protocol/model.h"

namespace citadel::protocol {

/// The protocol of `req` among those `model` speaks: smithy-protocol header → cbor,
/// X-Amz-Target → json, form body or Action= query → query/ec2, else the model's preferred.
/// (Implemented in protocol.cc beside matchOperation, which makes the same choice.)
Protocol detectProtocol(const ServiceModel& model, const HttpRequest& req);

}  // namespace citadel::protocol
