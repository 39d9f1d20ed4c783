// matchOperation over requests serialized by botocore for every protocol.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>

#include "core/encoding.h"
#include "core/http_message.h"
#include "protocol/protocol.h"
#include "botocore_fixture.h"

namespace citadel::protocol {
namespace {

namespace json = boost::json;
using namespace fixture;  // NOLINT: test helpers

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
