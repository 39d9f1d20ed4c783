#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "../temp_dir.h"
#include "store/store.h"

namespace citadel::store {
namespace {

namespace fs = std::filesystem;

using citadel::testing::TempDir;

std::vector<Migration> kvMigrations() {
  return {
      {"test", 1, "CREATE TABLE kv(k TEXT PRIMARY KEY, v TEXT NOT NULL)"},
      {"test", 2,
       "CREATE TABLE counts(k TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0));"
       "INSERT INTO counts(k, n) VALUES ('seed', 1)"},
  };
}

TEST(SqliteStore, CommitIsVisibleAndRollbackIsNot) {
  auto db = openSqlite(":memory:");
  EXPECT_EQ(db->backend(), "sqlite");
  db->migrate(kvMigrations());
  {
    auto tx = db->begin(true);
    EXPECT_TRUE(tx->writable());
    EXPECT_EQ(tx->exec("INSERT INTO kv(k, v) VALUES (?, ?)", {std::string("a"), std::string("1")}),
              ExecStatus::kOk);
    EXPECT_EQ(tx->changes(), 1);
    tx->commit();
  }
  {
    auto tx = db->begin(true);
    tx->exec("INSERT INTO kv(k, v) VALUES (?, ?)", {std::string("b"), std::string("2")});
    tx->rollback();
  }
  {
    auto tx = db->begin(true);
    tx->exec("INSERT INTO kv(k, v) VALUES (?, ?)", {std::string("c"), std::string("3")});
    // destroyed without commit: rolled back
  }
  auto tx = db->begin(false);
  EXPECT_FALSE(tx->writable());
  auto rows = tx->query("SELECT k, v FROM kv ORDER BY k");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text(0), "a");
  EXPECT_EQ(rows[0].text(1), "1");
}

TEST(SqliteStore, ConstraintViolationIsAStatusAndAppliesNothing) {
  auto db = openSqlite(":memory:");
  db->migrate(kvMigrations());
  auto tx = db->begin(true);
  ASSERT_EQ(tx->exec("INSERT INTO kv(k, v) VALUES ('x', 'first')"), ExecStatus::kOk);
  EXPECT_EQ(tx->exec("INSERT INTO kv(k, v) VALUES ('x', 'second')"), ExecStatus::kConstraint);
  EXPECT_EQ(tx->exec("INSERT INTO kv(k, v) VALUES ('y', NULL)"), ExecStatus::kConstraint);
  EXPECT_EQ(tx->exec("UPDATE counts SET n = -1 WHERE k = 'seed'"), ExecStatus::kConstraint);
  // The transaction is still usable after a constraint violation.
  EXPECT_EQ(tx->exec("INSERT INTO kv(k, v) VALUES ('z', 'ok')"), ExecStatus::kOk);
  tx->commit();
  auto rd = db->begin(false);
  auto rows = rd->query("SELECT k, v FROM kv ORDER BY k");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text(1), "first");
  EXPECT_EQ(rows[1].text(0), "z");
  EXPECT_EQ(rd->query("SELECT n FROM counts WHERE k = 'seed'")[0].integer(0), 1);
}

TEST(SqliteStore, OtherFailuresThrowStoreError) {
  auto db = openSqlite(":memory:");
  auto tx = db->begin(true);
  EXPECT_THROW(tx->exec("INSERT INTO no_such_table VALUES (1)"), StoreError);
  EXPECT_THROW(tx->query("SELEC nonsense"), StoreError);
  EXPECT_THROW(tx->exec("SELECT ?", {}), StoreError);  // parameter count mismatch
  tx->commit();
  EXPECT_THROW(tx->exec("SELECT 1"), StoreError);  // transaction already ended
}

