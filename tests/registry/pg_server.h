// A throwaway PostgreSQL 15 server for the tests: initdb and pg_ctl
// (/usr/lib/postgresql/15/bin) run as the unprivileged `postgres` user
// (initdb refuses root), with the data directory and the unix socket in a
// temporary directory and no TCP listener. The data directory is copied
// from a template initdb made once per build (pg-template-15 beside the
// test binary).
//
// Two ways to get one:
// - under ctest, one server serves every test of the run: the fixture
//   test pg_fixture.start (pg_fixture.cc, StartShared) starts it and
//   writes its directory to a file named by REGFS_TEST_PG_SERVER, which
//   every test that needs PostgreSQL sees; pg_fixture.stop stops it, the
//   tests failed or not.
// - without REGFS_TEST_PG_SERVER (a test binary run by hand), the binary
//   starts its own server on first use; a gtest Environment stops it and
//   removes its directory after the last test, failed or not, and a reaper
//   process does the same if the binary dies without reaching that point.
// Either way each test makes its own databases, dropped when it ends.
//
// Thread-safe: Get() and CreateDatabase() take a lock.
#ifndef REGFS_TESTS_REGISTRY_PG_SERVER_H_
#define REGFS_TESTS_REGISTRY_PG_SERVER_H_

#include <sys/types.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "registry/error.h"

namespace regfs::registry::testing {

class PgServer final {
 public:
  // What a new database holds: nothing, or the registry's schema at its
  // current version (a copy of a template database migrated once: faster
  // than migrating each).
  enum class Schema { kEmpty, kMigrated };

  // The environment variable that names the ctest fixture's server file.
  static constexpr const char* kServerFileEnv = "REGFS_TEST_PG_SERVER";

  // The server of this process: the fixture's when REGFS_TEST_PG_SERVER is
  // set, else the binary's own, started on the first call. An IoError that
  // says why (with the end of the server's log) when there is none.
  static Result<PgServer*> Get();
  // Stops the binary's own server if it was started, or drops the
  // databases made on the fixture's (the Environment calls it).
  static void StopIfStarted();

  // The ctest fixture (pg_fixture.cc). StartShared stops and removes a
  // server that `server_file` names (left by an interrupted run), starts a
  // new one that outlives this process, makes its template database and
  // writes its directory to `server_file`. StopShared stops the server
  // that `server_file` names, removes its directory and the file; no file
  // is no error (the setup failed or never ran).
  static Status StartShared(const std::filesystem::path& server_file);
  static Status StopShared(const std::filesystem::path& server_file);

  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  ~PgServer();

  // A new database; its libpq conninfo (key=value).
  Result<std::string> CreateDatabase(Schema schema = Schema::kEmpty);
  // The conninfo of database `name` on this server.
  std::string ConnInfo(const std::string& name) const;
  // Drops the databases made so far (each test's, when it ends).
  void DropDatabases();
  // The directory of the server's unix socket.
  const std::filesystem::path& socket_dir() const { return socket_dir_; }

 private:
  PgServer() = default;
  // `reaper`: a process that stops the server when this one ends.
  Status Start(bool reaper);
  Status StartReaper();
  Status MakeDataDir(const std::filesystem::path& log);
  Status MakeTemplate();
  void SetDir(const std::filesystem::path& dir);
  void Stop();

  std::filesystem::path dir_;  // temporary, owned by postgres
  std::filesystem::path data_dir_;
  std::filesystem::path socket_dir_;
  int reaper_fd_ = -1;  // the write end of the reaper's pipe
  pid_t reaper_pid_ = -1;
  bool running_ = false;  // started by this process, which stops it
  std::mutex mu_;
  int next_database_ = 0;
  bool has_template_ = false;
  bool shared_ = false;  // the fixture's server, which outlives this process
  std::vector<std::string> databases_;  // not dropped yet
};

}  // namespace regfs::registry::testing

#endif  // REGFS_TESTS_REGISTRY_PG_SERVER_H_
