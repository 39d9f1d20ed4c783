// KMS key store and cache: material sealed at rest, cache hits without the store, invalidation
// after commit, stale fills refused, and scheduled deletion run by the scheduler.
#include <gtest/gtest.h>

#include <atomic>

#include "audit/audit.h"
#include "core/encoding.h"
#include "crypto/barrier.h"
#include "runtime/identity.h"
#include "runtime/services.h"
#include "services/kms/api.h"
#include "services/kms/internal.h"

namespace citadel::kms {
namespace {

/// Counts the transactions begun on an SQLite store.
class CountingStore : public store::Store {
 public:
  std::unique_ptr<store::Tx> begin(bool write) override {
    ++begins;
    return inner->begin(write);
  }
  void migrate(const std::vector<store::Migration>& m) override { inner->migrate(m); }
  std::string_view backend() const override { return inner->backend(); }
  std::unique_ptr<store::Store> inner = store::openSqlite(":memory:");
  std::atomic<int> begins{0};
};

struct World {
  CountingStore db;
  crypto::Barrier barrier{std::string(32, 'k')};
  audit::EventStore events{db};
  runtime::Identity identity{db, barrier};
  runtime::Services services{db, barrier, events, identity, runtime::RuntimeConfig{}};
  const std::string account = "111122223333";
  const std::string region = "eu-west-3";

  World() {
    auto m = services.migrations();
    for (auto& x : kms::migrations()) m.push_back(x);
    // services.migrations() already holds KMS's when service.cc is linked: keep one of each.
    std::vector<store::Migration> unique;
    for (auto& x : m) {
      bool dup = false;
      for (auto& y : unique) dup = dup || (y.component == x.component && y.version == x.version);
      if (!dup) unique.push_back(x);
    }
    db.migrate(unique);
    services.scheduler.registerKind(kDeleteKeyJob, runDeleteKeyJob);
  }
  ~World() {
    Clock::setOffsetMillis(0);
    keyCache().clear();
  }

  std::unique_ptr<runtime::RequestContext> ctx(bool read_only) {
    auto c = std::make_unique<runtime::RequestContext>();
    c->services = &services;
    c->account_id = account;
    c->region = region;
    c->time = Clock::now();
    c->read_only = read_only;
    return c;
  }

  /// Runs a handler like the pipeline does (commit on success, rollback otherwise).
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

  std::string createKeyId() {
    auto out = call(createKey, json::object{{"Description", "d1"}});
    EXPECT_TRUE(out.ok());
    return std::string(out->at("KeyMetadata").at("KeyId").as_string());
  }
};

TEST(KmsMaterial, SealedAtRestBoundToTheKey) {
  World w;
  std::string id = w.createKeyId();
  auto tx = w.db.begin(false);
  auto rows = tx->query("SELECT sealed, version FROM kms_key_material WHERE key_id = ?", {id});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].integer(1), 1);
  std::string sealed = rows[0].text(0);
  auto opened = w.barrier.open(sealed, materialAad(w.account, w.region, id, 1));
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->size(), 32u);
  EXPECT_EQ(sealed.find(*opened), std::string::npos);
  // Bound to account, region, key and version.
  EXPECT_FALSE(w.barrier.open(sealed, materialAad(w.account, "us-east-1", id, 1)));
  EXPECT_FALSE(w.barrier.open(sealed, materialAad(w.account, w.region, id, 2)));
}

TEST(KmsMaterial, EncryptOnACacheHitBeginsNoTransaction) {
  World w;
  std::string id = w.createKeyId();
  json::object in{{"KeyId", id}, {"Plaintext", "hello"}};
  auto first = w.call(encrypt, in, true);  // fills the cache (key and material)
  ASSERT_TRUE(first.ok());
  int before = w.db.begins.load();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(w.call(encrypt, in, true).ok());
  EXPECT_EQ(w.db.begins.load(), before);
  // And the blob decrypts.
  auto plain = w.call(decrypt, json::object{{"CiphertextBlob", first->at("CiphertextBlob")}}, true);
  ASSERT_TRUE(plain.ok()) << plain.error().code;
  EXPECT_EQ(plain->at("Plaintext").as_string(), "hello");
  EXPECT_EQ(w.db.begins.load(), before);
}

TEST(KmsMaterial, ChangesReachTheCacheAfterCommitOnly) {
  World w;
  std::string id = w.createKeyId();
  auto a = cachedKey(w.services, w.account, w.region, id);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(cachedKey(w.services, w.account, w.region, id).value(), a.value());  // a hit
  {
    auto c = w.ctx(false);
    ASSERT_TRUE(disableKey(*c, json::value(json::object{{"KeyId", id}})).ok());
    // Not committed yet: the cache still answers the old state.
    EXPECT_EQ(keyCache().find(w.account, w.region, id), a.value());
    c->tx_->rollback();
  }
  EXPECT_EQ(keyCache().find(w.account, w.region, id), a.value());
  ASSERT_TRUE(w.call(disableKey, json::object{{"KeyId", id}}).ok());
  EXPECT_EQ(keyCache().find(w.account, w.region, id), nullptr);
  auto b = cachedKey(w.services, w.account, w.region, id);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b.value()->record.key_state, "Disabled");
  auto enc = w.call(encrypt, json::object{{"KeyId", id}, {"Plaintext", "x"}}, true);
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.error().code, "DisabledException");
  EXPECT_EQ(enc.error().message, keyArn(w.account, w.region, id) + " is disabled.");
}

