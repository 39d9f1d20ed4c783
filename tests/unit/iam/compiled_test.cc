#include "iam/compiled.h"

#include <gtest/gtest.h>

#include "iam/evaluator.h"

namespace citadel::iam {
namespace {

constexpr std::string_view kDoc =
    R"({"Version":"2012-10-17","Statement":{"Sid":"S","Effect":"Allow","Action":"s3:Get*",
        "Resource":"arn:aws:s3:::b/${aws:username}/*"}})";

TEST(PolicyCache, CompilesOncePerVersion) {
  PolicyCache cache;
  auto a = cache.get("arn:aws:iam::1:policy/p", "v1", kDoc, PolicyKind::kIdentity);
  ASSERT_TRUE(a.ok());
  auto b = cache.get("arn:aws:iam::1:policy/p", "v1", "ignored on a hit", PolicyKind::kIdentity);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*a)->id(), "arn:aws:iam::1:policy/p");
  auto c = cache.get("arn:aws:iam::1:policy/p", "v2", "{", PolicyKind::kIdentity);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "MalformedPolicyDocument");
  EXPECT_EQ(cache.size(), 1u);
  cache.invalidate("arn:aws:iam::1:policy/p");
  EXPECT_EQ(cache.size(), 0u);
}

TEST(Evaluator, DecidingStatementsAndPrincipalKeys) {
  auto p = CompiledPolicy::compile(kDoc, PolicyKind::kIdentity, "p");
  ASSERT_TRUE(p.ok());
  PrincipalInfo alice;
  alice.type = PrincipalType::kUser;
  alice.arn = "arn:aws:iam::111122223333:user/alice";
  alice.account = "111122223333";
  alice.tags.emplace_back("Team", "blue");
  ContextKeys ctx;
  addPrincipalKeys(alice, ctx);
  ASSERT_NE(ctx.find("AWS:USERNAME"), nullptr);
  EXPECT_EQ(ctx.find("aws:username")->front(), "alice");
  EXPECT_EQ(ctx.find("aws:principaltag/team")->front(), "blue");
  EXPECT_EQ(ctx.find("aws:PrincipalType")->front(), "User");
  EvalRequest req;
  req.principal = alice;
  req.action = "s3:GetObject";
  req.resource = "arn:aws:s3:::b/alice/k";
  req.context = &ctx;
  req.identity_policies.push_back(p->get());
  EvalResult r = evaluate(req);
  EXPECT_EQ(r.decision, Decision::kAllow);
  ASSERT_EQ(r.statements.size(), 1u);
  EXPECT_EQ(r.statements[0].sid(), "S");
  EXPECT_EQ(r.statements[0].policy->id(), "p");
  req.resource = "arn:aws:s3:::b/bob/k";
  r = evaluate(req);
  EXPECT_EQ(r.decision, Decision::kImplicitDeny);
  EXPECT_EQ(accessDeniedMessage(req, r),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: "
            "s3:GetObject on resource: arn:aws:s3:::b/bob/k because no identity-based policy "
            "allows the s3:GetObject action");
}

}  // namespace
}  // namespace citadel::iam
