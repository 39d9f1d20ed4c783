// KMS multi-Region keys over the real store and barrier: replicas share material versions
// (each copy sealed under its own Region's AAD), rotation reaches replicas, a replica refuses
// primary-only operations, and a primary waits in PendingReplicaDeletion for its last replica.
// Also: the token blob format byte is never opened by citadel's own AES path.
#include <gtest/gtest.h>

#include "audit/audit.h"
#include "crypto/barrier.h"
#include "crypto/crypto.h"
#include "runtime/identity.h"
#include "runtime/services.h"
#include "services/kms/internal.h"

namespace citadel::kms {
namespace {

using Handler = Result<json::value> (*)(runtime::RequestContext&, const json::value&);

struct World {
  std::unique_ptr<store::Store> db = store::openSqlite(":memory:");
  crypto::Barrier barrier{std::string(32, 'm')};
  audit::EventStore events{*db};
  runtime::Identity identity{*db, barrier};
  runtime::Services services{*db, barrier, events, identity, runtime::RuntimeConfig{}};
  const std::string account = "444455556666";
  const std::string primary = "eu-west-3";
  const std::string replica = "ap-south-1";

  World() {
    std::vector<store::Migration> unique;
    auto all = services.migrations();
    for (auto& x : kms::migrations()) all.push_back(x);
    all.push_back({"kms.custom_key_store", 1, kCustomKeyStoreSchema});
    for (auto& x : all) {
      bool dup = false;
      for (auto& y : unique) dup = dup || (y.component == x.component && y.version == x.version);
      if (!dup) unique.push_back(x);
    }
    db->migrate(unique);
    services.scheduler.registerKind(kDeleteKeyJob, runDeleteKeyJob);
  }
  ~World() {
    Clock::setOffsetMillis(0);
    keyCache().clear();
  }

  /// Runs a handler in `region` like the pipeline (commit on success, rollback otherwise).
  Result<json::value> call(Handler h, const std::string& region, json::object in) {
    runtime::RequestContext c;
    c.services = &services;
    c.account_id = account;
    c.region = region;
    c.time = Clock::now();
    auto out = h(c, json::value(std::move(in)));
    if (c.tx_) {
      if (out.ok())
        c.tx_->commit();
      else
        c.tx_->rollback();
    }
    return out;
  }

  /// A multi-Region key in `primary` replicated to `replica`; returns its id.
  std::string replicatedKey() {
    auto created = call(createKey, primary, json::object{{"MultiRegion", true}});
    EXPECT_TRUE(created.ok());
    std::string id(created->at("KeyMetadata").at("KeyId").as_string());
    auto rep = call(replicateKey, primary, json::object{{"KeyId", id}, {"ReplicaRegion", replica}});
    EXPECT_TRUE(rep.ok()) << (rep.ok() ? "" : rep.error().message);
    return id;
  }

  KeyRecord load(const std::string& region, const std::string& id) {
    auto tx = db->begin(false);
    auto k = loadKey(*tx, account, region, id);
    tx->rollback();
    EXPECT_TRUE(k);
    return k ? *k : KeyRecord{};
  }

  std::string sealedMaterial(const std::string& region, const std::string& id, int64_t version) {
    auto tx = db->begin(false);
    auto rows = tx->query(
        "SELECT sealed FROM kms_key_material WHERE account_id = ? AND region = ? AND key_id = ? "
        "AND version = ?",
        {account, region, id, version});
    tx->rollback();
    return rows.empty() ? std::string() : rows[0].text(0);
  }
};

TEST(KmsMultiRegion, ReplicaMaterialIsTheSameBytesSealedUnderItsOwnRegion) {
  World w;
  std::string id = w.replicatedKey();
  std::string p = w.sealedMaterial(w.primary, id, 1);
  std::string r = w.sealedMaterial(w.replica, id, 1);
  ASSERT_FALSE(p.empty());
  ASSERT_FALSE(r.empty());
  EXPECT_NE(p, r);
  auto p_plain = w.barrier.open(p, materialAad(w.account, w.primary, id, 1));
  auto r_plain = w.barrier.open(r, materialAad(w.account, w.replica, id, 1));
  ASSERT_TRUE(p_plain && r_plain);
  EXPECT_EQ(*p_plain, *r_plain);
  EXPECT_EQ(p_plain->size(), 32u);
  // Bound to its Region: the replica's row does not open under the primary's AAD.
  EXPECT_FALSE(w.barrier.open(r, materialAad(w.account, w.primary, id, 1)));

  // A blob from one Region opens in the other.
  auto blob = w.call(encrypt, w.primary, json::object{{"KeyId", id}, {"Plaintext", "across"}});
  ASSERT_TRUE(blob.ok());
  auto plain =
      w.call(decrypt, w.replica, json::object{{"CiphertextBlob", blob->at("CiphertextBlob")}});
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->at("Plaintext").as_string(), "across");
  EXPECT_EQ(plain->at("KeyId").as_string(), keyArn(w.account, w.replica, id));
}

TEST(KmsMultiRegion, RotationOfThePrimaryReachesReplicas) {
  World w;
  std::string id = w.replicatedKey();
  std::string v2 = crypto::randomBytes(32);
  {
    auto tx = w.db->begin(true);
    KeyRecord k = *loadKey(*tx, w.account, w.primary, id);
    storeMaterial(w.services, *tx, k, 2, v2);
    k.current_version = 2;
    k.rotation_enabled = true;
    k.rotation_period_days = 90;
    updateKey(*tx, k);
    ASSERT_TRUE(replicateMaterialVersion(w.services, *tx, k, 2, v2).ok());
    tx->commit();
  }
  KeyRecord r = w.load(w.replica, id);
  EXPECT_EQ(r.current_version, 2u);
  EXPECT_TRUE(r.rotation_enabled);
  EXPECT_EQ(r.rotation_period_days, 90);
  auto opened =
      w.barrier.open(w.sealedMaterial(w.replica, id, 2), materialAad(w.account, w.replica, id, 2));
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, v2);
  // The replica encrypts under version 2 now.
  auto blob = w.call(encrypt, w.replica, json::object{{"KeyId", id}, {"Plaintext", "v2"}});
  ASSERT_TRUE(blob.ok());
  auto h = parseBlobHeader(blob->at("CiphertextBlob").as_string());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, 2u);
}

