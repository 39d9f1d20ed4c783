// The awsQuery and ec2 protocols: form-encoded requests, XML responses.
// AWS: https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
// AWS: https://smithy.io/2.0/aws/protocols/aws-ec2-query-protocol.html

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding.h"
#include "core/time.h"
#include "protocol/internal.h"
#include "protocol/xml_writer.h"

namespace citadel::protocol::detail {
namespace json = boost::json;

namespace {

struct Param {
  std::string_view key;
  std::string_view value;
};

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Form-decodes `in` (percent escapes, '+' as space) onto the end of `buf`. `buf` has capacity
/// reserved for every decoded byte, so views into it stay valid. False on a bad escape.
bool formDecodeInto(std::string& buf, std::string_view in) {
  size_t fast = 0;
  while (fast < in.size() && in[fast] != '%' && in[fast] != '+') ++fast;
  buf.append(in.data(), fast);
  for (size_t i = fast; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hexDigit(in[i + 1]), lo = hexDigit(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      buf += static_cast<char>(hi << 4 | lo);
      i += 2;
    } else if (c == '+') {
      buf += ' ';
    } else {
      buf += c;
    }
  }
  return true;
}

AwsError malformedQuery(std::string message) {
  return AwsError{"MalformedQueryString", std::move(message), 400, true, {}};
}

/// The request's parameters, decoded once and sorted by key for prefix lookups.
class ParamTable {
 public:
  Result<void> load(const HttpRequest& req, Protocol protocol) {
    std::string_view body;
    if (req.method != "GET" && req.method != "HEAD") body = req.body;
    std::string_view query = req.raw_query;
    storage_.reserve(body.size() + query.size() + 1);
    TRY_VOID(addAll(query));
    TRY_VOID(addAll(body));
    std::sort(params_.begin(), params_.end(),
              [](const Param& a, const Param& b) { return a.key < b.key; });
    for (size_t i = 1; i < params_.size(); ++i) {
      if (params_[i].key == params_[i - 1].key) {
        std::string name(params_[i].key);
        if (protocol == Protocol::kEc2)
          return AwsError{"InvalidParameterValue",
                          "The parameter " + name + " is specified more than once.",
                          400,
                          true,
                          {}};
        return malformedQuery("Parameter " + name + " appears more than once.");
      }
    }
    return okResult();
  }

  /// Value of the exact key, or nullptr.
  const std::string_view* find(std::string_view key) const {
    auto it = lowerBound(key);
    if (it != params_.end() && it->key == key) return &it->value;
    return nullptr;
  }

  /// True when some key starts with `prefix`.
  bool anyWithPrefix(std::string_view prefix) const {
    auto it = lowerBound(prefix);
    return it != params_.end() && it->key.starts_with(prefix);
  }

  /// Sorted distinct positive indices N of keys "<prefix>N" or "<prefix>N.<rest>".
  void indices(std::string_view prefix, std::vector<uint32_t>& out) const {
    out.clear();
    for (auto it = lowerBound(prefix); it != params_.end() && it->key.starts_with(prefix); ++it) {
      std::string_view rest = it->key.substr(prefix.size());
      size_t end = rest.find('.');
      std::string_view digits = rest.substr(0, end);
      uint32_t n = 0;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || n == 0) continue;
      out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }

  bool empty() const { return params_.empty(); }

 private:
  std::vector<Param>::const_iterator lowerBound(std::string_view key) const {
    return std::lower_bound(params_.begin(), params_.end(), key,
                            [](const Param& p, std::string_view k) { return p.key < k; });
  }

