// CBOR (RFC 8949) decoding into boost::json trees and a small writer.

#include "protocol/cbor.h"

#include <bit>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <limits>

namespace citadel::protocol::cbor {

namespace {

namespace json = boost::json;

class Decoder {
 public:
  Decoder(std::string_view in, const DecodeLimits& limits) : in_(in), limits_(limits) {}

  std::optional<json::value> run(std::string* error) {
    json::value v;
    bool ok = item(v, 0);
    if (ok && pos_ != in_.size()) {
      err_ = "trailing bytes after data item";
      ok = false;
    }
    if (!ok) {
      if (error) *error = err_;
      return std::nullopt;
    }
    return v;
  }

 private:
  bool fail(const char* what) {
    if (err_.empty()) err_ = what;
    return false;
  }

  bool byte(uint8_t& b) {
    if (pos_ >= in_.size()) return fail("truncated input");
    b = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }

  bool peekBreak() const {
    return pos_ < in_.size() && static_cast<uint8_t>(in_[pos_]) == 0xff;
  }

  bool argument(uint8_t info, uint64_t& v) {
    if (info < 24) {
      v = info;
      return true;
    }
    int n = 0;
    switch (info) {
      case 24: n = 1; break;
      case 25: n = 2; break;
      case 26: n = 4; break;
      case 27: n = 8; break;
      default: return fail("invalid additional information");
    }
    if (in_.size() - pos_ < static_cast<size_t>(n)) return fail("truncated input");
    v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_++]);
    return true;
  }

  bool stringChunk(int major, uint8_t info, std::string& out) {
    uint64_t len;
    if (!argument(info, len)) return false;
    if (len > in_.size() - pos_) return fail("truncated string");
    out.append(in_.substr(pos_, len));
    pos_ += len;
    return true;
  }

  bool string(int major, uint8_t info, json::value& out) {
    std::string s;
    if (info == 31) {
      // Indefinite length: definite chunks of the same major type until break.
      while (true) {
        if (pos_ >= in_.size()) return fail("truncated indefinite string");
        if (peekBreak()) {
          ++pos_;
          break;
        }
        uint8_t b;
        byte(b);
        if ((b >> 5) != major || (b & 31) == 31) return fail("bad indefinite string chunk");
        if (!stringChunk(major, b & 31, s)) return false;
      }
    } else if (!stringChunk(major, info, s)) {
      return false;
    }
    out = json::string(s);
    return true;
  }

  static double halfToDouble(uint16_t h) {
    int exp = (h >> 10) & 0x1f;
    int mant = h & 0x3ff;
    double v;
    if (exp == 0)
      v = std::ldexp(mant, -24);
    else if (exp != 31)
      v = std::ldexp(mant + 1024, exp - 25);
    else
      v = mant == 0 ? std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::quiet_NaN();
    return (h & 0x8000) ? -v : v;
  }

  bool item(json::value& out, int depth) {
    if (depth > limits_.max_depth) return fail("nesting too deep");
    if (++items_ > limits_.max_items) return fail("too many items");
    uint8_t b;
    if (!byte(b)) return false;
    int major = b >> 5;
    uint8_t info = b & 31;
    switch (major) {
      case 0: {
        uint64_t v;
        if (!argument(info, v)) return false;
        if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          out = static_cast<int64_t>(v);
        else
          out = v;
        return true;
      }
      case 1: {
        uint64_t v;
        if (!argument(info, v)) return false;
        if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          out = -1 - static_cast<int64_t>(v);
        else
          out = -1.0 - static_cast<double>(v);
        return true;
      }
      case 2:
      case 3:
        return string(major, info, out);
      case 4: {
        json::array arr;
        if (info == 31) {
          while (true) {
            if (pos_ >= in_.size()) return fail("truncated indefinite array");
            if (peekBreak()) {
              ++pos_;
              break;
            }
            json::value v;
            if (!item(v, depth + 1)) return false;
            arr.push_back(std::move(v));
          }
        } else {
          uint64_t n;
          if (!argument(info, n)) return false;
          // Each item needs at least one byte: refuse lengths the input cannot hold.
          if (n > in_.size() - pos_) return fail("truncated array");
          arr.reserve(n);
          for (uint64_t i = 0; i < n; ++i) {
            json::value v;
            if (!item(v, depth + 1)) return false;
            arr.push_back(std::move(v));
          }
        }
        out = std::move(arr);
        return true;
      }
      case 5: {
        json::object obj;
        auto entry = [&]() -> bool {
          json::value k;
          if (!item(k, depth + 1)) return false;
          if (!k.is_string()) return fail("map key is not a string");
          json::value v;
          if (!item(v, depth + 1)) return false;
          obj[k.get_string()] = std::move(v);
          return true;
        };
        if (info == 31) {
          while (true) {
            if (pos_ >= in_.size()) return fail("truncated indefinite map");
            if (peekBreak()) {
              ++pos_;
              break;
            }
            if (!entry()) return false;
          }
        } else {
          uint64_t n;
          if (!argument(info, n)) return false;
          if (n > (in_.size() - pos_) / 2) return fail("truncated map");
          for (uint64_t i = 0; i < n; ++i)
            if (!entry()) return false;
        }
        out = std::move(obj);
        return true;
      }
      case 6: {
        uint64_t t;
        if (!argument(info, t)) return false;
        json::value v;
        if (!item(v, depth + 1)) return false;
        if (t == 1) {
          if (v.is_int64())
            out = static_cast<double>(v.get_int64());
          else if (v.is_uint64())
            out = static_cast<double>(v.get_uint64());
          else if (v.is_double())
            out = v.get_double();
          else
            return fail("tag 1 content is not a number");
          return true;
        }
        out = std::move(v);
        return true;
      }
      case 7: {
        switch (info) {
          case 20: out = false; return true;
          case 21: out = true; return true;
          case 22:
          case 23: out = nullptr; return true;
          case 25: {
            uint64_t h;
            if (!argument(info, h)) return false;
            out = halfToDouble(static_cast<uint16_t>(h));
            return true;
          }
          case 26: {
            uint64_t f;
            if (!argument(info, f)) return false;
            out = static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(f)));
            return true;
          }
          case 27: {
            uint64_t d;
            if (!argument(info, d)) return false;
            out = std::bit_cast<double>(d);
            return true;
          }
          case 31: return fail("unexpected break");
          default:
            if (info < 24) {  // unassigned simple values
              out = nullptr;
              return true;
            }
            if (info == 24) {
              uint8_t s;
              if (!byte(s)) return false;
              out = nullptr;
              return true;
            }
            return fail("invalid simple value");
        }
      }
    }
    return fail("invalid major type");
  }

  std::string_view in_;
  const DecodeLimits& limits_;
  size_t pos_ = 0;
  size_t items_ = 0;
  std::string err_;
};

}  // namespace

