// The json (1.0/1.1) and rest-json protocols: request bodies into documents, documents into
// response bodies, and errors, walking the botocore model.

#include <boost/json.hpp>
#include <charconv>
#include <cmath>

#include "core/encoding.h"
#include "core/time.h"
#include "protocol/internal.h"

namespace citadel::protocol::detail {

namespace {

namespace json = boost::json;

AwsError serializationError(std::string message) {
  return AwsError{"SerializationException", std::move(message), 400, true, {}};
}

std::string_view memberTimestampFormat(const Member* m, const Shape* shape) {
  if (m && !m->timestamp_format.empty()) return m->timestamp_format;
  return shape->timestamp_format;
}

const std::string& wireName(const Member& m) { return m.location_name; }

/// Wire JSON -> document, checking types as the service would.
class Reader {
 public:
  Result<json::value> read(const Shape* shape, const Member* member, json::value& v, int depth) {
    if (depth > 100) return serializationError("Document nested too deeply");
    if (shape->is_document) return std::move(v);
    switch (shape->type) {
      case ShapeType::kStructure: {
        if (!v.is_object())
          return serializationError("Start of structure or map found where not expected.");
        json::object out;
        auto& obj = v.get_object();
        for (const auto& m : shape->members) {
          if (m.location != Location::kBody) continue;
          auto* w = obj.if_contains(wireName(m));
          if (!w || w->is_null()) continue;
          TRY_ASSIGN(auto value, read(m.shape, &m, *w, depth + 1));
          out[m.name] = std::move(value);
        }
        return json::value(std::move(out));
      }
      case ShapeType::kList: {
        if (!v.is_array()) return serializationError("Unexpected value type in payload: expected a list");
        json::array out;
        out.reserve(v.get_array().size());
        for (auto& e : v.get_array()) {
          if (e.is_null()) continue;
          TRY_ASSIGN(auto value, read(shape->member->shape, shape->member, e, depth + 1));
          out.push_back(std::move(value));
        }
        return json::value(std::move(out));
      }
      case ShapeType::kMap: {
        if (!v.is_object())
          return serializationError("Unexpected value type in payload: expected a map");
        json::object out;
        for (auto& [k, e] : v.get_object()) {
          if (e.is_null()) continue;
          TRY_ASSIGN(auto value, read(shape->value->shape, shape->value, e, depth + 1));
          out[k] = std::move(value);
        }
        return json::value(std::move(out));
      }
      case ShapeType::kString:
        if (!v.is_string())
          return serializationError(std::string(kindName(v)) +
                                    " can not be converted to a String");
        return std::move(v);
      case ShapeType::kBigDecimal:
        if (v.is_string()) return std::move(v);
        if (v.is_int64() || v.is_uint64() || v.is_double())
          return json::value(json::string(json::serialize(v)));
        return serializationError(std::string(kindName(v)) +
                                  " can not be converted to a BigDecimal");
      case ShapeType::kInteger:
      case ShapeType::kLong: {
        if (v.is_int64()) return std::move(v);
        if (v.is_uint64()) return serializationError("Number out of range");
        if (v.is_double()) {
          double d = v.get_double();
          if (std::isfinite(d) && std::fabs(d) < 9.2e18) return json::value(static_cast<int64_t>(d));
        }
        return serializationError(std::string(kindName(v)) +
                                  " can not be converted to an Integer");
      }
      case ShapeType::kFloat:
      case ShapeType::kDouble:
        if (v.is_double()) return std::move(v);
        if (v.is_int64()) return json::value(static_cast<double>(v.get_int64()));
        if (v.is_uint64()) return json::value(static_cast<double>(v.get_uint64()));
        if (v.is_string()) {
          std::string_view s = v.get_string();
          if (s == "NaN") return json::value(std::nan(""));
          if (s == "Infinity") return json::value(HUGE_VAL);
          if (s == "-Infinity") return json::value(-HUGE_VAL);
        }
        return serializationError(std::string(kindName(v)) +
                                  " can not be converted to a Double");
      case ShapeType::kBoolean:
        if (v.is_bool()) return std::move(v);
        return serializationError(std::string(kindName(v)) +
                                  " can not be converted to a Boolean");
      case ShapeType::kBlob: {
        if (!v.is_string())
          return serializationError(std::string(kindName(v)) + " can not be converted to a Blob");
        auto raw = base64Decode(v.get_string());
        if (!raw) return serializationError("Base64 encoded value is invalid");
        return json::value(json::string(*raw));
      }
      case ShapeType::kTimestamp: {
        if (v.is_double()) return std::move(v);
        if (v.is_int64()) return json::value(static_cast<double>(v.get_int64()));
        if (v.is_uint64()) return json::value(static_cast<double>(v.get_uint64()));
        if (v.is_string()) {
          std::string_view s = v.get_string();
          double d = 0;
          auto r = std::from_chars(s.data(), s.data() + s.size(), d);
          if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty())
            return json::value(d);
          if (auto tp = parseTimestamp(s)) return json::value(toEpochSeconds(*tp));
        }
        return serializationError(std::string(kindName(v)) +
                                  " can not be converted to a Timestamp");
      }
    }
    return std::move(v);
  }

