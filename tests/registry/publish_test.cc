// Registry::Publish: a draft written into Drafts::PathOf becomes a version
// (file or tree), onto latest or an alias, with its sidecar and xattrs,
// without a copy of its bytes; every refusal changes nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "registry/drafts.h"
#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::Describe;
using testing::Owner;
using testing::ReadFile;
using testing::RegistryTest;
using testing::User;
using testing::WriteFile;

constexpr uid_t kMember = 20001;
constexpr uid_t kOtherMember = 20002;
constexpr uid_t kViewer = 20003;

Identity Member(uid_t uid = kMember) { return User(uid, {}, Interface::kFs); }

class PublishTest : public RegistryTest {
 public:
  using RegistryTest::reg;

  void SetUp() override {
    RegistryTest::SetUp();
    for (uid_t uid : {kMember, kOtherMember}) {
      ASSERT_TRUE(reg().Grant(Owner(), std::to_string(uid), Role::kMember));
    }
  }

  // The collection's id, creating it if needed.
  int64_t CollectionId(const std::string& name) {
    auto c = reg().GetCollection(name);
    if (!c) c = reg().CreateCollection(Owner(), name);
    EXPECT_TRUE(c.has_value()) << Describe(c);
    return c ? c->id : 0;
  }

  // Writes `content` to file `rel` of draft `name` of `uid` in `coll`
  // (rel empty: the draft is that file).
  fs::path WriteDraft(const std::string& coll, const std::string& name,
                      const std::string& content, const std::string& rel = "",
                      uid_t uid = kMember) {
    const int64_t id = CollectionId(coll);
    EXPECT_TRUE(reg().drafts().DirFor(id, uid).has_value());
    const fs::path root = reg().drafts().PathOf(id, uid, name);
    WriteFile(rel.empty() ? root : root / rel, content);
    return root;
  }

  Result<Version> Publish(const Identity& who, const std::string& coll,
                          const std::string& draft,
                          const std::string& target = "latest") {
    PublishRequest r;
    r.collection = coll;
    r.owner = who.uid;
    r.draft = draft;
    r.target = target;
    return reg().Publish(who, r);
  }

  std::vector<Event> EventsOf(const std::string& coll) {
    HistoryFilter filter;
    filter.collection = coll;
    auto events = reg().History(filter);
    EXPECT_TRUE(events.has_value());
    return events ? *events : std::vector<Event>{};
  }
};

// Everything under `path` (a file or a tree): relative path -> content,
// "<dir>" for directories.
std::map<std::string, std::string> Snapshot(const fs::path& path) {
  std::map<std::string, std::string> out;
  if (fs::is_regular_file(path)) {
    out[""] = ReadFile(path);
    return out;
  }
  if (!fs::exists(path)) return out;
  for (const auto& e : fs::recursive_directory_iterator(path)) {
    const std::string rel = fs::relative(e.path(), path).string();
    out[rel] = e.is_directory() ? "<dir>" : ReadFile(e.path());
  }
  return out;
}

TEST_F(PublishTest, FileDraftOntoLatestBecomesTheNextVersion) {
  const fs::path draft = WriteDraft("models", ".model.pt", "weights v0");
  auto v = Publish(Member(), "models", ".model.pt");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->number, 0u);
  EXPECT_EQ(v->kind, Kind::kFile);
  EXPECT_EQ(v->filename, "model.pt");
  EXPECT_EQ(v->creator_uid, kMember);
  EXPECT_EQ(ReadFile(reg().BlobPath(v->blob)), "weights v0");
  EXPECT_FALSE(fs::exists(draft)) << "a published draft is consumed";

  auto events = EventsOf("models");
  ASSERT_FALSE(events.empty());
  const Event& e = events.back();
  EXPECT_EQ(e.type, EventType::kVersionCreate);
  EXPECT_EQ(e.uid, kMember);
  EXPECT_EQ(e.interface, Interface::kFs);
  REGFS_EXPECT_OK(reg().Fsck());
  EXPECT_TRUE(reg().Fsck()->clean());
}

