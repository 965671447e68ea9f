// regfs_bench_moves: alias moves per second, as the syscall pair a tool
// makes (symlink to a temporary name, rename over the alias), against the
// floor any durable move pays: a bare SQLite transaction that updates one
// row and inserts one history row, in WAL mode with synchronous=FULL, on
// the same disk.
//
//   regfs_bench_moves --alias=LABEL=PATH... --sqlite=DB [--concurrent=N]
//                     [--ceiling=LABEL=PATH...] [benchmark flags]
//   regfs_bench_moves --sqlite=DB --serve
//
// Storage latency on a shared disk changes from one second to the next, so
// the variants are measured in lockstep: every iteration makes one move in
// each (rotating which goes first) and times each move apart; a
// variant's rate is its moves over the time spent in its moves.
//
// Each PATH is a symlink (an alias) in a directory that holds v0 and v1;
// every iteration points it at the other one, so each move is a real
// change (and, through a regfs mount, one alias.move history row). The
// temporary name starts with '.', which the mount always stages
// (fs/staging.h).
//
// With --concurrent=N a second benchmark runs N threads at once on each
// variant in turn, each thread moving an alias in a directory of its own:
// for PATH = DIR/NAME, thread t moves DIR-t/NAME (created by its first
// move; DIR-t must hold v0 and v1). Through a mount each directory is a
// collection: the kernel lets one symlink or rename at a time into a
// directory, so movers in one collection reach the daemon one by one and
// only moves in different collections can share a commit. For SQLite:
// N connections to one database, one row each, taking turns. Moves per
// second of wall time. The daemon batches concurrent moves into one
// commit (Registry::GetBatchStats); the N SQLite movers pay one sync per
// move.
//
// A --ceiling variant makes the pair on PATH (through libfuse's
// passthrough_ll, say: no durability, no checks) and then one bare SQLite
// move (on DB.ceiling-I, a database of its own): the ceiling of a durable
// move through FUSE on this machine, which no FUSE file system can pass.
//
// With --serve it runs no benchmark: for every line read on stdin it
// makes one bare SQLite move and answers a line ("ok", or the error). The
// shell loop of `ln -sfn` in tests/bench/run.sh drives it as a coprocess
// to time the ceiling of a move made by a process: a tmpfs `ln -sfn` plus
// one durable transaction, each round next to the mount's `ln -sfn`.
//
// The SQLite baseline is the one place outside registry/ with SQL: it is
// what the registry would pay if it did nothing but its one transaction.
// Its tables are the registry's (sql::schema::Migrate), with their
// indexes.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <thread>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "registry/sql/schema.h"
#include "registry/sql/sqlite.h"
#include "tests/bench/bench_util.h"

namespace regfs::bench {
namespace {

// The connection's settings and the one alias row the movers move; the
// tables are the registry's own (CreateRegistrySchema).
constexpr const char* kSetup = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
INSERT INTO aliases VALUES (1, 1, 'a', 1, 0, 0, 0, 'root');
)sql";

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "regfs_bench_moves: %s\n", message.c_str());
  std::exit(1);
}

// The registry's schema (sql::schema::Migrate) in a new database at
// `path`: the baseline writes the tables and indexes the registry does.
void CreateRegistrySchema(const std::string& path) {
  auto db = registry::sql::SqliteConnection::Open(path, /*create=*/true);
  if (!db) Die(path + ": " + db.error().message);
  if (auto migrated = registry::sql::schema::Migrate(**db); !migrated) {
    Die(path + ": " + migrated.error().message);
  }
}

// One way of making a durable (or, on tmpfs, not durable) alias move.
class Mover {
 public:
  virtual ~Mover() = default;
  // Empty, or an error message.
  virtual std::string Move() = 0;
};

// symlink(target, DIR/.bench-move) + rename over the alias DIR/NAME,
// alternating the target between v0 and v1 so that every move is a change.
class DirMover final : public Mover {
 public:
  explicit DirMover(const std::string& alias)
      : temp_(std::filesystem::path(alias).parent_path() / ".bench-move"),
        alias_(alias) {
    char now[16] = {};
    if (::readlink(alias_.c_str(), now, sizeof(now) - 1) > 0 &&
        std::string_view(now) == "v0") {
      next_ = 1;
    }
  }
  std::string Move() override {
    const char* target = (next_++ % 2) ? "v1" : "v0";
    if (::symlink(target, temp_.c_str()) != 0) {
      return temp_ + ": " + std::strerror(errno);
    }
    if (::rename(temp_.c_str(), alias_.c_str()) != 0) {
      const std::string message = alias_ + ": " + std::strerror(errno);
      ::unlink(temp_.c_str());
      return message;
    }
    return "";
  }

 private:
  std::string temp_;
  std::string alias_;
  int64_t next_ = 0;
};

