// HTTP bindings of the rest protocols (rest-json, rest-xml): URI labels, query string,
// headers and prefix headers into the input document, and headers/status onto the response.

#include <boost/json.hpp>
#include <charconv>
#include <cmath>

#include "core/encoding.h"
#include "core/time.h"
#include "protocol/internal.h"

namespace citadel::protocol::detail {

namespace {

namespace json = boost::json;

AwsError bindingError(const OperationMatch& match, std::string message) {
  if (match.protocol == Protocol::kRestXml)
    return AwsError{"InvalidArgument", std::move(message), 400, true, {}};
  return AwsError{"SerializationException", std::move(message), 400, true, {}};
}

std::string_view timestampFormat(const Member& m, std::string_view location_default) {
  if (!m.timestamp_format.empty()) return m.timestamp_format;
  if (!m.shape->timestamp_format.empty()) return m.shape->timestamp_format;
  return location_default;
}

std::optional<json::value> parseScalar(const Shape* shape, std::string_view text,
                                       std::string_view ts_format, bool json_value) {
  switch (shape->type) {
    case ShapeType::kString:
      if (json_value) {
        auto raw = base64Decode(text);
        if (!raw) return std::nullopt;
        json::error_code ec;
        json::value v = json::parse(*raw, ec);
        if (ec) return std::nullopt;
        return v;
      }
      return json::value(json::string(text));
    case ShapeType::kBigDecimal:
      return json::value(json::string(text));
    case ShapeType::kInteger:
    case ShapeType::kLong: {
      int64_t v = 0;
      auto t = trim(text);
      auto r = std::from_chars(t.data(), t.data() + t.size(), v);
      if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
      return json::value(v);
    }
    case ShapeType::kFloat:
    case ShapeType::kDouble: {
      auto t = trim(text);
      if (t == "NaN") return json::value(std::nan(""));
      if (t == "Infinity") return json::value(HUGE_VAL);
      if (t == "-Infinity") return json::value(-HUGE_VAL);
      double v = 0;
      auto r = std::from_chars(t.data(), t.data() + t.size(), v);
      if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
      return json::value(v);
    }
    case ShapeType::kBoolean: {
      auto t = trim(text);
      if (t == "true") return json::value(true);
      if (t == "false") return json::value(false);
      return std::nullopt;
    }
    case ShapeType::kBlob: {
      auto raw = base64Decode(trim(text));
      if (!raw) return std::nullopt;
      return json::value(json::string(*raw));
    }
    case ShapeType::kTimestamp: {
      auto t = trim(text);
      if (ts_format == "unixTimestamp" || (!t.empty() && t.find_first_not_of("0123456789.-") ==
                                                             std::string_view::npos)) {
        double v = 0;
        auto r = std::from_chars(t.data(), t.data() + t.size(), v);
        if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return std::nullopt;
        return json::value(v);
      }
      auto tp = parseTimestamp(t);
      if (!tp) return std::nullopt;
      return json::value(toEpochSeconds(*tp));
    }
    default:
      return std::nullopt;
  }
}

/// Splits a header list value: comma separated, entries optionally double-quoted.
std::vector<std::string> splitHeaderList(std::string_view v, bool timestamps) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= v.size()) {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    if (i < v.size() && v[i] == '"') {
      std::string item;
      ++i;
      while (i < v.size() && v[i] != '"') {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        item.push_back(v[i++]);
      }
      ++i;  // closing quote
      while (i < v.size() && v[i] != ',') ++i;
      out.push_back(std::move(item));
      ++i;
      continue;
    }
    size_t comma = v.find(',', i);
    // RFC 1123 dates contain one comma after the weekday: keep "Sat, 28 Nov ..." together.
    if (timestamps && comma != std::string_view::npos && comma - i == 3)
      comma = v.find(',', comma + 1);
    std::string_view part = v.substr(i, comma == std::string_view::npos ? v.npos : comma - i);
    out.emplace_back(trim(part));
    if (comma == std::string_view::npos) break;
    i = comma + 1;
  }
  return out;
}

