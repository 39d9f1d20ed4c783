// matchOperation over requests serialized by botocore for every protocol.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>

#include "core/encoding.h"
#include "core/http_message.h"
#include "protocol/protocol.h"

namespace citadel::protocol {
namespace {

namespace json = boost::json;

[[maybe_unused]] std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

/// Runs tests/unit/protocol/botocore_fixtures.py with `args` and `input` on stdin.
[[maybe_unused]] json::value botocore(const std::string& args, const std::string& input = "") {
  std::string cmd = std::string(PYTHON3) + " " CITADEL_SOURCE_DIR
                    "/tests/unit/protocol/botocore_fixtures.py " + args;
  std::string in_path;
  if (!input.empty()) {
    char tmpl[] = "/tmp/citadel_proto_test_XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    ::close(fd);
    in_path = tmpl;
    std::ofstream(in_path, std::ios::binary) << input;
    cmd += " < " + in_path;
  }
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (!in_path.empty()) std::remove(in_path.c_str());
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  json::error_code ec;
  json::value v = json::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return v;
}

/// Fixture-tagged values ({"$b64"}, {"$ts"}) to the document conventions.
[[maybe_unused]] json::value toDocument(const json::value& v) {
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.size() == 1 && o.contains("$b64"))
      return json::string(*base64Decode(std::string(o.at("$b64").get_string())));
    if (o.size() == 1 && o.contains("$ts")) return json::value(o.at("$ts").to_number<double>());
    json::object r;
    for (const auto& kv : o) r[kv.key()] = toDocument(kv.value());
    return r;
  }
  if (v.is_array()) {
    json::array a;
    for (const auto& x : v.get_array()) a.push_back(toDocument(x));
    return a;
  }
  return v;
}

[[maybe_unused]] HttpRequest toHttpRequest(const json::value& r) {
  HttpRequest req;
  req.method = std::string(r.at("method").get_string());
  req.target = std::string(r.at("target").get_string());
  splitTarget(req);
  for (const auto& [k, v] : r.at("headers").get_object())
    req.headers.emplace_back(std::string(k), std::string(v.get_string()));
  req.body = *base64Decode(std::string(r.at("body_b64").get_string()));
  return req;
}

/// The HTTP request botocore sends for `op` with `params` (optionally forcing a protocol).
[[maybe_unused]] HttpRequest botocoreRequest(const std::string& svc, const std::string& op,
                            const json::value& params = json::object(),
                            const std::string& protocol = "") {
  std::string args = "request " + svc + " " + op + " " + shellQuote(json::serialize(params));
  if (!protocol.empty()) args += " --protocol " + protocol;
  return toHttpRequest(botocore(args));
}

/// Many requests with one Python start: each item {service, operation, params, protocol}.
[[maybe_unused]] std::vector<HttpRequest> botocoreRequests(const json::array& items) {
  json::value out = botocore("requests", json::serialize(items));
  std::vector<HttpRequest> reqs;
  if (!out.is_array()) return reqs;
  for (const auto& r : out.get_array()) reqs.push_back(toHttpRequest(r));
  return reqs;
}

/// What botocore's parser extracts from `resp` for `op`.
[[maybe_unused]] json::value botocoreParse(const std::string& svc, const std::string& op,
                          const std::string& protocol, const HttpResponse& resp) {
  json::object headers;
  for (const auto& [k, v] : resp.headers) headers[k] = v;
  json::object in{{"status", resp.status},
                  {"headers", std::move(headers)},
                  {"body_b64", base64Encode(resp.body)}};
  return botocore("parse " + svc + " " + op + " " + protocol, json::serialize(in));
}

const ServiceModel& model(const char* name) {
  const ServiceModel* m = Models::get(name);
  EXPECT_NE(m, nullptr) << name;
  return *m;
}

struct Case {
  const char* service;
  const char* operation;
  const char* params;    // JSON
  const char* protocol;  // forced protocol or ""
  Protocol expected_protocol;
};