std::optional<boost::json::value> decode(std::string_view bytes, std::string* error,
                                         const DecodeLimits& limits) {
  return Decoder(bytes, limits).run(error);
}

void Writer::head(int major, uint64_t v) {
  uint8_t m = static_cast<uint8_t>(major << 5);
  if (v < 24) {
    out_.push_back(static_cast<char>(m | v));
  } else if (v <= 0xff) {
    out_.push_back(static_cast<char>(m | 24));
    out_.push_back(static_cast<char>(v));
  } else if (v <= 0xffff) {
    out_.push_back(static_cast<char>(m | 25));
    for (int s = 8; s >= 0; s -= 8) out_.push_back(static_cast<char>(v >> s));
  } else if (v <= 0xffffffffULL) {
    out_.push_back(static_cast<char>(m | 26));
    for (int s = 24; s >= 0; s -= 8) out_.push_back(static_cast<char>(v >> s));
  } else {
    out_.push_back(static_cast<char>(m | 27));
    for (int s = 56; s >= 0; s -= 8) out_.push_back(static_cast<char>(v >> s));
  }
}

void Writer::integer(int64_t v) {
  if (v >= 0)
    head(0, static_cast<uint64_t>(v));
  else
    head(1, static_cast<uint64_t>(-(v + 1)));
}

void Writer::bytes(std::string_view b) {
  head(2, b.size());
  out_.append(b);
}

void Writer::text(std::string_view s) {
  head(3, s.size());
  out_.append(s);
}

void Writer::float64(double d) {
  if (std::isnan(d)) {
    out_.append("\xf9\x7e\x00", 3);
  } else if (std::isinf(d)) {
    out_.append(d > 0 ? std::string_view("\xf9\x7c\x00", 3) : std::string_view("\xf9\xfc\x00", 3));
  } else {
    out_.push_back(static_cast<char>(0xfb));
    uint64_t bits = std::bit_cast<uint64_t>(d);
    for (int s = 56; s >= 0; s -= 8) out_.push_back(static_cast<char>(bits >> s));
  }
}

void Writer::timestamp(double seconds) {
  tag(1);
  double whole;
  if (std::modf(seconds, &whole) == 0.0 && std::fabs(whole) < 9.0e15)
    integer(static_cast<int64_t>(whole));
  else
    float64(seconds);
}

void Writer::value(const boost::json::value& v) {
  switch (v.kind()) {
    case json::kind::null: null(); return;
    case json::kind::bool_: boolean(v.get_bool()); return;
    case json::kind::int64: integer(v.get_int64()); return;
    case json::kind::uint64: uint(v.get_uint64()); return;
    case json::kind::double_: float64(v.get_double()); return;
    case json::kind::string: text(v.get_string()); return;
    case json::kind::array:
      beginArray(v.get_array().size());
      for (const auto& e : v.get_array()) value(e);
      return;
    case json::kind::object:
      beginMap(v.get_object().size());
      for (const auto& [k, e] : v.get_object()) {
        text(k);
        value(e);
      }
      return;
  }
}

std::string encode(const boost::json::value& v) {
  Writer w;
  w.value(v);
  return w.take();
}

}  // namespace citadel::protocol::cbor
