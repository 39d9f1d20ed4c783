#pragma once
/// Plain HTTP request/response values shared by http, auth, protocol and runtime.
/// No Beast types here: this header stays light.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace citadel {

/// One decoded query-string parameter (name and value percent-decoded, '+' kept as '+').
struct QueryParam {
  std::string name;
  std::string value;
  bool has_value = true;  ///< "?uploads" has no '=' and no value
};

/// An HTTP request as the pipeline sees it. Header names are lower-case.
struct HttpRequest {
  std::string method;                                       ///< "GET", "POST" ...
  std::string target;                                       ///< raw request-target as sent
  std::string path;                                         ///< raw path part (not decoded)
  std::string raw_query;                                    ///< raw query part, without '?'
  std::vector<QueryParam> query;                            ///< decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers; ///< lower-case names, in order
  std::string body;
  std::string remote_ip;   ///< peer address, textual
  bool tls = false;        ///< arrived over TLS
  std::string tls_version; ///< "TLSv1.3" when tls
  std::string tls_cipher;  ///< cipher suite name when tls
  std::string sni;         ///< server name from the TLS handshake, if any

  /// First header with that lower-case name, or nullptr.
  const std::string* header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
      if (k == lower_name) return &v;
    return nullptr;
  }
  /// First query parameter with that name, or nullptr.
  const QueryParam* queryParam(std::string_view name) const {
    for (const auto& q : query)
      if (q.name == name) return &q;
    return nullptr;
  }
};

/// An HTTP response before it is written to the wire.
struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void setHeader(std::string name, std::string value) {
    for (auto& [k, v] : headers)
      if (k == name) { v = std::move(value); return; }
    headers.emplace_back(std::move(name), std::move(value));
  }
  const std::string* header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return &v;
    return nullptr;
  }
};

/// Splits a request-target into path and raw query and decodes the query parameters.
void splitTarget(HttpRequest& req);

}  // namespace citadel
