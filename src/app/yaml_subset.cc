#include "app/yaml_subset.h"

#include <boost/json.hpp>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace citadel::app {
namespace json = boost::json;

namespace {

struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(size_t line, const std::string& what) {
  throw ParseError("line " + std::to_string(line + 1) + ": " + what);
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

struct Line {
  std::string raw;    // without the newline
  int indent = 0;     // leading spaces
  std::string text;   // content without indentation and without a trailing comment
  bool blank = true;  // empty or comment only
};

/// Removes a trailing comment (a '#' at the start or after a space, outside quotes).
std::string stripComment(const std::string& s) {
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (quote == '"' && c == '\\') ++i;
      else if (c == quote) quote = 0;
    } else if ((c == '"' || c == '\'') && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '[' ||
                                           s[i - 1] == ',' || s[i - 1] == '-' || s[i - 1] == ':')) {
      quote = c;
    } else if (c == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
      return s.substr(0, i);
    }
  }
  return s;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Parses a quoted scalar starting at s[pos]; returns it and moves pos past the closing quote.
std::string quoted(const std::string& s, size_t& pos, size_t line) {
  char q = s[pos++];
  std::string out;
  while (pos < s.size()) {
    char c = s[pos++];
    if (q == '\'' && c == '\'') {
      if (pos < s.size() && s[pos] == '\'') {
        out += '\'';
        ++pos;
        continue;
      }
      return out;
    }
    if (q == '"' && c == '"') return out;
    if (q == '"' && c == '\\') {
      if (pos >= s.size()) break;
      char e = s[pos++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '0': out += '\0'; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'u': {
          if (pos + 4 > s.size()) fail(line, "truncated \\u escape");
          uint32_t cp = 0;
          for (int i = 0; i < 4; ++i) {
            char h = s[pos++];
            cp <<= 4;
            if (h >= '0' && h <= '9') cp |= static_cast<uint32_t>(h - '0');
            else if (h >= 'a' && h <= 'f') cp |= static_cast<uint32_t>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') cp |= static_cast<uint32_t>(h - 'A' + 10);
            else fail(line, "bad \\u escape");
          }
          appendUtf8(out, cp);
          break;
        }
        default: fail(line, std::string("unsupported escape \\") + e);
      }
      continue;
    }
    out += c;
  }
  fail(line, "unterminated quoted string");
}

json::value plainScalar(const std::string& t, size_t line) {
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return nullptr;
  if (t == "true" || t == "True" || t == "TRUE") return true;
  if (t == "false" || t == "False" || t == "FALSE") return false;
  char c = t[0];
  if (c == '&' || c == '*' || c == '!' || c == '%' || c == '@' || c == '`' || c == '>' ||
      c == '|' || c == '{')
    fail(line, "unsupported YAML syntax '" + std::string(1, c) + "' (see the documented subset)");
  bool digits = true;
  size_t start = (c == '-' || c == '+') ? 1 : 0;
  if (start >= t.size()) digits = false;
  for (size_t i = start; i < t.size() && digits; ++i) digits = t[i] >= '0' && t[i] <= '9';
  // Leading zeros stay strings (account ids such as 000000000000 are names, not numbers).
  if (digits && !(t.size() - start > 1 && t[start] == '0') && t.size() - start <= 18)
    return static_cast<int64_t>(std::stoll(t));
  return json::string(t);
}

/// A scalar or flow sequence (`[a, b]`) or `{}` / `[]`, the whole of `t`.
json::value inlineValue(const std::string& t, size_t line) {
  if (t.empty()) return nullptr;
  if (t[0] == '"' || t[0] == '\'') {
    size_t pos = 0;
    std::string s = quoted(t, pos, line);
    if (!trim(t.substr(pos)).empty()) fail(line, "text after a quoted string");
    return json::string(s);
  }
  if (t == "{}") return json::object{};
  if (t[0] == '[') {
    if (t.back() != ']') fail(line, "unterminated flow sequence");
    json::array arr;
    std::string body = trim(t.substr(1, t.size() - 2));
    size_t pos = 0;
    while (pos < body.size()) {
      while (pos < body.size() && body[pos] == ' ') ++pos;
      if (pos >= body.size()) break;
      if (body[pos] == '[' || body[pos] == '{') fail(line, "nested flow collections are not supported");
      if (body[pos] == '"' || body[pos] == '\'') {
        arr.push_back(json::string(quoted(body, pos, line)));
        while (pos < body.size() && body[pos] == ' ') ++pos;
      } else {
        size_t end = body.find(',', pos);
        std::string item = trim(body.substr(pos, end == std::string::npos ? end : end - pos));
        if (item.empty()) fail(line, "empty item in flow sequence");
        arr.push_back(plainScalar(item, line));
        pos = end == std::string::npos ? body.size() : end;
      }
      if (pos < body.size()) {
        if (body[pos] != ',') fail(line, "expected ',' in flow sequence");
        ++pos;
      }
    }
    return arr;
  }
  return plainScalar(t, line);
}

