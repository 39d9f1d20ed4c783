// SQLite backend of the storage interface: WAL, one serialized writer connection, a pool of
// reader connections (each read transaction is a consistent snapshot), prepared statements
// cached per connection by SQL text.

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/time.h"
#include "store/store.h"

namespace citadel::store {

// ---- Row --------------------------------------------------------------------------------

int64_t Row::integer(size_t i) const {
  const Value& v = cols_.at(i);
  if (auto* p = std::get_if<int64_t>(&v)) return *p;
  if (auto* p = std::get_if<double>(&v)) return static_cast<int64_t>(*p);
  if (auto* p = std::get_if<std::string>(&v)) {
    int64_t out = 0;
    std::from_chars(p->data(), p->data() + p->size(), out);
    return out;
  }
  return 0;
}

double Row::real(size_t i) const {
  const Value& v = cols_.at(i);
  if (auto* p = std::get_if<double>(&v)) return *p;
  if (auto* p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  if (auto* p = std::get_if<std::string>(&v)) {
    try {
      return std::stod(*p);
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

std::string Row::text(size_t i) const {
  const Value& v = cols_.at(i);
  if (auto* p = std::get_if<std::string>(&v)) return *p;
  if (auto* p = std::get_if<Blob>(&v)) return p->bytes;
  if (auto* p = std::get_if<int64_t>(&v)) return std::to_string(*p);
  if (auto* p = std::get_if<double>(&v)) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, *p);
    return std::string(buf, r.ptr);
  }
  return {};
}

namespace {

constexpr int kBusyTimeoutMs = 10000;
constexpr size_t kMaxIdleReaders = 16;

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : "out of memory";
  throw StoreError(msg);
}

bool isConstraint(int rc) { return (rc & 0xff) == SQLITE_CONSTRAINT; }

/// One sqlite3 connection and its statement cache.
class Conn {
 public:
  Conn(const std::string& path, int flags) {
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = "sqlite open '" + path + "': " +
                        (db_ ? std::string(sqlite3_errmsg(db_)) : std::string(sqlite3_errstr(rc)));
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw StoreError(msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  }
  ~Conn() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  sqlite3* db() const { return db_; }

  /// Runs one or more statements without parameters (pragmas, BEGIN/COMMIT, migrations).
  void execScript(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = "sqlite exec: ";
      msg += err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw StoreError(msg);
    }
  }

  /// Runs one parameterless statement through the statement cache (BEGIN, COMMIT and the
  /// snapshot read run on every transaction: no re-parsing).
  void execCached(std::string_view sql) {
    sqlite3_stmt* stmt = prepare(sql);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) fail(db_, "sqlite exec '" + std::string(sql) + "'");
  }

  /// The cached prepared statement for sql (prepared on first use).
  sqlite3_stmt* prepare(std::string_view sql) {
    auto it = cache_.find(sql);  // heterogeneous: no copy of the text per call
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) fail(db_, "sqlite prepare '" + std::string(sql) + "'");
    if (stmt == nullptr) throw StoreError("sqlite prepare: empty statement");
    if (tail != nullptr &&
        std::string_view(tail).find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      sqlite3_finalize(stmt);
      throw StoreError("sqlite prepare: more than one statement in '" + std::string(sql) + "'");
    }
    cache_.emplace(std::string(sql), stmt);
    return stmt;
  }

 private:
  sqlite3* db_ = nullptr;
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, sqlite3_stmt*, TextHash, std::equal_to<>> cache_;
};

/// Resets a statement and clears its bindings on every way out.
class StmtGuard {
 public:
  explicit StmtGuard(sqlite3_stmt* s) : s_(s) {}
  ~StmtGuard() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtGuard(const StmtGuard&) = delete;
  StmtGuard& operator=(const StmtGuard&) = delete;

 private:
  sqlite3_stmt* s_;
};

void bindAll(sqlite3* db, sqlite3_stmt* stmt, const std::vector<Value>& params) {
  int expected = sqlite3_bind_parameter_count(stmt);
  if (expected != static_cast<int>(params.size())) {
    throw StoreError("sqlite bind: statement expects " + std::to_string(expected) +
                     " parameters, got " + std::to_string(params.size()));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i) + 1;
    int rc = std::visit(
        [&](const auto& v) -> int {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            return sqlite3_bind_null(stmt, idx);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            return sqlite3_bind_int64(stmt, idx, v);
          } else if constexpr (std::is_same_v<T, double>) {
            return sqlite3_bind_double(stmt, idx, v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            // The params outlive the statement's execution: no copy needed.
            return sqlite3_bind_text64(stmt, idx, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
          } else {
            if (v.bytes.empty()) return sqlite3_bind_zeroblob(stmt, idx, 0);
            return sqlite3_bind_blob64(stmt, idx, v.bytes.data(), v.bytes.size(), SQLITE_STATIC);
          }
        },
        params[i]);
    if (rc != SQLITE_OK) fail(db, "sqlite bind");
  }
}

Value columnValue(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return sqlite3_column_int64(stmt, i);
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt, i);
    case SQLITE_TEXT: {
      auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
    }
    case SQLITE_BLOB: {
      auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      size_t n = static_cast<size_t>(sqlite3_column_bytes(stmt, i));
      return Blob{p ? std::string(p, n) : std::string()};
    }
    default:
      return std::monostate{};
  }
}

