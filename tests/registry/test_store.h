// A store for a test that runs on a shared store (issue 14): every test
// binary that makes stores (the registry's RegistryTest, the mount tests'
// MountTest) makes them this way when REGFS_TEST_ENGINE=postgres, so that
// one environment variable runs a suite on PostgreSQL.
#ifndef REGFS_TESTS_REGISTRY_TEST_STORE_H_
#define REGFS_TESTS_REGISTRY_TEST_STORE_H_

#include <filesystem>
#include <memory>

#include "registry/error.h"
#include "registry/identity.h"
#include "registry/registry.h"

namespace regfs::registry::testing {

// The environment variables: REGFS_TEST_ENGINE=postgres asks for shared
// stores; REGFS_TEST_PG_URL names a database to use instead of the test
// server's (the URL that tests/scale/services.sh prints).
inline constexpr const char* kTestEngineEnv = "REGFS_TEST_ENGINE";
inline constexpr const char* kTestPgUrlEnv = "REGFS_TEST_PG_URL";

// Whether REGFS_TEST_ENGINE is "postgres".
bool TestOnPostgres();

// Creates a shared store at `store`, initialised by `owner`, whose blobs
// go in `blobs`. Its metadata goes in a new database (the schema already
// in it) of the test PostgreSQL server (pg_server.h), or, when
// REGFS_TEST_PG_URL is set, in the database it names, which must hold no
// registry yet: a test needs a fresh registry, and joining one would mix
// its state with an earlier run's (AlreadyExists then, saying how to get
// a fresh one).
[[nodiscard]] Result<std::unique_ptr<Registry>> InitTestSharedStore(
    const std::filesystem::path& store, const Identity& owner,
    const std::filesystem::path& blobs, OpenOptions options = {});

}  // namespace regfs::registry::testing

#endif  // REGFS_TESTS_REGISTRY_TEST_STORE_H_
