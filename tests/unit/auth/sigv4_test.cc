#include "auth/sigv4.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "core/encoding.h"
#include "crypto/crypto.h"

namespace citadel::auth {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

// --- fixtures from botocore ------------------------------------------------------------------

struct Fixture {
  std::string name;
  ErrorStyle style = ErrorStyle::kQuery;
  HttpRequest req;
  SysTime signed_at{};
  json::object raw;
};

struct Fixtures {
  std::string access_key, secret;
  std::map<std::string, Fixture> cases;
};

std::string runFixtureScript() {
  std::string cmd =
      std::string(PYTHON3) + " " + CITADEL_SOURCE_DIR + "/tests/unit/auth/sign_fixtures.py";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  return rc == 0 ? out : std::string();
}

const Fixtures& fixtures() {
  static const Fixtures f = [] {
    Fixtures fx;
    std::string text = runFixtureScript();
    if (text.empty()) return fx;
    json::object doc = json::parse(text).as_object();
    fx.access_key = std::string(doc.at("access_key").as_string());
    fx.secret = std::string(doc.at("secret").as_string());
    for (const auto& v : doc.at("cases").as_array()) {
      const auto& c = v.as_object();
      Fixture f;
      f.raw = c;
      f.name = std::string(c.at("name").as_string());
      std::string style(c.at("style").as_string());
      f.style = style == "s3"     ? ErrorStyle::kS3
                : style == "json" ? ErrorStyle::kJson
                                  : ErrorStyle::kQuery;
      f.req.method = std::string(c.at("method").as_string());
      f.req.target = std::string(c.at("target").as_string());
      splitTarget(f.req);
      for (const auto& h : c.at("headers").as_array()) {
        const auto& pair = h.as_array();
        f.req.headers.emplace_back(toLower(std::string(pair[0].as_string())),
                                   std::string(pair[1].as_string()));
      }
      f.req.body = *base64Decode(std::string(c.at("body_b64").as_string()));
      f.signed_at = fromEpochSeconds(static_cast<double>(c.at("epoch").as_int64()));
      fx.cases.emplace(f.name, std::move(f));
    }
    return fx;
  }();
  return f;
}

const Fixture& fixture(const std::string& name) {
  const auto& all = fixtures().cases;
  auto it = all.find(name);
  if (it == all.end()) {
    ADD_FAILURE() << "fixture " << name << " missing (botocore script failed?)";
    static const Fixture empty;
    return empty;
  }
  return it->second;
}

Result<void> verify(const HttpRequest& req, ErrorStyle style, std::string_view secret, SysTime now,
                    SignatureInfo* out_info = nullptr) {
  static SigningKeyCache cache;
  auto info = parseSignature(req, style);
  if (!info.ok()) return info.error();
  if (out_info) *out_info = *info;
  return verifySignature(req, *info, secret, now, cache, style);
}

std::string* headerPtr(HttpRequest& req, std::string_view name) {
  for (auto& [k, v] : req.headers)
    if (k == name) return &v;
  return nullptr;
}

TEST(SigV4Fixtures, ScriptProducedCases) {
  ASSERT_GE(fixtures().cases.size(), 13u) << "botocore fixture script failed";
}

TEST(SigV4Fixtures, EveryBotocoreSignedRequestVerifies) {
  for (const auto& [name, f] : fixtures().cases) {
    SignatureInfo info;
    auto r = verify(f.req, f.style, fixtures().secret, f.signed_at + seconds(5), &info);
    EXPECT_TRUE(r.ok()) << name << ": " << (r.ok() ? "" : r.error().code + " " + r.error().message);
    EXPECT_TRUE(info.present) << name;
    EXPECT_EQ(info.access_key_id, fixtures().access_key) << name;
    EXPECT_EQ(info.date, "20261128") << name;
    EXPECT_EQ(info.request_time, f.signed_at) << name;
  }
}

TEST(SigV4Fixtures, ParsedFieldsOfHeaderForm) {
  const auto& f = fixture("sts_post_token");
  auto info = parseSignature(f.req, ErrorStyle::kQuery);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->presigned);
  EXPECT_EQ(info->region, "us-east-1");
  EXPECT_EQ(info->service, "sts");
  EXPECT_EQ(info->signed_headers, (std::vector<std::string>{"content-type", "host", "x-amz-date",
                                                            "x-amz-security-token"}));
  EXPECT_EQ(info->session_token, std::string(f.raw.at("token").as_string()));
  EXPECT_EQ(info->payload_mode, PayloadMode::kSigned);
  EXPECT_EQ(info->payload_hash, crypto::sha256Hex(f.req.body));
  EXPECT_EQ(info->signature.size(), 64u);
}

