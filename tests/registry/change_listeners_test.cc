// Read-your-writes without FUSE: every committed change is announced to the
// other processes' listeners before the call returns (change_listeners.h).
// A second Registry on the same store stands in for another process; raw
// sockets stand in for dead and hung daemons.
#include "registry/change_listeners.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "registry/registry.h"
#include "tests/registry/test_util.h"

namespace regfs::registry {
namespace {

namespace fs = std::filesystem;
using testing::Describe;
using testing::Owner;
using testing::RegistryTest;
using testing::Root;
using testing::TempDir;
using testing::User;

// What a listener was told, and what its own connection showed then.
struct Heard {
  std::mutex mu;
  std::vector<uint64_t> seqs;
  std::vector<uint64_t> visible;  // LastSeq of the listener's Registry

  uint64_t Last() {
    std::lock_guard lock(mu);
    return seqs.empty() ? 0 : seqs.back();
  }
  uint64_t Max() {
    std::lock_guard lock(mu);
    return seqs.empty() ? 0 : *std::max_element(seqs.begin(), seqs.end());
  }
  size_t Count() {
    std::lock_guard lock(mu);
    return seqs.size();
  }
};

// Another process's Registry with a listener that records what it hears.
class ListeningTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    auto other = Registry::Open(store());
    ASSERT_TRUE(other.has_value()) << Describe(other);
    other_ = std::move(*other);
    auto listener = other_->Listen([this](uint64_t seq) {
      const auto last = other_->LastSeq();
      std::lock_guard lock(heard_.mu);
      heard_.seqs.push_back(seq);
      heard_.visible.push_back(last.value_or(0));
    });
    ASSERT_TRUE(listener.has_value()) << Describe(listener);
    listener_ = std::move(*listener);
  }
  void TearDown() override {
    listener_.reset();
    other_.reset();
    RegistryTest::TearDown();
  }

  fs::path Listeners() const { return store() / kListenersDir; }
  std::vector<std::string> SocketNames() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(Listeners())) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::unique_ptr<Registry> other_;
  std::unique_ptr<ChangeListener> listener_;
  Heard heard_;
};

// A socket file at listeners/NAME: bound and then closed (a dead daemon's),
// or listening and never answering (a stopped daemon's).
class FakeListener final {
 public:
  FakeListener(const fs::path& path, bool listening) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ok_ = fd_ >= 0 &&
          ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          (!listening || ::listen(fd_, 8) == 0);
    if (!listening && fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~FakeListener() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  bool ok() const { return ok_; }

 private:
  fs::path path_;
  int fd_ = -1;
  bool ok_ = false;
};

TEST_F(ListeningTest, EveryKindOfChangeIsHeardBeforeItReturns) {
  const fs::path m0 = Source("m0", "zero");
  const fs::path m1 = Source("m1", "one");
  PushRequest push;
  push.collection = "models";
  push.paths = {m0};
  PushRequest again = push;
  again.paths = {m1};
  struct Case {
    const char* what;
    std::function<Status()> change;
  };
  auto status = [](auto result) -> Status {
    if (!result) return std::unexpected(result.error());
    return {};
  };
  const Case cases[] = {
      {"create collection",
       [&] { return status(reg().CreateCollection(Owner(), "empty")); }},
      {"push", [&] { return status(reg().Push(Owner(), push)); }},
      {"push again", [&] { return status(reg().Push(Owner(), again)); }},
      {"create alias",
       [&] { return status(reg().CreateAlias(Owner(), "models", "a", "v0")); }},
      {"set alias",
       [&] { return status(reg().SetAlias(Owner(), "models", "a", "v1")); }},
      {"rename alias",
       [&] { return reg().RenameAlias(Owner(), "models", "a", "b", false); }},
      {"create another",
       [&] { return status(reg().CreateAlias(Owner(), "models", "c", "v0")); }},
      {"exchange aliases",
       [&] { return reg().ExchangeAliases(Owner(), "models", "b", "c"); }},
      {"remove alias",
       [&] { return reg().RemoveAlias(Owner(), "models", "c"); }},
      {"add tag", [&] { return reg().AddTag(Owner(), "models", 0, "t"); }},
      {"remove tag",
       [&] { return reg().RemoveTag(Owner(), "models", 0, "t"); }},
      {"protect", [&] { return reg().Protect(Owner(), "production"); }},
      {"unprotect", [&] { return reg().Unprotect(Owner(), "production"); }},
      {"grant", [&] { return reg().Grant(Owner(), "alice", Role::kMember); }},
      {"revoke", [&] { return reg().Revoke(Owner(), "alice"); }},
      {"delete version",
       [&] { return reg().DeleteVersion(Owner(), "models", 0); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const size_t before = heard_.Count();
    const Status s = c.change();
    ASSERT_TRUE(s.has_value()) << Describe(s);
    // No waiting: the listener has answered before the change returned.
    ASSERT_EQ(heard_.Count(), before + 1);
    EXPECT_EQ(heard_.Last(), Seq());
    std::lock_guard lock(heard_.mu);
    EXPECT_EQ(heard_.visible.back(), heard_.seqs.back())
        << "announced before the listener's connection could see it";
  }
}

TEST_F(ListeningTest, NothingChangedNothingAnnounced) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "zero"));
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "a", "v0"));
  const size_t before = heard_.Count();
  REGFS_ASSERT_OK(reg().ListCollections());
  REGFS_ASSERT_OK(reg().Resolve("models", "a"));
  // Moving to the version it already names records nothing.
  REGFS_ASSERT_OK(reg().SetAlias(Owner(), "models", "a", "v0"));
  // Refused: a viewer may change nothing.
  EXPECT_FALSE(reg().SetAlias(User(20002), "models", "a", "v0").has_value());
  EXPECT_FALSE(reg().CreateCollection(User(20002), "x").has_value());
  EXPECT_EQ(heard_.Count(), before);
}