// One connection and its three prepared statements; finalizes them.
class SqliteMover final : public Mover {
 public:
  // A new database at `path` with alias row 1, or (row > 1) one more
  // connection to it that moves row `row`, added if missing.
  explicit SqliteMover(const std::string& path, int64_t row = 1) : row_(row) {
    if (row == 1) {
      ::unlink(path.c_str());
      ::unlink((path + "-wal").c_str());
      ::unlink((path + "-shm").c_str());
      CreateRegistrySchema(path);
    }
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) Die(Error("open"));
    if (row == 1) {
      Exec(kSetup);
    } else {
      Exec("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 60000;");
      const std::string add =
          "INSERT OR IGNORE INTO aliases VALUES (" + std::to_string(row) +
          ", 1, 'a" + std::to_string(row) + "', 1, 0, 0, 0, 'root')";
      Exec(add.c_str());
    }
    Prepare(
        "INSERT INTO history (time_ms, event, collection, alias, "
        "old_version, new_version, uid, user, interface, detail) "
        "VALUES (?1, 'alias.move', 'moves', 'a', ?2, ?3, 0, 'root', "
        "'fs', '{}')",
        &insert_);
    Prepare(
        "UPDATE aliases SET version_id = ?1, revision = ?2, "
        "updated_ms = ?3, updated_uid = 0, updated_by = 'root' "
        "WHERE id = ?4",
        &update_);
  }
  SqliteMover(const SqliteMover&) = delete;
  SqliteMover& operator=(const SqliteMover&) = delete;
  ~SqliteMover() {
    sqlite3_finalize(insert_);
    sqlite3_finalize(update_);
    sqlite3_close(db_);
  }

  // One durable move: BEGIN IMMEDIATE, insert, update, COMMIT. Movers in
  // one process take turns (a mutex, not SQLite's sleeping busy handler),
  // so N of them at once pay exactly one sync per move.
  std::string Move() override {
    static std::mutex turn;
    std::lock_guard lock(turn);
    const int64_t n = n_++;
    if (!Try("BEGIN IMMEDIATE")) return Error("BEGIN");
    sqlite3_bind_int64(insert_, 1, n);
    sqlite3_bind_int64(insert_, 2, n % 2);
    sqlite3_bind_int64(insert_, 3, (n + 1) % 2);
    const bool inserted = StepOk(insert_);
    sqlite3_bind_int64(update_, 1, (n + 1) % 2);
    sqlite3_bind_int64(update_, 2, sqlite3_last_insert_rowid(db_));
    sqlite3_bind_int64(update_, 3, n);
    sqlite3_bind_int64(update_, 4, row_);
    if (!inserted || !StepOk(update_) || !Try("COMMIT")) {
      const std::string error = Error("move");
      Try("ROLLBACK");
      return error;
    }
    return "";
  }

 private:
  std::string Error(std::string_view what) const {
    return std::string(what) + ": " + sqlite3_errmsg(db_);
  }
  void Exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      Die(Error(sql));
    }
  }
  void Prepare(const char* sql, sqlite3_stmt** stmt) {
    if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) {
      Die(Error(sql));
    }
  }
  bool Try(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  bool StepOk(sqlite3_stmt* stmt) {
    const bool done = sqlite3_step(stmt) == SQLITE_DONE;
    sqlite3_reset(stmt);
    return done;
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
  int64_t row_ = 1;
  int64_t n_ = 0;
};

// A move on a path and then a bare durable transaction: a ceiling.
class CeilingMover final : public Mover {
 public:
  CeilingMover(const std::string& alias, const std::string& sqlite_path)
      : path_(alias), txn_(sqlite_path) {}
  std::string Move() override {
    std::string error = path_.Move();
    if (error.empty()) error = txn_.Move();
    return error;
  }

 private:
  DirMover path_;
  SqliteMover txn_;
};

struct Labeled {
  std::string label;
  std::unique_ptr<Mover> mover;
};

void Lockstep(benchmark::State& state, std::vector<Labeled>* movers) {
  const size_t n = movers->size();
  std::vector<double> seconds(n, 0.0);
  size_t round = 0;
  for (auto _ : state) {
    for (size_t k = 0; k < n; ++k) {
      const size_t i = (k + round) % n;
      const auto start = Clock::now();
      const std::string error = (*movers)[i].mover->Move();
      seconds[i] += SecondsSince(start);
      if (!error.empty()) {
        state.SkipWithError(error.c_str());
        return;
      }
    }
    ++round;
  }
  for (size_t i = 0; i < n; ++i) {
    state.counters["rate:" + (*movers)[i].label] =
        static_cast<double>(state.iterations()) / seconds[i];
  }
}

// One variant's movers for the concurrent benchmark: one per thread.
struct Group {
  std::string label;
  std::vector<std::unique_ptr<Mover>> movers;
};

// Every iteration runs each group in turn (rotating which goes first):
// all its threads make `per_thread` moves at once; the group's rate is
// its moves over the wall time its rounds took.
void Concurrent(benchmark::State& state, std::vector<Group>* groups,
                int per_thread) {
  const size_t n = groups->size();
  std::vector<double> seconds(n, 0.0);
  size_t round = 0;
  std::string error;
  for (auto _ : state) {
    for (size_t k = 0; k < n; ++k) {
      Group& group = (*groups)[(k + round) % n];
      std::vector<std::string> errors(group.movers.size());
      std::vector<std::thread> threads;
      const auto start = Clock::now();
      for (size_t t = 0; t < group.movers.size(); ++t) {
        threads.emplace_back([&, t] {
          for (int m = 0; m < per_thread && errors[t].empty(); ++m) {
            errors[t] = group.movers[t]->Move();
          }
        });
      }
      for (auto& thread : threads) thread.join();
      seconds[(k + round) % n] += SecondsSince(start);
      for (const std::string& e : errors) {
        if (!e.empty()) error = e;
      }
      if (!error.empty()) {
        state.SkipWithError(error.c_str());
        return;
      }
    }
    ++round;
  }
  for (size_t i = 0; i < n; ++i) {
    const double moves = static_cast<double>(state.iterations()) *
                         static_cast<double>((*groups)[i].movers.size()) *
                         per_thread;
    state.counters["rate:" + (*groups)[i].label] = moves / seconds[i];
  }
}

}  // namespace
}  // namespace regfs::bench