TEST(SigV4Fixtures, ParsedFieldsOfPresignedForm) {
  const auto& f = fixture("s3_presigned_get");
  auto info = parseSignature(f.req);  // style inferred from the scope: S3
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->presigned);
  EXPECT_EQ(info->service, "s3");
  EXPECT_EQ(info->expires_seconds, 3600);
  EXPECT_EQ(info->payload_mode, PayloadMode::kUnsigned);
  EXPECT_EQ(info->payload_hash, "UNSIGNED-PAYLOAD");
  EXPECT_FALSE(info->session_token.empty());
}

TEST(SigV4Fixtures, WrongSecretQueryServiceAnswersWithCanonicalHints) {
  const auto& f = fixture("sts_post");
  auto r = verify(f.req, ErrorStyle::kQuery, "wrong-secret", f.signed_at);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().http_status, 403);
  SignatureInfo info = *parseSignature(f.req, ErrorStyle::kQuery);
  SigningStrings s = buildSigningStrings(f.req, info);
  EXPECT_EQ(r.error().message,
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.\n\nThe Canonical String for this request should have "
            "been\n'" +
                s.canonical_request + "'\n\nThe String-to-Sign should have been\n'" +
                s.string_to_sign + "'\n");
  EXPECT_EQ(s.canonical_request,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:sts.amazonaws.com\nx-amz-date:20261128T160000Z\n\n"
            "content-type;host;x-amz-date\n" +
                crypto::sha256Hex(f.req.body));
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20261128T160000Z\n"
            "20261128/us-east-1/sts/aws4_request\n" +
                crypto::sha256Hex(s.canonical_request));
}

TEST(SigV4Fixtures, WrongSecretJsonServiceIsInvalidSignatureException) {
  const auto& f = fixture("kms_json");
  auto r = verify(f.req, ErrorStyle::kJson, "wrong-secret", f.signed_at);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidSignatureException");
  EXPECT_NE(r.error().message.find("The Canonical String for this request should have been"),
            std::string::npos);
}

TEST(SigV4Fixtures, WrongSecretS3CarriesStringToSignExtras) {
  const auto& f = fixture("s3_put_signed");
  auto r = verify(f.req, ErrorStyle::kS3, "wrong-secret", f.signed_at);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().http_status, 403);
  EXPECT_EQ(r.error().message,
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.");
  std::map<std::string, std::string> extra(r.error().extra.begin(), r.error().extra.end());
  EXPECT_EQ(extra["AWSAccessKeyId"], fixtures().access_key);
  // S3 path is not normalized: "//./" survives; unicode and '+' '!' encoded once.
  EXPECT_EQ(
      extra["CanonicalRequest"].rfind("PUT\n/bucket/dir//./k%C3%A9y%20%2B%21.txt\n\ncontent", 0),
      0u)
      << extra["CanonicalRequest"];
  EXPECT_EQ(extra["StringToSign"].substr(0, 34), "AWS4-HMAC-SHA256\n20261128T160000Z\n");
  EXPECT_EQ(extra["StringToSignBytes"].substr(0, 11), "41 57 53 34");
  EXPECT_EQ(extra["SignatureProvided"].size(), 64u);
}

TEST(SigV4Fixtures, TamperedSignedHeaderFails) {
  Fixture f = fixture("kms_json");
  *headerPtr(f.req, "x-amz-target") = "TrentService.CreateKey";
  auto r = verify(f.req, ErrorStyle::kJson, fixtures().secret, f.signed_at);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidSignatureException");
}

TEST(SigV4Fixtures, TamperedBodyFails) {
  Fixture f = fixture("sts_post");
  f.req.body = "Action=GetSessionToken&Version=2011-06-15";
  auto r = verify(f.req, ErrorStyle::kQuery, fixtures().secret, f.signed_at);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
}

