#include "services/functions/postgres_rotation.h"

#include <libpq-fe.h>

#include <boost/json.hpp>
#include <cctype>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "crypto/crypto.h"
#include "runtime/functions.h"

namespace citadel::functions {

const char kPostgresSingleUser[] = "citadel-builtin-postgresql-single-user";
const char kPostgresAlternatingUsers[] = "citadel-builtin-postgresql-alternating-users";
const char kPostgresExcludeCharacters[] = "/@\"'\\";

namespace {

namespace json = boost::json;
using runtime::Invocation;
using runtime::SecretVersions;

enum class Strategy { kSingleUser, kAlternatingUsers };

constexpr char kCloneSuffix[] = "_clone";
constexpr size_t kMaxIdentifier = 63;  // PostgreSQL's NAMEDATALEN - 1

// --- errors -------------------------------------------------------------------------------
// The Python templates' exception types become the error codes (Lambda's errorType).
AwsError valueError(std::string message) {
  return runtime::functionError("ValueError", std::move(message));
}
AwsError keyError(std::string message) {
  return runtime::functionError("KeyError", std::move(message));
}
/// A failed login: the AWS-worded error; libpq's reason (host, port, user, never the password)
/// goes to the log for the operator.
AwsError loginError(std::string message, const std::string& why) {
  std::string reason = why;
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
  log::warn("rotation login failed", {{"reason", reason}});
  return valueError(std::move(message));
}

// --- the secret's JSON ----------------------------------------------------------------------

/// A PostgreSQL secret: the parsed JSON object (connection fields plus whatever else it
/// carries, kept when a new version is written). The destructor wipes the password.
struct DbSecret {
  json::object fields;

