#pragma once
/// AWS Signature Version 4: parsing, verification and streaming (aws-chunked) payloads.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/http_message.h"
#include "core/result.h"
#include "core/time.h"

namespace citadel::auth {

/// How the payload is covered by the signature (x-amz-content-sha256).
enum class PayloadMode {
  kSigned,
  kUnsigned,
  kStreamingSigned,
  kStreamingUnsignedTrailer,
  kStreamingSignedTrailer
};

/// Which family of AWS error codes and wording to answer with. AWS differs by front end:
/// query services (STS, IAM ...) answer `SignatureDoesNotMatch` / `IncompleteSignature`,
/// JSON services answer `InvalidSignatureException` / `IncompleteSignatureException`, and
/// S3 has its own codes (`AuthorizationHeaderMalformed`, `RequestTimeTooSkewed` ...).
enum class ErrorStyle { kQuery, kJson, kS3 };

/// True for signing names that follow S3's SigV4 rules (path not normalized, single-encoded).
bool isS3Service(std::string_view service);

/// What a request claims about its signature, before verification.
struct SignatureInfo {
  bool present = false;    ///< false: anonymous (no Authorization, no X-Amz-Signature)
  bool presigned = false;  ///< query-string form
  std::string access_key_id;
  std::string date;                         ///< scope date YYYYMMDD
  std::string region;                       ///< scope region
  std::string service;                      ///< scope service (signing name)
  std::vector<std::string> signed_headers;  ///< lower-case, as listed
  std::string signature;                    ///< hex
  SysTime request_time{};                   ///< X-Amz-Date (or Date)
  int64_t expires_seconds = 0;              ///< presigned: X-Amz-Expires
  std::string session_token;                ///< X-Amz-Security-Token
  PayloadMode payload_mode = PayloadMode::kSigned;
  std::string payload_hash;  ///< x-amz-content-sha256 value or computed
  std::string amz_date;      ///< request time in SigV4 basic form, as used in string-to-sign
  int64_t decoded_content_length = -1;  ///< x-amz-decoded-content-length, -1 when absent
};

/// Reads the Authorization header or the presigned query parameters.
/// Errors: IncompleteSignature, MissingAuthenticationToken (only if `require` and absent),
/// AuthorizationHeaderMalformed-style messages in AWS's wording.
/// This overload picks S3 wording when the credential scope names S3, query wording otherwise.
Result<SignatureInfo> parseSignature(const HttpRequest& req);
/// Same, answering errors in the given style.
Result<SignatureInfo> parseSignature(const HttpRequest& req, ErrorStyle style);

/// The error for a request that carries no signature where one is required
/// (MissingAuthenticationToken / MissingAuthenticationTokenException; S3: AccessDenied).
AwsError missingAuthenticationToken(ErrorStyle style);

/// Canonical request and string to sign, exposed for error hints and tests.
struct SigningStrings {
  std::string canonical_request;
  std::string string_to_sign;
};
SigningStrings buildSigningStrings(const HttpRequest& req, const SignatureInfo& info);

/// Derives the signing key kSigning = HMAC chain over (secret, date, region, service).
std::string deriveSigningKey(std::string_view secret_key, std::string_view date,
                             std::string_view region, std::string_view service);

/// Caches signing keys per (access key, date, region, service). Thread-safe.
class SigningKeyCache {
 public:
  /// Upper bound on cached keys; older scope dates are evicted first when it is reached.
  static constexpr size_t kMaxEntries = 10000;
  /// The signing key for that scope, derived once and then served from the cache.
  std::string get(std::string_view access_key_id, std::string_view secret_key,
                  std::string_view date, std::string_view region, std::string_view service);
  /// Drops every cached key.
  void clear();
  /// Number of cached keys.
  size_t size();

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::string> keys_;
};

/// Verifies the signature against the secret key, with the clock-skew (15 min) and presigned
/// expiry rules. Errors: SignatureDoesNotMatch (message carries the canonical request and
/// string-to-sign hints as AWS does), RequestExpired / AccessDenied "Request has expired",
/// IncompleteSignature. `s3_style` selects S3's error codes and messages.
Result<void> verifySignature(const HttpRequest& req, const SignatureInfo& info,
                             std::string_view secret_key, SysTime now, SigningKeyCache& cache,
                             bool s3_style);
/// Same, with the error family chosen explicitly (s3_style=true is ErrorStyle::kS3, false is
/// ErrorStyle::kQuery).
Result<void> verifySignature(const HttpRequest& req, const SignatureInfo& info,
                             std::string_view secret_key, SysTime now, SigningKeyCache& cache,
                             ErrorStyle style);

/// Decodes an aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), checking each chunk's
/// signature chained from the seed signature. Returns the decoded payload. Errors:
/// SignatureDoesNotMatch on a bad chunk signature, IncompleteBody / malformed chunk errors.
/// Also accepts STREAMING-UNSIGNED-PAYLOAD-TRAILER and the signed-trailer variant (trailers are
/// dropped here; see decodeStreamingBodyWithTrailers). Other payload modes return body as is.
Result<std::string> decodeStreamingBody(std::string_view body, const SignatureInfo& info,
                                        std::string_view signing_key);

/// A decoded aws-chunked body and its trailing headers (e.g. x-amz-checksum-crc32).
struct StreamingBody {
  std::string payload;                                        ///< the decoded bytes
  std::vector<std::pair<std::string, std::string>> trailers;  ///< lower-case names, in order
};
/// Like decodeStreamingBody, keeping the trailers (verified when the trailer is signed).
Result<StreamingBody> decodeStreamingBodyWithTrailers(std::string_view body,
                                                      const SignatureInfo& info,
                                                      std::string_view signing_key);

}  // namespace citadel::auth