TEST(SqliteStore, ValuesRoundTripWithTypes) {
  auto db = openSqlite(":memory:");
  auto tx = db->begin(true);
  tx->exec("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)");
  std::string bytes("\x00\x01\xff", 3);
  tx->exec("INSERT INTO t VALUES (?, ?, ?, ?, ?)",
           {int64_t{-42}, 2.5, std::string("h\xc3\xa9"), Blob{bytes}, std::monostate{}});
  auto rows = tx->query("SELECT i, r, s, b, n FROM t");
  ASSERT_EQ(rows.size(), 1u);
  const Row& row = rows[0];
  EXPECT_EQ(row.integer(0), -42);
  EXPECT_DOUBLE_EQ(row.real(1), 2.5);
  EXPECT_EQ(row.text(2), "h\xc3\xa9");
  ASSERT_TRUE(std::holds_alternative<Blob>(row.at(3)));
  EXPECT_EQ(row.text(3), bytes);
  EXPECT_TRUE(row.isNull(4));
  EXPECT_EQ(row.integer(4), 0);
  EXPECT_EQ(row.text(4), "");
  EXPECT_EQ(row.text(0), "-42");
}

TEST(SqliteStore, StatementCacheSurvivesSchemaChange) {
  auto db = openSqlite(":memory:");
  auto tx = db->begin(true);
  tx->exec("CREATE TABLE t(a INTEGER)");
  tx->exec("INSERT INTO t VALUES (?)", {int64_t{1}});
  EXPECT_EQ(tx->query("SELECT * FROM t").at(0).size(), 1u);
  tx->exec("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'");
  auto rows = tx->query("SELECT * FROM t");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].size(), 2u);
  EXPECT_EQ(rows[0].text(1), "x");
}

TEST(SqliteStore, NestedTransactionOnInMemoryStoreThrowsInsteadOfDeadlocking) {
  auto db = openSqlite(":memory:");
  auto tx = db->begin(true);
  EXPECT_THROW(db->begin(false), StoreError);
  EXPECT_THROW(db->begin(true), StoreError);
}

