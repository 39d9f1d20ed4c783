// json 1.0/1.1, rest-json and smithy-rpc-v2-cbor round trips through botocore: botocore
// serializes requests that parseInput must understand, and parses citadel's responses back.

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

/// botocore request -> matchOperation -> parseInput.
json::value parsedInput(const char* svc, const char* op, const json::value& params,
                        const std::string& protocol = "") {
  HttpRequest req = botocoreRequest(svc, op, params, protocol);
  auto m = matchOperation(model(svc), req);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().code);
  if (!m.ok()) return nullptr;
  EXPECT_EQ(m->op->name, op);
  auto doc = parseInput(model(svc), *m, req);
  EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().code + ": " + doc.error().message);
  return doc.ok() ? *doc : json::value(nullptr);
}

/// Serializes `output` for the operation and returns what botocore parses from it.
json::value roundTripOutput(const char* svc, const char* op, Protocol protocol,
                            const json::value& output, HttpResponse* resp_out = nullptr) {
  OperationMatch m;
  m.op = model(svc).findOperation(op);
  m.protocol = protocol;
  HttpResponse resp;
  serializeOutput(model(svc), m, output, "req-42", resp);
  if (resp_out) *resp_out = resp;
  return botocoreParse(svc, op, resp, std::string(protocolName(protocol)));
}

json::value roundTripError(const char* svc, const char* op, Protocol protocol,
                           const AwsError& err, HttpResponse* resp_out = nullptr) {
  const ServiceModel& mdl = model(svc);
  HttpResponse resp;
  serializeError(mdl, protocol, mdl.findOperation(op), err, "req-err", resp);
  if (resp_out) *resp_out = resp;
  return botocoreParse(svc, op, resp, std::string(protocolName(protocol)));
}

/// Drops botocore's ResponseMetadata so documents compare.
json::value withoutMetadata(json::value v) {
  if (v.is_object()) v.get_object().erase("ResponseMetadata");
  return v;
}

const std::string kBinary("\x00\x01\xfe\xff plain \x80", 11);

TEST(JsonProtocolTest, KmsEncryptBlobAndMap) {
  json::value doc = parsedInput(
      "kms", "Encrypt",
      {{"KeyId", "alias/app"},
       {"Plaintext", {{"$b64", base64Encode(kBinary)}}},
       {"EncryptionContext", {{"purpose", "test"}, {"team", "sec"}}}});
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.at("KeyId"), "alias/app");
  EXPECT_EQ(doc.at("Plaintext").get_string(), kBinary);
  EXPECT_EQ(doc.at("EncryptionContext"), json::parse(R"({"purpose":"test","team":"sec"})"));
}

TEST(JsonProtocolTest, KmsCreateKeyTagsList) {
  json::value doc = parsedInput(
      "kms", "CreateKey",
      {{"Description", "d"},
       {"KeySpec", "RSA_2048"},
       {"KeyUsage", "SIGN_VERIFY"},
       {"Tags", json::array{{{"TagKey", "a"}, {"TagValue", "1"}},
                            {{"TagKey", "b"}, {"TagValue", "2"}}}}});
  EXPECT_EQ(doc.at("KeySpec"), "RSA_2048");
  ASSERT_EQ(doc.at("Tags").get_array().size(), 2u);
  EXPECT_EQ(doc.at("Tags").at(1).at("TagKey"), "b");
}

TEST(JsonProtocolTest, SecretsManagerBinaryAndIdempotencyToken) {
  json::value doc = parsedInput("secretsmanager", "CreateSecret",
                                {{"Name", "db/pass"},
                                 {"SecretBinary", {{"$b64", base64Encode(kBinary)}}},
                                 {"Tags", json::array{{{"Key", "k"}, {"Value", "v"}}}}});
  EXPECT_EQ(doc.at("Name"), "db/pass");
  EXPECT_EQ(doc.at("SecretBinary").get_string(), kBinary);
  // botocore fills the idempotency token itself.
  EXPECT_TRUE(doc.at("ClientRequestToken").is_string());
}

TEST(JsonProtocolTest, LambdaInvokeLabelsQueryHeadersAndBlobPayload) {
  json::value doc = parsedInput("lambda", "Invoke",
                                {{"FunctionName", "my-fn"},
                                 {"InvocationType", "Event"},
                                 {"LogType", "Tail"},
                                 {"Qualifier", "7"},
                                 {"ClientContext", "e30="},
                                 {"Payload", {{"$b64", base64Encode(R"({"a":[1,2]})")}}}});
  EXPECT_EQ(doc.at("FunctionName"), "my-fn");
  EXPECT_EQ(doc.at("InvocationType"), "Event");
  EXPECT_EQ(doc.at("LogType"), "Tail");
  EXPECT_EQ(doc.at("Qualifier"), "7");
  EXPECT_EQ(doc.at("Payload").get_string(), R"({"a":[1,2]})");
}

