// KMS rotation and imported material: the rotation job's EventBridge event and CloudTrail record
// committed with the new material version (and not at all when the change rolls back), managed
// keys scheduled at creation, and imported material expiring through the scheduler with its
// "KMS Imported Key Material Expiration" event.
#include <gtest/gtest.h>

#include "audit/audit.h"
#include "crypto/barrier.h"
#include "crypto/crypto.h"
#include "crypto/kms_crypto.h"
#include "runtime/event_outbox.h"
#include "runtime/identity.h"
#include "runtime/services.h"
#include "services/kms/api.h"
#include "services/kms/internal.h"

namespace citadel::kms {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

struct World {
  std::unique_ptr<store::Store> db = store::openSqlite(":memory:");
  crypto::Barrier barrier{std::string(32, 'r')};
  audit::EventStore events{*db};
  runtime::Identity identity{*db, barrier};
  runtime::Services services{*db, barrier, events, identity, runtime::RuntimeConfig{}};
  const std::string account = "111122223333";
  const std::string region = "ap-south-1";

  World() {
    auto m = services.migrations();
    for (auto& x : kms::migrations()) m.push_back(x);
    for (auto& x : rotationMigrations()) m.push_back(x);
    for (auto& x : importMigrations()) m.push_back(x);
    std::vector<store::Migration> unique;
    for (auto& x : m) {
      bool dup = false;
      for (auto& y : unique) dup = dup || (y.component == x.component && y.version == x.version);
      if (!dup) unique.push_back(x);
    }
    db->migrate(unique);
    services.scheduler.registerKind(kRotateKeyJob, runRotateKeyJob);
    services.scheduler.registerKind(kExpireKeyMaterialJob, runExpireKeyMaterialJob);
  }
  ~World() {
    Clock::setOffsetMillis(0);
    keyCache().clear();
  }

  Result<json::value> call(Result<json::value> (*h)(runtime::RequestContext&, const json::value&),
                           json::object in, bool read_only = false) {
    runtime::RequestContext c;
    c.services = &services;
    c.account_id = account;
    c.region = region;
    c.time = Clock::now();
    c.read_only = read_only;
    auto out = h(c, json::value(std::move(in)));
    if (c.tx_) {
      if (out.ok() && !read_only)
        c.tx_->commit();
      else
        c.tx_->rollback();
    }
    return out;
  }

  std::string newKey(json::object in = {}) {
    auto out = call(createKey, std::move(in));
    EXPECT_TRUE(out.ok()) << out.error().message;
    return std::string(out->at("KeyMetadata").at("KeyId").as_string());
  }

  std::vector<runtime::OutboxEvent> outbox(const std::string& detail_type) {
    auto tx = db->begin(false);
    runtime::OutboxQuery q;
    q.source = "aws.kms";
    q.detail_type = detail_type;
    auto out = runtime::listEvents(*tx, q);
    tx->rollback();
    return out;
  }

  std::vector<json::object> trail(const std::string& name) {
    audit::LookupQuery q;
    q.account_id = account;
    q.region = region;
    q.attribute_key = "EventName";
    q.attribute_value = name;
    auto page = events.lookup(q);
    EXPECT_TRUE(page.ok());
    std::vector<json::object> out;
    for (const auto& e : page->events) out.push_back(json::parse(e.record_json).as_object());
    return out;
  }

