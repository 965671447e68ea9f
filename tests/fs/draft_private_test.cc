// Drafts are their writer's: other members neither see nor touch them
// (ENOENT, not listed), admins do; each user's drafts count against their
// own quota; rm discards a draft; drafts survive a remount.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "tests/fs/draft_fixture.h"

namespace regfs::fs::testing {
namespace {

using ::testing::Contains;
using ::testing::Not;

using DraftPrivateTest = DraftTest;

// Writes `size` bytes to a new draft `path` as `user`, 64 KiB per write:
// 0, or the errno of the first failing call.
int WriteDraftAs(const User& user, const stdfs::path& path, size_t size) {
  return AsUser(user, [&] {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return errno;
    const std::string chunk(64 * 1024, 'q');
    for (size_t done = 0; done < size; done += chunk.size()) {
      if (::write(fd, chunk.data(), std::min(chunk.size(), size - done)) < 0) {
        const int err = errno;
        ::close(fd);
        return err;
      }
    }
    return ::close(fd) == 0 ? 0 : errno;
  });
}

TEST_F(DraftPrivateTest, OtherMembersDoNotSeeADraftAdminsDo) {
  ASSERT_EQ(WriteDraftAs(kMember, M("models/.secret"), 1000), 0)
      << DaemonLog();
  ASSERT_EQ(Sh(kMember, "mkdir " + M("models/.tree").string() +
                            " && echo x > " + M("models/.tree/f").string())
                .exit_code,
            0);
  struct Case {
    const User* user;
    int err;       // of lstat
    bool listed;
  };
  const Case cases[] = {
      {&kMember, 0, true},
      {&kGroupMember, ENOENT, false},
      {&kViewer, ENOENT, false},
      {&kAdmin, 0, true},
      {&kRoot, 0, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("uid " + std::to_string(c.user->uid));
    EXPECT_EQ(StatAs(*c.user, M("models/.secret")), c.err);
    EXPECT_EQ(StatAs(*c.user, M("models/.tree/f")), c.err);
    const auto names = ListAs(*c.user, M("models"));
    if (c.listed) {
      EXPECT_THAT(names, Contains(".secret"));
      EXPECT_THAT(names, Contains(".tree"));
    } else {
      EXPECT_THAT(names, Not(Contains(".secret")));
      EXPECT_THAT(names, Not(Contains(".tree")));
    }
  }
  // Another member's draft of the same name is their own.
  ASSERT_EQ(WriteDraftAs(kGroupMember, M("models/.secret"), 10), 0);
  EXPECT_EQ(stdfs::file_size(OnDisk("models", kMember, ".secret")), 1000u);
  EXPECT_EQ(stdfs::file_size(OnDisk("models", kGroupMember, ".secret")), 10u);
  // An admin sees others' drafts, but their own first; a name no one has
  // a draft of is none.
  ASSERT_EQ(WriteDraftAs(kAdmin, M("models/.both"), 20), 0) << DaemonLog();
  ASSERT_EQ(WriteDraftAs(kMember, M("models/.both"), 30), 0) << DaemonLog();
  const RunResult size = Sh(kAdmin, "stat -c %s " + M("models/.both").string());
  EXPECT_EQ(size.out, "20\n") << size.err;
  EXPECT_EQ(StatAs(kAdmin, M("models/.nobody")), ENOENT);
  EXPECT_EQ(StatAs(kAdmin, M("zoo/.nobody")), ENOENT);
  // Nor can they remove or publish the member's draft.
  EXPECT_EQ(AsUser(kGroupMember,
                   [&] {
                     return ::unlink(M("models/.tree/f").c_str()) == 0 ? 0
                                                                        : errno;
                   }),
            ENOENT);
  EXPECT_TRUE(stdfs::exists(OnDisk("models", kMember, ".tree/f")));
}

TEST_F(DraftPrivateTest, AnAdminPublishesAMembersDraft) {
  ASSERT_EQ(WriteDraftAs(kMember, M("models/.theirs"), 4000), 0);
  // Another member cannot; the admin can, and is the publisher.
  EXPECT_EQ(RenameAs(kGroupMember, M("models/.theirs"), M("models/latest")),
            ENOENT);
  ASSERT_EQ(RenameAs(kAdmin, M("models/.theirs"), M("models/latest")), 0)
      << DaemonLog();
  auto v = reg().GetVersion("models", 3);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->creator_uid, kAdmin.uid);
  EXPECT_EQ(v->size, 4000u);
  EXPECT_FALSE(stdfs::exists(OnDisk("models", kMember, ".theirs")));
}

TEST_F(DraftPrivateTest, QuotaIsPerUser) {
  registry::DraftLimits limits;
  limits.quota_bytes = 1 << 20;
  ASSERT_TRUE(reg().SetDraftLimits(root(), limits).has_value());
  EXPECT_EQ(WriteDraftAs(kMember, M("models/.big"), 2 << 20), EDQUOT)
      << DaemonLog();
  EXPECT_EQ(WriteDraftAs(kGroupMember, M("models/.small"), 512 << 10), 0)
      << DaemonLog();
  EXPECT_NE(DaemonLog().find("draft quota"), std::string::npos);
  // Discarding frees the member's bytes again.
  ASSERT_EQ(Sh(kMember, "rm " + M("models/.big").string()).exit_code, 0);
  EXPECT_EQ(WriteDraftAs(kMember, M("models/.again"), 512 << 10), 0)
      << DaemonLog();
}

TEST_F(DraftPrivateTest, RmAndRmRDiscardDrafts) {
  ASSERT_EQ(Sh(kMember, "cp " + (work_ / "w.bin").string() + " " +
                            M("models/.f").string() + " && cp -r " +
                            (work_ / "tree").string() + " " +
                            M("zoo/.t").string())
                .exit_code,
            0)
      << DaemonLog();
  ASSERT_TRUE(stdfs::exists(OnDisk("zoo", kMember, ".t/sub/b.bin")));
  const RunResult rm = Sh(kMember, "rm " + M("models/.f").string() +
                                       " && rm -r " + M("zoo/.t").string());
  EXPECT_EQ(rm.exit_code, 0) << rm.err << DaemonLog();
  EXPECT_FALSE(stdfs::exists(OnDisk("models", kMember, ".f")));
  EXPECT_FALSE(stdfs::exists(OnDisk("zoo", kMember, ".t")));
  EXPECT_THAT(ListAs(kMember, M("zoo")), Not(Contains(".t")));
  EXPECT_EQ(Versions("models"), 3u);
}

TEST_F(DraftPrivateTest, DraftsSurviveARemount) {
  ASSERT_EQ(Sh(kMember, "cp " + (work_ / "w.bin").string() + " " +
                            M("models/.kept").string())
                .exit_code,
            0);
  ASSERT_EQ(mount_->Stop(), 0);
  mount_ = std::make_unique<Mount>(store_, mnt_, dir_ / "mount.log");
  ASSERT_TRUE(mount_->Start());
  const RunResult cmp = Sh(kMember, "cmp " + (work_ / "w.bin").string() + " " +
                                        M("models/.kept").string());
  EXPECT_EQ(cmp.exit_code, 0) << cmp.out << cmp.err << DaemonLog();
  EXPECT_THAT(ListAs(kMember, M("models")), Contains(".kept"));
  ASSERT_EQ(RenameAs(kMember, M("models/.kept"), M("models/latest")), 0)
      << DaemonLog();
  EXPECT_EQ(AliasTarget("models", "latest"), "v3");
}

TEST_F(DraftPrivateTest, RenamesInsideDraftsAndBetweenDraftNames) {
  const RunResult ops = Sh(
      kMember, "cd " + M("zoo").string() +
                   " && mkdir .d && mkdir .d/sub && echo one > .d/sub/x && "
                   "mv .d/sub/x .d/y && mv .d .e && chmod 600 .e/y && "
                   "touch -d 2020-01-01 .e/y && ls -l .e/y && "
                   "ln -s y .e/link");
  EXPECT_NE(ops.exit_code, 0) << "ln -s inside a draft is refused";
  EXPECT_NE(ops.err.find("Operation not permitted"), std::string::npos)
      << ops.err;
  EXPECT_NE(ops.out.find("-rw-------"), std::string::npos) << ops.out;
  EXPECT_NE(ops.out.find("2020"), std::string::npos) << ops.out;
  EXPECT_EQ(ReadFile(OnDisk("zoo", kMember, ".e/y")), "one\n");
  EXPECT_FALSE(stdfs::exists(OnDisk("zoo", kMember, ".d")));
  EXPECT_NE(DaemonLog().find("a version cannot hold links"),
            std::string::npos);
  const RunResult hard =
      Sh(kMember, "ln " + M("zoo/.e/y").string() + " " + M("zoo/.e/hard").string());
  EXPECT_NE(hard.exit_code, 0);
  EXPECT_NE(hard.err.find("Operation not permitted"), std::string::npos)
      << hard.err;
}

TEST_F(DraftPrivateTest, DraftsKeepPermissionBitsOnly) {
  // The daemon (root) creates the backing files: no set-ID bit may reach
  // them, whether asked at creation or by chmod.
  const RunResult ops = Sh(
      kMember, "cd " + M("models").string() +
                   " && echo x > .s && chmod 6755 .s && stat -c %a .s && "
                   "mkdir -m 2775 .dir && stat -c %a .dir");
  ASSERT_EQ(ops.exit_code, 0) << ops.err << DaemonLog();
  EXPECT_EQ(ops.out, "755\n775\n");
  struct stat st {};
  ASSERT_EQ(stat(OnDisk("models", kMember, ".s").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07000, 0u);
}

}  // namespace
}  // namespace regfs::fs::testing