TEST_F(PublishTest, OntoAnAliasCreatesThenMovesItInTheSameTransaction) {
  WriteDraft("models", ".m", "first");
  auto v0 = Publish(Member(), "models", ".m", "candidate");
  REGFS_ASSERT_OK(v0);
  WriteDraft("models", ".m", "second");
  auto v1 = Publish(Member(), "models", ".m", "candidate");
  REGFS_ASSERT_OK(v1);
  auto alias = reg().Resolve("models", "candidate");
  REGFS_ASSERT_OK(alias);
  EXPECT_EQ(alias->number, 1u);

  auto events = EventsOf("models");
  std::vector<std::pair<EventType, uint64_t>> seen;
  for (const Event& e : events) {
    if (e.type == EventType::kCollectionCreate) continue;
    EXPECT_EQ(e.uid, kMember);
    EXPECT_EQ(e.interface, Interface::kFs);
    seen.emplace_back(e.type, e.seq);
  }
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].first, EventType::kVersionCreate);
  EXPECT_EQ(seen[1].first, EventType::kAliasCreate);
  EXPECT_EQ(seen[2].first, EventType::kVersionCreate);
  EXPECT_EQ(seen[3].first, EventType::kAliasMove);
  EXPECT_EQ(seen[1].second, seen[0].second + 1);
  EXPECT_EQ(seen[3].second, seen[2].second + 1);
}

TEST_F(PublishTest, DirectoryDraftBecomesATreeVersion) {
  WriteDraft("data", ".data", "aaa", "a.bin");
  const fs::path root = WriteDraft("data", ".data", "bbb", "sub/b.bin");
  ASSERT_EQ(::chmod((root / "a.bin").c_str(), 0755), 0);
  auto v = Publish(Member(), "data", ".data");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->kind, Kind::kTree);
  EXPECT_EQ(v->files, 2u);
  EXPECT_EQ(v->size, 6u);
  EXPECT_EQ(v->filename, "data");
  auto top = reg().ListTree(v->id, 0);
  REGFS_ASSERT_OK(top);
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ((*top)[0].name, "a.bin");
  EXPECT_TRUE((*top)[0].executable);
  EXPECT_EQ((*top)[1].name, "sub");
  auto b = reg().LookupTree(v->id, (*top)[1].id, "b.bin");
  REGFS_ASSERT_OK(b);
  EXPECT_EQ(ReadFile(reg().BlobPath(b->blob)), "bbb");
  EXPECT_FALSE(fs::exists(root));
}

TEST_F(PublishTest, PublishedBlobIsTheDraftsOwnInodeNotACopy) {
  const fs::path draft =
      WriteDraft("models", ".big", std::string(1 << 20, 'x'));
  struct stat before;
  ASSERT_EQ(::stat(draft.c_str(), &before), 0);
  auto v = Publish(Member(), "models", ".big");
  REGFS_ASSERT_OK(v);
  struct stat blob;
  ASSERT_EQ(::stat(reg().BlobPath(v->blob).c_str(), &blob), 0);
  EXPECT_EQ(blob.st_ino, before.st_ino);
  EXPECT_EQ(blob.st_dev, before.st_dev);
  EXPECT_EQ(blob.st_nlink, 1u) << "the draft's own name is gone";
}

TEST_F(PublishTest, HashHitSharesTheExistingBlobAndDropsTheLink) {
  auto pushed = PushContent(Owner(), "models", "same bytes");
  REGFS_ASSERT_OK(pushed);
  const size_t blobs = BlobCount();
  const fs::path draft = WriteDraft("models", ".again", "same bytes");
  auto v = Publish(Member(), "models", ".again");
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->blob, pushed->blob);
  EXPECT_EQ(BlobCount(), blobs);
  EXPECT_FALSE(fs::exists(draft));
  struct stat blob;
  ASSERT_EQ(::stat(reg().BlobPath(v->blob).c_str(), &blob), 0);
  EXPECT_EQ(blob.st_nlink, 1u);
}

struct SidecarCase {
  const char* name;
  const char* json;
  std::vector<std::string> aliases;  // besides latest
  std::vector<std::string> tags;
  std::string description;
  std::map<std::string, std::string> metadata;
};

class PublishSidecarTest : public PublishTest,
                           public ::testing::WithParamInterface<SidecarCase> {};