  std::string str(const char* key) const {
    const json::value* v = fields.if_contains(key);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  }
  std::string host() const { return str("host"); }
  std::string username() const { return str("username"); }
  std::string password() const { return str("password"); }
  std::string dbname() const {
    std::string d = str("dbname");
    return d.empty() ? "postgres" : d;
  }
  std::string port() const {
    const json::value* v = fields.if_contains("port");
    if (!v) return "5432";
    if (v->is_int64()) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    if (v->is_double()) return std::to_string(static_cast<long long>(v->get_double()));
    if (v->is_string()) return std::string(v->get_string());
    return "5432";
  }
  /// AWS: "ssl" true = TLS required, false = no TLS, absent or anything else = TLS when the
  /// server offers it (the templates try TLS, then fall back).
  const char* sslmode() const {
    const json::value* v = fields.if_contains("ssl");
    if (v && v->is_bool()) return v->get_bool() ? "require" : "disable";
    if (v && v->is_string()) {
      std::string s(v->get_string());
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (s == "true") return "require";
      if (s == "false") return "disable";
    }
    return "prefer";
  }
  std::string serialize() const { return json::serialize(fields); }
};

/// Parses and checks a PostgreSQL secret value (never quoting the value in an error).
Result<DbSecret> parseSecret(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return valueError("The " + what + " is not a JSON object");
  DbSecret s{std::move(v.as_object())};
  const json::value* engine = s.fields.if_contains("engine");
  if (!engine || !engine->is_string() || engine->get_string() != "postgres")
    return keyError(
        "Database engine must be set to 'postgres' in order to use this rotation "
        "function (" +
        what + ")");
  for (const char* key : {"host", "username", "password"}) {
    const json::value* f = s.fields.if_contains(key);
    if (!f || !f->is_string() || (f->get_string().empty() && std::string(key) != "password"))
      return keyError(std::string(key) + " key is missing from secret JSON (" + what + ")");
  }
  return s;
}

/// One version of a secret, parsed; `what` names it in errors ("AWSCURRENT secret of <arn>").
Result<DbSecret> getSecret(SecretVersions& sv, const std::string& arn,
                           const std::string& version_id, const std::string& stage) {
  std::string what = stage + " secret of " + arn;
  TRY_ASSIGN(std::string text, sv.getValue(arn, version_id, stage));
  auto parsed = parseSecret(text, what);
  crypto::wipe(text);
  return parsed;
}

/// Like getSecret, but a missing version is nullopt (AWSPREVIOUS may not exist yet).
Result<std::optional<DbSecret>> getOptionalSecret(SecretVersions& sv, const std::string& arn,
                                                  const std::string& stage) {
  auto text = sv.getValue(arn, "", stage);
  if (!text.ok()) {
    if (text.error().code == "ResourceNotFoundException") return std::optional<DbSecret>();
    return std::move(text).error();
  }
  auto parsed = parseSecret(*text, stage + " secret of " + arn);
  crypto::wipe(*text);
  if (!parsed.ok()) return std::move(parsed).error();
  return std::optional<DbSecret>(std::move(*parsed));
}

// --- libpq ----------------------------------------------------------------------------------

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

/// Logs in with a secret's credentials; null when the login (or the connection) fails. The
/// reason goes to the log line, never the password.
Conn connect(const DbSecret& s, std::string* why = nullptr) {
  std::string host = s.host(), port = s.port(), user = s.username(), password = s.password(),
              dbname = s.dbname();
  const char* keys[] = {"host",
                        "port",
                        "user",
                        "password",
                        "dbname",
                        "sslmode",
                        "connect_timeout",
                        "passfile",
                        "application_name",
                        "client_encoding",
                        nullptr};
  const char* values[] = {host.c_str(),       port.c_str(), user.c_str(), password.c_str(),
                          dbname.c_str(),     s.sslmode(),  "5",          "/dev/null",
                          "citadel-rotation", "UTF8",       nullptr};
  Conn conn(PQconnectdbParams(keys, values, /*expand_dbname=*/0));
  crypto::wipe(password);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    if (why) *why = conn ? PQerrorMessage(conn.get()) : "out of memory";
    return nullptr;
  }
  return conn;
}

/// The first line of the server's (or libpq's) error, without the statement text.
std::string pgError(PGconn* conn, PGresult* res) {
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = primary ? primary : PQerrorMessage(conn);
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
  return msg;
}

/// Runs a statement with text parameters (passed out of band, never spliced into SQL).
/// `label` names the statement in errors (the SQL may carry a password verifier).
Result<PgResult> exec(PGconn* conn, const std::string& sql, const std::vector<std::string>& args,
                      const std::string& label) {
  std::vector<const char*> params;
  for (const auto& a : args) params.push_back(a.c_str());
  PgResult res(PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr,
                            params.data(), nullptr, nullptr, 0));
  auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    return valueError(label + " failed: " + pgError(conn, res.get()));
  return res;
}

/// A quoted identifier (PQescapeIdentifier).
Result<std::string> quoteIdent(PGconn* conn, const std::string& name) {
  char* q = PQescapeIdentifier(conn, name.data(), name.size());
  if (!q) return valueError("cannot quote the role name: " + pgError(conn, nullptr));
  std::string out(q);
  PQfreemem(q);
  return out;
}

/// `PASSWORD '<verifier>'`: the password is hashed client-side into the server's
/// password_encryption format (SCRAM-SHA-256 by default), so the clear password never travels
/// in a statement the server might log, then quoted with PQescapeLiteral.
Result<std::string> passwordClause(PGconn* conn, const std::string& user,
                                   const std::string& password) {
  char* verifier = PQencryptPasswordConn(conn, password.c_str(), user.c_str(), nullptr);
  if (!verifier) return valueError("cannot hash the new password: " + pgError(conn, nullptr));
  char* lit = PQescapeLiteral(conn, verifier, std::strlen(verifier));
  PQfreemem(verifier);
  if (!lit) return valueError("cannot quote the new password: " + pgError(conn, nullptr));
  std::string out = std::string("PASSWORD ") + lit;
  PQfreemem(lit);
  return out;
}

