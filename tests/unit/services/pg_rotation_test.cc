// The built-in PostgreSQL rotation functions against a real PostgreSQL server that the test
// starts (tests/e2e/pg.py). Only Secrets Manager is stood in for, by the in-memory
// RotationTestSecretStore below (test scaffolding for the SecretVersions interface, which the
// Secrets Manager service implements for real).

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdio.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "audit/audit.h"
#include "crypto/barrier.h"
#include "runtime/functions.h"
#include "runtime/identity.h"
#include "runtime/services.h"
#include "services/functions/postgres_rotation.h"

namespace citadel::functions {
namespace {

namespace json = boost::json;
using runtime::SecretVersions;

constexpr char kAccount[] = "111122223333";
constexpr char kRegion[] = "us-east-1";

// --- Secrets Manager stand-in -------------------------------------------------------------

/// In-memory secret versions with AWS's staging-label rules, just enough to drive rotation.
class RotationTestSecretStore : public SecretVersions {
 public:
  struct Version {
    std::optional<std::string> value;
    std::set<std::string> stages;
  };
  struct Secret {
    std::string arn;
    bool rotation_enabled = false;
    std::map<std::string, Version> versions;
  };

  /// Creates a secret whose AWSCURRENT version `version` holds `value`; returns its ARN.
  std::string create(const std::string& name, const std::string& value,
                     const std::string& version = "v-initial") {
    std::string arn = std::string("arn:aws:secretsmanager:") + kRegion + ":" + kAccount +
                      ":secret:" + name + "-AbCdEf";
    secrets_[arn].arn = arn;
    secrets_[arn].versions[version] = Version{value, {"AWSCURRENT"}};
    return arn;
  }
  /// What RotateSecret does before invoking createSecret: rotation on, the token's version
  /// exists with AWSPENDING and no value.
  void beginRotation(const std::string& arn, const std::string& token) {
    Secret& s = secrets_.at(arn);
    s.rotation_enabled = true;
    for (auto& [id, v] : s.versions) v.stages.erase("AWSPENDING");
    s.versions[token].stages.insert("AWSPENDING");
  }
  /// What Secrets Manager does when the four steps succeeded: AWSPENDING is dropped.
  void endRotation(const std::string& arn) {
    for (auto& [id, v] : secrets_.at(arn).versions) v.stages.erase("AWSPENDING");
  }
  Secret& secret(const std::string& arn) { return secrets_.at(arn); }
  /// The version id carrying a stage ("" when none).
  std::string versionWith(const std::string& arn, const std::string& stage) {
    for (const auto& [id, v] : secrets_.at(arn).versions)
      if (v.stages.count(stage)) return id;
    return "";
  }
  json::object currentValue(const std::string& arn) {
    return json::parse(*secrets_.at(arn).versions.at(versionWith(arn, "AWSCURRENT")).value)
        .as_object();
  }

  Result<Description> describe(const std::string& secret_id) override {
    TRY_ASSIGN(Secret * s, find(secret_id));
    Description d{s->arn, s->rotation_enabled, {}};
    for (const auto& [id, v] : s->versions)
      if (!v.stages.empty()) d.version_stages[id] = {v.stages.begin(), v.stages.end()};
    return d;
  }
  Result<std::string> getValue(const std::string& secret_id, const std::string& version_id,
                               const std::string& stage) override {
    TRY_ASSIGN(Secret * s, find(secret_id));
    for (const auto& [id, v] : s->versions) {
      if (!version_id.empty() && id != version_id) continue;
      if (!stage.empty() && !v.stages.count(stage)) continue;
      if (v.value) return *v.value;
    }
    return notFound("Secrets Manager can't find the specified secret value for VersionId: " +
                    version_id + " VersionStage: " + stage);
  }
  Result<void> putPending(const std::string& secret_id, const std::string& token,
                          const std::string& value) override {
    TRY_ASSIGN(Secret * s, find(secret_id));
    Version& v = s->versions[token];
    if (v.value && *v.value != value)
      return AwsError{"ResourceExistsException", "A version with this token exists", 400, true, {}};
    v.value = value;
    for (auto& [id, other] : s->versions) other.stages.erase("AWSPENDING");
    v.stages.insert("AWSPENDING");
    ++puts;
    return okResult();
  }
  Result<void> updateStage(const std::string& secret_id, const std::string& stage,
                           const std::string& move_to, const std::string& remove_from) override {
    TRY_ASSIGN(Secret * s, find(secret_id));
    for (auto& [id, v] : s->versions)
      if (v.stages.count(stage) && id != remove_from)
        return AwsError{"InvalidParameterException", "stage is attached elsewhere", 400, true, {}};
    if (!s->versions.count(move_to)) return notFound("no version " + move_to);
    if (!remove_from.empty()) s->versions[remove_from].stages.erase(stage);
    s->versions[move_to].stages.insert(stage);
    if (stage == "AWSCURRENT" && !remove_from.empty()) {
      for (auto& [id, v] : s->versions) v.stages.erase("AWSPREVIOUS");
      s->versions[remove_from].stages.insert("AWSPREVIOUS");
    }
    return okResult();
  }

