// Secrets Manager over the real store and KMS: values only as KMS-wrapped ciphertext at rest,
// GetSecretValue from the cache without a transaction, staging labels and the version limit,
// deletion after the recovery window and rotation when due (scheduler with a moved clock, also
// across a restart), a failing rotation function, state reset, GetRandomPassword.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <set>

#include "audit/audit.h"
#include "crypto/barrier.h"
#include "runtime/functions.h"
#include "runtime/identity.h"
#include "runtime/services.h"
#include "services/kms/internal.h"
#include "services/secretsmanager/internal.h"

namespace citadel::secretsmanager {
namespace {

// --- test rotation functions ----------------------------------------------------------------

constexpr char kRotateOk[] = "citadel-test-sm-rotate-ok";
constexpr char kRotateFailsAtSet[] = "citadel-test-sm-rotate-fails-at-set";

/// A rotation function in the shape of AWS's templates: createSecret stores "rotated-<token>",
/// finishSecret moves AWSCURRENT. `fail_set` makes setSecret fail.
Result<json::value> rotate(const runtime::Invocation& inv, const json::value& event,
                           bool fail_set) {
  runtime::SecretVersions* sv = inv.clients.secrets;
  if (!sv) return runtime::functionError("ValueError", "no secrets client");
  std::string arn(event.at("SecretId").as_string());
  std::string token(event.at("ClientRequestToken").as_string());
  std::string step(event.at("Step").as_string());
  if (step == "createSecret") {
    if (sv->getValue(arn, token, "AWSPENDING").ok()) return json::value(nullptr);
    TRY_VOID(sv->putPending(arn, token, "rotated-" + token));
  } else if (step == "setSecret") {
    if (fail_set) return runtime::functionError("ValueError", "setSecret: cannot log in");
  } else if (step == "finishSecret") {
    TRY_ASSIGN(auto d, sv->describe(arn));
    std::string current;
    for (const auto& [v, stages] : d.version_stages)
      for (const auto& s : stages)
        if (s == "AWSCURRENT") current = v;
    TRY_VOID(sv->updateStage(arn, "AWSCURRENT", token, current));
  }
  return json::value(nullptr);
}

runtime::BuiltinFunction rotateOk() {
  return {kRotateOk, "test rotation", [](const runtime::Invocation& inv, const json::value& ev) {
            return rotate(inv, ev, false);
          }};
}
runtime::BuiltinFunction rotateFailsAtSet() {
  return {
      kRotateFailsAtSet, "test rotation failing at setSecret",
      [](const runtime::Invocation& inv, const json::value& ev) { return rotate(inv, ev, true); }};
}
CITADEL_REGISTER_FUNCTION(rotateOk);
CITADEL_REGISTER_FUNCTION(rotateFailsAtSet);

// --- the world ------------------------------------------------------------------------------

/// Counts the transactions begun.
class CountingStore : public store::Store {
 public:
  explicit CountingStore(const std::string& path) : inner(store::openSqlite(path)) {}
  std::unique_ptr<store::Tx> begin(bool write) override {
    ++begins;
    return inner->begin(write);
  }
  void migrate(const std::vector<store::Migration>& m) override { inner->migrate(m); }
  std::string_view backend() const override { return inner->backend(); }
  std::unique_ptr<store::Store> inner;
  std::atomic<int> begins{0};
};

/// A temporary directory removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/citadel-sm-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct World {
  CountingStore db;
  crypto::Barrier barrier{std::string(32, 'k')};
  audit::EventStore events{db};
  runtime::Identity identity{db, barrier};
  runtime::Services services{db, barrier, events, identity, runtime::RuntimeConfig{}};
  const std::string account = "111122223333";
  const std::string region = "eu-west-3";

  explicit World(const std::string& dir) : db(dir + "/citadel.db") {
    // Link both services' registrations (their service.cc) so invokeAs finds KMS and the
    // registry knows Secrets Manager (its reset hook).
    static auto* volatile keep_kms = &kms::migrations;
    static auto* volatile keep_sm = &batchGetSecretValue;
    (void)keep_kms;
    (void)keep_sm;
    std::vector<store::Migration> all = services.migrations();
    for (auto& x : kms::migrations()) all.push_back(x);
    for (auto& x : migrations()) all.push_back(x);
    std::vector<store::Migration> unique;
    for (auto& x : all) {
      bool dup = false;
      for (auto& y : unique) dup = dup || (y.component == x.component && y.version == x.version);
      if (!dup) unique.push_back(x);
    }
    db.migrate(unique);
    registerJobs(services);
    services.scheduler.registerKind(kms::kDeleteKeyJob, kms::runDeleteKeyJob);
  }
  ~World() {
    events.flush();
    Clock::setOffsetMillis(0);
    clearCache();
    kms::keyCache().clear();
  }