TEST_F(ListeningTest, ARegistryDoesNotAnnounceToItsOwnListener) {
  const size_t before = heard_.Count();
  REGFS_ASSERT_OK(other_->CreateCollection(Owner(), "mine"));
  EXPECT_EQ(heard_.Count(), before);
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "yours"));
  EXPECT_EQ(heard_.Count(), before + 1);
}

// Registry::ObserveChanges: told of the Registry's own commits and of what
// its listener hears, until the observation ends.
TEST_F(ListeningTest, AnObserverIsToldOfOwnAndHeardChanges) {
  Heard own;
  Heard other;
  auto mine = reg().ObserveChanges([&](uint64_t seq) {
    std::lock_guard lock(own.mu);
    own.seqs.push_back(seq);
  });
  auto theirs = other_->ObserveChanges([&](uint64_t seq) {
    std::lock_guard lock(other.mu);
    other.seqs.push_back(seq);
  });
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "made"));
  const uint64_t seq = reg().LastSeq().value_or(0);
  // Both before CreateCollection returned: the committer's at once, the
  // listener's before it acknowledged the announcement.
  EXPECT_EQ(own.Last(), seq);
  EXPECT_EQ(other.Last(), seq);
  // A read commits nothing: nobody is told.
  REGFS_ASSERT_OK(reg().ListCollections());
  EXPECT_EQ(own.Count(), 1u);
  mine.reset();
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "unseen"));
  EXPECT_EQ(own.Count(), 1u);
  EXPECT_EQ(other.Count(), 2u);
}

TEST_F(ListeningTest, GroupCommittedMovesAreHeardBeforeEachReturns) {
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "zero"));
  REGFS_ASSERT_OK(PushContent(Owner(), "models", "one"));
  constexpr int kThreads = 8;
  constexpr int kMoves = 25;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> failures;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string alias = "a" + std::to_string(t);
      for (int i = 0; i < kMoves; ++i) {
        auto moved =
            reg().SetAlias(Owner(), "models", alias, i % 2 ? "v0" : "v1");
        const uint64_t heard = heard_.Max();
        std::lock_guard lock(mu);
        if (!moved) {
          failures.push_back(Describe(moved));
        } else if (heard < moved->revision) {
          failures.push_back(alias + ": returned at event " +
                             std::to_string(moved->revision) +
                             " while the listener had heard of " +
                             std::to_string(heard));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(failures.empty()) << failures.front();
  EXPECT_GT(reg().GetBatchStats().commits, 0u);
}

TEST_F(ListeningTest, TheSocketIsTheOwnersAndGoesAwayAtStop) {
  const std::vector<std::string> names = SocketNames();
  ASSERT_EQ(names, std::vector<std::string>{listener_->name()});
  EXPECT_TRUE(names[0].starts_with(std::to_string(::getpid()) + "-"));
  struct stat st {};
  ASSERT_EQ(::stat(Listeners().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, testing::kOwnerUid) << "root's daemon gives it away";
  ASSERT_EQ(::stat((Listeners() / names[0]).c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, testing::kOwnerUid);
  listener_->Stop();
  EXPECT_TRUE(SocketNames().empty());
}

TEST_F(ListeningTest, ADeadListenersSocketIsRemovedByTheNextChange) {
  FakeListener dead(Listeners() / "999999-dead.sock", /*listening=*/false);
  ASSERT_TRUE(dead.ok());
  ASSERT_TRUE(fs::exists(Listeners() / "999999-dead.sock"));
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "c"));
  EXPECT_FALSE(fs::exists(Listeners() / "999999-dead.sock"));
  EXPECT_EQ(heard_.Last(), Seq()) << "the live listener still heard it";
}

TEST_F(ListeningTest, AHungListenerDoesNotKeepTheChangeOrTheOthersWaiting) {
  FakeListener hung(Listeners() / "999998-hung.sock", /*listening=*/true);
  ASSERT_TRUE(hung.ok());
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "c"));
  EXPECT_EQ(heard_.Last(), Seq());
  EXPECT_TRUE(fs::exists(Listeners() / "999998-hung.sock"))
      << "a hung daemon is alive: its socket stays";
  auto collections = reg().ListCollections();
  REGFS_ASSERT_OK(collections);
  EXPECT_EQ(collections->size(), 1u) << "the change is committed";
}

