// Issue #11's command-line findings: what `ls --json`, `history`, `role
// grant`, `alias set` and `push -L` tell a user, and a store left with a
// read-only registry.db-shm.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

namespace stdfs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

RunOptions AsNobody() { return {.uid = kNobody, .gid = kNogroup}; }

// ---- ls COLLECTION --json ----

TEST_F(CliTest, CollectionListingCarriesEachVersionsTagsAndMetadata) {
  const std::string model = WriteFile("model.pt", "0");
  Ok({"push", "models", model, "--tag", "gold", "--tag", "fp16", "--meta",
      "lr=0.1", "--meta", "arch=bert"});
  WriteFile("model.pt", "1");
  Ok({"push", "models", model, "--meta", "lr=0.2", "--alias", "production"});

  const nlohmann::json listing = Json({"ls", "models"});
  ASSERT_EQ(listing["versions"].size(), 2u);
  for (const auto& v : listing["versions"]) {
    const std::string name = "models/" + v["version"].get<std::string>();
    const nlohmann::json one = Json({"ls", name});
    EXPECT_EQ(v["tags"], one["tags"]) << name;
    EXPECT_EQ(v["metadata"], one["metadata"]) << name;
    EXPECT_EQ(v["aliases"], one["aliases"]) << name;
  }
  EXPECT_EQ(listing["versions"][0]["tags"], (nlohmann::json{"fp16", "gold"}));
  EXPECT_EQ(listing["versions"][0]["metadata"],
            (nlohmann::json{{"arch", "bert"}, {"lr", "0.1"}}));
  EXPECT_EQ(listing["versions"][1]["metadata"],
            (nlohmann::json{{"lr", "0.2"}}));
}

// ---- history ----

TEST_F(CliTest, HistoryOfAMissingCollectionIsRefused) {
  EXPECT_EQ(Refused({"history", "nosuch"}), "regfs: no collection 'nosuch'");
  EXPECT_EQ(Refused({"history", "nosuch/production"}),
            "regfs: no collection 'nosuch'");
  // An existing collection without matching events prints nothing.
  Ok({"push", "models", WriteFile("m", "x")});
  EXPECT_EQ(Ok({"history", "models/production"}), "");
}

class CliSinceTest : public CliTest {
 protected:
  std::vector<uint64_t> Since(const std::string& moment) const {
    const RunResult r = Regfs({"history", "--json", "--since", moment});
    EXPECT_EQ(r.exit_code, 0) << moment << ": " << r.err;
    std::vector<uint64_t> seqs;
    for (const auto& line : r.OutLines()) {
      seqs.push_back(nlohmann::json::parse(line)["seq"].get<uint64_t>());
    }
    return seqs;
  }
};

TEST_F(CliSinceTest, TakesTheMomentsOfAt) {
  const std::string model = WriteFile("model.pt", "0");
  Ok({"push", "models", model});
  WriteFile("model.pt", "1");
  Ok({"push", "models", model, "--alias", "production"});
  const std::vector<uint64_t> every = Since("0");
  ASSERT_GE(every.size(), 3u);
  const uint64_t last = every.back();
  const struct {
    std::string moment;
    std::vector<uint64_t> seqs;
  } cases[] = {
      {"1", every},
      {std::to_string(last), {last}},
      {std::to_string(last + 5), {}},
      {"now", {}},
      {"2020-01-01", every},
      {"2999-12-31T23:59:59Z", {}},
      {"@0", every},
  };
  for (const auto& c : cases) EXPECT_EQ(Since(c.moment), c.seqs) << c.moment;
}

TEST_F(CliSinceTest, RefusesWhatIsNotAMoment) {
  const struct {
    const char* moment;
    const char* why;
  } cases[] = {
      {"2026-02-30", "2026-02 has no day 30"},
      {"2026-13-01", "cannot read time '2026-13-01'"},
      {"yesterday", "cannot read 'yesterday' as a moment"},
      {"v3", "cannot read 'v3' as a moment"},
  };
  for (const auto& c : cases) {
    const RunResult r = Regfs({"history", "--since", c.moment});
    EXPECT_EQ(r.exit_code, 2) << c.moment;
    EXPECT_THAT(r.err, AllOf(StartsWith("regfs: "), HasSubstr(c.why)))
        << c.moment;
    EXPECT_EQ(r.out, "");
  }
}