TEST(JsonProtocolTest, LambdaListFunctionsIntegerQuery) {
  json::value doc = parsedInput("lambda", "ListFunctions", {{"MaxItems", 25}, {"Marker", "m/1"}});
  EXPECT_EQ(doc.at("MaxItems"), 25);
  EXPECT_EQ(doc.at("Marker"), "m/1");
}

TEST(JsonProtocolTest, LambdaCreateFunctionNestedBody) {
  json::value doc = parsedInput(
      "lambda", "CreateFunction",
      {{"FunctionName", "f"},
       {"Role", "arn:aws:iam::123456789012:role/r"},
       {"Runtime", "python3.12"},
       {"Handler", "h.main"},
       {"Code", {{"ZipFile", {{"$b64", base64Encode(kBinary)}}}}},
       {"Environment", {{"Variables", {{"AB", "1"}}}}},
       {"Timeout", 30},
       {"Tags", {{"t", "v"}}}});
  EXPECT_EQ(doc.at("Code").at("ZipFile").get_string(), kBinary);
  EXPECT_EQ(doc.at("Environment").at("Variables").at("AB"), "1");
  EXPECT_EQ(doc.at("Timeout"), 30);
  EXPECT_EQ(doc.at("Tags").at("t"), "v");
}

TEST(JsonProtocolTest, GuardDutyLocationNamesInBody) {
  json::value doc = parsedInput("guardduty", "GetFindings",
                                {{"DetectorId", "det1"},
                                 {"FindingIds", json::array{"f1", "f2"}},
                                 {"SortCriteria", {{"AttributeName", "severity"},
                                                   {"OrderBy", "DESC"}}}});
  EXPECT_EQ(doc.at("DetectorId"), "det1");
  EXPECT_EQ(doc.at("FindingIds"), json::parse(R"(["f1","f2"])"));
  EXPECT_EQ(doc.at("SortCriteria").at("OrderBy"), "DESC");
}

TEST(JsonProtocolTest, CloudWatchPutMetricDataOverCborJsonAndTimestamps) {
  json::value params = {
      {"Namespace", "App"},
      {"MetricData",
       json::array{{{"MetricName", "Latency"},
                    {"Value", 12.5},
                    {"Unit", "Milliseconds"},
                    {"Timestamp", {{"$ts", 1700000000}}},
                    {"Dimensions", json::array{{{"Name", "host"}, {"Value", "a"}}}},
                    {"Values", json::array{1.0, 2.5}},
                    {"Counts", json::array{3.0, 4.0}}}}}};
  for (const char* proto : {"smithy-rpc-v2-cbor", "json"}) {
    json::value doc = parsedInput("cloudwatch", "PutMetricData", params, proto);
    ASSERT_TRUE(doc.is_object()) << proto;
    EXPECT_EQ(doc.at("Namespace"), "App") << proto;
    const auto& d = doc.at("MetricData").at(0);
    EXPECT_EQ(d.at("MetricName"), "Latency");
    EXPECT_DOUBLE_EQ(d.at("Value").to_number<double>(), 12.5) << proto;
    // botocore sends whole epoch seconds (tag 1 integer in CBOR, a number in JSON).
    EXPECT_DOUBLE_EQ(d.at("Timestamp").to_number<double>(), 1700000000.0) << proto;
    EXPECT_EQ(d.at("Dimensions").at(0).at("Value"), "a");
    EXPECT_DOUBLE_EQ(d.at("Values").at(1).to_number<double>(), 2.5);
  }
}

