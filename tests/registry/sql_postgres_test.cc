// The PostgreSQL engine (registry/sql/postgres.h) against a throwaway
// PostgreSQL 15 server (pg_server.h): placeholders, redacted connection
// errors, the schema's migrations, transactions, error mapping, history
// sequence numbers under concurrent writers, and a frozen or lost server
// (bounded waits, reconnection, no statement of a lost transaction run
// outside it).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "registry/history.h"
#include "registry/registry.h"
#include "registry/sql/connection.h"
#include "registry/sql/dialect.h"
#include "registry/sql/history.h"
#include "registry/sql/postgres.h"
#include "registry/sql/schema.h"
#include "registry/sql/settings.h"
#include "tests/registry/pg_server.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::testing {
namespace {

using sql::PostgresConnection;

// The server is stopped and its directory removed even when the test
// binary dies without reaching the Environment's tear-down: the test runs
// itself (with REGFS_TEST_PG_DIE set) to start a server and _exit.
TEST(PgServerTest, StoppedAndRemovedWhenTheBinaryDies) {
  if (const char* out = std::getenv("REGFS_TEST_PG_DIE")) {
    auto server = PgServer::Get();
    if (!server) _exit(2);
    std::ofstream(out) << (*server)->socket_dir().parent_path().string();
    _exit(3);  // no tear-down, no destructors
  }
  TempDir tmp;
  const std::string out = (tmp.path() / "dir").string();
  const std::string filter =
      "--gtest_filter=PgServerTest.StoppedAndRemovedWhenTheBinaryDies";
  const pid_t pid = fork();
  if (pid == 0) {
    setenv("REGFS_TEST_PG_DIE", out.c_str(), 1);
    // Its own server, not the ctest fixture's: the one that must go.
    unsetenv(PgServer::kServerFileEnv);
    execl("/proc/self/exe", "child", filter.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 3) << "the child could not start a server";
  std::string dir;
  std::ifstream(out) >> dir;
  ASSERT_FALSE(dir.empty());
  // The reaper stops the server and removes its directory.
  const auto server_running = [&] {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::ifstream cmdline(entry.path() / "cmdline");
      std::string text((std::istreambuf_iterator<char>(cmdline)),
                       std::istreambuf_iterator<char>());
      if (text.starts_with("/usr/lib/postgresql/15/bin/postgres") &&
          text.find(dir + "/data") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((std::filesystem::exists(dir) || server_running()) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir << " left behind";
  EXPECT_FALSE(server_running()) << "a server of " << dir << " still runs";
}

TEST(PostgresPlaceholderTest, RewritesOnlyPlaceholdersOutsideQuotes) {
  struct Case {
    const char* sql;
    const char* want;
  };
  const Case cases[] = {
      {"SELECT 1", "SELECT 1"},
      {"WHERE a = ?1 AND b = ?12", "WHERE a = $1 AND b = $12"},
      {"VALUES (?1,?2)", "VALUES ($1,$2)"},
      {"WHERE a = '?1' AND b = ?2", "WHERE a = '?1' AND b = $2"},
      {"WHERE a = 'it''s ?1' OR b = ?3", "WHERE a = 'it''s ?1' OR b = $3"},
      {"SELECT \"?1\" FROM t WHERE c = ?1", "SELECT \"?1\" FROM t WHERE c = $1"},
      {"SELECT '$.to' WHERE x = ?4", "SELECT '$.to' WHERE x = $4"},
      {"a ? b", "a ? b"},
      {"ends with ?", "ends with ?"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(sql::RewritePlaceholders(c.sql), c.want) << c.sql;
  }
}

TEST(PostgresRedactTest, HidesEveryFormOfPassword) {
  struct Case {
    const char* conninfo;
    const char* want;
  };
  const Case cases[] = {
      {"postgresql://alice:s3cret@db/registry",
       "postgresql://alice:***@db/registry"},
      {"postgres://alice:s3cret@db:5433", "postgres://alice:***@db:5433"},
      {"postgresql://alice@db/registry?password=s3cret&sslmode=require",
       "postgresql://alice@db/registry?password=***&sslmode=require"},
      {"postgresql://alice@db/registry", "postgresql://alice@db/registry"},
      {"host=db user=alice password=s3cret dbname=r",
       "host=db user=alice password=*** dbname=r"},
      {"host=db password = 's3 cret' dbname=r",
       "host=db password = *** dbname=r"},
      {"password='it\\'s' host=db", "password=*** host=db"},
      {"host=db passwordless=1", "host=db passwordless=1"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(sql::RedactConninfo(c.conninfo), c.want) << c.conninfo;
  }
}

TEST(PostgresRedactTest, ConnectionErrorsNeverShowThePassword) {
  const char* cases[] = {
      "postgresql://alice:s3cretpw@/nodb?host=/nonexistent-regfs",
      "host=/nonexistent-regfs user=alice password=s3cretpw dbname=x",
      "host=/nonexistent-regfs password='s3cretpw' port=notaport",
      "host=/nonexistent-regfs password=s3cretpw bogus_option=1",
  };
  for (const char* conninfo : cases) {
    auto db = PostgresConnection::Open(conninfo);
    ASSERT_FALSE(db.has_value()) << conninfo;
    EXPECT_EQ(db.error().code, Code::kIoError);
    EXPECT_EQ(db.error().message.find("s3cretpw"), std::string::npos)
        << db.error().message;
    EXPECT_NE(db.error().message.find("cannot connect"), std::string::npos)
        << db.error().message;
  }
}

// A fresh database on the test server, and a connection to it.
class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = PgServer::Get();
    ASSERT_TRUE(server.has_value())
        << "the test PostgreSQL server did not start: " << Describe(server);
    server_ = *server;
    auto conninfo = server_->CreateDatabase();
    ASSERT_TRUE(conninfo.has_value()) << Describe(conninfo);
    conninfo_ = *conninfo;
    db_ = Connect();
    ASSERT_NE(db_, nullptr);
  }

  std::unique_ptr<PostgresConnection> Connect() {
    auto db = PostgresConnection::Open(conninfo_);
    EXPECT_TRUE(db.has_value()) << Describe(db);
    return db ? std::move(*db) : nullptr;
  }

  sql::Connection& db() { return *db_; }

  PgServer* server_ = nullptr;
  std::string conninfo_;
  std::unique_ptr<PostgresConnection> db_;
};

// The server process behind `conn`.
Result<pid_t> BackendPid(PostgresConnection& conn) {
  REGFS_ASSIGN_OR_RETURN(auto s, conn.Cached("SELECT pg_backend_pid()"));
  REGFS_ASSIGN_OR_RETURN(const int64_t pid, sql::FirstInt64(*s));
  return static_cast<pid_t>(pid);
}

// The first column of `sql`'s first row, with ?1 bound to `arg`, through
// the connection's cache of prepared statements.
Result<int64_t> FirstInt(PostgresConnection& conn, const char* sql,
                         int64_t arg) {
  REGFS_ASSIGN_OR_RETURN(auto s, conn.Cached(sql));
  s->BindInt64(1, arg);
  return sql::FirstInt64(*s);
}

TEST_F(PostgresTest, MigratesAnEmptyDatabaseAndKnowsItsVersion) {
  auto before = sql::schema::Version(db());
  REGFS_ASSERT_OK(before);
  EXPECT_EQ(*before, 0);
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  auto after = sql::schema::Version(db());
  REGFS_ASSERT_OK(after);
  EXPECT_EQ(*after, Registry::kSchemaVersion);
  // Migrating again finds the schema and changes nothing.
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  EXPECT_EQ(sql::schema::Version(db()).value_or(-1), Registry::kSchemaVersion);
  EXPECT_FALSE(db().InTransaction());
}

TEST_F(PostgresTest, MigratesStepByStep) {
  for (int target = 1; target <= Registry::kSchemaVersion; ++target) {
    REGFS_ASSERT_OK(sql::schema::Migrate(db(), target));
    EXPECT_EQ(sql::schema::Version(db()).value_or(-1), target);
  }
}

TEST_F(PostgresTest, RefusesASchemaNewerThanThisProgram) {
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  REGFS_ASSERT_OK(db().Exec("UPDATE schema_version SET version = 99"));
  EXPECT_EQ(CodeOf(sql::schema::Migrate(db())), Code::kCorruption);
}

TEST_F(PostgresTest, StatementsBindStepAndCountChanges) {
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  REGFS_ASSERT_OK(sql::PutSetting(db(), "k", "v1"));
  REGFS_ASSERT_OK(sql::PutSetting(db(), "k", "it's ?1"));
  auto got = sql::GetSetting(db(), "k");
  REGFS_ASSERT_OK(got);
  EXPECT_EQ(*got, "it's ?1");
  EXPECT_EQ(db().Changes(), 1) << "the upsert changed one row";
  auto missing = sql::GetSetting(db(), "none");
  REGFS_ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  auto s = db().Prepare(
      "SELECT ?1 + 1, CAST(?2 AS TEXT), CAST(?3 AS BIGINT) IS NULL, "
      "EXISTS (SELECT 1)");
  REGFS_ASSERT_OK(s);
  (*s)->BindInt64(1, int64_t{41}).BindText(2, "x").BindNull(3);
  auto row = (*s)->Step();
  REGFS_ASSERT_OK(row);
  ASSERT_TRUE(*row);
  EXPECT_EQ((*s)->ColumnInt64(0), 42);
  EXPECT_EQ((*s)->ColumnText(1), "x");
  EXPECT_EQ((*s)->ColumnInt64(2), 1) << "a boolean reads as 1";
  EXPECT_EQ((*s)->ColumnInt64(3), 1);
  EXPECT_FALSE((*s)->Step().value_or(true));
}

TEST_F(PostgresTest, AnUnboundParameterIsNullAsInSqlite) {
  auto s = db().Prepare("SELECT CAST(?2 AS TEXT) IS NULL, ?1 + 0");
  REGFS_ASSERT_OK(s);
  (*s)->BindInt64(1, int64_t{7});
  ASSERT_TRUE((*s)->Step().value_or(false));
  EXPECT_EQ((*s)->ColumnInt64(0), 1);
  EXPECT_EQ((*s)->ColumnInt64(1), 7);
  static constexpr const char* kCached = "SELECT coalesce(?1, 'none')";
  auto cached = db().Cached(kCached);
  REGFS_ASSERT_OK(cached);
  ASSERT_TRUE((*cached)->Step().value_or(false));
  EXPECT_EQ((*cached)->ColumnText(0), "none");
}

// PostgreSQL's text is UTF-8 without NUL, where SQLite takes any bytes: a
// name that is not is refused before the round trip as a name that cannot
// be (InvalidArgument: ENOENT for a lookup through a mount, EINVAL for a
// change), and the transaction it was in goes on.
TEST_F(PostgresTest, TextThatIsNotUtf8IsAnInvalidArgumentNotAServerError) {
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  auto tx = sql::Transaction::Begin(db());
  REGFS_ASSERT_OK(tx);
  for (const std::string& bad :
       {std::string("\xff\xfe"), std::string("a\0b", 3),
        std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
        std::string("\xf4\x90\x80\x80"), std::string("cut\xe2\x82")}) {
    SCOPED_TRACE(::testing::PrintToString(bad));
    auto s = db().Prepare("SELECT CAST(?1 AS TEXT)");
    REGFS_ASSERT_OK(s);
    (*s)->BindText(1, bad);
    auto row = (*s)->Step();
    ASSERT_FALSE(row.has_value());
    EXPECT_EQ(row.error().code, Code::kInvalidArgument) << row.error().message;
  }
  auto s = db().Prepare("SELECT CAST(?1 AS TEXT)");
  REGFS_ASSERT_OK(s);
  (*s)->BindText(1, "modèle-€-𝄞");
  ASSERT_TRUE((*s)->Step().value_or(false));
  EXPECT_EQ((*s)->ColumnText(0), "modèle-€-𝄞");
  REGFS_EXPECT_OK(tx->Commit());
}

TEST_F(PostgresTest, MapsServerErrorsToIoErrorWithTheirMessage) {
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  auto bad = db().Cached("SELECT no_such_column FROM settings");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Code::kIoError);
  EXPECT_NE(bad.error().message.find("no_such_column"), std::string::npos)
      << bad.error().message;

  // A unique violation is an IoError, as SQLite's SQLITE_CONSTRAINT is.
  auto insert = db().Prepare("INSERT INTO roles (principal, role) VALUES (?1, 1)");
  REGFS_ASSERT_OK(insert);
  (*insert)->BindText(1, "alice");
  REGFS_ASSERT_OK((*insert)->Run());
  (*insert)->Reset();
  (*insert)->BindText(1, "alice");
  auto twice = (*insert)->Run();
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().code, Code::kIoError);
  EXPECT_NE(twice.error().message.find("23505"), std::string::npos)
      << twice.error().message;

  // The history refuses changes.
  auto edit = db().Exec("DELETE FROM history");
  ASSERT_FALSE(edit.has_value());
  EXPECT_NE(edit.error().message.find("append-only"), std::string::npos)
      << edit.error().message;
}

TEST_F(PostgresTest, ConnectionLossIsAnIoError) {
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  auto other = Connect();
  ASSERT_NE(other, nullptr);
  auto pid = db().Prepare("SELECT pg_backend_pid()");
  REGFS_ASSERT_OK(pid);
  ASSERT_TRUE((*pid)->Step().value_or(false));
  const int64_t backend = (*pid)->ColumnInt64(0);
  auto kill = other->Prepare("SELECT pg_terminate_backend(?1)");
  REGFS_ASSERT_OK(kill);
  (*kill)->BindInt64(1, backend);
  REGFS_ASSERT_OK((*kill)->Run());
  auto after = sql::GetSetting(db(), "k");
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code, Code::kIoError);
  EXPECT_FALSE(after.error().message.empty());
}

TEST_F(PostgresTest, TransactionsCommitRollBackAndNest) {
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  {
    auto tx = sql::Transaction::Begin(db());
    REGFS_ASSERT_OK(tx);
    EXPECT_TRUE(db().InTransaction());
    REGFS_ASSERT_OK(sql::PutSetting(db(), "gone", "1"));
  }
  EXPECT_FALSE(db().InTransaction());
  EXPECT_FALSE(sql::GetSetting(db(), "gone").value().has_value());
  {
    auto tx = sql::Transaction::Begin(db());
    REGFS_ASSERT_OK(tx);
    REGFS_ASSERT_OK(sql::PutSetting(db(), "kept", "1"));
    {
      auto nested = sql::Transaction::Nested(db());
      REGFS_ASSERT_OK(nested);
      REGFS_ASSERT_OK(sql::PutSetting(db(), "inner", "1"));
    }
    {
      // A failed statement aborts only up to the savepoint.
      auto nested = sql::Transaction::Nested(db());
      REGFS_ASSERT_OK(nested);
      EXPECT_FALSE(db().Exec("SELECT no_such_column FROM settings"));
    }
    REGFS_ASSERT_OK(tx->Commit());
  }
  EXPECT_TRUE(sql::GetSetting(db(), "kept").value().has_value());
  EXPECT_FALSE(sql::GetSetting(db(), "inner").value().has_value());
}

TEST_F(PostgresTest, CommitOfAFailedTransactionFails) {
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  auto tx = sql::Transaction::Begin(db());
  REGFS_ASSERT_OK(tx);
  REGFS_ASSERT_OK(sql::PutSetting(db(), "lost", "1"));
  EXPECT_FALSE(db().Exec("SELECT no_such_column FROM settings"));
  EXPECT_EQ(CodeOf(tx->Commit()), Code::kIoError);
  EXPECT_FALSE(db().InTransaction());
  EXPECT_FALSE(sql::GetSetting(db(), "lost").value().has_value());
}

TEST_F(PostgresTest, AWriteTransactionExcludesOtherWritersFromItsStart) {
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  auto other = Connect();
  ASSERT_NE(other, nullptr);
  auto tx = sql::Transaction::Begin(db());
  REGFS_ASSERT_OK(tx);
  std::atomic<bool> began{false};
  std::thread second([&] {
    auto tx2 = sql::Transaction::Begin(*other);
    began = true;
    if (tx2) (void)tx2->Commit();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(began) << "a second writer began while the first was open";
  REGFS_ASSERT_OK(tx->Commit());
  second.join();
  EXPECT_TRUE(began);
}

TEST_F(PostgresTest, JsonTextFieldReadsAFieldOfAStoredObject) {
  auto field = sql::JsonTextField(sql::Engine::kPostgres, "?1", "to");
  REGFS_ASSERT_OK(field);
  auto stmt = db().Prepare("SELECT " + *field);
  REGFS_ASSERT_OK(stmt);
  (*stmt)->BindText(1, R"({"to":"champion","tag":"x"})");
  ASSERT_TRUE((*stmt)->Step().value_or(false));
  EXPECT_EQ((*stmt)->ColumnText(0), "champion");
  (*stmt)->Reset();
  (*stmt)->BindText(1, R"({"tag":"x"})");
  ASSERT_TRUE((*stmt)->Step().value_or(false));
  EXPECT_TRUE((*stmt)->ColumnIsNull(0));
}

Event MakeEvent(int n) {
  Event e;
  e.time = n;
  e.type = EventType::kTagAdd;
  e.collection = "m";
  e.alias = "";
  e.uid = 0;
  e.user = "root";
  e.interface = Interface::kCli;
  e.detail = nlohmann::json::object({{"tag", std::to_string(n)}});
  return e;
}

// Writers append history rows in parallel transactions, one of them slow
// to commit after taking its seq; a reader polls `seq > last` as a
// follower does. Every row the reader sees comes in seq order with no
// hole, and it sees every row: none that commits late is skipped.
TEST_F(PostgresTest, HistorySeqsAreGapFreeAndInCommitOrder) {
  REGFS_ASSERT_OK(sql::schema::Migrate(db()));
  constexpr int kWriters = 4;
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto conn = Connect();
      if (!conn) {
        ++failures;
        return;
      }
      // Half the writers open a plain transaction, without the write lock
      // of BeginWrite: the counter row alone must order them.
      const bool plain = w % 2 == 1;
      for (int i = 0; i < kEach; ++i) {
        std::optional<sql::Transaction> tx;
        if (plain) {
          if (!conn->Exec("BEGIN")) ++failures;
        } else if (auto begun = sql::Transaction::Begin(*conn)) {
          tx.emplace(std::move(*begun));
        } else {
          ++failures;
        }
        if (!sql::AppendEvent(*conn, MakeEvent(w * 1000 + i))) ++failures;
        // One writer is slow to commit the seq it took.
        if (w == 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!(plain ? conn->Exec("COMMIT") : tx->Commit())) ++failures;
      }
    });
  }
  auto reader = Connect();
  ASSERT_NE(reader, nullptr);
  std::vector<uint64_t> seen;
  uint64_t last = 0;
  auto poll = [&] {
    auto events = sql::QueryHistory(*reader, HistoryFilter{.after_seq = last});
    ASSERT_TRUE(events.has_value()) << Describe(events);
    for (const Event& e : *events) {
      seen.push_back(e.seq);
      last = e.seq;
    }
  };
  std::thread stopper([&] {
    for (auto& t : writers) t.join();
    done = true;
  });
  while (!done) {
    poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stopper.join();
  poll();
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kWriters * kEach));
  for (size_t i = 0; i < seen.size(); ++i) {
    ASSERT_EQ(seen[i], i + 1) << "the reader skipped or reordered a seq";
  }
  EXPECT_EQ(sql::LastSeq(db()).value_or(0),
            static_cast<uint64_t>(kWriters * kEach));
}