/// Sets `user`'s password (ALTER ROLE) in the connection `conn`.
Result<void> alterPassword(PGconn* conn, const std::string& user, const std::string& password) {
  TRY_ASSIGN(std::string ident, quoteIdent(conn, user));
  TRY_ASSIGN(std::string clause, passwordClause(conn, user, password));
  TRY_ASSIGN(auto res, exec(conn, "ALTER ROLE " + ident + " WITH " + clause, {},
                            "ALTER ROLE " + ident + " WITH PASSWORD"));
  return okResult();
}

// --- the steps -------------------------------------------------------------------------------

struct Step {
  SecretVersions& sv;
  std::string arn;    ///< the secret's ARN (from DescribeSecret)
  std::string token;  ///< ClientRequestToken: the pending version's id
  Strategy strategy;
};

std::string alternateUser(const std::string& user) {
  size_t n = sizeof(kCloneSuffix) - 1;
  if (user.size() > n && user.compare(user.size() - n, n, kCloneSuffix) == 0)
    return user.substr(0, user.size() - n);
  return user + kCloneSuffix;
}

/// createSecret: a new password (and, alternating, the other user) stored as AWSPENDING under
/// the token, unless that version already has a value.
Result<void> createSecret(const Step& s) {
  TRY_ASSIGN(DbSecret current, getSecret(s.sv, s.arn, "", "AWSCURRENT"));
  auto pending = s.sv.getValue(s.arn, s.token, "AWSPENDING");
  if (pending.ok()) {
    crypto::wipe(*pending);
    return okResult();  // already created: idempotent
  }
  if (pending.error().code != "ResourceNotFoundException") return std::move(pending).error();

  DbSecret next = current;
  if (s.strategy == Strategy::kAlternatingUsers) {
    std::string user = alternateUser(current.username());
    if (user.size() > kMaxIdentifier)
      return valueError("The alternate user name " + user + " is longer than " +
                        std::to_string(kMaxIdentifier) + " characters");
    next.fields["username"] = user;
  }
  TRY_ASSIGN(std::string password, s.sv.randomPassword(kPostgresExcludeCharacters));
  next.fields["password"] = password;
  crypto::wipe(password);
  std::string text = next.serialize();
  auto put = s.sv.putPending(s.arn, s.token, text);
  crypto::wipe(text);
  return put;
}

/// setSecret, single user: the role changes its own password, logged in with AWSCURRENT (or
/// AWSPREVIOUS, when the password was already changed but not yet finished).
Result<void> setSingleUser(const Step& s) {
  TRY_ASSIGN(DbSecret current, getSecret(s.sv, s.arn, "", "AWSCURRENT"));
  TRY_ASSIGN(DbSecret pending, getSecret(s.sv, s.arn, s.token, "AWSPENDING"));
  TRY_ASSIGN(std::optional<DbSecret> previous, getOptionalSecret(s.sv, s.arn, "AWSPREVIOUS"));

  if (connect(pending)) return okResult();  // the password is already set: idempotent

  if (pending.username() != current.username())
    return valueError("Attempting to modify user " + pending.username() +
                      " other than current user " + current.username());
  if (pending.host() != current.host())
    return valueError("Attempting to modify user for host " + pending.host() +
                      " other than current host " + current.host());

  std::string why;
  Conn conn = connect(current, &why);
  if (!conn && previous && previous->username() == current.username() &&
      previous->host() == current.host())
    conn = connect(*previous, &why);
  if (!conn)
    return loginError(
        "Unable to log into database with previous, current, or pending secret of secret arn " +
            s.arn,
        why);
  return alterPassword(conn.get(), pending.username(), pending.password());
}