TEST_P(PublishSidecarTest, IsAppliedWithThePublishAndConsumed) {
  const SidecarCase& c = GetParam();
  WriteDraft("models", ".model.pt", "weights");
  const fs::path sidecar =
      WriteDraft("models", ".model.pt.metadata.json", c.json);
  auto v = Publish(Member(), "models", ".model.pt");
  REGFS_ASSERT_OK(v);
  auto full = reg().GetVersion("models", v->number);
  REGFS_ASSERT_OK(full);
  std::vector<std::string> aliases = c.aliases;
  aliases.push_back("latest");
  std::sort(aliases.begin(), aliases.end());
  std::vector<std::string> got = full->aliases;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, aliases);
  EXPECT_EQ(full->tags, c.tags);
  EXPECT_EQ(full->description, c.description);
  EXPECT_EQ(full->metadata, c.metadata);
  EXPECT_FALSE(fs::exists(sidecar));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PublishSidecarTest,
    ::testing::Values(
        SidecarCase{"Regfs",
                    R"({"aliases": ["production-us", "production-eu"],
                        "tags": ["nightly"], "description": "zoo model",
                        "framework": "torch", "metrics": {"acc": 0.5}})",
                    {"production-eu", "production-us"},
                    {"nightly"},
                    "zoo model",
                    {{"framework", "torch"}, {"metrics", R"({"acc":0.5})"}}},
        SidecarCase{"ValohaiAliasString",
                    R"({"valohai.alias": "model-prod"})",
                    {"model-prod"},
                    {},
                    "",
                    {}},
        SidecarCase{"ValohaiAliasListAndTags",
                    R"({"valohai.alias": ["a-prod", "b-prod"],
                        "valohai.tags": ["exp"]})",
                    {"a-prod", "b-prod"},
                    {"exp"},
                    "",
                    {}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(PublishTest, XattrsOfTheDraftAreAppliedToo) {
  const fs::path draft = WriteDraft("models", ".x", "weights");
  auto set = [&](const char* name, const std::string& value) {
    return ::lsetxattr(draft.c_str(), name, value.data(), value.size(), 0);
  };
  if (set("user.regfs.tags", "a, b") != 0) {
    GTEST_SKIP() << "no user xattrs here";
  }
  ASSERT_EQ(set("user.regfs.aliases", "cand"), 0);
  ASSERT_EQ(set("user.regfs.description", "from xattrs"), 0);
  ASSERT_EQ(set("user.regfs.meta.lr", "0.1"), 0);
  auto v = Publish(Member(), "models", ".x");
  REGFS_ASSERT_OK(v);
  auto full = reg().GetVersion("models", v->number);
  REGFS_ASSERT_OK(full);
  EXPECT_EQ(full->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(full->description, "from xattrs");
  EXPECT_EQ(full->metadata,
            (std::map<std::string, std::string>{{"lr", "0.1"}}));
  auto cand = reg().Resolve("models", "cand");
  REGFS_ASSERT_OK(cand);
  EXPECT_EQ(cand->number, v->number);
}

// A refused publish: no version, no history row, the draft (and its
// sidecar) byte for byte as it was.
struct RefusedCase {
  const char* name;
  // Prepares the store (and maybe the sidecar of draft `.d`) in
  // collection "c", before the draft is written.
  std::function<void(PublishTest&)> setup;
  uid_t who;
  const char* target;
  Code code;
  bool tree = false;  // the draft is a directory
};

class PublishRefused : public PublishTest,
                       public ::testing::WithParamInterface<RefusedCase> {};

TEST_P(PublishRefused, ChangesNothing) {
  const RefusedCase& c = GetParam();
  c.setup(*this);
  if (c.tree) {
    WriteDraft("c", ".d", "in a tree", "f.bin");
  } else {
    WriteDraft("c", ".d", "a file");
  }
  const int64_t id = CollectionId("c");
  const fs::path draft = reg().drafts().PathOf(id, kMember, ".d");
  const fs::path sidecar =
      reg().drafts().PathOf(id, kMember, ".d.metadata.json");
  const auto draft_before = Snapshot(draft);
  const auto sidecar_before = Snapshot(sidecar);
  auto versions_before = reg().ListVersions("c");
  REGFS_ASSERT_OK(versions_before);
  const uint64_t seq = Seq();

  PublishRequest r;
  r.collection = "c";
  r.owner = kMember;
  r.draft = ".d";
  r.target = c.target;
  auto v = reg().Publish(User(c.who, {}, Interface::kFs), r);
  ASSERT_FALSE(v.has_value()) << "published v" << v->number;
  EXPECT_EQ(v.error().code, c.code) << v.error().message;

  auto versions = reg().ListVersions("c");
  REGFS_ASSERT_OK(versions);
  EXPECT_EQ(versions->size(), versions_before->size());
  EXPECT_EQ(Seq(), seq) << "no history row";
  EXPECT_EQ(Snapshot(draft), draft_before);
  EXPECT_EQ(Snapshot(sidecar), sidecar_before);
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean());
}

