// `regfs --store MOUNTPOINT`: every subcommand through a regfs mount's
// control file prints what it prints against the store directory and
// exits the same; a member who cannot open the store works through the
// mount as themselves. Label: fuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;

constexpr uid_t kMemberUid = 20001;

class CliMountStoreTest : public CliMountTest {
 protected:
  void SetUp() override {
    CliMountTest::SetUp();
    if (HasFatalFailure()) return;
    Ok({"push", "models", WriteFile("m0", "zero"), "--tag", "baseline"});
    Ok({"push", "models", WriteFile("m1", "one"), "--alias", "production",
        "--meta", "framework=torch"});
    Ok({"push", "models", WriteFile("m2", "two"), "--alias", "candidate"});
    WriteFile("zoo/a.bin", "a");
    WriteFile("zoo/docs/readme.txt", "read me");
    Ok({"push", "zoo", (this->dir() / "files/zoo").string()});
    Ok({"protect", "production"});
    Ok({"role", "grant", std::to_string(kMemberUid), "member"});
    Mount("allow_other");
  }
};

TEST_F(CliMountStoreTest, ReadsPrintTheSameThroughTheMount) {
  const std::vector<std::vector<std::string>> reads = {
      {"ls"},
      {"ls", "--json"},
      {"ls", "models"},
      {"ls", "models", "--json"},
      {"ls", "models/production"},
      {"ls", "models/v0", "--json"},
      {"ls", "zoo/v0"},
      {"ls", "zoo/v0", "--json"},
      {"ls", "nosuch"},
      {"resolve", "models/production"},
      {"resolve", "models/production", "--json"},
      {"resolve", "models/latest@{1}"},
      {"resolve", "models/production", "--at", "3"},
      {"resolve", "models/production", "--at", "1"},
      {"resolve", "models/nosuch"},
      {"history"},
      {"history", "--json"},
      {"history", "models/production"},
      {"history", "--since", "4", "--json"},
      {"history", "nosuch"},
      {"whoami"},
      {"whoami", "--json"},
      {"alias", "ls", "models"},
      {"alias", "ls", "models", "--json"},
      {"role", "ls"},
      {"role", "ls", "--json"},
  };
  for (const auto& args : reads) ExpectSame(args);
}

// Each change and the change that undoes it: run against the store, undone
// there, then run through the mount and undone there.
TEST_F(CliMountStoreTest, ChangesPrintAndExitTheSameThroughTheMount) {
  struct Case {
    std::vector<std::string> change;
    std::vector<std::string> undo;
  };
  const std::vector<Case> cases = {
      {{"alias", "set", "models", "staging", "v0"},
       {"alias", "rm", "models", "staging"}},
      {{"alias", "set", "models", "candidate", "v1", "--expect", "v2"},
       {"alias", "set", "models", "candidate", "v2"}},
      {{"alias", "set", "models", "candidate", "v1", "--expect", "none"}, {}},
      {{"alias", "set", "models", "x", "v9"}, {}},
      {{"alias", "mv", "models", "candidate", "next"},
       {"alias", "mv", "models", "next", "candidate"}},
      {{"alias", "rm", "models", "nosuch"}, {}},
      {{"tag", "add", "models/candidate", "good"},
       {"tag", "rm", "models/v2", "good"}},
      {{"tag", "rm", "models/v0", "nosuch"}, {}},
      {{"protect", "gold"}, {"unprotect", "gold"}},
      {{"role", "grant", "20002", "viewer"}, {"role", "revoke", "20002"}},
      {{"role", "default", "member"}, {"role", "default", "viewer"}},
      {{"rm", "models/v9"}, {}},
      {{"rm", "models"}, {}},
      {{"fsck"}, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.change));
    const RunResult direct = Regfs(c.change);
    if (!c.undo.empty()) Ok(c.undo);
    RunResult mounted = ThroughMount(c.change);
    if (c.change.front() == "fsck") {
      // The owner's maintenance commands need the store directory.
      EXPECT_EQ(mounted.exit_code, 1);
      EXPECT_THAT(mounted.err, HasSubstr("does not work through a mount"));
      continue;
    }
    EXPECT_EQ(mounted.exit_code, direct.exit_code) << mounted.err;
    EXPECT_EQ(mounted.out, direct.out);
    EXPECT_EQ(mounted.err, direct.err);
    if (!c.undo.empty()) {
      const RunResult undone = ThroughMount(c.undo);
      EXPECT_EQ(undone.exit_code, 0) << undone.err;
    }
  }
  // An admin's rm through the mount deletes for real.
  const RunResult rm = ThroughMount({"rm", "models/v0"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(rm.out, "deleted models/v0\n");
  EXPECT_THAT(Ok({"ls", "models"}), ::testing::Not(HasSubstr("v0  ")));
}

TEST_F(CliMountStoreTest, AMemberWorksThroughTheMountAsThemselves) {
  const RunOptions member{.uid = kMemberUid, .gid = kMemberUid};
  // The store directory is the owner's alone; its message points at a
  // mount.
  const RunResult direct =
      RunRegfs({"--store", store().string(), "ls"}, member);
  EXPECT_EQ(direct.exit_code, 1);
  EXPECT_THAT(direct.err, HasSubstr("through a regfs mount"));

  const RunResult whoami = ThroughMount({"whoami", "--json"}, member);
  ASSERT_EQ(whoami.exit_code, 0) << whoami.err;
  const auto who = nlohmann::json::parse(whoami.out);
  EXPECT_EQ(who["uid"], kMemberUid);
  EXPECT_EQ(who["role"], "member");

  const RunResult set =
      ThroughMount({"alias", "set", "models", "staging", "v1"}, member);
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "models/staging -> v1\n");
  const RunResult history =
      ThroughMount({"history", "models/staging", "--json"}, member);
  ASSERT_EQ(history.exit_code, 0) << history.err;
  const auto event = nlohmann::json::parse(history.OutLines().back());
  EXPECT_EQ(event["event"], "alias.create");
  EXPECT_EQ(event["uid"], kMemberUid);
  EXPECT_EQ(event["user"], std::to_string(kMemberUid));
  EXPECT_EQ(event["interface"], "fs");

  // Refusals keep their message and exit code.
  const RunResult protected_move =
      ThroughMount({"alias", "set", "models", "production", "v2"}, member);
  EXPECT_EQ(protected_move.exit_code, 1);
  EXPECT_THAT(protected_move.err, HasSubstr("protected"));
  const RunResult rm = ThroughMount({"rm", "models/v0"}, member);
  EXPECT_EQ(rm.exit_code, 1);
  EXPECT_THAT(rm.err, HasSubstr("only admins"));
}