TEST(SigV4Fixtures, TamperedQueryValueFails) {
  Fixture f = fixture("iam_get_query_edges");
  f.req.target.replace(f.req.target.find("a=2"), 3, "a=3");
  splitTarget(f.req);
  EXPECT_FALSE(verify(f.req, ErrorStyle::kQuery, fixtures().secret, f.signed_at).ok());
}

TEST(SigV4Fixtures, HeaderWhitespaceIsCanonicalized) {
  Fixture f = fixture("iam_get_query_edges");
  // Re-spacing a signed header value keeps the signature valid (trim + collapse), changing a
  // character does not.
  *headerPtr(f.req, "x-amz-meta-spaced") = "one two   three";
  EXPECT_TRUE(verify(f.req, ErrorStyle::kQuery, fixtures().secret, f.signed_at).ok());
  *headerPtr(f.req, "x-amz-meta-spaced") = "one two three!";
  EXPECT_FALSE(verify(f.req, ErrorStyle::kQuery, fixtures().secret, f.signed_at).ok());
}

TEST(SigV4Fixtures, CanonicalQueryAndMultiValueHeaders) {
  const auto& f = fixture("iam_get_query_edges");
  SignatureInfo info = *parseSignature(f.req, ErrorStyle::kQuery);
  SigningStrings s = buildSigningStrings(f.req, info);
  EXPECT_NE(s.canonical_request.find(
                "\nAction=ListUsers&PathPrefix=%2F&Version=2010-05-08&Z=%E2%82%AC&a=1&a=2&b=x%20y&"
                "flag=&q=a%2Bb%3Dc%26d\n"),
            std::string::npos)
      << s.canonical_request;
  EXPECT_NE(s.canonical_request.find("\nx-amz-meta-spaced:one two three\n"), std::string::npos);
  EXPECT_NE(s.canonical_request.find("\nx-custom-multi:first,second value\n"), std::string::npos);
}

TEST(SigV4Fixtures, NonS3PathIsNormalizedAndDoubleEncoded) {
  const auto& f = fixture("lambda_path_normalized");
  SignatureInfo info = *parseSignature(f.req, ErrorStyle::kJson);
  SigningStrings s = buildSigningStrings(f.req, info);
  EXPECT_EQ(s.canonical_request.substr(0, s.canonical_request.find('\n', 4)),
            "GET\n/2015-03-31/functions/caf%25C3%25A9%2520fn/configuration");
}

TEST(SigV4Fixtures, ClockSkewQueryService) {
  const auto& f = fixture("sts_post");
  auto r = verify(f.req, ErrorStyle::kQuery, fixtures().secret, f.signed_at + seconds(16 * 60));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().http_status, 403);
  EXPECT_EQ(r.error().message,
            "Signature expired: 20261128T160000Z is now earlier than 20261128T160100Z "
            "(20261128T161600Z - 15 min.)");
  // Exactly 15 minutes is still accepted.
  EXPECT_TRUE(
      verify(f.req, ErrorStyle::kQuery, fixtures().secret, f.signed_at + seconds(15 * 60)).ok());
}

TEST(SigV4Fixtures, ClockSkewFutureJsonService) {
  const auto& f = fixture("kms_json");
  auto r = verify(f.req, ErrorStyle::kJson, fixtures().secret, f.signed_at - seconds(20 * 60));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidSignatureException");
  EXPECT_EQ(r.error().message,
            "Signature not yet current: 20261128T160000Z is still later than 20261128T155500Z "
            "(20261128T154000Z + 15 min.)");
}

TEST(SigV4Fixtures, ClockSkewS3) {
  const auto& f = fixture("s3_put_signed");
  auto r = verify(f.req, ErrorStyle::kS3, fixtures().secret, f.signed_at + seconds(3600));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "RequestTimeTooSkewed");
  EXPECT_EQ(r.error().http_status, 403);
  std::map<std::string, std::string> extra(r.error().extra.begin(), r.error().extra.end());
  EXPECT_EQ(extra["RequestTime"], "20261128T160000Z");
  EXPECT_EQ(extra["ServerTime"], "2026-11-28T17:00:00Z");
  EXPECT_EQ(extra["MaxAllowedSkewMilliseconds"], "900000");
}

