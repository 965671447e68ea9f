#include "tests/registry/pg_server.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "registry/sql/postgres.h"
#include "registry/sql/schema.h"

namespace regfs::registry::testing {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin";
constexpr const char* kUser = "postgres";
// The database that Schema::kMigrated copies.
constexpr const char* kTemplate = "regfs_template";

std::mutex server_mu;
std::unique_ptr<PgServer> server;  // guarded by server_mu

// Runs `argv`, as the postgres user (through setpriv) when `as_postgres`,
// its output appended to `log`; its exit status (-1 when it could not run).
int Run(const std::vector<std::string>& argv, const std::filesystem::path& log,
        bool as_postgres = true) {
  std::vector<std::string> full;
  if (as_postgres) {
    full = {"/usr/bin/setpriv", "--reuid", kUser, "--regid", kUser,
            "--clear-groups", "--"};
  }
  full.insert(full.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (auto& a : full) args.push_back(a.data());
  args.push_back(nullptr);
  const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                       0644);
  if (out < 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out, 1);
    dup2(out, 2);
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    if (chdir("/") != 0) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out);
  if (pid < 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Tail(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::stringstream all;
  all << in.rdbuf();
  std::string text = all.str();
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

// Runs one statement on `conninfo`; libpq's message when it fails.
std::string Exec(const std::string& conninfo, const std::string& statement) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, statement.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

// The server directory that the fixture wrote to `server_file`; empty
// when there is no such file. Only a directory that Start() could have
// made is accepted: StopShared removes it.
Result<std::filesystem::path> ReadServerFile(
    const std::filesystem::path& server_file) {
  std::ifstream in(server_file);
  if (!in) return std::filesystem::path();
  std::string dir;
  std::getline(in, dir);
  const std::filesystem::path path(dir);
  if (path.parent_path() != "/tmp" ||
      !path.filename().string().starts_with("regfs-pg-")) {
    return Fail(Code::kIoError,
                fmt::format("test PostgreSQL: {} names '{}', no server "
                            "directory (/tmp/regfs-pg-*)",
                            server_file.string(), dir));
  }
  return path;
}

// Stops every started server after the last test, whatever its outcome.
class PgServerEnvironment final : public ::testing::Environment {
 public:
  void TearDown() override { PgServer::StopIfStarted(); }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new PgServerEnvironment);

// Drops the databases of each test when it ends (its fixture, and the
// connections it held, are gone by then). Kept, they would pile up: a
// suite of hundreds of tests in one binary left gigabytes whose removal
// at exit took many minutes, and a shared server would fill the disk.
class DropDatabasesListener final : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo&) override {
    std::lock_guard lock(server_mu);
    if (server) server->DropDatabases();
  }
};

[[maybe_unused]] const bool kListener = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(
      new DropDatabasesListener);
  return true;
}();

}  // namespace

Result<PgServer*> PgServer::Get() {
  std::lock_guard lock(server_mu);
  if (server) return server.get();
  std::unique_ptr<PgServer> s(new PgServer());
  const char* file = std::getenv(kServerFileEnv);
  if (file == nullptr || *file == '\0') {
    REGFS_TRY(s->Start(/*reaper=*/true));
    server = std::move(s);
    return server.get();
  }
  // The ctest fixture's server (pg_fixture.start), with its template.
  REGFS_ASSIGN_OR_RETURN(const std::filesystem::path dir,
                         ReadServerFile(file));
  if (dir.empty()) {
    return Fail(Code::kIoError,
                fmt::format("test PostgreSQL: {}={} but there is no such "
                            "file: the fixture test pg_fixture.start did "
                            "not run or failed (see its output)",
                            kServerFileEnv, file));
  }
  s->SetDir(dir);
  s->shared_ = true;
  s->has_template_ = true;
  server = std::move(s);
  return server.get();
}

void PgServer::StopIfStarted() {
  std::lock_guard lock(server_mu);
  server.reset();
}

PgServer::~PgServer() { Stop(); }

void PgServer::SetDir(const std::filesystem::path& dir) {
  dir_ = dir;
  data_dir_ = dir_ / "data";
  socket_dir_ = dir_ / "sock";
}