// From its second change on, a writer keeps the list of listeners and
// watches the directory (change_listeners.h): a listener that starts
// later, a dead one's socket, and a directory removed and made again are
// all seen at the next change, as a fresh read of the directory would.
TEST_F(ListeningTest, AWriterThatKeepsTheListSeesEveryListenerChange) {
  for (const char* name : {"a", "b", "c"}) {
    REGFS_ASSERT_OK(reg().CreateCollection(Owner(), name));
    EXPECT_EQ(heard_.Last(), Seq());
  }
  auto late = Registry::Open(store());
  ASSERT_TRUE(late.has_value()) << Describe(late);
  Heard late_heard;
  auto late_listener = (*late)->Listen([&](uint64_t seq) {
    std::lock_guard lock(late_heard.mu);
    late_heard.seqs.push_back(seq);
  });
  ASSERT_TRUE(late_listener.has_value()) << Describe(late_listener);
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "d"));
  EXPECT_EQ(late_heard.Last(), Seq()) << "a listener started after the list";
  EXPECT_EQ(heard_.Last(), Seq());

  (*late_listener)->Stop();
  {
    FakeListener dead(Listeners() / "999997-dead.sock", /*listening=*/false);
    ASSERT_TRUE(dead.ok());
    REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "e"));
    EXPECT_FALSE(fs::exists(Listeners() / "999997-dead.sock"))
        << "a dead listener that appeared after the list";
  }
  EXPECT_EQ(heard_.Last(), Seq());
  EXPECT_EQ(late_heard.Count(), 1u);

  // The directory goes (the last listener stopped and someone cleaned
  // up), and a new listener makes it again.
  listener_->Stop();
  fs::remove_all(Listeners());
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "f"));
  auto again = other_->Listen([this](uint64_t seq) {
    std::lock_guard lock(heard_.mu);
    heard_.seqs.push_back(seq);
  });
  ASSERT_TRUE(again.has_value()) << Describe(again);
  listener_ = std::move(*again);
  for (const char* name : {"g", "h"}) {
    REGFS_ASSERT_OK(reg().CreateCollection(Owner(), name));
    EXPECT_EQ(heard_.Last(), Seq()) << name;
  }
}

TEST_F(ListeningTest, StrayFilesInTheDirectoryAreLeftAlone) {
  testing::WriteFile(Listeners() / "notes.txt", "x");
  testing::WriteFile(Listeners() / ".123-abc.tmp", "x");
  REGFS_ASSERT_OK(reg().CreateCollection(Owner(), "c"));
  EXPECT_TRUE(fs::exists(Listeners() / "notes.txt"));
  EXPECT_TRUE(fs::exists(Listeners() / ".123-abc.tmp"))
      << "a young temporary name may be a listener starting";
  EXPECT_EQ(heard_.Last(), Seq());
}

TEST(ChangeListenerTest, WorksInAStoreWhosePathIsTooLongForASocket) {
  TempDir tmp;
  fs::path store = tmp.path();
  while (store.string().size() < 200) store /= "a-rather-long-directory-name";
  fs::create_directories(store);
  store /= "store";
  auto writer = Registry::Init(store, Owner());
  ASSERT_TRUE(writer.has_value()) << Describe(writer);
  auto reader = Registry::Open(store);
  ASSERT_TRUE(reader.has_value()) << Describe(reader);
  std::mutex mu;
  uint64_t heard = 0;
  auto listener = (*reader)->Listen([&](uint64_t seq) {
    std::lock_guard lock(mu);
    heard = seq;
  });
  ASSERT_TRUE(listener.has_value()) << Describe(listener);
  // The first change reads the directory; later ones use the list the
  // writer keeps, and reach the socket the same way.
  for (const char* name : {"c", "d", "e"}) {
    REGFS_ASSERT_OK((*writer)->CreateCollection(Owner(), name));
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(heard, 3u);
}

TEST(ChangeListenerTest, WithoutListenersAChangeTouchesNoFile) {
  TempDir tmp;
  auto reg = Registry::Init(tmp.path() / "store", Owner());
  ASSERT_TRUE(reg.has_value()) << Describe(reg);
  REGFS_ASSERT_OK((*reg)->CreateCollection(Root(), "c"));
  EXPECT_FALSE(fs::exists(tmp.path() / "store" / kListenersDir));
}

}  // namespace
}  // namespace regfs::registry
