#pragma once
/// The storage interface. SQLite (embedded, WAL) implements it now; a PostgreSQL backend can
/// implement the same interface later. SQL uses '?' placeholders and a portable subset
/// (INTEGER, REAL, TEXT, BLOB, PRIMARY KEY, UNIQUE, indexes, ON CONFLICT ... DO ...).
/// Failures other than constraint violations throw store::StoreError; the request pipeline
/// catches it at its edge, rolls back and answers InternalFailure.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace citadel::store {

/// Raw bytes bound or read as a BLOB column.
struct Blob {
  std::string bytes;
};

/// A bound parameter or a column value.
using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;

/// Thrown for I/O, corruption, busy timeouts and misuse — never for constraint violations.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One result row.
class Row {
 public:
  explicit Row(std::vector<Value> cols) : cols_(std::move(cols)) {}
  size_t size() const { return cols_.size(); }
  bool isNull(size_t i) const { return std::holds_alternative<std::monostate>(cols_.at(i)); }
  int64_t integer(size_t i) const;        ///< 0 for NULL
  double real(size_t i) const;            ///< 0 for NULL
  std::string text(size_t i) const;       ///< "" for NULL; blob bytes for BLOB
  const Value& at(size_t i) const { return cols_.at(i); }

 private:
  std::vector<Value> cols_;
};

/// Outcome of a statement that may violate a constraint.
enum class ExecStatus { kOk, kConstraint };

/// A transaction. Destroyed without commit() = rolled back.
class Tx {
 public:
  virtual ~Tx() = default;
  /// Runs a statement; kConstraint on UNIQUE/PK/CHECK violation (nothing applied).
  virtual ExecStatus exec(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  /// Runs a query and returns every row.
  virtual std::vector<Row> query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  /// Rows changed by the last exec.
  virtual int64_t changes() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  virtual bool writable() const = 0;

  /// Runs `fn` once this transaction has committed (never when it rolls back): caches drop
  /// entries there, so no reader can re-cache the state from before the change.
  void afterCommit(std::function<void()> fn) { after_commit_.push_back(std::move(fn)); }

 protected:
  /// Implementations call this right after a successful COMMIT.
  void runAfterCommit() {
    auto fns = std::move(after_commit_);
    after_commit_.clear();
    for (auto& fn : fns) fn();
  }

 private:
  std::vector<std::function<void()>> after_commit_;
};

/// A schema migration: applied once, in order of version, inside one transaction.
struct Migration {
  std::string component;  ///< "core", "audit", "kms" ... versions are per component
  int version;
  std::string sql;        ///< one or more statements separated by ';'
  /// Runs after `sql`, in the same transaction: for data moves SQL cannot express.
  std::function<void(Tx&)> then = nullptr;
};

/// A database.
class Store {
 public:
  virtual ~Store() = default;
  /// Begins a transaction. Write transactions are serialized (one writer at a time); read
  /// transactions see a consistent snapshot and may run concurrently.
  virtual std::unique_ptr<Tx> begin(bool write) = 0;
  /// Applies the migrations not yet applied (tracked in a schema_migrations table).
  virtual void migrate(const std::vector<Migration>& migrations) = 0;
  /// Backend name: "sqlite" / "postgresql".
  virtual std::string_view backend() const = 0;
};

/// Opens (creating if needed) an SQLite database file with WAL, foreign keys, busy timeout
/// and prepared-statement caching. ":memory:" is accepted for tests.
std::unique_ptr<Store> openSqlite(const std::string& path);

}  // namespace citadel::store