 private:
  static const char* kindName(const json::value& v) {
    switch (v.kind()) {
      case json::kind::string: return "STRING_VALUE";
      case json::kind::int64:
      case json::kind::uint64:
      case json::kind::double_: return "NUMBER_VALUE";
      case json::kind::bool_: return "BOOLEAN_VALUE";
      case json::kind::array: return "START_ARRAY";
      case json::kind::object: return "START_OBJECT";
      case json::kind::null: return "NULL_VALUE";
    }
    return "VALUE";
  }
};

json::value timestampOut(double seconds, std::string_view format) {
  if (format == "iso8601")
    return json::string(formatIso8601(fromEpochSeconds(seconds), std::floor(seconds) != seconds));
  if (format == "rfc822") return json::string(formatRfc1123(fromEpochSeconds(seconds)));
  double whole;
  if (std::modf(seconds, &whole) == 0.0 && std::fabs(whole) < 9.0e15)
    return json::value(static_cast<int64_t>(whole));
  // Millisecond precision, as AWS sends.
  return json::value(std::round(seconds * 1000.0) / 1000.0);
}

/// Document -> wire JSON.
json::value write(const Shape* shape, const Member* member, const json::value& v, int depth) {
  if (depth > 100 || shape->is_document) return v;
  switch (shape->type) {
    case ShapeType::kStructure: {
      if (!v.is_object()) return json::object();
      json::object out;
      const auto& obj = v.get_object();
      for (const auto& m : shape->members) {
        if (m.location != Location::kBody) continue;
        auto* e = obj.if_contains(m.name);
        if (!e || e->is_null()) continue;
        out[wireName(m)] = write(m.shape, &m, *e, depth + 1);
      }
      return out;
    }
    case ShapeType::kList: {
      json::array out;
      if (!v.is_array()) return out;
      out.reserve(v.get_array().size());
      for (const auto& e : v.get_array())
        out.push_back(write(shape->member->shape, shape->member, e, depth + 1));
      return out;
    }
    case ShapeType::kMap: {
      json::object out;
      if (!v.is_object()) return out;
      for (const auto& [k, e] : v.get_object())
        out[k] = write(shape->value->shape, shape->value, e, depth + 1);
      return out;
    }
    case ShapeType::kBlob:
      if (v.is_string()) return json::string(base64Encode(v.get_string()));
      return v;
    case ShapeType::kTimestamp: {
      double s = 0;
      if (v.is_double())
        s = v.get_double();
      else if (v.is_int64())
        s = static_cast<double>(v.get_int64());
      else if (v.is_string()) {
        auto tp = parseTimestamp(v.get_string());
        if (!tp) return v;
        s = toEpochSeconds(*tp);
      } else {
        return v;
      }
      return timestampOut(s, memberTimestampFormat(member, shape));
    }
    case ShapeType::kFloat:
    case ShapeType::kDouble:
      if (v.is_double()) {
        double d = v.get_double();
        if (std::isnan(d)) return json::string("NaN");
        if (std::isinf(d)) return json::string(d > 0 ? "Infinity" : "-Infinity");
      }
      return v;
    case ShapeType::kInteger:
    case ShapeType::kLong:
      if (v.is_double() && std::isfinite(v.get_double()))
        return json::value(static_cast<int64_t>(v.get_double()));
      return v;
    case ShapeType::kBigDecimal:
      if (v.is_string()) {
        json::error_code ec;
        json::value n = json::parse(v.get_string(), ec);
        if (!ec && n.is_number()) return n;
      }
      return v;
    default:
      return v;
  }
}

std::string jsonContentType(const ServiceModel* model) {
  std::string version = model && !model->json_version.empty() ? model->json_version : "1.1";
  return "application/x-amz-json-" + version;
}

/// The model's error shape for a code (by shape name, then by error.code).
const Shape* findErrorShape(const ServiceModel* model, std::string_view code) {
  if (!model) return nullptr;
  if (const Shape* s = model->findShape(code); s && s->is_exception) return s;
  for (const auto& [name, s] : model->shapes)
    if (s->is_exception && s->error_code == code) return s.get();
  return nullptr;
}

Result<json::value> parseBody(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return serializationError("Malformed request body: " + ec.message());
  return v;
}

}  // namespace

