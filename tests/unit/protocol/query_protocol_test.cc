// Round trips of the query and ec2 protocols against botocore: botocore serializes requests that
// citadel parses; citadel serializes responses that botocore's parser reads back.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "core/encoding.h"
#include "core/http_message.h"
#include "protocol/internal.h"
#include "protocol/model.h"
#include "protocol/protocol.h"
#include "botocore_fixture.h"

namespace citadel::protocol {
namespace {
namespace json = boost::json;
using namespace fixture;  // NOLINT: test helpers

OperationMatch matchOf(const ServiceModel& m, const char* op, Protocol p = Protocol::kQuery) {
  OperationMatch match;
  match.op = m.findOperation(op);
  EXPECT_NE(match.op, nullptr) << op;
  match.protocol = p;
  return match;
}

/// botocore request -> citadel parse; the document must equal the params.
void expectRequestParses(const char* svc, const char* op, const char* params_json,
                         Protocol p = Protocol::kQuery, const std::string& force = "") {
  json::value params = json::parse(params_json);
  HttpRequest req = botocoreRequest(svc, op, params, force);
  const ServiceModel& m = model(svc);
  auto doc = detail::parseQueryInput(m, matchOf(m, op, p), req);
  ASSERT_TRUE(doc.ok()) << doc.error().code << ": " << doc.error().message << "\n" << req.body;
  EXPECT_EQ(*doc, toDocument(params)) << json::serialize(*doc) << "\nbody: " << req.body;
}

/// citadel serialize -> botocore parse; every member of `doc_json` must come back unchanged.
json::value expectOutputRoundTrips(const char* svc, const char* op, const char* doc_json,
                                   Protocol p = Protocol::kQuery, const std::string& force = "") {
  const ServiceModel& m = model(svc);
  json::value doc = toDocument(json::parse(doc_json));
  HttpResponse resp;
  detail::serializeQueryOutput(m, matchOf(m, op, p), doc, "req-1234", resp);
  EXPECT_EQ(resp.status, 200);
  EXPECT_TRUE(resp.header("Content-Type") && *resp.header("Content-Type") == "text/xml");
  json::value parsed = toDocument(botocoreParse(svc, op, resp, force));
  json::object got = parsed.as_object();
  EXPECT_EQ(got["ResponseMetadata"].as_object()["RequestId"], "req-1234") << resp.body;
  got.erase("ResponseMetadata");
  EXPECT_EQ(json::value(got), doc) << resp.body;
  return parsed;
}

// ---- requests -------------------------------------------------------------------------------

TEST(QueryProtocolParse, StsAssumeRoleWithTagsAndPolicyArns) {
  expectRequestParses("sts", "AssumeRole", R"({
    "RoleArn": "arn:aws:iam::123456789012:role/demo",
    "RoleSessionName": "s1",
    "DurationSeconds": 900,
    "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]} & + = %",
    "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
                   {"arn": "arn:aws:iam::123456789012:policy/p2"}],
    "Tags": [{"Key": "team", "Value": "blue green"}, {"Key": "cost", "Value": "ü€"}],
    "TransitiveTagKeys": ["team"]
  })");
}

TEST(QueryProtocolParse, EmptyListIsSentAsBareKey) {
  expectRequestParses("sts", "AssumeRole",
                      R"({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s",
                          "Tags": []})");
}

TEST(QueryProtocolParse, IamCreateUserAndPutUserPolicy) {
  expectRequestParses("iam", "CreateUser", R"({
    "UserName": "alice", "Path": "/eng/",
    "PermissionsBoundary": "arn:aws:iam::123456789012:policy/b",
    "Tags": [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": ""}]})");
  expectRequestParses("iam", "PutUserPolicy", R"({
    "UserName": "alice", "PolicyName": "inline",
    "PolicyDocument": "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}"})");
}

TEST(QueryProtocolParse, SnsPublishWithMessageAttributesMap) {
  expectRequestParses("sns", "Publish", R"({
    "TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "hello <world>",
    "MessageAttributes": {
      "color": {"DataType": "String", "StringValue": "red"},
      "blob": {"DataType": "Binary", "BinaryValue": {"$b64": "AAECAwT/"}}}})");
}

TEST(QueryProtocolParse, Ec2DescribeInstancesWithFilters) {
  expectRequestParses("ec2", "DescribeInstances", R"({
    "InstanceIds": ["i-1", "i-2"],
    "Filters": [{"Name": "tag:Name", "Values": ["web", "db"]},
                {"Name": "instance-state-name", "Values": ["running"]}],
    "DryRun": false, "MaxResults": 50, "NextToken": "abc"})",
                      Protocol::kEc2);
}

TEST(QueryProtocolParse, CloudWatchOverQueryWithTimestampsAndDoubles) {
  expectRequestParses("cloudwatch", "PutMetricData", R"({
    "Namespace": "App/Test",
    "MetricData": [{"MetricName": "Latency", "Value": 12.5, "Unit": "Milliseconds",
                    "Timestamp": {"$ts": 1700000000.5},
                    "Dimensions": [{"Name": "Host", "Value": "a"}],
                    "Values": [1.0, 2.25], "Counts": [3.0, 4.0]}]})",
                      Protocol::kQuery, "query");
}