  Result<void> addAll(std::string_view text) {
    while (!text.empty()) {
      size_t amp = text.find('&');
      std::string_view pair = text.substr(0, amp);
      text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      std::string_view raw_key = pair.substr(0, eq);
      std::string_view raw_value =
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      size_t k0 = storage_.size();
      if (!formDecodeInto(storage_, raw_key))
        return malformedQuery("Invalid percent-encoding in the parameter name.");
      size_t v0 = storage_.size();
      if (!formDecodeInto(storage_, raw_value))
        return malformedQuery("Invalid percent-encoding in the value of parameter " +
                              std::string(storage_.data() + k0, v0 - k0) + ".");
      std::string_view key(storage_.data() + k0, v0 - k0);
      std::string_view value(storage_.data() + v0, storage_.size() - v0);
      if (key == "Action" || key == "Version") continue;
      params_.push_back(Param{key, value});
    }
    return okResult();
  }

  std::string storage_;
  std::vector<Param> params_;
};

/// Walks the input shape, reading values out of the parameter table.
class QueryReader {
 public:
  QueryReader(const ParamTable& params, Protocol protocol)
      : params_(params), ec2_(protocol == Protocol::kEc2) {}

  Result<void> readStructure(const Shape& s, std::string& prefix, json::object& out) {
    for (const auto& m : s.members) {
      size_t len = prefix.size();
      if (!prefix.empty()) prefix += '.';
      appendMemberName(prefix, m);
      auto r = readValue(m, *m.shape, prefix);
      if (!r.ok()) return std::move(r).error();
      if (r->has_value()) out.emplace(m.name, std::move(**r));
      prefix.resize(len);
    }
    return okResult();
  }

 private:
  using Maybe = std::optional<json::value>;

  void appendMemberName(std::string& prefix, const Member& m) const {
    if (!ec2_) {
      prefix += xmlMemberName(m);
      return;
    }
    // AWS: ec2 uses queryName, else the locationName with its first letter capitalized.
    if (!m.query_name.empty()) {
      prefix += m.query_name;
      return;
    }
    std::string_view name = m.name;
    if (m.has_location_name)
      name = m.location_name;
    else if (!m.shape->location_name.empty())
      name = m.shape->location_name;
    else {
      prefix += name;
      return;
    }
    if (name.empty()) return;
    char first = name[0];
    if (first >= 'a' && first <= 'z') first = static_cast<char>(first - 'a' + 'A');
    prefix += first;
    prefix.append(name.substr(1));
  }

  /// The key fragment naming a list's items or a map's key/value: its locationName or default.
  static std::string_view partName(const Member& part, std::string_view dflt) {
    if (part.has_location_name) return part.location_name;
    if (!part.shape->location_name.empty()) return part.shape->location_name;
    return dflt;
  }

  Result<Maybe> readValue(const Member& m, const Shape& s, std::string& key) {
    switch (s.type) {
      case ShapeType::kStructure: {
        size_t len = key.size();
        key += '.';
        bool present = params_.anyWithPrefix(key);
        key.resize(len);
        if (!present) {
          // "Struct=" alone stands for an empty structure.
          if (params_.find(key)) return Maybe(json::object());
          return Maybe();
        }
        json::object obj;
        TRY_VOID(readStructure(s, key, obj));
        return Maybe(json::value(std::move(obj)));
      }
      case ShapeType::kList:
        return readList(m, s, key);
      case ShapeType::kMap:
        return readMap(m, s, key);
      default: {
        const std::string_view* v = params_.find(key);
        if (!v) return Maybe();
        TRY_ASSIGN(json::value val, scalar(&m, s, key, *v));
        return Maybe(std::move(val));
      }
    }
  }

