#include "runtime/authorization_message.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "crypto/barrier.h"
#include "iam/compiled.h"
#include "iam/evaluator.h"

namespace citadel::runtime {
namespace {
namespace json = boost::json;

constexpr const char* kAccount = "111122223333";

struct Denial {
  std::shared_ptr<const iam::CompiledPolicy> policy;
  iam::ContextKeys keys;
  iam::EvalRequest req;
  iam::EvalResult result;
};

/// A user whose identity policy denies kms:CreateKey explicitly (with a condition).
std::unique_ptr<Denial> explicitDenial() {
  auto d = std::make_unique<Denial>();
  d->policy = iam::CompiledPolicy::compile(
                  R"({"Version":"2012-10-17","Statement":[{"Sid":"NoKeys","Effect":"Deny",
                      "Action":"kms:Create*","Resource":"*",
                      "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1"]}}}]})",
                  iam::PolicyKind::kIdentity, "p1")
                  .value();
  d->keys.set("aws:RequestedRegion", "us-east-1");
  d->keys.set("aws:SourceIp", "10.0.0.9");
  d->req.principal.type = iam::PrincipalType::kUser;
  d->req.principal.arn = std::string("arn:aws:iam::") + kAccount + ":user/dev";
  d->req.principal.account = kAccount;
  d->req.action = "kms:CreateKey";
  d->req.resource = "*";
  d->req.context = &d->keys;
  d->req.identity_policies = {d->policy.get()};
  d->result = iam::evaluate(d->req);
  return d;
}

std::string flipOneChar(std::string token) {
  size_t i = token.size() / 2;
  token[i] = token[i] == 'A' ? 'B' : 'A';
  return token;
}

TEST(AuthorizationMessage, DocumentNamesTheDecision) {
  auto d = explicitDenial();
  ASSERT_EQ(d->result.decision, iam::Decision::kExplicitDeny);
  json::value doc = json::parse(authorizationDecisionDocument(d->req, d->result, "AIDAEXAMPLE"));
  EXPECT_EQ(doc.at("allowed"), false);
  EXPECT_EQ(doc.at("explicitDeny"), true);
  const auto& items = doc.at("matchedStatements").at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("statementId"), "NoKeys");
  EXPECT_EQ(items[0].at("effect"), "DENY");
  EXPECT_EQ(items[0].at("principals").at("items").at(0).at("value"), "AIDAEXAMPLE");
  EXPECT_EQ(items[0].at("actions").at("items").at(0).at("value"), "kms:Create*");
  EXPECT_EQ(items[0].at("resources").at("items").at(0).at("value"), "*");
  EXPECT_EQ(items[0].at("conditions").at("items").at(0).at("key"), "aws:RequestedRegion");
  EXPECT_EQ(doc.at("failures").at("items").as_array().size(), 0u);
  const auto& ctx = doc.at("context");
  EXPECT_EQ(ctx.at("principal").at("id"), "AIDAEXAMPLE");
  EXPECT_EQ(ctx.at("principal").at("arn"), "arn:aws:iam::111122223333:user/dev");
  EXPECT_EQ(ctx.at("action"), "kms:CreateKey");
  EXPECT_EQ(ctx.at("resource"), "*");
  bool found_ip = false;
  for (const auto& c : ctx.at("conditions").at("items").as_array()) {
    if (c.at("key") == "aws:sourceip") {
      found_ip = true;
      EXPECT_EQ(c.at("values").at("items").at(0).at("value"), "10.0.0.9");
    }
  }
  EXPECT_TRUE(found_ip);
}

TEST(AuthorizationMessage, ImplicitDenyHasNoMatchedStatements) {
  iam::ContextKeys keys;
  iam::EvalRequest req;
  req.principal.type = iam::PrincipalType::kUser;
  req.principal.arn = std::string("arn:aws:iam::") + kAccount + ":user/dev";
  req.principal.account = kAccount;
  req.action = "iam:ListUsers";
  req.resource = "*";
  req.context = &keys;
  iam::EvalResult result = iam::evaluate(req);
  ASSERT_EQ(result.decision, iam::Decision::kImplicitDeny);
  json::value doc = json::parse(authorizationDecisionDocument(req, result, "AIDAEXAMPLE"));
  EXPECT_EQ(doc.at("allowed"), false);
  EXPECT_EQ(doc.at("explicitDeny"), false);
  EXPECT_EQ(doc.at("matchedStatements").at("items").as_array().size(), 0u);
}

TEST(AuthorizationMessage, SealedTokenOpensInItsAccountOnly) {
  crypto::Barrier barrier(std::string(32, 'k'));
  auto d = explicitDenial();
  std::string token = encodeAuthorizationMessage(barrier, kAccount, d->req, d->result, "AIDAX");
  for (char c : token) {
    ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << token;
  }
  EXPECT_EQ(token.find("kms:CreateKey"), std::string::npos);  // opaque

  auto opened = openAuthorizationMessage(barrier, kAccount, token);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened.value(), authorizationDecisionDocument(d->req, d->result, "AIDAX"));

  auto other = openAuthorizationMessage(barrier, "444455556666", token);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "InvalidAuthorizationMessageException");
  EXPECT_EQ(other.error().http_status, 400);

  crypto::Barrier other_key(std::string(32, 'z'));
  EXPECT_FALSE(openAuthorizationMessage(other_key, kAccount, token).ok());
}

TEST(AuthorizationMessage, TamperedOrGarbageTokensAreInvalid) {
  crypto::Barrier barrier(std::string(32, 'k'));
  std::string token = sealAuthorizationMessage(barrier, kAccount, R"({"allowed":false})");
  ASSERT_TRUE(openAuthorizationMessage(barrier, kAccount, token).ok());

  for (const std::string& bad :
       {flipOneChar(token), token.substr(0, token.size() - 4), token + "AAAA", token + "\n",
        std::string("not a token"), std::string("AAAA"), std::string("=")}) {
    auto r = openAuthorizationMessage(barrier, kAccount, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "InvalidAuthorizationMessageException");
  }
  // The last character's unused bits are part of the token too.
  std::string last_bits = token;
  char& c = last_bits.back();
  c = c == 'A' ? 'B' : static_cast<char>(c ^ 1);
  EXPECT_FALSE(openAuthorizationMessage(barrier, kAccount, last_bits).ok());
}

TEST(AuthorizationMessage, ConfiguredServices) {
  EXPECT_FALSE(encodesAuthorizationMessages({}, "kms"));
  EXPECT_TRUE(encodesAuthorizationMessages({"kms", "iam"}, "iam"));
  EXPECT_FALSE(encodesAuthorizationMessages({"kms"}, "sts"));
  EXPECT_TRUE(encodesAuthorizationMessages({"all"}, "sts"));
}

}  // namespace
}  // namespace citadel::runtime
