#include "tests/registry/test_store.h"

#include <cstdlib>
#include <string>
#include <string_view>

#include "registry/shared_store.h"
#include "tests/registry/pg_server.h"

namespace regfs::registry::testing {

bool TestOnPostgres() {
  const char* engine = std::getenv(kTestEngineEnv);
  return engine != nullptr && std::string_view(engine) == "postgres";
}

Result<std::unique_ptr<Registry>> InitTestSharedStore(
    const std::filesystem::path& store, const Identity& owner,
    const std::filesystem::path& blobs, OpenOptions options) {
  std::string metadata;
  const char* url = std::getenv(kTestPgUrlEnv);
  if (url != nullptr && *url != '\0') {
    metadata = url;
  } else {
    REGFS_ASSIGN_OR_RETURN(PgServer * server, PgServer::Get());
    REGFS_ASSIGN_OR_RETURN(metadata,
                           server->CreateDatabase(PgServer::Schema::kMigrated));
  }
  bool joined = true;
  SharedStoreConfig config;
  config.metadata = metadata;
  config.blobs = blobs;
  REGFS_ASSIGN_OR_RETURN(
      auto registry,
      InitSharedStore(store, owner, config, &joined, std::move(options)));
  if (joined) {
    return Fail(Code::kAlreadyExists,
                url != nullptr && *url != '\0'
                    ? std::string("the database of REGFS_TEST_PG_URL already "
                                  "holds a registry; a test needs a fresh "
                                  "one (tests/scale/services.sh stop, then "
                                  "start)")
                    : std::string("a new database of the test server holds "
                                  "a registry already"));
  }
  return registry;
}

}  // namespace regfs::registry::testing
