#include "runtime/identity.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"

namespace citadel::runtime {
namespace {

class IdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = store::openSqlite(":memory:");
    db_->migrate(Identity::migrations());
    barrier_ = std::make_unique<crypto::Barrier>(crypto::randomBytes(32));
    id_ = std::make_unique<Identity>(*db_, *barrier_);
  }
  std::unique_ptr<store::Store> db_;
  std::unique_ptr<crypto::Barrier> barrier_;
  std::unique_ptr<Identity> id_;
};

TEST_F(IdentityTest, RootKeyAuthenticatesTheAccountRoot) {
  auto tx = db_->begin(true);
  auto acct = id_->createAccount(*tx, std::nullopt, true);
  ASSERT_TRUE(acct.ok());
  EXPECT_TRUE(Identity::validAccountId(*acct));
  auto key = id_->createRootKey(*tx, *acct);
  ASSERT_TRUE(key.ok());
  tx->commit();
  auto cred = id_->lookup(key->access_key_id);
  ASSERT_TRUE(cred.has_value());
  EXPECT_EQ(cred->secret_access_key, key->secret_access_key);
  EXPECT_EQ(cred->principal.arn, "arn:aws:iam::" + *acct + ":root");
  EXPECT_EQ(cred->principal.type, Principal::Type::kRoot);
  EXPECT_FALSE(id_->lookup("AKIADOESNOTEXIST0000").has_value());
}

TEST_F(IdentityTest, SecretIsStoredSealed) {
  auto tx = db_->begin(true);
  ASSERT_TRUE(id_->createAccount(*tx, "123456789012", true).ok());
  ASSERT_TRUE(id_->putRootKey(*tx, "123456789012", {"AKIAEXAMPLEEXAMPLE00", "s3cr3t-value-xyz"}).ok());
  tx->commit();
  auto rtx = db_->begin(false);
  auto rows = rtx->query("SELECT secret_sealed FROM access_keys");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text(0).find("s3cr3t-value-xyz"), std::string::npos);
  rtx->rollback();
  EXPECT_EQ(id_->lookup("AKIAEXAMPLEEXAMPLE00")->secret_access_key, "s3cr3t-value-xyz");
}

TEST_F(IdentityTest, AccountRules) {
  auto tx = db_->begin(true);
  EXPECT_FALSE(id_->createAccount(*tx, "12345", false).ok());
  ASSERT_TRUE(id_->createAccount(*tx, "111111111111", false).ok());
  auto dup = id_->createAccount(*tx, "111111111111", false);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "EntityAlreadyExists");
  ASSERT_TRUE(id_->createAccount(*tx, "222222222222", true).ok());
  EXPECT_EQ(id_->defaultAccount(*tx), "222222222222");
  EXPECT_FALSE(id_->createRootKey(*tx, "999999999999").ok());
  // A key id cannot move between accounts.
  ASSERT_TRUE(id_->putRootKey(*tx, "111111111111", {"AKIASHAREDSHARED0000", "a"}).ok());
  EXPECT_FALSE(id_->putRootKey(*tx, "222222222222", {"AKIASHAREDSHARED0000", "b"}).ok());
}

}  // namespace
}  // namespace citadel::runtime

namespace citadel::runtime {
namespace {

TEST(IdentitySession, TokenIsCheckedAndExpires) {
  auto db = store::openSqlite(":memory:");
  db->migrate(Identity::migrations());
  crypto::Barrier barrier(crypto::randomBytes(32));
  Identity id(*db, barrier);
  auto tx = db->begin(true);
  ASSERT_TRUE(id.createAccount(*tx, "123456789012", true).ok());
  auto sc = id.createSession(*tx, Identity::rootPrincipal("123456789012"),
                             std::chrono::seconds(900), std::nullopt);
  ASSERT_TRUE(sc.ok());
  tx->commit();
  auto cred = id.lookup(sc->access_key_id);
  ASSERT_TRUE(cred.has_value());
  EXPECT_EQ(cred->secret_access_key, sc->secret_access_key);
  EXPECT_NE(cred->session_token_sha256, sc->session_token);  // only a hash is kept
  auto now = Clock::now();
  EXPECT_TRUE(Identity::checkSessionToken(*cred, sc->session_token, now).ok());
  EXPECT_EQ(Identity::checkSessionToken(*cred, "", now).error().code, "InvalidClientTokenId");
  EXPECT_EQ(Identity::checkSessionToken(*cred, sc->session_token + "x", now).error().code,
            "InvalidClientTokenId");
  EXPECT_EQ(Identity::checkSessionToken(*cred, sc->session_token, now + std::chrono::seconds(901))
                .error()
                .code,
            "ExpiredToken");
  // Long-term keys carry no token requirement; sessions are not listed as keys.
  auto rtx = db->begin(false);
  EXPECT_TRUE(id.rootKeys(*rtx, "123456789012").empty());
}

}  // namespace
}  // namespace citadel::runtime
