#include "iam/policy.h"

#include <gtest/gtest.h>

#include <string>

namespace citadel::iam {
namespace {

std::string errorOf(std::string_view json, PolicyKind kind = PolicyKind::kIdentity) {
  auto r = parsePolicy(json, kind);
  if (r.ok()) return "OK";
  EXPECT_EQ(r.error().code, "MalformedPolicyDocument");
  EXPECT_EQ(r.error().http_status, 400);
  return r.error().message;
}

TEST(PolicyParse, StatementAsObjectOrList) {
  auto a = parsePolicy(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Action":"s3:GetObject","Resource":"*"}})", PolicyKind::kIdentity);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->statements.size(), 1u);
  EXPECT_EQ(a->statements[0].actions[0], "s3:GetObject");
  EXPECT_TRUE(a->variablesEnabled());
  auto b = parsePolicy(R"({"Statement":[{"Sid":"A","Effect":"Deny","NotAction":["iam:*"],
      "NotResource":["arn:aws:s3:::b"]},{"Effect":"Allow","Action":"*","Resource":"*"}]})",
                       PolicyKind::kIdentity);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->variablesEnabled());  // no Version: 2008-10-17 semantics
  EXPECT_EQ(b->statements[0].effect, Effect::kDeny);
  EXPECT_TRUE(b->statements[0].not_action);
  EXPECT_TRUE(b->statements[0].not_resource);
  EXPECT_EQ(b->statements[0].sid, "A");
}

TEST(PolicyParse, SyntaxErrors) {
  EXPECT_EQ(errorOf("not json"), "Syntax errors in policy.");
  EXPECT_EQ(errorOf("[]"), "Syntax errors in policy.");
  EXPECT_EQ(errorOf(R"({"Version":"2012-10-17"})"), "Syntax errors in policy.");
  EXPECT_EQ(errorOf(R"({"Version":"2011-01-01","Statement":[]})"), "Syntax errors in policy.");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Foo":1}})"),
            "Syntax errors in policy.");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Maybe","Action":"s3:*","Resource":"*"}})"),
            "Syntax errors in policy.");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:*",
      "Resource":"*"}})"), "Syntax errors in policy.");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
      "Condition":{"StringEqualz":{"aws:username":"x"}}}})"), "Syntax errors in policy.");
  // Deep nesting is rejected, not a crash.
  std::string deep(5000, '[');
  EXPECT_EQ(errorOf(deep), "Syntax errors in policy.");
}

TEST(PolicyParse, LegacyParsing) {
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"allow","Action":"s3:*","Resource":"*"}})"),
            "The policy failed legacy parsing");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
      "Condition":{"DateGreaterThan":{"aws:CurrentTime":"yesterday"}}}})"),
            "The policy failed legacy parsing");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
      "Condition":{"IpAddress":{"aws:SourceIp":"300.1.2.3/8"}}}})"),
            "The policy failed legacy parsing");
}

TEST(PolicyParse, RequiredAndProhibitedElements) {
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Resource":"*"}})"),
            "Policy statement must contain actions.");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*"}})"),
            "Policy statement must contain resources.");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
      "Principal":"*"}})"), "Policy document should not specify a principal.");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}})",
                    PolicyKind::kResource), "Missing required field Principal");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"sts:AssumeRole",
      "Principal":{"AWS":"111122223333"},"Resource":"*"}})", PolicyKind::kTrust),
            "Has prohibited field Resource");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:GetObject",
      "Principal":{"AWS":"111122223333"}}})", PolicyKind::kTrust),
            "Trust Policy statement actions can only be sts:AssumeRole, "
            "sts:AssumeRoleWithSAML,  and sts:AssumeRoleWithWebIdentity");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"sts:AssumeRole",
      "Principal":{"Service":"ec2.amazonaws.com"}}})", PolicyKind::kTrust), "OK");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*",
      "Principal":"*"}})", PolicyKind::kScp), "Has prohibited field Principal");
  EXPECT_EQ(errorOf(R"({"Statement":[{"Sid":"a","Effect":"Allow","Action":"s3:*",
      "Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"s3:*","Resource":"*"}]})"),
            "Statement IDs (SID) in a single policy must be unique.");
}