TEST(SigV4Fixtures, S3PresignedExpiry) {
  const auto& f = fixture("s3_presigned_get");
  // Presigned URLs are not bound by the 15-minute skew: valid for their whole X-Amz-Expires.
  EXPECT_TRUE(verify(f.req, ErrorStyle::kS3, fixtures().secret, f.signed_at + seconds(3599)).ok());
  auto r = verify(f.req, ErrorStyle::kS3, fixtures().secret, f.signed_at + seconds(3601));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "AccessDenied");
  EXPECT_EQ(r.error().message, "Request has expired");
  EXPECT_EQ(r.error().http_status, 403);
  std::map<std::string, std::string> extra(r.error().extra.begin(), r.error().extra.end());
  EXPECT_EQ(extra["X-Amz-Expires"], "3600");
  EXPECT_EQ(extra["Expires"], "2026-11-28T17:00:00Z");
  EXPECT_EQ(extra["ServerTime"], "2026-11-28T17:00:01Z");
}

TEST(SigV4Fixtures, NonS3PresignedExpiry) {
  const auto& f = fixture("sts_presigned");
  EXPECT_TRUE(
      verify(f.req, ErrorStyle::kQuery, fixtures().secret, f.signed_at + seconds(899)).ok());
  auto r = verify(f.req, ErrorStyle::kQuery, fixtures().secret, f.signed_at + seconds(901));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().message,
            "Signature expired: 20261128T160000Z is now earlier than 20261128T160001Z "
            "(20261128T161501Z - 15 min.)");
}

TEST(SigV4Fixtures, PresignedSignatureTamperFails) {
  Fixture f = fixture("s3_presigned_get");
  f.req.target.replace(f.req.target.find("pic%201"), 7, "pic%202");
  splitTarget(f.req);
  auto r = verify(f.req, ErrorStyle::kS3, fixtures().secret, f.signed_at);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
}

TEST(SigV4Fixtures, S3BodyHashMismatch) {
  Fixture f = fixture("s3_put_signed");
  f.req.body = "hello worle";
  auto r = verify(f.req, ErrorStyle::kS3, fixtures().secret, f.signed_at);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "XAmzContentSHA256Mismatch");
}

// --- aws-chunked ------------------------------------------------------------------------------

Result<StreamingBody> decodeFixture(const Fixture& f, std::string_view body) {
  auto info = parseSignature(f.req, ErrorStyle::kS3);
  if (!info.ok()) return info.error();
  std::string key = deriveSigningKey(fixtures().secret, info->date, info->region, info->service);
  return decodeStreamingBodyWithTrailers(body, *info, key);
}

TEST(SigV4Chunked, SignedChunksDecode) {
  const auto& f = fixture("s3_chunked_signed");
  auto info = parseSignature(f.req, ErrorStyle::kS3);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->payload_mode, PayloadMode::kStreamingSigned);
  EXPECT_EQ(info->decoded_content_length, 20000);
  std::string key = deriveSigningKey(fixtures().secret, info->date, info->region, info->service);
  auto body = decodeStreamingBody(f.req.body, *info, key);
  ASSERT_TRUE(body.ok()) << body.error().code << " " << body.error().message;
  EXPECT_EQ(*body, *base64Decode(std::string(f.raw.at("decoded_b64").as_string())));
}

TEST(SigV4Chunked, CorruptedChunkIsSignatureMismatch) {
  const auto& f = fixture("s3_chunked_signed");
  std::string body = f.req.body;
  size_t second_chunk = body.find("chunk-signature=", 100);
  body[second_chunk + 100] ^= 1;  // a data byte of the second chunk
  auto r = decodeFixture(f, body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().http_status, 403);
}

TEST(SigV4Chunked, ReorderedOrWrongSeedFails) {
  const auto& f = fixture("s3_chunked_signed");
  auto info = parseSignature(f.req, ErrorStyle::kS3);
  ASSERT_TRUE(info.ok());
  info->signature[0] = info->signature[0] == 'a' ? 'b' : 'a';
  std::string key = deriveSigningKey(fixtures().secret, info->date, info->region, info->service);
  auto r = decodeStreamingBody(f.req.body, *info, key);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
}