  std::unique_ptr<runtime::RequestContext> ctx(bool read_only) {
    auto c = std::make_unique<runtime::RequestContext>();
    c->services = &services;
    c->account_id = account;
    c->region = region;
    c->time = Clock::now();
    c->read_only = read_only;
    c->principal.type = runtime::Principal::Type::kRoot;
    c->principal.arn = "arn:aws:iam::" + account + ":root";
    c->principal.account_id = account;
    return c;
  }

  /// Runs a handler as the pipeline does (commit on success, rollback otherwise).
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

  std::string value(const std::string& id, const std::string& stage = "") {
    json::object in{{"SecretId", id}};
    if (!stage.empty()) in["VersionStage"] = stage;
    auto out = call(getSecretValue, in, true);
    if (!out.ok()) return "error:" + out.error().code;
    return std::string(out->at("SecretString").as_string());
  }

  std::map<std::string, std::vector<std::string>> stages(const std::string& id) {
    auto out = call(describeSecret, json::object{{"SecretId", id}}, true);
    std::map<std::string, std::vector<std::string>> m;
    if (!out.ok()) return m;
    for (const auto& [k, v] : out->at("VersionIdsToStages").as_object())
      for (const auto& s : v.as_array()) m[std::string(k)].emplace_back(s.as_string());
    return m;
  }

  std::string currentVersion(const std::string& id) {
    for (const auto& [v, s] : stages(id))
      for (const auto& x : s)
        if (x == "AWSCURRENT") return v;
    return {};
  }

  int64_t count(const std::string& sql) {
    auto tx = db.begin(false);
    return tx->query(sql)[0].integer(0);
  }

  std::vector<std::string> eventNames(const std::string& name) {
    events.flush();
    audit::LookupQuery q;
    q.account_id = account;
    q.region = region;
    q.attribute_key = "EventName";
    q.attribute_value = name;
    std::vector<std::string> out;
    auto page = events.lookup(q);
    if (page.ok())
      for (const auto& e : page->events) out.push_back(e.record_json);
    return out;
  }
};

std::string fnArn(const World& w, const char* name) {
  return "arn:aws:lambda:" + w.region + ":" + w.account + ":function:" + name;
}

// --- tests ----------------------------------------------------------------------------------

TEST(SecretsManagerService, ValuesAreStoredOnlyAsKmsWrappedCiphertext) {
  TempDir dir;
  World w(dir.path);
  const std::string secret = "top-secret-value-0123456789";
  auto out = w.call(createSecret, json::object{{"Name", "db/a"}, {"SecretString", secret}});
  ASSERT_TRUE(out.ok()) << out.error().message;
  std::string arn(out->at("ARN").as_string());
  {
    auto tx = w.db.begin(false);
    auto rows = tx->query("SELECT encrypted_key, sealed, kms_key_arn FROM sm_versions");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].text(1).find(secret), std::string::npos);
    EXPECT_GT(rows[0].text(1).size(), secret.size());
    EXPECT_EQ(rows[0].text(0).find(secret), std::string::npos);
    EXPECT_NE(rows[0].text(2).find(":kms:eu-west-3:111122223333:key/"), std::string::npos);
  }
  EXPECT_EQ(w.value("db/a"), secret);
  // A tampered envelope does not open.
  {
    auto tx = w.db.begin(true);
    auto rows = tx->query("SELECT sealed FROM sm_versions");
    std::string sealed = rows[0].text(0);
    sealed[sealed.size() / 2] ^= 0x01;
    tx->exec("UPDATE sm_versions SET sealed = ?", {store::Blob{sealed}});
    tx->commit();
  }
  clearCache();
  EXPECT_EQ(w.value("db/a"), "error:DecryptionFailure");
  // The KMS calls are recorded as invoked by Secrets Manager, with AWS's encryption context.
  auto gdk = w.eventNames("GenerateDataKey");
  ASSERT_EQ(gdk.size(), 1u);
  EXPECT_NE(gdk[0].find("\"invokedBy\":\"secretsmanager.amazonaws.com\""), std::string::npos);
  EXPECT_NE(gdk[0].find(arn), std::string::npos);
  EXPECT_EQ(gdk[0].find(secret), std::string::npos);
}

TEST(SecretsManagerService, GetSecretValueOnACacheHitBeginsNoTransaction) {
  TempDir dir;
  World w(dir.path);
  ASSERT_TRUE(w.call(createSecret, json::object{{"Name", "hot"}, {"SecretString", "v"}}).ok());
  ASSERT_EQ(w.value("hot"), "v");  // fills the caches, records today's access (a change)
  ASSERT_EQ(w.value("hot"), "v");  // refills after that change
  int before = w.db.begins.load();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(w.value("hot"), "v");
  EXPECT_EQ(w.db.begins.load(), before);
  // A change is seen at once (the cache drops the secret after the commit).
  ASSERT_TRUE(
      w.call(putSecretValue, json::object{{"SecretId", "hot"}, {"SecretString", "v2"}}).ok());
  EXPECT_EQ(w.value("hot"), "v2");
  EXPECT_EQ(w.value("hot", "AWSPREVIOUS"), "v");
}

