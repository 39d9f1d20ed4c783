// Round trips of the rest-xml protocol (S3) against botocore: botocore serializes requests that
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

HttpRequest botocoreRequest(const std::string& svc, const std::string& op,
                            const json::value& params) {
  json::value f = botocore("request " + svc + " " + op + " " + shellQuote(json::serialize(params)));
  HttpRequest req;
  req.method = std::string(f.at("method").get_string());
  req.target = std::string(f.at("target").get_string());
  splitTarget(req);
  for (const auto& kv : f.at("headers").get_object())
    req.headers.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
  req.body = *base64Decode(std::string(f.at("body_b64").get_string()));
  return req;
}

json::value botocoreParse(const std::string& svc, const std::string& op, const HttpResponse& resp) {
  json::object r;
  r["status"] = resp.status;
  json::object h;
  for (const auto& [k, v] : resp.headers) h[k] = v;
  r["headers"] = std::move(h);
  r["body_b64"] = base64Encode(resp.body);
  return botocore("parse " + svc + " " + op, json::serialize(r));
}

const ServiceModel& s3() {
  const ServiceModel* m = Models::get("s3");
  EXPECT_NE(m, nullptr);
  return *m;
}

/// Every member of `want` is in `got` with the same value (`got` may carry more, e.g. the
/// checksum headers botocore adds on its own).
void expectSubset(const json::value& want, const json::value& got, const std::string& ctx) {
  for (const auto& kv : want.as_object()) {
    auto* g = got.as_object().if_contains(kv.key());
    ASSERT_NE(g, nullptr) << "missing " << kv.key() << " in " << json::serialize(got) << "\n"
                          << ctx;
    EXPECT_EQ(*g, kv.value()) << kv.key() << "\n" << ctx;
  }
}

/// botocore request -> matchOperation -> citadel rest-xml parse; the params must be found.
json::value expectRequestParses(const char* op, const char* params_json) {
  json::value params = json::parse(params_json);
  HttpRequest req = botocoreRequest("s3", op, params);
  auto match = matchOperation(s3(), req);
  EXPECT_TRUE(match.ok()) << match.error().message;
  if (!match.ok()) return {};
  EXPECT_EQ(match->op->name, op);
  EXPECT_EQ(match->protocol, Protocol::kRestXml);
  auto doc = detail::parseRestXmlInput(s3(), *match, req);
  EXPECT_TRUE(doc.ok()) << doc.error().code << ": " << doc.error().message;
  if (!doc.ok()) return {};
  expectSubset(toDocument(params), *doc, req.body);
  return *doc;
}

OperationMatch matchOf(const char* op) {
  OperationMatch m;
  m.op = s3().findOperation(op);
  EXPECT_NE(m.op, nullptr);
  m.protocol = Protocol::kRestXml;
  return m;
}

/// citadel serialize -> botocore parse; every member of the document must come back unchanged.
HttpResponse expectOutputRoundTrips(const char* op, const char* doc_json) {
  json::value doc = toDocument(json::parse(doc_json));
  HttpResponse resp;
  detail::serializeRestXmlOutput(s3(), matchOf(op), doc, resp);
  json::value parsed = toDocument(botocoreParse("s3", op, resp));
  expectSubset(doc, parsed, resp.body);
  return resp;
}

// ---- requests -------------------------------------------------------------------------------

TEST(RestXmlProtocolParse, PutBucketTagging) {
  expectRequestParses("PutBucketTagging", R"({"Bucket": "my-bucket",
      "Tagging": {"TagSet": [{"Key": "team", "Value": "a & b"}, {"Key": "env", "Value": "<p>"}]}})");
}

TEST(RestXmlProtocolParse, CreateBucketWithConfiguration) {
  expectRequestParses("CreateBucket", R"({"Bucket": "my-bucket", "ACL": "private",
      "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}})");
}

TEST(RestXmlProtocolParse, CreateBucketWithoutBody) {
  json::value doc = expectRequestParses("CreateBucket", R"({"Bucket": "my-bucket"})");
  EXPECT_FALSE(doc.as_object().contains("CreateBucketConfiguration"));
}

TEST(RestXmlProtocolParse, DeleteObjectsFlattenedList) {
  expectRequestParses("DeleteObjects", R"({"Bucket": "b", "Delete": {
      "Objects": [{"Key": "a/b.txt"}, {"Key": "c", "VersionId": "v1"}], "Quiet": true}})");
}

/// Undoes aws-chunked framing as the auth layer does before the protocol layer runs (chunk
/// signatures are the auth layer's business; here they are only skipped).
std::string dechunk(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t n = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) break;
    out += body.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

