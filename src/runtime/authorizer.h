#pragma once
/// The authorization hook of the pipeline, called for every request after parsing. The one
/// implementation is IamAuthorizer (iam_authorizer.h); tests may install others.

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

}  // namespace citadel::runtime
