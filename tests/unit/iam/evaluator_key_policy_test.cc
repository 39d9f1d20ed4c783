// The evaluator's KMS key-policy mode (EvalRequest::resource_policy_required): unit tests of
// the rules that the corpus in tests/conformance/iam/key_policy/*.json encodes. The corpus itself
// is replayed by conformance_test.cc (the one runner of tests/conformance/iam/, sub-folders
// included, with each case's "resource_policy_required" flag).

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "iam/evaluator.h"

namespace citadel::iam {
namespace {

// Direct tests of the rules, readable without the corpus.

constexpr const char* kKey = "arn:aws:kms:us-east-1:111122223333:key/k1";

std::shared_ptr<const CompiledPolicy> compile(const std::string& doc, PolicyKind kind) {
  auto r = CompiledPolicy::compile(doc, kind, "p");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

std::string keyPolicyFor(const std::string& principal) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":")" +
         principal + R"("},"Action":"kms:*","Resource":"*"}]})";
}

struct KmsRequest {
  EvalRequest req;
  ContextKeys ctx;
  explicit KmsRequest(PrincipalType type, std::string arn) {
    req.principal.type = type;
    req.principal.arn = std::move(arn);
    req.principal.account = "111122223333";
    req.action = "kms:Decrypt";
    req.resource = kKey;
    req.resource_policy_required = true;
    addPrincipalKeys(req.principal, ctx);
    req.context = &ctx;
  }
};

TEST(EvaluatorKeyPolicy, IdentityPolicyAloneIsNotEnough) {
  auto admin = compile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*",
                          "Resource":"*"}]})",
                       PolicyKind::kIdentity);
  KmsRequest k(PrincipalType::kUser, "arn:aws:iam::111122223333:user/alice");
  k.req.identity_policies.push_back(admin.get());
  EvalResult r = evaluate(k.req);
  EXPECT_EQ(r.decision, Decision::kImplicitDeny);
  EXPECT_EQ(r.deciding_type, PolicyType::kResource);
  EXPECT_EQ(accessDeniedMessage(k.req, r),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/k1 because no "
            "resource-based policy allows the kms:Decrypt action");
  k.req.resource_policy_required = false;  // the ordinary rules: identity policy suffices
  EXPECT_EQ(evaluate(k.req).decision, Decision::kAllow);
}

TEST(EvaluatorKeyPolicy, AccountDelegationNeedsIdentityPolicies) {
  auto kp = compile(keyPolicyFor("arn:aws:iam::111122223333:root"), PolicyKind::kResource);
  auto decrypt = compile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                            "Action":"kms:Decrypt","Resource":"*"}]})",
                         PolicyKind::kIdentity);
  KmsRequest k(PrincipalType::kUser, "arn:aws:iam::111122223333:user/alice");
  k.req.resource_policy = kp.get();
  EXPECT_EQ(evaluate(k.req).reason,
            "because no identity-based policy allows the kms:Decrypt action");
  k.req.identity_policies.push_back(decrypt.get());
  EXPECT_EQ(evaluate(k.req).decision, Decision::kAllow);
}

TEST(EvaluatorKeyPolicy, RootUserNeedsTheKeyPolicyToNameItsAccount) {
  auto to_alice =
      compile(keyPolicyFor("arn:aws:iam::111122223333:user/alice"), PolicyKind::kResource);
  auto to_root = compile(keyPolicyFor("arn:aws:iam::111122223333:root"), PolicyKind::kResource);
  KmsRequest k(PrincipalType::kRoot, "arn:aws:iam::111122223333:root");
  EXPECT_EQ(evaluate(k.req).decision, Decision::kImplicitDeny);  // no key policy
  k.req.resource_policy = to_alice.get();
  EXPECT_EQ(evaluate(k.req).decision, Decision::kImplicitDeny);
  k.req.resource_policy = to_root.get();
  EXPECT_EQ(evaluate(k.req).decision, Decision::kAllow);
}

TEST(EvaluatorKeyPolicy, CrossAccountNeedsBothSides) {
  auto kp = compile(keyPolicyFor("arn:aws:iam::444455556666:root"), PolicyKind::kResource);
  auto decrypt = compile(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
                            "Action":"kms:Decrypt","Resource":"*"}]})",
                         PolicyKind::kIdentity);
  KmsRequest k(PrincipalType::kUser, "arn:aws:iam::444455556666:user/carol");
  k.req.principal.account = "444455556666";
  k.req.resource_account = "111122223333";
  k.req.identity_policies.push_back(decrypt.get());
  EXPECT_EQ(evaluate(k.req).deciding_type, PolicyType::kResource);  // no key policy
  k.req.resource_policy = kp.get();
  EXPECT_EQ(evaluate(k.req).decision, Decision::kAllow);
  k.req.identity_policies.clear();
  EvalResult r = evaluate(k.req);
  EXPECT_EQ(r.decision, Decision::kImplicitDeny);
  EXPECT_EQ(r.deciding_type, PolicyType::kIdentity);
}

}  // namespace
}  // namespace citadel::iam