  Result<Maybe> readList(const Member& m, const Shape& s, std::string& key) {
    size_t len = key.size();
    std::string item_prefix;
    if (ec2_) {
      item_prefix = key;
    } else if (isFlattened(m)) {
      item_prefix = key;
      if (s.member->has_location_name || !s.member->shape->location_name.empty()) {
        // botocore replaces the last key segment by the member's name for flattened lists.
        size_t dot = item_prefix.rfind('.');
        item_prefix.resize(dot == std::string::npos ? 0 : dot + 1);
        item_prefix += partName(*s.member, "");
      }
    } else {
      item_prefix = key;
      item_prefix += '.';
      item_prefix += partName(*s.member, "member");
    }
    item_prefix += '.';
    std::vector<uint32_t> idx;
    params_.indices(item_prefix, idx);
    if (idx.empty()) {
      // "List=" is how botocore sends an empty list over query.
      if (const auto* v = params_.find(key); v && v->empty()) return Maybe(json::array());
      return Maybe();
    }
    json::array arr;
    arr.reserve(idx.size());
    size_t base = item_prefix.size();
    for (uint32_t i : idx) {
      item_prefix.resize(base);
      appendUint(item_prefix, i);
      TRY_ASSIGN(Maybe item, readValue(*s.member, *s.member->shape, item_prefix));
      arr.push_back(item ? std::move(*item) : json::value());
    }
    key.resize(len);
    return Maybe(json::value(std::move(arr)));
  }

  Result<Maybe> readMap(const Member& m, const Shape& s, std::string& key) {
    std::string entry_prefix = key;
    if (!isFlattened(m)) entry_prefix += ".entry";
    entry_prefix += '.';
    std::vector<uint32_t> idx;
    params_.indices(entry_prefix, idx);
    if (idx.empty()) return Maybe();
    std::string key_name = entryPartName(*s.key, "key");
    std::string value_name = entryPartName(*s.value, "value");
    json::object obj;
    size_t base = entry_prefix.size();
    for (uint32_t i : idx) {
      entry_prefix.resize(base);
      appendUint(entry_prefix, i);
      entry_prefix += '.';
      size_t item_base = entry_prefix.size();
      entry_prefix += key_name;
      const std::string_view* k = params_.find(entry_prefix);
      if (!k) {
        std::string missing = entry_prefix;
        return invalidValue(missing, "", "a map key is required");
      }
      entry_prefix.resize(item_base);
      entry_prefix += value_name;
      TRY_ASSIGN(Maybe v, readValue(*s.value, *s.value->shape, entry_prefix));
      obj[*k] = v ? std::move(*v) : json::value();
    }
    return Maybe(json::value(std::move(obj)));
  }

  /// A map's key/value key fragment; ec2 capitalizes a locationName but not the default.
  std::string entryPartName(const Member& part, std::string_view dflt) const {
    std::string name(partName(part, dflt));
    if (ec2_ && name != dflt && !name.empty() && name[0] >= 'a' && name[0] <= 'z')
      name[0] = static_cast<char>(name[0] - 'a' + 'A');
    return name;
  }

  static void appendUint(std::string& s, uint32_t v) {
    char buf[12];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, r.ptr);
  }

  AwsError invalidValue(std::string_view key, std::string_view value, std::string_view why) {
    std::string msg = "Value '";
    msg += value;
    msg += "' for parameter ";
    msg += key;
    msg += " is invalid: ";
    msg += why;
    msg += '.';
    if (ec2_) return AwsError{"InvalidParameterValue", std::move(msg), 400, true, {}};
    return AwsError{"ValidationError", std::move(msg), 400, true, {}};
  }

  Result<json::value> scalar(const Member* m, const Shape& s, std::string_view key,
                             std::string_view v) {
    switch (s.type) {
      case ShapeType::kBoolean:
        if (v == "true" || v == "True" || v == "TRUE") return json::value(true);
        if (v == "false" || v == "False" || v == "FALSE") return json::value(false);
        return invalidValue(key, v, "must be a boolean");
      case ShapeType::kInteger:
      case ShapeType::kLong: {
        int64_t n = 0;
        auto r = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size())
          return invalidValue(key, v, "must be an integer");
        return json::value(n);
      }
      case ShapeType::kFloat:
      case ShapeType::kDouble: {
        std::string tmp(v);
        char* end = nullptr;
        double d = std::strtod(tmp.c_str(), &end);
        if (tmp.empty() || end != tmp.c_str() + tmp.size())
          return invalidValue(key, v, "must be a number");
        return json::value(d);
      }
      case ShapeType::kTimestamp: {
        if (auto t = parseTimestamp(v)) return json::value(toEpochSeconds(*t));
        std::string tmp(v);
        char* end = nullptr;
        double d = std::strtod(tmp.c_str(), &end);
        if (!tmp.empty() && end == tmp.c_str() + tmp.size()) return json::value(d);
        return invalidValue(key, v, "must be a timestamp");
      }
      case ShapeType::kBlob: {
        auto bytes = base64Decode(v);
        if (!bytes) return invalidValue(key, v, "must be base64-encoded");
        return json::value(json::string(*bytes));
      }
      default:
        return json::value(json::string(v));
    }
  }