class SqliteStore;

/// A transaction on one connection; owns the connection (or the writer lock) until it ends.
class SqliteTx final : public Tx {
 public:
  SqliteTx(SqliteStore& store, Conn* conn, bool write, std::unique_lock<std::mutex> lock)
      : store_(store), conn_(conn), write_(write), lock_(std::move(lock)) {}
  ~SqliteTx() override;

  ExecStatus exec(std::string_view sql, const std::vector<Value>& params) override {
    Conn& c = live();
    sqlite3_stmt* stmt = c.prepare(sql);
    StmtGuard guard(stmt);
    bindAll(c.db(), stmt, params);
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) continue;
      if (rc == SQLITE_DONE) break;
      if (isConstraint(rc)) {
        changes_ = 0;
        return ExecStatus::kConstraint;
      }
      fail(c.db(), "sqlite step");
    }
    changes_ = sqlite3_changes64(c.db());
    return ExecStatus::kOk;
  }

  std::vector<Row> query(std::string_view sql, const std::vector<Value>& params) override {
    Conn& c = live();
    sqlite3_stmt* stmt = c.prepare(sql);
    StmtGuard guard(stmt);
    bindAll(c.db(), stmt, params);
    std::vector<Row> rows;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) fail(c.db(), "sqlite step");
      // Read after the step: a schema change re-prepares the statement during the step.
      const int ncol = sqlite3_column_count(stmt);
      std::vector<Value> cols;
      cols.reserve(static_cast<size_t>(ncol));
      for (int i = 0; i < ncol; ++i) cols.push_back(columnValue(stmt, i));
      rows.emplace_back(std::move(cols));
    }
    return rows;
  }

  int64_t changes() override { return changes_; }

  void commit() override {
    Conn& c = live();
    try {
      c.execCached("COMMIT");
    } catch (...) {
      end(false);
      throw;
    }
    end(true);
    runAfterCommit();
  }

  void rollback() override {
    if (conn_ == nullptr) return;
    end(false);
  }

  bool writable() const override { return write_; }

  /// Runs a multi-statement script (migrations) inside this transaction.
  void script(const std::string& sql) { live().execScript(sql); }

 private:
  Conn& live() {
    if (conn_ == nullptr) throw StoreError("transaction already ended");
    return *conn_;
  }
  void end(bool committed);

  SqliteStore& store_;
  Conn* conn_;
  bool write_;
  std::unique_lock<std::mutex> lock_;
  int64_t changes_ = 0;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::string& path) : memory_(path == ":memory:") {
    if (memory_) {
      // One connection serves every transaction (readers included), serialized by mu_.
      writer_ = std::make_unique<Conn>(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
      configure(*writer_, true);
      return;
    }
    path_ = path;
    preparePrivateFile(path_);
    writer_ = std::make_unique<Conn>(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    configure(*writer_, true);
    // WAL and shared-memory files are created by sqlite with the database file's mode; make
    // sure of it in case they pre-existed.
    for (const char* suffix : {"-wal", "-shm"}) {
      std::string f = path_ + suffix;
      if (::access(f.c_str(), F_OK) == 0) ::chmod(f.c_str(), S_IRUSR | S_IWUSR);
    }
  }

  ~SqliteStore() override {
    idle_readers_.clear();
    writer_.reset();
  }

  std::unique_ptr<Tx> begin(bool write) override {
    if (memory_ || write) {
      if (writer_owner_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
        throw StoreError(memory_ ? "nested transaction on an in-memory store"
                                 : "nested write transaction on the same thread");
      }
      std::unique_lock<std::mutex> lock(writer_mu_);
      writer_owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
      try {
        writer_->execCached(write ? "BEGIN IMMEDIATE" : "BEGIN");
      } catch (...) {
        writer_owner_.store(std::thread::id(), std::memory_order_relaxed);
        throw;
      }
      return std::make_unique<SqliteTx>(*this, writer_.get(), write, std::move(lock));
    }
    Conn* reader = acquireReader();
    try {
      reader->execCached("BEGIN");
      // Start the snapshot now (a deferred BEGIN takes it at the first read).
      reader->execCached("SELECT 1 FROM sqlite_schema LIMIT 1");
    } catch (...) {
      releaseReader(reader, false);
      throw;
    }
    return std::make_unique<SqliteTx>(*this, reader, false, std::unique_lock<std::mutex>());
  }

  void migrate(const std::vector<Migration>& migrations) override {
    // Components in order of first appearance; versions ascending within each.
    std::map<std::string, size_t> first_seen;
    for (const auto& m : migrations) first_seen.emplace(m.component, first_seen.size());
    std::vector<const Migration*> order;
    for (const auto& m : migrations) order.push_back(&m);
    std::stable_sort(order.begin(), order.end(), [&](const Migration* a, const Migration* b) {
      size_t ca = first_seen[a->component], cb = first_seen[b->component];
      if (ca != cb) return ca < cb;
      return a->version < b->version;
    });
    // Every pending migration in one transaction: all of them apply or none (a fresh data
    // directory is created with one commit, which keeps start-up short).
    auto tx = begin(true);
    tx->exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations("
        "component TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL, "
        "PRIMARY KEY(component, version))");
    std::set<std::pair<std::string, int64_t>> applied;
    for (const auto& row : tx->query("SELECT component, version FROM schema_migrations")) {
      applied.emplace(row.text(0), row.integer(1));
    }
    const int64_t now = toEpochMillis(Clock::now());
    for (const Migration* m : order) {
      // A migration listed twice (worlds that combine services' lists) applies once.
      if (!applied.emplace(m->component, int64_t{m->version}).second) continue;
      try {
        static_cast<SqliteTx&>(*tx).script(m->sql);
        if (m->then) m->then(*tx);
      } catch (const StoreError& e) {
        throw StoreError("migration " + m->component + "/" + std::to_string(m->version) +
                         " failed: " + e.what());
      }
      tx->exec("INSERT INTO schema_migrations(component, version, applied_at) VALUES (?, ?, ?)",
               {m->component, int64_t{m->version}, now});
    }
    tx->commit();
  }

  std::string_view backend() const override { return "sqlite"; }

  /// Called by SqliteTx when it ends.
  void finished(Conn* conn, bool write_conn, bool healthy) {
    if (conn == writer_.get()) {
      writer_owner_.store(std::thread::id(), std::memory_order_relaxed);
      return;
    }
    releaseReader(conn, healthy);
  }

 private:
  static void configure(Conn& c, bool writer) {
    c.execScript("PRAGMA foreign_keys = ON");
    if (writer) {
      c.execScript("PRAGMA journal_mode = WAL");
      c.execScript("PRAGMA synchronous = NORMAL");
      // The writer touches every index of every hot table: keep their upper levels cached.
      c.execScript("PRAGMA cache_size = -16384");
    } else {
      c.execScript("PRAGMA query_only = ON");
    }
    c.execScript("PRAGMA temp_store = MEMORY");
  }

  /// Creates the database file 0600 if missing, and tightens it if it exists.
  static void preparePrivateFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0) {
      throw StoreError("sqlite open '" + path + "': " + std::strerror(errno));
    }
    ::fchmod(fd, S_IRUSR | S_IWUSR);
    ::close(fd);
  }

  Conn* acquireReader() {
    {
      std::lock_guard<std::mutex> lk(pool_mu_);
      if (!idle_readers_.empty()) {
        Conn* c = idle_readers_.back().release();
        idle_readers_.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<Conn>(path_, SQLITE_OPEN_READWRITE);
    configure(*c, false);
    return c.release();
  }

  void releaseReader(Conn* c, bool healthy) {
    std::unique_ptr<Conn> owned(c);
    if (!healthy) return;
    std::lock_guard<std::mutex> lk(pool_mu_);
    if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(owned));
  }

  bool memory_;
  std::string path_;
  std::mutex writer_mu_;
  std::atomic<std::thread::id> writer_owner_{};
  std::unique_ptr<Conn> writer_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Conn>> idle_readers_;
};

SqliteTx::~SqliteTx() {
  if (conn_ != nullptr) end(false);
}

void SqliteTx::end(bool committed) {
  Conn* c = conn_;
  conn_ = nullptr;
  bool healthy = true;
  if (!committed) {
    // ROLLBACK fails only when sqlite already rolled back (e.g. after an I/O error) or the
    // connection is broken; either way the transaction is over.
    if (sqlite3_get_autocommit(c->db()) == 0) {
      char* err = nullptr;
      if (sqlite3_exec(c->db(), "ROLLBACK", nullptr, nullptr, &err) != SQLITE_OK) healthy = false;
      sqlite3_free(err);
    }
  }
  store_.finished(c, write_, healthy);
  if (lock_.owns_lock()) lock_.unlock();
}

}  // namespace

std::unique_ptr<Store> openSqlite(const std::string& path) {
  return std::make_unique<SqliteStore>(path);
}

}  // namespace citadel::store