TEST_F(CliMountStoreTest, AMemberPushesThroughTheMount) {
  const RunOptions member{.uid = kMemberUid, .gid = kMemberUid};
  const std::string model = WriteFile("zoo_dataset.pt", "dataset");
  const std::string labels = WriteFile("zoo_labels.pt", "labels");
  stdfs::permissions(dir() / "files",
                     stdfs::perms::others_read | stdfs::perms::others_exec,
                     stdfs::perm_options::add);
  // W&B's link_artifact with two aliases, as a member.
  const RunResult file = ThroughMount(
      {"push", "models", model, "--alias", "production-us", "--alias",
       "production-eu", "--tag", "fresh", "--meta", "run=42"},
      member);
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_THAT(file.out, ::testing::StartsWith("models/v3  (7 B, digest "));
  EXPECT_THAT(file.out,
              HasSubstr("aliases: latest, production-eu, production-us  "
                        "tags: fresh"));
  const auto v3 = Json({"ls", "models/v3"});
  EXPECT_EQ(v3["creator_uid"], kMemberUid);
  EXPECT_EQ(v3["filename"], "zoo_dataset.pt");
  EXPECT_EQ(v3["metadata"]["run"], "42");
  // A tree from two files; the history names the member.
  const RunResult tree = ThroughMount({"push", "zoo", model, labels}, member);
  ASSERT_EQ(tree.exit_code, 0) << tree.err;
  EXPECT_THAT(tree.out, ::testing::StartsWith("zoo/v1  (tree, 2 files, "));
  const RunResult history = ThroughMount({"history", "zoo", "--json"}, member);
  const auto event = nlohmann::json::parse(history.OutLines().back());
  EXPECT_EQ(event["event"], "version.create");
  EXPECT_EQ(event["uid"], kMemberUid);
  // A refused publish (a tree into a file collection) leaves no version
  // and no draft behind.
  const RunResult wrong =
      ThroughMount({"push", "models", (dir() / "files").string()}, member);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("models holds file versions"));
  EXPECT_EQ(Json({"ls", "models"})["collection"]["versions"], 4);
}

// The fields of `ls COLLECTION/v0 --json` that name where and when a
// version was made, not what it is.
nlohmann::json WhatItIs(nlohmann::json version) {
  for (const char* key : {"collection", "created", "id"}) version.erase(key);
  return version;
}

