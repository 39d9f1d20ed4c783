#include "runtime/audit_record.h"

#include <boost/json.hpp>

#include "core/ids.h"
#include "protocol/protocol.h"

namespace citadel::runtime {
namespace json = boost::json;

const char* principalTypeName(Principal::Type t) {
  switch (t) {
    case Principal::Type::kRoot: return "Root";
    case Principal::Type::kIamUser: return "IAMUser";
    case Principal::Type::kAssumedRole: return "AssumedRole";
    case Principal::Type::kFederatedUser: return "FederatedUser";
    case Principal::Type::kAwsService: return "AWSService";
    case Principal::Type::kAnonymous: return "AWSAccount";
  }
  return "Unknown";
}

namespace {
json::value viewOrNull(const protocol::Shape* shape, const json::value* doc) {
  if (!shape || !doc || doc->is_null()) return nullptr;
  json::value v = protocol::toCloudTrailView(shape, *doc);
  if (v.is_object() && v.as_object().empty()) return nullptr;
  return v;
}
}  // namespace

audit::AuditEvent buildAuditEvent(const RequestContext& ctx, const protocol::Operation* op,
                                  const json::value* input, const json::value* output,
                                  const AwsError* error) {
  audit::AuditEvent ev;
  ev.event_id = newUuid();
  // AWS: CloudTrail event times have whole-second precision (record and LookupEvents alike).
  ev.event_time = std::chrono::time_point_cast<std::chrono::seconds>(ctx.time);
  ev.event_name = ctx.operation;
  ev.event_source = ctx.event_source;
  ev.access_key_id = ctx.principal.access_key_id;
  ev.account_id = ctx.account_id;
  ev.region = ctx.region;
  ev.read_only = ctx.read_only;
  ev.resources = ctx.resources;
  const auto& p = ctx.principal;
  switch (p.type) {
    case Principal::Type::kRoot: ev.username = "root"; break;
    default: ev.username = p.user_name;
  }

  json::object& r = ev.record;
  r["eventVersion"] = "1.11";
  json::object uid;
  uid["type"] = principalTypeName(p.type);
  if (!p.principal_id.empty()) uid["principalId"] = p.principal_id;
  if (!p.arn.empty()) uid["arn"] = p.arn;
  if (!p.account_id.empty()) uid["accountId"] = p.account_id;
  if (!p.access_key_id.empty()) uid["accessKeyId"] = p.access_key_id;
  if (p.type == Principal::Type::kIamUser) uid["userName"] = p.user_name;
  if (!p.session_token.empty() || p.mfa_authenticated) {
    json::object sc;
    json::object attrs;
    attrs["creationDate"] = formatIso8601(p.mfa_time);
    attrs["mfaAuthenticated"] = p.mfa_authenticated ? "true" : "false";
    sc["attributes"] = std::move(attrs);
    uid["sessionContext"] = std::move(sc);
  }
  if (!p.invoked_by.empty()) uid["invokedBy"] = p.invoked_by;
  r["userIdentity"] = std::move(uid);
  r["eventTime"] = formatIso8601(ctx.time);
  r["eventSource"] = ctx.event_source;
  r["eventName"] = ctx.operation;
  r["awsRegion"] = ctx.region;
  r["sourceIPAddress"] = p.invoked_by.empty() ? ctx.source_ip : p.invoked_by;
  r["userAgent"] = ctx.user_agent;
  if (error) {
    r["errorCode"] = error->code;
    r["errorMessage"] = error->message;
  }
  r["requestParameters"] = op ? viewOrNull(op->input, input) : json::value(nullptr);
  r["responseElements"] =
      (op && !error && !ctx.read_only && !ctx.omit_response_elements) ? viewOrNull(op->output, output)
                                                                      : json::value(nullptr);
  r["requestID"] = ctx.request_id;
  r["eventID"] = ev.event_id;
  r["readOnly"] = ctx.read_only;
  if (!ev.resources.empty()) {
    json::array res;
    for (const auto& x : ev.resources) {
      json::object o;
      o["accountId"] = ctx.account_id;
      o["type"] = x.type;
      o["ARN"] = x.name;
      res.push_back(std::move(o));
    }
    r["resources"] = std::move(res);
  }
  r["eventType"] = "AwsApiCall";
  r["managementEvent"] = true;
  r["recipientAccountId"] = ctx.account_id;
  r["eventCategory"] = "Management";
  if (ctx.http && ctx.http->tls) {
    json::object tls;
    tls["tlsVersion"] = ctx.http->tls_version;
    tls["cipherSuite"] = ctx.http->tls_cipher;
    if (const std::string* host = ctx.http->header("host")) tls["clientProvidedHostHeader"] = *host;
    r["tlsDetails"] = std::move(tls);
  }
  return ev;
}

}  // namespace citadel::runtime