// ---- alias set with a name that starts with '-' ----

TEST_F(CliTest, AliasNameStartingWithADashIsInvalid) {
  Ok({"push", "models", WriteFile("m", "x")});
  // Read as an unknown option: a usage error, in one line.
  const RunResult r = Regfs({"alias", "set", "models", "-dash", "v0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "regfs: '-dash' is not an option of 'regfs alias set', and as a "
            "name it is invalid: names must not start with '.' or '-'\n");
  // After "--", the registry's own refusal.
  EXPECT_EQ(Refused({"alias", "set", "models", "--", "-dash", "v0"}),
            "regfs: alias name '-dash' is invalid: must not start with '.' or "
            "'-'");
  EXPECT_EQ(Ok({"alias", "ls", "models", "--json"}).find("-dash"),
            std::string::npos);
}

// ---- push -L ----

class CliPushLinksTest : public CliTest {
 protected:
  // A Hugging Face cache: snapshots/abc/* are links into ../../blobs/.
  std::string Snapshot() const {
    WriteFile("hub/blobs/123", R"({"hidden": 768})");
    WriteFile("hub/blobs/456", "weights");
    const stdfs::path snap = dir() / "files" / "hub" / "snapshots" / "abc";
    stdfs::create_directories(snap);
    stdfs::create_symlink("../../blobs/123", snap / "config.json");
    stdfs::create_symlink("../../blobs/456", snap / "model.safetensors");
    return snap.string();
  }
};

TEST_F(CliPushLinksTest, FollowSymlinksPushesAHuggingFaceSnapshot) {
  const std::string snap = Snapshot();
  for (const char* flag : {"-L", "--follow-symlinks"}) {
    EXPECT_THAT(Ok({"push", flag, "bert", snap}),
                HasSubstr("(tree, 2 files, 22 B, digest"))
        << flag;
  }
  const nlohmann::json v = Json({"ls", "bert/v0"});
  std::vector<std::string> paths;
  for (const auto& f : v["tree"]) paths.push_back(f["path"]);
  EXPECT_EQ(paths,
            (std::vector<std::string>{"config.json", "model.safetensors"}));
}

TEST_F(CliPushLinksTest, WithoutTheFlagTheRefusalNamesIt) {
  const std::string snap = Snapshot();
  EXPECT_THAT(Refused({"push", "bert", snap}),
              AllOf(HasSubstr("is a symbolic link"),
                    HasSubstr("-L (--follow-symlinks)")));
  stdfs::create_symlink("../../blobs/none", stdfs::path(snap) / "gone");
  EXPECT_THAT(Refused({"push", "-L", "bert", snap}),
              HasSubstr("gone is a dangling symbolic link (to "
                        "../../blobs/none)"));
}

// ---- role grant ----

class CliRoleTest : public CliTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "must run as root, to act as nobody";
    CliTest::SetUp();
  }
  // Lets nobody use the store directly, standing in for the mount (see
  // cli_permission_test.cc).
  void OpenStoreToEveryone() const {
    ASSERT_EQ(chmod(dir().c_str(), 0755), 0);
    ASSERT_EQ(chmod(store().c_str(), 0777), 0);
    for (const auto& entry : stdfs::directory_iterator(store())) {
      if (entry.is_regular_file()) chmod(entry.path().c_str(), 0666);
    }
  }
};

