#pragma once
/// The authorization hook of the pipeline. The IAM issue replaces the default with the policy
/// evaluation engine; the pipeline calls it for every request after parsing.

#include <string>
#include <vector>

#include "core/result.h"
#include "runtime/context.h"

namespace citadel::runtime {

struct OperationSpec;

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  /// Decides whether ctx.principal may perform `action` on `resources`. AccessDenied-style
  /// AwsError (the pipeline renders and audits it) when not.
  virtual Result<void> authorize(const RequestContext& ctx, const std::string& action,
                                 const std::vector<std::string>& resources) = 0;
};

/// Until IAM policies exist: an account's root user may do anything in its own account;
/// every other principal or cross-account call is denied.
class RootOnlyAuthorizer : public Authorizer {
 public:
  Result<void> authorize(const RequestContext& ctx, const std::string& action,
                         const std::vector<std::string>& resources) override;
};

}  // namespace citadel::runtime
