#pragma once
/// The authorizer of the request path: AWS's policy evaluation logic (src/iam) over the
/// caller's policies (from the IAM service's PolicyProvider) and the request's condition keys.

#include "runtime/authorizer.h"

namespace citadel::iam {
class ContextKeys;
}

namespace citadel::runtime {

class Services;

class IamAuthorizer : public Authorizer {
 public:
  explicit IamAuthorizer(Services& services) : services_(services) {}
  Result<void> authorize(const RequestContext& ctx, const std::string& action,
                         const std::vector<std::string>& resources) override;

  /// The global condition keys of a request (aws:SourceIp, aws:CurrentTime, ...), filled from
  /// its context. Exposed for the policy simulator and tests.
  static void fillGlobalKeys(const RequestContext& ctx, iam::ContextKeys& keys);
  /// aws:SourceVpc / aws:SourceVpce from the configured trusted headers, when present.
  static void fillVpcKeys(const RequestContext& ctx, const std::string& vpc_header,
                          const std::string& vpce_header, iam::ContextKeys& keys);

 private:
  Services& services_;
};

}  // namespace citadel::runtime
