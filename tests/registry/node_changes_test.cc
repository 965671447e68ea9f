// Changes made on another node of a shared store reach a listener
// (node_changes.h) through PostgreSQL's notifications, and after the
// listening connection is killed, through its reconnection's catch-up.
#include "registry/node_changes.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>

#include "registry/registry.h"
#include "registry/shared_store.h"
#include "registry/sql/postgres.h"
#include "tests/registry/pg_server.h"
#include "tests/registry/test_util.h"

namespace regfs::registry::testing {
namespace {

using std::chrono::milliseconds;

// The seqs a listener was told, and a wait for one of them.
class Seen {
 public:
  void Tell(uint64_t seq) {
    std::lock_guard lock(mu_);
    last_ = std::max(last_, seq);
    ++calls_;
    cv_.notify_all();
  }
  // Whether `seq` (or a later one) was told within a generous bound: a
  // liveness check, not a measurement.
  bool WaitFor(uint64_t seq) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(20),
                        [&] { return last_ >= seq; });
  }
  uint64_t last() {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t last_ = 0;
  int calls_ = 0;
};

class NodeChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = PgServer::Get();
    ASSERT_TRUE(server.has_value())
        << "the test PostgreSQL server did not start: " << Describe(server);
    auto conninfo = (*server)->CreateDatabase();
    ASSERT_TRUE(conninfo.has_value()) << Describe(conninfo);
    config_ = {*conninfo, tmp_.path() / "blobs"};
    bool joined = false;
    auto a = InitSharedStore(tmp_.path() / "a", Owner(), config_, &joined);
    REGFS_ASSERT_OK(a);
    a_ = std::move(*a);
    auto b = InitSharedStore(tmp_.path() / "b", Owner(), config_, &joined);
    REGFS_ASSERT_OK(b);
    b_ = std::move(*b);
    WriteFile(tmp_.path() / "src" / "m.bin", "weights");
  }

  // A push on node A; its version's creation seq.
  uint64_t PushOnA() {
    PushRequest push;
    push.collection = "models";
    push.paths = {tmp_.path() / "src" / "m.bin"};
    EXPECT_TRUE(a_->Push(Owner(), push).has_value());
    auto last = a_->LastSeq();
    EXPECT_TRUE(last.has_value());
    return last.value_or(0);
  }

  TempDir tmp_;
  SharedStoreConfig config_;
  std::unique_ptr<Registry> a_;
  std::unique_ptr<Registry> b_;
};

TEST_F(NodeChangesTest, AChangeOnOneNodeReachesTheOthersListener) {
  Seen seen;
  auto listener =
      b_->ListenToOtherNodes([&](uint64_t seq) { seen.Tell(seq); });
  REGFS_ASSERT_OK(listener);
  ASSERT_NE(*listener, nullptr);
  const uint64_t first = PushOnA();
  EXPECT_TRUE(seen.WaitFor(first)) << "told " << seen.last();
  const uint64_t second = PushOnA();
  EXPECT_TRUE(seen.WaitFor(second)) << "told " << seen.last();
}

TEST_F(NodeChangesTest, AKilledConnectionIsMadeAgainAndCatchesUp) {
  Seen seen;
  auto listener = NodeChangeListener::Start(
      config_.metadata, [&](uint64_t seq) { seen.Tell(seq); },
      {.heartbeat = milliseconds(100), .deadline = milliseconds(2000)});
  REGFS_ASSERT_OK(listener);
  ASSERT_TRUE(seen.WaitFor(a_->LastSeq().value_or(0)));
  // The server ends the listening backend, as an administrator's
  // pg_terminate_backend or a failover would.
  auto admin = sql::PostgresConnection::Open(config_.metadata);
  REGFS_ASSERT_OK(admin);
  REGFS_ASSERT_OK((*admin)->Exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'regfs listener'"));
  // Made while the listener may be down: its notification can be lost,
  // the catch-up after the reconnection is not.
  const uint64_t seq = PushOnA();
  EXPECT_TRUE(seen.WaitFor(seq)) << "told " << seen.last();
  // And notifications flow again on the new connection.
  const uint64_t next = PushOnA();
  EXPECT_TRUE(seen.WaitFor(next)) << "told " << seen.last();
}

TEST_F(NodeChangesTest, AnEmbeddedStoreHasNoOtherNodes) {
  auto embedded = Registry::Init(tmp_.path() / "embedded", Owner());
  REGFS_ASSERT_OK(embedded);
  auto listener = (*embedded)->ListenToOtherNodes([](uint64_t) {});
  REGFS_ASSERT_OK(listener);
  EXPECT_EQ(*listener, nullptr);
}

TEST_F(NodeChangesTest, AnUnreachableDatabaseIsAnErrorAtStart) {
  auto listener = NodeChangeListener::Start(
      "host=/nonexistent-socket-dir dbname=regfs connect_timeout=2",
      [](uint64_t) {});
  EXPECT_EQ(CodeOf(listener), Code::kIoError);
}

}  // namespace
}  // namespace regfs::registry::testing
