#include "iam/condition.h"

#include <gtest/gtest.h>

namespace citadel::iam {
namespace {

bool eval(std::string op, std::string key, std::vector<std::string> values,
          const ContextKeys& ctx, bool variables = true) {
  ConditionEntry e{std::move(op), std::move(key), std::move(values)};
  auto c = CompiledCondition::compile(e, variables);
  EXPECT_TRUE(c.ok()) << e.op;
  return c.ok() && c->evaluate(ctx);
}

TEST(ConditionOperator, Parse) {
  auto p = parseConditionOperator("ForAnyValue:StringLikeIfExists");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->op, CondOp::kStringLike);
  EXPECT_EQ(p->qualifier, SetQualifier::kForAnyValue);
  EXPECT_TRUE(p->if_exists);
  EXPECT_FALSE(parseConditionOperator("StringEqualz"));
  EXPECT_FALSE(parseConditionOperator("NullIfExists"));
  EXPECT_FALSE(parseConditionOperator("IfExists"));
  EXPECT_TRUE(isNegated(CondOp::kNotIpAddress));
  EXPECT_FALSE(isNegated(CondOp::kArnLike));
}

TEST(Condition, StringOperators) {
  ContextKeys ctx;
  ctx.set("aws:RequestedRegion", "eu-west-1");
  EXPECT_TRUE(eval("StringEquals", "aws:requestedregion", {"us-east-1", "eu-west-1"}, ctx));
  EXPECT_FALSE(eval("StringEquals", "aws:RequestedRegion", {"EU-WEST-1"}, ctx));
  EXPECT_TRUE(eval("StringEqualsIgnoreCase", "aws:RequestedRegion", {"EU-WEST-1"}, ctx));
  EXPECT_FALSE(eval("StringNotEqualsIgnoreCase", "aws:RequestedRegion", {"EU-WEST-1"}, ctx));
  EXPECT_TRUE(eval("StringNotEquals", "aws:RequestedRegion", {"us-east-1"}, ctx));
  EXPECT_TRUE(eval("StringLike", "aws:RequestedRegion", {"eu-*"}, ctx));
  EXPECT_FALSE(eval("StringNotLike", "aws:RequestedRegion", {"eu-*"}, ctx));
  EXPECT_FALSE(eval("StringEquals", "aws:RequestedRegion", {"eu-*"}, ctx));  // no wildcards
}

TEST(Condition, MissingKeys) {
  ContextKeys ctx;
  EXPECT_FALSE(eval("StringEquals", "aws:SourceVpc", {"vpc-1"}, ctx));
  EXPECT_TRUE(eval("StringNotEquals", "aws:SourceVpc", {"vpc-1"}, ctx));
  EXPECT_TRUE(eval("NotIpAddress", "aws:SourceIp", {"10.0.0.0/8"}, ctx));
  EXPECT_TRUE(eval("ArnNotLike", "aws:SourceArn", {"arn:aws:s3:::x"}, ctx));
  EXPECT_TRUE(eval("StringEqualsIfExists", "aws:SourceVpc", {"vpc-1"}, ctx));
  EXPECT_TRUE(eval("BoolIfExists", "aws:MultiFactorAuthPresent", {"false"}, ctx));
  EXPECT_TRUE(eval("ForAllValues:StringEquals", "aws:TagKeys", {"a"}, ctx));
  EXPECT_FALSE(eval("ForAnyValue:StringEquals", "aws:TagKeys", {"a"}, ctx));
  EXPECT_TRUE(eval("Null", "aws:TokenIssueTime", {"true"}, ctx));
  EXPECT_FALSE(eval("Null", "aws:TokenIssueTime", {"false"}, ctx));
  ctx.set("aws:TokenIssueTime", "2024-01-01T00:00:00Z");
  EXPECT_FALSE(eval("Null", "aws:TokenIssueTime", {"true"}, ctx));
  EXPECT_TRUE(eval("Null", "aws:TokenIssueTime", {"false"}, ctx));
}

TEST(Condition, IfExistsPresentKeyStillTested) {
  ContextKeys ctx;
  ctx.set("aws:MultiFactorAuthPresent", "false");
  EXPECT_TRUE(eval("BoolIfExists", "aws:MultiFactorAuthPresent", {"false"}, ctx));
  ctx.set("aws:MultiFactorAuthPresent", "true");
  EXPECT_FALSE(eval("BoolIfExists", "aws:MultiFactorAuthPresent", {"false"}, ctx));
  EXPECT_TRUE(eval("Bool", "aws:MultiFactorAuthPresent", {"TRUE"}, ctx));
}

TEST(Condition, Numeric) {
  ContextKeys ctx;
  ctx.set("s3:max-keys", "10");
  EXPECT_TRUE(eval("NumericEquals", "s3:max-keys", {"10"}, ctx));
  EXPECT_TRUE(eval("NumericNotEquals", "s3:max-keys", {"11"}, ctx));
  EXPECT_TRUE(eval("NumericLessThan", "s3:max-keys", {"11"}, ctx));
  EXPECT_FALSE(eval("NumericLessThan", "s3:max-keys", {"10"}, ctx));
  EXPECT_TRUE(eval("NumericLessThanEquals", "s3:max-keys", {"10"}, ctx));
  EXPECT_TRUE(eval("NumericGreaterThan", "s3:max-keys", {"9.5"}, ctx));
  EXPECT_TRUE(eval("NumericGreaterThanEquals", "s3:max-keys", {"10"}, ctx));
  EXPECT_FALSE(eval("NumericGreaterThanEquals", "s3:max-keys", {"10.5"}, ctx));
  ctx.set("s3:max-keys", "ten");
  EXPECT_FALSE(eval("NumericEquals", "s3:max-keys", {"10"}, ctx));
  ConditionEntry bad{"NumericEquals", "s3:max-keys", {"abc"}};
  EXPECT_FALSE(CompiledCondition::compile(bad, true).ok());
}

TEST(Condition, Dates) {
  ContextKeys ctx;
  ctx.set("aws:CurrentTime", "2024-06-01T12:00:00Z");
  EXPECT_TRUE(eval("DateGreaterThan", "aws:CurrentTime", {"2024-01-01T00:00:00Z"}, ctx));
  EXPECT_TRUE(eval("DateLessThan", "aws:CurrentTime", {"2025-01-01"}, ctx));
  EXPECT_TRUE(eval("DateEquals", "aws:CurrentTime", {"1717243200"}, ctx));  // epoch seconds
  EXPECT_TRUE(eval("DateNotEquals", "aws:CurrentTime", {"1717243201"}, ctx));
  EXPECT_TRUE(eval("DateLessThanEquals", "aws:CurrentTime", {"2024-06-01T12:00:00Z"}, ctx));
  EXPECT_FALSE(eval("DateGreaterThanEquals", "aws:CurrentTime", {"2024-06-01T12:00:01Z"}, ctx));
  ctx.set("aws:EpochTime", "1717243200");
  EXPECT_TRUE(eval("DateEquals", "aws:EpochTime", {"2024-06-01T12:00:00Z"}, ctx));
  EXPECT_EQ(parseConditionDate("2024-06-01T14:00:00+02:00"), int64_t{1717243200000});
}

TEST(Condition, IpAddresses) {
  ContextKeys ctx;
  ctx.set("aws:SourceIp", "203.0.113.77");
  EXPECT_TRUE(eval("IpAddress", "aws:SourceIp", {"192.0.2.0/24", "203.0.113.0/24"}, ctx));
  EXPECT_FALSE(eval("IpAddress", "aws:SourceIp", {"203.0.114.0/24"}, ctx));
  EXPECT_TRUE(eval("NotIpAddress", "aws:SourceIp", {"192.0.2.0/24"}, ctx));
  EXPECT_TRUE(eval("IpAddress", "aws:SourceIp", {"203.0.113.77"}, ctx));
  EXPECT_TRUE(eval("IpAddress", "aws:SourceIp", {"0.0.0.0/0"}, ctx));
  ctx.set("aws:SourceIp", "2001:db8:1234::1");
  EXPECT_TRUE(eval("IpAddress", "aws:SourceIp", {"2001:db8::/32"}, ctx));
  EXPECT_FALSE(eval("IpAddress", "aws:SourceIp", {"2001:db9::/32"}, ctx));
  EXPECT_FALSE(eval("IpAddress", "aws:SourceIp", {"203.0.113.0/24"}, ctx));
  EXPECT_FALSE(parseCidr("10.0.0.0/33"));
  EXPECT_FALSE(parseCidr("2001:db8::/129"));
  EXPECT_FALSE(parseCidr("garbage"));
}

TEST(Condition, ArnAndBinary) {
  ContextKeys ctx;
  ctx.set("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic");
  EXPECT_TRUE(eval("ArnLike", "aws:SourceArn", {"arn:aws:sns:*:111122223333:*"}, ctx));
  EXPECT_TRUE(eval("ArnEquals", "aws:SourceArn", {"arn:aws:sns:us-east-1:111122223333:topic"},
                   ctx));
  EXPECT_FALSE(eval("ArnLike", "aws:SourceArn", {"arn:aws:sns:*:444455556666:*"}, ctx));
  EXPECT_TRUE(eval("ArnNotEquals", "aws:SourceArn", {"arn:aws:sns:*:444455556666:*"}, ctx));
  // A wildcard never crosses the account segment.
  ctx.set("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:sub:topic");
  EXPECT_FALSE(eval("ArnLike", "aws:SourceArn", {"arn:aws:sns:*:*:topic"}, ctx));
  EXPECT_TRUE(eval("StringLike", "aws:SourceArn", {"arn:aws:sns:*:*:topic"}, ctx));
  ctx.set("aws:Blob", "aGVsbG8=");
  EXPECT_TRUE(eval("BinaryEquals", "aws:Blob", {"aGVsbG8="}, ctx));
  EXPECT_FALSE(eval("BinaryEquals", "aws:Blob", {"aGVsbG9v"}, ctx));
}

TEST(Condition, SetQualifiers) {
  ContextKeys ctx;
  ctx.setMulti("aws:TagKeys", {"env", "team"});
  EXPECT_TRUE(eval("ForAllValues:StringEquals", "aws:TagKeys", {"env", "team", "cost"}, ctx));
  EXPECT_FALSE(eval("ForAllValues:StringEquals", "aws:TagKeys", {"env"}, ctx));
  EXPECT_TRUE(eval("ForAnyValue:StringEquals", "aws:TagKeys", {"env"}, ctx));
  EXPECT_FALSE(eval("ForAnyValue:StringEquals", "aws:TagKeys", {"cost"}, ctx));
  EXPECT_TRUE(eval("ForAnyValue:StringNotEquals", "aws:TagKeys", {"env"}, ctx));
  EXPECT_FALSE(eval("ForAllValues:StringNotEquals", "aws:TagKeys", {"env"}, ctx));
  EXPECT_TRUE(eval("ForAllValues:StringLike", "aws:TagKeys", {"e*", "t*"}, ctx));
  // Unqualified operator on a multi-valued key: any value matching is enough.
  EXPECT_TRUE(eval("StringEquals", "aws:TagKeys", {"team"}, ctx));
  EXPECT_FALSE(eval("StringNotEquals", "aws:TagKeys", {"team"}, ctx));
}

TEST(Condition, VariablesInValues) {
  ContextKeys ctx;
  ctx.set("aws:username", "alice");
  ctx.set("s3:prefix", "home/alice/docs");
  EXPECT_TRUE(eval("StringLike", "s3:prefix", {"home/${aws:username}/*"}, ctx));
  EXPECT_FALSE(eval("StringLike", "s3:prefix", {"home/${aws:username}/*"}, ctx, false));
  ctx.set("aws:ResourceTag/owner", "alice");
  EXPECT_TRUE(eval("StringEquals", "aws:ResourceTag/Owner", {"${aws:username}"}, ctx));
  EXPECT_FALSE(eval("StringEquals", "aws:ResourceTag/Owner", {"${aws:userid}"}, ctx));
}

}  // namespace
}  // namespace citadel::iam
