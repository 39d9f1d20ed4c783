#pragma once
/// The authorization hook of the pipeline, called for every request after parsing. The one
/// implementation is IamAuthorizer (iam_authorizer.h); tests may install others.

#include <string>
#include <vector>

#include "core/result.h"
#include "runtime/context.h"

namespace citadel::runtime {

struct OperationSpec;
struct AuthInputs;

class Authorizer {
 public:
  virtual ~Authorizer() = default;
  /// Decides whether ctx.principal may perform `action` on `resources`. AccessDenied-style
  /// AwsError (the pipeline renders and audits it) when not.
  virtual Result<void> authorize(const RequestContext& ctx, const std::string& action,
                                 const std::vector<std::string>& resources) = 0;
  /// The same with what the operation adds (registry.h AuthInputs: service condition keys,
  /// request tags, resource policy and owner, key-policy mode, grants); null = nothing added.
  /// The pipeline and invokeAs call this one. The default ignores `inputs` (authorizers that
  /// only know the three-argument form keep working).
  virtual Result<void> authorize(const RequestContext& ctx, const std::string& action,
                                 const std::vector<std::string>& resources,
                                 const AuthInputs* inputs) {
    (void)inputs;
    return authorize(ctx, action, resources);
  }
};

}  // namespace citadel::runtime
