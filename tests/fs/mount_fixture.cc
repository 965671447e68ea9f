#include "tests/fs/mount_fixture.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/registry/test_store.h"

namespace regfs::fs::testing {
namespace {

using namespace std::chrono_literals;
using registry::Identity;
using registry::Interface;
using registry::Role;

constexpr long kFuseSuperMagic = 0x65735546;

// In a forked child: become `user`. Returns false on failure.
bool BecomeUser(const User& user) {
  if (user.uid == 0) return true;
  std::vector<gid_t> groups = user.groups;
  if (setgroups(groups.size(), groups.empty() ? nullptr : groups.data()) != 0) {
    return false;
  }
  if (setresgid(user.gid, user.gid, user.gid) != 0) return false;
  return setresuid(user.uid, user.uid, user.uid) == 0;
}

[[noreturn]] void ExecChild(const User& user,
                            const std::vector<std::string>& argv, int out,
                            int err) {
  const int null = ::open("/dev/null", O_RDONLY);
  dup2(null, STDIN_FILENO);
  dup2(out, STDOUT_FILENO);
  dup2(err, STDERR_FILENO);
  setpgid(0, 0);
  if (!BecomeUser(user)) {
    std::fprintf(stderr, "cannot become uid %u: %s\n", user.uid,
                 std::strerror(errno));
    _exit(126);
  }
  if (chdir("/") != 0) _exit(126);
  setenv("LC_ALL", "C", 1);
  unsetenv("REGFS_STORE");
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
  _exit(127);
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

stdfs::path TempFile(const char* tag) {
  std::string pattern = (stdfs::temp_directory_path() /
                         (std::string("regfs-fs-") + tag + "-XXXXXX"))
                            .string();
  const int fd = mkstemp(pattern.data());
  if (fd >= 0) ::close(fd);
  return pattern;
}

}  // namespace

std::optional<int> WaitProcess(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) return DecodeStatus(status);
    if (got < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

int StopProcess(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return -1;
  kill(pid, SIGTERM);
  if (auto code = WaitProcess(pid, grace)) return *code;
  kill(pid, SIGKILL);
  return WaitProcess(pid, 10s).value_or(-1);
}

RunResult RunAs(const User& user, const std::vector<std::string>& argv,
                std::chrono::seconds timeout) {
  const stdfs::path out_path = TempFile("out");
  const stdfs::path err_path = TempFile("err");
  RunResult result;
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = ::open(out_path.c_str(), O_WRONLY | O_TRUNC);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_TRUNC);
    ExecChild(user, argv, out, err);
  }
  if (pid > 0) {
    auto code = WaitProcess(pid, timeout);
    if (!code) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      code = WaitProcess(pid, 10s);
      result.err = "[killed after timeout] ";
    }
    result.exit_code = code.value_or(-1);
  }
  result.out = ReadFile(out_path);
  result.err += ReadFile(err_path);
  stdfs::remove(out_path);
  stdfs::remove(err_path);
  return result;
}

pid_t Spawn(const User& user, const std::vector<std::string>& argv,
            const stdfs::path& output) {
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    const int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ExecChild(user, argv, out, out);
  }
  return pid;
}

int AsUser(const User& user, const std::function<int()>& fn) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!BecomeUser(user)) _exit(250);
    _exit(fn() & 0xff);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool IsMounted(const stdfs::path& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    fields >> id >> parent >> dev >> root >> point;
    if (point == mountpoint.string()) return true;
  }
  return false;
}

