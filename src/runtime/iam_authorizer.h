#pragma once
/// The authorizer of the request path: AWS's policy evaluation logic (src/iam) over the
/// caller's policies (from the IAM service's PolicyProvider) and the request's condition keys.

#include "runtime/authorizer.h"

#include <memory>

namespace citadel::iam {
class ContextKeys;
struct EvalRequest;
}

namespace citadel::runtime {

class Services;
struct OrgInfo;

class IamAuthorizer : public Authorizer {
 public:
  explicit IamAuthorizer(Services& services) : services_(services) {}
  Result<void> authorize(const RequestContext& ctx, const std::string& action,
                         const std::vector<std::string>& resources) override;

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

}  // namespace citadel::runtime
