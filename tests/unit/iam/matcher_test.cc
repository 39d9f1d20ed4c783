#include "iam/matcher.h"

#include <gtest/gtest.h>

namespace citadel::iam {
namespace {

TEST(Glob, WildcardsAndBacktracking) {
  auto p = Pattern::compile("a*b?c*", true, false);
  EXPECT_TRUE(p.match("abxc", nullptr, false));
  EXPECT_TRUE(p.match("a123bxcdef", nullptr, false));
  EXPECT_TRUE(p.match("abbbxc", nullptr, false));
  EXPECT_FALSE(p.match("abc", nullptr, false));
  EXPECT_FALSE(p.match("Abxc", nullptr, false));
  EXPECT_TRUE(p.match("Abxc", nullptr, true));
  EXPECT_TRUE(Pattern::compile("*", true, false).matchesAll());
  EXPECT_TRUE(Pattern::compile("", true, false).match("", nullptr, false));
  EXPECT_FALSE(Pattern::compile("", true, false).match("x", nullptr, false));
  // Literal mode: * is an ordinary character.
  auto lit = Pattern::compile("a*", false, false);
  EXPECT_TRUE(lit.match("a*", nullptr, false));
  EXPECT_FALSE(lit.match("ab", nullptr, false));
}

TEST(Glob, Variables) {
  ContextKeys ctx;
  ctx.set("aws:username", "alice");
  ctx.set("aws:PrincipalTag/Team", "blue");
  ctx.setMulti("aws:TagKeys", {"a", "b"});
  auto p = Pattern::compile("home/${aws:username}/*", true, true);
  EXPECT_TRUE(p.hasVariables());
  EXPECT_TRUE(p.match("home/alice/x", &ctx, false));
  EXPECT_FALSE(p.match("home/bob/x", &ctx, false));
  // Key names are case-insensitive.
  EXPECT_TRUE(Pattern::compile("${AWS:PrincipalTag/team}", false, true).match("blue", &ctx, false));
  // Unresolvable (absent or multi-valued) → no match; default value used when given.
  EXPECT_FALSE(Pattern::compile("${aws:userid}", false, true).match("", &ctx, false));
  EXPECT_FALSE(Pattern::compile("${aws:TagKeys}", false, true).match("a", &ctx, false));
  EXPECT_TRUE(Pattern::compile("${aws:userid, 'none'}", false, true).match("none", &ctx, false));
  // ${*} ${?} ${$} are literal characters.
  auto special = Pattern::compile("a${*}b${?}${$}", true, true);
  EXPECT_TRUE(special.match("a*b?$", &ctx, false));
  EXPECT_FALSE(special.match("axb?$", &ctx, false));
  // Substituted values are literal: a username containing * does not become a wildcard.
  ContextKeys star;
  star.set("aws:username", "*");
  EXPECT_FALSE(p.match("home/alice/x", &star, false));
  // Variables off (2008-10-17): the text is literal.
  EXPECT_TRUE(Pattern::compile("${aws:username}", false, false).match("${aws:username}", &ctx,
                                                                      false));
}

TEST(Action, CaseInsensitiveWithServicePrefix) {
  auto a = ActionPattern::compile("s3:Get*");
  EXPECT_TRUE(a.match("s3:GetObject"));
  EXPECT_TRUE(a.match("S3:getobject"));
  EXPECT_FALSE(a.match("s3:PutObject"));
  EXPECT_FALSE(a.match("s3x:GetObject"));
  EXPECT_FALSE(a.match("GetObject"));
  EXPECT_TRUE(ActionPattern::compile("*").match("anything:At"));
  EXPECT_TRUE(ActionPattern::compile("ec2:*Instances").match("ec2:StopInstances"));
  EXPECT_TRUE(ActionPattern::compile("iam:?etUser").match("iam:GetUser"));
}

TEST(Arn, SegmentsAndCase) {
  auto p = ArnPattern::compile("arn:aws:s3:::bucket/*", false);
  EXPECT_TRUE(p.match("arn:aws:s3:::bucket/a/b", nullptr));
  EXPECT_FALSE(p.match("arn:aws:s3:::bucket", nullptr));
  EXPECT_FALSE(p.match("arn:aws:s3:::Bucket/a", nullptr));
  // A wildcard in the region segment does not cross colons.
  auto r = ArnPattern::compile("arn:aws:ec2:*:111122223333:instance/*", false);
  EXPECT_TRUE(r.match("arn:aws:ec2:us-east-1:111122223333:instance/i-1", nullptr));
  EXPECT_FALSE(r.match("arn:aws:ec2:us-east-1:444455556666:instance/i-1", nullptr));
  auto mid = ArnPattern::compile("arn:aws:*:us-east-1:*", false);
  EXPECT_TRUE(mid.match("arn:aws:sqs:us-east-1:111122223333:q", nullptr));
  EXPECT_FALSE(mid.match("arn:aws:sqs:eu-west-1:111122223333:q", nullptr));
  // The resource part may contain colons.
  auto logs = ArnPattern::compile("arn:aws:logs:*:*:log-group:app:*", false);
  EXPECT_TRUE(logs.match("arn:aws:logs:us-east-1:1:log-group:app:log-stream:x", nullptr));
  EXPECT_TRUE(ArnPattern::compile("*", false).match("not-an-arn", nullptr));
  EXPECT_FALSE(p.match("not-an-arn", nullptr));
}

}  // namespace
}  // namespace citadel::iam
