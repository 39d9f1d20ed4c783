#pragma once
/// A small CBOR (RFC 8949) codec for the smithy-rpc-v2-cbor protocol.
///
/// Decoding yields a boost::json::value tree: maps -> objects (text keys only), arrays ->
/// arrays, text and byte strings -> strings (byte strings hold the raw bytes), integers ->
/// int64 (uint64 above INT64_MAX), floats (half/single/double) -> double, tag 1 (epoch time)
/// -> double seconds, other tags -> their content, null/undefined -> null.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace citadel::protocol::cbor {

/// Limits applied while decoding untrusted input.
struct DecodeLimits {
  int max_depth = 64;          ///< nesting of arrays/maps/tags
  size_t max_items = 1 << 20;  ///< total data items
};

/// Decodes exactly one data item spanning the whole input. nullopt (and `error`, if given)
/// on malformed, truncated or trailing input, or when a limit is exceeded.
std::optional<boost::json::value> decode(std::string_view bytes, std::string* error = nullptr,
                                         const DecodeLimits& limits = {});

/// Appends CBOR data items to a byte string. Definite lengths, shortest integer heads.
class Writer {
 public:
  void uint(uint64_t v) { head(0, v); }
  /// Signed integer: major type 0 or 1.
  void integer(int64_t v);
  void bytes(std::string_view b);
  void text(std::string_view s);
  void beginArray(uint64_t n) { head(4, n); }
  void beginMap(uint64_t n) { head(5, n); }
  void tag(uint64_t t) { head(6, t); }
  void boolean(bool b) { out_.push_back(static_cast<char>(b ? 0xf5 : 0xf4)); }
  void null() { out_.push_back(static_cast<char>(0xf6)); }
  /// A double; NaN and infinities as half floats, like botocore.
  void float64(double d);
  /// Epoch seconds under tag 1 (integer when whole, else double).
  void timestamp(double seconds);
  /// Any JSON value: strings as text, numbers as integers/doubles.
  void value(const boost::json::value& v);

  std::string& out() { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void head(int major, uint64_t v);
  std::string out_;
};

/// Encodes a JSON value (strings as text strings).
std::string encode(const boost::json::value& v);

}  // namespace citadel::protocol::cbor