void Nothing(PublishTest&) {}

INSTANTIATE_TEST_SUITE_P(
    Cases, PublishRefused,
    ::testing::Values(
        RefusedCase{"Viewer", Nothing, kViewer, "latest",
                    Code::kPermissionDenied},
        RefusedCase{"AnotherMembersDraft", Nothing, kOtherMember, "latest",
                    Code::kPermissionDenied},
        RefusedCase{"ProtectedAliasByAMember",
                    [](PublishTest& t) {
                      ASSERT_TRUE(t.reg().Protect(Owner(), "production"));
                    },
                    kMember, "production", Code::kNotPermitted},
        RefusedCase{"ProtectedAliasInTheSidecar",
                    [](PublishTest& t) {
                      ASSERT_TRUE(t.reg().Protect(Owner(), "production"));
                      t.WriteDraft("c", ".d.metadata.json",
                                   R"({"valohai.alias": "Production"})");
                    },
                    kMember, "latest", Code::kNotPermitted},
        RefusedCase{"MalformedSidecar",
                    [](PublishTest& t) {
                      t.WriteDraft("c", ".d.metadata.json", "{\"tags\": [");
                    },
                    kMember, "latest", Code::kInvalidArgument},
        RefusedCase{"SidecarOfTheWrongType",
                    [](PublishTest& t) {
                      t.WriteDraft("c", ".d.metadata.json",
                                   R"({"aliases": "prod"})");
                    },
                    kMember, "latest", Code::kInvalidArgument},
        RefusedCase{"BadNameInTheSidecar",
                    [](PublishTest& t) {
                      t.WriteDraft("c", ".d.metadata.json",
                                   R"({"aliases": ["-bad"]})");
                    },
                    kMember, "latest", Code::kInvalidArgument},
        RefusedCase{"BadAliasName", Nothing, kMember, "-bad",
                    Code::kInvalidArgument},
        RefusedCase{"ReservedAliasName", Nothing, kMember, "v7",
                    Code::kInvalidArgument},
        RefusedCase{"FileDraftIntoATreeCollection",
                    [](PublishTest& t) {
                      t.WriteDraft("c", ".t", "x", "f.bin");
                      ASSERT_TRUE(t.Publish(Member(), "c", ".t"));
                    },
                    kMember, "latest", Code::kInvalidArgument},
        RefusedCase{"DirectoryDraftIntoAFileCollection",
                    [](PublishTest& t) {
                      t.WriteDraft("c", ".f", "x");
                      ASSERT_TRUE(t.Publish(Member(), "c", ".f"));
                    },
                    kMember, "latest", Code::kInvalidArgument, true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(PublishTest, KindMismatchSaysWhichKinds) {
  WriteDraft("models", ".f", "x");
  REGFS_ASSERT_OK(Publish(Member(), "models", ".f"));
  WriteDraft("models", ".data", "x", "f.bin");
  auto v = Publish(Member(), "models", ".data");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().message,
            "models holds file versions; .data is a directory");
}

TEST_F(PublishTest, MissingDraftIsNotFound) {
  CollectionId("models");
  auto v = Publish(Member(), "models", ".nothing");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code, Code::kNotFound);
}

TEST_F(PublishTest, AdminPublishesAnotherUsersDraft) {
  const fs::path draft = WriteDraft("models", ".m", "by the member");
  PublishRequest r;
  r.collection = "models";
  r.owner = kMember;
  r.draft = ".m";
  r.target = "latest";
  auto v = reg().Publish(Owner(Interface::kFs), r);
  REGFS_ASSERT_OK(v);
  EXPECT_EQ(v->creator_uid, testing::kOwnerUid);
  EXPECT_FALSE(fs::exists(draft));
}

TEST_F(PublishTest, FailureBeforeTheCommitLeavesTheDraftAndNoVersion) {
  const fs::path draft = WriteDraft("models", ".m", "weights");
  WriteDraft("models", ".m.metadata.json", R"({"tags": ["t"]})");
  OpenOptions options;
  options.fail_point = BlobStore::FailPoint::kAfterInstall;
  Reopen(options);
  const uint64_t seq = Seq();
  auto v = Publish(Member(), "models", ".m");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(Seq(), seq);
  EXPECT_EQ(ReadFile(draft), "weights");
  auto versions = reg().ListVersions("models");
  REGFS_ASSERT_OK(versions);
  EXPECT_TRUE(versions->empty());
  // Opened again normally, the draft publishes.
  Reopen();
  auto again = Publish(Member(), "models", ".m");
  REGFS_ASSERT_OK(again);
  EXPECT_EQ(ReadFile(reg().BlobPath(again->blob)), "weights");
  auto fsck = reg().Fsck();
  REGFS_ASSERT_OK(fsck);
  EXPECT_TRUE(fsck->clean());
}

// Onto "vN": published as exactly that number if it is the next; any
// other number is refused before anything changes, the draft kept.
TEST_F(PublishTest, OntoTheNextVersionsNameTakesExactlyThatNumber) {
  WriteDraft("models", ".a", "first");
  auto v0 = Publish(Member(), "models", ".a", "v0");
  REGFS_ASSERT_OK(v0);
  EXPECT_EQ(v0->number, 0u);
  EXPECT_EQ(std::find(v0->aliases.begin(), v0->aliases.end(), "v0"),
            v0->aliases.end())
      << "a version's name is no alias";
  const fs::path draft = WriteDraft("models", ".b", "second");
  for (const auto& [target, code] :
       std::vector<std::pair<std::string, Code>>{
           {"v0", Code::kAlreadyExists},
           {"v2", Code::kInvalidArgument},
           {"v007", Code::kInvalidArgument},
           {"V1", Code::kInvalidArgument}}) {
    SCOPED_TRACE(target);
    auto refused = Publish(Member(), "models", ".b", target);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, code) << refused.error().message;
    EXPECT_EQ(ReadFile(draft), "second");
  }
  auto taken = Publish(Member(), "models", ".b", "v0");
  ASSERT_FALSE(taken.has_value());
  EXPECT_NE(taken.error().message.find("the next version of models is now v1"),
            std::string::npos)
      << taken.error().message;
  auto v1 = Publish(Member(), "models", ".b", "v1");
  REGFS_ASSERT_OK(v1);
  EXPECT_EQ(v1->number, 1u);
}

