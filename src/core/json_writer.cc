#include "core/json_writer.h"

#include "core/encoding.h"

namespace citadel {

namespace {

/// 1 for the bytes that cannot be copied as they are: controls, '"', '\\' and (for the
/// UTF-8 check) bytes >= 0x80.
constexpr auto kSpecial = [] {
  struct Table {
    bool v[256];
  } t{};
  for (int c = 0; c < 256; ++c) t.v[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return t;
}();

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  // Most strings (names, ids, ARNs) need no escape at all: one append.
  size_t first = 0;
  while (first < s.size() && !kSpecial.v[static_cast<unsigned char>(s[first])]) ++first;
  if (first == s.size()) {
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    out.append(s);
    out += '"';
    return;
  }
  // Text that is not UTF-8 (a raw header, say) is kept readable and the output stays valid
  // JSON: each byte >= 0x80 becomes its own \u00XX escape.
  bool high = false;
  for (size_t i = first; i < s.size() && !high; ++i) high = static_cast<unsigned char>(s[i]) >= 0x80;
  const bool escape_high = high && !isValidUtf8(s);
  out += '"';
  out.append(s.data(), first);
  size_t run = first;  // start of the current run of bytes copied as they are
  for (size_t i = first; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!kSpecial.v[c] || (c >= 0x80 && !escape_high)) continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

}  // namespace citadel
