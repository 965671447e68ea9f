// Drafts and crashes (issue #13's "Tests", README "Publishing through the
// mount"), with real processes on a real mount, as a member who is not
// the store's owner:
//
//   - a writer SIGKILLed mid-write of a large draft (a file, a tree)
//     leaves a draft, never a version: no history row, the draft still
//     its writer's with every byte its write(2)s acknowledged, fsck clean;
//   - the daemon SIGKILLed while it publishes a large tree draft: after
//     `regfs mount` on the same mount point the version is there whole
//     with its history rows and the draft is gone (a published leftover,
//     removed when a mount starts), or there is no version, no row, and
//     the draft is intact, byte for byte; fsck clean either way.
//
// REGFS_PUBLISH_KILLS (default 8) sets how many publishes are killed.
#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "registry/names.h"
#include "tests/fs/draft_fixture.h"
#include "tests/reliability/reliability_util.h"

namespace regfs::reliability {
namespace {

using namespace std::chrono_literals;
using fs::testing::DraftTest;
using fs::testing::kGroupMember;
using fs::testing::kMember;
using fs::testing::Mount;
using fs::testing::ReadFile;
using fs::testing::WaitProcess;
using registry::EventType;
using ::testing::Contains;
using ::testing::Not;

constexpr size_t kChunk = 1 << 20;

class DraftCrashTest : public DraftTest {
 protected:
  // Forks a member that writes `path` (a draft, or a file in one) with
  // 1 MiB write(2)s of Content(seed, ...) for ever, reporting on a pipe
  // the bytes acknowledged so far after each write; SIGKILLs it once
  // `kill_at` bytes are acknowledged. Returns the acknowledged count.
  uint64_t WriteUntilKilled(const stdfs::path& path, uint64_t seed,
                            uint64_t kill_at) {
    int report[2];
    EXPECT_EQ(::pipe(report), 0);
    const pid_t pid = ForkAs(kMember, [&]() -> int {
      ::close(report[0]);
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd < 0) return 2;
      const std::string chunk = Content(seed, kChunk);
      for (uint64_t written = 0;;) {
        if (::write(fd, chunk.data(), chunk.size()) !=
            static_cast<ssize_t>(chunk.size())) {
          return 3;
        }
        written += chunk.size();
        if (::write(report[1], &written, sizeof written) != sizeof written) {
          return 4;
        }
      }
    });
    ::close(report[1]);
    uint64_t acknowledged = 0;
    while (acknowledged < kill_at &&
           ::read(report[0], &acknowledged, sizeof acknowledged) ==
               sizeof acknowledged) {
    }
    ::kill(pid, SIGKILL);
    // Reports written before the kill came.
    for (uint64_t more; ::read(report[0], &more, sizeof more) == sizeof more;) {
      acknowledged = more;
    }
    ::close(report[0]);
    const auto status = WaitProcess(pid, 30s);
    EXPECT_TRUE(status.has_value()) << "the killed writer did not exit";
    EXPECT_GE(acknowledged, kill_at) << "the writer stopped by itself";
    return acknowledged;
  }

  // The draft `name` of kMember in models, as the registry lists it.
  std::optional<registry::DraftInfo> ListedDraft(const std::string& name) {
    auto drafts = reg().drafts().List();
    EXPECT_TRUE(drafts.has_value());
    if (!drafts) return std::nullopt;
    for (const auto& d : *drafts) {
      if (d.collection_id == CollectionId("models") && d.uid == kMember.uid &&
          d.name == name) {
        return d;
      }
    }
    return std::nullopt;
  }

  // Checks the member's file at `path` in the mount: at least
  // `acknowledged` bytes, each chunk Content(seed, kChunk).
  void ExpectWritten(const stdfs::path& path, uint64_t seed,
                     uint64_t acknowledged) {
    const fs::testing::RunResult cat = RunAs(kMember, {"cat", path.string()});
    ASSERT_EQ(cat.exit_code, 0) << cat.err;
    ASSERT_GE(cat.out.size(), acknowledged)
        << path << " lost bytes its writer's write(2) acknowledged";
    const std::string chunk = Content(seed, kChunk);
    for (size_t at = 0; at + kChunk <= cat.out.size(); at += kChunk) {
      ASSERT_TRUE(cat.out.compare(at, kChunk, chunk) == 0)
          << path << " differs at chunk " << at / kChunk;
    }
  }