/// setSecret, alternating users: the master creates the pending user (a member of the current
/// one) or changes its password.
Result<void> setAlternatingUsers(const Step& s) {
  TRY_ASSIGN(DbSecret current, getSecret(s.sv, s.arn, "", "AWSCURRENT"));
  TRY_ASSIGN(DbSecret pending, getSecret(s.sv, s.arn, s.token, "AWSPENDING"));

  if (connect(pending)) return okResult();  // already set: idempotent

  std::string why;
  if (!connect(current, &why))
    return loginError("Unable to log into database using current credentials for secret " + s.arn,
                      why);
  std::string master_arn = current.str("masterarn");
  if (master_arn.empty()) return keyError("masterarn key is missing from secret JSON");
  TRY_ASSIGN(DbSecret master, getSecret(s.sv, master_arn, "", "AWSCURRENT"));
  if (master.host() != current.host())
    return valueError("Current database host " + current.host() +
                      " is not the same host as the master's " + master.host());
  master.fields["dbname"] = current.dbname();  // the master works in the user's database
  if (pending.host() != current.host())
    return valueError("Attempting to modify user for host " + pending.host() +
                      " other than current host " + current.host());

  Conn conn = connect(master, &why);
  if (!conn)
    return loginError(
        "Unable to log into database using credentials in master secret " + master_arn, why);
  PGconn* c = conn.get();
  const std::string user = pending.username();
  TRY_ASSIGN(std::string pending_ident, quoteIdent(c, user));
  TRY_ASSIGN(std::string current_ident, quoteIdent(c, current.username()));
  TRY_ASSIGN(std::string clause, passwordClause(c, user, pending.password()));

  TRY_ASSIGN(auto begin, exec(c, "BEGIN", {}, "BEGIN"));
  auto work = [&]() -> Result<void> {
    TRY_ASSIGN(auto exists, exec(c, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", {user},
                                 "looking up role " + pending_ident));
    if (PQntuples(exists.get()) == 0) {
      TRY_ASSIGN(auto created, exec(c, "CREATE ROLE " + pending_ident + " WITH LOGIN " + clause, {},
                                    "CREATE ROLE " + pending_ident + " WITH LOGIN PASSWORD"));
      TRY_ASSIGN(auto granted, exec(c, "GRANT " + current_ident + " TO " + pending_ident, {},
                                    "GRANT " + current_ident + " TO " + pending_ident));
    } else {
      TRY_ASSIGN(auto altered, exec(c, "ALTER ROLE " + pending_ident + " WITH " + clause, {},
                                    "ALTER ROLE " + pending_ident + " WITH PASSWORD"));
    }
    TRY_ASSIGN(auto committed, exec(c, "COMMIT", {}, "COMMIT"));
    return okResult();
  };
  auto r = work();
  if (!r.ok()) PgResult(PQexec(c, "ROLLBACK"));
  return r;
}

/// testSecret: the pending credentials log in and run a query.
Result<void> testSecret(const Step& s) {
  TRY_ASSIGN(DbSecret pending, getSecret(s.sv, s.arn, s.token, "AWSPENDING"));
  std::string why;
  Conn conn = connect(pending, &why);
  if (!conn)
    return loginError("Unable to log into database with pending secret of secret ARN " + s.arn,
                      why);
  TRY_ASSIGN(auto res, exec(conn.get(), "SELECT 1", {}, "SELECT 1"));
  if (PQntuples(res.get()) != 1 || std::string(PQgetvalue(res.get(), 0, 0)) != "1")
    return valueError("SELECT 1 with the pending secret of " + s.arn + " returned no row");
  return okResult();
}

/// finishSecret: AWSCURRENT moves to the token's version (AWSPREVIOUS follows, by Secrets
/// Manager's rules).
Result<void> finishSecret(const Step& s) {
  TRY_ASSIGN(auto desc, s.sv.describe(s.arn));
  std::string current_version;
  for (const auto& [version, stages] : desc.version_stages)
    for (const auto& stage : stages)
      if (stage == "AWSCURRENT") current_version = version;
  if (current_version == s.token) return okResult();  // already finished: idempotent
  return s.sv.updateStage(s.arn, "AWSCURRENT", s.token, current_version);
}

