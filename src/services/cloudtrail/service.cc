// CloudTrail for the foundation: LookupEvents over the event history every request feeds.
// Trails, digests and Insights come with the CloudTrail issue.
#include <boost/json.hpp>

#include "audit/audit.h"
#include "core/time.h"
#include "runtime/registry.h"
#include "runtime/services.h"

namespace citadel::cloudtrail {
namespace json = boost::json;
using runtime::OperationSpec;
using runtime::RequestContext;

namespace {

const char* kAttributeKeys[] = {"EventId",      "EventName",    "ReadOnly",  "Username",
                                "ResourceType", "ResourceName", "EventSource", "AccessKeyId"};

Result<json::value> lookupEvents(RequestContext& ctx, const json::value& in) {
  const json::object& o = in.as_object();
  audit::LookupQuery q;
  q.account_id = ctx.account_id;
  q.region = ctx.region;
  if (auto* attrs = o.if_contains("LookupAttributes")) {
    const auto& arr = attrs->as_array();
    if (arr.size() > 1)
      return AwsError{"InvalidLookupAttributesException",
                      "You cannot specify more than one lookup attribute.", 400, true, {}};
    if (arr.size() == 1) {
      const auto& a = arr[0].as_object();
      std::string key(a.at("AttributeKey").as_string());
      bool known = false;
      for (const char* k : kAttributeKeys) known |= key == k;
      if (!known)
        return AwsError{"InvalidLookupAttributesException",
                        "The lookup attribute key " + key + " is not valid.", 400, true, {}};
      q.attribute_key = key;
      q.attribute_value = std::string(a.at("AttributeValue").as_string());
    }
  }
  if (auto* v = o.if_contains("StartTime")) q.start_time = fromEpochSeconds(v->to_number<double>());
  if (auto* v = o.if_contains("EndTime")) q.end_time = fromEpochSeconds(v->to_number<double>());
  if (q.start_time && q.end_time && *q.start_time > *q.end_time)
    return AwsError{"InvalidTimeRangeException",
                    "Start time must be earlier than or equal to end time.", 400, true, {}};
  if (auto* v = o.if_contains("MaxResults")) {
    auto n = v->to_number<int64_t>();
    if (n < 1 || n > 50)
      return AwsError{"InvalidMaxResultsException",
                      "Value for parameter maxResults is invalid. It must be between 1 and 50.",
                      400, true, {}};
    q.max_results = static_cast<int>(n);
  }
  if (auto* v = o.if_contains("NextToken")) q.next_token = std::string(v->as_string());
  if (auto* v = o.if_contains("EventCategory"); v && v->as_string() == "insight") {
    // No Insights events yet: an honest empty answer for this category.
    return json::value(json::object{{"Events", json::array{}}});
  }

  TRY_ASSIGN(auto page, ctx.services->events.lookup(q));
  json::array events;
  for (auto& e : page.events) {
    json::object ev;
    ev["EventId"] = e.event_id;
    ev["EventName"] = e.event_name;
    ev["ReadOnly"] = e.read_only ? "true" : "false";
    if (!e.access_key_id.empty()) ev["AccessKeyId"] = e.access_key_id;
    ev["EventTime"] = toEpochSeconds(e.event_time);
    ev["EventSource"] = e.event_source;
    if (!e.username.empty()) ev["Username"] = e.username;
    json::array res;
    for (const auto& r : e.resources)
      res.push_back(json::object{{"ResourceType", r.type}, {"ResourceName", r.name}});
    ev["Resources"] = std::move(res);
    ev["CloudTrailEvent"] = e.record_json.empty() ? json::serialize(e.record) : e.record_json;
    events.push_back(std::move(ev));
  }
  json::object out;
  out["Events"] = std::move(events);
  if (page.next_token) out["NextToken"] = *page.next_token;
  return json::value(std::move(out));
}

runtime::ServiceSpec makeCloudTrail() {
  runtime::ServiceSpec s;
  s.model = "cloudtrail";
  s.event_source = "cloudtrail.amazonaws.com";
  s.iam_prefix = "cloudtrail";
  s.throttle_code = "ThrottlingException";
  s.throttle_message = "Rate exceeded";
  OperationSpec le;
  le.handler = lookupEvents;
  le.read_only = true;
  s.operations["LookupEvents"] = std::move(le);
  // AWS: LookupEvents is limited to 2 requests per second per account and region.
  s.quotas.push_back({"LookupEvents", 2, {"LookupEvents"}});
  // State reset (dev mode): the event history.
  s.reset = [](runtime::Services&, store::Tx& tx) { audit::clearHistory(tx); };
  return s;
}

}  // namespace

CITADEL_REGISTER_SERVICE(makeCloudTrail);

}  // namespace citadel::cloudtrail
