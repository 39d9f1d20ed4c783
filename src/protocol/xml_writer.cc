#include "protocol/xml_writer.h"

#include <boost/json.hpp>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/encoding.h"
#include "core/time.h"

namespace citadel::protocol::detail {
namespace json = boost::json;

namespace {

/// Bytes that need an entity in XML text and attribute values.
constexpr auto kEscapeTable = [] {
  std::array<bool, 256> t{};
  for (unsigned char c : std::string_view("&<>\"'\r\n")) t[c] = true;
  return t;
}();

bool needsEscape(char c) { return kEscapeTable[static_cast<unsigned char>(c)]; }

void append2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

/// Days since 1970-01-01 to civil date (Howard Hinnant's algorithm).
void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::optional<double> numberOf(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

void openTag(std::string& out, std::string_view name) {
  out += '<';
  out += name;
}

void closeTag(std::string& out, std::string_view name) {
  out += "</";
  out += name;
  out += '>';
}

void writeNamespace(std::string& out, std::string_view uri, std::string_view prefix) {
  if (uri.empty()) return;
  out += " xmlns";
  if (!prefix.empty()) {
    out += ':';
    out += prefix;
  }
  out += "=\"";
  appendXmlEscaped(out, uri);
  out += '"';
}

/// Shape-level namespaces carry their prefix in the model, which model.h does not keep; recover
/// it from a prefixed attribute member ("xsi:type") when there is one.
std::string_view shapeNamespacePrefix(const Shape& s) {
  for (const auto& m : s.members) {
    if (!m.xml_attribute) continue;
    std::string_view n = m.location_name;
    if (auto colon = n.find(':'); colon != std::string_view::npos) return n.substr(0, colon);
  }
  return {};
}

void writeScalarText(std::string& out, const Member* m, const Shape& shape, const json::value& v) {
  switch (shape.type) {
    case ShapeType::kBoolean:
      if (v.is_bool())
        out += v.get_bool() ? "true" : "false";
      else if (v.is_string())
        appendXmlEscaped(out, v.get_string());
      return;
    case ShapeType::kInteger:
    case ShapeType::kLong:
      if (v.is_int64())
        appendInt(out, v.get_int64());
      else if (v.is_uint64())
        out += std::to_string(v.get_uint64());
      else if (v.is_double())
        appendInt(out, static_cast<int64_t>(v.get_double()));
      else if (v.is_string())
        appendXmlEscaped(out, v.get_string());
      return;
    case ShapeType::kFloat:
    case ShapeType::kDouble:
      if (auto d = numberOf(v))
        appendDouble(out, *d);
      else if (v.is_string())
        appendXmlEscaped(out, v.get_string());
      return;
    case ShapeType::kTimestamp:
      if (auto d = numberOf(v))
        appendTimestamp(out, *d, timestampFormatOf(m, shape, TimestampFormat::kIso8601));
      else if (v.is_string())
        appendXmlEscaped(out, v.get_string());
      return;
    case ShapeType::kBlob:
      if (v.is_string()) {
        const auto& s = v.get_string();
        out += base64Encode(std::string_view(s.data(), s.size()));
      }
      return;
    case ShapeType::kBigDecimal:
      if (v.is_string())
        appendXmlEscaped(out, v.get_string());
      else if (auto d = numberOf(v))
        appendDouble(out, *d);
      return;
    default:
      if (v.is_string())
        appendXmlEscaped(out, v.get_string());
      else if (v.is_bool())
        out += v.get_bool() ? "true" : "false";
      else if (v.is_int64())
        appendInt(out, v.get_int64());
      else if (auto d = numberOf(v))
        appendDouble(out, *d);
      return;
  }
}

void writeElement(std::string& out, std::string_view name, const Member* m, const Shape& shape,
                  const json::value& v);

void writeStructureBody(std::string& out, const Shape& s, const json::object& o, bool body_only) {
  for (const auto& mem : s.members) {
    if (mem.xml_attribute) continue;
    if (body_only && mem.location != Location::kBody) continue;
    auto it = o.find(mem.name);
    if (it == o.end() || it->value().is_null()) continue;
    writeXmlMember(out, mem, it->value());
  }
}

void writeStructureOpen(std::string& out, std::string_view name, const Shape& s,
                        const json::object& o, std::string_view ns_uri,
                        std::string_view ns_prefix) {
  openTag(out, name);
  writeNamespace(out, ns_uri, ns_prefix);
  for (const auto& mem : s.members) {
    if (!mem.xml_attribute) continue;
    auto it = o.find(mem.name);
    if (it == o.end() || it->value().is_null()) continue;
    out += ' ';
    out += xmlMemberName(mem);
    out += "=\"";
    writeScalarText(out, &mem, *mem.shape, it->value());
    out += '"';
  }
  out += '>';
}

void writeListItems(std::string& out, std::string_view item_name, const Shape& list,
                    const json::array& a) {
  for (const auto& item : a) writeElement(out, item_name, list.member, *list.member->shape, item);
}

void writeMapEntries(std::string& out, std::string_view entry_name, const Shape& map,
                     const json::object& o) {
  std::string_view key_name = map.key->has_location_name ? std::string_view(map.key->location_name)
                                                         : std::string_view("key");
  std::string_view value_name = map.value->has_location_name
                                    ? std::string_view(map.value->location_name)
                                    : std::string_view("value");
  for (const auto& kv : o) {
    openTag(out, entry_name);
    out += "><";
    out += key_name;
    out += '>';
    appendXmlEscaped(out, std::string_view(kv.key().data(), kv.key().size()));
    closeTag(out, key_name);
    writeElement(out, value_name, map.value, *map.value->shape, kv.value());
    closeTag(out, entry_name);
  }
}

void writeElement(std::string& out, std::string_view name, const Member* m, const Shape& shape,
                  const json::value& v) {
  switch (shape.type) {
    case ShapeType::kStructure: {
      if (!v.is_object()) return;
      std::string_view uri, prefix;
      if (m && !m->xml_namespace_uri.empty()) {
        uri = m->xml_namespace_uri;
        prefix = m->xml_namespace_prefix;
      } else if (!shape.xml_namespace_uri.empty()) {
        uri = shape.xml_namespace_uri;
        prefix = shapeNamespacePrefix(shape);
      }
      writeStructureOpen(out, name, shape, v.get_object(), uri, prefix);
      writeStructureBody(out, shape, v.get_object(), false);
      closeTag(out, name);
      return;
    }
    case ShapeType::kList: {
      if (!v.is_array()) return;
      // A list nested directly in a list (or a map value) cannot be flattened.
      openTag(out, name);
      out += '>';
      writeListItems(out, xmlMemberName(*shape.member), shape, v.get_array());
      closeTag(out, name);
      return;
    }
    case ShapeType::kMap: {
      if (!v.is_object()) return;
      openTag(out, name);
      out += '>';
      writeMapEntries(out, "entry", shape, v.get_object());
      closeTag(out, name);
      return;
    }
    default:
      openTag(out, name);
      out += '>';
      writeScalarText(out, m, shape, v);
      closeTag(out, name);
      return;
  }
}

}  // namespace

void appendXmlEscaped(std::string& out, std::string_view s) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!needsEscape(c)) continue;
    out.append(s.data() + start, i - start);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#xD;";
        break;
      default:
        out += "&#xA;";
        break;
    }
    start = i + 1;
  }
  out.append(s.data() + start, s.size() - start);
}

void appendInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "Infinity" : "-Infinity";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendIso8601Millis(std::string& out, double epoch_seconds) {
  int64_t ms = static_cast<int64_t>(std::llround(epoch_seconds * 1000.0));
  int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  unsigned frac = static_cast<unsigned>(ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  unsigned sod = static_cast<unsigned>(secs - days * 86400);
  int64_t y;
  unsigned mo, d;
  civilFromDays(days, y, mo, d);
  if (y < 0 || y > 9999) y = y < 0 ? 0 : 9999;
  char buf[24];
  unsigned yy = static_cast<unsigned>(y);
  buf[0] = static_cast<char>('0' + yy / 1000);
  buf[1] = static_cast<char>('0' + yy / 100 % 10);
  append2(buf + 2, yy % 100);
  buf[4] = '-';
  append2(buf + 5, mo);
  buf[7] = '-';
  append2(buf + 8, d);
  buf[10] = 'T';
  append2(buf + 11, sod / 3600);
  buf[13] = ':';
  append2(buf + 14, sod / 60 % 60);
  buf[16] = ':';
  append2(buf + 17, sod % 60);
  buf[19] = '.';
  buf[20] = static_cast<char>('0' + frac / 100);
  append2(buf + 21, frac % 100);
  buf[23] = 'Z';
  out.append(buf, 24);
}

void appendTimestamp(std::string& out, double epoch_seconds, TimestampFormat fmt) {
  switch (fmt) {
    case TimestampFormat::kIso8601:
      appendIso8601Millis(out, epoch_seconds);
      return;
    case TimestampFormat::kRfc822:
      out += formatRfc1123(fromEpochSeconds(epoch_seconds));
      return;
    case TimestampFormat::kUnix:
      if (epoch_seconds == std::floor(epoch_seconds))
        appendInt(out, static_cast<int64_t>(epoch_seconds));
      else
        appendDouble(out, std::round(epoch_seconds * 1000.0) / 1000.0);
      return;
  }
}

TimestampFormat timestampFormatOf(const Member* m, const Shape& shape, TimestampFormat dflt) {
  std::string_view f;
  if (m && !m->timestamp_format.empty())
    f = m->timestamp_format;
  else if (!shape.timestamp_format.empty())
    f = shape.timestamp_format;
  if (f == "iso8601") return TimestampFormat::kIso8601;
  if (f == "rfc822") return TimestampFormat::kRfc822;
  if (f == "unixTimestamp") return TimestampFormat::kUnix;
  return dflt;
}

std::string_view xmlMemberName(const Member& m) {
  if (m.has_location_name) return m.location_name;
  if (!m.shape->location_name.empty()) return m.shape->location_name;
  return m.name;
}

std::string_view flattenedItemName(const Member& m) {
  const Shape& s = *m.shape;
  if (s.type == ShapeType::kList && s.member &&
      (s.member->has_location_name || !s.member->shape->location_name.empty()))
    return xmlMemberName(*s.member);
  return xmlMemberName(m);
}

void writeXmlMember(std::string& out, const Member& m, const json::value& v) {
  const Shape& s = *m.shape;
  if (s.type == ShapeType::kList && v.is_array()) {
    if (isFlattened(m)) {
      writeListItems(out, flattenedItemName(m), s, v.get_array());
      return;
    }
    std::string_view name = xmlMemberName(m);
    openTag(out, name);
    writeNamespace(out, m.xml_namespace_uri, m.xml_namespace_prefix);
    out += '>';
    writeListItems(out, xmlMemberName(*s.member), s, v.get_array());
    closeTag(out, name);
    return;
  }
  if (s.type == ShapeType::kMap && v.is_object()) {
    std::string_view name = xmlMemberName(m);
    if (isFlattened(m)) {
      writeMapEntries(out, name, s, v.get_object());
      return;
    }
    openTag(out, name);
    writeNamespace(out, m.xml_namespace_uri, m.xml_namespace_prefix);
    out += '>';
    writeMapEntries(out, "entry", s, v.get_object());
    closeTag(out, name);
    return;
  }
  writeElement(out, xmlMemberName(m), &m, s, v);
}

void writeXmlStructure(std::string& out, std::string_view name, const Shape& s,
                       const json::value& v, std::string_view namespace_uri,
                       std::string_view namespace_prefix) {
  static const json::object kEmpty;
  const json::object& o = v.is_object() ? v.get_object() : kEmpty;
  writeStructureOpen(out, name, s, o, namespace_uri, namespace_prefix);
  writeStructureBody(out, s, o, true);
  closeTag(out, name);
}

void writeXmlStructureMembers(std::string& out, const Shape& s, const json::value& v) {
  if (!v.is_object()) return;
  writeStructureBody(out, s, v.get_object(), true);
}

void appendErrorFields(std::string& out, const AwsError& error) {
  out += "<Code>";
  appendXmlEscaped(out, error.code);
  out += "</Code><Message>";
  appendXmlEscaped(out, error.message);
  out += "</Message>";
  for (const auto& [k, v] : error.extra) {
    out += '<';
    out += k;
    out += '>';
    appendXmlEscaped(out, v);
    out += "</";
    out += k;
    out += '>';
  }
}

}  // namespace citadel::protocol::detail