// A push through the mount makes the version a push against the store
// directory makes: the pushed paths' names as its file name(s), the same
// files, the same listing.
TEST_F(CliMountStoreTest, APushThroughTheMountMakesTheSameVersion) {
  WriteFile("run/weights.bin", "weights");
  WriteFile("run/sub/config.json", "{}");
  const std::string a = WriteFile("a.pt", "a");
  const std::string b = WriteFile("b.pt", "b");
  const std::string run = (dir() / "files" / "run").string();
  const std::vector<std::vector<std::string>> pushes = {
      {run + "/"}, {run}, {a, b}, {a, run}, {a}};
  for (size_t i = 0; i < pushes.size(); ++i) {
    SCOPED_TRACE(::testing::PrintToString(pushes[i]));
    const std::string direct = "direct" + std::to_string(i);
    const std::string mounted = "mounted" + std::to_string(i);
    std::vector<std::string> args = {"push", direct};
    args.insert(args.end(), pushes[i].begin(), pushes[i].end());
    Ok(args);
    args[1] = mounted;
    const RunResult pushed = ThroughMount(args);
    ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
    EXPECT_EQ(WhatItIs(Json({"ls", mounted + "/v0"})),
              WhatItIs(Json({"ls", direct + "/v0"})));
    // The listing of the version, its files by name.
    const auto listing = [](std::string text, const std::string& name) {
      text.replace(0, name.size(), "COLLECTION");
      const size_t created = text.find("created:");
      if (created != std::string::npos) {
        text.erase(created, text.find('\n', created) - created);
      }
      return text;
    };
    EXPECT_EQ(listing(ThroughMount({"ls", mounted + "/v0"}).out, mounted),
              listing(Ok({"ls", direct + "/v0"}), direct));
    // The history rows, but for where, when and through what.
    auto rows = [&](const RunResult& history, const std::string& name) {
      std::vector<nlohmann::json> out;
      for (const auto& line : history.OutLines()) {
        auto row = nlohmann::json::parse(line);
        for (const char* key : {"seq", "ts", "time", "interface"}) row.erase(key);
        row["collection"] = name == direct ? mounted : name;
        out.push_back(row);
      }
      return out;
    };
    const RunResult direct_history = Regfs({"history", direct, "--json"});
    const RunResult mounted_history = ThroughMount({"history", mounted, "--json"});
    EXPECT_EQ(rows(mounted_history, mounted), rows(direct_history, direct));
  }
}

// A viewer's push through the mount is refused before anything is copied,
// with the line and exit code of the same push against the store: the
// registry's own refusal (Registry::CheckPush, which Push makes first).
// A viewer cannot open the store directory itself to run that push.
TEST_F(CliMountStoreTest, AViewersPushIsRefusedAsAgainstTheStore) {
  constexpr uid_t kViewerUid = 20002;
  Ok({"role", "grant", std::to_string(kViewerUid), "viewer"});
  const std::string model = WriteFile("model.pt", "model");
  stdfs::permissions(dir() / "files",
                     stdfs::perms::others_read | stdfs::perms::others_exec,
                     stdfs::perm_options::add);
  const RunOptions viewer{.uid = kViewerUid, .gid = kViewerUid};
  for (const std::string collection : {"models", "newcoll"}) {
    SCOPED_TRACE(collection);
    const RunResult mounted =
        ThroughMount({"push", collection, model, "--alias", "x"}, viewer);
    EXPECT_EQ(mounted.exit_code, 1);
    EXPECT_EQ(mounted.out, "");
    EXPECT_EQ(mounted.err,
              "regfs: user '20002' is a viewer: only members and admins may "
              "push versions\n");
  }
  EXPECT_EQ(Json({"ls", "models"})["collection"]["versions"], 3);
  EXPECT_EQ(Regfs({"ls", "newcoll"}).exit_code, 1);
  // No draft was written: the store's owner sees everyone's.
  for (const auto& entry : stdfs::directory_iterator(mnt_ / "models")) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == ".history" || name[0] != '.')
        << "a draft was left behind: " << name;
  }
}

// A push whose request cannot go through the control file in one write
// (1 MiB): the CLI says so, before copying anything; the store directory
// takes it.
TEST_F(CliMountStoreTest, APushTooLargeForTheMountSaysSo) {
  const std::string model = WriteFile("big-meta.pt", "model");
  std::vector<std::string> args = {"push", "models", model};
  for (int i = 0; i < 10; ++i) {
    args.push_back("--meta");
    args.push_back("k" + std::to_string(i) + "=" + std::string(110 << 10, 'v'));
  }
  const RunResult mounted = ThroughMount(args);
  EXPECT_EQ(mounted.exit_code, 1);
  EXPECT_THAT(mounted.err,
              ::testing::MatchesRegex("regfs: this push is too large for a "
                                      "mount: its request is [0-9]+ bytes and "
                                      "a mount takes at most 1044480 .*\n"));
  EXPECT_EQ(std::count(mounted.err.begin(), mounted.err.end(), '\n'), 1);
  EXPECT_EQ(Json({"ls", "models"})["collection"]["versions"], 3);
  for (const auto& entry : stdfs::directory_iterator(mnt_ / "models")) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == ".history" || name[0] != '.')
        << "a draft was left behind: " << name;
  }
  const RunResult direct = Regfs(args);
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
}

TEST_F(CliMountStoreTest, HistoryFollowsThroughTheMount) {
  RunningRegfs follow(
      {"--store", mnt_.string(), "history", "--follow", "--since", "now"});
  // Give it time to read the cursor before the change.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Ok({"alias", "set", "models", "staging", "v0"});
  const auto line = follow.ReadLine(std::chrono::seconds(5));
  ASSERT_TRUE(line.has_value());
  EXPECT_THAT(*line, HasSubstr("models/staging -> v0"));
  follow.Stop(SIGTERM);
}

TEST_F(CliMountStoreTest, AMissingDefaultStoreSaysHowToPointAtAMount) {
  const RunResult r =
      RunRegfs({"ls"}, {.env = {"XDG_DATA_HOME=" + (dir() / "none").string()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("pass --store MOUNTPOINT (a regfs mount) or "
                               "set REGFS_STORE"));
}

}  // namespace
}  // namespace regfs::tools::testing