TEST(QueryProtocolParse, GetRequestReadsTheQueryString) {
  json::value params = json::parse(R"({"RoleArn": "arn:aws:iam::123456789012:role/r",
                                       "RoleSessionName": "s", "DurationSeconds": 3600})");
  HttpRequest post = botocoreRequest("sts", "AssumeRole", params);
  HttpRequest get;
  get.method = "GET";
  get.target = "/?" + post.body;
  splitTarget(get);
  const ServiceModel& m = model("sts");
  auto doc = detail::parseQueryInput(m, matchOf(m, "AssumeRole"), get);
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  EXPECT_EQ(*doc, params);
}

TEST(QueryProtocolParse, DuplicateKeyIsRejected) {
  HttpRequest req = botocoreRequest(
      "sts", "AssumeRole",
      json::parse(R"({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s"})"));
  req.body += "&RoleSessionName=other";
  const ServiceModel& m = model("sts");
  auto doc = detail::parseQueryInput(m, matchOf(m, "AssumeRole"), req);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, "MalformedQueryString");
  EXPECT_EQ(doc.error().http_status, 400);

  HttpRequest ec2 =
      botocoreRequest("ec2", "DescribeInstances", json::parse(R"({"InstanceIds": ["i-1"]})"));
  ec2.body += "&InstanceId.1=i-2";
  const ServiceModel& e = model("ec2");
  auto doc2 = detail::parseQueryInput(e, matchOf(e, "DescribeInstances", Protocol::kEc2), ec2);
  ASSERT_FALSE(doc2.ok());
  EXPECT_EQ(doc2.error().code, "InvalidParameterValue");
}

TEST(QueryProtocolParse, BadPercentEscapeIsMalformed) {
  HttpRequest req = botocoreRequest("sts", "GetCallerIdentity", json::object());
  req.body += "&Junk=%zz";
  const ServiceModel& m = model("sts");
  auto doc = detail::parseQueryInput(m, matchOf(m, "GetCallerIdentity"), req);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, "MalformedQueryString");
}

TEST(QueryProtocolParse, NonNumericIntegerIsRejected) {
  // The fixture client runs with parameter validation off, so botocore sends the bad value.
  HttpRequest req = botocoreRequest("sts", "AssumeRole", json::parse(R"({
      "RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s",
      "DurationSeconds": "soon"})"));
  const ServiceModel& m = model("sts");
  auto doc = detail::parseQueryInput(m, matchOf(m, "AssumeRole"), req);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, "ValidationError");
  EXPECT_NE(doc.error().message.find("DurationSeconds"), std::string::npos);
}

TEST(QueryProtocolParse, GetCallerIdentityIsAnEmptyDocument) {
  HttpRequest req = botocoreRequest("sts", "GetCallerIdentity", json::object());
  const ServiceModel& m = model("sts");
  auto doc = detail::parseQueryInput(m, matchOf(m, "GetCallerIdentity"), req);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(*doc, json::object());
}

TEST(QueryProtocolParse, ThroughMatchOperationAndParseInput) {
  json::value params = json::parse(R"({"RoleArn": "arn:aws:iam::123456789012:role/demo",
      "RoleSessionName": "s1", "Tags": [{"Key": "a", "Value": "b"}]})");
  HttpRequest req = botocoreRequest("sts", "AssumeRole", params);
  const ServiceModel& m = model("sts");
  auto match = matchOperation(m, req);
  ASSERT_TRUE(match.ok()) << match.error().message;
  EXPECT_EQ(match->op->name, "AssumeRole");
  EXPECT_EQ(match->protocol, Protocol::kQuery);
  auto doc = parseInput(m, *match, req);
  ASSERT_TRUE(doc.ok()) << doc.error().code << ": " << doc.error().message;
  EXPECT_EQ(*doc, params);
}

// ---- responses ------------------------------------------------------------------------------

TEST(QueryProtocolSerialize, StsGetCallerIdentity) {
  const ServiceModel& m = model("sts");
  HttpResponse resp;
  json::value doc = json::parse(R"({"UserId": "AIDAEXAMPLE", "Account": "123456789012",
      "Arn": "arn:aws:iam::123456789012:user/a&b"})");
  detail::serializeQueryOutput(m, matchOf(m, "GetCallerIdentity"), doc, "rid-1", resp);
  EXPECT_NE(resp.body.find("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
                           "2011-06-15/\"><GetCallerIdentityResult>"),
            std::string::npos)
      << resp.body;
  expectOutputRoundTrips("sts", "GetCallerIdentity", R"({"UserId": "AIDAEXAMPLE",
      "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/a&b<c>\"d'"})");
}

