// `regfs automation` through a regfs mount (issue 16): an admin who is not
// the store's owner adds, lists, tests, reads the log of and removes
// automations through the mount's control file, with the output and exit
// code of the same command on the store directory; members and viewers are
// refused as there. The daemon runs as root, so the tests also check what
// an admin must not get from it: a command runs as that admin, a secret
// file is read as that admin (at add time and at delivery), a test
// delivery is bounded. Label: fuse.
#include <fcntl.h>
#include <grp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;

constexpr uid_t kAdminUid = 20003;
constexpr uid_t kMemberUid = 20001;
constexpr uid_t kViewerUid = 20002;

// Latencies differ from run to run: "in 12 ms" -> "in N ms".
std::string NoLatency(const std::string& text) {
  return std::regex_replace(text, std::regex("[0-9]+ ms"), "N ms");
}

// What a raw write to the control file got: the write's errno (0 for a
// success) and the reply.
struct CtlReply {
  int err = 0;
  nlohmann::json reply;
};

class CliAutomationMountTest : public CliMountTest {
 protected:
  void SetUp() override {
    CliMountTest::SetUp();
    if (HasFatalFailure()) return;
    // Other users reach the test's files too.
    out_ = dir() / "out";
    stdfs::create_directory(out_);
    ASSERT_EQ(::chmod(out_.c_str(), 0777), 0);
    Ok({"push", "models", WriteFile("m0", "zero"), "--alias", "production"});
    Ok({"push", "models", WriteFile("m1", "one")});
    ASSERT_EQ(::chmod((dir() / "files").c_str(), 0755), 0);
    Ok({"role", "grant", std::to_string(kAdminUid), "admin"});
    Ok({"role", "grant", std::to_string(kMemberUid), "member"});
    Ok({"role", "grant", std::to_string(kViewerUid), "viewer"});
    // The deliverers are the tests' own (`automation run`, with their
    // retry times): the daemon's would retry on its own schedule and add
    // rows between two reads of the log (-o nodelivery).
    Mount("allow_other,nodelivery");
  }

  // `regfs --store MOUNT args...` as `uid` (the admin by default).
  RunResult ThroughMount(std::vector<std::string> args,
                         uid_t uid = kAdminUid) const {
    return CliMountTest::ThroughMount(std::move(args),
                                      {.uid = uid, .gid = uid});
  }

  // Runs `args` on the store directory (as its owner) and through the
  // mount as the admin; expects the same stdout, stderr and exit code,
  // latencies aside.
  void ExpectSame(const std::vector<std::string>& args) const {
    CliMountTest::ExpectSame(args, {.uid = kAdminUid, .gid = kAdminUid},
                             NoLatency);
  }

