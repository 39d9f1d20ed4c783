#include "auth/sigv4.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/encoding.h"
#include "crypto/crypto.h"

namespace citadel::auth {
namespace {

constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return hexDigit(c) >= 0; });
}

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr int64_t kMaxSkewSeconds = 15 * 60;
constexpr int64_t kMaxPresignSeconds = 604800;

bool startsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(0, p.size()) == p;
}

// --- error wording ----------------------------------------------------------------------

AwsError incomplete(ErrorStyle style, std::string message) {
  return AwsError{
      style == ErrorStyle::kJson ? "IncompleteSignatureException" : "IncompleteSignature",
      std::move(message),
      400,
      true,
      {}};
}

// AWS: json front ends answer InvalidSignatureException with status 400 (as observed by the AWS
// SDKs, e.g. aws-sdk-js#254); query front ends answer SignatureDoesNotMatch with 403.
AwsError mismatch(ErrorStyle style, std::string message) {
  if (style == ErrorStyle::kJson)
    return AwsError{"InvalidSignatureException", std::move(message), 400, true, {}};
  return AwsError{"SignatureDoesNotMatch", std::move(message), 403, true, {}};
}

AwsError s3Error(std::string code, std::string message, int status,
                 std::vector<std::pair<std::string, std::string>> extra = {}) {
  return AwsError{std::move(code), std::move(message), status, true, std::move(extra)};
}

AwsError s3HeaderMalformed(std::string detail) {
  return s3Error("AuthorizationHeaderMalformed",
                 "The authorization header is malformed; " + std::move(detail), 400);
}

AwsError s3QueryError(std::string message) {
  return s3Error("AuthorizationQueryParametersError", std::move(message), 400);
}

constexpr std::string_view kS3CredentialShape =
    "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/"
    "aws4_request\".";

// "20261128T154500Z" for a time point (seconds precision).
std::string amzDate(SysTime t) { return formatAmzDate(t); }

std::string skewWindowText(int64_t seconds) {
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + " min.";
  return std::to_string(seconds) + " sec.";
}

// --- small parsers ----------------------------------------------------------------------

bool parseExpires(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 12) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool allDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// INVARIANT: request times stay far inside system_clock's nanosecond range (1678..2262), so
// time arithmetic on them cannot overflow.
bool plausibleYear(int y) { return y >= 1970 && y <= 2200; }

std::string hexBytes(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (!out.empty()) out += ' ';
    out += "0123456789abcdef"[c >> 4];
    out += "0123456789abcdef"[c & 15];
  }
  return out;
}

std::optional<SysTime> amzDateToTime(std::string_view s) {
  // Strict basic form: YYYYMMDDTHHMMSSZ.
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  if (!allDigits(s.substr(0, 8)) || !allDigits(s.substr(9, 6))) return std::nullopt;
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = 0; i < len; ++i) v = v * 10 + (s[pos + i] - '0');
    return v;
  };
  int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2), se = num(13, 2);
  if (!plausibleYear(y) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return SysTime(sys_days(ymd).time_since_epoch() + hours(h) + minutes(mi) + seconds(se));
}

AwsError signatureMismatchS3(const SignatureInfo& info, const SigningStrings* strings) {
  std::vector<std::pair<std::string, std::string>> extra;
  extra.emplace_back("AWSAccessKeyId", info.access_key_id);
  if (strings) {
    extra.emplace_back("StringToSign", strings->string_to_sign);
    extra.emplace_back("SignatureProvided", info.signature);
    extra.emplace_back("StringToSignBytes", hexBytes(strings->string_to_sign));
    extra.emplace_back("CanonicalRequest", strings->canonical_request);
    extra.emplace_back("CanonicalRequestBytes", hexBytes(strings->canonical_request));
  } else {
    extra.emplace_back("SignatureProvided", info.signature);
  }
  return AwsError{"SignatureDoesNotMatch",
                  "The request signature we calculated does not match the signature you "
                  "provided. Check your key and signing method.",
                  403, true, std::move(extra)};
}

// The Date header: RFC 1123 / RFC 822 ("Sat, 28 Nov 2026 16:00:00 GMT", zone GMT, UT, UTC, Z
// or +hhmm/-hhmm as Python's email.utils.formatdate writes it).
std::optional<SysTime> httpDateToTime(std::string_view s) {
  std::string_view v = trim(s);
  if (auto comma = v.find(','); comma != std::string_view::npos) v = trim(v.substr(comma + 1));
  // "28 Nov 2026 16:00:00 GMT"
  auto next = [&v]() {
    v = trim(v);
    auto sp = v.find(' ');
    std::string_view tok = v.substr(0, sp);
    v = sp == std::string_view::npos ? std::string_view() : v.substr(sp + 1);
    return tok;
  };
  std::string_view d = next(), mon = next(), y = next(), hms = next(), zone = next();
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  unsigned month = 0;
  for (unsigned i = 0; i < 12; ++i)
    if (mon == kMonths[i]) month = i + 1;
  if (month == 0 || d.empty() || d.size() > 2 || !allDigits(d) || y.size() != 4 || !allDigits(y) ||
      hms.size() != 8 || hms[2] != ':' || hms[5] != ':' || !allDigits(hms.substr(0, 2)) ||
      !allDigits(hms.substr(3, 2)) || !allDigits(hms.substr(6, 2)) || !trim(v).empty())
    return std::nullopt;
  auto num = [](std::string_view t) {
    int n = 0;
    for (char c : t) n = n * 10 + (c - '0');
    return n;
  };
  int offset_minutes = 0;
  if (zone == "GMT" || zone == "UT" || zone == "UTC" || zone == "Z") {
    offset_minutes = 0;
  } else if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-') && allDigits(zone.substr(1))) {
    offset_minutes = num(zone.substr(1, 2)) * 60 + num(zone.substr(3, 2));
    if (zone[0] == '-') offset_minutes = -offset_minutes;
  } else {
    return std::nullopt;
  }
  using namespace std::chrono;
  year_month_day ymd{year{num(y)}, std::chrono::month{month}, day{static_cast<unsigned>(num(d))}};
  int h = num(hms.substr(0, 2)), mi = num(hms.substr(3, 2)), se = num(hms.substr(6, 2));
  if (!ymd.ok() || !plausibleYear(num(y)) || h > 23 || mi > 59 || se > 60) return std::nullopt;
  return SysTime(sys_days(ymd).time_since_epoch() + hours(h) + minutes(mi) + seconds(se) -
                 minutes(offset_minutes));
}

