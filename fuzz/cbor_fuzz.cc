// libFuzzer target: the CBOR decoder and the smithy-rpc-v2-cbor request path (cloudwatch).

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/http_message.h"
#include "protocol/cbor.h"
#include "protocol/protocol.h"

using namespace citadel;
using namespace citadel::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string err;
  if (auto v = cbor::decode(in, &err)) {
    // What decodes must re-encode and decode to the same tree (NaN aside).
    std::string again = cbor::encode(*v);
    auto back = cbor::decode(again);
    if (!back) __builtin_trap();
  }

  static const ServiceModel* cw = Models::get("cloudwatch");
  static const char* kOps[] = {"PutMetricData", "GetMetricData", "ListMetrics", "PutMetricAlarm",
                               "TagResource"};
  uint8_t selector = size ? data[0] : 0;
  HttpRequest req;
  req.method = "POST";
  req.target = std::string("/service/GraniteServiceVersion20100801/operation/") +
               kOps[selector % (sizeof kOps / sizeof *kOps)];
  splitTarget(req);
  req.headers = {{"smithy-protocol", "rpc-v2-cbor"}, {"content-type", "application/cbor"}};
  req.body = std::string(in.substr(size ? 1 : 0));
  auto m = matchOperation(*cw, req);
  if (!m.ok()) return 0;
  auto doc = parseInput(*cw, *m, req);
  HttpResponse resp;
  if (doc.ok())
    serializeOutput(*cw, *m, *doc, "fuzz", resp);
  else
    serializeError(*cw, m->protocol, m->op, doc.error(), "fuzz", resp);
  return 0;
}