TEST(SecretsManagerService, OldestUnlabeledVersionsGoBeyondOneHundred) {
  TempDir dir;
  World w(dir.path);
  ASSERT_TRUE(w.call(createSecret, json::object{{"Name", "many"}, {"SecretString", "0"}}).ok());
  for (int i = 1; i <= 104; ++i)
    ASSERT_TRUE(w.call(putSecretValue,
                       json::object{{"SecretId", "many"}, {"SecretString", std::to_string(i)}})
                    .ok());
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM sm_versions"), 100);
  EXPECT_EQ(w.value("many"), "104");
  EXPECT_EQ(w.value("many", "AWSPREVIOUS"), "103");
}

TEST(SecretsManagerService, DeletedAfterTheRecoveryWindow) {
  TempDir dir;
  World w(dir.path);
  ASSERT_TRUE(w.call(createSecret, json::object{{"Name", "gone"}, {"SecretString", "x"}}).ok());
  auto del = w.call(deleteSecret, json::object{{"SecretId", "gone"}, {"RecoveryWindowInDays", 7}});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(w.value("gone"), "error:InvalidRequestException");
  w.services.scheduler.runDue();
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM sm_secrets"), 1);
  Clock::setOffsetMillis(int64_t{6} * 86400 * 1000);
  w.services.scheduler.runDue();
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM sm_secrets"), 1);
  Clock::setOffsetMillis(int64_t{7} * 86400 * 1000 + 1000);
  EXPECT_EQ(w.services.scheduler.runDue(), 1);
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM sm_secrets"), 0);
  EXPECT_EQ(w.count("SELECT COUNT(*) FROM sm_versions"), 0);
  EXPECT_EQ(w.value("gone"), "error:ResourceNotFoundException");
  auto deleted = w.eventNames("DeleteSecret");  // the service event (handlers run unaudited here)
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_NE(deleted[0].find("\"eventType\":\"AwsServiceEvent\""), std::string::npos);
  // The name can be used again.
  EXPECT_TRUE(w.call(createSecret, json::object{{"Name", "gone"}, {"SecretString", "y"}}).ok());
}

TEST(SecretsManagerService, RestoreCancelsTheDeletion) {
  TempDir dir;
  World w(dir.path);
  ASSERT_TRUE(w.call(createSecret, json::object{{"Name", "back"}, {"SecretString", "x"}}).ok());
  ASSERT_TRUE(w.call(deleteSecret, json::object{{"SecretId", "back"}}).ok());
  ASSERT_TRUE(w.call(restoreSecret, json::object{{"SecretId", "back"}}).ok());
  Clock::setOffsetMillis(int64_t{31} * 86400 * 1000);
  w.services.scheduler.runDue();
  EXPECT_EQ(w.value("back"), "x");
}

