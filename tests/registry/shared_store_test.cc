// A shared store (shared_store.h, Registry::InitShared): its configuration
// file, creating the registry in a database and joining it from a second
// store directory, the owner known by name, drafts beside the blobs.
#include "registry/shared_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "registry/history.h"
#include "registry/registry.h"
#include "tests/registry/pg_server.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::testing {
namespace {

namespace fs = std::filesystem;

class SharedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = PgServer::Get();
    ASSERT_TRUE(server.has_value())
        << "the test PostgreSQL server did not start: " << Describe(server);
    auto conninfo = (*server)->CreateDatabase();
    ASSERT_TRUE(conninfo.has_value()) << Describe(conninfo);
    config_ = {*conninfo, tmp_.path() / "blobs"};
  }

  TempDir tmp_;
  SharedStoreConfig config_;
};

TEST_F(SharedStoreTest, TheConfigurationRoundTripsAndIsPrivate) {
  const fs::path store = tmp_.path() / "store";
  fs::create_directories(store);
  REGFS_ASSERT_OK(WriteSharedStoreConfig(store, config_));
  struct stat st {};
  ASSERT_EQ(::stat((store / kSharedStoreConfigName).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto read = ReadSharedStoreConfig(store);
  REGFS_ASSERT_OK(read);
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->metadata, config_.metadata);
  EXPECT_EQ((*read)->blobs, config_.blobs);
  EXPECT_EQ(CodeOf(WriteSharedStoreConfig(store, config_)),
            Code::kAlreadyExists);
  auto none = ReadSharedStoreConfig(tmp_.path());
  REGFS_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  WriteFile(tmp_.path() / "bad" / kSharedStoreConfigName, "metadata\n");
  EXPECT_EQ(CodeOf(ReadSharedStoreConfig(tmp_.path() / "bad")),
            Code::kCorruption);
}

TEST_F(SharedStoreTest, APasswordIsRefusedAndNeverShown) {
  for (const std::string conninfo :
       {"postgresql://regfs:s3cret@db/registry",
        "postgresql://regfs@db/registry?password=s3cret",
        "host=db user=regfs password=s3cret dbname=registry"}) {
    const auto checked = CheckSharedStoreConfig({conninfo, "/shared/blobs"});
    ASSERT_EQ(CodeOf(checked), Code::kInvalidArgument) << conninfo;
    EXPECT_NE(checked.error().message.find("PGPASSFILE"), std::string::npos);
    EXPECT_EQ(checked.error().message.find("s3cret"), std::string::npos);
  }
  EXPECT_EQ(CodeOf(CheckSharedStoreConfig({"host=db", "relative/blobs"})),
            Code::kInvalidArgument);
  bool joined = false;
  EXPECT_EQ(CodeOf(InitSharedStore(
                tmp_.path() / "store", Owner(),
                {"postgresql://regfs:s3cret@db/registry", config_.blobs},
                &joined)),
            Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(tmp_.path() / "store"));
}

TEST_F(SharedStoreTest, ASecondStoreJoinsAndTheOwnerIsKnownByName) {
  bool joined = true;
  auto first = InitSharedStore(tmp_.path() / "a", Owner(), config_,
                                    &joined);
  REGFS_ASSERT_OK(first);
  EXPECT_FALSE(joined);
  // Another user joins from another node: the owner stays the first.
  auto second = InitSharedStore(tmp_.path() / "b", User(20001), config_,
                                     &joined);
  REGFS_ASSERT_OK(second);
  EXPECT_TRUE(joined);
  EXPECT_EQ((*second)->RoleOf(User(20001)).value_or(Role::kNone),
            Role::kViewer);
  // The owner's name on a node where it has another uid: still admin.
  Identity elsewhere = User(30000);
  elsewhere.user = Owner().user;
  EXPECT_EQ((*second)->RoleOf(elsewhere).value_or(Role::kNone), Role::kAdmin);
  // And the owner's uid under another name is nobody special.
  Identity impostor = Owner();
  impostor.user = "someone-else";
  EXPECT_EQ((*second)->RoleOf(impostor).value_or(Role::kNone), Role::kViewer);
  // What one store pushes, the other reads; both use the one blob dir.
  WriteFile(tmp_.path() / "src" / "m.bin", "weights");
  PushRequest push;
  push.collection = "models";
  push.paths = {tmp_.path() / "src" / "m.bin"};
  REGFS_ASSERT_OK((*first)->Push(Owner(), push));
  auto v0 = (*second)->Resolve("models", "latest");
  REGFS_ASSERT_OK(v0);
  EXPECT_EQ(ReadFile((*second)->BlobPath(v0->blob)), "weights");
  EXPECT_TRUE(fs::exists(config_.blobs / "tmp"));
  // Drafts are on the blobs' file system, in this host's directory.
  EXPECT_FALSE(HostName().empty());
  EXPECT_EQ(SharedDraftsDir(config_.blobs).filename(), HostName());
  EXPECT_EQ((*second)->drafts().root(), SharedDraftsDir(config_.blobs));
  EXPECT_EQ((*second)->drafts().root().parent_path(), config_.blobs / "drafts");
  // Open reads the configuration.
  second->reset();
  auto reopened = Registry::Open(tmp_.path() / "b");
  REGFS_ASSERT_OK(reopened);
  auto latest = (*reopened)->Resolve("models", "latest");
  REGFS_ASSERT_OK(latest);
  EXPECT_EQ(latest->number, 0u);
}

// The history of a shared store names the machine of each change (its
// nodes share one history), and `regfs history` shows it: user@host in
// the text, "host" in the JSON. Both nodes here are this machine.
TEST_F(SharedStoreTest, AnAliasMoveRecordsThisMachinesHost) {
  bool joined = true;
  auto first = InitSharedStore(tmp_.path() / "a", Owner(), config_, &joined);
  REGFS_ASSERT_OK(first);
  auto second =
      InitSharedStore(tmp_.path() / "b", User(20001), config_, &joined);
  REGFS_ASSERT_OK(second);
  for (const char* content : {"zero", "one"}) {
    WriteFile(tmp_.path() / "src" / content, content);
    PushRequest push;
    push.collection = "models";
    push.paths = {tmp_.path() / "src" / content};
    REGFS_ASSERT_OK((*first)->Push(Owner(), push));
  }
  REGFS_ASSERT_OK((*first)->SetAlias(Owner(), "models", "production", "v0"));
  REGFS_ASSERT_OK((*first)->SetAlias(Owner(), "models", "production", "v1",
                                     std::optional<uint64_t>(0)));
  HistoryFilter filter;
  filter.alias = "production";
  auto events = (*second)->History(filter);
  REGFS_ASSERT_OK(events);
  ASSERT_EQ(events->size(), 2u);
  const Event& move = events->back();
  EXPECT_EQ(move.type, EventType::kAliasMove);
  ASSERT_FALSE(HostName().empty());
  EXPECT_EQ(move.host, HostName());
  EXPECT_NE(RenderText(move).find(" " + Owner().user + "@" + HostName() + " "),
            std::string::npos)
      << RenderText(move);
  const auto line = nlohmann::json::parse(RenderJsonLine(move));
  EXPECT_EQ(line.value("host", ""), HostName()) << line.dump();
  // Every event of the store, the pushes' too, names it.
  auto all = (*second)->History(HistoryFilter{});
  REGFS_ASSERT_OK(all);
  for (const Event& e : *all) EXPECT_EQ(e.host, HostName()) << e.seq;
}

}  // namespace
}  // namespace regfs::registry::testing