std::string formatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, r.ptr);
}

std::string formatTimestamp(double seconds, std::string_view format) {
  if (format == "unixTimestamp") {
    if (std::floor(seconds) == seconds) return std::to_string(static_cast<int64_t>(seconds));
    return formatDouble(seconds);
  }
  SysTime t = fromEpochSeconds(seconds);
  if (format == "iso8601") return formatIso8601(t, std::floor(seconds) != seconds);
  return formatRfc1123(t);
}

std::optional<std::string> scalarText(const Member& m, const Shape* shape, const json::value& v,
                                      std::string_view ts_default) {
  switch (shape->type) {
    case ShapeType::kString:
      if (m.json_value) return base64Encode(json::serialize(v));
      if (!v.is_string()) return std::nullopt;
      return std::string(v.get_string());
    case ShapeType::kBigDecimal:
      if (v.is_string()) return std::string(v.get_string());
      [[fallthrough]];
    case ShapeType::kInteger:
    case ShapeType::kLong:
    case ShapeType::kFloat:
    case ShapeType::kDouble:
      if (v.is_int64()) return std::to_string(v.get_int64());
      if (v.is_uint64()) return std::to_string(v.get_uint64());
      if (v.is_double()) {
        double d = v.get_double();
        if ((shape->type == ShapeType::kInteger || shape->type == ShapeType::kLong) &&
            std::isfinite(d))
          return std::to_string(static_cast<int64_t>(d));
        return formatDouble(d);
      }
      return std::nullopt;
    case ShapeType::kBoolean:
      if (!v.is_bool()) return std::nullopt;
      return std::string(v.get_bool() ? "true" : "false");
    case ShapeType::kBlob:
      if (!v.is_string()) return std::nullopt;
      return base64Encode(v.get_string());
    case ShapeType::kTimestamp: {
      double s;
      if (v.is_double())
        s = v.get_double();
      else if (v.is_int64())
        s = static_cast<double>(v.get_int64());
      else if (v.is_string()) {
        auto tp = parseTimestamp(v.get_string());
        if (!tp) return std::nullopt;
        s = toEpochSeconds(*tp);
      } else {
        return std::nullopt;
      }
      return formatTimestamp(s, timestampFormat(m, ts_default));
    }
    default:
      return std::nullopt;
  }
}