TEST(SecretsManagerService, RotationRunsWhenDueAndSurvivesARestart) {
  TempDir dir;
  std::string first_version;
  {
    World w(dir.path);
    auto out = w.call(createSecret, json::object{{"Name", "rot"}, {"SecretString", "v0"}});
    ASSERT_TRUE(out.ok());
    first_version = std::string(out->at("VersionId").as_string());
    auto r = w.call(rotateSecret,
                    json::object{{"SecretId", "rot"},
                                 {"RotationLambdaARN", fnArn(w, kRotateOk)},
                                 {"RotationRules", json::object{{"AutomaticallyAfterDays", 2}}},
                                 {"RotateImmediately", false}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(w.value("rot"), "v0");  // nothing rotated yet
    {
      auto tx = w.db.begin(false);
      auto jobs = w.services.scheduler.pending(*tx, kRotateJob);
      ASSERT_EQ(jobs.size(), 1u);
    }
    Clock::setOffsetMillis(int64_t{1} * 86400 * 1000);
    w.services.scheduler.runDue();
    EXPECT_EQ(w.value("rot"), "v0");
  }  // the process stops
  World w(dir.path);
  Clock::setOffsetMillis(int64_t{3} * 86400 * 1000);
  EXPECT_GE(w.services.scheduler.runDue(), 1);
  std::string current = w.currentVersion("rot");
  ASSERT_NE(current, first_version);
  EXPECT_EQ(w.value("rot"), "rotated-" + current);
  EXPECT_EQ(w.value("rot", "AWSPREVIOUS"), "v0");
  EXPECT_EQ(w.stages("rot")[current], std::vector<std::string>{"AWSCURRENT"});
  auto d = w.call(describeSecret, json::object{{"SecretId", "rot"}}, true);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->as_object().contains("LastRotatedDate"));
  EXPECT_EQ(w.eventNames("RotationSucceeded").size(), 1u);
  // The next rotation is scheduled two days after this one.
  auto tx = w.db.begin(false);
  auto jobs = w.services.scheduler.pending(*tx, kRotateJob);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_GT(jobs[0].due, Clock::now() + std::chrono::hours(24));
}

TEST(SecretsManagerService, FailingRotationKeepsAwsCurrentAndLeavesAwsPending) {
  TempDir dir;
  World w(dir.path);
  auto out = w.call(createSecret, json::object{{"Name", "bad"}, {"SecretString", "v0"}});
  ASSERT_TRUE(out.ok());
  std::string v0(out->at("VersionId").as_string());
  auto r = w.call(rotateSecret, json::object{{"SecretId", "bad"},
                                             {"RotationLambdaARN", fnArn(w, kRotateFailsAtSet)}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string pending(r->at("VersionId").as_string());
  EXPECT_NE(pending, v0);
  auto st = w.stages("bad");
  EXPECT_EQ(st[v0], std::vector<std::string>{"AWSCURRENT"});
  EXPECT_EQ(st[pending], std::vector<std::string>{"AWSPENDING"});
  EXPECT_EQ(w.value("bad"), "v0");
  EXPECT_EQ(w.value("bad", "AWSPENDING"), "rotated-" + pending);
  auto failed = w.eventNames("RotationFailed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].find("setSecret"), std::string::npos);
  EXPECT_EQ(failed[0].find("rotated-"), std::string::npos);
  // An unknown function fails the same way (recorded, AWSCURRENT intact).
  auto r2 = w.call(rotateSecret, json::object{{"SecretId", "bad"},
                                              {"RotationLambdaARN", fnArn(w, "no-such-fn")}});
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(w.value("bad"), "v0");
  EXPECT_EQ(w.eventNames("RotationFailed").size(), 2u);
}

TEST(SecretsManagerService, ResetDeletesEveryRow) {
  TempDir dir;
  World w(dir.path);
  ASSERT_TRUE(
      w.call(createSecret,
             json::object{{"Name", "r1"},
                          {"SecretString", "x"},
                          {"Tags", json::array{json::object{{"Key", "k"}, {"Value", "v"}}}}})
          .ok());
  ASSERT_TRUE(w.call(deleteSecret, json::object{{"SecretId", "r1"}}).ok());
  ASSERT_EQ(w.value("r1"), "error:InvalidRequestException");
  const runtime::ServiceSpec* spec = w.services.service("secretsmanager");
  ASSERT_TRUE(spec && spec->reset);
  auto tx = w.db.begin(true);
  spec->reset(w.services, *tx);
  tx->commit();
  for (const char* t : {"sm_secrets", "sm_versions", "sm_stages", "sm_tags", "sm_replicas"})
    EXPECT_EQ(w.count(std::string("SELECT COUNT(*) FROM ") + t), 0) << t;
  EXPECT_EQ(w.value("r1"), "error:ResourceNotFoundException");  // the cache was dropped
  auto check = w.db.begin(false);
  EXPECT_TRUE(w.services.scheduler.pending(*check, kDeleteJob).empty());
}

TEST(SecretsManagerPassword, EveryOption) {
  PasswordOptions o;
  for (int i = 0; i < 50; ++i) {
    auto p = randomPassword(o);
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->size(), 32u);
    bool up = false, low = false, dig = false, punct = false;
    for (char c : *p) {
      up |= std::isupper(static_cast<unsigned char>(c)) != 0;
      low |= std::islower(static_cast<unsigned char>(c)) != 0;
      dig |= std::isdigit(static_cast<unsigned char>(c)) != 0;
      punct |= std::ispunct(static_cast<unsigned char>(c)) != 0;
      ASSERT_NE(c, ' ');
    }
    EXPECT_TRUE(up && low && dig && punct) << *p;
  }
  o.length = 4;
  o.exclude_characters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  auto p = randomPassword(o);
  ASSERT_TRUE(p.ok());  // two types left: digits and punctuation
  o.length = 1;
  EXPECT_EQ(randomPassword(o).error().code, "InvalidParameterException");
  o.require_each_included_type = false;
  EXPECT_TRUE(randomPassword(o).ok());
  PasswordOptions none;
  none.exclude_numbers = none.exclude_punctuation = none.exclude_uppercase =
      none.exclude_lowercase = true;
  EXPECT_EQ(randomPassword(none).error().code, "InvalidParameterException");
  none.include_space = true;
  none.require_each_included_type = true;
  auto spaces = randomPassword(none);
  ASSERT_TRUE(spaces.ok());
  EXPECT_EQ(*spaces, std::string(32, ' '));
}

}  // namespace
}  // namespace citadel::secretsmanager
