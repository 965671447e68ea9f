// Drafts on disk (Drafts), their limits (Get/SetDraftLimits), and what
// CollectDrafts and Gc remove: abandoned drafts and published leftovers,
// never a fresh draft or one whose publish did not commit.
#include "registry/drafts.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::CodeOf;
using testing::Owner;
using testing::ReadFile;
using testing::RegistryTest;
using testing::TempDir;
using testing::User;
using testing::WriteFile;

constexpr uid_t kMember = 20001;

TEST(DraftsTest, DirForMakesPrivateDirectoriesAndPathOfNamesTheDraft) {
  TempDir tmp;
  Drafts drafts(tmp.path() / "drafts");
  auto dir = drafts.DirFor(7, 1000);
  REGFS_ASSERT_OK(dir);
  EXPECT_EQ(*dir, tmp.path() / "drafts/7/1000");
  for (const fs::path& p : {tmp.path() / "drafts", tmp.path() / "drafts/7",
                            tmp.path() / "drafts/7/1000"}) {
    struct stat st;
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 07777, 0700u) << p;
  }
  EXPECT_EQ(drafts.PathOf(7, 1000, ".m.pt"),
            tmp.path() / "drafts/7/1000/.m.pt");
  REGFS_EXPECT_OK(drafts.DirFor(7, 1000));  // again: fine
}

TEST(DraftsTest, ListUsageAndRemove) {
  TempDir tmp;
  Drafts drafts(tmp.path() / "drafts");
  auto empty = drafts.List();
  REGFS_ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty()) << "no drafts area yet: no drafts";

  REGFS_ASSERT_OK(drafts.DirFor(2, 1000));
  REGFS_ASSERT_OK(drafts.DirFor(1, 1001));
  WriteFile(drafts.PathOf(2, 1000, ".b"), std::string(10000, 'b'));
  WriteFile(drafts.PathOf(2, 1000, ".a/x/y.bin"), std::string(5000, 'a'));
  WriteFile(drafts.PathOf(1, 1001, ".c"), "c");
  fs::create_directories(tmp.path() / "drafts/not-a-number/5");

  auto list = drafts.List();
  REGFS_ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].collection_id, 1);
  EXPECT_EQ((*list)[0].uid, 1001u);
  EXPECT_EQ((*list)[0].name, ".c");
  EXPECT_EQ((*list)[1].name, ".a");
  EXPECT_TRUE((*list)[1].is_dir);
  EXPECT_EQ((*list)[2].name, ".b");
  EXPECT_FALSE((*list)[2].is_dir);
  EXPECT_GE((*list)[2].bytes, 10000u);
  EXPECT_GE((*list)[1].bytes, 5000u);
  const auto now = std::chrono::system_clock::now();
  const TimeMs now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            now.time_since_epoch())
                            .count();
  EXPECT_NEAR(static_cast<double>((*list)[1].changed),
              static_cast<double>(now_ms), 60000.0);

  auto usage = drafts.Usage();
  REGFS_ASSERT_OK(usage);
  EXPECT_EQ((*usage)[1000], (*list)[1].bytes + (*list)[2].bytes);
  EXPECT_EQ((*usage)[1001], (*list)[0].bytes);

  REGFS_ASSERT_OK(drafts.Remove(2, 1000, ".a"));
  EXPECT_FALSE(fs::exists(drafts.PathOf(2, 1000, ".a")));
  EXPECT_EQ(CodeOf(drafts.Remove(2, 1000, ".a")), Code::kNotFound);
  EXPECT_EQ(CodeOf(drafts.Remove(2, 1000, "..")), Code::kInvalidArgument);
  EXPECT_EQ(CodeOf(drafts.Remove(2, 1000, "../1000")), Code::kInvalidArgument);
  EXPECT_TRUE(fs::exists(drafts.PathOf(2, 1000, ".b")));
}

using DraftLimitsTest = RegistryTest;

TEST_F(DraftLimitsTest, DefaultsThenAdminSetsThemAndTheyPersist) {
  auto limits = reg().GetDraftLimits();
  REGFS_ASSERT_OK(limits);
  EXPECT_EQ(limits->quota_bytes, 100ull << 30);
  EXPECT_EQ(limits->idle, std::chrono::hours(24 * 7));

  ASSERT_TRUE(reg().Grant(Owner(), std::to_string(kMember), Role::kMember));
  EXPECT_EQ(CodeOf(reg().SetDraftLimits(User(kMember), {1, {}})),
            Code::kPermissionDenied);
  REGFS_ASSERT_OK(
      reg().SetDraftLimits(Owner(), {50ull << 30, std::chrono::hours(72)}));
  Reopen();
  limits = reg().GetDraftLimits();
  REGFS_ASSERT_OK(limits);
  EXPECT_EQ(limits->quota_bytes, 50ull << 30);
  EXPECT_EQ(limits->idle, std::chrono::hours(72));
}

class CollectDraftsTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    ASSERT_TRUE(reg().Grant(Owner(), std::to_string(kMember), Role::kMember));
    auto c = reg().CreateCollection(Owner(), "models");
    ASSERT_TRUE(c.has_value());
    id_ = c->id;
    ASSERT_TRUE(reg().drafts().DirFor(id_, kMember));
  }

  fs::path Draft(const std::string& name, const std::string& content) {
    const fs::path path = reg().drafts().PathOf(id_, kMember, name);
    WriteFile(path, content);
    return path;
  }

  // Sets the mtime of `path` `days` back.
  static void Age(const fs::path& path, int days) {
    const struct timespec times[2] = {{0, UTIME_OMIT},
                                      {::time(nullptr) - days * 86400, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW),
              0);
  }

  Result<Version> Publish(const std::string& draft) {
    PublishRequest r;
    r.collection = "models";
    r.owner = kMember;
    r.draft = draft;
    r.target = "latest";
    return reg().Publish(User(kMember, {}, Interface::kFs), r);
  }

  int64_t id_ = 0;
};

TEST_F(CollectDraftsTest, RemovesIdleDraftsAndPublishedLeftoversOnly) {
  // Abandoned: a tree whose newest file is 10 days old.
  const fs::path idle = Draft(".idle/a.bin", "old").parent_path();
  Age(idle / "a.bin", 10);
  Age(idle, 10);
  // Fresh, and old but with one fresh file: both kept.
  const fs::path fresh = Draft(".fresh", "new");
  const fs::path mixed = Draft(".mixed/old.bin", "old").parent_path();
  Draft(".mixed/new.bin", "new");
  Age(mixed / "old.bin", 10);
  Age(mixed, 10);
  // A published leftover: killed after the commit, before the draft (and
  // its sidecar) were removed; its file is the blob's other link.
  Draft(".pub", "published");
  auto v = Publish(".pub");
  REGFS_ASSERT_OK(v);
  const fs::path leftover = reg().drafts().PathOf(id_, kMember, ".pub");
  ASSERT_EQ(::link(reg().BlobPath(v->blob).c_str(), leftover.c_str()), 0);
  const fs::path leftover_sidecar = Draft(".pub.metadata.json", "{}");
  // Killed before the commit: its blob is in place, no version names it.
  const fs::path pending = Draft(".pending", "not yet");
  {
    OpenOptions options;
    options.fail_point = BlobStore::FailPoint::kAfterInstall;
    Reopen(options);
    ASSERT_FALSE(Publish(".pending").has_value());
    struct stat st;
    ASSERT_EQ(::stat(pending.c_str(), &st), 0);
    ASSERT_EQ(st.st_nlink, 2u) << "linked to its installed blob";
    Reopen();
  }

  auto report = reg().CollectDrafts(std::chrono::hours(24));
  REGFS_ASSERT_OK(report);
  EXPECT_EQ(report->abandoned, 1u);
  EXPECT_EQ(report->published, 2u) << "the leftover and its sidecar";
  EXPECT_FALSE(fs::exists(idle));
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_FALSE(fs::exists(leftover_sidecar));
  EXPECT_EQ(ReadFile(fresh), "new");
  EXPECT_TRUE(fs::exists(mixed / "old.bin"));
  EXPECT_EQ(ReadFile(pending), "not yet");
  EXPECT_EQ(ReadFile(reg().BlobPath(v->blob)), "published")
      << "the version keeps its blob";
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean());

  // The pending draft still publishes.
  auto later = Publish(".pending");
  REGFS_ASSERT_OK(later);
  EXPECT_EQ(ReadFile(reg().BlobPath(later->blob)), "not yet");
}

TEST_F(CollectDraftsTest, GcRemovesDraftsIdleLongerThanTheStoreSetting) {
  const fs::path old = Draft(".old", "x");
  Age(old, 3);
  const fs::path fresh = Draft(".fresh", "y");
  auto kept = reg().Gc(Owner());
  REGFS_ASSERT_OK(kept);
  EXPECT_EQ(kept->drafts.abandoned, 0u) << "the default idle time is 7 days";
  EXPECT_TRUE(fs::exists(old));

  REGFS_ASSERT_OK(reg().SetDraftLimits(
      Owner(), {DraftLimits::kDefaultQuotaBytes, std::chrono::hours(48)}));
  EXPECT_EQ(CodeOf(reg().Gc(User(kMember))), Code::kPermissionDenied);
  EXPECT_TRUE(fs::exists(old));
  auto gc = reg().Gc(Owner());
  REGFS_ASSERT_OK(gc);
  EXPECT_EQ(gc->drafts.abandoned, 1u);
  EXPECT_FALSE(fs::exists(old));
  EXPECT_TRUE(fs::exists(fresh));
}

TEST_F(CollectDraftsTest, FsckIgnoresDrafts) {
  Draft(".a", "x");
  Draft(".tree/sub/b", "y");
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean());
  EXPECT_EQ(fsck->blobs, 0u);
}

}  // namespace
}  // namespace regfs::registry