TEST(RestXmlProtocolParse, PutObjectBlobPayload) {
  json::value params = json::parse(R"({"Bucket": "b", "Key": "dir/file.bin",
      "Body": {"$b64": "AAEC/f7/PHhtbD4="}, "ContentType": "application/x-test",
      "Metadata": {"color": "red"}})");
  HttpRequest req = botocoreRequest("s3", "PutObject", params);
  if (const auto* enc = req.header("content-encoding"); enc && *enc == "aws-chunked")
    req.body = dechunk(req.body);
  auto match = matchOperation(s3(), req);
  ASSERT_TRUE(match.ok()) << match.error().message;
  EXPECT_EQ(match->op->name, "PutObject");
  auto doc = detail::parseRestXmlInput(s3(), *match, req);
  ASSERT_TRUE(doc.ok()) << doc.error().code << ": " << doc.error().message;
  expectSubset(toDocument(params), *doc, req.body);
}

TEST(RestXmlProtocolParse, MalformedXmlIsRejectedAsS3Does) {
  HttpRequest req = botocoreRequest("s3", "PutBucketTagging", json::parse(R"({"Bucket": "b",
      "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}})"));
  std::string good = req.body;
  req.body.resize(req.body.size() / 2);
  auto doc = detail::parseRestXmlInput(s3(), matchOf("PutBucketTagging"), req);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.error().code, "MalformedXML");
  EXPECT_EQ(doc.error().http_status, 400);

  // Well-formed, but the root element is not <Tagging>.
  req.body = good;
  for (size_t pos; (pos = req.body.find("Tagging")) != std::string::npos;)
    req.body.replace(pos, 7, "Tugging");
  auto wrong_root = detail::parseRestXmlInput(s3(), matchOf("PutBucketTagging"), req);
  ASSERT_FALSE(wrong_root.ok());
  EXPECT_EQ(wrong_root.error().code, "MalformedXML");
}

// ---- responses ------------------------------------------------------------------------------

TEST(RestXmlProtocolSerialize, ListBuckets) {
  HttpResponse resp = expectOutputRoundTrips("ListBuckets", R"({
    "Buckets": [{"Name": "a", "CreationDate": {"$ts": 1700000000.0}},
                {"Name": "b&c", "CreationDate": {"$ts": 1700000001.5}}],
    "Owner": {"DisplayName": "me", "ID": "abc123"}})");
  EXPECT_NE(resp.body.find("<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/"
                           "2006-03-01/\">"),
            std::string::npos)
      << resp.body;
  EXPECT_EQ(*resp.header("Content-Type"), "application/xml");
}

TEST(RestXmlProtocolSerialize, GetObjectHeadersAndBlobPayload) {
  HttpResponse resp = expectOutputRoundTrips("GetObject", R"({
    "Body": {"$b64": "AAEC/f7/aGVsbG8="}, "ContentType": "application/x-test",
    "ContentLength": 10, "ETag": "\"abc\"", "LastModified": {"$ts": 1700000000.0},
    "Metadata": {"color": "red"}})");
  EXPECT_EQ(resp.body, std::string("\x00\x01\x02\xfd\xfe\xffhello", 11));
}

TEST(RestXmlProtocolSerialize, GetBucketAclWithXsiTypeAttribute) {
  HttpResponse resp = expectOutputRoundTrips("GetBucketAcl", R"({
    "Owner": {"ID": "o1"},
    "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "o1"}, "Permission": "FULL_CONTROL"},
               {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
                "Permission": "READ"}]})");
  EXPECT_NE(resp.body.find("xsi:type=\"CanonicalUser\""), std::string::npos) << resp.body;
}

TEST(RestXmlProtocolSerialize, GetBucketTaggingRoundTrips) {
  expectOutputRoundTrips("GetBucketTagging",
                         R"({"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}]})");
}

TEST(RestXmlProtocolSerialize, S3ErrorWithExtraFields) {
  HttpResponse resp;
  AwsError err{
      "NoSuchBucket", "The specified bucket does not exist", 404, true, {{"BucketName", "nope"}}};
  detail::serializeRestXmlError(&s3(), err, "rid-7", resp);
  EXPECT_EQ(resp.status, 404);
  EXPECT_EQ(*resp.header("Content-Type"), "application/xml");
  json::value parsed = botocoreParse("s3", "ListObjectsV2", resp);
  EXPECT_EQ(parsed.at("Error").at("Code"), "NoSuchBucket");
  EXPECT_EQ(parsed.at("Error").at("Message"), "The specified bucket does not exist");
  EXPECT_EQ(parsed.at("Error").at("BucketName"), "nope");
}

}  // namespace
}  // namespace citadel::protocol