// A connection whose server process is frozen (SIGSTOP: it keeps the
// socket open and never answers, as a frozen host does) fails its
// statement within the reply timeout, and the next statement, once the
// server is back, connects again, prepared statements included.
TEST_F(PostgresTest, AFrozenServerFailsCallsInBoundedTimeThenRecovers) {
  auto db = PostgresConnection::Open(
      conninfo_, {.reply_timeout = std::chrono::milliseconds(300)});
  ASSERT_TRUE(db.has_value()) << Describe(db);
  PostgresConnection& conn = **db;
  const auto backend = BackendPid(conn);
  ASSERT_TRUE(backend.has_value()) << Describe(backend);
  ASSERT_TRUE(FirstInt(conn, "SELECT 7 + ?1", 1).has_value());
  const uint64_t generation = conn.generation();

  ASSERT_EQ(::kill(*backend, SIGSTOP), 0);
  const auto start = std::chrono::steady_clock::now();
  const auto frozen = FirstInt(conn, "SELECT 7 + ?1", 2);
  const auto waited = std::chrono::steady_clock::now() - start;
  ::kill(*backend, SIGCONT);
  ASSERT_FALSE(frozen.has_value());
  EXPECT_EQ(frozen.error().code, Code::kIoError);
  EXPECT_NE(frozen.error().message.find("no reply from the database in 300 ms"),
            std::string::npos)
      << frozen.error().message;
  // Bounded: well under the seconds a hang would take (not a timing
  // assertion on speed, only that it did not wait forever).
  EXPECT_LT(waited, std::chrono::seconds(30));

  const auto again = FirstInt(conn, "SELECT 7 + ?1", 3);
  ASSERT_TRUE(again.has_value()) << Describe(again);
  EXPECT_EQ(*again, 10);
  EXPECT_GT(conn.generation(), generation);
  const auto fresh = BackendPid(conn);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_NE(*fresh, *backend);
}

