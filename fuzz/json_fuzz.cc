// libFuzzer target: arbitrary bodies (and a few header/path variations taken from the input)
// through matchOperation + parseInput for a json service (kms) and a rest-json service (lambda).

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/http_message.h"
#include "protocol/protocol.h"

using namespace citadel;
using namespace citadel::protocol;

namespace {

void run(const ServiceModel& model, HttpRequest& req) {
  auto m = matchOperation(model, req);
  if (!m.ok()) return;
  auto doc = parseInput(model, *m, req);
  if (doc.ok()) {
    HttpResponse resp;
    serializeOutput(model, *m, *doc, "fuzz", resp);
    (void)toCloudTrailView(m->op->input, *doc);
  } else {
    HttpResponse resp;
    serializeError(model, m->protocol, m->op, doc.error(), "fuzz", resp);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ServiceModel* kms = Models::get("kms");
  static const ServiceModel* lambda = Models::get("lambda");
  static const char* kKmsOps[] = {"Encrypt", "CreateKey", "ListKeys", "TagResource",
                                  "GenerateDataKey", "PutKeyPolicy"};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  uint8_t selector = size ? data[0] : 0;

  // json: pick the operation from the first byte; the rest is the body.
  HttpRequest req;
  req.method = "POST";
  req.target = "/";
  splitTarget(req);
  req.headers = {{"content-type", "application/x-amz-json-1.1"},
                 {"x-amz-target", std::string("TrentService.") +
                                      kKmsOps[selector % (sizeof kKmsOps / sizeof *kKmsOps)]}};
  req.body = std::string(in.substr(size ? 1 : 0));
  run(*kms, req);

  // rest-json: the first line is the request target, the rest the body.
  auto nl = in.find('\n');
  HttpRequest rest;
  static const char* kMethods[] = {"GET", "POST", "PUT", "DELETE"};
  rest.method = kMethods[selector % 4];
  rest.target = nl == std::string_view::npos
                    ? std::string("/2015-03-31/functions/f/invocations")
                    : "/" + std::string(in.substr(1, nl - 1));
  splitTarget(rest);
  rest.headers = {{"content-type", "application/json"}, {"x-amz-invocation-type", "Event"}};
  rest.body = nl == std::string_view::npos ? std::string(in) : std::string(in.substr(nl + 1));
  run(*lambda, rest);
  return 0;
}
