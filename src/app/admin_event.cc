#include "app/admin_event.h"

#include <boost/json.hpp>

#include "core/ids.h"
#include "core/time.h"
#include "runtime/context.h"

namespace citadel::app {
namespace json = boost::json;

audit::AuditEvent adminEvent(const std::string& name, const std::string& account,
                             const std::string& region, json::object params) {
  runtime::RequestContext ctx;
  ctx.request_id = newUuid();
  ctx.time = Clock::now();
  ctx.service = "citadel";
  ctx.event_source = "citadel.amazonaws.com";
  ctx.operation = name;
  ctx.region = region;
  ctx.account_id = account;
  ctx.principal.type = runtime::Principal::Type::kAwsService;
  ctx.principal.invoked_by = "citadel.amazonaws.com";
  ctx.source_ip = "citadel.amazonaws.com";
  ctx.user_agent = "citadel-admin";
  audit::AuditEvent ev;
  ev.event_time = ctx.time;
  // Time-ordered: the history finds an event by id in the second its id names.
  ev.event_id = newTimeOrderedUuid(toEpochMillis(ev.event_time));
  ev.event_name = name;
  ev.event_source = ctx.event_source;
  ev.account_id = account;
  ev.region = region;
  ev.username = "citadel";
  json::object& r = ev.record;
  r["eventVersion"] = "1.11";
  r["userIdentity"] = json::object{{"type", "AWSService"}, {"invokedBy", "citadel.amazonaws.com"}};
  r["eventTime"] = formatIso8601(ctx.time);
  r["eventSource"] = ctx.event_source;
  r["eventName"] = name;
  r["awsRegion"] = region;
  r["sourceIPAddress"] = "citadel.amazonaws.com";
  r["userAgent"] = "citadel";
  r["requestParameters"] = std::move(params);
  r["responseElements"] = nullptr;
  r["requestID"] = ctx.request_id;
  r["eventID"] = ev.event_id;
  r["readOnly"] = false;
  r["eventType"] = "AwsServiceEvent";
  r["managementEvent"] = true;
  r["recipientAccountId"] = account;
  r["eventCategory"] = "Management";
  return ev;
}

}  // namespace citadel::app