  int puts = 0;

 private:
  static AwsError notFound(std::string m) {
    return AwsError{"ResourceNotFoundException", std::move(m), 400, true, {}};
  }
  Result<Secret*> find(const std::string& id) {
    for (auto& [arn, s] : secrets_)
      if (arn == id || arn.find(":secret:" + id + "-") != std::string::npos) return &s;
    return notFound("Secrets Manager can't find the specified secret.");
  }
  std::map<std::string, Secret> secrets_;
};

// --- a real PostgreSQL --------------------------------------------------------------------

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

const std::string kPgPy = PYTHON3 " " CITADEL_SOURCE_DIR "/tests/e2e/pg.py";

struct PgServer {
  std::string host, port, superuser, password, base_dir;
};
PgServer* g_pg = nullptr;

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

PgConn login(const std::string& user, const std::string& password,
             const std::string& dbname = "postgres") {
  const char* keys[] = {"host", "port", "user", "password", "dbname", "passfile", nullptr};
  const char* values[] = {g_pg->host.c_str(), g_pg->port.c_str(), user.c_str(), password.c_str(),
                          dbname.c_str(),     "/dev/null",        nullptr};
  PgConn c(PQconnectdbParams(keys, values, 0));
  if (PQstatus(c.get()) != CONNECTION_OK) return nullptr;
  return c;
}

bool canLogin(const std::string& user, const std::string& password) {
  return login(user, password) != nullptr;
}

/// Runs SQL as `user` (the superuser by default); returns the first column of the first row,
/// or "ERROR: ..." on failure.
std::string sql(const std::string& statement, const std::string& user = "",
                const std::string& password = "") {
  PgConn c = user.empty() ? login(g_pg->superuser, g_pg->password) : login(user, password);
  if (!c) return "ERROR: cannot log in";
  PGresult* r = PQexec(c.get(), statement.c_str());
  std::string out;
  auto st = PQresultStatus(r);
  if (st == PGRES_TUPLES_OK && PQntuples(r) > 0)
    out = PQgetvalue(r, 0, 0);
  else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    out = std::string("ERROR: ") + PQresultErrorMessage(r);
  PQclear(r);
  return out;
}

std::string quoteLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}
std::string quoteIdent(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

class PgRotationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system((kPgPy + " available").c_str()) != 0) return;
    std::string out = run(kPgPy + " start");
    boost::system::error_code ec;
    json::value v = json::parse(out, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.as_object();
    g_pg = new PgServer{
        std::string(o.at("host").as_string()), std::to_string(o.at("port").as_int64()),
        std::string(o.at("superuser").as_string()), std::string(o.at("password").as_string()),
        std::string(o.at("base_dir").as_string())};
  }
  static void TearDownTestSuite() {
    if (!g_pg) return;
    (void)std::system((kPgPy + " stop " + g_pg->base_dir).c_str());
    delete g_pg;
    g_pg = nullptr;
  }
  void SetUp() override {
    if (!g_pg) GTEST_SKIP() << "PostgreSQL is not installed (scripts/install-deps.sh)";
    caller_.region = kRegion;
    caller_.account_id = kAccount;
    caller_.services = &services_;
    caller_.request_id = "test";
  }