// The number is a compare-and-swap inside the publish's transaction: a
// publish that takes it while another is staging its files wins, and the
// other is refused with AlreadyExists, its draft intact.
TEST_F(PublishTest, OntoAVersionNameLosesToAPublishThatCommittedMeanwhile) {
  WriteDraft("models", ".slow", std::string(1 << 20, 's'));
  WriteDraft("models", ".fast", "fast", "", kOtherMember);
  Result<Version> fast = Fail(Code::kNotFound, "not run");
  bool ran = false;
  PublishRequest slow;
  slow.collection = "models";
  slow.owner = kMember;
  slow.draft = ".slow";
  slow.target = "v0";
  slow.progress = [&](uint64_t, uint64_t) {
    if (ran) return;
    ran = true;
    fast = Publish(Member(kOtherMember), "models", ".fast", "v0");
  };
  auto lost = reg().Publish(Member(), slow);
  ASSERT_TRUE(ran) << "staging reports progress";
  REGFS_ASSERT_OK(fast);
  EXPECT_EQ(fast->number, 0u);
  ASSERT_FALSE(lost.has_value());
  EXPECT_EQ(lost.error().code, Code::kAlreadyExists) << lost.error().message;
  auto versions = reg().ListVersions("models");
  REGFS_ASSERT_OK(versions);
  EXPECT_EQ(versions->size(), 1u);
  const int64_t id = CollectionId("models");
  EXPECT_EQ(ReadFile(reg().drafts().PathOf(id, kMember, ".slow")),
            std::string(1 << 20, 's'));
  REGFS_EXPECT_OK(reg().Fsck());
  EXPECT_TRUE(reg().Fsck()->clean());
}

}  // namespace
}  // namespace regfs::registry
