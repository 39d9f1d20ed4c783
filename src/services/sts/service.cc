// STS: GetCallerIdentity and GetSessionToken. AssumeRole and the rest come with the IAM issue
// (until then the pipeline answers NotImplemented naming them).
#include <boost/json.hpp>

#include "runtime/identity.h"
#include "runtime/registry.h"
#include "runtime/services.h"

namespace citadel::sts {
namespace json = boost::json;
using runtime::OperationSpec;
using runtime::RequestContext;

namespace {

Result<json::value> getCallerIdentity(RequestContext& ctx, const json::value&) {
  const auto& p = ctx.principal;
  json::object out;
  out["UserId"] = p.principal_id;
  out["Account"] = p.account_id;
  out["Arn"] = p.arn;
  return json::value(std::move(out));
}

// AWS: GetSessionToken lasts 900–129,600 s (default 43,200) for IAM users and at most
// 3,600 s for an account's root user; session credentials cannot call it again.
Result<json::value> getSessionToken(RequestContext& ctx, const json::value& in) {
  const auto& p = ctx.principal;
  if (!p.session_token.empty())
    return AwsError{"AccessDenied", "Cannot call GetSessionToken with session credentials", 403,
                    true, {}};
  const json::object& o = in.as_object();
  if (o.contains("SerialNumber") || o.contains("TokenCode"))
    return AwsError{"NotImplemented",
                    "GetSessionToken with SerialNumber/TokenCode needs virtual MFA devices, which "
                    "citadel does not implement yet.",
                    501, false, {}};
  const bool root = p.type == runtime::Principal::Type::kRoot;
  int64_t max = root ? 3600 : 129600;
  int64_t duration = root ? 3600 : 43200;
  if (auto* d = o.if_contains("DurationSeconds")) duration = d->to_number<int64_t>();
  if (duration > max)
    return AwsError{"ValidationError",
                    "1 validation error detected: Value '" + std::to_string(duration) +
                        "' at 'durationSeconds' failed to satisfy constraint: Member must have "
                        "value less than or equal to " + std::to_string(max),
                    400, true, {}};
  TRY_ASSIGN(auto creds, ctx.services->identity.createSession(ctx.tx(), p,
                                                              std::chrono::seconds(duration),
                                                              std::nullopt));
  json::object c;
  c["AccessKeyId"] = creds.access_key_id;
  c["SecretAccessKey"] = creds.secret_access_key;
  c["SessionToken"] = creds.session_token;
  c["Expiration"] = toEpochSeconds(creds.expiration);
  return json::value(json::object{{"Credentials", std::move(c)}});
}

runtime::ServiceSpec makeSts() {
  runtime::ServiceSpec s;
  s.model = "sts";
  s.event_source = "sts.amazonaws.com";
  s.iam_prefix = "sts";
  s.throttle_code = "Throttling";
  OperationSpec gci;
  gci.handler = getCallerIdentity;
  gci.read_only = true;
  gci.global = true;
  gci.authorize = false;  // AWS: no permissions are required, and a Deny cannot stop it
  s.operations["GetCallerIdentity"] = std::move(gci);
  OperationSpec gst;
  gst.handler = getSessionToken;
  gst.global = true;
  gst.authorize = false;  // AWS: policies cannot control authentication operations
  s.operations["GetSessionToken"] = std::move(gst);
  // AWS: STS quotas are per account and region; GetCallerIdentity shares the 600/s default.
  s.quotas.push_back({"GetCallerIdentity", 600, {"GetCallerIdentity"}});
  return s;
}

}  // namespace

CITADEL_REGISTER_SERVICE(makeSts);

}  // namespace citadel::sts