const char* strategyName(Strategy st) {
  return st == Strategy::kSingleUser ? kPostgresSingleUser : kPostgresAlternatingUsers;
}

/// The Lambda handler: checks the event and the secret's rotation state as AWS's templates do,
/// then runs the step. Every error names the step.
Result<json::value> handle(Strategy strategy, const Invocation& inv, const json::value& event) {
  auto field = [&](const char* key) -> std::string {
    const json::value* v = event.is_object() ? event.as_object().if_contains(key) : nullptr;
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  std::string secret_id = field("SecretId"), token = field("ClientRequestToken"),
              step = field("Step");
  for (auto [name, value] : {std::pair{"SecretId", &secret_id},
                             std::pair{"ClientRequestToken", &token}, std::pair{"Step", &step}})
    if (value->empty()) return keyError("The event has no " + std::string(name));
  SecretVersions* sv = inv.clients.secrets;
  auto fail = [&](AwsError e) {
    e.message = step + ": " + e.message;
    if (e.extra.empty()) e.extra.emplace_back("FunctionError", "Unhandled");
    log::warn("rotation step failed", {{"function", strategyName(strategy)},
                                       {"step", step},
                                       {"secret", secret_id},
                                       {"error", e.code}});
    return e;
  };
  if (!sv) return fail(valueError("This function rotates secrets: it needs Secrets Manager"));

  auto desc = sv->describe(secret_id);
  if (!desc.ok()) return fail(std::move(desc).error());
  const std::string& arn = desc->arn.empty() ? secret_id : desc->arn;
  if (!desc->rotation_enabled)
    return fail(valueError("Secret " + arn + " is not enabled for rotation"));
  auto it = desc->version_stages.find(token);
  if (it == desc->version_stages.end())
    return fail(valueError("Secret version " + token + " has no stage for rotation of secret " +
                           arn + "."));
  auto has = [&](const char* stage) {
    for (const auto& s : it->second)
      if (s == stage) return true;
    return false;
  };
  if (has("AWSCURRENT")) return json::value(nullptr);  // already rotated to this version
  if (!has("AWSPENDING"))
    return fail(valueError("Secret version " + token +
                           " not set as AWSPENDING for rotation of "
                           "secret " +
                           arn + "."));

  Step s{*sv, arn, token, strategy};
  Result<void> r = okResult();
  if (step == "createSecret")
    r = createSecret(s);
  else if (step == "setSecret")
    r = strategy == Strategy::kSingleUser ? setSingleUser(s) : setAlternatingUsers(s);
  else if (step == "testSecret")
    r = testSecret(s);
  else if (step == "finishSecret")
    r = finishSecret(s);
  else
    return fail(valueError("Invalid step parameter " + step));
  if (!r.ok()) return fail(std::move(r).error());
  log::info("rotation step done",
            {{"function", strategyName(strategy)}, {"step", step}, {"secret", arn}});
  return json::value(nullptr);
}

runtime::BuiltinFunction singleUser() {
  return {kPostgresSingleUser,
          "Rotates a PostgreSQL role's password with its own credentials (single user)",
          [](const Invocation& inv, const json::value& event) {
            return handle(Strategy::kSingleUser, inv, event);
          }};
}

runtime::BuiltinFunction alternatingUsers() {
  return {kPostgresAlternatingUsers,
          "Rotates between a PostgreSQL role and its _clone with master credentials "
          "(alternating users)",
          [](const Invocation& inv, const json::value& event) {
            return handle(Strategy::kAlternatingUsers, inv, event);
          }};
}

}  // namespace

CITADEL_REGISTER_FUNCTION(singleUser);
CITADEL_REGISTER_FUNCTION(alternatingUsers);

}  // namespace citadel::functions