std::string ReadFile(const stdfs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteFile(const stdfs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

void ForceUnmount(const stdfs::path& mountpoint) {
  for (int i = 0; i < 3 && IsMounted(mountpoint); ++i) {
    RunAs(kRoot, {"fusermount3", "-u", mountpoint.string()});
    if (!IsMounted(mountpoint)) break;
    RunAs(kRoot, {"fusermount3", "-u", "-z", mountpoint.string()});
  }
}

// ---- Mount ----------------------------------------------------------------

Mount::Mount(stdfs::path store, stdfs::path mountpoint, stdfs::path log,
             std::vector<std::string> extra_args)
    : store_(std::move(store)),
      mountpoint_(std::move(mountpoint)),
      log_(std::move(log)),
      extra_args_(std::move(extra_args)) {}

Mount::~Mount() { Stop(); }

::testing::AssertionResult Mount::Start() {
  std::vector<std::string> argv = {
      REGFS_BINARY,         "--store",    store_.string(), "mount",
      mountpoint_.string(), "-f",         "--log-level",   "debug",
      "--log-file",         log_.string()};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  abandoned_ = false;
  pid_ = Spawn(kRoot, argv, log_.string() + ".stderr");
  if (pid_ < 0) return ::testing::AssertionFailure() << "fork failed";
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    struct statfs st {};
    if (IsMounted(mountpoint_) && statfs(mountpoint_.c_str(), &st) == 0 &&
        st.f_type == kFuseSuperMagic) {
      return ::testing::AssertionSuccess();
    }
    if (auto code = WaitProcess(pid_, 0ms)) {
      pid_ = -1;
      return ::testing::AssertionFailure()
             << "regfs mount exited with " << *code << " before mounting:\n"
             << ReadFile(log_.string() + ".stderr") << ReadFile(log_);
    }
    std::this_thread::sleep_for(20ms);
  }
  return ::testing::AssertionFailure()
         << "regfs mount did not mount within 15 s:\n"
         << ReadFile(log_.string() + ".stderr") << ReadFile(log_);
}

int Mount::Stop() {
  int code = -1;
  if (abandoned_) return code;
  if (IsMounted(mountpoint_)) {
    RunAs(kRoot, {"fusermount3", "-u", mountpoint_.string()});
  }
  if (pid_ > 0) {
    auto exited = WaitProcess(pid_, 5s);
    if (!exited) {
      ForceUnmount(mountpoint_);
      exited = StopProcess(pid_);
    }
    code = exited.value_or(-1);
    pid_ = -1;
  }
  ForceUnmount(mountpoint_);
  return code;
}

// ---- MountTest ------------------------------------------------------------

void MountTest::SetUp() {
  ASSERT_EQ(geteuid(), 0u)
      << "the FUSE mount tests must run as root: they mount, and act as "
         "several users through setresuid (run them with sudo, or in CI)";
  struct stat fuse_dev {};
  ASSERT_EQ(::stat("/dev/fuse", &fuse_dev), 0)
      << "/dev/fuse is missing: the FUSE mount tests cannot run (load the "
         "fuse module, or give the container --device /dev/fuse)";
  ASSERT_TRUE(S_ISCHR(fuse_dev.st_mode)) << "/dev/fuse is not a device";

  std::string pattern =
      (stdfs::temp_directory_path() / "regfs-fs-test-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
  dir_ = pattern;
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  store_ = dir_ / "store";
  mnt_ = dir_ / "mnt";
  stdfs::create_directories(mnt_);
  stdfs::create_directories(dir_ / "src" / "zoo" / "docs");

  WriteFile(Src("m0"), "model zero\n");
  std::string big(3 * 1024 * 1024 + 123, '\0');
  uint32_t x = 12345;
  for (char& c : big) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  WriteFile(Src("m1"), big);
  WriteFile(Src("m2"), "model two\n");
  WriteFile(Src("zoo/zoo_dataset.pt"), "dataset bytes\n");
  WriteFile(Src("zoo/zoo_labels.pt"), "labels\n");
  WriteFile(Src("zoo/docs/readme.txt"), "read me\n");

  root_ = Identity::Current(Interface::kCli);
  // REGFS_TEST_ENGINE=postgres: a shared store (test_store.h), its blobs
  // in dir/blobs beside the store directory.
  auto registry =
      registry::testing::TestOnPostgres()
          ? registry::testing::InitTestSharedStore(store_, root_, dir_ / "blobs")
          : registry::Registry::Init(store_, root_);
  ASSERT_TRUE(registry.has_value()) << registry.error().message;
  registry_ = std::move(*registry);

  registry::PushRequest v0;
  v0.collection = "models";
  v0.paths = {Src("m0")};
  v0.tags = {"baseline"};
  v0.metadata = {{"framework", "torch"}};
  v0.description = "the first model";
  ASSERT_TRUE(reg().Push(root_, v0).has_value());
  registry::PushRequest v1;
  v1.collection = "models";
  v1.paths = {Src("m1")};
  v1.aliases = {"candidate", "production"};
  ASSERT_TRUE(reg().Push(root_, v1).has_value());
  registry::PushRequest v2;
  v2.collection = "models";
  v2.paths = {Src("m2")};
  ASSERT_TRUE(reg().Push(root_, v2).has_value());
  registry::PushRequest tree;
  tree.collection = "zoo";
  tree.paths = {dir_ / "src" / "zoo"};
  auto pushed = reg().Push(root_, tree);
  ASSERT_TRUE(pushed.has_value()) << pushed.error().message;

  ASSERT_TRUE(reg().Protect(root_, "production").has_value());
  ASSERT_TRUE(reg().Grant(root_, kMember.name(), Role::kMember).has_value());
  ASSERT_TRUE(reg().Grant(root_, kViewer.name(), Role::kViewer).has_value());
  ASSERT_TRUE(reg().Grant(root_, kAdmin.name(), Role::kAdmin).has_value());
  ASSERT_TRUE(reg().Grant(root_, "group:30000", Role::kMember).has_value());

  mount_ = std::make_unique<Mount>(store_, mnt_, dir_ / "mount.log");
  ASSERT_TRUE(mount_->Start());
}

void MountTest::TearDown() {
  if (mount_ && mount_->pid() > 0) {
    // A clean unmount ends the daemon with 0; sanitizer reports do not.
    const int code = mount_->Stop();
    EXPECT_EQ(code, 0) << "regfs mount exited with " << code;
  }
  if (!mnt_.empty()) ForceUnmount(mnt_);
  if (!mnt_.empty() && IsMounted(mnt_)) {
    ADD_FAILURE() << mnt_ << " is still mounted; not removing " << dir_;
    return;
  }
  if (HasFailure() && !dir_.empty()) {
    std::fprintf(stderr, "---- daemon log ----\n%s\n", DaemonLog().c_str());
  }
  registry_.reset();
  std::error_code ec;
  if (!dir_.empty()) stdfs::remove_all(dir_, ec);
}

uint64_t MountTest::LastSeq() { return reg().LastSeq().value_or(0); }

std::vector<registry::Event> MountTest::EventsAfter(uint64_t seq) {
  registry::HistoryFilter filter;
  filter.after_seq = seq;
  return reg().History(filter).value_or(std::vector<registry::Event>{});
}

std::string MountTest::AliasTarget(const std::string& collection,
                                   const std::string& alias) {
  auto found = reg().GetAlias(collection, alias);
  if (!found) return "";
  return "v" + std::to_string(found->version);
}

std::optional<std::chrono::milliseconds> MountTest::WaitForLink(
    const stdfs::path& path, const std::string& target,
    std::chrono::milliseconds timeout) {
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    std::error_code ec;
    const stdfs::path got = stdfs::read_symlink(path, ec);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    if (!ec && got.string() == target) return elapsed;
    if (elapsed > timeout) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

std::string MountTest::DaemonLog() const {
  return ReadFile(dir_ / "mount.log") + ReadFile(dir_ / "mount.log.stderr");
}

}  // namespace regfs::fs::testing
