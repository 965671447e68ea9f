// Publishing through the mount as a member who is not the store's owner:
// a draft written with cp, cp -r, rsync or Python becomes a version when it
// is renamed onto `latest` or an alias; a sidecar adds aliases, tags and
// metadata; a refused publish leaves no version and the draft intact.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <cerrno>
#include <string>
#include <vector>

#include "tests/fs/draft_fixture.h"

namespace regfs::fs::testing {
namespace {

using registry::EventType;
using registry::Version;
using ::testing::Contains;
using ::testing::Not;

using DraftPublishTest = DraftTest;

// The newest version of `collection`.
Version Newest(registry::Registry& reg, const std::string& collection) {
  auto versions = reg.ListVersions(collection);
  EXPECT_TRUE(versions && !versions->empty());
  auto version = reg.GetVersion(collection, versions->back().number);
  EXPECT_TRUE(version.has_value());
  return *version;
}

TEST_F(DraftPublishTest, CpThenMvOntoLatestPublishesTheSameBytes) {
  const uint64_t seq = LastSeq();
  const RunResult cp = Sh(kMember, "cp " + (work_ / "w.bin").string() + " " +
                                       M("models/.w.bin").string());
  ASSERT_EQ(cp.exit_code, 0) << cp.err << DaemonLog();
  EXPECT_EQ(ReadFile(OnDisk("models", kMember, ".w.bin")),
            ReadFile(work_ / "w.bin"));
  const RunResult mv = Sh(kMember, "mv " + M("models/.w.bin").string() + " " +
                                       M("models/latest").string());
  ASSERT_EQ(mv.exit_code, 0) << mv.err << DaemonLog();

  const Version v = Newest(reg(), "models");
  EXPECT_EQ(v.number, 3u);
  EXPECT_EQ(v.creator_uid, kMember.uid);
  EXPECT_EQ(v.filename, "w.bin");
  EXPECT_EQ(AliasTarget("models", "latest"), "v3");
  // Through the mount, as the member: the new version's bytes, no draft.
  const RunResult cmp = Sh(kMember, "cmp " + (work_ / "w.bin").string() +
                                        " " + M("models/latest").string());
  EXPECT_EQ(cmp.exit_code, 0) << cmp.out << cmp.err;
  EXPECT_THAT(ListAs(kMember, M("models")), Not(Contains(".w.bin")));
  EXPECT_FALSE(stdfs::exists(OnDisk("models", kMember, ".w.bin")));
  // The history: the version's creation, by the member, through the mount.
  const auto events = EventsAfter(seq);
  const auto created =
      std::ranges::find_if(events, [](const registry::Event& e) {
        return e.type == EventType::kVersionCreate;
      });
  ASSERT_NE(created, events.end());
  EXPECT_EQ(created->uid, kMember.uid);
  EXPECT_EQ(created->interface, registry::Interface::kFs);
  EXPECT_EQ(created->new_version, 3u);
  // The publisher learns its version without racing anyone.
  const RunResult published =
      RunAs(kMember, {"getfattr", "--only-values", "-n", "user.regfs.published",
                      M("models").string()});
  EXPECT_EQ(published.exit_code, 0) << published.err;
  EXPECT_EQ(published.out, "v3");
  const RunResult other =
      RunAs(kGroupMember, {"getfattr", "--only-values", "-n",
                           "user.regfs.published", M("models").string()});
  EXPECT_NE(other.exit_code, 0) << "kGroupMember published nothing";
}

TEST_F(DraftPublishTest, CpRTreeThenMvOntoANewAliasPublishesATree) {
  const uint64_t seq = LastSeq();
  const RunResult cp = Sh(kMember, "cp -r " + (work_ / "tree").string() + " " +
                                       M("zoo/.data").string());
  ASSERT_EQ(cp.exit_code, 0) << cp.err << DaemonLog();
  const RunResult mv = Sh(kMember, "mv " + M("zoo/.data").string() + " " +
                                       M("zoo/fresh").string());
  ASSERT_EQ(mv.exit_code, 0) << mv.err << DaemonLog();
  EXPECT_EQ(AliasTarget("zoo", "fresh"), "v1");
  EXPECT_EQ(AliasTarget("zoo", "latest"), "v1");
  const RunResult diff = Sh(kMember, "diff -r " + (work_ / "tree").string() +
                                         " " + M("zoo/fresh").string() + "/");
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
  bool alias_created = false;
  for (const registry::Event& e : EventsAfter(seq)) {
    if (e.type == EventType::kAliasCreate && e.alias == "fresh") {
      alias_created = true;
      EXPECT_EQ(e.uid, kMember.uid);
    }
  }
  EXPECT_TRUE(alias_created);
}

TEST_F(DraftPublishTest, RsyncTreeWithItsOwnTemporariesPublishes) {
  const RunResult rsync =
      Sh(kMember, "rsync -a " + (work_ / "tree").string() + "/ " +
                      M("zoo/.synced").string() + "/");
  ASSERT_EQ(rsync.exit_code, 0) << rsync.out << rsync.err << DaemonLog();
  // Onto `latest` or an existing alias of a tree, mv would rename into the
  // version (refused, with the way out in the log: the next version's
  // name, draft_version_name_test.cc): a new alias publishes too.
  const RunResult into = Sh(kMember, "mv " + M("zoo/.synced").string() + " " +
                                         M("zoo/latest").string());
  EXPECT_NE(into.exit_code, 0);
  EXPECT_NE(DaemonLog().find("mv zoo/.synced zoo/v1"),
            std::string::npos);
  EXPECT_EQ(Versions("zoo"), 1u);
  const RunResult mv = Sh(kMember, "mv " + M("zoo/.synced").string() + " " +
                                       M("zoo/synced").string());
  ASSERT_EQ(mv.exit_code, 0) << mv.err << DaemonLog();
  EXPECT_EQ(AliasTarget("zoo", "latest"), "v1");
  EXPECT_EQ(AliasTarget("zoo", "synced"), "v1");
  const RunResult diff = Sh(kMember, "diff -r " + (work_ / "tree").string() +
                                         " " + M("zoo/v1").string());
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
}

TEST_F(DraftPublishTest, TarExtractsIntoADraft) {
  const RunResult tar = Sh(
      kMember, "tar -C " + work_.string() + " -cf " +
                   (work_ / "tree.tar").string() + " tree && mkdir " +
                   M("zoo/.untarred").string() + " && tar -C " +
                   M("zoo/.untarred").string() + " --strip-components=1 -xf " +
                   (work_ / "tree.tar").string() + " && mv " +
                   M("zoo/.untarred").string() + " " + M("zoo/untarred").string());
  ASSERT_EQ(tar.exit_code, 0) << tar.err << DaemonLog();
  const RunResult diff = Sh(kMember, "diff -r " + (work_ / "tree").string() +
                                         " " + M("zoo/untarred").string() + "/");
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
}

TEST_F(DraftPublishTest, PythonWritesAtOffsetsTruncateAndFsync) {
  const std::string script = R"(
import os, sys
path = sys.argv[1]
with open(path, "wb") as f:
    f.write(b"a" * 100000)
    f.seek(5000000)
    f.write(b"tail")
    f.seek(10)
    f.write(b"middle")
    f.truncate(3000000)
    f.flush()
    os.fsync(f.fileno())
with open(path, "r+b") as f:
    f.seek(0, 2)
    f.write(b"end")
)";
  WriteFile(work_ / "writer.py", script);
  const RunResult local = RunAs(
      kMember, {"/usr/bin/python3", (work_ / "writer.py").string(),
                (work_ / "expected.bin").string()});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  const RunResult py =
      RunAs(kMember, {"/usr/bin/python3", (work_ / "writer.py").string(),
                      M("models/.py.bin").string()});
  ASSERT_EQ(py.exit_code, 0) << py.err << DaemonLog();
  ASSERT_EQ(RenameAs(kMember, M("models/.py.bin"), M("models/latest")), 0)
      << DaemonLog();
  const Version v = Newest(reg(), "models");
  EXPECT_EQ(v.size, 3000003u);
  EXPECT_EQ(ReadFile(M("models/latest")), ReadFile(work_ / "expected.bin"));
}

TEST_F(DraftPublishTest, SidecarGivesAliasesTagsAndMetadata) {
  struct Case {
    std::string name;
    std::string sidecar;
    std::vector<std::string> aliases;  // besides latest
    std::vector<std::string> tags;
    std::map<std::string, std::string> metadata;
  };
  const std::vector<Case> cases = {
      {"regfs keys",
       R"({"aliases": ["production-us", "production-eu"], "tags": ["nightly"],)"
       R"( "description": "from a job", "epochs": 12, "framework": "jax"})",
       {"production-eu", "production-us"},
       {"nightly"},
       {{"epochs", "12"}, {"framework", "jax"}}},
      {"valohai keys",
       R"({"valohai.alias": "model-prod", "valohai.tags": ["vh"]})",
       {"model-prod"},
       {"vh"},
       {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const RunResult cp =
        Sh(kMember, "cp " + (work_ / "w.bin").string() + " " +
                        M("models/.model.pt").string() + " && cat > " +
                        M("models/.model.pt.metadata.json").string() +
                        " <<'EOF'\n" + c.sidecar + "\nEOF\n");
    ASSERT_EQ(cp.exit_code, 0) << cp.err << DaemonLog();
    ASSERT_EQ(RenameAs(kMember, M("models/.model.pt"), M("models/latest")), 0)
        << DaemonLog();
    const Version v = Newest(reg(), "models");
    for (const std::string& alias : c.aliases) {
      EXPECT_EQ(AliasTarget("models", alias),
                "v" + std::to_string(v.number))
          << alias;
    }
    for (const std::string& tag : c.tags) EXPECT_THAT(v.tags, Contains(tag));
    for (const auto& [key, value] : c.metadata) {
      EXPECT_EQ(v.metadata.count(key) ? v.metadata.at(key) : "", value) << key;
    }
    // The sidecar is consumed with its draft.
    EXPECT_EQ(StatAs(kMember, M("models/.model.pt.metadata.json")), ENOENT);
    EXPECT_EQ(StatAs(kMember, M("models/.model.pt")), ENOENT);
  }
}

TEST_F(DraftPublishTest, XattrsOnTheDraftGiveTagsAndMetadata) {
  const RunResult cp =
      Sh(kMember, "cp " + (work_ / "w.bin").string() + " " +
                      M("models/.x.bin").string() +
                      " && setfattr -n user.regfs.tags -v t1,t2 " +
                      M("models/.x.bin").string() +
                      " && setfattr -n user.regfs.meta.lr -v 0.1 " +
                      M("models/.x.bin").string());
  ASSERT_EQ(cp.exit_code, 0) << cp.err << DaemonLog();
  ASSERT_EQ(RenameAs(kMember, M("models/.x.bin"), M("models/xattr-alias")), 0)
      << DaemonLog();
  const Version v = Newest(reg(), "models");
  EXPECT_EQ(AliasTarget("models", "xattr-alias"),
            "v" + std::to_string(v.number));
  EXPECT_THAT(v.tags, Contains("t1"));
  EXPECT_THAT(v.tags, Contains("t2"));
  EXPECT_EQ(v.metadata.count("lr") ? v.metadata.at("lr") : "", "0.1");
}

// Each refusal: the errno of rename(2), no new version, the draft intact.
TEST_F(DraftPublishTest, RefusedPublishesChangeNothing) {
  struct Case {
    std::string name;
    std::string collection;
    std::string setup;  // shell, as the member, in the collection's dir
    std::string draft;
    std::string target;
    int err;
  };
  const std::vector<Case> cases = {
      {"protected alias by a member", "models", "cp ../../work/w.bin .p1",
       ".p1", "production", EPERM},
      {"malformed sidecar", "models",
       "cp ../../work/w.bin .p2 && echo '{\"aliases\": [' > "
       ".p2.metadata.json",
       ".p2", "latest", EINVAL},
      {"sidecar alias that is protected", "models",
       "cp ../../work/w.bin .p3 && echo '{\"aliases\": [\"production\"]}' > "
       ".p3.metadata.json",
       ".p3", "latest", EPERM},
      // (Onto `latest`, a link to a file, the kernel says ENOTDIR itself.)
      {"directory into a file collection", "models",
       "mkdir .p4 && cp ../../work/w.bin .p4/", ".p4", "p4-alias", EINVAL},
      {"file into a tree collection", "zoo", "cp ../../work/w.bin .p5", ".p5",
       "latest", EINVAL},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const stdfs::path dir = M(c.collection);
    const RunResult setup =
        Sh(kMember, "cd " + dir.string() + " && " +
                        // `work` is beside `mnt`.
                        [&] {
                          std::string s = c.setup;
                          for (size_t at; (at = s.find("../../work")) !=
                                          std::string::npos;) {
                            s.replace(at, 10, work_.string());
                          }
                          return s;
                        }());
    ASSERT_EQ(setup.exit_code, 0) << setup.err << DaemonLog();
    const size_t before = Versions(c.collection);
    const std::string disk_before = ReadFile(OnDisk(c.collection, kMember,
                                                    c.draft));
    EXPECT_EQ(RenameAs(kMember, dir / c.draft, dir / c.target), c.err)
        << DaemonLog();
    EXPECT_EQ(Versions(c.collection), before);
    EXPECT_EQ(StatAs(kMember, dir / c.draft), 0) << "the draft is intact";
    EXPECT_EQ(ReadFile(OnDisk(c.collection, kMember, c.draft)), disk_before);
  }
  EXPECT_EQ(AliasTarget("models", "production"), "v1");
}

TEST_F(DraftPublishTest, ViewerCannotCreateADraft) {
  const int err = AsUser(kViewer, [&] {
    const int fd = ::open(M("models/.v.bin").c_str(),
                          O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
  });
  EXPECT_EQ(err, EACCES);
  EXPECT_EQ(AsUser(kViewer,
                   [&] {
                     return ::mkdir(M("models/.vd").c_str(), 0755) == 0
                                ? 0
                                : errno;
                   }),
            EACCES);
  EXPECT_NE(DaemonLog().find("refused create models/.v.bin"),
            std::string::npos);
}

TEST_F(DraftPublishTest, StaleWriteHandleGetsEbadfAfterThePublish) {
  const int err = AsUser(kMember, [&] {
    const int fd = ::open(M("models/.open.bin").c_str(),
                          O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return 100;
    if (::write(fd, "first", 5) != 5) return 101;
    if (::rename(M("models/.open.bin").c_str(), M("models/latest").c_str()) !=
        0) {
      return 102;
    }
    const int rc = ::write(fd, "late", 4) == 4 ? 0 : errno;
    ::close(fd);
    return rc;
  });
  EXPECT_EQ(err, EBADF) << DaemonLog();
  EXPECT_EQ(ReadFile(M("models/latest")), "first");
}

TEST_F(DraftPublishTest, StaleHandleOfAFileMovedIntoATreeDraftGetsEbadf) {
  const int err = AsUser(kMember, [&] {
    if (::mkdir(M("zoo/.t").c_str(), 0755) != 0) return 100;
    const int fd =
        ::open(M("zoo/.f").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return 101;
    if (::write(fd, "first", 5) != 5) return 102;
    if (::rename(M("zoo/.f").c_str(), M("zoo/.t/f").c_str()) != 0) return 103;
    if (::write(fd, "+more", 5) != 5) return 104;  // still a draft's file
    if (::rename(M("zoo/.t").c_str(), M("zoo/moved").c_str()) != 0) {
      return 105;
    }
    const int rc = ::write(fd, "late", 4) == 4 ? 0 : errno;
    ::close(fd);
    return rc;
  });
  EXPECT_EQ(err, EBADF) << DaemonLog();
  EXPECT_EQ(ReadFile(M("zoo/moved/f")), "first+more");
}

TEST_F(DraftPublishTest, WriteToAVersionLogsTheDraftHint) {
  const RunResult cp = Sh(kMember, "cp " + (work_ / "w.bin").string() + " " +
                                       M("models/v4").string());
  EXPECT_NE(cp.exit_code, 0);
  const RunResult over = Sh(kMember, "echo x > " + M("models/v1").string());
  EXPECT_NE(over.exit_code, 0);
  EXPECT_NE(over.err.find("Operation not permitted"), std::string::npos)
      << over.err;
  const std::string log = DaemonLog();
  EXPECT_NE(log.find("write a draft (models/.v4)"), std::string::npos) << log;
  EXPECT_NE(log.find("versions are immutable: write a draft (models/."),
            std::string::npos);
}

}  // namespace
}  // namespace regfs::fs::testing