std::vector<std::string> splitSignedHeaders(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto semi = s.find(';');
    std::string_view part = s.substr(0, semi);
    if (!part.empty()) out.emplace_back(part);
    if (semi == std::string_view::npos) break;
    s.remove_prefix(semi + 1);
  }
  return out;
}

// Credential scope "AKID/20261128/us-east-1/sts/aws4_request". The access key id is the part
// before the last four slashes, as AWS reads it.
bool splitCredential(std::string_view cred, std::string_view parts[5]) {
  size_t end = cred.size();
  for (int i = 4; i >= 1; --i) {
    auto slash = cred.rfind('/', end == 0 ? 0 : end - 1);
    if (slash == std::string_view::npos || end == 0) return false;
    parts[i] = cred.substr(slash + 1, end - slash - 1);
    end = slash;
  }
  parts[0] = cred.substr(0, end);
  if (parts[0].empty() || parts[0].find('/') != std::string_view::npos) return false;
  for (int i = 1; i < 5; ++i)
    if (parts[i].empty()) return false;
  return true;
}

std::string_view peekScopeService(const HttpRequest& req) {
  std::string_view cred;
  if (const auto* q = req.queryParam("X-Amz-Credential")) {
    cred = q->value;
  } else if (const auto* h = req.header("authorization")) {
    std::string_view v = *h;
    auto p = v.find("Credential=");
    if (p == std::string_view::npos) return {};
    cred = v.substr(p + 11);
    cred = cred.substr(0, cred.find_first_of(", "));
  }
  std::string_view parts[5];
  if (!splitCredential(cred, parts)) return {};
  return parts[3];
}

// --- payload ----------------------------------------------------------------------------