  /// A role with a password, created fresh for each test (unique names).
  std::string makeRole(const std::string& base, const std::string& password) {
    std::string name = base + "_" + std::to_string(++counter_) + "_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name.size() > 50) name.resize(50);
    EXPECT_EQ(sql("CREATE ROLE " + quoteIdent(name) + " LOGIN PASSWORD " + quoteLiteral(password)),
              "");
    return name;
  }

  std::string secretJson(const std::string& user, const std::string& password,
                         const std::string& masterarn = "") {
    json::object o{{"engine", "postgres"}, {"host", g_pg->host},   {"port", std::stoi(g_pg->port)},
                   {"username", user},     {"password", password}, {"dbname", "postgres"}};
    if (!masterarn.empty()) o["masterarn"] = masterarn;
    return json::serialize(o);
  }

  Result<json::value> step(const std::string& function, const std::string& arn,
                           const std::string& token, const std::string& step_name) {
    json::object event{{"SecretId", arn}, {"ClientRequestToken", token}, {"Step", step_name}};
    return runtime::invoke(services_, caller_, runtime::functionArn(kRegion, kAccount, function),
                           event, runtime::InvocationClients{&store_});
  }

  /// The four steps, as Secrets Manager runs them; the first failure is returned.
  Result<void> rotate(const std::string& function, const std::string& arn,
                      const std::string& token) {
    store_.beginRotation(arn, token);
    for (const char* s : {"createSecret", "setSecret", "testSecret", "finishSecret"}) {
      auto r = step(function, arn, token, s);
      if (!r.ok()) return std::move(r).error();
      EXPECT_TRUE(r->is_null());
    }
    store_.endRotation(arn);
    return okResult();
  }

  std::unique_ptr<store::Store> db_ = store::openSqlite(":memory:");
  crypto::Barrier barrier_{std::string(32, 'k')};
  audit::EventStore events_{*db_};
  runtime::Identity identity_{*db_, barrier_};
  runtime::Services services_{*db_, barrier_, events_, identity_, runtime::RuntimeConfig{}};
  runtime::RequestContext caller_;
  RotationTestSecretStore store_;
  static inline int counter_ = 0;
};

// --- single user --------------------------------------------------------------------------

TEST_F(PgRotationTest, SingleUserNewPasswordLogsInAndOldOneDoesNot) {
  const std::string old_password = "Old-pass-1!";
  std::string user = makeRole("app", old_password);
  std::string arn = store_.create("single", secretJson(user, old_password));

  auto r = rotate(kPostgresSingleUser, arn, "token-1");
  ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;

  json::object now = store_.currentValue(arn);
  std::string new_password(now.at("password").as_string());
  EXPECT_EQ(store_.versionWith(arn, "AWSCURRENT"), "token-1");
  EXPECT_EQ(store_.versionWith(arn, "AWSPREVIOUS"), "v-initial");
  EXPECT_EQ(std::string(now.at("username").as_string()), user);
  EXPECT_EQ(now.at("engine").as_string(), "postgres");
  EXPECT_EQ(new_password.size(), 32u);
  EXPECT_EQ(new_password.find_first_of(kPostgresExcludeCharacters), std::string::npos);
  EXPECT_TRUE(canLogin(user, new_password));
  EXPECT_FALSE(canLogin(user, old_password));
  // The server stored a SCRAM verifier, not the clear password.
  EXPECT_EQ(
      sql("SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = " + quoteLiteral(user)),
      "SCRAM-SHA-256$");

  // A second rotation changes it again.
  ASSERT_TRUE(rotate(kPostgresSingleUser, arn, "token-2").ok());
  std::string third(store_.currentValue(arn).at("password").as_string());
  EXPECT_NE(third, new_password);
  EXPECT_TRUE(canLogin(user, third));
  EXPECT_FALSE(canLogin(user, new_password));
  EXPECT_EQ(store_.versionWith(arn, "AWSPREVIOUS"), "token-1");
}

