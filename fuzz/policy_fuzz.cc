// libFuzzer target: parse + compile arbitrary policy JSON as every policy kind, then evaluate
// the compiled policy against a fixed request in every role it can play.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "iam/evaluator.h"

using namespace citadel::iam;

namespace {

const ContextKeys& fixedContext() {
  static const ContextKeys ctx = [] {
    ContextKeys c;
    c.set("aws:SourceIp", "203.0.113.7");
    c.set("aws:username", "alice");
    c.set("aws:CurrentTime", "2026-01-01T00:00:00Z");
    c.set("aws:EpochTime", "1767225600");
    c.set("aws:SecureTransport", "true");
    c.set("aws:PrincipalTag/team", "blue");
    c.set("s3:max-keys", "10");
    c.setMulti("aws:TagKeys", {"env", "team"});
    return c;
  }();
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)checkPolicySize(text, PolicySizeLimit::kManaged);
  for (PolicyKind kind : {PolicyKind::kIdentity, PolicyKind::kResource, PolicyKind::kTrust,
                          PolicyKind::kScp}) {
    auto compiled = CompiledPolicy::compile(text, kind, "fuzz");
    if (!compiled.ok()) continue;
    const CompiledPolicy* p = compiled->get();
    EvalRequest req;
    req.principal.type = PrincipalType::kAssumedRole;
    req.principal.arn = "arn:aws:sts::111122223333:assumed-role/App/s";
    req.principal.role_arn = "arn:aws:iam::111122223333:role/App";
    req.principal.account = "111122223333";
    req.action = "s3:GetObject";
    req.resource = "arn:aws:s3:::bucket/home/alice/key";
    req.context = &fixedContext();
    switch (kind) {
      case PolicyKind::kResource:
      case PolicyKind::kTrust:
        req.resource_policy = p;
        req.resource_account = "444455556666";
        req.identity_policies.push_back(p);
        break;
      case PolicyKind::kScp:
        req.scp_levels.push_back({p});
        req.identity_policies.push_back(p);
        break;
      default:
        req.identity_policies.push_back(p);
        req.permissions_boundary = p;
        req.session_policies.push_back(p);
    }
    EvalResult r = evaluate(req);
    (void)accessDeniedMessage(req, r);
  }
  return 0;
}