// A connection lost in the middle of a transaction fails the rest of it,
// COMMIT included, instead of running them on a new connection outside
// the transaction; after the rollback, calls connect again.
TEST_F(PostgresTest, ALostTransactionIsNeverCommittedOnANewConnection) {
  ASSERT_TRUE(db().Exec("CREATE TABLE t (x integer)").has_value());
  auto killer = Connect();
  ASSERT_NE(killer, nullptr);
  const auto backend = BackendPid(*db_);
  ASSERT_TRUE(backend.has_value());
  {
    auto tx = sql::Transaction::Begin(db());
    ASSERT_TRUE(tx.has_value()) << Describe(tx);
    ASSERT_TRUE(db().Exec("INSERT INTO t VALUES (1)").has_value());
    ASSERT_TRUE(killer
                    ->Exec("SELECT pg_terminate_backend(" +
                           std::to_string(*backend) + ")")
                    .has_value());
    const auto after = db().Exec("INSERT INTO t VALUES (2)");
    ASSERT_FALSE(after.has_value());
    EXPECT_TRUE(db().InTransaction());
    const auto commit = tx->Commit();
    ASSERT_FALSE(commit.has_value());
    EXPECT_NE(commit.error().message.find("was not committed"),
              std::string::npos)
        << commit.error().message;
  }
  EXPECT_FALSE(db().InTransaction());
  const auto rows = FirstInt(*db_, "SELECT count(*) + ?1 FROM t", 0);
  ASSERT_TRUE(rows.has_value()) << Describe(rows);
  EXPECT_EQ(*rows, 0);

  // Lost inside a nested transaction: its rollback of the whole must not
  // let the outer one's later statements run on a new connection.
  const auto again = BackendPid(*db_);
  ASSERT_TRUE(again.has_value());
  {
    auto tx = sql::Transaction::Begin(db());
    ASSERT_TRUE(tx.has_value()) << Describe(tx);
    {
      auto nested = sql::Transaction::Nested(db());
      ASSERT_TRUE(nested.has_value()) << Describe(nested);
      ASSERT_TRUE(killer
                      ->Exec("SELECT pg_terminate_backend(" +
                             std::to_string(*again) + ")")
                      .has_value());
      EXPECT_FALSE(db().Exec("INSERT INTO t VALUES (3)").has_value());
    }
    EXPECT_FALSE(db().Exec("INSERT INTO t VALUES (4)").has_value());
    EXPECT_FALSE(tx->Commit().has_value());
  }
  const auto after = FirstInt(*db_, "SELECT count(*) + ?1 FROM t", 0);
  ASSERT_TRUE(after.has_value()) << Describe(after);
  EXPECT_EQ(*after, 0);
}

}  // namespace
}  // namespace regfs::registry::testing