TEST_F(PgRotationTest, SingleUserEveryStepIsIdempotent) {
  std::string user = makeRole("idem", "first-Pass-9");
  std::string arn = store_.create("idem", secretJson(user, "first-Pass-9"));
  store_.beginRotation(arn, "tok");
  for (const char* s : {"createSecret", "setSecret", "testSecret", "finishSecret"}) {
    auto first = step(kPostgresSingleUser, arn, "tok", s);
    ASSERT_TRUE(first.ok()) << s << ": " << first.error().message;
    auto again = step(kPostgresSingleUser, arn, "tok", s);
    ASSERT_TRUE(again.ok()) << s << " again: " << again.error().message;
  }
  EXPECT_EQ(store_.puts, 1);  // createSecret twice stored one pending value
  std::string password(store_.currentValue(arn).at("password").as_string());
  EXPECT_TRUE(canLogin(user, password));
  EXPECT_FALSE(canLogin(user, "first-Pass-9"));
  // After finishing, the token's version is AWSCURRENT: any step is a no-op.
  EXPECT_TRUE(step(kPostgresSingleUser, arn, "tok", "createSecret").ok());
  EXPECT_EQ(store_.puts, 1);
}

TEST_F(PgRotationTest, SingleUserQuotesOddRoleNamesAndPasswords) {
  const std::string odd = "o'neil \"quoted\"; DROP ROLE x --";
  const std::string old_password = "it's \"odd\" \\ $$";
  EXPECT_EQ(sql("CREATE ROLE " + quoteIdent(odd) + " LOGIN PASSWORD " + quoteLiteral(old_password)),
            "");
  std::string arn = store_.create("odd", secretJson(odd, old_password));
  auto r = rotate(kPostgresSingleUser, arn, "t-odd");
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string password(store_.currentValue(arn).at("password").as_string());
  EXPECT_TRUE(canLogin(odd, password));
  EXPECT_FALSE(canLogin(odd, old_password));
  EXPECT_EQ(sql("DROP ROLE " + quoteIdent(odd)), "");
}

TEST_F(PgRotationTest, SingleUserFallsBackToPreviousWhenCurrentNoLongerWorks) {
  // AWSCURRENT holds a password the database never got; AWSPREVIOUS still works (a rotation
  // that was interrupted and retried, as AWS's template handles).
  std::string user = makeRole("prev", "Works-0ld");
  std::string arn = store_.create("prev", secretJson(user, "Works-0ld"), "v1");
  auto& s = store_.secret(arn);
  s.versions["v1"].stages = {"AWSPREVIOUS"};
  s.versions["v2"] = {secretJson(user, "never-set-Pw1"), {"AWSCURRENT"}};
  auto r = rotate(kPostgresSingleUser, arn, "t3");
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::string password(store_.currentValue(arn).at("password").as_string());
  EXPECT_TRUE(canLogin(user, password));
  EXPECT_FALSE(canLogin(user, "Works-0ld"));
}

TEST_F(PgRotationTest, SingleUserFailureAtSetSecretLeavesCurrentAndNamesTheStep) {
  const std::string real_password = "Real-Pw-42";
  const std::string stored_password = "Stale-Pw-17";
  std::string user = makeRole("stale", real_password);
  std::string arn = store_.create("stale", secretJson(user, stored_password));

  auto r = rotate(kPostgresSingleUser, arn, "t-fail");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ValueError");
  EXPECT_EQ(r.error().message.rfind("setSecret: ", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find(arn), std::string::npos);
  std::string pending(json::parse(*store_.secret(arn).versions.at("t-fail").value)
                          .as_object()
                          .at("password")
                          .as_string());
  for (const std::string& pw : {real_password, stored_password, pending})
    EXPECT_EQ(r.error().message.find(pw), std::string::npos);
  EXPECT_EQ(store_.versionWith(arn, "AWSCURRENT"), "v-initial");
  EXPECT_EQ(std::string(store_.currentValue(arn).at("password").as_string()), stored_password);
  EXPECT_TRUE(canLogin(user, real_password));
  EXPECT_FALSE(canLogin(user, pending));
}

TEST_F(PgRotationTest, TestSecretFailsWhenThePendingPasswordWasNeverSet) {
  std::string user = makeRole("unset", "Unset-Pw-1");
  std::string arn = store_.create("unset", secretJson(user, "Unset-Pw-1"));
  store_.beginRotation(arn, "t");
  ASSERT_TRUE(step(kPostgresSingleUser, arn, "t", "createSecret").ok());
  auto r = step(kPostgresSingleUser, arn, "t", "testSecret");  // setSecret skipped
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("testSecret: ", 0), 0u) << r.error().message;
  EXPECT_EQ(store_.versionWith(arn, "AWSCURRENT"), "v-initial");
}

