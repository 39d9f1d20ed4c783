// CloudTrail's rendering of request parameters and response elements.

#include <boost/json.hpp>
#include <cmath>
#include <ctime>

#include "core/time.h"
#include "protocol/protocol.h"

namespace citadel::protocol {

namespace {

namespace json = boost::json;

constexpr std::string_view kHidden = "HIDDEN_DUE_TO_SECURITY_REASONS";

std::string lowerCamel(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] + 32);
  return out;
}

/// CloudTrail prints timestamps in responseElements as Java's medium date-time:
/// "Nov 28, 2026, 4:02:10 PM".
std::string cloudTrailTime(double seconds) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(std::floor(seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  int hour12 = tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %d, %d, %d:%02d:%02d %s", kMonths[tm.tm_mon % 12],
                tm.tm_mday, tm.tm_year + 1900, hour12, tm.tm_min, tm.tm_sec,
                tm.tm_hour < 12 ? "AM" : "PM");
  return buf;
}

std::optional<json::value> view(const Shape* shape, const json::value& v, bool sensitive,
                                int depth) {
  if (sensitive || shape->sensitive) return json::value(json::string(kHidden));
  if (depth > 64 || shape->is_document) return v;
  switch (shape->type) {
    case ShapeType::kStructure: {
      if (!v.is_object()) return v;
      json::object out;
      const auto& obj = v.get_object();
      for (const auto& m : shape->members) {
        auto* e = obj.if_contains(m.name);
        if (!e) continue;
        auto r = view(m.shape, *e, false, depth + 1);
        if (r) out[lowerCamel(m.name)] = std::move(*r);
      }
      return json::value(std::move(out));
    }
    case ShapeType::kList: {
      if (!v.is_array()) return v;
      json::array out;
      for (const auto& e : v.get_array()) {
        auto r = view(shape->member->shape, e, false, depth + 1);
        if (r) out.push_back(std::move(*r));
      }
      return json::value(std::move(out));
    }
    case ShapeType::kMap: {
      if (!v.is_object()) return v;
      json::object out;
      for (const auto& [k, e] : v.get_object()) {
        auto r = view(shape->value->shape, e, false, depth + 1);
        if (r) out[k] = std::move(*r);
      }
      return json::value(std::move(out));
    }
    case ShapeType::kBlob:
      return std::nullopt;
    case ShapeType::kTimestamp:
      if (v.is_double()) return json::value(json::string(cloudTrailTime(v.get_double())));
      if (v.is_int64())
        return json::value(json::string(cloudTrailTime(static_cast<double>(v.get_int64()))));
      return v;
    default:
      return v;
  }
}

}  // namespace

boost::json::value toCloudTrailView(const Shape* shape, const boost::json::value& doc) {
  if (!shape) return doc;
  if (doc.is_null()) return nullptr;
  auto r = view(shape, doc, false, 0);
  return r ? std::move(*r) : json::value(nullptr);
}

}  // namespace citadel::protocol
