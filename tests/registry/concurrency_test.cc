// Several processes, and several threads on one Registry, changing one
// store at once: nothing is lost, every push gets its own number, every
// move is recorded, the history has no gap, and nobody sees "database is
// locked".
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
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
using testing::User;
using testing::WriteFile;

constexpr int kWorkers = 4;
constexpr int kRounds = 8;

// What one worker did, as lines "push N", "move ALIAS N", "error TEXT".
struct Log {
  std::vector<uint64_t> pushed;
  int moves = 0;
  std::vector<std::string> errors;
};

// One worker: pushes distinct contents to `models`, moves its own alias
// and the shared `hot` alias to each new version. Every move names a new
// version, so every move must be recorded.
Log Work(Registry& reg, const Identity& who, int worker, const fs::path& src) {
  Log log;
  for (int round = 0; round < kRounds; ++round) {
    PushRequest r;
    r.collection = "models";
    r.paths = {src /
               ("w" + std::to_string(worker) + "-" + std::to_string(round))};
    auto v = reg.Push(who, r);
    if (!v) {
      log.errors.push_back("push: " + Describe(v));
      continue;
    }
    log.pushed.push_back(v->number);
    const std::string target = "v" + std::to_string(v->number);
    for (const std::string& alias :
         {"mine-" + std::to_string(worker), std::string("hot")}) {
      auto moved = reg.SetAlias(who, "models", alias, target);
      if (moved) {
        ++log.moves;
      } else {
        log.errors.push_back("move " + alias + ": " + Describe(moved));
      }
    }
    // Reads in between must not fail either.
    if (auto l = reg.ListAliases("models"); !l) {
      log.errors.push_back("list: " + Describe(l));
    }
  }
  return log;
}

class ConcurrencyTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    REGFS_ASSERT_OK(reg().Grant(Owner(), "20002", Role::kMember));
    for (int w = 0; w < kWorkers; ++w) {
      for (int r = 0; r < kRounds; ++r) {
        WriteFile(
            src() / ("w" + std::to_string(w) + "-" + std::to_string(r)),
            "worker " + std::to_string(w) + " round " + std::to_string(r));
      }
    }
    base_seq_ = Seq();
  }

  // Checks the store after all workers finished.
  void CheckOutcome(const std::vector<Log>& logs) {
    std::multiset<uint64_t> numbers;
    int moves = 0;
    for (const Log& log : logs) {
      for (const std::string& e : log.errors) ADD_FAILURE() << e;
      numbers.insert(log.pushed.begin(), log.pushed.end());
      moves += log.moves;
    }
    const size_t pushes = kWorkers * kRounds;
    ASSERT_EQ(numbers.size(), pushes);
    std::set<uint64_t> distinct(numbers.begin(), numbers.end());
    EXPECT_EQ(distinct.size(), pushes) << "every push got its own number";
    EXPECT_EQ(*distinct.begin(), 0u);
    EXPECT_EQ(*distinct.rbegin(), pushes - 1);

    auto versions = reg().ListVersions("models");
    REGFS_ASSERT_OK(versions);
    EXPECT_EQ(versions->size(), pushes);
    auto latest = reg().Resolve("models", "latest");
    REGFS_ASSERT_OK(latest);
    EXPECT_EQ(latest->number, pushes - 1);

    const std::vector<Event> events = AllEvents();
    for (size_t i = 0; i < events.size(); ++i) {
      ASSERT_EQ(events[i].seq, i + 1) << "the history has no gap";
    }
    std::map<EventType, int> counts;
    for (const Event& e : events) {
      if (e.seq > base_seq_) ++counts[e.type];
    }
    EXPECT_EQ(counts[EventType::kVersionCreate], static_cast<int>(pushes));
    EXPECT_EQ(counts[EventType::kAliasCreate] + counts[EventType::kAliasMove],
              moves)
        << "every move recorded";
    EXPECT_EQ(counts[EventType::kAliasCreate], kWorkers + 1)
        << "mine-0..3 and hot";
    EXPECT_LE(counts[EventType::kCollectionCreate], 1);

    // Each worker's alias names that worker's last push.
    for (int w = 0; w < kWorkers; ++w) {
      auto mine = reg().GetAlias("models", "mine-" + std::to_string(w));
      REGFS_ASSERT_OK(mine);
      if (!logs[w].pushed.empty()) {
        EXPECT_EQ(mine->version, logs[w].pushed.back());
      }
    }
    auto fsck = reg().Fsck();
    REGFS_ASSERT_OK(fsck);
    EXPECT_TRUE(fsck->clean()) << ::testing::PrintToString(fsck->problems);
  }

  uint64_t base_seq_ = 0;
};