TEST(SqliteStore, MigrationsApplyOnceAndSurviveReopen) {
  TempDir dir;
  const std::string path = dir.file("citadel.db");
  {
    auto db = openSqlite(path);
    db->migrate(kvMigrations());
    db->migrate(kvMigrations());  // second run applies nothing (would fail: table exists)
    auto tx = db->begin(true);
    tx->exec("INSERT INTO kv(k, v) VALUES ('persist', 'yes')");
    tx->commit();
  }
  auto db = openSqlite(path);
  auto more = kvMigrations();
  more.push_back({"test", 3, "ALTER TABLE kv ADD COLUMN extra TEXT"});
  more.push_back({"other", 1, "CREATE TABLE other_t(x INTEGER)"});
  db->migrate(more);
  auto tx = db->begin(false);
  auto rows = tx->query("SELECT v FROM kv WHERE k = 'persist'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text(0), "yes");
  auto applied =
      tx->query("SELECT component, version FROM schema_migrations ORDER BY component, version");
  ASSERT_EQ(applied.size(), 4u);
  EXPECT_EQ(applied[0].text(0), "other");
  EXPECT_EQ(applied[3].integer(1), 3);
  // The seed row of migration 2 was inserted exactly once.
  EXPECT_EQ(tx->query("SELECT COUNT(*) FROM counts").at(0).integer(0), 1);
}

TEST(SqliteStore, FailedMigrationIsRolledBackAndNotRecorded) {
  TempDir dir;
  auto db = openSqlite(dir.file("m.db"));
  // Pending migrations apply together: a failure leaves none of them, nor their records.
  std::vector<Migration> bad = {
      {"good", 1, "CREATE TABLE fine(x INTEGER)"},
      {"bad", 1, "CREATE TABLE half(x INTEGER); INSERT INTO nowhere VALUES (1)"}};
  EXPECT_THROW(db->migrate(bad), StoreError);
  {
    auto tx = db->begin(false);
    EXPECT_TRUE(tx->query("SELECT name FROM sqlite_schema WHERE name IN ('half', 'fine', "
                          "'schema_migrations')")
                    .empty());
  }
  // Fixed, the same set applies.
  bad[1].sql = "CREATE TABLE half(x INTEGER)";
  db->migrate(bad);
  auto tx = db->begin(false);
  EXPECT_EQ(tx->query("SELECT name FROM sqlite_schema WHERE name IN ('half', 'fine')").size(), 2u);
  EXPECT_EQ(tx->query("SELECT 1 FROM schema_migrations").size(), 2u);
}

TEST(SqliteStore, FilesArePrivate) {
  TempDir dir;
  const std::string path = dir.file("private.db");
  auto db = openSqlite(path);
  db->migrate(kvMigrations());
  {
    auto tx = db->begin(true);
    tx->exec("INSERT INTO kv(k, v) VALUES ('a', 'b')");
    tx->commit();
  }
  int checked = 0;
  for (const std::string& f : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    if (::stat(f.c_str(), &st) != 0) continue;
    ++checked;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  EXPECT_GE(checked, 2);  // the database and its WAL at least
}

TEST(SqliteStore, ReadersSeeASnapshotWhileAWriterCommits) {
  TempDir dir;
  auto db = openSqlite(dir.file("snap.db"));
  db->migrate(kvMigrations());
  {
    auto tx = db->begin(true);
    tx->exec("INSERT INTO kv(k, v) VALUES ('a', 'old')");
    tx->commit();
  }
  auto reader = db->begin(false);
  EXPECT_EQ(reader->query("SELECT v FROM kv WHERE k = 'a'")[0].text(0), "old");
  {
    // A write transaction proceeds while the read transaction is open.
    auto tx = db->begin(true);
    tx->exec("UPDATE kv SET v = 'new' WHERE k = 'a'");
    // Uncommitted changes are invisible to another reader.
    auto other = db->begin(false);
    EXPECT_EQ(other->query("SELECT v FROM kv WHERE k = 'a'")[0].text(0), "old");
    tx->commit();
  }
  EXPECT_EQ(reader->query("SELECT v FROM kv WHERE k = 'a'")[0].text(0), "old");
  reader->commit();
  auto fresh = db->begin(false);
  EXPECT_EQ(fresh->query("SELECT v FROM kv WHERE k = 'a'")[0].text(0), "new");
  // Read transactions refuse writes.
  EXPECT_THROW(fresh->exec("INSERT INTO kv(k, v) VALUES ('no', 'no')"), StoreError);
}

TEST(SqliteStore, ConcurrentWritersAreSerializedAndReadersRunAlongside) {
  TempDir dir;
  auto db = openSqlite(dir.file("conc.db"));
  db->migrate({{"t", 1,
                "CREATE TABLE c(id INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
                "INSERT INTO c(id, n) VALUES (1, 0)"}});
  constexpr int kWriters = 4, kIncrements = 200;
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<bool> monotonic{true};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto tx = db->begin(true);
        int64_t n = tx->query("SELECT n FROM c WHERE id = 1")[0].integer(0);
        tx->exec("UPDATE c SET n = ? WHERE id = 1", {n + 1});
        tx->commit();
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&] {
      int64_t last = 0;
      while (!done.load()) {
        auto tx = db->begin(false);
        int64_t n = tx->query("SELECT n FROM c WHERE id = 1")[0].integer(0);
        if (n < last) monotonic = false;
        last = n;
        ++reads;
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  done = true;
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();
  auto tx = db->begin(false);
  // Lost updates would show if write transactions were not serialized.
  EXPECT_EQ(tx->query("SELECT n FROM c WHERE id = 1")[0].integer(0), kWriters * kIncrements);
  EXPECT_TRUE(monotonic.load());
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace citadel::store

namespace citadel::store {
namespace {

TEST(SqliteStoreHooks, AfterCommitRunsOnlyOnCommit) {
  auto db = openSqlite(":memory:");
  int ran = 0;
  {
    auto tx = db->begin(true);
    tx->afterCommit([&] { ++ran; });
    tx->rollback();
  }
  EXPECT_EQ(ran, 0);
  {
    auto tx = db->begin(true);
    tx->afterCommit([&] { ++ran; });
    tx->afterCommit([&] { ran += 10; });
    EXPECT_EQ(ran, 0);
    tx->commit();
  }
  EXPECT_EQ(ran, 11);
}

}  // namespace
}  // namespace citadel::store
