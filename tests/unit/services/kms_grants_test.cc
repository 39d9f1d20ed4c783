// KMS grants and key-policy authorization inputs over the real store: grant matching (operations,
// grantees incl. role sessions, constraints with AWS's case rules), the grant cache dropped
// after commit, grant tokens, key deletion removing grants, and the AuthInputs of key
// operations (key policy, resource account, kms:* and aws:ResourceTag/* keys, grants as the
// alternative allow).
#include <gtest/gtest.h>

#include <algorithm>

#include "audit/audit.h"
#include "crypto/barrier.h"
#include "iam/compiled.h"
#include "runtime/identity.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {
namespace {

struct World {
  std::unique_ptr<store::Store> db = store::openSqlite(":memory:");
  crypto::Barrier barrier{std::string(32, 'k')};
  audit::EventStore events{*db};
  runtime::Identity identity{*db, barrier};
  runtime::Services services{*db, barrier, events, identity, runtime::RuntimeConfig{}};
  const std::string account = "111122223333";
  const std::string region = "eu-west-3";

  World() {
    std::vector<store::Migration> unique;
    for (auto& x : services.migrations()) {
      bool dup = false;
      for (auto& y : unique) dup = dup || (y.component == x.component && y.version == x.version);
      if (!dup) unique.push_back(x);
    }
    db->migrate(unique);
  }
  ~World() { keyCache().clear(); }

  std::unique_ptr<runtime::RequestContext> ctx(bool read_only, std::string principal_arn = "") {
    auto c = std::make_unique<runtime::RequestContext>();
    c->services = &services;
    c->account_id = account;
    c->region = region;
    c->time = Clock::now();
    c->read_only = read_only;
    c->principal.type = runtime::Principal::Type::kRoot;
    c->principal.account_id = account;
    c->principal.arn = principal_arn.empty() ? "arn:aws:iam::" + account + ":root" : principal_arn;
    return c;
  }

  Result<json::value> call(Result<json::value> (*h)(runtime::RequestContext&, const json::value&),
                           json::object in, bool read_only = false) {
    auto c = ctx(read_only);
    auto out = h(*c, json::value(std::move(in)));
    if (c->tx_) {
      if (out.ok() && !read_only)
        c->tx_->commit();
      else
        c->tx_->rollback();
    }
    return out;
  }

