// A fixture for the tests of registry/sql/ that run on both engines: a
// `Connection&` to a fresh store of the test's engine parameter. SQLite: a
// store made by Registry::Init in a temporary directory (as SqlTest);
// PostgreSQL: a new database on the throwaway server (pg_server.h), with
// the current schema.
//
// Instantiate with REGFS_SQL_ENGINES(Fixture): instances are named
// .../Sqlite and .../Postgres (ctest labels the latter `postgres`).
#ifndef REGFS_TESTS_REGISTRY_SQL_ENGINE_TEST_UTIL_H_
#define REGFS_TESTS_REGISTRY_SQL_ENGINE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "registry/sql/connection.h"
#include "registry/sql/postgres.h"
#include "registry/sql/schema.h"
#include "registry/sql/sqlite.h"
#include "tests/registry/pg_server.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::testing {

class SqlEngineTest : public ::testing::TestWithParam<sql::Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == sql::Engine::kSqlite) {
      tmp_ = std::make_unique<TempDir>();
      auto reg = Registry::Init(tmp_->path() / "store", Owner());
      ASSERT_TRUE(reg.has_value()) << Describe(reg);
      registry_ = std::move(*reg);
      auto opened = sql::SqliteConnection::Open(
          tmp_->path() / "store" / "registry.db", false);
      ASSERT_TRUE(opened.has_value()) << Describe(opened);
      db_ = std::move(*opened);
      return;
    }
    auto server = PgServer::Get();
    ASSERT_TRUE(server.has_value())
        << "the test PostgreSQL server did not start: " << Describe(server);
    auto conninfo = (*server)->CreateDatabase(PgServer::Schema::kMigrated);
    ASSERT_TRUE(conninfo.has_value()) << Describe(conninfo);
    auto opened = sql::PostgresConnection::Open(*conninfo);
    ASSERT_TRUE(opened.has_value()) << Describe(opened);
    db_ = std::move(*opened);
  }
  void TearDown() override {
    db_.reset();
    registry_.reset();
    tmp_.reset();
  }

  sql::Connection& db() { return *db_; }
  bool postgres() const { return GetParam() == sql::Engine::kPostgres; }

 private:
  std::unique_ptr<TempDir> tmp_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<sql::Connection> db_;
};

inline std::string SqlEngineName(
    const ::testing::TestParamInfo<sql::Engine>& info) {
  return info.param == sql::Engine::kSqlite ? "Sqlite" : "Postgres";
}

#define REGFS_SQL_ENGINES(fixture)                                        \
  INSTANTIATE_TEST_SUITE_P(                                               \
      Engines, fixture,                                                   \
      ::testing::Values(::regfs::registry::sql::Engine::kSqlite,          \
                        ::regfs::registry::sql::Engine::kPostgres),       \
      ::regfs::registry::testing::SqlEngineName)

}  // namespace regfs::registry::testing

#endif  // REGFS_TESTS_REGISTRY_SQL_ENGINE_TEST_UTIL_H_
