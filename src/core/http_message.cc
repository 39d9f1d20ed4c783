#include "core/http_message.h"

#include "core/encoding.h"

namespace citadel {

void splitTarget(HttpRequest& req) {
  std::string_view t = req.target;
  auto q = t.find('?');
  req.path = std::string(t.substr(0, q));
  req.raw_query = q == std::string_view::npos ? std::string() : std::string(t.substr(q + 1));
  req.query.clear();
  std::string_view rest = req.raw_query;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    QueryParam p;
    auto eq = part.find('=');
    auto name = percentDecode(part.substr(0, eq), false);
    p.name = name ? *name : std::string(part.substr(0, eq));
    if (eq == std::string_view::npos) {
      p.has_value = false;
    } else {
      auto v = percentDecode(part.substr(eq + 1), false);
      p.value = v ? *v : std::string(part.substr(eq + 1));
    }
    req.query.push_back(std::move(p));
  }
}

}  // namespace citadel