TEST_F(CliRoleTest, AUidIsGrantedToItsUserNameAndSaysSo) {
  EXPECT_EQ(Ok({"role", "grant", "65534", "member"}),
            "granted member to nobody (uid 65534)\n");
  const nlohmann::json roles = Json({"role", "ls"});
  ASSERT_EQ(roles["grants"].size(), 1u);
  EXPECT_EQ(roles["grants"][0]["principal"], "nobody");
  EXPECT_EQ(Ok({"role", "grant", "group:65534", "viewer"}),
            "granted viewer to group:nogroup (gid 65534)\n");
  EXPECT_EQ(Ok({"role", "grant", "47002", "admin"}),
            "granted admin to uid 47002 (no user name)\n");
  EXPECT_EQ(Ok({"role", "revoke", "65534"}),
            "revoked the role of nobody (uid 65534)\n");
}

TEST_F(CliRoleTest, GrantNoneDeniesOneUser) {
  Ok({"push", "models", WriteFile("m", "x")});
  EXPECT_EQ(Ok({"role", "grant", "nobody", "none"}),
            "granted none to nobody\n");
  OpenStoreToEveryone();
  const RunResult who = Regfs({"whoami", "--json"}, AsNobody());
  ASSERT_EQ(who.exit_code, 0) << who.err;
  EXPECT_EQ(nlohmann::json::parse(who.out)["role"], "none");
  EXPECT_THAT(Refused({"alias", "set", "models", "mine", "v0"}, AsNobody()),
              HasSubstr("user 'nobody' has no role"));
}

// ---- a read-only registry.db-shm ----

class CliShmTest : public CliRoleTest {
 protected:
  // A store owned by nobody, and a read command run by root while its
  // registry.db was 0444 (SQLite makes registry.db-shm with that mode) and
  // killed: its -shm and -wal stay, as they do while a mount of the store
  // runs.
  void LeaveReadOnlyShm() {
    ASSERT_EQ(chmod(dir().c_str(), 0755), 0);
    const stdfs::path home = dir() / "nobody";
    stdfs::create_directories(home);
    ASSERT_EQ(chown(home.c_str(), kNobody, kNogroup), 0);
    owned_ = home / "store";
    ASSERT_EQ(Run({"init"}, AsNobody()).exit_code, 0);
    ASSERT_EQ(
        Run({"push", "models", WriteFile("m", "x")}, AsNobody()).exit_code, 0);
    const stdfs::path db = owned_ / "registry.db";
    ASSERT_EQ(chmod(db.c_str(), 0444), 0);
    {
      RunningRegfs follow({"--store", owned_.string(), "history", "-f"});
      for (int i = 0; i < 200 && !stdfs::exists(Shm()); ++i) usleep(50000);
      follow.Stop(SIGKILL);
    }
    ASSERT_EQ(chmod(db.c_str(), 0644), 0);
    struct stat st {};
    ASSERT_EQ(stat(Shm().c_str(), &st), 0) << "no " << Shm();
    ASSERT_EQ(st.st_mode & 0777, 0444u) << "the finding's precondition";
  }
  RunResult Run(std::vector<std::string> args,
                const RunOptions& options = {}) const {
    args.insert(args.begin(), {"--store", owned_.string()});
    return RunRegfs(args, options);
  }
  stdfs::path Shm() const { return owned_ / "registry.db-shm"; }

  stdfs::path owned_;
};

TEST_F(CliShmTest, TheOwnersReadOnlyShmIsMadeWritableAgain) {
  LeaveReadOnlyShm();
  const std::vector<std::vector<std::string>> commands = {
      {"ls"},
      {"push", "models", WriteFile("m", "y")},
      {"alias", "set", "models", "production", "v1"}};
  for (const auto& args : commands) {
    const RunResult r = Run(args, AsNobody());
    EXPECT_EQ(r.exit_code, 0) << args.front() << ": " << r.err;
  }
}

TEST_F(CliShmTest, SomeoneElsesReadOnlyShmIsNamed) {
  LeaveReadOnlyShm();
  ASSERT_EQ(chown(Shm().c_str(), 0, 0), 0);
  const RunResult r = Run({"ls"}, AsNobody());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "regfs: " + Shm().string() +
                " is not writable (left by a run while registry.db was "
                "read-only, or by another user?): make it writable or remove "
                "it while no regfs process uses the store\n");
}

}  // namespace
}  // namespace regfs::tools::testing
