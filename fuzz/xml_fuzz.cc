// libFuzzer target: arbitrary bytes as the XML body of S3 requests (PutBucketTagging,
// DeleteObjects, CreateBucket, PutBucketAcl) through matchOperation + parseInput, and any parsed
// payload back through the rest-xml serializer.

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
  static const ServiceModel* s3 = Models::get("s3");
  struct Target {
    const char* method;
    const char* target;
  };
  static constexpr Target kTargets[] = {
      {"PUT", "/bucket?tagging"},
      {"POST", "/bucket?delete"},
      {"PUT", "/bucket"},
      {"PUT", "/bucket?acl"},
  };
  const Target& t = kTargets[data[0] % 4];
  HttpRequest req;
  req.method = t.method;
  req.target = t.target;
  req.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  req.headers.emplace_back("content-type", "application/xml");
  splitTarget(req);

  auto match = matchOperation(*s3, req);
  HttpResponse resp;
  if (!match.ok()) return 0;
  auto doc = parseInput(*s3, *match, req);
  if (!doc.ok()) {
    serializeError(*s3, Protocol::kRestXml, match->op, doc.error(), "fuzz", resp);
    return 0;
  }
  // Write what was read with the matching Get* output shape (same payload structures).
  static const char* kGets[] = {"GetBucketTagging", "ListObjectsV2", "GetBucketLocation",
                                "GetBucketAcl"};
  OperationMatch out_match;
  out_match.op = s3->findOperation(kGets[data[0] % 4]);
  out_match.protocol = Protocol::kRestXml;
  if (!out_match.op) return 0;
  const auto& obj = doc->as_object();
  for (const char* key : {"Tagging", "Delete", "CreateBucketConfiguration", "AccessControlPolicy"})
    if (const auto* v = obj.if_contains(key)) {
      serializeOutput(*s3, out_match, *v, "fuzz", resp);
      break;
    }
  return 0;
}
