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
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

namespace regfs::registry::testing {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin";
constexpr const char* kUser = "postgres";

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

// Stops every started server after the last test, whatever its outcome.
class PgServerEnvironment final : public ::testing::Environment {
 public:
  void TearDown() override { PgServer::StopIfStarted(); }
};

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new PgServerEnvironment);

}  // namespace

Result<PgServer*> PgServer::Get() {
  std::lock_guard lock(server_mu);
  if (!server) {
    std::unique_ptr<PgServer> s(new PgServer());
    if (auto started = s->Start(); !started) {
      return std::unexpected(started.error());
    }
    server = std::move(s);
  }
  return server.get();
}

void PgServer::StopIfStarted() {
  std::lock_guard lock(server_mu);
  server.reset();
}

PgServer::~PgServer() { Stop(); }

Status PgServer::Start() {
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
  dir_ = tmpl;
  data_dir_ = dir_ / "data";
  socket_dir_ = dir_ / "sock";
  std::filesystem::create_directory(socket_dir_);
  if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0 ||
      chown(socket_dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    std::filesystem::remove_all(dir_);
    return Fail(Code::kIoError, "test PostgreSQL: chown of its directory");
  }
  // The reaper: when this process ends, however it ends, the pipe closes
  // and the shell stops the server and removes its directory.
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
  running_ = true;  // from here on, Stop() cleans up

  const std::filesystem::path log = dir_ / "server.log";
  if (auto made = MakeDataDir(log); !made) {
    Stop();
    return made;
  }
  const std::string options = fmt::format(
      "-k {} -c listen_addresses= -c fsync=off -c full_page_writes=off "
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
  if (!running_) return;
  running_ = false;
  (void)Run({fmt::format("{}/pg_ctl", kBin), "-D",
                       data_dir_.string(), "-m", "fast", "-w", "stop"},
                      "/dev/null");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  close(reaper_fd_);
  int status = 0;
  while (waitpid(reaper_pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string PgServer::ConnInfo(const std::string& name) const {
  return fmt::format("host={} user={} dbname={}", socket_dir_.string(), kUser,
                     name);
}

Result<std::string> PgServer::CreateDatabase() {
  std::lock_guard lock(mu_);
  const std::string name = fmt::format("regfs_{}", ++next_database_);
  const std::string admin = ConnInfo("postgres");
  PGconn* conn = PQconnectdb(admin.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, fmt::format("CREATE DATABASE {}", name).c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  if (!error.empty()) {
    return Fail(Code::kIoError, "test PostgreSQL: CREATE DATABASE: " + error);
  }
  return ConnInfo(name);
}

}  // namespace regfs::registry::testing
