// -o draftpassthrough: the kernel writes and reads drafts' files itself
// (FUSE passthrough). A draft written that way publishes the same bytes;
// reads back and fsync work while it is written; the quota is counted at
// close, fsync and publish (EDQUOT there); a publish waits for the
// draft's writers to close (EBUSY if one stays open); without passthrough
// (-o nopassthrough) the daemon writes as before.
//
// The probe, as in passthrough_test.cc: stop the daemon (SIGSTOP) and
// read bytes of an open draft never read before. Passed through, the read
// completes; through the daemon it waits until the daemon runs again.
// (A write that extends the file waits for the daemon even passed through,
// on Linux 6.18: the kernel asks it something. The bytes themselves go
// straight to the file: BENCHMARKS.md's publish row.)
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "tests/fs/draft_fixture.h"

namespace regfs::fs::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Waits until every thread of `pid` is stopped (SIGSTOP stops them one by
// one: a thread still running could answer a request).
bool AllThreadsStopped(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    const stdfs::path tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : stdfs::directory_iterator(tasks)) {
      const std::string stat = ReadFile(task.path() / "stat");
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

class DraftPassthroughTest : public DraftTest {
 protected:
  void SetUp() override {
    DraftTest::SetUp();
    if (HasFatalFailure()) return;
    Remount({"-o", "draftpassthrough"});
  }

  void Remount(std::vector<std::string> args) {
    ASSERT_EQ(mount_->Stop(), 0);
    mount_ = std::make_unique<Mount>(store_, mnt_, dir_ / "mount.log",
                                     std::move(args));
    ASSERT_TRUE(mount_->Start());
  }

  // Reads 4 KiB at `offset` of the open `fd` with the daemon stopped:
  // whether the read completed within 2 s; `bytes` gets what was read. The
  // daemon runs again before this returns.
  bool ReadsWhileDaemonStopped(int fd, off_t offset, std::string& bytes) {
    EXPECT_EQ(::kill(mount_->pid(), SIGSTOP), 0);
    EXPECT_TRUE(AllThreadsStopped(mount_->pid()));
    bytes.assign(4096, '\0');
    auto read = std::async(std::launch::async, [&] {
      return ::pread(fd, bytes.data(), bytes.size(), offset);
    });
    const bool completed = read.wait_for(2s) == std::future_status::ready;
    EXPECT_EQ(::kill(mount_->pid(), SIGCONT), 0);
    EXPECT_EQ(read.get(), 4096) << std::strerror(errno);
    return completed;
  }

  // cp of work/w.bin into `draft`, then mv onto `target`, as `user`.
  RunResult CpMv(const User& user, const std::string& draft,
                 const std::string& target) {
    return Sh(user, "cp " + (work_ / "w.bin").string() + " " +
                        M(draft).string() + " && mv " + M(draft).string() +
                        " " + M(target).string());
  }
};

TEST_F(DraftPassthroughTest, KernelWritesTheDraftAndReadsItBack) {
  ASSERT_THAT(ReadFile(mount_->log()), HasSubstr("passthrough on"))
      << "this kernel or build cannot pass writes through\n"
      << DaemonLog();
  const int fd = ::open(M("models/.probe.bin").c_str(),
                        O_RDWR | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno) << DaemonLog();
  const std::string head(1 << 20, 'h');
  ASSERT_EQ(::write(fd, head.data(), head.size()),
            static_cast<ssize_t>(head.size()));
  const std::string tail(4096, 'k');
  ASSERT_EQ(::pwrite(fd, tail.data(), tail.size(), 1 << 20), 4096);
  // Another open reads what the first is writing, without the daemon.
  const int reader = ::open(M("models/.probe.bin").c_str(), O_RDONLY);
  ASSERT_GE(reader, 0) << std::strerror(errno);
  std::string back;
  EXPECT_TRUE(ReadsWhileDaemonStopped(reader, 1 << 20, back))
      << "the read waited for the daemon: not passed through\n"
      << DaemonLog();
  EXPECT_EQ(back, tail);
  EXPECT_EQ(::fsync(fd), 0) << std::strerror(errno) << DaemonLog();
  EXPECT_EQ(::fdatasync(fd), 0) << std::strerror(errno);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, (1 << 20) + 4096);
  ::close(reader);
  ASSERT_EQ(::close(fd), 0) << std::strerror(errno);
  ASSERT_EQ(::rename(M("models/.probe.bin").c_str(), M("models/latest").c_str()),
            0)
      << std::strerror(errno) << DaemonLog();
  EXPECT_EQ(ReadFile(M("models/latest")), head + std::string(4096, 'k'));
}

TEST_F(DraftPassthroughTest, CpThenMvPublishesTheSameBytesAsAMember) {
  const uint64_t versions = Versions("models");
  const RunResult run = CpMv(kMember, "models/.w.bin", "models/latest");
  ASSERT_EQ(run.exit_code, 0) << run.err << DaemonLog();
  EXPECT_EQ(Versions("models"), versions + 1);
  EXPECT_EQ(ReadFile(M("models/latest")), ReadFile(work_ / "w.bin"));
  EXPECT_FALSE(stdfs::exists(OnDisk("models", kMember, ".w.bin")));
  auto latest = reg().GetVersion("models", static_cast<int64_t>(versions));
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->creator_uid, kMember.uid);
  // A tree, file by file.
  const RunResult tree = Sh(kMember, "cp -r " + (work_ / "tree").string() +
                                         " " + M("zoo/.t").string() +
                                         " && mv " + M("zoo/.t").string() +
                                         " " + M("zoo/fresh").string());
  ASSERT_EQ(tree.exit_code, 0) << tree.err << DaemonLog();
  EXPECT_EQ(ReadFile(M("zoo/fresh/sub/b.bin")),
            ReadFile(work_ / "tree" / "sub" / "b.bin"));
}