std::string quoteListItem(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

Result<void> bindRestInput(const ServiceModel& model, const OperationMatch& match,
                           const HttpRequest& req, boost::json::object& doc) {
  if (!match.op || !match.op->input) return okResult();
  const Shape* input = match.op->input;
  // Query keys bound to named members, so a querystring map takes only the rest.
  std::vector<std::string_view> named_query;
  for (const auto& m : input->members)
    if (m.location == Location::kQueryString && m.shape->type != ShapeType::kMap)
      named_query.push_back(m.location_name);

  for (const auto& m : input->members) {
    switch (m.location) {
      case Location::kBody:
      case Location::kStatusCode:
        break;
      case Location::kUri: {
        auto it = match.uri_labels.find(m.location_name);
        if (it == match.uri_labels.end()) break;
        auto v = parseScalar(m.shape, it->second, timestampFormat(m, "iso8601"), false);
        if (!v) return bindingError(match, "Invalid value for URI label " + m.location_name);
        doc[m.name] = std::move(*v);
        break;
      }
      case Location::kQueryString: {
        if (m.shape->type == ShapeType::kMap) {
          json::object map;
          const Shape* vs = m.shape->value->shape;
          for (const auto& q : req.query) {
            bool named = false;
            for (auto n : named_query)
              if (n == q.name) named = true;
            if (named) continue;
            if (vs->type == ShapeType::kList) {
              auto& slot = map[q.name];
              if (!slot.is_array()) slot = json::array();
              slot.get_array().emplace_back(json::string(q.value));
            } else if (!map.contains(q.name)) {
              map[q.name] = json::string(q.value);
            }
          }
          if (!map.empty()) doc[m.name] = std::move(map);
          break;
        }
        if (m.shape->type == ShapeType::kList) {
          json::array arr;
          const Shape* es = m.shape->member->shape;
          for (const auto& q : req.query) {
            if (q.name != m.location_name) continue;
            auto v = parseScalar(es, q.value, timestampFormat(*m.shape->member, "iso8601"),
                                 false);
            if (!v) return bindingError(match, "Invalid value for query parameter " + q.name);
            arr.push_back(std::move(*v));
          }
          if (!arr.empty()) doc[m.name] = std::move(arr);
          break;
        }
        const QueryParam* q = req.queryParam(m.location_name);
        if (!q) break;
        auto v = parseScalar(m.shape, q->value, timestampFormat(m, "iso8601"), false);
        if (!v) return bindingError(match, "Invalid value for query parameter " + q->name);
        doc[m.name] = std::move(*v);
        break;
      }
      case Location::kHeader: {
        const std::string* h = req.header(toLower(m.location_name));
        if (!h) break;
        if (m.shape->type == ShapeType::kList) {
          const Member& em = *m.shape->member;
          json::array arr;
          for (const auto& item : splitHeaderList(*h, em.shape->type == ShapeType::kTimestamp)) {
            auto v = parseScalar(em.shape, item, timestampFormat(em, "rfc822"), false);
            if (!v) return bindingError(match, "Invalid value for header " + m.location_name);
            arr.push_back(std::move(*v));
          }
          doc[m.name] = std::move(arr);
          break;
        }
        auto v = parseScalar(m.shape, *h, timestampFormat(m, "rfc822"), m.json_value);
        if (!v) return bindingError(match, "Invalid value for header " + m.location_name);
        doc[m.name] = std::move(*v);
        break;
      }
      case Location::kHeaders: {
        std::string prefix = toLower(m.location_name);
        json::object map;
        for (const auto& [k, v] : req.headers)
          if (k.size() > prefix.size() && k.compare(0, prefix.size(), prefix) == 0)
            map[k.substr(prefix.size())] = json::string(v);
        if (!map.empty()) doc[m.name] = std::move(map);
        break;
      }
    }
  }
  (void)model;
  return okResult();
}

void bindRestOutput(const ServiceModel& model, const Shape* output, const boost::json::value& doc,
                    HttpResponse& resp) {
  if (!output || !doc.is_object()) return;
  const auto& obj = doc.get_object();
  for (const auto& m : output->members) {
    if (m.location == Location::kBody || m.location == Location::kUri ||
        m.location == Location::kQueryString)
      continue;
    auto* v = obj.if_contains(m.name);
    if (!v || v->is_null()) continue;
    switch (m.location) {
      case Location::kHeader: {
        if (m.shape->type == ShapeType::kList) {
          if (!v->is_array()) break;
          std::string joined;
          bool first = true;
          for (const auto& e : v->get_array()) {
            auto t = scalarText(*m.shape->member, m.shape->member->shape, e, "rfc822");
            if (!t) continue;
            if (!first) joined += ",";
            first = false;
            joined += m.shape->member->shape->type == ShapeType::kString ? quoteListItem(*t) : *t;
          }
          resp.setHeader(m.location_name, std::move(joined));
          break;
        }
        if (auto t = scalarText(m, m.shape, *v, "rfc822")) resp.setHeader(m.location_name, *t);
        break;
      }
      case Location::kHeaders:
        if (!v->is_object()) break;
        for (const auto& [k, e] : v->get_object())
          if (e.is_string()) resp.setHeader(m.location_name + std::string(k), std::string(e.get_string()));
        break;
      case Location::kStatusCode:
        if (v->is_int64()) resp.status = static_cast<int>(v->get_int64());
        break;
      default:
        break;
    }
  }
  (void)model;
}

}  // namespace citadel::protocol::detail
