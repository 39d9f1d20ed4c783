// IAM's own condition keys, computed per request for the authorization (OperationSpec::
// auth_inputs): iam:PermissionsBoundary, iam:PolicyARN, iam:ResourceTag/* and aws:ResourceTag/*.
//
// AWS:
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
#include "runtime/services.h"
#include "services/iam/internal.h"

namespace citadel::iamsvc {

runtime::AuthInputsFn authKeys(std::string kind, std::string name_member, AuthKeyFlags flags) {
  return [kind, name_member, flags](const RequestContext& ctx,
                                    const json::value& in) -> Result<runtime::AuthInputs> {
    runtime::AuthInputs out;
    auto& keys = out.condition_keys;
    // The boundary the request sets (CreateUser, CreateRole, Put*PermissionsBoundary).
    if (flags.boundary_from_input) {
      std::string boundary = str(in, "PermissionsBoundary");
      if (!boundary.empty()) keys.push_back({"iam:PermissionsBoundary", {boundary}});
    }
    if (flags.policy_arn) {
      std::string arn = str(in, "PolicyArn");
      if (!arn.empty()) keys.push_back({"iam:PolicyARN", {arn}});
    }
    if (kind.empty()) return out;
    std::string name = str(in, name_member.c_str());
    if (name.empty()) return out;
    auto tx = ctx.services->store.begin(false);
    auto e = findEntity(*tx, kind, ctx.account_id, name);
    if (!e) return out;  // the handler answers NoSuchEntity (after authorization, as AWS)
    // The addressed user's or role's current boundary (policy operations on it).
    if (flags.boundary_of_entity && !e->boundary_arn.empty())
      keys.push_back({"iam:PermissionsBoundary", {e->boundary_arn}});
    if (kind != "group") {
      for (const auto& t : tagsOf(*tx, e->id)) {
        const auto& o = t.as_object();
        std::string k(o.at("Key").as_string()), v(o.at("Value").as_string());
        keys.push_back({"aws:ResourceTag/" + k, {v}});
        keys.push_back({"iam:ResourceTag/" + k, {v}});
      }
    }
    return out;
  };
}

}  // namespace citadel::iamsvc
