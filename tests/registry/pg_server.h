// A throwaway PostgreSQL 15 server for a test binary: initdb and pg_ctl
// (/usr/lib/postgresql/15/bin) run as the unprivileged `postgres` user
// (initdb refuses root), with the data directory and the unix socket in a
// temporary directory and no TCP listener. The data directory is copied
// from a template initdb made once per build (pg-template-15 beside the
// test binary). It starts on first use and a
// gtest Environment stops it and removes its directory after the last
// test, failed or not; a reaper process does the same if the test binary
// dies without reaching that point.
//
// Thread-safe: Get() and CreateDatabase() take a lock.
#ifndef REGFS_TESTS_REGISTRY_PG_SERVER_H_
#define REGFS_TESTS_REGISTRY_PG_SERVER_H_

#include <sys/types.h>

#include <filesystem>
#include <mutex>
#include <string>

#include "registry/error.h"

namespace regfs::registry::testing {

class PgServer final {
 public:
  // The binary's server, started on the first call; an IoError that says
  // why (with the end of the server's log) when it cannot start.
  static Result<PgServer*> Get();
  // Stops the server if it was started (the Environment calls it).
  static void StopIfStarted();

  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  ~PgServer();

  // A new, empty database; its libpq conninfo (key=value).
  Result<std::string> CreateDatabase();
  // The conninfo of database `name` on this server.
  std::string ConnInfo(const std::string& name) const;
  // The directory of the server's unix socket.
  const std::filesystem::path& socket_dir() const { return socket_dir_; }

 private:
  PgServer() = default;
  Status Start();
  Status MakeDataDir(const std::filesystem::path& log);
  void Stop();

  std::filesystem::path dir_;  // temporary, owned by postgres
  std::filesystem::path data_dir_;
  std::filesystem::path socket_dir_;
  int reaper_fd_ = -1;  // the write end of the reaper's pipe
  pid_t reaper_pid_ = -1;
  bool running_ = false;
  std::mutex mu_;
  int next_database_ = 0;
};

}  // namespace regfs::registry::testing

#endif  // REGFS_TESTS_REGISTRY_PG_SERVER_H_