TEST(QueryProtocolSerialize, StsAssumeRoleWithCredentialTimestamps) {
  expectOutputRoundTrips("sts", "AssumeRole", R"({
    "Credentials": {"AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "s/+=",
                    "SessionToken": "tok", "Expiration": {"$ts": 1700003600.5}},
    "AssumedRoleUser": {"AssumedRoleId": "AROA:s1",
                        "Arn": "arn:aws:sts::123456789012:assumed-role/demo/s1"},
    "PackedPolicySize": 6, "SourceIdentity": "me"})");
}

TEST(QueryProtocolSerialize, IamListUsersWithLists) {
  expectOutputRoundTrips("iam", "ListUsers", R"({
    "Users": [
      {"Path": "/", "UserName": "a", "UserId": "AIDA1", "Arn": "arn:aws:iam::123456789012:user/a",
       "CreateDate": {"$ts": 1600000000.0},
       "Tags": [{"Key": "k", "Value": "v"}]},
      {"Path": "/eng/", "UserName": "b", "UserId": "AIDA2",
       "Arn": "arn:aws:iam::123456789012:user/eng/b", "CreateDate": {"$ts": 1600000001.0}}],
    "IsTruncated": true, "Marker": "m1"})");
}

TEST(QueryProtocolSerialize, IamEmptyListRoundTrips) {
  expectOutputRoundTrips("iam", "ListUsers", R"({"Users": [], "IsTruncated": false})");
}

TEST(QueryProtocolSerialize, SnsMapOutput) {
  expectOutputRoundTrips("sns", "GetTopicAttributes", R"({"Attributes": {
      "TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Policy": "{\"a\": 1}"}})");
}

TEST(QueryProtocolSerialize, NoOutputShapeStillCarriesRequestId) {
  const ServiceModel& m = model("iam");
  HttpResponse resp;
  detail::serializeQueryOutput(m, matchOf(m, "DeleteUser"), json::value(), "rid-9", resp);
  json::value parsed = botocoreParse("iam", "DeleteUser", resp);
  EXPECT_EQ(parsed.at("ResponseMetadata").at("RequestId"), "rid-9") << resp.body;
  EXPECT_EQ(parsed.as_object().size(), 1u);
}

TEST(QueryProtocolSerialize, Ec2DescribeInstancesNestedLists) {
  json::value parsed = expectOutputRoundTrips("ec2", "DescribeInstances", R"({
    "Reservations": [{
      "ReservationId": "r-1", "OwnerId": "123456789012",
      "Instances": [{
        "InstanceId": "i-1", "InstanceType": "t3.micro", "LaunchTime": {"$ts": 1700000000.0},
        "State": {"Code": 16, "Name": "running"},
        "Tags": [{"Key": "Name", "Value": "web"}],
        "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "default"}],
        "EbsOptimized": false}]}],
    "NextToken": "n"})",
                                              Protocol::kEc2);
}

TEST(QueryProtocolSerialize, QueryErrorParsesInBotocore) {
  const ServiceModel& m = model("iam");
  HttpResponse resp;
  AwsError err{"NoSuchEntity", "The user with name bob <x> cannot be found.", 404, true, {}};
  detail::serializeQueryError(&m, Protocol::kQuery, err, "rid-e1", resp);
  EXPECT_EQ(resp.status, 404);
  EXPECT_EQ(*resp.header("Content-Type"), "text/xml");
  json::value parsed = botocoreParse("iam", "GetUser", resp);
  EXPECT_EQ(parsed.at("Error").at("Code"), "NoSuchEntity");
  EXPECT_EQ(parsed.at("Error").at("Message"), json::string(err.message));
  EXPECT_EQ(parsed.at("Error").at("Type"), "Sender");
  EXPECT_EQ(parsed.at("ResponseMetadata").at("RequestId"), "rid-e1");

  AwsError internal = AwsError::internal();
  detail::serializeQueryError(&m, Protocol::kQuery, internal, "rid-e2", resp);
  EXPECT_EQ(resp.status, 500);
  json::value p2 = botocoreParse("iam", "GetUser", resp);
  EXPECT_EQ(p2.at("Error").at("Code"), "InternalFailure");
  EXPECT_EQ(p2.at("Error").at("Type"), "Receiver");
}

TEST(QueryProtocolSerialize, Ec2ErrorParsesInBotocore) {
  const ServiceModel& m = model("ec2");
  HttpResponse resp;
  AwsError err{"InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist", 400, true, {}};
  detail::serializeQueryError(&m, Protocol::kEc2, err, "rid-e3", resp);
  EXPECT_EQ(resp.status, 400);
  json::value parsed = botocoreParse("ec2", "DescribeInstances", resp);
  EXPECT_EQ(parsed.at("Error").at("Code"), "InvalidInstanceID.NotFound");
  EXPECT_EQ(parsed.at("Error").at("Message"), json::string(err.message));
  EXPECT_EQ(parsed.at("ResponseMetadata").at("RequestId"), "rid-e3");
}

}  // namespace
}  // namespace citadel::protocol