Result<boost::json::value> parseJsonInput(const ServiceModel& model, const OperationMatch& match,
                                          const HttpRequest& req) {
  const Shape* input = match.op ? match.op->input : nullptr;
  Reader reader;
  if (match.protocol == Protocol::kJson) {
    if (!input) return json::value(json::object());
    std::string_view body = trim(req.body);
    if (body.empty()) return json::value(json::object());
    TRY_ASSIGN(json::value wire, parseBody(body));
    if (!wire.is_object()) return serializationError("Start of structure or map found where not expected.");
    return reader.read(input, nullptr, wire, 0);
  }

  // rest-json: bindings first, then the body (payload member or body members).
  json::object doc;
  if (!input) return json::value(std::move(doc));
  TRY_VOID(bindRestInput(model, match, req, doc));
  if (!input->payload.empty()) {
    const Member* pm = input->findMember(input->payload);
    if (pm) {
      const Shape* ps = pm->shape;
      if (ps->type == ShapeType::kBlob || ps->type == ShapeType::kString) {
        if (!req.body.empty()) doc[pm->name] = json::string(req.body);
      } else if (!trim(req.body).empty()) {
        TRY_ASSIGN(json::value wire, parseBody(trim(req.body)));
        TRY_ASSIGN(json::value value, reader.read(ps, pm, wire, 1));
        doc[pm->name] = std::move(value);
      }
    }
    return json::value(std::move(doc));
  }
  std::string_view body = trim(req.body);
  if (!body.empty()) {
    TRY_ASSIGN(json::value wire, parseBody(body));
    if (!wire.is_object()) return serializationError("Start of structure or map found where not expected.");
    TRY_ASSIGN(json::value value, reader.read(input, nullptr, wire, 0));
    for (auto& [k, v] : value.get_object()) doc[k] = std::move(v);
  }
  return json::value(std::move(doc));
}

void serializeJsonOutput(const ServiceModel& model, const OperationMatch& match,
                         const boost::json::value& output, HttpResponse& resp) {
  const Shape* shape = match.op ? match.op->output : nullptr;
  if (match.protocol == Protocol::kJson) {
    resp.status = 200;
    resp.setHeader("Content-Type", jsonContentType(&model));
    if (!shape || !output.is_object()) {
      resp.body = "{}";
      return;
    }
    resp.body = json::serialize(write(shape, nullptr, output, 0));
    return;
  }

  // rest-json
  resp.status = match.op ? match.op->http_status : 200;
  if (!shape) {
    resp.body = resp.status == 204 ? "" : "{}";
    if (!resp.body.empty()) resp.setHeader("Content-Type", "application/json");
    return;
  }
  bindRestOutput(model, shape, output, resp);
  const json::object* obj = output.if_object();
  if (!shape->payload.empty()) {
    const Member* pm = shape->findMember(shape->payload);
    const json::value* pv = pm && obj ? obj->if_contains(pm->name) : nullptr;
    if (pm && (pm->shape->type == ShapeType::kBlob || pm->shape->type == ShapeType::kString)) {
      if (pv && pv->is_string()) resp.body = std::string(pv->get_string());
      if (!resp.header("Content-Type"))
        resp.setHeader("Content-Type", pm->shape->type == ShapeType::kString
                                           ? "text/plain"
                                           : "application/octet-stream");
      return;
    }
    resp.setHeader("Content-Type", "application/json");
    resp.body = pv && !pv->is_null() ? json::serialize(write(pm->shape, pm, *pv, 1)) : "{}";
    return;
  }
  if (resp.status == 204) return;
  resp.setHeader("Content-Type", "application/json");
  resp.body = json::serialize(obj ? write(shape, nullptr, output, 0) : json::object());
}

void serializeJsonError(const ServiceModel* model, Protocol protocol, const AwsError& error,
                        HttpResponse& resp) {
  resp.status = error.http_status;
  const Shape* shape = findErrorShape(model, error.code);
  std::string type = shape ? shape->name : error.code;
  json::object body;
  body["__type"] = type;
  // Services whose error shapes spell the member "Message" get it that way.
  bool capital = shape && shape->findMember("Message") && !shape->findMember("message");
  body[capital ? "Message" : "message"] = error.message;
  for (const auto& [k, v] : error.extra) body[k] = v;
  resp.body = json::serialize(body);
  if (protocol == Protocol::kRestJson) {
    resp.setHeader("Content-Type", "application/json");
    resp.setHeader("X-Amzn-ErrorType", type);
  } else {
    resp.setHeader("Content-Type", jsonContentType(model));
  }
  if (model && model->aws_query_compatible) {
    // AWS: awsQueryCompatible services name the query-protocol code and fault in a header.
    std::string code = shape ? shape->error_code : error.code;
    bool sender = shape ? shape->error_sender_fault : error.sender_fault;
    resp.setHeader("x-amzn-query-error", code + (sender ? ";Sender" : ";Receiver"));
  }
}

}  // namespace citadel::protocol::detail
