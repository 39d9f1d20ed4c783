#include "protocol/detect.h"

namespace citadel::protocol {

Protocol protocolFromName(std::string_view n) {
  if (n == "json") return Protocol::kJson;
  if (n == "rest-json") return Protocol::kRestJson;
  if (n == "query") return Protocol::kQuery;
  if (n == "ec2") return Protocol::kEc2;
  if (n == "rest-xml") return Protocol::kRestXml;
  if (n == "smithy-rpc-v2-cbor") return Protocol::kRpcV2Cbor;
  return Protocol::kJson;
}

Protocol detectProtocol(const ServiceModel& model, const HttpRequest& req) {
  if (model.protocols.size() <= 1) return model.protocol;
  if (model.speaks(Protocol::kRpcV2Cbor) && req.header("smithy-protocol"))
    return Protocol::kRpcV2Cbor;
  if (model.speaks(Protocol::kJson) && req.header("x-amz-target")) return Protocol::kJson;
  if (model.speaks(Protocol::kQuery)) {
    const std::string* ct = req.header("content-type");
    if ((ct && ct->find("x-www-form-urlencoded") != std::string::npos) || req.queryParam("Action"))
      return Protocol::kQuery;
  }
  return model.protocol;
}

}  // namespace citadel::protocol