TEST(SigV4Chunked, TruncatedBodyIsIncomplete) {
  const auto& f = fixture("s3_chunked_signed");
  for (size_t cut : {size_t{10}, size_t{200}, f.req.body.size() / 2, f.req.body.size() - 2}) {
    auto r = decodeFixture(f, std::string_view(f.req.body).substr(0, cut));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.error().code, "IncompleteBody") << cut;
  }
}

TEST(SigV4Chunked, OversizedChunkLengthRefused) {
  const auto& f = fixture("s3_chunked_signed");
  std::string body = f.req.body;
  body.replace(0, 4, "ffffffffffffffff");  // "2000" -> an absurd size
  auto r = decodeFixture(f, body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "IncompleteBody");
  body = f.req.body;
  body.replace(0, 4, "zz00");
  r = decodeFixture(f, body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidRequest");
}

TEST(SigV4Chunked, TrailingGarbageRefused) {
  const auto& f = fixture("s3_chunked_signed");
  auto r = decodeFixture(f, f.req.body + "extra");
  ASSERT_FALSE(r.ok());
}

TEST(SigV4Chunked, DecodedLengthChecked) {
  Fixture f = fixture("s3_chunked_signed");
  auto info = parseSignature(f.req, ErrorStyle::kS3);
  ASSERT_TRUE(info.ok());
  info->decoded_content_length = 19999;
  std::string key = deriveSigningKey(fixtures().secret, info->date, info->region, info->service);
  auto r = decodeStreamingBody(f.req.body, *info, key);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "IncompleteBody");
}

TEST(SigV4Chunked, SignedTrailerDecodesAndIsVerified) {
  const auto& f = fixture("s3_chunked_signed_trailer");
  auto r = decodeFixture(f, f.req.body);
  ASSERT_TRUE(r.ok()) << r.error().code << " " << r.error().message;
  EXPECT_EQ(r->payload, *base64Decode(std::string(f.raw.at("decoded_b64").as_string())));
  ASSERT_EQ(r->trailers.size(), 1u);
  const auto& t = f.raw.at("trailer").as_array();
  EXPECT_EQ(r->trailers[0].first, std::string(t[0].as_string()));
  EXPECT_EQ(r->trailers[0].second, std::string(t[1].as_string()));
  // A modified checksum trailer breaks the trailer signature.
  std::string body = f.req.body;
  size_t pos = body.find("x-amz-checksum-crc32:") + 21;
  body[pos] = body[pos] == 'A' ? 'B' : 'A';
  auto bad = decodeFixture(f, body);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "SignatureDoesNotMatch");
}

TEST(SigV4Chunked, UnsignedTrailerFromBotocore) {
  const auto& f = fixture("s3_unsigned_trailer");
  auto info = parseSignature(f.req, ErrorStyle::kS3);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->payload_mode, PayloadMode::kStreamingUnsignedTrailer);
  auto r = decodeStreamingBodyWithTrailers(f.req.body, *info, "");
  ASSERT_TRUE(r.ok()) << r.error().code << " " << r.error().message;
  EXPECT_EQ(r->payload, *base64Decode(std::string(f.raw.at("decoded_b64").as_string())));
  ASSERT_EQ(r->trailers.size(), 1u);
  const auto& t = f.raw.at("trailer").as_array();
  EXPECT_EQ(r->trailers[0].first, std::string(t[0].as_string()));
  EXPECT_EQ(r->trailers[0].second, std::string(t[1].as_string()));
  auto cut = decodeStreamingBodyWithTrailers(
      std::string_view(f.req.body).substr(0, f.req.body.size() - 30), *info, "");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, "IncompleteBody");
}

// --- malformed authorization --------------------------------------------------------------

HttpRequest requestWithAuth(std::string auth, bool with_date = true) {
  HttpRequest req;
  req.method = "POST";
  req.target = "/";
  splitTarget(req);
  req.headers.emplace_back("host", "sts.amazonaws.com");
  if (with_date) req.headers.emplace_back("x-amz-date", "20261128T160000Z");
  req.headers.emplace_back("authorization", std::move(auth));
  return req;
}