  uint32_t currentVersion(const std::string& id) {
    auto tx = db->begin(false);
    auto k = loadKey(*tx, account, region, id);
    tx->rollback();
    return k ? k->current_version : 0;
  }
};

TEST(KmsRotation, DueRotationCommitsVersionEventAndTrailTogether) {
  World w;
  std::string id = w.newKey();
  ASSERT_TRUE(
      w.call(enableKeyRotation, json::object{{"KeyId", id}, {"RotationPeriodInDays", 90}}).ok());
  Clock::setOffsetMillis(89 * kDayMs);
  EXPECT_EQ(w.services.scheduler.runDue(), 0);
  EXPECT_TRUE(w.outbox("KMS CMK Rotation").empty());

  Clock::setOffsetMillis(90 * kDayMs + 1000);
  EXPECT_EQ(w.services.scheduler.runDue(), 1);
  EXPECT_EQ(w.currentVersion(id), 2u);

  auto events = w.outbox("KMS CMK Rotation");
  ASSERT_EQ(events.size(), 1u);
  const std::string arn = keyArn(w.account, w.region, id);
  EXPECT_EQ(events[0].account, w.account);
  EXPECT_EQ(events[0].region, w.region);
  EXPECT_EQ(events[0].resources, std::vector<std::string>{arn});
  EXPECT_EQ(json::parse(events[0].detail), json::value(json::object{{"key-id", id}}));
  auto delivered = json::parse(runtime::eventJson(events[0])).as_object();
  EXPECT_EQ(delivered.at("source").as_string(), "aws.kms");
  EXPECT_EQ(delivered.at("detail-type").as_string(), "KMS CMK Rotation");

  auto trail = w.trail("RotateKey");
  ASSERT_EQ(trail.size(), 1u);
  EXPECT_EQ(trail[0].at("eventType").as_string(), "AwsServiceEvent");
  EXPECT_EQ(trail[0].at("serviceEventDetails").at("rotationType").as_string(), "AUTOMATIC");
  KeyRecord named;
  named.account_id = w.account;
  named.region = w.region;
  named.key_id = id;
  named.arn = arn;
  EXPECT_EQ(trail[0].at("serviceEventDetails").at("currentKeyMaterialId").as_string(),
            keyMaterialId(named, 2));

  // The job rescheduled itself a period later.
  Clock::setOffsetMillis(179 * kDayMs);
  EXPECT_EQ(w.services.scheduler.runDue(), 0);
  Clock::setOffsetMillis(181 * kDayMs);
  EXPECT_EQ(w.services.scheduler.runDue(), 1);
  EXPECT_EQ(w.currentVersion(id), 3u);
  EXPECT_EQ(w.outbox("KMS CMK Rotation").size(), 2u);
}

TEST(KmsRotation, RefusedOnDemandRotationLeavesNoEvent) {
  World w;
  std::string id = w.newKey();
  ASSERT_TRUE(w.call(disableKey, json::object{{"KeyId", id}}).ok());
  auto r = w.call(rotateKeyOnDemand, json::object{{"KeyId", id}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "DisabledException");
  EXPECT_TRUE(w.outbox("KMS CMK Rotation").empty());
  EXPECT_TRUE(w.trail("RotateKey").empty());
  EXPECT_EQ(w.currentVersion(id), 1u);

  ASSERT_TRUE(w.call(enableKey, json::object{{"KeyId", id}}).ok());
  ASSERT_TRUE(w.call(rotateKeyOnDemand, json::object{{"KeyId", id}}).ok());
  EXPECT_EQ(w.currentVersion(id), 2u);
  ASSERT_EQ(w.outbox("KMS CMK Rotation").size(), 1u);
  auto trail = w.trail("RotateKey");
  ASSERT_EQ(trail.size(), 1u);
  EXPECT_EQ(trail[0].at("serviceEventDetails").at("rotationType").as_string(), "ON_DEMAND");
}

TEST(KmsRotation, ManagedKeyRotationScheduledAtCreation) {
  World w;
  std::string id;
  {
    auto tx = w.db->begin(true);
    id = api::managedKeyId(w.services, *tx, w.account, w.region, "ssm").value();
    tx->commit();
  }
  auto status = w.call(getKeyRotationStatus, json::object{{"KeyId", id}}, true);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(status->at("KeyRotationEnabled").as_bool());
  EXPECT_EQ(status->at("RotationPeriodInDays").as_int64(), 365);
  Clock::setOffsetMillis(366 * kDayMs);
  EXPECT_EQ(w.services.scheduler.runDue(), 1);
  EXPECT_EQ(w.currentVersion(id), 2u);
}

TEST(KmsImport, ImportedMaterialExpiresThroughTheScheduler) {
  World w;
  std::string id = w.newKey(json::object{{"Origin", "EXTERNAL"}});
  auto params =
      w.call(getParametersForImport, json::object{{"KeyId", id},
                                                  {"WrappingAlgorithm", "RSAES_OAEP_SHA_256"},
                                                  {"WrappingKeySpec", "RSA_2048"}});
  ASSERT_TRUE(params.ok()) << params.error().message;
  std::string material(32, '\x5a');
  auto wrapped = crypto::kms::rsaEncrypt(std::string(params->at("PublicKey").as_string()),
                                         "RSAES_OAEP_SHA_256", material);
  ASSERT_TRUE(wrapped.ok());
  double valid_to = toEpochSeconds(Clock::now()) + 3 * 24 * 3600;
  auto imported =
      w.call(importKeyMaterial, json::object{{"KeyId", id},
                                             {"ImportToken", params->at("ImportToken")},
                                             {"EncryptedKeyMaterial", *wrapped},
                                             {"ExpirationModel", "KEY_MATERIAL_EXPIRES"},
                                             {"ValidTo", valid_to}});
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  {
    auto tx = w.db->begin(false);
    auto k = loadKey(*tx, w.account, w.region, id);
    tx->rollback();
    ASSERT_TRUE(k);
    EXPECT_EQ(k->key_state, "Enabled");
    EXPECT_EQ(k->current_version, 1u);
  }
  Clock::setOffsetMillis(2 * kDayMs);
  EXPECT_EQ(w.services.scheduler.runDue(), 0);
  Clock::setOffsetMillis(3 * kDayMs + 1000);
  EXPECT_EQ(w.services.scheduler.runDue(), 1);
  {
    auto tx = w.db->begin(false);
    auto k = loadKey(*tx, w.account, w.region, id);
    EXPECT_TRUE(tx->query("SELECT 1 FROM kms_key_material WHERE key_id = ?", {id}).empty());
    tx->rollback();
    ASSERT_TRUE(k);
    EXPECT_EQ(k->key_state, "PendingImport");
    EXPECT_EQ(k->current_version, 0u);
    EXPECT_FALSE(k->valid_to);
  }
  auto events = w.outbox("KMS Imported Key Material Expiration");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(json::parse(events[0].detail), json::value(json::object{{"key-id", id}}));
  EXPECT_EQ(w.trail("DeleteExpiredKeyMaterial").size(), 1u);
}

TEST(KmsImport, ReimportComparesTheKeyedDigest) {
  World w;
  std::string id = w.newKey(json::object{{"Origin", "EXTERNAL"}});
  auto import = [&](const std::string& material) {
    auto params =
        w.call(getParametersForImport, json::object{{"KeyId", id},
                                                    {"WrappingAlgorithm", "RSAES_OAEP_SHA_1"},
                                                    {"WrappingKeySpec", "RSA_2048"}});
    EXPECT_TRUE(params.ok());
    auto wrapped = crypto::kms::rsaEncrypt(std::string(params->at("PublicKey").as_string()),
                                           "RSAES_OAEP_SHA_1", material);
    return w.call(importKeyMaterial,
                  json::object{{"KeyId", id},
                               {"ImportToken", params->at("ImportToken")},
                               {"EncryptedKeyMaterial", wrapped.value()},
                               {"ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE"}});
  };
  auto first = import(std::string(32, 'a'));
  ASSERT_TRUE(first.ok()) << first.error().message;
  {
    // The digest is keyed: it is not a plain hash of the material.
    auto tx = w.db->begin(false);
    auto rows = tx->query("SELECT digest FROM kms_imported_material WHERE key_id = ?", {id});
    tx->rollback();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_NE(rows[0].text(0), crypto::sha256Hex(std::string(32, 'a')));
    EXPECT_EQ(rows[0].text(0), std::string(first->at("KeyMaterialId").as_string()));
  }
  auto other = import(std::string(32, 'b'));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, "IncorrectKeyMaterialException");
  auto same = import(std::string(32, 'a'));
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_EQ(same->at("KeyMaterialId"), first->at("KeyMaterialId"));
}

}  // namespace
}  // namespace citadel::kms