Status PgServer::StartShared(const std::filesystem::path& server_file) {
  REGFS_TRY(StopShared(server_file));  // a server of an interrupted run
  PgServer s;
  REGFS_TRY(s.Start(/*reaper=*/false));
  if (auto made = s.MakeTemplate(); !made) {
    s.Stop();
    return made;
  }
  // Published by a rename: a test never reads half a path.
  const std::filesystem::path staged = server_file.string() + ".new";
  {
    std::ofstream out(staged, std::ios::trunc);
    out << s.dir_.string() << "\n";
    out.close();
    if (!out || rename(staged.c_str(), server_file.c_str()) != 0) {
      s.Stop();
      return Fail(Code::kIoError,
                  "test PostgreSQL: cannot write " + server_file.string());
    }
  }
  s.running_ = false;  // it outlives this process; StopShared stops it
  return {};
}

Status PgServer::StopShared(const std::filesystem::path& server_file) {
  REGFS_ASSIGN_OR_RETURN(const std::filesystem::path dir,
                         ReadServerFile(server_file));
  if (dir.empty()) return {};
  const std::string data = (dir / "data").string();
  if (std::filesystem::exists(dir / "data" / "postmaster.pid")) {
    const std::string pg_ctl = fmt::format("{}/pg_ctl", kBin);
    if (Run({pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "60", "stop"},
            "/dev/null") != 0) {
      (void)Run({pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"},
                "/dev/null");
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) {
    return Fail(Code::kIoError, fmt::format("test PostgreSQL: removing {}: {}",
                                            dir.string(), ec.message()));
  }
  std::filesystem::remove(server_file, ec);
  return {};
}

Status PgServer::Start(bool reaper) {
  const passwd* pw = getpwnam(kUser);
  if (pw == nullptr) {
    return Fail(Code::kIoError,
                "test PostgreSQL: no 'postgres' user (install postgresql-15, "
                "packaging/install-deps.sh)");
  }
  if (access(fmt::format("{}/initdb", kBin).c_str(), X_OK) != 0) {
    return Fail(Code::kIoError,
                fmt::format("test PostgreSQL: no {}/initdb (install "
                            "postgresql-15, packaging/install-deps.sh)",
                            kBin));
  }
  char tmpl[] = "/tmp/regfs-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    return Fail(Code::kIoError, "test PostgreSQL: mkdtemp failed");
  }
  SetDir(tmpl);
  std::filesystem::create_directory(socket_dir_);
  if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0 ||
      chown(socket_dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    std::filesystem::remove_all(dir_);
    return Fail(Code::kIoError, "test PostgreSQL: chown of its directory");
  }
  if (reaper) REGFS_TRY(StartReaper());
  running_ = true;  // from here on, Stop() cleans up

  const std::filesystem::path log = dir_ / "server.log";
  if (auto made = MakeDataDir(log); !made) {
    Stop();
    return made;
  }
  // Durability off (a throwaway server), and wal_level=minimal: with it,
  // CREATE DATABASE's file copy logs no WAL (a test's database in a
  // fifth of the time of the default strategy's).
  const std::string options = fmt::format(
      "-k {} -c listen_addresses= -c fsync=off -c full_page_writes=off "
      "-c synchronous_commit=off -c wal_level=minimal -c max_wal_senders=0 "
      "-c max_connections=200",
      socket_dir_.string());
  if (Run({fmt::format("{}/pg_ctl", kBin), "-D", data_dir_.string(),
                     "-l", (dir_ / "postgres.log").string(), "-w", "-t", "60",
                     "-o", options, "start"},
                    log) != 0) {
    const std::string why = Tail(log) + Tail(dir_ / "postgres.log");
    Stop();
    return Fail(Code::kIoError, "test PostgreSQL: pg_ctl start failed: " + why);
  }
  return {};
}

// The reaper: when this process ends, however it ends, the pipe closes
// and the shell stops the server and removes its directory.
Status PgServer::StartReaper() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    std::filesystem::remove_all(dir_);
    return Fail(Code::kIoError, "test PostgreSQL: pipe failed");
  }
  const std::string script = fmt::format(
      "cat >/dev/null; /usr/bin/setpriv --reuid {0} --regid {0} "
      "--clear-groups -- {1}/pg_ctl -D '{2}' -m immediate stop "
      ">/dev/null 2>&1; rm -rf '{3}'",
      kUser, kBin, data_dir_.string(), dir_.string());
  reaper_pid_ = fork();
  if (reaper_pid_ == 0) {
    dup2(fds[0], 0);
    setsid();  // a ^C of the test binary leaves the clean-up running
    execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    _exit(127);
  }
  close(fds[0]);
  reaper_fd_ = fds[1];
  return {};
}