TEST_F(ConcurrencyTest, ProcessesLoseNothing) {
  registry_.reset();  // no SQLite connection crosses a fork
  std::vector<pid_t> children;
  const fs::path out = tmp_->path() / "logs";
  fs::create_directories(out);
  for (int w = 0; w < kWorkers; ++w) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child: its own connection, its own log file; no gtest here.
      std::ofstream log_file(out / std::to_string(w));
      auto reg = Registry::Open(store());
      if (!reg) {
        log_file << "error open: " << Describe(reg) << "\n";
        log_file.close();
        ::_exit(1);
      }
      const Identity who = w % 2 == 0 ? Owner() : User(20002);
      const Log log = Work(**reg, who, w, src());
      for (uint64_t n : log.pushed) log_file << "push " << n << "\n";
      log_file << "moves " << log.moves << "\n";
      for (const auto& e : log.errors) log_file << "error " << e << "\n";
      log_file.close();
      reg->reset();
      ::_exit(log.errors.empty() ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status)) << "child " << pid << " crashed";
  }
  std::vector<Log> logs(kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    std::ifstream in(out / std::to_string(w));
    std::string word;
    while (in >> word) {
      if (word == "push") {
        uint64_t n;
        in >> n;
        logs[w].pushed.push_back(n);
      } else if (word == "moves") {
        in >> logs[w].moves;
      } else {
        std::string rest;
        std::getline(in, rest);
        logs[w].errors.push_back("worker " + std::to_string(w) + ": " + word +
                                 rest);
      }
    }
  }
  Reopen();
  CheckOutcome(logs);
}

TEST_F(ConcurrencyTest, ThreadsOnOneRegistryLoseNothing) {
  std::vector<Log> logs(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      logs[w] = Work(reg(), w % 2 == 0 ? Owner() : User(20002), w, src());
    });
  }
  for (auto& t : threads) t.join();
  CheckOutcome(logs);
}

TEST_F(ConcurrencyTest, TwoRegistriesInOneProcess) {
  // Two connections to one store (as the daemon and the CLI would have).
  auto second = Registry::Open(store());
  REGFS_ASSERT_OK(second);
  std::vector<Log> logs(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    Registry& r = w % 2 == 0 ? reg() : **second;
    threads.emplace_back([&, w] { logs[w] = Work(r, Owner(), w, src()); });
  }
  for (auto& t : threads) t.join();
  CheckOutcome(logs);
}

TEST_F(ConcurrencyTest, CompareAndSwapHasExactlyOneWinner) {
  for (int i = 0; i < kWorkers + 1; ++i) {
    REGFS_ASSERT_OK(PushContent(Owner(), "cas", "c" + std::to_string(i)));
  }
  REGFS_ASSERT_OK(reg().CreateAlias(Owner(), "cas", "prod", "v0"));
  std::atomic<int> wins = 0, conflicts = 0;
  std::vector<std::string> others(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      auto r =
          reg().SetAlias(Owner(), "cas", "prod", "v" + std::to_string(w + 1),
                         std::optional<uint64_t>(0));
      if (r) {
        ++wins;
      } else if (r.error().code == Code::kConflict) {
        ++conflicts;
      } else {
        others[w] = Describe(r);
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& o : others) EXPECT_TRUE(o.empty()) << o;
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, kWorkers - 1);
}

