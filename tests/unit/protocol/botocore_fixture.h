#pragma once
// Wire fixtures made by botocore at test time (tests/unit/protocol/botocore_fixtures.py):
// the requests botocore serializes, and what botocore's parsers read from citadel's answers.
// Shared by every protocol test; no hand-typed HTTP bodies.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/http_message.h"
#include "protocol/protocol.h"

namespace citadel::protocol::fixture {

namespace json = boost::json;

/// Quotes `s` for /bin/sh.
inline std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

/// Runs botocore_fixtures.py with `args` (and `input` on stdin); its JSON output.
inline json::value botocore(const std::string& args, const std::string& input = "") {
  std::string cmd = std::string(PYTHON3) + " " CITADEL_SOURCE_DIR
                    "/tests/unit/protocol/botocore_fixtures.py " + args;
  std::string in_path;
  if (!input.empty()) {
    char tmpl[] = "/tmp/citadel_proto_test_XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    ::close(fd);
    in_path = tmpl;
    std::ofstream(in_path, std::ios::binary) << input;
    cmd += " < " + in_path;
  }
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (!in_path.empty()) std::remove(in_path.c_str());
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  json::error_code ec;
  json::value v = json::parse(out, ec);
  EXPECT_FALSE(ec) << out;
  return v;
}

/// Fixture-tagged values ({"$b64"}, {"$ts"}) to the document conventions of protocol.h.
inline json::value toDocument(const json::value& v) {
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.size() == 1 && o.contains("$b64"))
      return json::string(*base64Decode(std::string(o.at("$b64").get_string())));
    if (o.size() == 1 && o.contains("$ts")) return json::value(o.at("$ts").to_number<double>());
    json::object r;
    for (const auto& kv : o) r[kv.key()] = toDocument(kv.value());
    return r;
  }
  if (v.is_array()) {
    json::array a;
    for (const auto& x : v.get_array()) a.push_back(toDocument(x));
    return a;
  }
  return v;
}

/// A fixture's {method, target, headers, body_b64} as an HttpRequest.
inline HttpRequest toHttpRequest(const json::value& r) {
  HttpRequest req;
  req.method = std::string(r.at("method").get_string());
  req.target = std::string(r.at("target").get_string());
  splitTarget(req);
  for (const auto& [k, v] : r.at("headers").get_object())
    req.headers.emplace_back(std::string(k), std::string(v.get_string()));
  req.body = *base64Decode(std::string(r.at("body_b64").get_string()));
  return req;
}

/// The HTTP request botocore sends for `op` with `params` (optionally forcing a protocol).
inline HttpRequest botocoreRequest(const std::string& svc, const std::string& op,
                                   const json::value& params = json::object(),
                                   const std::string& protocol = "") {
  std::string args = "request " + svc + " " + op + " " + shellQuote(json::serialize(params));
  if (!protocol.empty()) args += " --protocol " + protocol;
  return toHttpRequest(botocore(args));
}

/// Many requests with one Python start: each item {service, operation, params, protocol}.
inline std::vector<HttpRequest> botocoreRequests(const json::array& items) {
  json::value out = botocore("requests", json::serialize(items));
  std::vector<HttpRequest> reqs;
  if (!out.is_array()) return reqs;
  for (const auto& r : out.get_array()) reqs.push_back(toHttpRequest(r));
  return reqs;
}

/// What botocore's parser extracts from `resp` for `op` (optionally forcing a protocol).
inline json::value botocoreParse(const std::string& svc, const std::string& op,
                                 const HttpResponse& resp, const std::string& protocol = "") {
  json::object headers;
  for (const auto& [k, v] : resp.headers) headers[k] = v;
  json::object in{{"status", resp.status},
                  {"headers", std::move(headers)},
                  {"body_b64", base64Encode(resp.body)}};
  std::string args = "parse " + svc + " " + op;
  if (!protocol.empty()) args += " --protocol " + protocol;
  return botocore(args, json::serialize(in));
}

/// An embedded model, failing the test when it is missing.
inline const ServiceModel& model(const char* name) {
  const ServiceModel* m = Models::get(name);
  EXPECT_NE(m, nullptr) << name;
  return *m;
}

}  // namespace citadel::protocol::fixture