  // Writes `request` to the mount's control file as `uid`, bypassing the
  // CLI (what a hostile admin can send).
  CtlReply CtlAs(uid_t uid, const nlohmann::json& request) const {
    int pipe_fds[2];
    EXPECT_EQ(::pipe(pipe_fds), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(pipe_fds[0]);
      if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 ||
          ::setresuid(uid, uid, uid) != 0) {
        _exit(1);
      }
      const std::string ctl = (mnt_ / ".regfs" / "ctl").string();
      const int fd = ::open(ctl.c_str(), O_RDWR);
      if (fd < 0) _exit(2);
      const std::string text = request.dump();
      const ssize_t n = ::write(fd, text.data(), text.size());
      const int err = n < 0 ? errno : 0;
      char buf[65536];
      const ssize_t got = ::pread(fd, buf, sizeof buf, 0);
      (void)!::write(pipe_fds[1], &err, sizeof err);
      if (got > 0) (void)!::write(pipe_fds[1], buf, static_cast<size_t>(got));
      _exit(0);
    }
    ::close(pipe_fds[1]);
    CtlReply result;
    std::string data;
    char buf[65536];
    for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) {
      data.append(buf, static_cast<size_t>(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (data.size() < sizeof(int)) return result;
    std::memcpy(&result.err, data.data(), sizeof(int));
    result.reply = nlohmann::json::parse(data.substr(sizeof(int)));
    return result;
  }

  // A file of `content` owned by `uid` with `mode`.
  std::string SecretFile(const std::string& name, uid_t uid, mode_t mode) {
    const std::string path = WriteFile(name, "s3cret\n");
    EXPECT_EQ(::chown(path.c_str(), uid, uid), 0);
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  stdfs::path out_;
};

TEST_F(CliAutomationMountTest, EverySubcommandIsTheSameThroughTheMount) {
  const std::string secret = SecretFile("public.secret", 0, 0644);
  // A receiver that is not there: a test delivery fails the same way.
  const std::string url = "http://127.0.0.1:9/hook";
  struct Case {
    std::vector<std::string> change;
    std::vector<std::string> undo;
  };
  const std::vector<Case> changes = {
      {{"automation", "add", "hook", "--on", "alias.move,alias.create",
        "--collection", "models", "--alias", "production", "--webhook", url,
        "--format", "slack"},
       {"automation", "rm", "hook"}},
      {{"automation", "add", "signed", "--on", "version.create", "--webhook",
        url, "--secret-file", secret},
       {"automation", "rm", "signed"}},
      {{"automation", "add", "cmd", "--on", "alias.move", "--exec",
        "id -u > " + (out_ / "uid").string()},
       {"automation", "rm", "cmd"}},
  };
  // Each added on the store, removed there, then added through the mount
  // by the admin, where it stays.
  for (const Case& c : changes) {
    SCOPED_TRACE(::testing::PrintToString(c.change));
    const RunResult direct = Regfs(c.change);
    ASSERT_EQ(direct.exit_code, 0) << direct.err;
    Ok(c.undo);
    const RunResult mounted = ThroughMount(c.change);
    // A command runs as its adder, which the line names.
    EXPECT_EQ(mounted.exit_code, 0) << mounted.err;
    if (c.change[2] == "cmd") {
      EXPECT_THAT(mounted.out, HasSubstr("exec as 20003: id -u"));
    } else {
      EXPECT_EQ(mounted.out, direct.out);
    }
    EXPECT_EQ(mounted.err, direct.err);
  }
  // One logged delivery, by the deliverer on the store directory.
  RunningRegfs run({"--store", store().string(), "automation", "run",
                    "--poll-ms", "50", "--retry-base-ms", "60000"});
  Ok({"alias", "set", "models", "production", "v1"});
  for (int i = 0; i < 600 && Json({"automation", "log", "--json"}).size() < 2;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(run.Stop(SIGTERM), 0);
  ASSERT_GE(Json({"automation", "log", "--json"}).size(), 2u);
  EXPECT_EQ(ReadFile(out_ / "uid"), std::to_string(kAdminUid) + "\n");
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"automation", "ls"},
           {"automation", "ls", "--json"},
           {"automation", "log"},
           {"automation", "log", "--json"},
           {"automation", "log", "cmd", "--limit", "1", "--json"},
           {"automation", "log", "nosuch"},
           {"automation", "test", "hook"},
           {"automation", "test", "signed"},
           {"automation", "test", "cmd"},
           {"automation", "test", "nosuch"},
           {"automation", "rm", "nosuch"},
           {"automation", "add", "hook", "--on", "alias.move", "--webhook",
            url},
           {"automation", "add", "x", "--on", "alias.jump", "--webhook", url},
           {"automation", "add", "x", "--on", "alias.move", "--webhook",
            url, "--secret-file", (dir() / "none").string()},
       }) {
    ExpectSame(args);
  }
  // Removing: the same line, and the history names the admin.
  const RunResult rm = ThroughMount({"automation", "rm", "hook"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "removed automation hook\n");
  bool added = false, removed = false;
  for (const auto& line : Regfs({"history", "--json"}).OutLines()) {
    const auto event = nlohmann::json::parse(line);
    if (event["uid"] != kAdminUid) continue;
    added |= event["event"] == "automation.add";
    removed |= event["event"] == "automation.rm";
  }
  EXPECT_TRUE(added);
  EXPECT_TRUE(removed);
  // The deliverer stays on the store directory.
  const RunResult through = ThroughMount({"automation", "run"});
  EXPECT_EQ(through.exit_code, 1);
  EXPECT_EQ(through.err,
            "regfs: 'regfs automation run' does not work through a mount (" +
                mnt_.string() +
                "): the store's owner runs it with --store naming the store "
                "directory\n");
}

TEST_F(CliAutomationMountTest, ACommandRunsAsTheAdminWhoAddedItNeverRoot) {
  const std::string command = "id -u > " + (out_ / "uid").string() +
                              "; id -g > " + (out_ / "gid").string();
  // The CLI's request, and a raw one that asks for root: both run as the
  // caller.
  const RunResult added = ThroughMount(
      {"automation", "add", "cmd", "--on", "alias.move", "--exec", command});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const CtlReply raw = CtlAs(
      kAdminUid,
      {{"op", "automation_add"},
       {"automation",
        {{"name", "root"},
         {"on", {"alias.move"}},
         {"exec", command},
         {"run_as", {{"uid", 0}, {"gid", 0}, {"user", "root"}}},
         {"uid", 0}}}});
  ASSERT_EQ(raw.err, 0) << raw.reply.dump();
  EXPECT_EQ(raw.reply["result"]["run_as"]["uid"], kAdminUid);
  for (const char* name : {"cmd", "root"}) {
    SCOPED_TRACE(name);
    stdfs::remove(out_ / "uid");
    const RunResult test = ThroughMount({"automation", "test", name});
    ASSERT_EQ(test.exit_code, 0) << test.err;
    EXPECT_THAT(test.out, HasSubstr("delivered (status 0)"));
    EXPECT_EQ(ReadFile(out_ / "uid"), std::to_string(kAdminUid) + "\n");
    EXPECT_EQ(ReadFile(out_ / "gid"), std::to_string(kAdminUid) + "\n");
  }
  const auto list = Json({"automation", "ls", "--json"});
  ASSERT_EQ(list.size(), 2u);
  for (const auto& a : list) EXPECT_EQ(a["run_as"]["uid"], kAdminUid);
}

TEST_F(CliAutomationMountTest, ASecretFileIsReadAsTheAdmin) {
  const std::string url = "http://127.0.0.1:9/hook";
  const std::string roots = SecretFile("root.secret", 0, 0600);
  // The CLI's own check, then the daemon's (a raw request skips the
  // CLI's): both as the caller.
  const RunResult refused = ThroughMount({"automation", "add", "x", "--on",
                                          "alias.move", "--webhook", url,
                                          "--secret-file", roots});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "regfs: cannot read secret file '" + roots +
                             "': Permission denied\n");
  auto raw = [&](const std::string& secret_file) {
    return CtlAs(kAdminUid, {{"op", "automation_add"},
                             {"automation",
                              {{"name", "x"},
                               {"on", {"alias.move"}},
                               {"webhook", url},
                               {"secret_file", secret_file}}}});
  };
  CtlReply denied = raw(roots);
  EXPECT_EQ(denied.err, EINVAL);
  EXPECT_EQ(denied.reply["error"],
            "cannot read secret file '" + roots + "': Permission denied");
  // A FIFO would block an open: refused at once. A relative path means
  // nothing to the daemon.
  const std::string fifo = (dir() / "files" / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0666), 0);
  EXPECT_EQ(raw(fifo).reply["error"],
            "secret file '" + fifo + "' is not a regular file");
  EXPECT_EQ(raw("files/root.secret").reply["error"],
            "secret file 'files/root.secret' is not an absolute path");
  EXPECT_EQ(Json({"automation", "ls", "--json"}).size(), 0u);

  // The admin's own file is taken; delivery reads it as the admin too, so
  // once it is root's alone a test delivery fails, here and on the store.
  const std::string own = SecretFile("own.secret", kAdminUid, 0600);
  const RunResult added = ThroughMount({"automation", "add", "signed", "--on",
                                        "alias.move", "--webhook", url,
                                        "--secret-file", own});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_THAT(ThroughMount({"automation", "test", "signed"}).err,
              ::testing::Not(HasSubstr("secret")));
  ASSERT_EQ(::chown(own.c_str(), 0, 0), 0);
  const std::string unreadable = "regfs: automation signed: delivery failed "
                                 "after N ms: cannot read secret file '" +
                                 own + "': Permission denied\n";
  EXPECT_EQ(NoLatency(ThroughMount({"automation", "test", "signed"}).err),
            unreadable);
  EXPECT_EQ(NoLatency(Regfs({"automation", "test", "signed"}).err),
            unreadable);
}