// --serve: one bare move per line of stdin, one line of answer each.
int Serve(const std::string& sqlite_path) {
  regfs::bench::SqliteMover mover(sqlite_path);
  for (int c; (c = std::getchar()) != EOF;) {
    if (c != '\n') continue;
    const std::string error = mover.Move();
    std::printf("%s\n", error.empty() ? "ok" : error.c_str());
    std::fflush(stdout);
  }
  return 0;
}

int main(int argc, char** argv) {
  using namespace regfs::bench;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--serve") continue;
    for (int j = 1; j < argc; ++j) {
      if (std::string_view(argv[j]).starts_with("--sqlite=")) {
        return Serve(std::string(argv[j] + 9));
      }
    }
    std::fprintf(stderr, "regfs_bench_moves: --serve needs --sqlite=DB\n");
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  static std::vector<Labeled> movers;
  std::vector<std::pair<std::string, std::string>> aliases;
  std::string sqlite_path;
  std::vector<std::pair<std::string, std::string>> ceilings;
  int concurrent = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--alias=")) {
      auto [label, alias] = SplitLabel(arg.substr(8));
      aliases.emplace_back(label, alias);
      movers.push_back({label, std::make_unique<DirMover>(alias)});
    } else if (arg.starts_with("--ceiling=")) {
      ceilings.push_back(SplitLabel(arg.substr(10)));
    } else if (arg.starts_with("--sqlite=")) {
      sqlite_path = std::string(arg.substr(9));
      movers.push_back({"bare SQLite txn",
                        std::make_unique<SqliteMover>(sqlite_path)});
    } else if (arg.starts_with("--concurrent=")) {
      concurrent = std::atoi(std::string(arg.substr(13)).c_str());
      if (concurrent < 1) {
        std::fprintf(stderr, "regfs_bench_moves: bad %s\n", argv[i]);
        return 2;
      }
    } else {
      std::fprintf(stderr, "regfs_bench_moves: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (!ceilings.empty() && sqlite_path.empty()) {
    std::fprintf(stderr, "regfs_bench_moves: --ceiling needs --sqlite=DB\n");
    return 2;
  }
  for (size_t i = 0; i < ceilings.size(); ++i) {
    movers.push_back({ceilings[i].first,
                      std::make_unique<CeilingMover>(
                          ceilings[i].second,
                          sqlite_path + ".ceiling-" + std::to_string(i))});
  }
  benchmark::RegisterBenchmark(
      "alias move, one history row (in lockstep):all",
      [](benchmark::State& s) { Lockstep(s, &movers); })
      ->UseRealTime();
  static std::vector<Group> groups;
  if (concurrent > 0) {
    for (const auto& [label, alias] : aliases) {
      Group group{label, {}};
      const std::filesystem::path path(alias);
      for (int t = 0; t < concurrent; ++t) {
        const std::filesystem::path own =
            path.parent_path().string() + "-" + std::to_string(t);
        group.movers.push_back(
            std::make_unique<DirMover>((own / path.filename()).string()));
      }
      groups.push_back(std::move(group));
    }
    if (!sqlite_path.empty()) {
      Group group{"bare SQLite txn", {}};
      for (int t = 0; t < concurrent; ++t) {
        group.movers.push_back(
            std::make_unique<SqliteMover>(sqlite_path, 2 + t));
      }
      groups.push_back(std::move(group));
    }
    benchmark::RegisterBenchmark(
        ("alias moves, " + std::to_string(concurrent) +
         " concurrent movers:all")
            .c_str(),
        [](benchmark::State& s) { Concurrent(s, &groups, 20); })
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