  const ParamTable& params_;
  bool ec2_;
};

constexpr std::string_view kXmlDecl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

}  // namespace

Result<json::value> parseQueryInput(const ServiceModel& model, const OperationMatch& match,
                                    const HttpRequest& req) {
  ParamTable params;
  TRY_VOID(params.load(req, match.protocol));
  json::object doc;
  const Shape* in = match.op ? match.op->input : nullptr;
  if (in && !params.empty()) {
    QueryReader reader(params, match.protocol);
    std::string prefix;
    prefix.reserve(64);
    TRY_VOID(reader.readStructure(*in, prefix, doc));
  }
  return json::value(std::move(doc));
}

void serializeQueryOutput(const ServiceModel& model, const OperationMatch& match,
                          const json::value& output, const std::string& request_id,
                          HttpResponse& resp) {
  const Operation& op = *match.op;
  bool ec2 = match.protocol == Protocol::kEc2;
  std::string& out = resp.body;
  out.clear();
  out.reserve(512);
  out += kXmlDecl;
  out += '<';
  out += op.name;
  out += "Response";
  if (!model.xml_namespace.empty()) {
    out += " xmlns=\"";
    appendXmlEscaped(out, model.xml_namespace);
    out += '"';
  }
  out += '>';
  if (ec2) {
    // AWS: ec2 answers have no Result wrapper and start with <requestId>.
    out += "<requestId>";
    appendXmlEscaped(out, request_id);
    out += "</requestId>";
    if (op.output) writeXmlStructureMembers(out, *op.output, output);
  } else {
    if (op.output) {
      if (!op.result_wrapper.empty()) {
        out += '<';
        out += op.result_wrapper;
        out += '>';
        writeXmlStructureMembers(out, *op.output, output);
        out += "</";
        out += op.result_wrapper;
        out += '>';
      } else {
        writeXmlStructureMembers(out, *op.output, output);
      }
    }
    out += "<ResponseMetadata><RequestId>";
    appendXmlEscaped(out, request_id);
    out += "</RequestId></ResponseMetadata>";
  }
  out += "</";
  out += op.name;
  out += "Response>";
  resp.status = op.http_status ? op.http_status : 200;
  resp.setHeader("Content-Type", "text/xml");
}

void serializeQueryError(const ServiceModel* model, Protocol protocol, const AwsError& error,
                         const std::string& request_id, HttpResponse& resp) {
  std::string& out = resp.body;
  out.clear();
  out.reserve(256 + error.message.size());
  out += kXmlDecl;
  if (protocol == Protocol::kEc2) {
    out += "<Response><Errors><Error>";
    appendErrorFields(out, error);
    out += "</Error></Errors><RequestID>";
    appendXmlEscaped(out, request_id);
    out += "</RequestID></Response>";
  } else {
    out += "<ErrorResponse";
    if (model && !model->xml_namespace.empty()) {
      out += " xmlns=\"";
      appendXmlEscaped(out, model->xml_namespace);
      out += '"';
    }
    out += "><Error><Type>";
    out += error.sender_fault ? "Sender" : "Receiver";
    out += "</Type>";
    appendErrorFields(out, error);
    out += "</Error><RequestId>";
    appendXmlEscaped(out, request_id);
    out += "</RequestId></ErrorResponse>";
  }
  resp.status = error.http_status;
  resp.setHeader("Content-Type", "text/xml");
}

}  // namespace citadel::protocol::detail
