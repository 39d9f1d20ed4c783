#include "runtime/audit_record.h"

#include <boost/json.hpp>

#include "core/ids.h"
#include "core/json_writer.h"
#include "protocol/protocol.h"
#include "runtime/registry.h"
#include "runtime/services.h"

namespace citadel::runtime {
namespace json = boost::json;

namespace {
json::value viewOrNull(const protocol::Shape* shape, const json::value* doc) {
  if (!shape || !doc || doc->is_null()) return nullptr;
  json::value v = protocol::toCloudTrailView(shape, *doc);
  if (v.is_object() && v.as_object().empty()) return nullptr;
  return v;
}

/// The registry's declaration of the request's operation, or nullptr.
const OperationSpec* operationSpec(const RequestContext& ctx) {
  if (!ctx.services) return nullptr;
  const ServiceSpec* service = ctx.services->service(ctx.service);
  if (!service) return nullptr;
  auto it = service->operations.find(ctx.operation);
  return it == service->operations.end() ? nullptr : &it->second;
}
}  // namespace

namespace {

/// The record's "resources" member (left out when there are none).
void writeResources(JsonObjectWriter& r, const std::string& account_id,
                    const std::vector<audit::EventResource>& resources) {
  if (resources.empty()) return;
  std::string& res = r.key("resources");
  res += '[';
  bool first = true;
  for (const auto& x : resources) {
    if (!first) res += ',';
    first = false;
    JsonObjectWriter o(res);
    o.string("accountId", account_id);
    o.string("type", x.type);
    o.string("ARN", x.name);
    o.close();
  }
  res += ']';
}

}  // namespace

audit::AuditEvent buildAuditEvent(const RequestContext& ctx, const protocol::Operation* op,
                                  const json::value* input, const json::value* output,
                                  const AwsError* error) {
  audit::AuditEvent ev;
  ev.event_id = newTimeOrderedUuid(toEpochMillis(ctx.time));
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

  // The record is written as text in AWS's member order: no DOM on the hot path.
  std::string& out = ev.record_json;
  out.reserve(1024);
  JsonObjectWriter r(out);
  r.string("eventVersion", "1.11");
  {
    JsonObjectWriter uid(r.key("userIdentity"));
    uid.string("type", principalTypeName(p.type));
    if (!p.principal_id.empty()) uid.string("principalId", p.principal_id);
    if (!p.arn.empty()) uid.string("arn", p.arn);
    if (!p.account_id.empty()) uid.string("accountId", p.account_id);
    if (!p.access_key_id.empty()) uid.string("accessKeyId", p.access_key_id);
    if (p.type == Principal::Type::kIamUser) uid.string("userName", p.user_name);
    if (!p.session_token.empty() || p.mfa_authenticated) {
      JsonObjectWriter sc(uid.key("sessionContext"));
      std::optional<Credential> cred;
      if (p.type == Principal::Type::kAssumedRole && ctx.services)
        cred = ctx.services->identity.lookup(p.access_key_id);
      if (cred && cred->session) {
        // AWS: a role session names the role that issued it.
        const SessionInfo& s = *cred->session;
        JsonObjectWriter issuer(sc.key("sessionIssuer"));
        issuer.string("type", "Role");
        issuer.string("principalId", s.role_id);
        issuer.string("arn", s.role_arn);
        issuer.string("accountId", p.account_id);
        issuer.string("userName", s.role_arn.substr(s.role_arn.rfind('/') + 1));
        issuer.close();
      }
      JsonObjectWriter attrs(sc.key("attributes"));
      attrs.string("creationDate", formatIso8601(p.mfa_time));
      attrs.string("mfaAuthenticated", p.mfa_authenticated ? "true" : "false");
      attrs.close();
      if (cred && cred->session && !cred->session->source_identity.empty())
        sc.string("sourceIdentity", cred->session->source_identity);
      sc.close();
    }
    if (!p.invoked_by.empty()) uid.string("invokedBy", p.invoked_by);
    uid.close();
  }
  r.string("eventTime", formatIso8601(ev.event_time));
  r.string("eventSource", ctx.event_source);
  r.string("eventName", ctx.operation);
  r.string("awsRegion", ctx.region);
  r.string("sourceIPAddress", p.invoked_by.empty() ? ctx.source_ip : p.invoked_by);
  r.string("userAgent", ctx.user_agent);
  if (error) {
    r.string("errorCode", error->code);
    r.string("errorMessage", error->message);
  }
  auto view = [](std::string& to, const json::value& v) {
    if (v.is_null()) to += "null";
    else to += json::serialize(v);
  };
  json::value params = op ? viewOrNull(op->input, input) : json::value(nullptr);
  if (const OperationSpec* spec = operationSpec(ctx); spec && spec->audit_request && input) {
    if (!params.is_object()) params = json::object();
    spec->audit_request(ctx, *input, params.as_object());
    if (params.as_object().empty()) params = nullptr;
  }
  view(r.key("requestParameters"), params);
  view(r.key("responseElements"),
       (op && !error && !ctx.read_only && !ctx.omit_response_elements)
           ? viewOrNull(op->output, output)
           : json::value(nullptr));
  r.string("requestID", ctx.request_id);
  r.string("eventID", ev.event_id);
  r.boolean("readOnly", ctx.read_only);
  writeResources(r, ctx.account_id, ev.resources);
  r.string("eventType", "AwsApiCall");
  r.boolean("managementEvent", true);
  r.string("recipientAccountId", ctx.account_id);
  r.string("eventCategory", "Management");
  if (ctx.http && ctx.http->tls) {
    JsonObjectWriter tls(r.key("tlsDetails"));
    tls.string("tlsVersion", ctx.http->tls_version);
    tls.string("cipherSuite", ctx.http->tls_cipher);
    if (const std::string* host = ctx.http->header("host"))
      tls.string("clientProvidedHostHeader", *host);
    tls.close();
  }
  r.close();
  return ev;
}

void appendServiceEvent(Services& services, store::Tx& tx, const ServiceEvent& e) {
  audit::AuditEvent ev;
  ev.event_time = std::chrono::time_point_cast<std::chrono::seconds>(e.time);
  // Time-ordered: the history finds an event by id in the second its id names.
  ev.event_id = newTimeOrderedUuid(toEpochMillis(ev.event_time));
  ev.event_name = e.event_name;
  ev.event_source = e.event_source;
  ev.account_id = e.account_id;
  ev.region = e.region;
  ev.read_only = false;
  ev.resources = e.resources;
  std::string& out = ev.record_json;
  JsonObjectWriter r(out);
  r.string("eventVersion", "1.11");
  {
    JsonObjectWriter uid(r.key("userIdentity"));
    uid.string("accountId", e.account_id);
    uid.string("invokedBy", e.invoked_by);
    uid.close();
  }
  r.string("eventTime", formatIso8601(ev.event_time));
  r.string("eventSource", e.event_source);
  r.string("eventName", e.event_name);
  r.string("awsRegion", e.region);
  r.string("sourceIPAddress", e.invoked_by);
  r.string("userAgent", e.invoked_by);
  r.raw("requestParameters", "null");
  r.raw("responseElements", "null");
  if (!e.additional_event_data.empty()) r.raw("additionalEventData", e.additional_event_data);
  r.string("eventID", ev.event_id);
  r.boolean("readOnly", false);
  writeResources(r, e.account_id, e.resources);
  r.string("eventType", "AwsServiceEvent");
  r.boolean("managementEvent", true);
  r.string("recipientAccountId", e.account_id);
  if (!e.service_event_details.empty()) r.raw("serviceEventDetails", e.service_event_details);
  r.string("eventCategory", "Management");
  r.close();
  services.events.append(tx, ev);
}

}  // namespace citadel::runtime
