// STS for the foundation: GetCallerIdentity. AssumeRole and the rest come with the IAM issue
// (until then the pipeline answers NotImplemented naming them).
#include <boost/json.hpp>

#include "runtime/registry.h"

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
  s.operations["GetCallerIdentity"] = std::move(gci);
  // AWS: STS quotas are per account and region; GetCallerIdentity shares the 600/s default.
  s.quotas.push_back({"GetCallerIdentity", 600, {"GetCallerIdentity"}});
  return s;
}

}  // namespace

CITADEL_REGISTER_SERVICE(makeSts);

}  // namespace citadel::sts
