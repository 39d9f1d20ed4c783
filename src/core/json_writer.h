#pragma once
/// A minimal JSON text writer for hot paths (audit records, logs) where building a DOM first
/// would cost an allocation per member.

#include <string>
#include <string_view>

namespace citadel {

/// Appends `s` as a JSON string literal (quoted, escaped; valid UTF-8 passed through).
void appendJsonString(std::string& out, std::string_view s);

/// Writes one JSON object member at a time; the caller opens and closes braces.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  /// Starts a member; the caller then appends its value.
  std::string& key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    appendJsonString(out_, k);
    out_ += ':';
    return out_;
  }
  void string(std::string_view k, std::string_view v) { appendJsonString(key(k), v); }
  void boolean(std::string_view k, bool v) { key(k) += v ? "true" : "false"; }
  void raw(std::string_view k, std::string_view json) { key(k) += json; }
  void close() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace citadel
