// libFuzzer target: arbitrary Authorization headers, presigned query strings, dates and
// aws-chunked bodies through parseSignature, buildSigningStrings, verifySignature and
// decodeStreamingBody. Input layout: first byte selects the mode and style; the rest is split
// on '\n' into fields.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/sigv4.h"
#include "core/http_message.h"

using namespace citadel;
using namespace citadel::auth;

namespace {

std::vector<std::string_view> fields(std::string_view s, size_t max) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max) {
    auto nl = s.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(s.substr(0, nl));
    s.remove_prefix(nl + 1);
  }
  out.push_back(s);
  return out;
}

SigningKeyCache& cache() {
  static SigningKeyCache c;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const ErrorStyle style = static_cast<ErrorStyle>(selector % 3);
  auto f = fields(in, 5);  // target, authorization, x-amz-date, x-amz-content-sha256, body

  HttpRequest req;
  req.method = (selector & 0x10) ? "PUT" : "GET";
  req.target = "/";
  req.target += f[0];
  splitTarget(req);
  req.headers.emplace_back("host", "bucket.s3.amazonaws.com");
  if (f.size() > 1 && !(selector & 0x20))
    req.headers.emplace_back("authorization", std::string(f[1]));
  if (f.size() > 2) req.headers.emplace_back("x-amz-date", std::string(f[2]));
  if (f.size() > 3 && !f[3].empty())
    req.headers.emplace_back("x-amz-content-sha256", std::string(f[3]));
  if (f.size() > 4) req.body = std::string(f[4]);

  auto info = parseSignature(req, style);
  if (info.ok()) {
    (void)buildSigningStrings(req, *info);
    (void)verifySignature(req, *info, "secret", SysTime{} + std::chrono::hours(24 * 365 * 56),
                          cache(), style);
  }

  // Chunked decoding with every streaming mode, independent of the header parse.
  SignatureInfo chunked;
  chunked.present = true;
  chunked.date = "20261128";
  chunked.region = "us-east-1";
  chunked.service = "s3";
  chunked.amz_date = "20261128T160000Z";
  chunked.signature = std::string(64, 'a');
  static const PayloadMode kModes[] = {PayloadMode::kStreamingSigned,
                                       PayloadMode::kStreamingUnsignedTrailer,
                                       PayloadMode::kStreamingSignedTrailer};
  chunked.payload_mode = kModes[(selector >> 2) % 3];
  chunked.decoded_content_length = (selector & 0x40) ? -1 : static_cast<int64_t>(in.size() / 2);
  (void)decodeStreamingBodyWithTrailers(in, chunked, std::string(32, 'k'));
  return 0;
}
