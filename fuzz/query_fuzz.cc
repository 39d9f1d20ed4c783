// libFuzzer target: arbitrary bytes as the form body (or query string) of query-protocol
// (sts, iam) and ec2 requests, through matchOperation + parseInput, and the parsed document back
// through the serializers.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/http_message.h"
#include "protocol/model.h"
#include "protocol/protocol.h"

using namespace citadel;
using namespace citadel::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const ServiceModel* kModels[] = {Models::get("sts"), Models::get("iam"),
                                          Models::get("ec2")};
  const ServiceModel* model = kModels[data[0] % 3];
  bool as_get = data[0] & 0x80;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  HttpRequest req;
  if (as_get) {
    req.method = "GET";
    req.target = "/?" + text;
  } else {
    req.method = "POST";
    req.target = "/";
    req.body = text;
    req.headers.emplace_back("content-type", "application/x-www-form-urlencoded; charset=utf-8");
  }
  splitTarget(req);

  auto match = matchOperation(*model, req);
  HttpResponse resp;
  if (!match.ok()) {
    serializeError(*model, model->protocol, nullptr, match.error(), "fuzz", resp);
    return 0;
  }
  auto doc = parseInput(*model, *match, req);
  if (!doc.ok()) {
    serializeError(*model, match->protocol, match->op, doc.error(), "fuzz", resp);
    return 0;
  }
  // Echo the document through the output serializer when the shapes coincide in name only;
  // a mismatched document must be skipped or written, never crash.
  serializeOutput(*model, *match, *doc, "fuzz", resp);
  return 0;
}