TEST(SigV4Parse, AnonymousRequest) {
  HttpRequest req;
  req.method = "GET";
  req.target = "/";
  splitTarget(req);
  auto info = parseSignature(req, ErrorStyle::kQuery);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->present);
  SigningKeyCache cache;
  auto r = verifySignature(req, *info, "x", SysTime{}, cache, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "MissingAuthenticationToken");
  EXPECT_EQ(r.error().message, "Request is missing Authentication Token");
  EXPECT_EQ(missingAuthenticationToken(ErrorStyle::kJson).code,
            "MissingAuthenticationTokenException");
}

TEST(SigV4Parse, MissingComponentsQueryWording) {
  auto r = parseSignature(requestWithAuth("AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/"
                                          "sts/aws4_request"),
                          ErrorStyle::kQuery);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "IncompleteSignature");
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().message,
            "Authorization header requires 'Signature' parameter. Authorization header requires "
            "'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 "
            "Credential=AKID/20261128/us-east-1/sts/aws4_request");
}

TEST(SigV4Parse, OtherSchemeReportsEveryComponentAndDate) {
  auto r = parseSignature(requestWithAuth("Bearer abc", false), ErrorStyle::kJson);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "IncompleteSignatureException");
  EXPECT_EQ(r.error().message,
            "Authorization header requires 'Credential' parameter. Authorization header requires "
            "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            "header. Authorization=Bearer abc");
}

TEST(SigV4Parse, MissingEqualSign) {
  std::string auth =
      "AWS4-HMAC-SHA256 Credential=AKID /20261128/us-east-1/sts/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abc";
  auto r = parseSignature(requestWithAuth(auth), ErrorStyle::kQuery);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "IncompleteSignature");
  // AWS splits components on whitespace too: a stray space in the credential leaves a token
  // without '='.
  EXPECT_EQ(r.error().message,
            "'/20261128/us-east-1/sts/aws4_request' not a valid key=value pair (missing "
            "equal-sign) in Authorization header: '" +
                auth + "'.");
  auth =
      "AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/sts/aws4_request, oops, "
      "SignedHeaders=host;x-amz-date, Signature=abc";
  r = parseSignature(requestWithAuth(auth), ErrorStyle::kQuery);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "'oops' not a valid key=value pair (missing equal-sign) in "
            "Authorization header: '" +
                auth + "'.");
}

TEST(SigV4Parse, CredentialShape) {
  auto r = parseSignature(requestWithAuth("AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1, "
                                          "SignedHeaders=host;x-amz-date, Signature=abc"),
                          ErrorStyle::kQuery);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "IncompleteSignature");
  EXPECT_EQ(r.error().message,
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got 'AKID/20261128/us-east-1'");
  r = parseSignature(requestWithAuth("AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1, "
                                     "SignedHeaders=host;x-amz-date, Signature=abc"),
                     ErrorStyle::kS3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "AuthorizationHeaderMalformed");
}

TEST(SigV4Parse, ScopeDateMustMatchRequestDate) {
  auto r = parseSignature(requestWithAuth("AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/"
                                          "sts/aws4_request, SignedHeaders=host;x-amz-date, "
                                          "Signature=abc"),
                          ErrorStyle::kQuery);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(r.error().message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP: '20261127' != '20261128', from '20261128T160000Z'.");
}

TEST(SigV4Parse, HostMustBeSigned) {
  auto r = parseSignature(requestWithAuth("AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/"
                                          "sts/aws4_request, SignedHeaders=x-amz-date, "
                                          "Signature=abc"),
                          ErrorStyle::kQuery);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "IncompleteSignature");
}

TEST(SigV4Parse, BadAmzDate) {
  HttpRequest req = requestWithAuth(
      "AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/sts/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=abc",
      false);
  req.headers.emplace_back("x-amz-date", "2026-11-28T16:00:00Z");
  auto r = parseSignature(req, ErrorStyle::kQuery);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "Date must be in ISO-8601 'basic format'. Got "
            "'2026-11-28T16:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601");
  // Out-of-range years are refused rather than overflowing time arithmetic.
  req.headers.back().second = "99991128T160000Z";
  EXPECT_FALSE(parseSignature(req, ErrorStyle::kQuery).ok());
  req.headers.back().second = "20261131T160000Z";  // no 31 November
  EXPECT_FALSE(parseSignature(req, ErrorStyle::kQuery).ok());
}