TEST_F(DraftPassthroughTest, QuotaIsCountedAtCloseAndRefusesThePublish) {
  registry::DraftLimits limits;
  limits.quota_bytes = 1 << 20;
  ASSERT_TRUE(reg().SetDraftLimits(root(), limits).has_value());
  // The kernel writes 5 MiB; the close counts them and says EDQUOT.
  const RunResult cp = Sh(kMember, "cp " + (work_ / "w.bin").string() + " " +
                                       M("models/.big").string());
  EXPECT_NE(cp.exit_code, 0) << DaemonLog();
  EXPECT_THAT(cp.err, HasSubstr("Disk quota exceeded"));
  EXPECT_THAT(DaemonLog(), HasSubstr("draft quota"));
  // Past the quota: no more opens for writing, no publish; the draft stays.
  EXPECT_EQ(AsUser(kMember,
                   [&] {
                     const int fd = ::open(M("models/.more").c_str(),
                                           O_WRONLY | O_CREAT, 0644);
                     if (fd >= 0) ::close(fd);
                     return fd >= 0 ? 0 : errno;
                   }),
            EDQUOT);
  const size_t versions = Versions("models");
  EXPECT_EQ(RenameAs(kMember, M("models/.big"), M("models/latest")), EDQUOT)
      << DaemonLog();
  EXPECT_EQ(Versions("models"), versions);
  EXPECT_TRUE(stdfs::exists(OnDisk("models", kMember, ".big")));
  // Another user's quota is their own.
  EXPECT_EQ(Sh(kGroupMember, "head -c 100000 /dev/zero > " +
                                 M("models/.small").string())
                .exit_code,
            0)
      << DaemonLog();
  // Removing the draft frees the member's bytes again.
  ASSERT_EQ(Sh(kMember, "rm " + M("models/.big").string()).exit_code, 0);
  const RunResult small =
      Sh(kMember, "head -c 200000 /dev/zero > " + M("models/.s").string() +
                      " && mv " + M("models/.s").string() + " " +
                      M("models/latest").string());
  EXPECT_EQ(small.exit_code, 0) << small.err << DaemonLog();
  EXPECT_EQ(Versions("models"), versions + 1);
}

TEST_F(DraftPassthroughTest, PublishWaitsForOpenWritersThenSaysEbusy) {
  const int err = AsUser(kMember, [&] {
    const int fd = ::open(M("models/.open.bin").c_str(),
                          O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return 100;
    if (::write(fd, "first", 5) != 5) return 101;
    const int rc = ::rename(M("models/.open.bin").c_str(),
                            M("models/latest").c_str()) == 0
                       ? 0
                       : errno;
    if (::write(fd, "+more", 5) != 5) return 102;  // still a draft
    ::close(fd);
    return rc;
  });
  EXPECT_EQ(err, EBUSY) << DaemonLog();
  EXPECT_THAT(DaemonLog(), HasSubstr("still open for writing"));
  EXPECT_EQ(RenameAs(kMember, M("models/.open.bin"), M("models/latest")), 0)
      << DaemonLog();
  EXPECT_EQ(ReadFile(M("models/latest")), "first+more");
}

TEST_F(DraftPassthroughTest, WithoutPassthroughTheDaemonWritesAsBefore) {
  Remount({"-o", "draftpassthrough,nopassthrough"});
  EXPECT_THAT(DaemonLog(), HasSubstr("-o draftpassthrough is off with -o "
                                     "nopassthrough"));
  const int fd = ::open(M("models/.slow.bin").c_str(),
                        O_RDWR | O_CREAT | O_EXCL, 0644);
  ASSERT_GE(fd, 0) << std::strerror(errno) << DaemonLog();
  // Bytes the kernel has not cached: a truncate extends the file.
  ASSERT_EQ(::ftruncate(fd, 1 << 20), 0) << std::strerror(errno);
  std::string back;
  EXPECT_FALSE(ReadsWhileDaemonStopped(fd, 512 << 10, back))
      << "a read completed with the daemon stopped: passed through";
  EXPECT_EQ(::fsync(fd), 0) << std::strerror(errno);
  ::close(fd);
  ASSERT_EQ(CpMv(kMember, "models/.w.bin", "models/latest").exit_code, 0)
      << DaemonLog();
  EXPECT_EQ(ReadFile(M("models/latest")), ReadFile(work_ / "w.bin"));
  // The quota refuses the write itself, as without the option.
  registry::DraftLimits limits;
  limits.quota_bytes = 1 << 20;
  ASSERT_TRUE(reg().SetDraftLimits(root(), limits).has_value());
  const RunResult cp = Sh(kMember, "cp " + (work_ / "w.bin").string() + " " +
                                       M("models/.big").string());
  EXPECT_THAT(cp.err, HasSubstr("Disk quota exceeded"));
  EXPECT_LE(stdfs::file_size(OnDisk("models", kMember, ".big")), 1u << 20);
}

}  // namespace
}  // namespace regfs::fs::testing