TEST_F(CliAutomationMountTest, ATestDeliveryThroughTheMountIsBounded) {
  const RunResult added = ThroughMount(
      {"automation", "add", "slow", "--on", "alias.move", "--exec",
       "sleep 30 & sleep 30"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const auto start = std::chrono::steady_clock::now();
  const RunResult test = ThroughMount(
      {"automation", "test", "slow", "--exec-timeout-ms", "300"});
  EXPECT_EQ(test.exit_code, 1);
  EXPECT_THAT(test.err, HasSubstr("timed out after 300 ms; killed"));
  // Far below the commands' 30 s: the daemon did not wait for them.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  // The mount still answers.
  EXPECT_EQ(ThroughMount({"automation", "ls"}).exit_code, 0);
}

TEST_F(CliAutomationMountTest, MembersAndViewersAreRefusedAsOnTheStore) {
  Ok({"automation", "add", "hook", "--on", "alias.move", "--webhook",
      "http://127.0.0.1:9/hook"});
  // They may open the store directory here, to compare: still no admins.
  ASSERT_EQ(::chmod(store().c_str(), 0777), 0);
  for (const auto& e : stdfs::directory_iterator(store())) {
    if (e.is_regular_file()) ::chmod(e.path().c_str(), 0666);
  }
  const std::vector<std::vector<std::string>> commands = {
      {"automation", "ls"},
      {"automation", "ls", "--json"},
      {"automation", "log"},
      {"automation", "test", "hook"},
      {"automation", "rm", "hook"},
      {"automation", "add", "y", "--on", "alias.move", "--exec", "true"},
  };
  for (const uid_t uid : {kMemberUid, kViewerUid}) {
    for (const auto& args : commands) {
      SCOPED_TRACE(::testing::PrintToString(args) + " as " +
                   std::to_string(uid));
      const RunResult mounted = ThroughMount(args, uid);
      const RunResult direct = Regfs(args, {.uid = uid, .gid = uid});
      EXPECT_EQ(mounted.exit_code, 1);
      EXPECT_EQ(mounted.out, "");
      EXPECT_THAT(mounted.err, HasSubstr("manage automations"));
      EXPECT_EQ(mounted.err, direct.err);
      EXPECT_EQ(mounted.exit_code, direct.exit_code);
    }
    // The errno of the refusal: EACCES, as for any change a role does not
    // allow.
    EXPECT_EQ(CtlAs(uid, {{"op", "automations"}}).err, EACCES);
    EXPECT_EQ(CtlAs(uid, {{"op", "automation_rm"}, {"name", "hook"}}).err,
              EACCES);
  }
  EXPECT_EQ(Json({"automation", "ls", "--json"}).size(), 1u);
}

}  // namespace
}  // namespace regfs::tools::testing