TEST(PolicyParse, ActionsAndResources) {
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}})"),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:a:b","Resource":"*"}})"),
            "Actions/Condition can contain only one colon.");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s 3:Get","Resource":"*"}})"),
            "Vendor s 3 is not valid");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"bucket"}})"),
            "Resource bucket must be in ARN format or \"*\".");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*",
      "Condition":{"StringEquals":{"username":"x"}}}})"),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
}

TEST(PolicyParse, Principals) {
  auto ok = parsePolicy(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",
      "Principal":{"AWS":["arn:aws:iam::111122223333:root","444455556666",
      "arn:aws:sts::111122223333:assumed-role/R/s"],"Service":"ec2.amazonaws.com",
      "Federated":"cognito-identity.amazonaws.com","CanonicalUser":"79a59df900b949e5"},
      "Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}})", PolicyKind::kResource);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->statements[0].principal.items.size(), 6u);
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},
      "Action":"s3:*","Resource":"*"}})", PolicyKind::kResource),
            "Invalid principal in policy: \"AWS\":\"bob\"");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Principal":{"Robot":"x"},
      "Action":"s3:*","Resource":"*"}})", PolicyKind::kResource),
            "Invalid principal in policy: \"Robot\":\"x\"");
  EXPECT_EQ(errorOf(R"({"Statement":{"Effect":"Allow","Principal":{"AWS":
      "arn:aws:iam::111122223333:user/*"},"Action":"s3:*","Resource":"*"}})",
                    PolicyKind::kResource),
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111122223333:user/*\"");
}

TEST(PolicyParse, ConditionValuesStringified) {
  auto r = parsePolicy(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*",
      "Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":10},
      "Bool":{"aws:SecureTransport":true},"ForAnyValue:StringLike":{"aws:TagKeys":["a*","b"]}}}})",
                       PolicyKind::kIdentity);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& c = r->statements[0].conditions;
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].values[0], "10");
  EXPECT_EQ(c[1].values[0], "true");
  EXPECT_EQ(c[2].op, "ForAnyValue:StringLike");
  EXPECT_EQ(c[2].values.size(), 2u);
}

TEST(PolicySize, LimitsExcludeWhitespace) {
  EXPECT_EQ(policySizeLimitChars(PolicySizeLimit::kManaged), 6144u);
  EXPECT_EQ(policySizeLimitChars(PolicySizeLimit::kInlineRole), 10240u);
  EXPECT_EQ(policyCountedChars(" { \"a\" : 1 }\n"), 7u);
  std::string small(2048, 'x');
  std::string spaced = small + std::string(5000, ' ');
  EXPECT_TRUE(checkPolicySize(spaced, PolicySizeLimit::kInlineUser, "bob").ok());
  auto big = checkPolicySize(small + "x", PolicySizeLimit::kInlineUser, "bob");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, "LimitExceeded");
  EXPECT_EQ(big.error().message, "Maximum policy size of 2048 bytes exceeded for user bob");
  auto managed = checkPolicySize(std::string(6145, 'x'), PolicySizeLimit::kManaged);
  ASSERT_FALSE(managed.ok());
  EXPECT_EQ(managed.error().message, "Cannot exceed quota for PolicySize: 6144");
  EXPECT_TRUE(checkPolicySize(std::string(6144, 'x'), PolicySizeLimit::kManaged).ok());
  EXPECT_FALSE(checkPolicySize(std::string(5121, 'x'), PolicySizeLimit::kScp).ok());
  EXPECT_FALSE(checkPolicySize(std::string(2049, 'x'), PolicySizeLimit::kTrust).ok());
  EXPECT_TRUE(checkPolicySize(std::string(5120, 'x'), PolicySizeLimit::kInlineGroup).ok());
}

}  // namespace
}  // namespace citadel::iam
