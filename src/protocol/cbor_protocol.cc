// The smithy-rpc-v2-cbor protocol: CBOR bodies, blobs as byte strings, timestamps as tag 1.

#include <boost/json.hpp>
#include <cmath>

#include "protocol/cbor.h"
#include "protocol/internal.h"

namespace citadel::protocol::detail {

namespace {

namespace json = boost::json;

AwsError serializationError(std::string message) {
  return AwsError{"SerializationException", std::move(message), 400, true, {}};
}

std::optional<double> number(const json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

/// Decoded CBOR -> document, checking types against the shape.
Result<json::value> toDocument(const Shape* shape, json::value& v, int depth) {
  if (depth > 100) return serializationError("Document nested too deeply");
  if (shape->is_document) return std::move(v);
  switch (shape->type) {
    case ShapeType::kStructure: {
      if (!v.is_object()) return serializationError("Expected a map for structure " + shape->name);
      json::object out;
      auto& obj = v.get_object();
      for (const auto& m : shape->members) {
        auto* w = obj.if_contains(m.location_name);
        if (!w || w->is_null()) continue;
        TRY_ASSIGN(auto value, toDocument(m.shape, *w, depth + 1));
        out[m.name] = std::move(value);
      }
      return json::value(std::move(out));
    }
    case ShapeType::kList: {
      if (!v.is_array()) return serializationError("Expected an array for list " + shape->name);
      json::array out;
      for (auto& e : v.get_array()) {
        if (e.is_null()) continue;
        TRY_ASSIGN(auto value, toDocument(shape->member->shape, e, depth + 1));
        out.push_back(std::move(value));
      }
      return json::value(std::move(out));
    }
    case ShapeType::kMap: {
      if (!v.is_object()) return serializationError("Expected a map for map " + shape->name);
      json::object out;
      for (auto& [k, e] : v.get_object()) {
        if (e.is_null()) continue;
        TRY_ASSIGN(auto value, toDocument(shape->value->shape, e, depth + 1));
        out[k] = std::move(value);
      }
      return json::value(std::move(out));
    }
    case ShapeType::kString:
    case ShapeType::kBlob:
      if (!v.is_string()) return serializationError("Expected a string for " + shape->name);
      return std::move(v);
    case ShapeType::kBigDecimal:
      if (v.is_string()) return std::move(v);
      if (number(v)) return json::value(json::string(json::serialize(v)));
      return serializationError("Expected a number for " + shape->name);
    case ShapeType::kInteger:
    case ShapeType::kLong:
      if (v.is_int64()) return std::move(v);
      return serializationError("Expected an integer for " + shape->name);
    case ShapeType::kFloat:
    case ShapeType::kDouble:
    case ShapeType::kTimestamp: {
      auto n = number(v);
      if (!n) return serializationError("Expected a number for " + shape->name);
      return json::value(*n);
    }
    case ShapeType::kBoolean:
      if (!v.is_bool()) return serializationError("Expected a boolean for " + shape->name);
      return std::move(v);
  }
  return std::move(v);
}

void writeValue(cbor::Writer& w, const Shape* shape, const json::value& v, int depth);

size_t presentMembers(const Shape* shape, const json::object& obj) {
  size_t n = 0;
  for (const auto& m : shape->members) {
    auto* e = obj.if_contains(m.name);
    if (e && !e->is_null()) ++n;
  }
  return n;
}

void writeValue(cbor::Writer& w, const Shape* shape, const json::value& v, int depth) {
  if (depth > 100 || shape->is_document) return w.value(v);
  switch (shape->type) {
    case ShapeType::kStructure: {
      if (!v.is_object()) return w.beginMap(0);
      const auto& obj = v.get_object();
      w.beginMap(presentMembers(shape, obj));
      for (const auto& m : shape->members) {
        auto* e = obj.if_contains(m.name);
        if (!e || e->is_null()) continue;
        w.text(m.location_name);
        writeValue(w, m.shape, *e, depth + 1);
      }
      return;
    }
    case ShapeType::kList: {
      if (!v.is_array()) return w.beginArray(0);
      w.beginArray(v.get_array().size());
      for (const auto& e : v.get_array()) writeValue(w, shape->member->shape, e, depth + 1);
      return;
    }
    case ShapeType::kMap: {
      if (!v.is_object()) return w.beginMap(0);
      w.beginMap(v.get_object().size());
      for (const auto& [k, e] : v.get_object()) {
        w.text(k);
        writeValue(w, shape->value->shape, e, depth + 1);
      }
      return;
    }
    case ShapeType::kBlob:
      if (v.is_string()) return w.bytes(v.get_string());
      return w.value(v);
    case ShapeType::kTimestamp:
      if (auto n = number(v)) return w.timestamp(*n);
      return w.value(v);
    case ShapeType::kFloat:
    case ShapeType::kDouble:
      if (auto n = number(v)) return w.float64(*n);
      return w.value(v);
    case ShapeType::kInteger:
    case ShapeType::kLong:
      if (v.is_double() && std::isfinite(v.get_double()))
        return w.integer(static_cast<int64_t>(v.get_double()));
      return w.value(v);
    default:
      return w.value(v);
  }
}

void cborHeaders(HttpResponse& resp) {
  resp.setHeader("Content-Type", "application/cbor");
  resp.setHeader("smithy-protocol", "rpc-v2-cbor");
}

}  // namespace

Result<boost::json::value> parseCborInput(const ServiceModel& model, const OperationMatch& match,
                                          const HttpRequest& req) {
  const Shape* input = match.op ? match.op->input : nullptr;
  if (req.body.empty() || !input) return json::value(json::object());
  std::string err;
  auto decoded = cbor::decode(req.body, &err);
  if (!decoded) return serializationError("Malformed CBOR request body: " + err);
  if (!decoded->is_object())
    return serializationError("Expected a CBOR map as the request body");
  return toDocument(input, *decoded, 0);
}

void serializeCborOutput(const ServiceModel& model, const OperationMatch& match,
                         const boost::json::value& output, HttpResponse& resp) {
  resp.status = 200;
  cborHeaders(resp);
  const Shape* shape = match.op ? match.op->output : nullptr;
  cbor::Writer w;
  if (!shape || !output.is_object())
    w.beginMap(0);
  else
    writeValue(w, shape, output, 0);
  resp.body = w.take();
}

void serializeCborError(const ServiceModel* model, const AwsError& error, HttpResponse& resp) {
  resp.status = error.http_status;
  cborHeaders(resp);
  const Shape* shape = nullptr;
  if (model) {
    shape = model->findShape(error.code);
    if (!shape || !shape->is_exception) {
      shape = nullptr;
      for (const auto& [name, s] : model->shapes)
        if (s->is_exception && s->error_code == error.code) {
          shape = s.get();
          break;
        }
    }
  }
  cbor::Writer w;
  w.beginMap(2 + error.extra.size());
  w.text("__type");
  w.text(shape ? shape->name : error.code);
  w.text("message");
  w.text(error.message);
  for (const auto& [k, v] : error.extra) {
    w.text(k);
    w.text(v);
  }
  resp.body = w.take();
  if (model && model->aws_query_compatible) {
    std::string code = shape ? shape->error_code : error.code;
    bool sender = shape ? shape->error_sender_fault : error.sender_fault;
    resp.setHeader("x-amzn-query-error", code + (sender ? ";Sender" : ";Receiver"));
  }
}

}  // namespace citadel::protocol::detail