TEST(JsonProtocolTest, KmsOutputsParseBackInBotocore) {
  json::value out = {{"CiphertextBlob", json::string(kBinary)},
                     {"KeyId", "arn:aws:kms:us-east-1:123456789012:key/k"},
                     {"EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
  HttpResponse resp;
  json::value parsed = roundTripOutput("kms", "Encrypt", Protocol::kJson, out, &resp);
  EXPECT_EQ(*resp.header("Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(*resp.header("x-amzn-RequestId"), "req-42");
  EXPECT_EQ(toDocument(withoutMetadata(parsed)), out);
  EXPECT_EQ(parsed.at("ResponseMetadata").at("RequestId"), "req-42");

  json::value meta = {{"KeyMetadata",
                       {{"KeyId", "k"},
                        {"CreationDate", 1700000000.123},
                        {"Enabled", true},
                        {"KeyState", "Enabled"},
                        {"EncryptionAlgorithms", json::array{"SYMMETRIC_DEFAULT"}}}}};
  json::value back = toDocument(withoutMetadata(roundTripOutput("kms", "DescribeKey",
                                                               Protocol::kJson, meta)));
  EXPECT_EQ(back.at("KeyMetadata").at("KeyId"), "k");
  EXPECT_EQ(back.at("KeyMetadata").at("Enabled"), true);
  EXPECT_NEAR(back.at("KeyMetadata").at("CreationDate").to_number<double>(), 1700000000.123,
              1e-3);
  EXPECT_EQ(back.at("KeyMetadata").at("EncryptionAlgorithms").at(0), "SYMMETRIC_DEFAULT");
}

TEST(JsonProtocolTest, LambdaOutputsStatusHeadersAndPayload) {
  HttpResponse resp;
  json::value parsed = roundTripOutput(
      "lambda", "Invoke", Protocol::kRestJson,
      {{"StatusCode", 202}, {"FunctionError", "Unhandled"}, {"ExecutedVersion", "3"},
       {"LogResult", "bG9n"}, {"Payload", json::string(kBinary)}},
      &resp);
  EXPECT_EQ(resp.status, 202);
  EXPECT_EQ(*resp.header("X-Amz-Function-Error"), "Unhandled");
  json::value doc = toDocument(parsed);
  EXPECT_EQ(doc.at("StatusCode"), 202);
  EXPECT_EQ(doc.at("FunctionError"), "Unhandled");
  EXPECT_EQ(doc.at("ExecutedVersion"), "3");
  EXPECT_EQ(doc.at("Payload").get_string(), kBinary);

  json::value cfg = {{"FunctionName", "f"},
                     {"MemorySize", 256},
                     {"LastModified", "2024-01-01T00:00:00.000+0000"},
                     {"Environment", {{"Variables", {{"A", "1"}}}}}};
  HttpResponse created;
  json::value back =
      withoutMetadata(roundTripOutput("lambda", "CreateFunction", Protocol::kRestJson, cfg,
                                      &created));
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(back, cfg);
}

TEST(JsonProtocolTest, CloudWatchCborOutputParsesBack) {
  json::value out = {
      {"Label", "Latency"},
      {"Datapoints", json::array{{{"Timestamp", 1700000060.0},
                                  {"Average", 1.25},
                                  {"SampleCount", 3.0},
                                  {"Unit", "Milliseconds"}}}}};
  HttpResponse resp;
  json::value parsed =
      roundTripOutput("cloudwatch", "GetMetricStatistics", Protocol::kRpcV2Cbor, out, &resp);
  EXPECT_EQ(*resp.header("smithy-protocol"), "rpc-v2-cbor");
  EXPECT_EQ(*resp.header("Content-Type"), "application/cbor");
  json::value doc = toDocument(withoutMetadata(parsed));
  EXPECT_EQ(doc.at("Label"), "Latency");
  const auto& dp = doc.at("Datapoints").at(0);
  EXPECT_DOUBLE_EQ(dp.at("Timestamp").to_number<double>(), 1700000060.0);
  EXPECT_DOUBLE_EQ(dp.at("Average").to_number<double>(), 1.25);
  EXPECT_EQ(dp.at("Unit"), "Milliseconds");
}

TEST(JsonProtocolTest, JsonErrorsParseAsClientError) {
  HttpResponse resp;
  json::value e = roundTripError(
      "kms", "Encrypt", Protocol::kJson,
      AwsError{"NotFoundException", "Key 'arn:aws:kms:us-east-1:1:key/x' does not exist", 400,
               true, {}},
      &resp);
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(e.at("Error").at("Code"), "NotFoundException");
  EXPECT_EQ(e.at("Error").at("Message"), "Key 'arn:aws:kms:us-east-1:1:key/x' does not exist");
  EXPECT_EQ(e.at("ResponseMetadata").at("RequestId"), "req-err");
}

TEST(JsonProtocolTest, RestJsonErrorTakesModeledStatus) {
  HttpResponse resp;
  json::value e = roundTripError(
      "lambda", "GetFunction", Protocol::kRestJson,
      AwsError{"ResourceNotFoundException", "Function not found: arn:aws:lambda:f", 400, true, {}},
      &resp);
  EXPECT_EQ(resp.status, 404);
  EXPECT_EQ(*resp.header("X-Amzn-ErrorType"), "ResourceNotFoundException");
  EXPECT_EQ(e.at("Error").at("Code"), "ResourceNotFoundException");
  EXPECT_EQ(e.at("Error").at("Message"), "Function not found: arn:aws:lambda:f");
}

TEST(JsonProtocolTest, QueryCompatibleErrorsCarryQueryCode) {
  const AwsError err{"InvalidParameterValueException", "The value x is not valid", 400, true, {}};
  for (Protocol p : {Protocol::kJson, Protocol::kRpcV2Cbor}) {
    HttpResponse resp;
    json::value e = roundTripError("cloudwatch", "PutMetricData", p, err, &resp);
    ASSERT_NE(resp.header("x-amzn-query-error"), nullptr);
    EXPECT_EQ(*resp.header("x-amzn-query-error"), "InvalidParameterValue;Sender");
    EXPECT_EQ(e.at("Error").at("Code"), "InvalidParameterValue") << protocolName(p);
    EXPECT_EQ(e.at("Error").at("Message"), "The value x is not valid");
    EXPECT_EQ(e.at("Error").at("Type"), "Sender");
  }
}

TEST(JsonProtocolTest, MalformedBodiesAreSerializationExceptions) {
  HttpRequest req = botocoreRequest("kms", "ListKeys");
  auto m = matchOperation(model("kms"), req);
  ASSERT_TRUE(m.ok());
  req.body = "{\"Limit\": ";
  auto r = parseInput(model("kms"), *m, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SerializationException");
  req.body = R"({"Limit": "ten"})";
  r = parseInput(model("kms"), *m, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SerializationException");
  req.body = "";
  EXPECT_TRUE(parseInput(model("kms"), *m, req).ok());

  HttpRequest enc = botocoreRequest("kms", "Encrypt", {{"KeyId", "k"}, {"Plaintext", "x"}});
  auto me = matchOperation(model("kms"), enc);
  ASSERT_TRUE(me.ok());
  enc.body = R"({"KeyId":"k","Plaintext":"!!notbase64"})";
  auto bad = parseInput(model("kms"), *me, enc);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "SerializationException");
}

TEST(JsonProtocolTest, CborGarbageIsSerializationException) {
  HttpRequest req = botocoreRequest("cloudwatch", "ListMetrics", json::object(),
                                    "smithy-rpc-v2-cbor");
  auto m = matchOperation(model("cloudwatch"), req);
  ASSERT_TRUE(m.ok());
  req.body = std::string("\xbf\x61", 2);  // indefinite map cut short
  auto r = parseInput(model("cloudwatch"), *m, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SerializationException");
}

TEST(JsonProtocolTest, ValidationRunsAfterParsing) {
  HttpRequest req = botocoreRequest("kms", "Encrypt",
                                    {{"KeyId", std::string(2049, 'k')}, {"Plaintext", "x"}});
  auto m = matchOperation(model("kms"), req);
  ASSERT_TRUE(m.ok());
  auto r = parseInput(model("kms"), *m, req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ValidationException");
  EXPECT_EQ(r.error().message,
            "1 validation error detected: Value '" + std::string(2049, 'k') +
                "' at 'keyId' failed to satisfy constraint: Member must have length less than "
                "or equal to 2048");
}

TEST(JsonProtocolTest, BareErrorForUnknownService) {
  HttpResponse resp;
  serializeBareError(Protocol::kJson, AwsError{"UnrecognizedClientException", "nope", 400, true, {}},
                     "rid", resp);
  EXPECT_EQ(resp.status, 400);
  EXPECT_EQ(*resp.header("x-amzn-RequestId"), "rid");
  json::value body = json::parse(resp.body);
  EXPECT_EQ(body.at("__type"), "UnrecognizedClientException");
  EXPECT_EQ(body.at("message"), "nope");
}

TEST(CloudTrailViewTest, HidesSensitiveDropsBlobsAndCamelCases) {
  const ServiceModel& kms = model("kms");
  json::value doc = {{"KeyId", "k"},
                     {"Plaintext", json::string(kBinary)},
                     {"EncryptionContext", {{"Dept", "x"}}}};
  json::value v = toCloudTrailView(kms.findOperation("Encrypt")->input, doc);
  EXPECT_EQ(v.at("keyId"), "k");
  EXPECT_EQ(v.at("plaintext"), "HIDDEN_DUE_TO_SECURITY_REASONS");
  EXPECT_EQ(v.at("encryptionContext").at("Dept"), "x");

  json::value out = {{"CiphertextBlob", json::string(kBinary)}, {"KeyId", "k"}};
  json::value ov = toCloudTrailView(kms.findOperation("Encrypt")->output, out);
  EXPECT_FALSE(ov.as_object().contains("ciphertextBlob"));
  EXPECT_EQ(ov.at("keyId"), "k");

  const ServiceModel& sts = model("sts");
  json::value creds = {{"Credentials",
                        {{"AccessKeyId", "ASIAEXAMPLE"},
                         {"SecretAccessKey", "secret"},
                         {"SessionToken", "tok"},
                         {"Expiration", 1570000000.0}}}};
  json::value cv = toCloudTrailView(sts.findOperation("AssumeRole")->output, creds);
  EXPECT_EQ(cv.at("credentials").at("accessKeyId"), "ASIAEXAMPLE");
  EXPECT_EQ(cv.at("credentials").at("secretAccessKey"), "HIDDEN_DUE_TO_SECURITY_REASONS");
  EXPECT_EQ(cv.at("credentials").at("expiration"), "Oct 2, 2019, 7:06:40 AM");
}

}  // namespace
}  // namespace citadel::protocol
