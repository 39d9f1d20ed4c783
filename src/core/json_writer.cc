#include "core/json_writer.h"

#include <cstdio>

#include "core/encoding.h"

namespace citadel {

void appendJsonString(std::string& out, std::string_view s) {
  // Text that is not UTF-8 (a raw header, say) is kept readable and the output stays valid
  // JSON: each byte >= 0x80 becomes its own \u00XX escape.
  bool high = false;
  for (unsigned char c : s) high |= c >= 0x80;
  const bool escape_high = high && !isValidUtf8(s);
  out += '"';
  size_t run = 0;  // start of the current run of bytes copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool plain = c >= 0x20 && c != '"' && c != '\\' && !(c >= 0x80 && escape_high);
    if (plain) continue;
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
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

}  // namespace citadel