TEST(KmsMultiRegion, PrimaryOnlyOperations) {
  World w;
  std::string id = w.replicatedKey();
  auto tx = w.db->begin(false);
  KeyRecord p = *loadKey(*tx, w.account, w.primary, id);
  KeyRecord r = *loadKey(*tx, w.account, w.replica, id);
  EXPECT_TRUE(requireNotReplica(*tx, p, "RotateKeyOnDemand").ok());
  auto refused = requireNotReplica(*tx, r, "RotateKeyOnDemand");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "UnsupportedOperationException");
  EXPECT_TRUE(hasReplicas(*tx, p));
  EXPECT_FALSE(hasReplicas(*tx, r));
  tx->rollback();
  auto again =
      w.call(replicateKey, w.replica, json::object{{"KeyId", id}, {"ReplicaRegion", "us-west-1"}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "UnsupportedOperationException");
  auto twice =
      w.call(replicateKey, w.primary, json::object{{"KeyId", id}, {"ReplicaRegion", w.replica}});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, "AlreadyExistsException");
}

TEST(KmsMultiRegion, PrimaryWaitsForItsLastReplica) {
  World w;
  std::string id = w.replicatedKey();
  auto out = w.call(scheduleKeyDeletion, w.primary,
                    json::object{{"KeyId", id}, {"PendingWindowInDays", 7}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->at("KeyState").as_string(), "PendingReplicaDeletion");
  EXPECT_EQ(w.load(w.primary, id).key_state, "PendingReplicaDeletion");
  ASSERT_TRUE(w.call(scheduleKeyDeletion, w.replica,
                     json::object{{"KeyId", id}, {"PendingWindowInDays", 7}})
                  .ok());
  Clock::setOffsetMillis(int64_t{8} * 86400 * 1000);
  w.services.scheduler.runDue();
  {
    auto tx = w.db->begin(false);
    EXPECT_FALSE(loadKey(*tx, w.account, w.replica, id));
    tx->rollback();
  }
  KeyRecord p = w.load(w.primary, id);
  EXPECT_EQ(p.key_state, "PendingDeletion");
  ASSERT_TRUE(p.deletion_date);
  Clock::setOffsetMillis(int64_t{16} * 86400 * 1000);
  w.services.scheduler.runDue();
  auto tx = w.db->begin(false);
  EXPECT_FALSE(loadKey(*tx, w.account, w.primary, id));
  EXPECT_TRUE(tx->query("SELECT 1 FROM kms_mrk_primary WHERE key_id = ?", {id}).empty());
  tx->rollback();
}

TEST(KmsMultiRegion, TokenFormatBlobsNeverOpenWithLocalMaterial) {
  Secret material(crypto::randomBytes(32));
  auto blob = sealBlob(BlobHeader{"444455556666", "mrk-0123456789abcdef0123456789abcdef", 1},
                       material, "secret", {});
  ASSERT_TRUE(blob.ok());
  EXPECT_TRUE(openBlob(*blob, material, {}));
  std::string token_format = *blob;
  token_format[0] = static_cast<char>(kTokenBlobFormat);
  auto h = parseBlobHeader(token_format);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->format, kTokenBlobFormat);
  EXPECT_FALSE(openBlob(token_format, material, {}));
  std::string unknown = *blob;
  unknown[0] = 3;
  EXPECT_FALSE(parseBlobHeader(unknown));
}

}  // namespace
}  // namespace citadel::kms