TEST(SigV4Parse, PresignedExpiresBounds) {
  const auto& f = fixture("s3_presigned_get");
  HttpRequest req = f.req;
  req.target.replace(req.target.find("X-Amz-Expires=3600"), 18, "X-Amz-Expires=604801");
  splitTarget(req);
  auto r = parseSignature(req, ErrorStyle::kS3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "AuthorizationQueryParametersError");
  EXPECT_EQ(r.error().message,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800");
  req = f.req;
  req.target.replace(req.target.find("X-Amz-Expires=3600"), 18, "X-Amz-Expires=-5");
  splitTarget(req);
  r = parseSignature(req, ErrorStyle::kS3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "X-Amz-Expires must be non-negative");
}

TEST(SigV4Parse, PresignedMissingParameters) {
  HttpRequest req;
  req.method = "GET";
  req.target = "/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc";
  splitTarget(req);
  req.headers.emplace_back("host", "b.s3.amazonaws.com");
  auto r = parseSignature(req, ErrorStyle::kS3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "AuthorizationQueryParametersError");
  r = parseSignature(req, ErrorStyle::kQuery);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "IncompleteSignature");
  EXPECT_EQ(r.error().message,
            "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string "
            "parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must "
            "include 'X-Amz-Date'. Re-examine the query-string parameters.");
}

TEST(SigV4Parse, HeaderAndQueryTogetherRefused) {
  const auto& f = fixture("s3_presigned_get");
  HttpRequest req = f.req;
  req.headers.emplace_back("authorization", "AWS4-HMAC-SHA256 Credential=x");
  auto r = parseSignature(req, ErrorStyle::kS3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidArgument");
}

TEST(SigV4Parse, S3UnsignedAmzHeaderRefused) {
  Fixture f = fixture("s3_put_signed");
  f.req.headers.emplace_back("x-amz-acl", "public-read");
  auto r = parseSignature(f.req, ErrorStyle::kS3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "AccessDenied");
  EXPECT_EQ(r.error().extra.at(0).second, "x-amz-acl");
}

TEST(SigV4Parse, S3RequiresContentSha256) {
  Fixture f = fixture("s3_get_query");
  auto& h = f.req.headers;
  h.erase(std::remove_if(h.begin(), h.end(),
                         [](const auto& kv) { return kv.first == "x-amz-content-sha256"; }),
          h.end());
  auto r = parseSignature(f.req, ErrorStyle::kS3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "InvalidRequest");
}

// --- keys ------------------------------------------------------------------------------------

TEST(SigV4Keys, DerivationMatchesAwsDocumentationExample) {
  // AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".
  std::string key =
      deriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam");
  EXPECT_EQ(hexEncode(key), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4Keys, CacheServesSameKeyAndTracksSecret) {
  SigningKeyCache cache;
  std::string a = cache.get("AKID", "secret1", "20261128", "us-east-1", "sts");
  EXPECT_EQ(a, deriveSigningKey("secret1", "20261128", "us-east-1", "sts"));
  EXPECT_EQ(cache.get("AKID", "secret1", "20261128", "us-east-1", "sts"), a);
  EXPECT_EQ(cache.size(), 1u);
  // A different secret for the same key id must not be served the cached key.
  EXPECT_EQ(cache.get("AKID", "secret2", "20261128", "us-east-1", "sts"),
            deriveSigningKey("secret2", "20261128", "us-east-1", "sts"));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST(SigV4Keys, CacheIsBounded) {
  SigningKeyCache cache;
  for (size_t i = 0; i < SigningKeyCache::kMaxEntries + 50; ++i)
    (void)cache.get("AKID" + std::to_string(i), "s", i < 100 ? "20261127" : "20261128", "us-east-1",
                    "sts");
  EXPECT_LE(cache.size(), SigningKeyCache::kMaxEntries);
  EXPECT_GT(cache.size(), 0u);
}

}  // namespace
}  // namespace citadel::auth