  std::string newKey() {
    auto out = call(createKey, {});
    EXPECT_TRUE(out.ok());
    return std::string(out->at("KeyMetadata").at("KeyId").as_string());
  }
};

runtime::Principal user(const std::string& arn) {
  runtime::Principal p;
  p.type = runtime::Principal::Type::kIamUser;
  p.account_id = "111122223333";
  p.arn = arn;
  return p;
}

Grant grantFor(std::string grantee, std::vector<std::string> ops) {
  Grant g;
  g.grantee_principal = std::move(grantee);
  g.operations = std::move(ops);
  return g;
}

TEST(KmsGrants, OperationsAndGrantees) {
  Grant g = grantFor("arn:aws:iam::111122223333:user/alice", {"Encrypt", "DescribeKey"});
  auto alice = user("arn:aws:iam::111122223333:user/alice");
  auto bob = user("arn:aws:iam::111122223333:user/bob");
  EXPECT_TRUE(grantAllows(g, alice, "Encrypt", nullptr, true));
  EXPECT_TRUE(grantAllows(g, alice, "DescribeKey", nullptr, false));
  EXPECT_FALSE(grantAllows(g, alice, "Decrypt", nullptr, true));
  EXPECT_FALSE(grantAllows(g, bob, "Encrypt", nullptr, true));

  // A role ARN (with a path) names every session of the role.
  Grant r = grantFor("arn:aws:iam::111122223333:role/app/worker", {"Decrypt"});
  runtime::Principal session;
  session.type = runtime::Principal::Type::kAssumedRole;
  session.account_id = "111122223333";
  session.arn = "arn:aws:sts::111122223333:assumed-role/worker/s1";
  EXPECT_TRUE(grantAllows(r, session, "Decrypt", nullptr, true));
  session.arn = "arn:aws:sts::111122223333:assumed-role/other/s1";
  EXPECT_FALSE(grantAllows(r, session, "Decrypt", nullptr, true));
  session.account_id = "444455556666";
  session.arn = "arn:aws:sts::444455556666:assumed-role/worker/s1";
  EXPECT_FALSE(grantAllows(r, session, "Decrypt", nullptr, true));
}

TEST(KmsGrants, ConstraintsKeysIgnoreCaseValuesDoNot) {
  auto alice = user("arn:aws:iam::111122223333:user/alice");
  Grant subset = grantFor(alice.arn, {"Encrypt", "DescribeKey"});
  subset.constraint_type = "EncryptionContextSubset";
  subset.constraint = {{"tenant", "a"}};
  json::object ok{{"Tenant", "a"}, {"more", "x"}};
  json::object wrong_case{{"tenant", "A"}};
  json::object none;
  EXPECT_TRUE(grantAllows(subset, alice, "Encrypt", &ok, true));
  EXPECT_FALSE(grantAllows(subset, alice, "Encrypt", &wrong_case, true));
  EXPECT_FALSE(grantAllows(subset, alice, "Encrypt", &none, true));
  EXPECT_FALSE(grantAllows(subset, alice, "Encrypt", nullptr, true));
  // Operations without an encryption context ignore the constraint.
  EXPECT_TRUE(grantAllows(subset, alice, "DescribeKey", nullptr, false));

  Grant equals = subset;
  equals.constraint_type = "EncryptionContextEquals";
  json::object exact{{"tenant", "a"}};
  EXPECT_TRUE(grantAllows(equals, alice, "Encrypt", &exact, true));
  EXPECT_FALSE(grantAllows(equals, alice, "Encrypt", &ok, true));
}

TEST(KmsGrants, CreateGrantThroughAGrantIsNoWider) {
  Grant g = grantFor("x", {"Encrypt", "CreateGrant"});
  g.constraint_type = "EncryptionContextSubset";
  g.constraint = {{"tenant", "a"}};
  auto req = [](json::array ops, json::object constraints) {
    return json::value(
        json::object{{"Operations", std::move(ops)}, {"Constraints", std::move(constraints)}});
  };
  json::object same{{"EncryptionContextSubset", json::object{{"tenant", "a"}, {"b", "c"}}}};
  EXPECT_TRUE(grantAllowsCreateGrant(g, req({"Encrypt"}, same)));
  EXPECT_FALSE(grantAllowsCreateGrant(g, req({"Decrypt"}, same)));
  EXPECT_FALSE(grantAllowsCreateGrant(g, req({"Encrypt"}, {})));
  json::object other{{"EncryptionContextSubset", json::object{{"tenant", "b"}}}};
  EXPECT_FALSE(grantAllowsCreateGrant(g, req({"Encrypt"}, other)));
}

TEST(KmsGrants, StoreCacheTokensAndDeletion) {
  World w;
  std::string key_id = w.newKey();
  const std::string alice = "arn:aws:iam::111122223333:user/alice";
  auto created = w.call(createGrant, {{"KeyId", key_id},
                                      {"GranteePrincipal", alice},
                                      {"RetiringPrincipal", alice},
                                      {"Operations", json::array{"Encrypt"}},
                                      {"Name", "n"}});
  ASSERT_TRUE(created.ok()) << created.error().message;
  std::string grant_id(created->at("GrantId").as_string());
  std::string token(created->at("GrantToken").as_string());
  EXPECT_EQ(grant_id.size(), 64u);

  auto key = cachedKey(w.services, w.account, w.region, key_id);
  ASSERT_TRUE(key.ok());
  auto c = w.ctx(true);
  auto grants = keyGrants(*c, key.value()->record);
  ASSERT_EQ(grants->size(), 1u);
  EXPECT_EQ((*grants)[0].grant_id, grant_id);
  EXPECT_EQ(keyGrants(*c, key.value()->record), grants);  // cached: the same snapshot

  // Same name and grant: the same id again.
  auto again = w.call(createGrant, {{"KeyId", key_id},
                                    {"GranteePrincipal", alice},
                                    {"RetiringPrincipal", alice},
                                    {"Operations", json::array{"Encrypt"}},
                                    {"Name", "n"}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->at("GrantId").as_string(), grant_id);

  // Tokens.
  auto by_token =
      grantsOfTokens(*c, json::value(json::object{{"GrantTokens", json::array{token}}}));
  ASSERT_TRUE(by_token.ok());
  EXPECT_EQ(by_token->at(0).grant_id, grant_id);
  auto bad = grantsOfTokens(*c, json::value(json::object{{"GrantTokens", json::array{"nope"}}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "InvalidGrantTokenException");

  // Revoking drops the cache after the commit.
  ASSERT_TRUE(w.call(revokeGrant, {{"KeyId", key_id}, {"GrantId", grant_id}}).ok());
  EXPECT_TRUE(keyGrants(*c, key.value()->record)->empty());
  auto missing = w.call(revokeGrant, {{"KeyId", key_id}, {"GrantId", grant_id}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "NotFoundException");
  auto malformed = w.call(revokeGrant, {{"KeyId", key_id}, {"GrantId", "x"}});
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, "InvalidGrantIdException");

  // Deleting the key deletes its grants.
  ASSERT_TRUE(w.call(createGrant, {{"KeyId", key_id},
                                   {"GranteePrincipal", alice},
                                   {"Operations", json::array{"Decrypt"}}})
                  .ok());
  {
    auto tx = w.db->begin(true);
    auto k = loadKey(*tx, w.account, w.region, key_id);
    ASSERT_TRUE(k);
    deleteKeyRows(*tx, *k);
    tx->commit();
  }
  auto tx = w.db->begin(false);
  EXPECT_TRUE(tx->query("SELECT grant_id FROM kms_grants").empty());
  tx->rollback();
}

TEST(KmsAuthInputs, KeyPolicyConditionKeysAndGrants) {
  World w;
  std::string key_id = w.newKey();
  ASSERT_TRUE(
      w.call(tagResource,
             {{"KeyId", key_id},
              {"Tags", json::array{json::object{{"TagKey", "team"}, {"TagValue", "blue"}}}}})
          .ok());
  KeyAuth spec;
  spec.access = Access::kCrossAccount;
  spec.context_member = "EncryptionContext";
  spec.grant_operation = "Encrypt";
  spec.copies = {{"EncryptionAlgorithm", "kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT"}};
  auto fn = keyAuthInputs(spec);
  auto c = w.ctx(true, "arn:aws:iam::111122223333:user/alice");
  c->principal.type = runtime::Principal::Type::kIamUser;
  c->via_service = "secretsmanager.eu-west-3.amazonaws.com";
  json::value in =
      json::object{{"KeyId", key_id}, {"EncryptionContext", json::object{{"stage", "prod"}}}};
  auto inputs = fn(*c, in);
  ASSERT_TRUE(inputs.ok()) << inputs.error().message;
  EXPECT_TRUE(inputs->resource_policy_required);
  EXPECT_EQ(inputs->resource_account, w.account);
  ASSERT_TRUE(inputs->resource_policy);
  EXPECT_EQ(inputs->resource_policy->statements().size(), 1u);  // the default key policy
  auto value = [&](std::string_view name) -> std::vector<std::string> {
    for (const auto& [k, v] : inputs->condition_keys)
      if (k == name) return v;
    return {"<absent>"};
  };
  EXPECT_EQ(value("kms:EncryptionContext:stage"), std::vector<std::string>{"prod"});
  EXPECT_EQ(value("kms:EncryptionContextKeys"), std::vector<std::string>{"stage"});
  EXPECT_EQ(value("kms:ViaService"),
            std::vector<std::string>{"secretsmanager.eu-west-3.amazonaws.com"});
  EXPECT_EQ(value("kms:CallerAccount"), std::vector<std::string>{w.account});
  EXPECT_EQ(value("kms:KeySpec"), std::vector<std::string>{"SYMMETRIC_DEFAULT"});
  EXPECT_EQ(value("kms:KeyOrigin"), std::vector<std::string>{"AWS_KMS"});
  EXPECT_EQ(value("kms:EncryptionAlgorithm"), std::vector<std::string>{"SYMMETRIC_DEFAULT"});
  EXPECT_EQ(value("aws:ResourceTag/team"), std::vector<std::string>{"blue"});
  EXPECT_EQ(value("kms:RequestAlias"), std::vector<std::string>{"<absent>"});

  // Grants: none yet, then one for alice (the cache drops after the commit).
  ASSERT_TRUE(inputs->alternative_allow);
  EXPECT_FALSE(inputs->alternative_allow());
  ASSERT_TRUE(w.call(createGrant, {{"KeyId", key_id},
                                   {"GranteePrincipal", c->principal.arn},
                                   {"Operations", json::array{"Encrypt"}}})
                  .ok());
  auto again = fn(*c, in);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->alternative_allow());

  // Tag changes reach the condition keys after the commit.
  ASSERT_TRUE(w.call(untagResource, {{"KeyId", key_id}, {"TagKeys", json::array{"team"}}}).ok());
  auto untagged = fn(*c, in);
  ASSERT_TRUE(untagged.ok());
  for (const auto& [k, v] : untagged->condition_keys) EXPECT_NE(k, "aws:ResourceTag/team");

  // Another account's key by ARN is found for cross-account operations only.
  KeyAuth own;
  auto other = w.ctx(true);
  other->account_id = "444455556666";
  json::value by_arn = json::object{{"KeyId", keyArn(w.account, w.region, key_id)}};
  EXPECT_TRUE(fn(*other, by_arn).ok());
  auto refused = keyAuthInputs(own)(*other, by_arn);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "NotFoundException");
}

}  // namespace
}  // namespace citadel::kms