// Requests whose operation must be found exactly as botocore named it.
const Case kCases[] = {
    {"kms", "Encrypt", R"({"KeyId":"k","Plaintext":{"$b64":"AA=="}})", "", Protocol::kJson},
    {"kms", "ListKeys", "{}", "", Protocol::kJson},
    {"sts", "GetCallerIdentity", "{}", "", Protocol::kQuery},
    {"sts", "AssumeRole", R"({"RoleArn":"arn:aws:iam::123456789012:role/r","RoleSessionName":"s"})",
     "", Protocol::kQuery},
    {"ec2", "DescribeInstances", "{}", "", Protocol::kEc2},
    {"cloudwatch", "PutMetricData", R"({"Namespace":"N","MetricData":[{"MetricName":"m"}]})",
     "smithy-rpc-v2-cbor", Protocol::kRpcV2Cbor},
    {"cloudwatch", "PutMetricData", R"({"Namespace":"N","MetricData":[{"MetricName":"m"}]})",
     "json", Protocol::kJson},
    {"cloudwatch", "PutMetricData", R"({"Namespace":"N","MetricData":[{"MetricName":"m"}]})",
     "query", Protocol::kQuery},
    {"cloudwatch", "ListMetrics", "{}", "smithy-rpc-v2-cbor", Protocol::kRpcV2Cbor},
    {"s3", "GetObject", R"({"Bucket":"b","Key":"dir/sub/file name.txt"})", "",
     Protocol::kRestXml},
    {"s3", "GetObjectAcl", R"({"Bucket":"b","Key":"k"})", "", Protocol::kRestXml},
    {"s3", "PutObject", R"({"Bucket":"b","Key":"k","Body":{"$b64":"aGk="}})", "",
     Protocol::kRestXml},
    {"s3", "CopyObject", R"({"Bucket":"b","Key":"k","CopySource":"src/key"})", "",
     Protocol::kRestXml},
    {"s3", "CreateMultipartUpload", R"({"Bucket":"b","Key":"k"})", "", Protocol::kRestXml},
    {"s3", "UploadPart",
     R"({"Bucket":"b","Key":"k","UploadId":"u","PartNumber":1,"Body":{"$b64":"aGk="}})", "",
     Protocol::kRestXml},
    {"s3", "UploadPartCopy",
     R"({"Bucket":"b","Key":"k","UploadId":"u","PartNumber":1,"CopySource":"s/k"})", "",
     Protocol::kRestXml},
    {"s3", "ListObjectsV2", R"({"Bucket":"b"})", "", Protocol::kRestXml},
    {"s3", "ListObjects", R"({"Bucket":"b"})", "", Protocol::kRestXml},
    {"s3", "ListBuckets", "{}", "", Protocol::kRestXml},
    {"s3", "HeadBucket", R"({"Bucket":"b"})", "", Protocol::kRestXml},
    {"s3", "PutBucketTagging", R"({"Bucket":"b","Tagging":{"TagSet":[]}})", "",
     Protocol::kRestXml},
    {"s3", "DeleteObjects", R"({"Bucket":"b","Delete":{"Objects":[{"Key":"a"}]}})", "",
     Protocol::kRestXml},
    {"lambda", "ListFunctions", "{}", "", Protocol::kRestJson},
    {"lambda", "GetFunction", R"({"FunctionName":"f"})", "", Protocol::kRestJson},
    {"lambda", "Invoke", R"({"FunctionName":"f"})", "", Protocol::kRestJson},
    {"lambda", "ListVersionsByFunction", R"({"FunctionName":"f"})", "", Protocol::kRestJson},
    {"lambda", "GetLayerVersionByArn",
     R"({"Arn":"arn:aws:lambda:us-east-1:123456789012:layer:l:1"})", "", Protocol::kRestJson},
    {"lambda", "ListProvisionedConcurrencyConfigs", R"({"FunctionName":"f"})", "",
     Protocol::kRestJson},
    {"guardduty", "GetFindings", R"({"DetectorId":"d","FindingIds":["x"]})", "",
     Protocol::kRestJson},
    {"guardduty", "ListDetectors", "{}", "", Protocol::kRestJson},
};

class MatchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    json::array items;
    for (const auto& c : kCases) {
      json::object o{{"service", c.service},
                     {"operation", c.operation},
                     {"params", json::parse(c.params)}};
      if (*c.protocol) o["protocol"] = c.protocol;
      items.push_back(std::move(o));
    }
    requests_ = new std::vector<HttpRequest>(botocoreRequests(items));
  }
  static void TearDownTestSuite() { delete requests_; }
  static std::vector<HttpRequest>* requests_;
};
std::vector<HttpRequest>* MatchTest::requests_ = nullptr;

TEST_F(MatchTest, EveryBotocoreRequestFindsItsOperation) {
  ASSERT_EQ(requests_->size(), std::size(kCases));
  for (size_t i = 0; i < std::size(kCases); ++i) {
    const Case& c = kCases[i];
    auto m = matchOperation(model(c.service), (*requests_)[i]);
    ASSERT_TRUE(m.ok()) << c.service << " " << c.operation << " " << (*requests_)[i].method
                        << " " << (*requests_)[i].target << ": " << m.error().code;
    EXPECT_EQ(m->op->name, c.operation) << c.service << " " << (*requests_)[i].method << " "
                                        << (*requests_)[i].target;
    EXPECT_EQ(m->protocol, c.expected_protocol) << c.service << " " << c.operation;
  }
}

TEST_F(MatchTest, UriLabelsAreDecodedAndGreedyKeepsSlashes) {
  auto m = matchOperation(model("s3"), (*requests_)[9]);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->uri_labels.at("Bucket"), "b");
  EXPECT_EQ(m->uri_labels.at("Key"), "dir/sub/file name.txt");
  auto fn = matchOperation(model("lambda"), (*requests_)[23]);
  ASSERT_TRUE(fn.ok());
  EXPECT_EQ(fn->uri_labels.at("FunctionName"), "f");
}

TEST_F(MatchTest, JsonUnknownTargetIsUnknownOperationException) {
  HttpRequest req = (*requests_)[0];
  for (auto& [k, v] : req.headers)
    if (k == "x-amz-target") v = "TrentService.NoSuchThing";
  auto m = matchOperation(model("kms"), req);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "UnknownOperationException");
  EXPECT_EQ(m.error().http_status, 400);
  for (auto& [k, v] : req.headers)
    if (k == "x-amz-target") v = "OtherService.Encrypt";
  EXPECT_FALSE(matchOperation(model("kms"), req).ok());
}

TEST_F(MatchTest, QueryUnknownActionIsInvalidAction) {
  HttpRequest req = (*requests_)[2];
  req.body = "Action=GetCallerIdentityX&Version=2011-06-15";
  auto m = matchOperation(model("sts"), req);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "InvalidAction");
  EXPECT_EQ(m.error().message, "Could not find operation GetCallerIdentityX for version 2011-06-15");
  EXPECT_EQ(m.error().http_status, 400);
}

TEST_F(MatchTest, QueryActionFromQueryString) {
  HttpRequest req;
  req.method = "GET";
  req.target = "/?Action=GetCallerIdentity&Version=2011-06-15";
  splitTarget(req);
  auto m = matchOperation(model("sts"), req);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->op->name, "GetCallerIdentity");
}

TEST_F(MatchTest, CborUnknownOperation) {
  HttpRequest req = (*requests_)[5];
  req.target = "/service/GraniteServiceVersion20100801/operation/Nope";
  splitTarget(req);
  auto m = matchOperation(model("cloudwatch"), req);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "UnknownOperationException");
}

TEST_F(MatchTest, RestUnknownRouteErrors) {
  HttpRequest req = (*requests_)[23];  // lambda GetFunction
  req.method = "PATCH";
  auto m = matchOperation(model("lambda"), req);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "UnknownOperationException");
  EXPECT_EQ(m.error().http_status, 404);
  req.method = "GET";
  req.target = "/2015-03-31/nothing/here";
  splitTarget(req);
  EXPECT_FALSE(matchOperation(model("lambda"), req).ok());
  HttpRequest s3 = (*requests_)[9];
  s3.method = "PATCH";
  auto e = matchOperation(model("s3"), s3);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, "MethodNotAllowed");
  EXPECT_EQ(e.error().http_status, 405);
}

}  // namespace
}  // namespace citadel::protocol
