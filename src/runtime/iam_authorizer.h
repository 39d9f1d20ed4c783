#pragma once
/// The authorizer of the request path: AWS's policy evaluation logic (src/iam) over the
/// caller's policies (from the IAM service's PolicyProvider) and the request's condition keys.

#include "runtime/authorizer.h"

#include <boost/json/fwd.hpp>
#include <memory>
#include <optional>

#include "runtime/registry.h"

namespace citadel::iam {
class ContextKeys;
struct EvalRequest;
}

namespace citadel::protocol {
struct Operation;
}

namespace citadel::runtime {

class Services;
struct OrgInfo;

class IamAuthorizer : public Authorizer {
 public:
  explicit IamAuthorizer(Services& services) : services_(services) {}
  /// authorize(ctx, action, resources, nullptr).
  Result<void> authorize(const RequestContext& ctx, const std::string& action,
                         const std::vector<std::string>& resources) override;
  /// AWS's evaluation over the caller's policies, with `inputs` (may be null): its condition
  /// keys are added to the request's (replacing a global key of the same name), its resource
  /// policy, resource account and key-policy mode go into the evaluation, and its
  /// alternative_allow is asked only when the policies deny implicitly (per resource).
  Result<void> authorize(const RequestContext& ctx, const std::string& action,
                         const std::vector<std::string>& resources,
                         const AuthInputs* inputs) override;

  /// The global condition keys of a request (aws:SourceIp, aws:CurrentTime, ...), filled from
  /// its context. Exposed for the policy simulator and tests.
  static void fillGlobalKeys(const RequestContext& ctx, iam::ContextKeys& keys);
  /// Adds the SCP levels of the principal's organization to `req` (nothing outside one; the
  /// management account is marked exempt). The result keeps the policies alive: hold it for
  /// as long as `req` is used.
  static std::shared_ptr<const OrgInfo> addServiceControlPolicies(Services& services,
                                                                  const Principal& p,
                                                                  iam::EvalRequest& req);
  /// aws:SourceVpc / aws:SourceVpce from the configured trusted headers, when present.
  static void fillVpcKeys(const RequestContext& ctx, const std::string& vpc_header,
                          const std::string& vpce_header, iam::ContextKeys& keys);

 private:
  Services& services_;
};

/// The generic tag condition keys of a request, for every operation of every service:
/// aws:RequestTag/<key> (one value each) and aws:TagKeys (every key, in request order), read
/// from the validated input where the operation's model has a tag member: "Tags"/"tags"/
/// "TagList"/"TagsList" as a list of {Key,Value} or {TagKey,TagValue} or as a map, "TagKeys"/
/// "tagKeys" (untag operations: aws:TagKeys only) and EC2's "TagSpecifications". Which member
/// is looked up once per model operation. The keys are put before any the service added (a
/// service's own value wins). `out` is emplaced only when the input carries tags: nothing is
/// allocated otherwise. aws:ResourceTag/<key> is the service's (AuthInputs::condition_keys).
void addRequestTagKeys(const protocol::Operation& op, const boost::json::value& input,
                       std::optional<AuthInputs>& out);

}  // namespace citadel::runtime