  void ExpectNothingPublished(uint64_t seq, size_t versions) {
    EXPECT_THAT(EventsAfter(seq), ::testing::IsEmpty());
    EXPECT_EQ(Versions("models"), versions);
    EXPECT_EQ(AliasTarget("models", "latest"),
              registry::VersionName(versions - 1));
  }
};

TEST_F(DraftCrashTest, WriterKilledMidWriteOfAFileLeavesADraftNotAVersion) {
  const uint64_t seq = LastSeq();
  const size_t versions = Versions("models");
  const uint64_t acknowledged =
      WriteUntilKilled(M("models/.big.bin"), 11, 24 * kChunk);

  ExpectNothingPublished(seq, versions);
  EXPECT_THAT(ListAs(kMember, M("models")), Contains(".big.bin"));
  EXPECT_THAT(ListAs(kGroupMember, M("models")), Not(Contains(".big.bin")));
  const auto listed = ListedDraft(".big.bin");
  ASSERT_TRUE(listed.has_value()) << "the killed writer's draft is not listed";
  EXPECT_FALSE(listed->is_dir);
  const uint64_t size = stdfs::file_size(OnDisk("models", kMember, ".big.bin"));
  EXPECT_GE(size, acknowledged);
  ExpectWritten(M("models/.big.bin"), 11, acknowledged);
  EXPECT_TRUE(StoreIsClean(store_));

  // Still a draft like any other: its writer publishes what is there.
  ASSERT_EQ(RenameAs(kMember, M("models/.big.bin"), M("models/latest")), 0)
      << DaemonLog();
  EXPECT_EQ(Versions("models"), versions + 1);
  auto version = reg().GetVersion("models", versions);
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(version->size, size);
}

TEST_F(DraftCrashTest, WriterKilledMidWriteOfATreeLeavesADraftNotAVersion) {
  const uint64_t seq = LastSeq();
  const size_t versions = Versions("zoo");
  ASSERT_EQ(AsUser(kMember, [&] {
              return ::mkdir(M("zoo/.run").c_str(), 0755) == 0 &&
                             ::mkdir(M("zoo/.run/sub").c_str(), 0755) == 0
                         ? 0
                         : errno;
            }),
            0);
  fs::testing::RunResult cp = Sh(
      kMember, fmt::format("cp -r {} {}", (work_ / "tree").string(),
                           M("zoo/.run/copied").string()));
  ASSERT_EQ(cp.exit_code, 0) << cp.err;
  const uint64_t acknowledged =
      WriteUntilKilled(M("zoo/.run/sub/big.bin"), 12, 16 * kChunk);

  EXPECT_THAT(EventsAfter(seq), ::testing::IsEmpty());
  EXPECT_EQ(Versions("zoo"), versions);
  EXPECT_THAT(ListAs(kMember, M("zoo")), Contains(".run"));
  EXPECT_EQ(StatAs(kGroupMember, M("zoo/.run")), ENOENT);
  ExpectWritten(M("zoo/.run/sub/big.bin"), 12, acknowledged);
  const fs::testing::RunResult diff =
      Sh(kMember, fmt::format("diff -r {} {}", (work_ / "tree").string(),
                              M("zoo/.run/copied").string()));
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
  auto drafts = reg().drafts().List();
  ASSERT_TRUE(drafts.has_value());
  bool listed = false;
  for (const auto& d : *drafts) {
    listed |= d.uid == kMember.uid && d.name == ".run" && d.is_dir;
  }
  EXPECT_TRUE(listed) << "the killed writer's tree draft is not listed";
  EXPECT_TRUE(StoreIsClean(store_));
}

// The files of the tree draft killed mid-publish in attempt `a`: many
// small files (the publish links each into blobs/) and two large ones,
// every content new to the store (a hash hit would make no link, and the
// leftover could not be told from a new draft).
std::map<std::string, std::string> TreeOf(int a) {
  std::map<std::string, std::string> files;
  const uint64_t seed = 1000 + static_cast<uint64_t>(a) * 10000;
  for (int i = 0; i < 40; ++i) {
    files[fmt::format("d{}/f{}.txt", i % 10, i)] = Content(seed + i, 512 + i);
  }
  files["big0.bin"] = Content(seed + 5000, 8 << 20);
  files["big1.bin"] = Content(seed + 5001, 8 << 20);
  return files;
}

TEST_F(DraftCrashTest, DaemonKilledMidPublishLeavesAllOrNothing) {
  const int kills = EnvInt("REGFS_PUBLISH_KILLS", 8);
  int published = 0, not_published = 0;
  for (int a = 0; a < kills; ++a) {
    SCOPED_TRACE(fmt::format("attempt {}", a));
    const std::string draft = fmt::format(".run{}", a);
    const std::string alias = fmt::format("cand{}", a);
    const auto files = TreeOf(a);
    ASSERT_EQ(AsUser(kMember,
                     [&] {
                       for (const auto& [rel, content] : files) {
                         const stdfs::path p = M("zoo/" + draft + "/" + rel);
                         std::error_code ec;
                         stdfs::create_directories(p.parent_path(), ec);
                         if (ec) return ec.value();
                         fs::testing::WriteFile(p, content);
                       }
                       return 0;
                     }),
              0);
    const uint64_t seq = LastSeq();
    const size_t versions = Versions("zoo");

    // The member publishes; the daemon dies 0, 50, 100, ... 3200 ms into
    // it: early kills come before the commit, late ones after it.
    const pid_t mv = ForkAs(kMember, [&] {
      return ::rename(M("zoo/" + draft).c_str(), M("zoo/" + alias).c_str()) == 0
                 ? 0
                 : 10 + (errno == ENOTCONN || errno == ECONNABORTED ||
                         errno == EIO);
    });
    std::this_thread::sleep_for(
        std::chrono::milliseconds(a == 0 ? 0 : 25 << std::min(a, 7)));
    const pid_t daemon = mount_->pid();
    ASSERT_EQ(::kill(daemon, SIGKILL), 0);
    ASSERT_TRUE(WaitProcess(daemon, 30s).has_value());
    mount_->Abandon();
    const auto mv_status = WaitProcess(mv, 60s);
    ASSERT_TRUE(mv_status.has_value()) << "the publisher hung on the dead mount";
    EXPECT_TRUE(*mv_status == 0 || *mv_status == 11)
        << "rename ended " << *mv_status << " (10: an error other than the "
        << "dead mount's)";
    mount_ = std::make_unique<Mount>(store_, mnt_,
                                     dir_ / fmt::format("mount-{}.log", a));
    ASSERT_TRUE(mount_->Start());

    auto reopened = registry::Registry::Open(store_);
    ASSERT_TRUE(reopened.has_value()) << reopened.error().message;
    auto events = (*reopened)->History({.after_seq = seq});
    ASSERT_TRUE(events.has_value());
    if (!events->empty()) {
      ++published;
      // Whole: the version and its alias, by the member through the mount.
      ASSERT_EQ(events->size(), 2u);
      const auto& created = (*events)[0];
      EXPECT_EQ(created.type, EventType::kVersionCreate);
      EXPECT_EQ(created.uid, kMember.uid);
      EXPECT_EQ(created.interface, registry::Interface::kFs);
      ASSERT_TRUE(created.new_version.has_value());
      EXPECT_EQ((*events)[1].type, EventType::kAliasCreate);
      EXPECT_EQ((*events)[1].alias, alias);
      EXPECT_EQ((*events)[1].new_version, created.new_version);
      const std::string where =
          "zoo/" + registry::VersionName(*created.new_version);
      for (const auto& [rel, content] : files) {
        EXPECT_TRUE(ReadFile(M(where + "/" + rel)) == content)
            << where << "/" << rel << " is not what the draft held";
      }
      // The published leftover went when the mount started.
      EXPECT_EQ(StatAs(kMember, M("zoo/" + draft)), ENOENT);
      EXPECT_FALSE(stdfs::exists(OnDisk("zoo", kMember, draft)));
    } else {
      ++not_published;
      EXPECT_EQ(*mv_status, 11) << "rename succeeded but nothing was published";
      EXPECT_EQ(Versions("zoo"), versions);
      EXPECT_EQ(StatAs(kMember, M("zoo/" + alias)), ENOENT);
      // The draft intact, byte for byte, still its writer's.
      EXPECT_THAT(ListAs(kMember, M("zoo")), Contains(draft));
      for (const auto& [rel, content] : files) {
        EXPECT_TRUE(ReadFile(OnDisk("zoo", kMember, draft) / rel) == content)
            << draft << "/" << rel << " changed";
      }
    }
    EXPECT_TRUE(StoreIsClean(store_));
    if (HasFailure()) break;
  }
  std::printf("[ publish kill ] %d published whole, %d not published\n",
              published, not_published);
}

}  // namespace
}  // namespace regfs::reliability