// The data directory: a copy of the template that an earlier run of a test
// binary of this build left beside it (initdb takes seconds, a copy a
// fraction), or a new one from initdb that then becomes the template. The
// template is published by an atomic rename, so that test binaries
// running in parallel never copy half of one.
Status PgServer::MakeDataDir(const std::filesystem::path& log) {
  std::error_code ec;
  const std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::filesystem::path cache =
      ec ? std::filesystem::path() : exe.parent_path() / "pg-template-15";
  if (!cache.empty() && std::filesystem::exists(cache / "PG_VERSION")) {
    if (Run({"/bin/cp", "-a", cache.string(), data_dir_.string()}, log,
            /*as_postgres=*/false) == 0) {
      return {};
    }
    std::filesystem::remove_all(data_dir_, ec);
  }
  if (Run({fmt::format("{}/initdb", kBin), "-D", data_dir_.string(),
           "--auth=trust", "-U", kUser, "--no-sync", "-E", "UTF8",
           "--locale=C"},
          log) != 0) {
    return Fail(Code::kIoError, "test PostgreSQL: initdb failed: " + Tail(log));
  }
  if (cache.empty()) return {};
  const std::filesystem::path staged =
      cache.string() + fmt::format(".{}", getpid());
  if (Run({"/bin/cp", "-a", data_dir_.string(), staged.string()}, log,
          /*as_postgres=*/false) != 0 ||
      rename(staged.c_str(), cache.c_str()) != 0) {
    std::filesystem::remove_all(staged, ec);  // another binary won the race
  }
  return {};
}

void PgServer::Stop() {
  DropDatabases();  // those of a test that did not reach its end
  if (shared_ || !running_) return;
  running_ = false;
  (void)Run({fmt::format("{}/pg_ctl", kBin), "-D", data_dir_.string(), "-m",
             "fast", "-w", "stop"},
            "/dev/null");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (reaper_fd_ >= 0) close(reaper_fd_);
  reaper_fd_ = -1;
  int status = 0;
  while (reaper_pid_ > 0 && waitpid(reaper_pid_, &status, 0) < 0 &&
         errno == EINTR) {
  }
  reaper_pid_ = -1;
}

void PgServer::DropDatabases() {
  std::lock_guard lock(mu_);
  for (const std::string& name : databases_) {
    // FORCE: a connection that a failed test left open does not keep it.
    (void)Exec(ConnInfo("postgres"),
               fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name));
  }
  databases_.clear();
}

std::string PgServer::ConnInfo(const std::string& name) const {
  return fmt::format("host={} user={} dbname={}", socket_dir_.string(), kUser,
                     name);
}

// The template of Schema::kMigrated: an empty database that the registry's
// migrations bring to the current schema, once per server.
Status PgServer::MakeTemplate() {
  const std::string error =
      Exec(ConnInfo("postgres"), fmt::format("CREATE DATABASE {}", kTemplate));
  if (!error.empty()) {
    return Fail(Code::kIoError,
                "test PostgreSQL: CREATE DATABASE of the template: " + error);
  }
  // Closed before it is copied: CREATE DATABASE refuses a template that
  // has connections.
  REGFS_ASSIGN_OR_RETURN(auto db,
                         sql::PostgresConnection::Open(ConnInfo(kTemplate)));
  return sql::schema::Migrate(*db);
}

Result<std::string> PgServer::CreateDatabase(Schema schema) {
  std::lock_guard lock(mu_);
  if (schema == Schema::kMigrated && !has_template_) {
    REGFS_TRY(MakeTemplate());
    has_template_ = true;
  }
  // On the fixture's server, unique among the run's processes.
  const std::string name =
      shared_ ? fmt::format("regfs_{}_{}_{}", getpid(), time(nullptr),
                            ++next_database_)
              : fmt::format("regfs_{}", ++next_database_);
  const std::string error = Exec(
      ConnInfo("postgres"),
      fmt::format("CREATE DATABASE {} STRATEGY FILE_COPY{}", name,
                  schema == Schema::kMigrated
                      ? fmt::format(" TEMPLATE {}", kTemplate)
                      : std::string()));
  if (!error.empty()) {
    return Fail(Code::kIoError, "test PostgreSQL: CREATE DATABASE: " + error);
  }
  databases_.push_back(name);
  return ConnInfo(name);
}

}  // namespace regfs::registry::testing
