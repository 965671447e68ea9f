// The `regfs` command line, run as a user would run it: the built binary,
// a fresh store per test, and checks of stdout, stderr and the exit code.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/tools/cli_runner.h"

namespace regfs::tools::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

// The first word of each line: the VERSION or ALIAS column of a table.
std::vector<std::string> FirstColumn(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    words.push_back(line.substr(0, line.find(' ')));
  }
  return words;
}

TEST_F(CliTest, ThreePushesMakeV0V1V2AndLatestNamesV2) {
  const std::string model = WriteFile("model.pt", "weights 0");
  EXPECT_THAT(Ok({"push", "models", model}),
              MatchesRegex("models/v0  \\(9 B, digest [0-9a-f]{32}\\)  "
                           "aliases: latest\n"));
  WriteFile("model.pt", "weights 1");
  EXPECT_THAT(Ok({"push", "models", model}), StartsWith("models/v1  ("));
  WriteFile("model.pt", "weights 2!");
  EXPECT_THAT(Ok({"push", "models", model}),
              StartsWith("models/v2  (10 B, digest "));

  const std::string listing = Ok({"ls", "models"});
  EXPECT_THAT(listing, StartsWith("models  (file collection, 3 versions)\n"));
  EXPECT_THAT(listing, MatchesRegex("(.|\n)*\nv2  +10 B  +[0-9T:.-]+Z  +" +
                                    CurrentUser().name +
                                    "  "
                                    "+latest\n(.|\n)*"));
  EXPECT_THAT(listing, MatchesRegex("(.|\n)*\nlatest  +v2  +auto  (.|\n)*"));

  const RunResult resolved = Regfs({"resolve", "models/latest"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.err;
  ASSERT_THAT(resolved.out,
              MatchesRegex("v2 /.*/blobs/[0-9a-f]{2}/[0-9a-f]+\n"));
  const std::string blob = resolved.out.substr(3, resolved.out.size() - 4);
  EXPECT_EQ(ReadFile(blob), "weights 2!");
  EXPECT_THAT(blob, StartsWith(store().string() + "/blobs/"));

  const std::string all = Ok({"ls"});
  EXPECT_THAT(all, MatchesRegex("COLLECTION  KIND  VERSIONS  LATEST  ALIASES\n"
                                "models      file  3         v2      0\n"));
}

TEST_F(CliTest, PushOfSeveralFilesMakesATreeVersion) {
  const std::string data = WriteFile("zoo_dataset.pt", "animals");
  const std::string labels = WriteFile("zoo_labels.pt", "labels!");
  const std::string out = Ok({"push", "zoo-dataset", data, labels, "--alias",
                              "production-us", "--alias", "production-eu"});
  EXPECT_THAT(out, MatchesRegex("zoo-dataset/v0  \\(tree, 2 files, 14 B, "
                                "digest [0-9a-f]{32}\\)  aliases: .*\n"));
  EXPECT_THAT(out, AllOf(HasSubstr("latest"), HasSubstr("production-us"),
                         HasSubstr("production-eu")));

  const nlohmann::json v = Json({"ls", "zoo-dataset/v0"});
  EXPECT_EQ(v["kind"], "tree");
  EXPECT_EQ(v["files"], 2);
  EXPECT_EQ(v["blob_path"], nullptr);
  ASSERT_EQ(v["tree"].size(), 2u);
  EXPECT_EQ(v["tree"][0]["path"], "zoo_dataset.pt");
  EXPECT_EQ(v["tree"][0]["size"], 7);
  EXPECT_EQ(v["tree"][1]["path"], "zoo_labels.pt");

  EXPECT_EQ(Ok({"resolve", "zoo-dataset/production-eu"}), "v0\n");
  EXPECT_THAT(Ok({"ls"}), HasSubstr("zoo-dataset  tree  1         v0      2"));

  const std::string detail = Ok({"ls", "zoo-dataset/production-us"});
  EXPECT_THAT(detail, StartsWith("zoo-dataset/production-us -> v0\n"));
  EXPECT_THAT(detail, MatchesRegex("(.|\n)*\n7 B  +zoo_dataset\\.pt\n(.|\n)*"));
}

TEST_F(CliTest, PushOfADirectoryKeepsItsLayout) {
  WriteFile("run/config.json", "{}");
  WriteFile("run/weights/layer0.bin", "0000");
  WriteFile("run/empty.txt", "");
  Ok({"push", "runs", (dir() / "files" / "run").string()});
  const nlohmann::json v = Json({"ls", "runs/v0"});
  std::vector<std::string> paths;
  for (const auto& f : v["tree"]) paths.push_back(f["path"]);
  EXPECT_THAT(paths, ElementsAre("config.json", "empty.txt", "weights/",
                                 "weights/layer0.bin"));
}

// A tree push holds one lock and one descriptor for all its staged files
// (its staging area), not one per file: a tree of more files than the
// process may open at all still pushes, and the push leaves no staging
// area behind.
TEST_F(CliTest, PushOfATreeLargerThanTheOpenFileLimit) {
  constexpr int kFiles = 200;
  for (int i = 0; i < kFiles; ++i) {
    WriteFile("many/f" + std::to_string(i), std::to_string(i));
  }
  RunOptions few_files;
  few_files.open_files = 64;  // soft and hard: regfs cannot raise it
  const RunResult pushed =
      RunRegfs({"--store", store().string(), "push", "many",
                (dir() / "files" / "many").string()},
               few_files);
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_EQ(Json({"ls", "many/v0"})["tree"].size(), size_t{kFiles});
  EXPECT_TRUE(std::filesystem::is_empty(store() / "blobs" / "tmp"))
      << "the push's staging area is gone";
}

TEST_F(CliTest, PushRecordsTagsMetadataAndDescription) {
  const std::string model = WriteFile("model.pt", "w");
  Ok({"push", "models", model, "--tag", "resnet", "-t", "baseline", "--meta",
      "lr=0.1", "--meta", "note=a=b", "--description", "first try"});
  const nlohmann::json v = Json({"ls", "models/v0"});
  EXPECT_EQ(v["version"], "v0");
  EXPECT_EQ(v["filename"], "model.pt");
  EXPECT_EQ(v["description"], "first try");
  EXPECT_EQ(v["metadata"]["lr"], "0.1");
  EXPECT_EQ(v["metadata"]["note"], "a=b");
  EXPECT_THAT(v["tags"].get<std::vector<std::string>>(),
              ::testing::UnorderedElementsAre("resnet", "baseline"));
  EXPECT_EQ(v["creator"], CurrentUser().name);

  const std::string text = Ok({"ls", "models/v0"});
  EXPECT_THAT(text, StartsWith("models/v0\n"));
  EXPECT_THAT(text, HasSubstr("description:  first try\n"));
  EXPECT_THAT(text, HasSubstr("meta lr:      0.1\n"));
  EXPECT_THAT(text, HasSubstr("filename:     model.pt\n"));
}

TEST_F(CliTest, PushJsonDescribesTheNewVersion) {
  const std::string model = WriteFile("model.pt", "abc");
  const nlohmann::json v =
      Json({"push", "models", model, "--alias", "candidate"});
  EXPECT_EQ(v["collection"], "models");
  EXPECT_EQ(v["version"], "v0");
  EXPECT_EQ(v["size"], 3);
  EXPECT_EQ(ReadFile(v["blob_path"].get<std::string>()), "abc");
  EXPECT_THAT(v["aliases"].get<std::vector<std::string>>(),
              ::testing::UnorderedElementsAre("latest", "candidate"));
}

TEST_F(CliTest, AliasesAreSetMovedRenamedAndRemoved) {
  const std::string model = WriteFile("model.pt", "a");
  Ok({"push", "models", model});
  WriteFile("model.pt", "b");
  Ok({"push", "models", model});

  EXPECT_EQ(Ok({"alias", "set", "models", "candidate", "v0"}),
            "models/candidate -> v0\n");
  EXPECT_EQ(Ok({"alias", "set", "models", "candidate", "latest"}),
            "models/candidate -> v1\n");
  // An alias as target resolves now; aliases never chain.
  EXPECT_EQ(Ok({"alias", "set", "models", "best", "candidate"}),
            "models/best -> v1\n");
  EXPECT_EQ(Ok({"alias", "mv", "models", "candidate", "staging"}),
            "renamed alias models/candidate to staging\n");
  EXPECT_THAT(Refused({"alias", "mv", "models", "staging", "best"}),
              HasSubstr("best"));
  Ok({"alias", "mv", "models", "staging", "best", "--force"});
  EXPECT_THAT(FirstColumn(Ok({"alias", "ls", "models"})),
              ElementsAre("ALIAS", "latest", "best"));
  EXPECT_EQ(Ok({"alias", "rm", "models", "best"}),
            "removed alias models/best\n");
  EXPECT_THAT(FirstColumn(Ok({"alias", "ls", "models"})),
              ElementsAre("ALIAS", "latest"));
  Refused({"alias", "rm", "models", "best"});
}

TEST_F(CliTest, LatestAndVersionsCannotBeMovedByHand) {
  Ok({"push", "models", WriteFile("m", "x")});
  EXPECT_THAT(Refused({"alias", "set", "models", "latest", "v0"}),
              HasSubstr("latest"));
  EXPECT_THAT(Refused({"alias", "rm", "models", "latest"}),
              HasSubstr("latest"));
  EXPECT_THAT(Refused({"alias", "set", "models", "v7", "v0"}), HasSubstr("v7"));
}

TEST_F(CliTest, AliasSetExpectIsACompareAndSwap) {
  const std::string model = WriteFile("model.pt", "a");
  Ok({"push", "models", model});
  WriteFile("model.pt", "b");
  Ok({"push", "models", model});

  // --expect none: only if the alias does not exist yet.
  Ok({"alias", "set", "models", "candidate", "v0", "--expect", "none"});
  const std::string exists = Refused(
      {"alias", "set", "models", "candidate", "v1", "--expect", "none"});
  EXPECT_THAT(exists, HasSubstr("candidate"));
  // Somebody else moved it meanwhile: a conflict, nothing changes.
  const std::string moved =
      Refused({"alias", "set", "models", "candidate", "v1", "--expect", "v1"});
  EXPECT_THAT(moved, HasSubstr("candidate"));
  EXPECT_THAT(moved, HasSubstr("v0"));
  EXPECT_EQ(Ok({"resolve", "models/candidate"}).substr(0, 3), "v0 ");
  // Expecting what is there moves it.
  EXPECT_EQ(Ok({"alias", "set", "models", "candidate", "v1", "--expect", "v0"}),
            "models/candidate -> v1\n");
}

TEST_F(CliTest, ResolveJson) {
  const std::string model = WriteFile("model.pt", "hello");
  Ok({"push", "models", model, "--alias", "production"});
  const nlohmann::json r = Json({"resolve", "models/production"});
  EXPECT_EQ(r["collection"], "models");
  EXPECT_EQ(r["name"], "production");
  EXPECT_EQ(r["version"], "v0");
  EXPECT_EQ(r["number"], 0);
  EXPECT_EQ(r["kind"], "file");
  EXPECT_EQ(ReadFile(r["blob_path"].get<std::string>()), "hello");
  EXPECT_EQ(Ok({"resolve", "models/v0"}).substr(0, 3), "v0 ");
}

TEST_F(CliTest, DeletedVersionNumbersAreNeverReused) {
  const std::string model = WriteFile("model.pt", "0");
  Ok({"push", "models", model});
  WriteFile("model.pt", "1");
  Ok({"push", "models", model, "--alias", "candidate"});
  EXPECT_EQ(Ok({"rm", "models/v1"}), "deleted models/v1\n");
  EXPECT_EQ(Ok({"resolve", "models/latest"}).substr(0, 3), "v0 ");
  Refused({"resolve", "models/candidate"});  // removed with its version
  WriteFile("model.pt", "2");
  EXPECT_THAT(Ok({"push", "models", model}), StartsWith("models/v2  ("));
  EXPECT_THAT(
      FirstColumn(Ok({"ls", "models"})),
      ElementsAre("models", "", "VERSION", "v0", "v2", "", "ALIAS", "latest"));
  EXPECT_THAT(Refused({"rm", "models/latest"}),
              HasSubstr("rm takes COLLECTION/vN"));
  Refused({"rm", "models/v1"});
}

TEST_F(CliTest, ProtectedTargetCannotBeDeleted) {
  Ok({"push", "models", WriteFile("m", "x"), "--alias", "production"});
  Ok({"protect", "production"});
  EXPECT_THAT(Refused({"rm", "models/v0"}), HasSubstr("production"));
  Ok({"unprotect", "production"});
  Ok({"rm", "models/v0"});
}

TEST_F(CliTest, TagsAreAddedAndRemoved) {
  Ok({"push", "models", WriteFile("m", "x"), "--alias", "best"});
  EXPECT_EQ(Ok({"tag", "add", "models/v0", "good"}), "tagged models/v0 good\n");
  EXPECT_EQ(Ok({"tag", "add", "models/best", "reviewed"}),
            "tagged models/v0 reviewed\n");
  EXPECT_THAT(Json({"ls", "models/v0"})["tags"].get<std::vector<std::string>>(),
              ::testing::UnorderedElementsAre("good", "reviewed"));
  EXPECT_EQ(Ok({"tag", "rm", "models/v0", "good"}),
            "removed tag good from models/v0\n");
  EXPECT_THAT(Json({"ls", "models/v0"})["tags"].get<std::vector<std::string>>(),
              ElementsAre("reviewed"));
}

TEST_F(CliTest, FsckIsCleanAfterOrdinaryUse) {
  Ok({"push", "models", WriteFile("m", "x"), "--alias", "a"});
  Ok({"push", "zoo", WriteFile("a", "1"), WriteFile("b", "2")});
  EXPECT_THAT(Ok({"fsck"}), MatchesRegex("checked 2 versions and [0-9]+ blobs "
                                         "\\(.*\\): clean\n"));
  const nlohmann::json report = Json({"fsck"});
  EXPECT_EQ(report["clean"], true);
  EXPECT_EQ(report["versions"], 2);
  EXPECT_TRUE(report["problems"].empty());
}

TEST_F(CliTest, FsckReportsADamagedBlobAndExits1) {
  Ok({"push", "models", WriteFile("m", "precious")});
  const RunResult resolved = Regfs({"resolve", "models/v0"});
  const std::string blob = resolved.out.substr(3, resolved.out.size() - 4);
  chmod(blob.c_str(), 0644);
  std::ofstream(blob, std::ios::binary) << "Precious";

  const RunResult r = Regfs({"fsck"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("1 problem\n"));
  EXPECT_THAT(r.err, MatchesRegex("regfs: fsck found 1 problem in .*\n"));
  const RunResult json = Regfs({"fsck", "--json"});
  EXPECT_EQ(json.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(json.out)["clean"], false);
}

TEST_F(CliTest, GcKeepsReferencedBlobs) {
  Ok({"push", "models", WriteFile("m", "x")});
  EXPECT_EQ(Ok({"gc"}),
            "removed 0 unreferenced blobs (0 B) and 0 stale temporary files\n");
  Ok({"fsck"});
  const nlohmann::json report = Json({"gc"});
  EXPECT_EQ(report["blobs_removed"], 0);
}

TEST_F(CliTest, WhoamiShowsTheOwnerAsAdmin) {
  const TestUser me = CurrentUser();
  EXPECT_THAT(Ok({"whoami"}),
              MatchesRegex(fmt::format("uid:     {}\nuser:    {}\n"
                                       "groups:  {}\\({}\\).*\n"
                                       "role:    admin\nstore:   .*\n",
                                       me.uid, me.name, getgid(), me.group)));
  const nlohmann::json j = Json({"whoami"});
  EXPECT_EQ(j["uid"], me.uid);
  EXPECT_EQ(j["user"], me.name);
  EXPECT_EQ(j["role"], "admin");
  EXPECT_EQ(j["store"], store().string());
  EXPECT_EQ(j["gid"], getgid());
  EXPECT_EQ(j["groups"][0], getgid());
  EXPECT_EQ(j["group_names"][0], me.group);
}

// `mount` reaches the FUSE daemon's entry point; a bad mount point is
// refused before anything is mounted (mounting itself is tested in
// tests/fs).
TEST_F(CliTest, MountRefusesAMissingMountpoint) {
  const std::string missing = (dir() / "no-such-dir").string();
  EXPECT_THAT(Refused({"mount", missing}), HasSubstr("no-such-dir"));
}

TEST_F(CliTest, RolesAreGrantedListedAndRevoked) {
  EXPECT_EQ(Ok({"role", "grant", "nobody", "member"}),
            "granted member to nobody\n");
  Ok({"role", "grant", "group:daemon", "viewer"});
  EXPECT_EQ(Ok({"role", "default", "none"}), "default role is now none\n");
  EXPECT_THAT(Ok({"role", "ls"}),
              AllOf(HasSubstr("nobody             member\n"),
                    HasSubstr("group:daemon       viewer\n"),
                    HasSubstr("* (everyone else)  none\n")));
  const nlohmann::json roles = Json({"role", "ls"});
  EXPECT_EQ(roles["default"], "none");
  EXPECT_EQ(roles["grants"].size(), 2u);
  Ok({"role", "revoke", "nobody"});
  EXPECT_EQ(Json({"role", "ls"})["grants"].size(), 1u);
  Refused({"role", "revoke", "nobody"});
}

TEST_F(CliTest, StoreComesFromOptionEnvironmentOrDefault) {
  Ok({"push", "models", WriteFile("m", "x")});
  // --store after the subcommand.
  RunResult r = RunRegfs({"ls", "--store", store().string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("models"));
  // $REGFS_STORE.
  r = RunRegfs({"ls"}, {.env = {"REGFS_STORE=" + store().string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("models"));
  // The per-user default, which does not exist yet.
  r = RunRegfs({"ls"}, {.env = {"XDG_DATA_HOME=" + (dir() / "xdg").string()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "regfs: no store at " + (dir() / "xdg/regfs").string() +
                       ": pass --store MOUNTPOINT (a regfs mount) or set "
                       "REGFS_STORE, or create one with 'regfs init'\n");
  r = RunRegfs({"init"},
               {.env = {"XDG_DATA_HOME=" + (dir() / "xdg").string()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir() / "xdg/regfs/registry.db"));
}

TEST_F(CliTest, InitRefusesAnExistingStore) {
  EXPECT_THAT(Refused({"init"}), HasSubstr(store().string()));
}

TEST_F(CliTest, VersionAndHelp) {
  RunResult r = RunRegfs({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, MatchesRegex("regfs [0-9]+\\.[0-9]+\\.[0-9]+\n"));
  r = RunRegfs({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, AllOf(HasSubstr("push"), HasSubstr("history"),
                           HasSubstr("mount")));
  r = RunRegfs({"push", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, AllOf(HasSubstr("--alias"), HasSubstr("--meta")));
}

// Malformed command lines exit 2 with CLI11's message and run nothing.
TEST_F(CliTest, UsageErrorsExit2) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"push"},
      {"push", "models"},
      {"push", "models", "m", "--meta", "novalue"},
      {"push", "models", "m", "--meta", "=v"},
      {"alias"},
      {"alias", "set", "models", "candidate"},
      {"alias", "set", "models", "c", "v0", "--expect", "v0x"},
      {"alias", "set", "models", "c", "v0", "--expect"},
      {"role", "grant", "nobody", "superuser"},
      {"history", "--since", "yesterday"},
      {"ls", "--bogus"},
      {"ls", "a", "b"},
      {"resolve"},
      {"resolve", "models/production", "--at", "yesterday"},
      {"resolve", "models/production@{1}", "--at", "3"},
      {"mount"},
      {"mount", "/mnt", "--log-level", "loud"},
      {"tag", "add", "models/v0"},
  };
  for (const auto& args : cases) {
    std::string command = "regfs";
    for (const auto& a : args) command += " " + a;
    const RunResult r = Regfs(args);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.err;
    EXPECT_THAT(r.err, StartsWith("regfs: ")) << command;
    EXPECT_EQ(r.out, "") << command;
  }
  // Nothing ran.
  EXPECT_EQ(Ok({"ls"}).substr(0, 14), "no collections");
  // An empty --store (an unset variable in a unit file, say) is an error,
  // not the default store.
  const RunResult empty = RunRegfs({"--store", "", "ls"});
  EXPECT_EQ(empty.exit_code, 2) << empty.err;
  EXPECT_THAT(empty.err, HasSubstr("empty store path"));
}

// Refusals and failures exit 1 with one line naming the problem.
TEST_F(CliTest, BadNamesAndMissingThingsExit1WithOneLine) {
  Ok({"push", "models", WriteFile("m", "x")});
  const std::string file = WriteFile("n", "y");
  struct Case {
    std::vector<std::string> args;
    std::string message;  // a part of the expected message
  };
  const std::vector<Case> cases = {
      {{"push", "bad name", file}, "bad name"},
      {{"push", ".hidden", file}, ".hidden"},
      {{"push", "--", "-dash", file}, "-dash"},
      {{"push", "v1", file}, "v1"},
      {{"push", "latest", file}, "latest"},
      {{"push", std::string(129, 'a'), file}, "128"},
      {{"push", "models", (dir() / "missing.pt").string()}, "missing.pt"},
      {{"alias", "set", "models", "bad/alias", "v0"}, "bad/alias"},
      {{"alias", "set", "models", "ok", "v9"}, "v9"},
      {{"alias", "set", "models", "ok", "../other/v0"}, "other"},
      {{"alias", "set", "nosuch", "ok", "v0"}, "nosuch"},
      {{"ls", "nosuch"}, "nosuch"},
      {{"ls", "models/v5"}, "v5"},
      {{"ls", "a/b/c"}, "a/b/c"},
      {{"resolve", "models/nosuch"}, "nosuch"},
      {{"resolve", "models"}, "COLLECTION/VERSION"},
      {{"tag", "add", "models/v0", "bad tag"}, "bad tag"},
      {{"rm", "models/v3"}, "v3"},
      {{"protect", "bad name"}, "bad name"},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(Refused(c.args), HasSubstr(c.message)) << c.args[0];
  }
}

TEST_F(CliTest, JsonOutputsParse) {
  Ok({"push", "models", WriteFile("m", "x"), "--alias", "best"});
  Ok({"push", "zoo", WriteFile("a", "1"), WriteFile("b", "2")});
  Ok({"protect", "production"});
  const std::vector<std::vector<std::string>> commands = {
      {"ls"},           {"ls", "models"},          {"ls", "models/best"},
      {"ls", "zoo/v0"}, {"alias", "ls", "models"}, {"role", "ls"},
      {"whoami"},       {"resolve", "zoo/latest"}, {"fsck"},
      {"gc"},
  };
  for (const auto& args : commands) {
    const nlohmann::json j = Json(args);
    EXPECT_TRUE(j.is_object() || j.is_array()) << args[0];
  }
  const nlohmann::json all = Json({"ls"});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["name"], "models");
  EXPECT_EQ(all[0]["latest"], "v0");
  EXPECT_EQ(all[1]["kind"], "tree");
  const nlohmann::json models = Json({"ls", "models"});
  EXPECT_EQ(models["collection"]["name"], "models");
  EXPECT_EQ(models["versions"][0]["version"], "v0");
  EXPECT_THAT(models["versions"][0]["aliases"].get<std::vector<std::string>>(),
              ::testing::UnorderedElementsAre("best", "latest"));
  EXPECT_EQ(models["aliases"].size(), 2u);
  const nlohmann::json aliases = Json({"alias", "ls", "models"});
  ASSERT_EQ(aliases.size(), 2u);
  EXPECT_EQ(aliases[0]["alias"], "latest");
  EXPECT_EQ(aliases[0]["latest"], true);
  EXPECT_EQ(aliases[1]["alias"], "best");
  EXPECT_EQ(aliases[1]["version"], "v0");
  EXPECT_EQ(aliases[1]["protected"], false);
}

TEST_F(CliTest, EmptyRegistryListsNothing) {
  EXPECT_EQ(Ok({"ls"}),
            "no collections yet: add one with 'regfs push COLLECTION FILE'\n");
  EXPECT_EQ(Json({"ls"}), nlohmann::json::array());
  EXPECT_EQ(Ok({"history"}), "");
}

}  // namespace
}  // namespace regfs::tools::testing