// Moves from many threads are committed in groups: each call returns after
// its group's commit, nothing is lost or reordered, and fewer commits than
// moves were made.
TEST_F(ConcurrencyTest, ConcurrentMovesShareCommits) {
  constexpr int kThreads = 16;
  constexpr int kMoves = 150;
  for (int i = 0; i < 3; ++i) {
    REGFS_ASSERT_OK(PushContent(Owner(), "gc", "g" + std::to_string(i)));
  }
  const uint64_t before = AllEvents().back().seq;
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int m = 0; m < kMoves; ++m) {
        // Alternating targets: every move changes the alias.
        const std::string alias =
            m % 2 == 0 ? "own-" + std::to_string(t) : "shared";
        auto r = reg().SetAlias(Owner(), "gc", alias,
                                "v" + std::to_string((m / 2 + t) % 3));
        if (!r) {
          errors[t] = Describe(r);
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors) ASSERT_TRUE(e.empty()) << e;
  const Registry::BatchStats stats = reg().GetBatchStats();
  EXPECT_EQ(stats.moves, uint64_t{kThreads} * kMoves);
  EXPECT_LT(stats.commits, stats.moves) << "no two moves shared a commit";
  EXPECT_LE(stats.largest, 64u);

  // What was acknowledged is on disk: the aliases as the last events say.
  Reopen();
  std::map<std::string, uint64_t> last;
  uint64_t seq = before;
  for (const Event& e : AllEvents()) {
    if (e.seq <= before) continue;
    EXPECT_EQ(e.seq, ++seq) << "a gap in the history";
    if (e.type == EventType::kAliasMove || e.type == EventType::kAliasCreate) {
      ASSERT_TRUE(e.new_version.has_value());
      last[e.alias] = *e.new_version;
    }
  }
  EXPECT_EQ(last.size(), size_t{kThreads} + 1);
  for (const auto& [alias, number] : last) {
    auto now = reg().GetAlias("gc", alias);
    REGFS_ASSERT_OK(now);
    EXPECT_EQ(now->version, number) << alias;
  }
}

TEST_F(ConcurrencyTest, CreateCollectionRaceHasOneWinner) {
  std::atomic<int> made = 0, exists = 0;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&] {
      auto r = reg().CreateCollection(Owner(), "contested");
      if (r) {
        ++made;
      } else if (r.error().code == Code::kAlreadyExists) {
        ++exists;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(made, 1);
  EXPECT_EQ(exists, kWorkers - 1);
}

TEST_F(ConcurrencyTest, GcDuringPushesKeepsEveryCommittedBlob) {
  std::atomic<bool> stop = false;
  std::vector<std::string> gc_errors;
  std::thread collector([&] {
    while (!stop) {
      auto g = reg().Gc(Owner());
      if (!g) gc_errors.push_back(Describe(g));
    }
  });
  std::vector<Log> logs(kWorkers);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] { logs[w] = Work(reg(), Owner(), w, src()); });
  }
  for (auto& t : threads) t.join();
  stop = true;
  collector.join();
  for (const auto& e : gc_errors) ADD_FAILURE() << "gc: " << e;
  CheckOutcome(logs);
}

TEST_F(ConcurrencyTest, FsckDuringDeleteAndGcReportsNoFalseProblems) {
  // A clean store stays clean to fsck while versions are deleted and their
  // blobs collected: fsck must not report a blob that was removed
  // legitimately as missing. Many live blobs make fsck's hashing long.
  for (int i = 0; i < 150; ++i) {
    REGFS_ASSERT_OK(PushContent(
        Owner(), "bulk", std::string(20000, 'a' + i % 26) + std::to_string(i)));
  }
  std::atomic<bool> stop = false;
  std::vector<std::string> churn_errors;
  std::thread churn([&] {
    for (int i = 0; i < 60; ++i) {
      auto v = PushContent(Owner(), "churn", "churn " + std::to_string(i));
      if (!v) {
        churn_errors.push_back(Describe(v));
        continue;
      }
      if (auto d = reg().DeleteVersion(Owner(), "churn", v->number); !d) {
        churn_errors.push_back(Describe(d));
      }
      if (auto g = reg().Gc(Owner()); !g) churn_errors.push_back(Describe(g));
    }
    stop = true;
  });
  std::vector<std::string> problems;
  int runs = 0;
  while (!stop) {
    auto report = reg().Fsck();
    ++runs;
    if (!report) {
      problems.push_back(Describe(report));
    } else {
      problems.insert(problems.end(), report->problems.begin(),
                      report->problems.end());
    }
  }
  churn.join();
  for (const auto& e : churn_errors) ADD_FAILURE() << "churn: " << e;
  EXPECT_TRUE(problems.empty())
      << runs << " fsck runs; problems: " << ::testing::PrintToString(problems);
}

}  // namespace
}  // namespace regfs::registry
