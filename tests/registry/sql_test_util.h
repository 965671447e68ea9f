// A fixture for the tests of registry/sql/: a fresh store (RegistryTest)
// and a second connection to its database, on which a test calls the sql::
// functions directly.
#ifndef REGFS_TESTS_REGISTRY_SQL_TEST_UTIL_H_
#define REGFS_TESTS_REGISTRY_SQL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>

#include "registry/sql/connection.h"
#include "registry/sql/sqlite.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::testing {

class SqlTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    auto opened = sql::SqliteConnection::Open(store() / "registry.db", false);
    ASSERT_TRUE(opened.has_value()) << Describe(opened);
    db_ = std::move(*opened);
  }
  void TearDown() override {
    db_.reset();
    RegistryTest::TearDown();
  }

  sql::Connection& db() { return *db_; }

 private:
  std::unique_ptr<sql::Connection> db_;
};

}  // namespace regfs::registry::testing

#endif  // REGFS_TESTS_REGISTRY_SQL_TEST_UTIL_H_