/// Finds the ':' that ends a mapping key (followed by a space or the end), outside quotes.
/// Returns npos when the text is not a `key: value` pair.
size_t keyColon(const std::string& t) {
  size_t i = 0;
  if (!t.empty() && (t[0] == '"' || t[0] == '\'')) {
    char q = t[0];
    for (i = 1; i < t.size(); ++i) {
      if (q == '"' && t[i] == '\\') ++i;
      else if (t[i] == q) break;
    }
    ++i;
    return (i < t.size() && t[i] == ':' && (i + 1 == t.size() || t[i + 1] == ' ')) ? i
                                                                                    : std::string::npos;
  }
  if (!t.empty() && (t[0] == '[' || t[0] == '{')) return std::string::npos;
  for (; i < t.size(); ++i)
    if (t[i] == ':' && (i + 1 == t.size() || t[i + 1] == ' ')) return i;
  return std::string::npos;
}

class Parser {
 public:
  explicit Parser(const std::string& text) {
    size_t start = 0;
    while (start <= text.size()) {
      size_t nl = text.find('\n', start);
      std::string raw = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
      Line l;
      l.raw = raw;
      size_t ind = raw.find_first_not_of(' ');
      if (ind != std::string::npos) {
        l.indent = static_cast<int>(ind);
        std::string content = trim(stripComment(raw.substr(ind)));
        l.text = content;
        l.blank = content.empty();
        if (!l.blank && raw[ind] == '\t') throw ParseError("line " + std::to_string(lines_.size() + 1) + ": tabs are not allowed for indentation");
      }
      lines_.push_back(std::move(l));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }

  json::value document() {
    size_t i = next(0);
    if (i < lines_.size() && lines_[i].indent == 0 && lines_[i].text == "---") i = next(i + 1);
    if (i >= lines_.size()) return nullptr;
    json::value v;
    i = block(i, lines_[i].indent, v);
    i = next(i);
    if (i < lines_.size()) {
      if (lines_[i].text == "---" || lines_[i].text == "...")
        fail(i, "several documents are not supported");
      fail(i, "unexpected indentation or content");
    }
    return v;
  }

 private:
  size_t next(size_t i) const {
    while (i < lines_.size() && lines_[i].blank) ++i;
    return i;
  }
  static bool isSeqItem(const std::string& t) { return t == "-" || t.rfind("- ", 0) == 0; }

  /// Parses the block starting at line i (indentation `indent`); returns the next line index.
  size_t block(size_t i, int indent, json::value& out) {
    if (isSeqItem(lines_[i].text)) return sequence(i, indent, out);
    if (keyColon(lines_[i].text) != std::string::npos) return mapping(i, indent, out);
    // A lone scalar on its own line(s) is only allowed as a whole document.
    out = inlineValue(lines_[i].text, i);
    return i + 1;
  }

  size_t sequence(size_t i, int indent, json::value& out) {
    json::array arr;
    while ((i = next(i)) < lines_.size() && lines_[i].indent == indent && isSeqItem(lines_[i].text)) {
      std::string rest = lines_[i].text == "-" ? std::string() : trim(lines_[i].text.substr(2));
      json::value item;
      if (rest.empty()) {
        size_t j = next(i + 1);
        if (j < lines_.size() && lines_[j].indent > indent) {
          i = block(j, lines_[j].indent, item);
        } else {
          ++i;
        }
      } else if (keyColon(rest) != std::string::npos) {
        // "- key: value": a mapping whose first line is this one, at the key's column.
        size_t col = lines_[i].raw.find(rest, static_cast<size_t>(indent) + 1);
        lines_[i].indent = static_cast<int>(col);
        lines_[i].text = rest;
        i = mapping(i, lines_[i].indent, item);
      } else {
        item = inlineValue(rest, i);
        ++i;
      }
      arr.push_back(std::move(item));
    }
    if (i < lines_.size() && lines_[i].indent > indent) fail(i, "unexpected indentation");
    out = std::move(arr);
    return i;
  }

  size_t mapping(size_t i, int indent, json::value& out) {
    json::object obj;
    while ((i = next(i)) < lines_.size() && lines_[i].indent == indent) {
      const std::string t = lines_[i].text;
      // A sequence at the parent's level, or a document marker, ends this mapping.
      if (isSeqItem(t) || t == "---" || t == "...") break;
      size_t colon = keyColon(t);
      if (colon == std::string::npos) fail(i, "expected 'key: value'");
      std::string key_text = trim(t.substr(0, colon));
      std::string key;
      if (!key_text.empty() && (key_text[0] == '"' || key_text[0] == '\'')) {
        size_t pos = 0;
        key = quoted(key_text, pos, i);
      } else {
        if (key_text.empty()) fail(i, "empty key");
        if (key_text[0] == '?' || key_text[0] == '&' || key_text[0] == '*' || key_text[0] == '!')
          fail(i, "unsupported YAML syntax in key (see the documented subset)");
        key = key_text;
      }
      if (obj.contains(key)) fail(i, "duplicate key \"" + key + "\"");
      std::string rest = trim(t.substr(colon + 1));
      json::value v;
      if (rest == "|" || rest == "|-") {
        i = literal(i, indent, rest == "|", v);
      } else if (rest.empty()) {
        size_t j = next(i + 1);
        if (j < lines_.size() && lines_[j].indent > indent) {
          i = block(j, lines_[j].indent, v);
        } else if (j < lines_.size() && lines_[j].indent == indent && isSeqItem(lines_[j].text)) {
          i = sequence(j, indent, v);
        } else {
          v = nullptr;
          ++i;
        }
      } else {
        v = inlineValue(rest, i);
        ++i;
      }
      obj[key] = std::move(v);
    }
    if (i < lines_.size() && lines_[i].indent > indent) fail(i, "unexpected indentation");
    out = std::move(obj);
    return i;
  }

  /// A literal block scalar after line i (whose own indentation is `indent`).
  size_t literal(size_t i, int indent, bool keep_newline, json::value& out) {
    int block_indent = -1;
    std::string text;
    size_t last_content = 0;
    std::vector<std::string> collected;
    for (size_t j = i + 1; j < lines_.size(); ++j) {
      const std::string& raw = lines_[j].raw;
      size_t ind = raw.find_first_not_of(' ');
      if (ind == std::string::npos) {
        collected.emplace_back();
        continue;
      }
      if (static_cast<int>(ind) <= indent) break;
      if (block_indent < 0) block_indent = static_cast<int>(ind);
      if (static_cast<int>(ind) < block_indent) fail(j, "less indented line in a block scalar");
      collected.push_back(raw.substr(static_cast<size_t>(block_indent)));
      last_content = collected.size();
    }
    collected.resize(block_indent < 0 ? 0 : last_content);
    for (size_t k = 0; k < collected.size(); ++k) {
      if (k) text += '\n';
      text += collected[k];
    }
    if (keep_newline && !collected.empty()) text += '\n';
    out = json::string(text);
    // Continue after the last content line (trailing blank lines belong to no one).
    return block_indent < 0 ? i + 1 : i + 1 + last_content;
  }

  std::vector<Line> lines_;
};

}  // namespace

Result<json::value> parseYamlSubset(const std::string& text) {
  try {
    Parser p(text);
    return p.document();
  } catch (const ParseError& e) {
    return AwsError{"InvalidSeedFile", e.what(), 400, true, {}};
  } catch (const std::exception& e) {
    return AwsError{"InvalidSeedFile", std::string("YAML: ") + e.what(), 400, true, {}};
  }
}

}  // namespace citadel::app