TEST(KmsMaterial, AFillThatRacedWithAChangeIsNotInserted) {
  World w;
  std::string id = w.createKeyId();
  KeyCache& cache = keyCache();
  uint64_t gen = cache.generation();
  auto tx = w.db.begin(false);
  auto stale = loadKey(*tx, w.account, w.region, id);
  ASSERT_TRUE(stale);
  cache.invalidateKey(w.account, w.region, id);  // a change commits meanwhile
  cache.insert(std::make_shared<const CachedKey>(*stale), gen);
  EXPECT_EQ(cache.find(w.account, w.region, id), nullptr);
  cache.insert(std::make_shared<const CachedKey>(*stale), cache.generation());
  EXPECT_NE(cache.find(w.account, w.region, id), nullptr);
}

TEST(KmsMaterial, ScheduledDeletionRunsWhenDueAndRecordsDeleteKey) {
  World w;
  std::string id = w.createKeyId();
  ASSERT_TRUE(
      w.call(createAlias, json::object{{"AliasName", "alias/doomed"}, {"TargetKeyId", id}}).ok());
  auto scheduled =
      w.call(scheduleKeyDeletion, json::object{{"KeyId", id}, {"PendingWindowInDays", 7}});
  ASSERT_TRUE(scheduled.ok()) << scheduled.error().message;
  EXPECT_EQ(scheduled->at("KeyState").as_string(), "PendingDeletion");
  auto enc = w.call(encrypt, json::object{{"KeyId", id}, {"Plaintext", "x"}}, true);
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.error().code, "KMSInvalidStateException");
  EXPECT_EQ(enc.error().message, keyArn(w.account, w.region, id) + " is pending deletion.");

  EXPECT_EQ(w.services.scheduler.runDue(), 0);
  Clock::setOffsetMillis(6LL * 24 * 3600 * 1000);
  EXPECT_EQ(w.services.scheduler.runDue(), 0);  // not yet due
  Clock::setOffsetMillis(7LL * 24 * 3600 * 1000 + 1000);
  EXPECT_EQ(w.services.scheduler.runDue(), 1);

  auto gone = w.call(describeKey, json::object{{"KeyId", id}}, true);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, "NotFoundException");
  EXPECT_EQ(gone.error().message, "Key '" + keyArn(w.account, w.region, id) + "' does not exist");
  {
    auto tx = w.db.begin(false);
    for (const char* table : {"kms_keys", "kms_key_material", "kms_aliases"})
      EXPECT_TRUE(
          tx->query(std::string("SELECT 1 FROM ") + table + " WHERE key_id = ?", {id}).empty())
          << table;
  }
  audit::LookupQuery q;
  q.account_id = w.account;
  q.region = w.region;
  q.attribute_key = "EventName";
  q.attribute_value = "DeleteKey";
  auto page = w.events.lookup(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 1u);
  auto record = json::parse(page->events[0].record_json).as_object();
  EXPECT_EQ(record.at("eventSource").as_string(), "kms.amazonaws.com");
  EXPECT_EQ(record.at("eventType").as_string(), "AwsServiceEvent");
  EXPECT_EQ(record.at("userIdentity").at("invokedBy").as_string(), "kms.amazonaws.com");
  EXPECT_EQ(record.at("resources").at(0).at("ARN").as_string(), keyArn(w.account, w.region, id));
}

TEST(KmsMaterial, CancelledDeletionDoesNotRun) {
  World w;
  std::string id = w.createKeyId();
  ASSERT_TRUE(w.call(scheduleKeyDeletion, json::object{{"KeyId", id}}).ok());
  auto cancelled = w.call(cancelKeyDeletion, json::object{{"KeyId", id}});
  ASSERT_TRUE(cancelled.ok());
  Clock::setOffsetMillis(31LL * 24 * 3600 * 1000);
  EXPECT_EQ(w.services.scheduler.runDue(), 0);
  auto d = w.call(describeKey, json::object{{"KeyId", id}}, true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->at("KeyMetadata").at("KeyState").as_string(), "Disabled");
}

TEST(KmsMaterial, ManagedKeyCreatedOnceWithItsAlias) {
  World w;
  std::string first, second;
  {
    auto tx = w.db.begin(true);
    auto id = api::managedKeyId(w.services, *tx, w.account, w.region, "secretsmanager");
    ASSERT_TRUE(id.ok());
    first = id.value();
    tx->commit();
  }
  {
    auto tx = w.db.begin(true);
    second = api::managedKeyId(w.services, *tx, w.account, w.region, "secretsmanager").value();
    tx->commit();
  }
  EXPECT_EQ(first, second);
  {
    // A service creates the managed key and encrypts with it in one write transaction.
    auto c = w.ctx(false);
    auto id = api::managedKeyId(w.services, c->tx(), w.account, w.region, "ssm");
    ASSERT_TRUE(id.ok());
    auto enc =
        api::encrypt(*c, json::value(json::object{{"KeyId", "alias/aws/ssm"}, {"Plaintext", "p"}}));
    ASSERT_TRUE(enc.ok()) << enc.error().message;
    c->tx_->commit();
    auto dec = w.call(decrypt, json::object{{"CiphertextBlob", enc->at("CiphertextBlob")}}, true);
    ASSERT_TRUE(dec.ok()) << dec.error().message;
    EXPECT_EQ(dec->at("Plaintext").as_string(), "p");
  }
  auto d = w.call(describeKey, json::object{{"KeyId", "alias/aws/secretsmanager"}}, true);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->at("KeyMetadata").at("KeyManager").as_string(), "AWS");
  EXPECT_EQ(d->at("KeyMetadata").at("KeyId").as_string(), first);
  auto del = w.call(scheduleKeyDeletion, json::object{{"KeyId", first}});
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().code, "UnsupportedOperationException");
}

}  // namespace
}  // namespace citadel::kms
