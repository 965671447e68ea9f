// Kernel passthrough of version reads (FUSE_PASSTHROUGH, libfuse >= 3.17):
// once a version is open, the kernel reads its blob without the daemon;
// -o nopassthrough, an old kernel or a daemon without CAP_SYS_ADMIN read
// through the daemon, with the same bytes.
//
// The probe: open a version, stop the daemon (SIGSTOP), read bytes never
// read before. With passthrough the read completes; through the daemon it
// waits until the daemon runs again.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/mount_fixture.h"

namespace regfs::fs::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Why this build and kernel cannot pass reads through, from the daemon's
// log line "passthrough off (REASON)"; empty if they can.
std::string PassthroughUnavailable(const std::string& log) {
  const std::string off = "passthrough off (";
  const size_t at = log.find(off);
  if (at == std::string::npos) return "";
  const size_t end = log.find(')', at);
  return log.substr(at + off.size(), end - at - off.size());
}

// Waits until every thread of `pid` is stopped (SIGSTOP stops them one by
// one: a thread still running could answer a request).
bool AllThreadsStopped(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    const stdfs::path tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : stdfs::directory_iterator(tasks)) {
      const std::string stat = ReadFile(task.path() / "stat");
      // "tid (comm) S ...": the state follows the last ')'.
      const size_t paren = stat.rfind(')');
      if (paren == std::string::npos || paren + 2 >= stat.size() ||
          (stat[paren + 2] != 'T' && stat[paren + 2] != 't')) {
        all = false;
        break;
      }
    }
    if (all) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

class PassthroughTest : public MountTest {
 protected:
  void Remount(std::vector<std::string> args) {
    ASSERT_EQ(mount_->Stop(), 0);
    mount_ = std::make_unique<Mount>(store_, mnt_, dir_ / "mount.log",
                                     std::move(args));
    ASSERT_TRUE(mount_->Start());
  }

  // Opens `path`, stops the daemon, and reads 4 KiB at `offset`: whether
  // the read completed within 2 s while the daemon was stopped. The
  // daemon runs again before this returns; `bytes` gets what was read.
  bool ReadsWhileDaemonStopped(const stdfs::path& path, off_t offset,
                               std::string& bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) {
      ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
      return false;
    }
    EXPECT_EQ(::kill(mount_->pid(), SIGSTOP), 0);
    EXPECT_TRUE(AllThreadsStopped(mount_->pid()));
    bytes.assign(4096, '\0');
    auto read = std::async(std::launch::async, [&] {
      return ::pread(fd, bytes.data(), bytes.size(), offset);
    });
    const bool completed = read.wait_for(2s) == std::future_status::ready;
    EXPECT_EQ(::kill(mount_->pid(), SIGCONT), 0);
    const ssize_t n = read.get();
    EXPECT_EQ(n, 4096) << std::strerror(errno);
    ::close(fd);
    return completed;
  }

  // What .regfs/whoami shows as the mount's passthrough.
  std::string WhoamiPassthrough() {
    const auto json = nlohmann::json::parse(ReadFile(M(".regfs/whoami")));
    return json["mount"]["passthrough"].get<std::string>();
  }

  std::string BlobBytes(off_t offset) {
    const std::string blob = ReadFile(Src("m1"));
    return blob.substr(static_cast<size_t>(offset), 4096);
  }
};

TEST_F(PassthroughTest, OpenVersionIsReadByTheKernelWithoutTheDaemon) {
  const std::string log = ReadFile(mount_->log());
  if (const std::string why = PassthroughUnavailable(log); !why.empty()) {
    GTEST_SKIP() << "passthrough cannot be tested here: " << why;
  }
  EXPECT_THAT(log, HasSubstr("passthrough on")) << DaemonLog();
  std::string bytes;
  EXPECT_TRUE(ReadsWhileDaemonStopped(M("models/v1"), 2 << 20, bytes))
      << "the read waited for the daemon: not passed through\n"
      << DaemonLog();
  EXPECT_EQ(bytes, BlobBytes(2 << 20));
  // Through an alias, the same.
  EXPECT_TRUE(ReadsWhileDaemonStopped(M("models/production"), 1 << 20, bytes))
      << DaemonLog();
  EXPECT_EQ(bytes, BlobBytes(1 << 20));
  // .regfs/whoami says so.
  EXPECT_EQ(WhoamiPassthrough(), "on");
}

TEST_F(PassthroughTest, NoPassthroughOptionReadsThroughTheDaemon) {
  Remount({"-o", "nopassthrough"});
  EXPECT_THAT(ReadFile(mount_->log()),
              HasSubstr("passthrough off (-o nopassthrough)"))
      << DaemonLog();
  std::string bytes;
  EXPECT_FALSE(ReadsWhileDaemonStopped(M("models/v1"), 2 << 20, bytes))
      << "a read completed with the daemon stopped: passed through";
  EXPECT_EQ(bytes, BlobBytes(2 << 20));
  EXPECT_EQ(WhoamiPassthrough(), "off (-o nopassthrough)");
}

// cat, cmp and mmap give the version's bytes either way.
TEST_F(PassthroughTest, BytesAreTheVersionsWithAndWithoutPassthrough) {
  for (const bool passthrough : {true, false}) {
    SCOPED_TRACE(passthrough ? "passthrough" : "nopassthrough");
    if (!passthrough) Remount({"-o", "nopassthrough"});
    const RunResult cmp =
        RunAs(kViewer, {"cmp", M("models/v1").string(), Src("m1").string()});
    EXPECT_EQ(cmp.exit_code, 0) << cmp.out << cmp.err;
    EXPECT_EQ(RunAs(kMember, {"cat", M("models/latest").string()}).out,
              "model two\n");
    EXPECT_EQ(RunAs(kRoot, {"cat", M("zoo/v0/docs/readme.txt").string()}).out,
              "read me\n");

    const int fd = ::open(M("models/v1").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    const std::string expected = ReadFile(Src("m1"));
    void* map = ::mmap(nullptr, expected.size(), PROT_READ, MAP_SHARED, fd, 0);
    ASSERT_NE(map, MAP_FAILED) << std::strerror(errno);
    EXPECT_EQ(std::memcmp(map, expected.data(), expected.size()), 0);
    ::munmap(map, expected.size());
    ::close(fd);
  }
}

}  // namespace
}  // namespace regfs::fs::testing