bool classifyPayload(std::string_view v, PayloadMode& mode) {
  if (v == "UNSIGNED-PAYLOAD")
    mode = PayloadMode::kUnsigned;
  else if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    mode = PayloadMode::kStreamingSigned;
  else if (v == "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    mode = PayloadMode::kStreamingUnsignedTrailer;
  else if (v == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
    mode = PayloadMode::kStreamingSignedTrailer;
  else if (v.size() == 64 && isHex(v))
    mode = PayloadMode::kSigned;
  else
    return false;
  return true;
}

// Fills date, payload and token fields shared by both forms.
Result<void> finishCommon(const HttpRequest& req, SignatureInfo& info, ErrorStyle style) {
  if (const auto* h = req.header("x-amz-security-token"); h && info.session_token.empty())
    info.session_token = *h;
  if (const auto* h = req.header("x-amz-decoded-content-length")) {
    int64_t n = 0;
    if (parseExpires(*h, n)) info.decoded_content_length = n;
  }
  const std::string* sha = req.header("x-amz-content-sha256");
  if (sha) {
    PayloadMode mode = PayloadMode::kSigned;
    if (!classifyPayload(*sha, mode)) {
      if (style == ErrorStyle::kS3)
        return s3Error("InvalidArgument",
                       "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                       "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                       "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
                       "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
                       "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                       400, {{"ArgumentName", "x-amz-content-sha256"}, {"ArgumentValue", *sha}});
      mode = PayloadMode::kSigned;  // non-S3 services sign whatever value was sent
    }
    info.payload_mode = mode;
    info.payload_hash = *sha;
  } else if (info.presigned && isS3Service(info.service)) {
    // AWS: S3 presigned URLs never cover the body.
    info.payload_mode = PayloadMode::kUnsigned;
    info.payload_hash = "UNSIGNED-PAYLOAD";
  } else {
    if (style == ErrorStyle::kS3 && !info.presigned)
      return s3Error("InvalidRequest",
                     "Missing required header for this request: x-amz-content-sha256", 400);
    info.payload_mode = PayloadMode::kSigned;
    info.payload_hash = req.body.empty() ? std::string(kEmptySha256) : crypto::sha256Hex(req.body);
  }
  return okResult();
}

// Credential scope checks common to both forms.
Result<void> parseScope(std::string_view cred, SignatureInfo& info, ErrorStyle style) {
  std::string_view parts[5];
  if (!splitCredential(cred, parts)) {
    if (style == ErrorStyle::kS3) {
      if (info.presigned)
        return s3QueryError("Error parsing the X-Amz-Credential parameter; " +
                            std::string(kS3CredentialShape));
      return s3HeaderMalformed(std::string(kS3CredentialShape));
    }
    return incomplete(style,
                      "Credential must have exactly 5 slash-delimited elements, e.g. "
                      "keyid/date/region/service/term, got '" +
                          std::string(cred) + "'");
  }
  info.access_key_id = std::string(parts[0]);
  info.date = std::string(parts[1]);
  info.region = std::string(parts[2]);
  info.service = std::string(parts[3]);
  if (parts[4] != "aws4_request") {
    if (style == ErrorStyle::kS3) {
      std::string msg = "incorrect terminal \"" + std::string(parts[4]) +
                        "\". This endpoint uses \"aws4_request\".";
      if (info.presigned)
        return s3QueryError("Error parsing the X-Amz-Credential parameter; " + msg);
      return s3HeaderMalformed(msg);
    }
    return mismatch(style,
                    "Credential should be scoped with a valid terminator: 'aws4_request', "
                    "not '" +
                        std::string(parts[4]) + "'. ");
  }
  return okResult();
}

// Scope date must be the date of X-Amz-Date.
Result<void> checkScopeDate(const SignatureInfo& info, ErrorStyle style) {
  std::string_view day = std::string_view(info.amz_date).substr(0, 8);
  if (info.date.size() == 8 && allDigits(info.date) && info.date == day) return okResult();
  if (style == ErrorStyle::kS3) {
    if (info.presigned)
      return s3QueryError("Invalid credential date \"" + info.date +
                          "\". This date is not the same as X-Amz-Date: \"" + std::string(day) +
                          "\".");
    return s3HeaderMalformed("Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  return mismatch(style,
                  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version "
                  "of date from HTTP: '" +
                      info.date + "' != '" + std::string(day) + "', from '" + info.amz_date + "'.");
}

Result<void> checkSignedHeaders(const HttpRequest& req, const SignatureInfo& info,
                                ErrorStyle style) {
  bool has_host = false;
  for (const auto& h : info.signed_headers)
    if (h == "host" || h == ":authority") has_host = true;
  if (style == ErrorStyle::kS3) {
    // AWS: S3 refuses x-amz-* headers that are not covered by the signature.
    std::string unsigned_list;
    if (!has_host) unsigned_list = "host";
    if (!info.presigned) {
      for (const auto& [name, value] : req.headers) {
        if (!startsWith(name, "x-amz-")) continue;
        if (std::find(info.signed_headers.begin(), info.signed_headers.end(), name) !=
            info.signed_headers.end())
          continue;
        if (unsigned_list.find(name) != std::string::npos) continue;
        if (!unsigned_list.empty()) unsigned_list += ',';
        unsigned_list += name;
      }
    }
    if (!unsigned_list.empty())
      return s3Error("AccessDenied",
                     "There were headers present in the request which were not signed", 403,
                     {{"HeadersNotSigned", unsigned_list}});
    return okResult();
  }
  if (!has_host)
    return incomplete(style,
                      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  return okResult();
}

Result<SignatureInfo> parseHeaderForm(const HttpRequest& req, std::string_view auth,
                                      ErrorStyle style) {
  SignatureInfo info;
  info.present = true;
  std::string_view value = auth;
  auto sp = value.find(' ');
  std::string_view algorithm = value.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : value.substr(sp + 1);
  const std::string* x_amz_date = req.header("x-amz-date");
  const std::string* date_hdr = req.header("date");

  if (algorithm != kAlgorithm) {
    if (style == ErrorStyle::kS3) {
      if (algorithm == "AWS" || startsWith(algorithm, "AWS4-"))
        return s3Error("InvalidRequest",
                       "The authorization mechanism you have provided is not supported. Please "
                       "use AWS4-HMAC-SHA256.",
                       400);
      return s3Error("InvalidArgument", "Unsupported Authorization Type", 400,
                     {{"ArgumentName", "Authorization"}, {"ArgumentValue", std::string(auth)}});
    }
    rest = {};  // reported as missing every component, as AWS does
  }

  std::string_view credential, signed_headers, signature;
  bool have_cred = false, have_sh = false, have_sig = false;
  // AWS: components are separated by commas and/or whitespace; every token must be key=value
  // (so a stray space inside the Credential value is reported as a token without '=').
  while (!rest.empty()) {
    auto sep = rest.find_first_of(", \t");
    std::string_view part = rest.substr(0, sep);
    rest = sep == std::string_view::npos ? std::string_view() : rest.substr(sep + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      if (style == ErrorStyle::kS3)
        return s3HeaderMalformed("the authorization component \"" + std::string(part) +
                                 "\" is malformed.");
      return incomplete(style, "'" + std::string(part) +
                                   "' not a valid key=value pair (missing equal-sign) in "
                                   "Authorization header: '" +
                                   std::string(auth) + "'.");
    }
    std::string_view k = part.substr(0, eq);
    std::string_view v = part.substr(eq + 1);
    if (k == "Credential")
      credential = v, have_cred = true;
    else if (k == "SignedHeaders")
      signed_headers = v, have_sh = true;
    else if (k == "Signature")
      signature = v, have_sig = true;
  }
  bool have_date = x_amz_date || date_hdr;
  if (!have_cred || !have_sh || !have_sig) {
    if (style == ErrorStyle::kS3)
      return s3HeaderMalformed(
          "the authorization header requires three components: Credential, SignedHeaders, and "
          "Signature.");
    std::string msg;
    if (!have_cred) msg += "Authorization header requires 'Credential' parameter. ";
    if (!have_sig) msg += "Authorization header requires 'Signature' parameter. ";
    if (!have_sh) msg += "Authorization header requires 'SignedHeaders' parameter. ";
    if (!have_date)
      msg +=
          "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
          "header. ";
    msg += "Authorization=";
    msg += auth;
    return incomplete(style, std::move(msg));
  }

  TRY_VOID(parseScope(credential, info, style));
  info.signed_headers = splitSignedHeaders(signed_headers);
  info.signature = std::string(signature);

  // Request time: X-Amz-Date, else Date.
  if (x_amz_date) {
    auto t = amzDateToTime(*x_amz_date);
    if (!t) {
      if (style == ErrorStyle::kS3)
        return s3Error("AccessDenied",
                       "AWS authentication requires a valid Date or x-amz-date header", 403);
      return incomplete(style, "Date must be in ISO-8601 'basic format'. Got '" + *x_amz_date +
                                   "'. See http://en.wikipedia.org/wiki/ISO_8601");
    }
    info.request_time = *t;
    info.amz_date = *x_amz_date;
  } else if (date_hdr) {
    auto t = httpDateToTime(*date_hdr);
    if (!t) {
      if (style == ErrorStyle::kS3)
        return s3Error("AccessDenied",
                       "AWS authentication requires a valid Date or x-amz-date header", 403);
      return incomplete(style, "Date must be in ISO-8601 'basic format'. Got '" + *date_hdr +
                                   "'. See http://en.wikipedia.org/wiki/ISO_8601");
    }
    info.request_time = std::chrono::time_point_cast<std::chrono::seconds>(*t);
    info.amz_date = amzDate(info.request_time);
  } else {
    if (style == ErrorStyle::kS3)
      return s3Error("AccessDenied",
                     "AWS authentication requires a valid Date or x-amz-date header", 403);
    return incomplete(style,
                      "Authorization header requires existence of either a 'X-Amz-Date' or a "
                      "'Date' header. Authorization=" +
                          std::string(auth));
  }
  TRY_VOID(checkScopeDate(info, style));
  TRY_VOID(checkSignedHeaders(req, info, style));
  TRY_VOID(finishCommon(req, info, style));
  return info;
}

Result<SignatureInfo> parseQueryForm(const HttpRequest& req, ErrorStyle style) {
  SignatureInfo info;
  info.present = true;
  info.presigned = true;
  const QueryParam* alg = req.queryParam("X-Amz-Algorithm");
  const QueryParam* cred = req.queryParam("X-Amz-Credential");
  const QueryParam* sig = req.queryParam("X-Amz-Signature");
  const QueryParam* date = req.queryParam("X-Amz-Date");
  const QueryParam* sh = req.queryParam("X-Amz-SignedHeaders");
  const QueryParam* exp = req.queryParam("X-Amz-Expires");
  const QueryParam* tok = req.queryParam("X-Amz-Security-Token");

  if (style == ErrorStyle::kS3) {
    if (!alg || !cred || !sig || !date || !sh || !exp)
      return s3QueryError(
          "Query-string authentication version 4 requires the X-Amz-Algorithm, "
          "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
          "X-Amz-Expires parameters.");
    if (alg->value != kAlgorithm)
      return s3QueryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  } else {
    std::string msg;
    const std::pair<const QueryParam*, const char*> required[] = {{alg, "X-Amz-Algorithm"},
                                                                  {cred, "X-Amz-Credential"},
                                                                  {sig, "X-Amz-Signature"},
                                                                  {sh, "X-Amz-SignedHeaders"},
                                                                  {date, "X-Amz-Date"}};
    for (const auto& [p, name] : required)
      if (!p) msg += std::string("AWS query-string parameters must include '") + name + "'. ";
    if (!msg.empty()) return incomplete(style, msg + "Re-examine the query-string parameters.");
    if (alg->value != kAlgorithm)
      return incomplete(style, "Unsupported AWS 'algorithm': '" + alg->value + "'.");
  }

  if (exp) {
    if (!parseExpires(exp->value, info.expires_seconds)) {
      bool negative = !exp->value.empty() && exp->value[0] == '-' &&
                      allDigits(std::string_view(exp->value).substr(1));
      std::string msg =
          negative ? "X-Amz-Expires must be non-negative" : "X-Amz-Expires should be a number";
      return style == ErrorStyle::kS3 ? s3QueryError(msg) : incomplete(style, msg);
    }
    if (info.expires_seconds > kMaxPresignSeconds) {
      std::string msg = "X-Amz-Expires must be less than a week (in seconds) that is 604800";
      return style == ErrorStyle::kS3 ? s3QueryError(msg) : incomplete(style, msg);
    }
  } else {
    info.expires_seconds = kMaxSkewSeconds;  // non-S3 default validity window
  }

  TRY_VOID(parseScope(cred->value, info, style));
  auto t = amzDateToTime(date->value);
  if (!t) {
    std::string msg = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"";
    if (style == ErrorStyle::kS3) return s3QueryError(msg);
    return incomplete(style, "Date must be in ISO-8601 'basic format'. Got '" + date->value +
                                 "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  info.request_time = *t;
  info.amz_date = date->value;
  info.signed_headers = splitSignedHeaders(sh->value);
  info.signature = sig->value;
  if (tok) info.session_token = tok->value;
  TRY_VOID(checkScopeDate(info, style));
  TRY_VOID(checkSignedHeaders(req, info, style));
  TRY_VOID(finishCommon(req, info, style));
  return info;
}

// --- canonical request ------------------------------------------------------------------

bool isSigV4Space(unsigned char c) {
  // The characters Python's str.split() treats as whitespace in the ASCII range, which is what
  // botocore uses to collapse header values.
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

// Appends the value trimmed, with inner whitespace runs collapsed to one space.
void appendHeaderValue(std::string& out, std::string_view v) {
  bool pending_space = false, any = false;
  for (unsigned char c : v) {
    if (isSigV4Space(c)) {
      pending_space = any;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    any = true;
    out += static_cast<char>(c);
  }
}

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

void appendEncodedByte(std::string& out, unsigned char c) {
  out += '%';
  out += "0123456789ABCDEF"[c >> 4];
  out += "0123456789ABCDEF"[c & 15];
}

// S3: the path is encoded once. Escapes the client sent are decoded and re-encoded per byte
// (so "%2F" stays "%2F" and "%7E" becomes "~"); other bytes are encoded, '/' kept.
void appendS3Path(std::string& out, std::string_view path) {
  if (path.empty()) {
    out += '/';
    return;
  }
  for (size_t i = 0; i < path.size(); ++i) {
    auto c = static_cast<unsigned char>(path[i]);
    if (c == '%' && i + 2 < path.size()) {
      int hi = hexDigit(path[i + 1]), lo = hexDigit(path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        auto b = static_cast<unsigned char>(hi << 4 | lo);
        if (isUnreserved(b))
          out += static_cast<char>(b);
        else
          appendEncodedByte(out, b);
        i += 2;
        continue;
      }
    }
    if (isUnreserved(c) || c == '/')
      out += static_cast<char>(c);
    else
      appendEncodedByte(out, c);
  }
}

// Other services: RFC 3986 dot-segment removal, empty segments dropped, then the (already
// encoded) path is encoded again with '/' kept: the documented double encoding.
void appendNormalizedPath(std::string& out, std::string_view path) {
  if (path.empty()) {
    out += '/';
    return;
  }
  std::vector<std::string_view> segs;
  segs.reserve(8);
  std::string_view rest = path;
  while (true) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (!seg.empty() && seg != ".") {
      if (seg == "..") {
        if (!segs.empty()) segs.pop_back();
      } else {
        segs.push_back(seg);
      }
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  bool lead = path.front() == '/';
  bool trail = path.back() == '/' && !segs.empty();
  if (lead) out += '/';
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i) out += '/';
    for (unsigned char c : segs[i]) {
      if (isUnreserved(c))
        out += static_cast<char>(c);
      else
        appendEncodedByte(out, c);
    }
  }
  if (trail) out += '/';
}

void appendCanonicalQuery(std::string& out, const HttpRequest& req, bool presigned) {
  if (req.query.empty()) return;
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(req.query.size());
  for (const auto& q : req.query) {
    if (presigned && q.name == "X-Amz-Signature") continue;
    pairs.emplace_back(uriEncode(q.name, true), uriEncode(q.value, true));
  }
  std::sort(pairs.begin(), pairs.end());
  bool first = true;
  for (const auto& [k, v] : pairs) {
    if (!first) out += '&';
    first = false;
    out += k;
    out += '=';
    out += v;
  }
}

std::string scopeOf(const SignatureInfo& info) {
  std::string s;
  s.reserve(info.date.size() + info.region.size() + info.service.size() + 16);
  s += info.date;
  s += '/';
  s += info.region;
  s += '/';
  s += info.service;
  s += "/aws4_request";
  return s;
}

std::string requestAmzDate(const SignatureInfo& info) {
  return info.amz_date.empty() ? amzDate(info.request_time) : info.amz_date;
}

}  // namespace

bool isS3Service(std::string_view service) {
  return service == "s3" || service == "s3-object-lambda" || service == "s3-outposts" ||
         service == "s3express";
}

AwsError missingAuthenticationToken(ErrorStyle style) {
  switch (style) {
    case ErrorStyle::kJson:
      return AwsError{
          "MissingAuthenticationTokenException", "Missing Authentication Token", 403, true, {}};
    case ErrorStyle::kS3:
      return AwsError{"AccessDenied", "Access Denied", 403, true, {}};
    case ErrorStyle::kQuery:
      break;
  }
  return AwsError{
      "MissingAuthenticationToken", "Request is missing Authentication Token", 403, true, {}};
}

Result<SignatureInfo> parseSignature(const HttpRequest& req) {
  ErrorStyle style = isS3Service(peekScopeService(req)) ? ErrorStyle::kS3 : ErrorStyle::kQuery;
  return parseSignature(req, style);
}

Result<SignatureInfo> parseSignature(const HttpRequest& req, ErrorStyle style) {
  const std::string* auth = req.header("authorization");
  bool query_form = req.queryParam("X-Amz-Algorithm") || req.queryParam("X-Amz-Signature") ||
                    req.queryParam("X-Amz-Credential");
  if (auth && query_form) {
    std::string msg =
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
        "query string parameter or the Authorization header should be specified";
    if (style == ErrorStyle::kS3)
      return s3Error("InvalidArgument", msg, 400,
                     {{"ArgumentName", "Authorization"}, {"ArgumentValue", *auth}});
    return incomplete(style, msg);
  }
  if (auth) return parseHeaderForm(req, *auth, style);
  if (query_form) return parseQueryForm(req, style);
  SignatureInfo anonymous;
  return anonymous;
}

SigningStrings buildSigningStrings(const HttpRequest& req, const SignatureInfo& info) {
  SigningStrings out;
  std::string& cr = out.canonical_request;
  size_t estimate = req.method.size() + req.path.size() * 2 + req.raw_query.size() * 2 + 128;
  for (const auto& [k, v] : req.headers) estimate += k.size() + v.size() + 2;
  cr.reserve(estimate);

  cr += req.method;
  cr += '\n';
  if (isS3Service(info.service))
    appendS3Path(cr, req.path);
  else
    appendNormalizedPath(cr, req.path);
  cr += '\n';
  appendCanonicalQuery(cr, req, info.presigned);
  cr += '\n';
  for (const auto& name : info.signed_headers) {
    cr += name;
    cr += ':';
    bool first = true;
    for (const auto& [k, v] : req.headers) {
      if (k != name) continue;
      if (!first) cr += ',';
      first = false;
      appendHeaderValue(cr, v);
    }
    cr += '\n';
  }
  cr += '\n';
  for (size_t i = 0; i < info.signed_headers.size(); ++i) {
    if (i) cr += ';';
    cr += info.signed_headers[i];
  }
  cr += '\n';
  cr += info.payload_hash;

  std::string& sts = out.string_to_sign;
  std::string date = requestAmzDate(info);
  sts.reserve(kAlgorithm.size() + date.size() + info.date.size() + info.region.size() +
              info.service.size() + 100);
  sts += kAlgorithm;
  sts += '\n';
  sts += date;
  sts += '\n';
  sts += scopeOf(info);
  sts += '\n';
  sts += crypto::sha256Hex(cr);
  return out;
}

std::string deriveSigningKey(std::string_view secret_key, std::string_view date,
                             std::string_view region, std::string_view service) {
  std::string seed;
  seed.reserve(secret_key.size() + 4);
  seed += "AWS4";
  seed += secret_key;
  std::string k_date = crypto::hmacSha256(seed, date);
  crypto::wipe(seed);
  std::string k_region = crypto::hmacSha256(k_date, region);
  crypto::wipe(k_date);
  std::string k_service = crypto::hmacSha256(k_region, service);
  crypto::wipe(k_region);
  std::string k_signing = crypto::hmacSha256(k_service, "aws4_request");
  crypto::wipe(k_service);
  return k_signing;
}

std::string SigningKeyCache::get(std::string_view access_key_id, std::string_view secret_key,
                                 std::string_view date, std::string_view region,
                                 std::string_view service) {
  // The secret's hash is part of the key so that a changed secret for the same access key id
  // never serves a stale signing key. It is not a security boundary: on a miss the key is
  // derived from the secret itself.
  size_t secret_tag = std::hash<std::string_view>{}(secret_key);
  std::string key;
  key.reserve(access_key_id.size() + date.size() + region.size() + service.size() + 24);
  key += date;  // first, so eviction by date can read it back
  key += '\0';
  key += access_key_id;
  key += '\0';
  key += region;
  key += '\0';
  key += service;
  key += '\0';
  key.append(reinterpret_cast<const char*>(&secret_tag), sizeof secret_tag);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(key);
    if (it != keys_.end()) return it->second;
  }
  std::string derived = deriveSigningKey(secret_key, date, region, service);
  std::lock_guard<std::mutex> lock(mu_);
  if (keys_.size() >= kMaxEntries) {
    // Evict keys of other scope dates first (they are at most a day's traffic old), then all.
    for (auto it = keys_.begin(); it != keys_.end();) {
      if (std::string_view(it->first).substr(0, it->first.find('\0')) != date) {
        crypto::wipe(it->second);
        it = keys_.erase(it);
      } else {
        ++it;
      }
    }
    if (keys_.size() >= kMaxEntries) {
      for (auto& [k, v] : keys_) crypto::wipe(v);
      keys_.clear();
    }
  }
  keys_.emplace(std::move(key), derived);
  return derived;
}

void SigningKeyCache::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [k, v] : keys_) crypto::wipe(v);
  keys_.clear();
}

size_t SigningKeyCache::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.size();
}

Result<void> verifySignature(const HttpRequest& req, const SignatureInfo& info,
                             std::string_view secret_key, SysTime now, SigningKeyCache& cache,
                             bool s3_style) {
  return verifySignature(req, info, secret_key, now, cache,
                         s3_style ? ErrorStyle::kS3 : ErrorStyle::kQuery);
}

Result<void> verifySignature(const HttpRequest& req, const SignatureInfo& info,
                             std::string_view secret_key, SysTime now, SigningKeyCache& cache,
                             ErrorStyle style) {
  if (!info.present) return missingAuthenticationToken(style);
  using std::chrono::seconds;
  auto now_s = std::chrono::time_point_cast<seconds>(now);
  int64_t age = std::chrono::duration_cast<seconds>(now_s - info.request_time).count();
  std::string sent_date = requestAmzDate(info);

  if (info.presigned) {
    if (style == ErrorStyle::kS3) {
      if (age > info.expires_seconds)
        return s3Error(
            "AccessDenied", "Request has expired", 403,
            {{"X-Amz-Expires", std::to_string(info.expires_seconds)},
             {"Expires", formatIso8601(info.request_time + seconds(info.expires_seconds))},
             {"ServerTime", formatIso8601(now_s)}});
      if (-age > kMaxSkewSeconds) return s3Error("AccessDenied", "Request is not valid yet", 403);
    } else {
      // AWS: outside S3, X-Amz-Expires cannot extend a presigned request beyond the 15-minute
      // window (STS GetCallerIdentity URLs, as EKS tokens use them, live at most 15 minutes).
      const int64_t window = std::min<int64_t>(info.expires_seconds, kMaxSkewSeconds);
      if (age > window)
        return mismatch(style, "Signature expired: " + sent_date + " is now earlier than " +
                                   amzDate(now_s - seconds(window)) + " (" + amzDate(now_s) +
                                   " - " + skewWindowText(window) + ")");
      if (-age > kMaxSkewSeconds)
        return mismatch(style, "Signature not yet current: " + sent_date + " is still later than " +
                                   amzDate(now_s + seconds(kMaxSkewSeconds)) + " (" +
                                   amzDate(now_s) + " + 15 min.)");
    }
  } else if (age > kMaxSkewSeconds || -age > kMaxSkewSeconds) {
    if (style == ErrorStyle::kS3)
      return s3Error("RequestTimeTooSkewed",
                     "The difference between the request time and the current time is too large.",
                     403,
                     {{"RequestTime", sent_date},
                      {"ServerTime", formatIso8601(now_s)},
                      {"MaxAllowedSkewMilliseconds", std::to_string(kMaxSkewSeconds * 1000)}});
    if (age > 0)
      return mismatch(style, "Signature expired: " + sent_date + " is now earlier than " +
                                 amzDate(now_s - seconds(kMaxSkewSeconds)) + " (" + amzDate(now_s) +
                                 " - 15 min.)");
    return mismatch(style, "Signature not yet current: " + sent_date + " is still later than " +
                               amzDate(now_s + seconds(kMaxSkewSeconds)) + " (" + amzDate(now_s) +
                               " + 15 min.)");
  }

  std::string key = cache.get(info.access_key_id, secret_key, info.date, info.region, info.service);
  SigningStrings strings = buildSigningStrings(req, info);
  std::string expected = hexEncode(crypto::hmacSha256(key, strings.string_to_sign));
  crypto::wipe(key);
  if (!crypto::constantTimeEqual(expected, info.signature)) {
    if (style == ErrorStyle::kS3) return signatureMismatchS3(info, &strings);
    // AWS: non-S3 front ends append the expected canonical request and string to sign.
    std::string msg =
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.";
    msg.reserve(msg.size() + strings.canonical_request.size() + strings.string_to_sign.size() +
                120);
    msg += "\n\nThe Canonical String for this request should have been\n'";
    msg += strings.canonical_request;
    msg += "'\n\nThe String-to-Sign should have been\n'";
    msg += strings.string_to_sign;
    msg += "'\n";
    return mismatch(style, std::move(msg));
  }

  // S3 checks a declared body hash against the body it received.
  if (style == ErrorStyle::kS3 && info.payload_mode == PayloadMode::kSigned &&
      req.header("x-amz-content-sha256")) {
    std::string actual = crypto::sha256Hex(req.body);
    if (toLower(info.payload_hash) != actual)
      return s3Error("XAmzContentSHA256Mismatch",
                     "The provided 'x-amz-content-sha256' header does not match what was "
                     "computed.",
                     400,
                     {{"ClientComputedContentSHA256", info.payload_hash},
                      {"S3ComputedContentSHA256", actual}});
  }
  return okResult();
}

// --- aws-chunked --------------------------------------------------------------------------

namespace {

constexpr size_t kMaxChunkLine = 4096;      // size line / trailer line, generous
constexpr uint64_t kMinSignedChunk = 8192;  // AWS: every chunk but the last, signed variants

AwsError incompleteBody() {
  return AwsError{"IncompleteBody", "The request body terminated unexpectedly", 400, true, {}};
}

AwsError malformedChunk(std::string detail) {
  return AwsError{
      "InvalidRequest", "Malformed aws-chunked body: " + std::move(detail), 400, true, {}};
}

// Reads one CRLF-terminated line starting at pos; returns false with err set on failure.
bool readLine(std::string_view body, size_t& pos, std::string_view& line, AwsError& err) {
  size_t limit = std::min(body.size(), pos + kMaxChunkLine + 2);
  size_t eol = body.substr(0, limit).find("\r\n", pos);
  if (eol == std::string_view::npos) {
    err = limit == body.size() ? incompleteBody() : malformedChunk("line too long");
    return false;
  }
  line = body.substr(pos, eol - pos);
  pos = eol + 2;
  return true;
}

std::string chunkStringToSign(std::string_view prefix, std::string_view date,
                              std::string_view scope, std::string_view prev,
                              std::string_view second_hash, std::string_view data_hash) {
  std::string sts;
  sts.reserve(prefix.size() + date.size() + scope.size() + 200);
  sts += prefix;
  sts += '\n';
  sts += date;
  sts += '\n';
  sts += scope;
  sts += '\n';
  sts += prev;
  sts += '\n';
  if (!second_hash.empty()) {
    sts += second_hash;
    sts += '\n';
  }
  sts += data_hash;
  return sts;
}

}  // namespace

Result<StreamingBody> decodeStreamingBodyWithTrailers(std::string_view body,
                                                      const SignatureInfo& info,
                                                      std::string_view signing_key) {
  StreamingBody out;
  const PayloadMode mode = info.payload_mode;
  if (mode == PayloadMode::kSigned || mode == PayloadMode::kUnsigned) {
    out.payload = std::string(body);
    return out;
  }
  const bool is_signed =
      mode == PayloadMode::kStreamingSigned || mode == PayloadMode::kStreamingSignedTrailer;
  const bool has_trailer = mode == PayloadMode::kStreamingSignedTrailer ||
                           mode == PayloadMode::kStreamingUnsignedTrailer;
  const std::string date = requestAmzDate(info);
  const std::string scope = scopeOf(info);
  std::string prev = info.signature;
  if (info.decoded_content_length > 0)
    out.payload.reserve(static_cast<size_t>(
        std::min<int64_t>(info.decoded_content_length, static_cast<int64_t>(body.size()))));

  size_t pos = 0;
  bool short_chunk_seen = false;
  AwsError err;
  while (true) {
    std::string_view line;
    if (!readLine(body, pos, line, err)) return err;
    auto semi = line.find(';');
    std::string_view size_text = line.substr(0, semi);
    std::string_view ext =
        semi == std::string_view::npos ? std::string_view() : line.substr(semi + 1);
    if (size_text.empty() || size_text.size() > 16 || !isHex(size_text))
      return malformedChunk("invalid chunk size");
    uint64_t size = 0;
    for (char c : size_text) size = size << 4 | static_cast<uint64_t>(hexDigit(c));

    std::string_view chunk_sig;
    if (is_signed) {
      constexpr std::string_view kSigExt = "chunk-signature=";
      if (ext.substr(0, kSigExt.size()) != kSigExt)
        return malformedChunk("missing chunk-signature");
      chunk_sig = ext.substr(kSigExt.size());
      if (chunk_sig.size() != 64 || !isHex(chunk_sig))
        return malformedChunk("invalid chunk-signature");
    }
    if (size > body.size() - pos) return incompleteBody();
    std::string_view data = body.substr(pos, static_cast<size_t>(size));
    if (size > 0) {
      pos += static_cast<size_t>(size);
      if (body.size() - pos < 2) return incompleteBody();
      if (body.substr(pos, 2) != "\r\n") return malformedChunk("chunk data not followed by CRLF");
      pos += 2;
    }
    if (is_signed) {
      std::string sts = chunkStringToSign("AWS4-HMAC-SHA256-PAYLOAD", date, scope, prev,
                                          kEmptySha256, crypto::sha256Hex(data));
      std::string expected = hexEncode(crypto::hmacSha256(signing_key, sts));
      if (!crypto::constantTimeEqual(expected, chunk_sig))
        return signatureMismatchS3(info, nullptr);
      prev = std::string(chunk_sig);
      if (size > 0) {
        if (short_chunk_seen)
          return AwsError{"InvalidChunkSizeError",
                          "Only the last chunk is allowed to have a size less than 8192 bytes",
                          403,
                          true,
                          {}};
        if (size < kMinSignedChunk) short_chunk_seen = true;
      }
    }
    if (size == 0) break;
    out.payload.append(data);
  }

  // After the final chunk: trailers (if any), then an empty line, then nothing.
  std::string trailer_canonical;
  std::string_view trailer_sig;
  bool trailer_sig_seen = false;
  while (true) {
    std::string_view line;
    if (!readLine(body, pos, line, err)) {
      // The last CRLF is commonly omitted after a trailer-less final chunk only by broken
      // clients; AWS requires it.
      return err;
    }
    if (line.empty()) break;
    if (!has_trailer) return malformedChunk("unexpected data after the final chunk");
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return malformedChunk("invalid trailer");
    std::string name = toLower(trim(line.substr(0, colon)));
    std::string_view value = trim(line.substr(colon + 1));
    if (name == "x-amz-trailer-signature") {
      trailer_sig = value;
      trailer_sig_seen = true;
      continue;
    }
    if (trailer_sig_seen) return malformedChunk("trailer after the trailer signature");
    trailer_canonical += name;
    trailer_canonical += ':';
    trailer_canonical += value;
    trailer_canonical += '\n';
    out.trailers.emplace_back(std::move(name), std::string(value));
  }
  if (pos != body.size()) return malformedChunk("unexpected data after the final chunk");

  if (mode == PayloadMode::kStreamingSignedTrailer) {
    if (!trailer_sig_seen) return malformedChunk("missing x-amz-trailer-signature");
    std::string sts = chunkStringToSign("AWS4-HMAC-SHA256-TRAILER", date, scope, prev, {},
                                        crypto::sha256Hex(trailer_canonical));
    std::string expected = hexEncode(crypto::hmacSha256(signing_key, sts));
    if (!crypto::constantTimeEqual(expected, trailer_sig))
      return signatureMismatchS3(info, nullptr);
  }

  if (info.decoded_content_length >= 0 &&
      static_cast<uint64_t>(info.decoded_content_length) != out.payload.size())
    return AwsError{"IncompleteBody",
                    "You did not provide the number of bytes specified by the Content-Length HTTP "
                    "header",
                    400,
                    true,
                    {}};
  return out;
}

Result<std::string> decodeStreamingBody(std::string_view body, const SignatureInfo& info,
                                        std::string_view signing_key) {
  TRY_ASSIGN(StreamingBody decoded, decodeStreamingBodyWithTrailers(body, info, signing_key));
  return std::move(decoded.payload);
}

}  // namespace citadel::auth