TEST_F(PgRotationTest, RejectsEventsOutsideARotation) {
  std::string user = makeRole("norot", "Norot-Pw-1");
  std::string arn = store_.create("norot", secretJson(user, "Norot-Pw-1"));
  auto r = step(kPostgresSingleUser, arn, "t", "createSecret");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "createSecret: Secret " + arn + " is not enabled for rotation");
  store_.beginRotation(arn, "t");
  r = step(kPostgresSingleUser, arn, "other-token", "createSecret");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("has no stage for rotation"), std::string::npos);
  r = step(kPostgresSingleUser, arn, "t", "dance");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "dance: Invalid step parameter dance");
}

TEST_F(PgRotationTest, RejectsSecretsThatAreNotPostgres) {
  std::string arn = store_.create("mysql", R"({"engine":"mysql","host":"h","username":"u",)"
                                           R"("password":"SecretPw99"})");
  store_.beginRotation(arn, "t");
  auto r = step(kPostgresSingleUser, arn, "t", "createSecret");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "KeyError");
  EXPECT_EQ(r.error().message.find("SecretPw99"), std::string::npos);
}

// --- alternating users --------------------------------------------------------------------

TEST_F(PgRotationTest, AlternatingUsersCreatesACloneWithTheSameGrants) {
  std::string user = makeRole("alt", "Alt-Pw-1");
  std::string table = "data_" + user;
  ASSERT_EQ(sql("CREATE TABLE " + quoteIdent(table) + " (x int); INSERT INTO " + quoteIdent(table) +
                " VALUES (7); GRANT SELECT ON " + quoteIdent(table) + " TO " + quoteIdent(user)),
            "");
  std::string master = store_.create("master", secretJson(g_pg->superuser, g_pg->password));
  std::string arn = store_.create("alt", secretJson(user, "Alt-Pw-1", master));

  auto r = rotate(kPostgresAlternatingUsers, arn, "a1");
  ASSERT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
  json::object now = store_.currentValue(arn);
  const std::string clone = user + "_clone";
  std::string clone_password(now.at("password").as_string());
  EXPECT_EQ(std::string(now.at("username").as_string()), clone);
  EXPECT_EQ(std::string(now.at("masterarn").as_string()), master);
  EXPECT_TRUE(canLogin(clone, clone_password));
  EXPECT_EQ(sql("SELECT x FROM " + quoteIdent(table), clone, clone_password), "7");
  EXPECT_EQ(
      sql("SELECT pg_has_role(" + quoteLiteral(clone) + ", " + quoteLiteral(user) + ", 'MEMBER')"),
      "t");
  EXPECT_TRUE(canLogin(user, "Alt-Pw-1"));  // the other user keeps working meanwhile

  // The next rotation changes the original user's password and makes it current again.
  r = rotate(kPostgresAlternatingUsers, arn, "a2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  now = store_.currentValue(arn);
  std::string user_password(now.at("password").as_string());
  EXPECT_EQ(std::string(now.at("username").as_string()), user);
  EXPECT_TRUE(canLogin(user, user_password));
  EXPECT_FALSE(canLogin(user, "Alt-Pw-1"));
  EXPECT_TRUE(canLogin(clone, clone_password));
  EXPECT_EQ(sql("SELECT x FROM " + quoteIdent(table), user, user_password), "7");

  // And the third changes the clone's password (it exists: ALTER, not CREATE).
  ASSERT_TRUE(rotate(kPostgresAlternatingUsers, arn, "a3").ok());
  now = store_.currentValue(arn);
  EXPECT_EQ(std::string(now.at("username").as_string()), clone);
  EXPECT_TRUE(canLogin(clone, std::string(now.at("password").as_string())));
  EXPECT_FALSE(canLogin(clone, clone_password));
}

TEST_F(PgRotationTest, AlternatingUsersWrongMasterPasswordFailsAtSetSecret) {
  std::string user = makeRole("altfail", "Altfail-Pw-1");
  const std::string wrong = "Wrong-Master-Pw";
  std::string master = store_.create("badmaster", secretJson(g_pg->superuser, wrong));
  std::string arn = store_.create("altfail", secretJson(user, "Altfail-Pw-1", master));

  auto r = rotate(kPostgresAlternatingUsers, arn, "b1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "ValueError");
  EXPECT_EQ(r.error().message,
            "setSecret: Unable to log into database using credentials in master secret " + master);
  EXPECT_EQ(r.error().message.find(wrong), std::string::npos);
  EXPECT_EQ(store_.versionWith(arn, "AWSCURRENT"), "v-initial");
  EXPECT_EQ(std::string(store_.currentValue(arn).at("username").as_string()), user);
  EXPECT_EQ(sql("SELECT count(*) FROM pg_roles WHERE rolname = " + quoteLiteral(user + "_clone")),
            "0");
  EXPECT_TRUE(canLogin(user, "Altfail-Pw-1"));
}

TEST_F(PgRotationTest, AlternatingUsersNeedsMasterarn) {
  std::string user = makeRole("nomaster", "Nomaster-Pw-1");
  std::string arn = store_.create("nomaster", secretJson(user, "Nomaster-Pw-1"));
  auto r = rotate(kPostgresAlternatingUsers, arn, "c1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "KeyError");
  EXPECT_EQ(r.error().message, "setSecret: masterarn key is missing from secret JSON");
  EXPECT_EQ(store_.versionWith(arn, "AWSCURRENT"), "v-initial");
}

// --- the invocation interface ---------------------------------------------------------------

TEST_F(PgRotationTest, BuiltinsAreAddressedByArnPartialArnOrName) {
  std::string user = makeRole("names", "Names-Pw-1");
  std::string arn = store_.create("names", secretJson(user, "Names-Pw-1"));
  store_.beginRotation(arn, "n1");
  json::object event{{"SecretId", arn}, {"ClientRequestToken", "n1"}, {"Step", "createSecret"}};
  runtime::InvocationClients clients{&store_};
  for (std::string ref : {std::string(kPostgresSingleUser),
                          std::string(kAccount) + ":function:" + kPostgresSingleUser,
                          "arn:aws:lambda:eu-west-1:" + std::string(kAccount) +
                              ":function:" + kPostgresSingleUser + ":$LATEST"}) {
    auto r = runtime::invoke(services_, caller_, ref, event, clients);
    EXPECT_TRUE(r.ok()) << ref << ": " << r.error().message;
  }
  EXPECT_EQ(store_.puts, 1);

  auto missing =
      runtime::invoke(services_, caller_,
                      runtime::functionArn(kRegion, kAccount, "no-such-function"), event, clients);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "ResourceNotFoundException");
  EXPECT_EQ(missing.error().http_status, 404);
  EXPECT_EQ(missing.error().message,
            "Function not found: arn:aws:lambda:us-east-1:111122223333:function:no-such-function");

  auto versioned =
      runtime::invoke(services_, caller_, std::string(kPostgresSingleUser) + ":7", event, clients);
  ASSERT_FALSE(versioned.ok());
  EXPECT_EQ(versioned.error().message,
            "Function not found: arn:aws:lambda:us-east-1:111122223333:function:" +
                std::string(kPostgresSingleUser) + ":7");

  auto bad = runtime::invoke(services_, caller_, "arn:aws:s3:::bucket", event, clients);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "ValidationException");

  auto lonely = runtime::invoke(services_, caller_, kPostgresSingleUser, event);
  ASSERT_FALSE(lonely.ok());  // nothing lent: no Secrets Manager to rotate through
  EXPECT_EQ(lonely.error().code, "ValueError");
  EXPECT_EQ(lonely.error().message.rfind("createSecret: ", 0), 0u);
}

}  // namespace
}  // namespace citadel::functions
