// The ctest fixture of the PostgreSQL-backed tests (label `postgres`):
// `pg_fixture start FILE` starts the one throwaway server that every such
// test of the run shares (pg_server.h, PgServer::StartShared) and writes
// its directory to FILE; `pg_fixture stop FILE` stops it and removes it.
// ctest runs start before the first test that requires the fixture and
// stop after the last, whatever their outcome; a start also stops a
// server that an interrupted run left behind.
#include <cstdio>
#include <string_view>

#include "tests/registry/pg_server.h"

int main(int argc, char** argv) {
  using regfs::registry::testing::PgServer;
  const std::string_view command = argc == 3 ? argv[1] : "";
  if (command != "start" && command != "stop") {
    std::fprintf(stderr, "usage: pg_fixture start|stop SERVER_FILE\n");
    return 2;
  }
  const regfs::registry::Status done = command == "start"
                                           ? PgServer::StartShared(argv[2])
                                           : PgServer::StopShared(argv[2]);
  if (!done) {
    std::fprintf(stderr, "pg_fixture %s: %s\n", argv[1],
                 done.error().message.c_str());
    return 1;
  }
  std::printf("pg_fixture %s: ok (%s)\n", argv[1], argv[2]);
  return 0;
}
