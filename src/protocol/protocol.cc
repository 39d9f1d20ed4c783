// Operation matching for every protocol, and dispatch to the per-protocol parsers and
// serializers (internal.h).

#include "protocol/protocol.h"

#include "protocol/detect.h"

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "core/encoding.h"
#include "protocol/internal.h"

namespace citadel::protocol {

namespace {

namespace json = boost::json;

// ---- compiled rest routes -----------------------------------------------------------------

struct Segment {
  enum Kind { kLiteral, kLabel, kGreedy } kind = kLiteral;
  std::string text;  ///< literal text or label name
};

struct QueryLiteral {
  std::string name;
  std::string value;
  bool has_value = false;
};

struct Route {
  const Operation* op = nullptr;
  std::vector<Segment> segments;
  std::vector<QueryLiteral> query;
  int literal_query = 0;  ///< literal query parts other than the "x-id" hint
  int literal_segments = 0;
  bool greedy = false;
  /// Lower-case names of required header members, and names of required query members:
  /// they tell apart operations sharing a template (PutObject vs CopyObject).
  std::vector<std::string> required_headers;
  std::vector<std::string> required_query;
};

struct RouteTable {
  // Routes per HTTP method, most specific first.
  std::unordered_map<std::string, std::vector<Route>> by_method;
};

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  // A trailing slash is not significant for matching ("/functions/" == "/functions").
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  size_t start = 0;
  while (true) {
    auto slash = path.find('/', start);
    out.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

Route compileRoute(const Operation& op) {
  Route r;
  r.op = &op;
  std::string_view uri = op.request_uri;
  auto q = uri.find('?');
  std::string_view path = uri.substr(0, q);
  for (auto seg : splitPath(path)) {
    Segment s;
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (!name.empty() && name.back() == '+') {
        s.kind = Segment::kGreedy;
        name.remove_suffix(1);
        r.greedy = true;
      } else {
        s.kind = Segment::kLabel;
      }
      s.text = std::string(name);
    } else {
      s.text = std::string(seg);
      ++r.literal_segments;
    }
    r.segments.push_back(std::move(s));
  }
  if (q != std::string_view::npos) {
    std::string_view rest = uri.substr(q + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      std::string_view part = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (part.empty()) continue;
      QueryLiteral lit;
      auto eq = part.find('=');
      lit.name = std::string(part.substr(0, eq));
      if (eq != std::string_view::npos) {
        lit.value = std::string(part.substr(eq + 1));
        lit.has_value = true;
      }
      if (lit.name != "x-id") ++r.literal_query;
      r.query.push_back(std::move(lit));
    }
  }
  if (op.input) {
    for (const auto& m : op.input->members) {
      if (!op.input->isRequired(m.name)) continue;
      if (m.location == Location::kHeader) r.required_headers.push_back(toLower(m.location_name));
      if (m.location == Location::kQueryString && m.shape->type != ShapeType::kMap)
        r.required_query.push_back(m.location_name);
    }
  }
  return r;
}

// Most specific first: more literal query parts, more literal path segments, no greedy label,
// more segments, more required bindings.
bool moreSpecific(const Route& a, const Route& b) {
  if (a.literal_query != b.literal_query) return a.literal_query > b.literal_query;
  if (a.literal_segments != b.literal_segments) return a.literal_segments > b.literal_segments;
  if (a.greedy != b.greedy) return !a.greedy;
  if (a.segments.size() != b.segments.size()) return a.segments.size() > b.segments.size();
  // Same template: the operation needing more bindings (UploadPartCopy > CopyObject >
  // PutObject) is tried first; it only matches when they are all present.
  return a.required_headers.size() + a.required_query.size() >
         b.required_headers.size() + b.required_query.size();
}

std::unique_ptr<RouteTable> compileRoutes(const ServiceModel& model) {
  auto table = std::make_unique<RouteTable>();
  for (const auto& [name, op] : model.operations)
    table->by_method[op.http_method].push_back(compileRoute(op));
  for (auto& [method, routes] : table->by_method)
    std::stable_sort(routes.begin(), routes.end(), moreSpecific);
  return table;
}

// INVARIANT: tables are built once per model and never freed (models live forever).
const RouteTable& routesFor(const ServiceModel& model) {
  static std::shared_mutex mu;
  static std::unordered_map<const ServiceModel*, std::unique_ptr<RouteTable>> cache;
  {
    std::shared_lock lock(mu);
    auto it = cache.find(&model);
    if (it != cache.end()) return *it->second;
  }
  auto built = compileRoutes(model);
  std::unique_lock lock(mu);
  auto [it, inserted] = cache.emplace(&model, std::move(built));
  return *it->second;
}

bool queryMatches(const Route& r, const HttpRequest& req) {
  for (const auto& lit : r.query) {
    const QueryParam* p = req.queryParam(lit.name);
    if (lit.name == "x-id") {
      // AWS: the SDKs add "x-id=<Operation>" as a hint; older clients omit it.
      if (p && p->value != lit.value) return false;
      continue;
    }
    if (!p) return false;
    if (lit.has_value && p->value != lit.value) return false;
  }
  return true;
}

bool hasRequiredBindings(const Route& r, const HttpRequest& req) {
  for (const auto& h : r.required_headers)
    if (!req.header(h)) return false;
  for (const auto& q : r.required_query)
    if (!req.queryParam(q)) return false;
  return true;
}

bool pathMatches(const Route& r, const std::vector<std::string_view>& parts,
                 std::map<std::string, std::string>& labels) {
  labels.clear();
  size_t n = r.segments.size();
  for (size_t i = 0; i < n; ++i) {
    const Segment& s = r.segments[i];
    if (s.kind == Segment::kGreedy) {
      // Greedy: the rest of the path, '/' kept; must be non-empty.
      if (i >= parts.size()) return false;
      std::string raw;
      for (size_t j = i; j < parts.size(); ++j) {
        if (j > i) raw.push_back('/');
        raw.append(parts[j]);
      }
      if (raw.empty()) return false;
      auto dec = percentDecode(raw, false);
      if (!dec) return false;
      labels[s.text] = std::move(*dec);
      return i + 1 == n;
    }
    if (i >= parts.size()) return false;
    if (s.kind == Segment::kLiteral) {
      if (parts[i] == s.text) continue;
      auto dec = percentDecode(parts[i], false);
      if (!dec || *dec != s.text) return false;
      continue;
    }
    if (parts[i].empty()) return false;
    auto dec = percentDecode(parts[i], false);
    if (!dec) return false;
    labels[s.text] = std::move(*dec);
  }
  return parts.size() == n;
}

// ---- protocol detection -------------------------------------------------------------------

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool isFormBody(const HttpRequest& req) {
  const std::string* ct = req.header("content-type");
  if (!ct) return false;
  return startsWith(toLower(*ct), "application/x-www-form-urlencoded");
}

/// The Action parameter of a query/ec2 request (body first, then query string).
std::optional<std::string> findAction(const HttpRequest& req) {
  if (req.method == "POST" && isFormBody(req)) {
    std::string_view rest = req.body;
    while (!rest.empty()) {
      auto amp = rest.find('&');
      std::string_view part = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      if (startsWith(part, "Action=")) {
        auto v = percentDecode(part.substr(7), true);
        return v ? *v : std::string(part.substr(7));
      }
    }
  }
  if (const QueryParam* p = req.queryParam("Action")) return p->value;
  return std::nullopt;
}

std::optional<Protocol> requestProtocol(const ServiceModel& model, const HttpRequest& req) {
  if (model.protocols.size() == 1) return model.protocols.front();
  if (model.speaks(Protocol::kRpcV2Cbor)) {
    const std::string* sp = req.header("smithy-protocol");
    if (sp && *sp == "rpc-v2-cbor") return Protocol::kRpcV2Cbor;
    if (startsWith(req.path, "/service/")) return Protocol::kRpcV2Cbor;
  }
  if (model.speaks(Protocol::kJson) && req.header("x-amz-target")) return Protocol::kJson;
  if (model.speaks(Protocol::kQuery) && findAction(req)) return Protocol::kQuery;
  if (model.speaks(Protocol::kEc2) && findAction(req)) return Protocol::kEc2;
  for (Protocol p : {Protocol::kRestJson, Protocol::kRestXml})
    if (model.speaks(p)) return p;
  if (model.speaks(Protocol::kJson)) {
    const std::string* ct = req.header("content-type");
    if (ct && startsWith(*ct, "application/x-amz-json")) return Protocol::kJson;
  }
  return std::nullopt;
}

AwsError unknownOperation(const ServiceModel& model, Protocol p, std::string_view what) {
  switch (p) {
    case Protocol::kQuery:
      if (what.empty()) return AwsError{"MissingAction", "Missing Action", 400, true, {}};
      return AwsError{"InvalidAction",
                      "Could not find operation " + std::string(what) + " for version " +
                          model.api_version,
                      400, true, {}};
    case Protocol::kEc2:
      if (what.empty())
        return AwsError{"MissingAction", "The request must contain the parameter Action", 400,
                        true, {}};
      return AwsError{"InvalidAction",
                      "The action " + std::string(what) + " is not valid for this web service.",
                      400, true, {}};
    case Protocol::kRestXml:
      return AwsError{"MethodNotAllowed",
                      "The specified method is not allowed against this resource.", 405, true,
                      {}};
    case Protocol::kRestJson:
      return AwsError{"UnknownOperationException", "", 404, true, {}};
    case Protocol::kJson:
    case Protocol::kRpcV2Cbor:
      return AwsError{"UnknownOperationException", "", 400, true, {}};
  }
  return AwsError{"UnknownOperationException", "", 400, true, {}};
}

Result<OperationMatch> matchRest(const ServiceModel& model, Protocol p, const HttpRequest& req) {
  const RouteTable& table = routesFor(model);
  auto it = table.by_method.find(req.method);
  if (it == table.by_method.end()) return unknownOperation(model, p, req.method);
  auto parts = splitPath(req.path);
  OperationMatch m;
  m.protocol = p;
  // The most specific route whose required header/query members are present wins; failing
  // that, the most specific route at all (validation then reports the missing member).
  const Route* fallback = nullptr;
  std::map<std::string, std::string> fallback_labels;
  for (const Route& r : it->second) {
    if (!queryMatches(r, req)) continue;
    if (!pathMatches(r, parts, m.uri_labels)) continue;
    if (hasRequiredBindings(r, req)) {
      m.op = r.op;
      return m;
    }
    if (!fallback) {
      fallback = &r;
      fallback_labels = m.uri_labels;
    }
  }
  if (fallback) {
    m.op = fallback->op;
    m.uri_labels = std::move(fallback_labels);
    return m;
  }
  return unknownOperation(model, p, req.path);
}


/// The model's error shape for an error code, preferring the operation's declared errors.
const Shape* errorShape(const ServiceModel& model, const Operation* op, std::string_view code) {
  if (op)
    for (const Shape* s : op->errors)
      if (s->error_code == code || s->name == code) return s;
  if (const Shape* s = model.findShape(code); s && s->is_exception) return s;
  return nullptr;
}

void setRequestIdHeaders(Protocol p, const std::string& request_id, HttpResponse& resp) {
  if (p == Protocol::kRestXml) {
    resp.setHeader("x-amz-request-id", request_id);
    // AWS: S3's x-amz-id-2 is an opaque host id; derive a stable one from the request id.
    resp.setHeader("x-amz-id-2", base64Encode(request_id));
  } else {
    resp.setHeader("x-amzn-RequestId", request_id);
  }
}

}  // namespace

Result<OperationMatch> matchOperation(const ServiceModel& model, const HttpRequest& req) {
  auto detected = requestProtocol(model, req);
  Protocol p = detected ? *detected : model.protocol;
  OperationMatch m;
  m.protocol = p;
  switch (p) {
    case Protocol::kJson: {
      const std::string* target = req.header("x-amz-target");
      if (!target) return unknownOperation(model, p, "");
      std::string_view t = *target;
      auto dot = t.rfind('.');
      if (dot == std::string_view::npos || t.substr(0, dot) != model.target_prefix)
        return unknownOperation(model, p, t);
      m.op = model.findOperation(t.substr(dot + 1));
      if (!m.op) return unknownOperation(model, p, t);
      return m;
    }
    case Protocol::kRpcV2Cbor: {
      // /service/<ServiceName>/operation/<Operation>
      std::string_view path = req.path;
      constexpr std::string_view kService = "/service/";
      if (!startsWith(path, kService)) return unknownOperation(model, p, path);
      path.remove_prefix(kService.size());
      auto slash = path.find('/');
      if (slash == std::string_view::npos) return unknownOperation(model, p, path);
      std::string_view rest = path.substr(slash);
      constexpr std::string_view kOperation = "/operation/";
      if (!startsWith(rest, kOperation)) return unknownOperation(model, p, path);
      rest.remove_prefix(kOperation.size());
      m.op = model.findOperation(rest);
      if (!m.op) return unknownOperation(model, p, rest);
      return m;
    }
    case Protocol::kQuery:
    case Protocol::kEc2: {
      auto action = findAction(req);
      if (!action || action->empty()) return unknownOperation(model, p, "");
      m.op = model.findOperation(*action);
      if (!m.op) return unknownOperation(model, p, *action);
      return m;
    }
    case Protocol::kRestJson:
    case Protocol::kRestXml:
      return matchRest(model, p, req);
  }
  return unknownOperation(model, p, "");
}

Result<boost::json::value> parseInput(const ServiceModel& model, const OperationMatch& match,
                                      const HttpRequest& req) {
  Result<json::value> doc = json::value();
  switch (match.protocol) {
    case Protocol::kJson:
    case Protocol::kRestJson:
      doc = detail::parseJsonInput(model, match, req);
      break;
    case Protocol::kRpcV2Cbor:
      doc = detail::parseCborInput(model, match, req);
      break;
    case Protocol::kQuery:
    case Protocol::kEc2:
      doc = detail::parseQueryInput(model, match, req);
      break;
    case Protocol::kRestXml:
      doc = detail::parseRestXmlInput(model, match, req);
      break;
  }
  if (!doc.ok()) return doc;
  if (match.op && match.op->input) TRY_VOID(detail::validateInput(model, match.op->input, *doc));
  return doc;
}

void serializeOutput(const ServiceModel& model, const OperationMatch& match,
                     const boost::json::value& output, const std::string& request_id,
                     HttpResponse& resp) {
  setRequestIdHeaders(match.protocol, request_id, resp);
  switch (match.protocol) {
    case Protocol::kJson:
    case Protocol::kRestJson:
      detail::serializeJsonOutput(model, match, output, resp);
      return;
    case Protocol::kRpcV2Cbor:
      detail::serializeCborOutput(model, match, output, resp);
      return;
    case Protocol::kQuery:
    case Protocol::kEc2:
      detail::serializeQueryOutput(model, match, output, request_id, resp);
      return;
    case Protocol::kRestXml:
      detail::serializeRestXmlOutput(model, match, output, resp);
      return;
  }
}

void serializeError(const ServiceModel& model, Protocol protocol, const Operation* op,
                    const AwsError& error, const std::string& request_id, HttpResponse& resp) {
  setRequestIdHeaders(protocol, request_id, resp);
  const AwsError* err = &error;
  AwsError adjusted;
  // A modeled error carries its HTTP status in the model (e.g. 404 for rest-json
  // ResourceNotFoundException); the handler's default 400 yields to it.
  if (const Shape* s = errorShape(model, op, error.code);
      s && s->error_http_status != 0 && error.http_status == 400 &&
      s->error_http_status != error.http_status) {
    adjusted = error;
    adjusted.http_status = s->error_http_status;
    err = &adjusted;
  }
  switch (protocol) {
    case Protocol::kJson:
    case Protocol::kRestJson:
      detail::serializeJsonError(&model, protocol, *err, resp);
      return;
    case Protocol::kRpcV2Cbor:
      detail::serializeCborError(&model, *err, resp);
      return;
    case Protocol::kQuery:
    case Protocol::kEc2:
      detail::serializeQueryError(&model, protocol, *err, request_id, resp);
      return;
    case Protocol::kRestXml:
      detail::serializeRestXmlError(&model, *err, request_id, resp);
      return;
  }
}

void serializeBareError(Protocol style, const AwsError& error, const std::string& request_id,
                        HttpResponse& resp) {
  setRequestIdHeaders(style, request_id, resp);
  switch (style) {
    case Protocol::kJson:
    case Protocol::kRestJson:
      detail::serializeJsonError(nullptr, style, error, resp);
      return;
    case Protocol::kRpcV2Cbor:
      detail::serializeCborError(nullptr, error, resp);
      return;
    case Protocol::kRestXml:
      detail::serializeRestXmlError(nullptr, error, request_id, resp);
      return;
    case Protocol::kQuery:
    case Protocol::kEc2:
      detail::serializeQueryError(nullptr, style, error, request_id, resp);
      return;
  }
}

Protocol detectProtocol(const ServiceModel& model, const HttpRequest& req) {
  auto p = requestProtocol(model, req);
  return p ? *p : model.protocol;
}

}  // namespace citadel::protocol
