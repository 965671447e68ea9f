// Hostile users (issue #11): the daemon attacked as a member of the store
// would attack it, while other users work -- not only name validation.
//  1. a flood of staged dot-names until EDQUOT, retried for seconds, while
//     a second member and an admin move their aliases with `ln -sf`;
//  2. two members racing on one alias, the attacker also hammering a
//     protected alias and names that differ from reserved ones only by case;
//  3. odd names and symlink targets (absolute paths out of the mount,
//     '..', 4095 bytes, control characters, case twins, an "Cu" name);
//  4. `regfs push` of a file that the attacker appends to and truncates;
//  5. a blob corrupted under four readers of different users.
// Each asserts what the victims rely on: their changes succeed and are
// recorded once, the history is one chain, refusals carry the errno of
// DESIGN.md's table and change nothing, no version is torn or wrong.
#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fs/staging.h"
#include "registry/hasher.h"
#include "registry/names.h"
#include "tests/fs/mount_fixture.h"
#include "tests/reliability/reliability_util.h"

namespace regfs::reliability {
namespace {

using namespace std::chrono_literals;
using fs::testing::kAdmin;
using fs::testing::kMember;
using fs::testing::kViewer;
using fs::testing::Mount;
using fs::testing::MountTest;
using fs::testing::ReadFile;
using fs::testing::WriteFile;
using registry::Event;
using registry::EventType;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

const User& kAttacker = kMember;             // member 20001
const User kSecondMember{20011, 20011, {}};  // member, a victim
const User kSecondViewer{20012, 20012, {}};  // viewer, a reader

std::string Errno(int err) {
  return err == 0
             ? "success"
             : fmt::format("{} ({})", strerrorname_np(err), std::strerror(err));
}

std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s.substr(0, 60)) {
    out += (c < 0x20 || c >= 0x7f) ? fmt::format("\\x{:02x}", c)
                                   : std::string(1, static_cast<char>(c));
  }
  if (s.size() > 60) out += fmt::format("...({} bytes)", s.size());
  return out;
}

int Symlink(const std::string& target, const stdfs::path& path) {
  return ::symlink(target.c_str(), path.c_str()) == 0 ? 0 : errno;
}

// Reads a whole file; *error is 0 or the errno of the open or a read.
std::string ReadAll(const stdfs::path& path, int* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = errno;
    return {};
  }
  std::string out;
  std::string buf(1 << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = errno;
      ::close(fd);
      return {};
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  *error = 0;
  return out;
}

std::string Join(const std::vector<std::string>& rows) {
  std::string out;
  for (const auto& r : rows) out += r + "\n";
  return out;
}

// Writes `stop` and reaps the workers if the test returns before it does
// so itself (a failed ASSERT), so that no worker outlives its test.
class StopAndReap final {
 public:
  StopAndReap(stdfs::path stop, std::vector<pid_t> pids)
      : stop_(std::move(stop)), pids_(std::move(pids)) {}
  StopAndReap(const StopAndReap&) = delete;
  StopAndReap& operator=(const StopAndReap&) = delete;
  ~StopAndReap() {
    if (pids_.empty()) return;
    WriteFile(stop_, "");
    std::string hung;
    WaitAll(pids_, 60s, &hung);
  }
  // The test stops and reaps them itself.
  void Release() { pids_.clear(); }

 private:
  const stdfs::path stop_;
  std::vector<pid_t> pids_;
};

class HostileUsersTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(
        reg().Grant(root(), kSecondMember.name(), registry::Role::kMember));
    ASSERT_TRUE(
        reg().Grant(root(), kSecondViewer.name(), registry::Role::kViewer));
    out_ = dir_ / "out";  // the workers' records; any uid writes here
    stdfs::create_directories(out_);
    ASSERT_EQ(::chmod(out_.c_str(), 0777), 0);
  }

  ExecResult Regfs(std::vector<std::string> args) {
    std::vector<std::string> argv = {REGFS_BINARY, "--store", store_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, std::chrono::seconds(120));
  }

  // Remounts with staged symlinks waiting `ms` instead of 10 s / 30 s.
  void Remount(std::vector<std::string> extra = {}) {
    ASSERT_EQ(mount_->Stop(), 0);
    mount_ = std::make_unique<Mount>(store_, mnt_, dir_ / "mount.log", extra);
    ASSERT_TRUE(mount_->Start());
  }

  // Every event after `seq`, one line each, for failure messages.
  std::string Rows(uint64_t seq) {
    std::vector<std::string> rows;
    for (const auto& e : EventsAfter(seq)) rows.push_back(Describe(e));
    return Join(rows);
  }

  stdfs::path out_;
};

// ---- 1. Flood vs. others ----------------------------------------------------

TEST_F(HostileUsersTest, StagingFloodRefusesOnlyTheFlooderWhileOthersMove) {
  ASSERT_TRUE(reg().CreateAlias(root(), "models", "second", "v0"));
  ASSERT_TRUE(reg().CreateAlias(root(), "models", "admins", "v0"));
  const uint64_t start = LastSeq();
  const stdfs::path flooded = out_ / "flooded";  // the attacker is at EDQUOT
  const stdfs::path stop = dir_ / "stop";

  // The attacker: floods two collections with dot-named symlinks until
  // EDQUOT, keeps trying for as long as the victims move (at least 2 s),
  // then removes its entries and stages one again.
  const pid_t attacker = ForkAs(kAttacker, [&] {
    JsonLinesWriter out(out_ / "attacker.jsonl");
    std::vector<stdfs::path> mine;
    std::map<std::string, int> errors;  // errno name -> count
    int staged = 0, retries = 0;
    for (const char* collection : {"models", "zoo"}) {
      for (size_t i = 0; i <= 2 * fs::Staging::kMaxStagedPerUser; ++i) {
        const stdfs::path link = M(collection) / fmt::format(".flood-{}", i);
        const int err = Symlink("v0", link);
        if (err == 0) {
          mine.push_back(link);
          ++staged;
          continue;
        }
        ++errors[Errno(err)];
        break;
      }
    }
    WriteFile(flooded, "");
    const auto started = Clock::now();
    for (int i = 0; (!stdfs::exists(stop) || Clock::now() - started < 2s) &&
                    Clock::now() - started < 30s;
         ++i) {
      const stdfs::path link =
          M(i % 2 == 0 ? "models" : "zoo") / fmt::format(".again-{}", i);
      const int err = Symlink("v0", link);
      if (err == 0) mine.push_back(link);
      ++errors[Errno(err)];
      ++retries;
      std::this_thread::sleep_for(1ms);
    }
    const auto retried = Clock::now();
    int unlink_failures = 0;
    for (const stdfs::path& link : mine) {
      if (::unlink(link.c_str()) != 0) ++unlink_failures;
    }
    const int again = Symlink("v1", M("models/.after"));
    const int again_unlinked =
        again == 0 ? (::unlink(M("models/.after").c_str()) == 0 ? 0 : errno)
                   : -1;
    out.Append(
        {{"staged", staged},
         {"retries", retries},
         {"errors", errors},
         {"unlink_failures", unlink_failures},
         {"again", Errno(again)},
         {"again_unlinked", again_unlinked},
         {"retry_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                          retried - started)
                          .count()},
         {"cleanup_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                            Clock::now() - retried)
                            .count()}});
    return 0;
  });

  // The victims: 20 moves each with the real `ln`, as themselves.
  auto victim = [&](const User& user, const std::string& alias) {
    return ForkAs(user, [&, alias] {
      JsonLinesWriter out(out_ / (alias + ".jsonl"));
      const auto deadline = Clock::now() + 20s;
      while (!stdfs::exists(flooded)) {
        if (Clock::now() > deadline) return 1;  // the flood never ended
        std::this_thread::sleep_for(5ms);
      }
      for (int j = 0; j < 20; ++j) {
        const std::string target = registry::VersionName(1 + j % 2);
        const auto t0 = Clock::now();
        const ExecResult r = Exec({"ln", j % 2 == 0 ? "-sf" : "-sfn", target,
                                   M("models/" + alias).string()},
                                  std::chrono::seconds(30));
        out.Append(
            {{"to", target},
             {"exit", r.exit_code},
             {"err", r.err},
             {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                        Clock::now() - t0)
                        .count()}});
      }
      return 0;
    });
  };
  const pid_t second = victim(kSecondMember, "second");
  const pid_t admin = victim(kAdmin, "admins");
  std::string hung;
  const auto victims = WaitAll({second, admin}, 120s, &hung);
  WriteFile(stop, "");
  const auto attack = WaitAll({attacker}, 120s, &hung);
  ASSERT_EQ(hung, "");
  ASSERT_EQ(victims, (std::vector<int>{0, 0}));
  ASSERT_EQ(attack, std::vector<int>{0});

  // The attacker got exactly its own bound, then only EDQUOT.
  const auto records = ReadJsonLines(out_ / "attacker.jsonl");
  ASSERT_EQ(records.size(), 1u);
  const auto& a = records[0];
  std::printf("[ hostile ] attacker: %s\n", a.dump().c_str());
  EXPECT_EQ(a["staged"].get<size_t>(), fs::Staging::kMaxStagedPerUser);
  ASSERT_EQ(a["errors"].size(), 1u) << a.dump();
  EXPECT_EQ(a["errors"].begin().key(), Errno(EDQUOT)) << a.dump();
  EXPECT_EQ(
      a["errors"].begin().value().get<int>(),
      a["retries"].get<int>() + 2)  // + the first refusal in each collection
      << a.dump();
  EXPECT_GT(a["retries"].get<int>(), 20) << a.dump();
  EXPECT_EQ(a["unlink_failures"].get<int>(), 0);
  EXPECT_EQ(a["again"], Errno(0))
      << "the attacker cannot stage after cleaning up";
  EXPECT_EQ(a["again_unlinked"].get<int>(), 0);

  // Every victim's move succeeded and is exactly one alias.move by them.
  for (const auto& [user, alias] : std::vector<std::pair<User, std::string>>{
           {kSecondMember, "second"}, {kAdmin, "admins"}}) {
    SCOPED_TRACE(alias);
    const auto moves = ReadJsonLines(out_ / (alias + ".jsonl"));
    ASSERT_EQ(moves.size(), 20u);
    std::string ms;
    for (const auto& m : moves) {
      EXPECT_EQ(m["exit"].get<int>(), 0) << m["err"].get<std::string>();
      ms += " " + std::to_string(m["ms"].get<int>());
    }
    std::printf("[ hostile ] %s's moves (ms):%s\n", alias.c_str(), ms.c_str());
    const auto events = EventsOf(reg(), "models", alias, start);
    ASSERT_EQ(events.size(), 20u) << Rows(start);
    for (size_t j = 0; j < events.size(); ++j) {
      EXPECT_EQ(events[j].type, EventType::kAliasMove) << Describe(events[j]);
      EXPECT_EQ(events[j].uid, user.uid) << Describe(events[j]);
      EXPECT_EQ(V(events[j].new_version), moves[j]["to"].get<std::string>());
    }
  }
  // Nothing else: no event of the attacker's, no staged name listed.
  const auto all = EventsAfter(start);
  EXPECT_EQ(all.size(), 40u) << Rows(start);
  for (const auto& e : all) EXPECT_NE(e.uid, kAttacker.uid) << Describe(e);
  for (const char* collection : {"models", "zoo"}) {
    for (const auto& name : ListDir(M(collection))) {
      EXPECT_FALSE(name.starts_with(".flood") || name.starts_with(".again") ||
                   name.starts_with(".after"))
          << "a staged name is listed: " << collection << "/" << name;
    }
  }
  EXPECT_THAT(DaemonLog(), HasSubstr("(the per-user bound)"));
  EXPECT_TRUE(StoreIsClean(store_));
}

// ---- 2. Race between users on one alias
// ----------------------------------------

TEST_F(HostileUsersTest, RaceOnOneAliasKeepsOneChainAndProtectedNamesHold) {
  ASSERT_TRUE(reg().CreateAlias(root(), "models", "contested", "v0"));
  const uint64_t start = LastSeq();
  const auto protected_before = reg().GetAlias("models", "production");
  ASSERT_TRUE(protected_before.has_value());

  auto racer = [&](const User& user, const std::string& tag, bool hostile) {
    return ForkAs(user, [&, tag, hostile] {
      JsonLinesWriter out(out_ / (tag + ".jsonl"));
      Rng rng(hostile ? 0xBAD : 0x600D);
      for (int j = 0; j < 50; ++j) {
        const std::string target = registry::VersionName(rng.Below(3));
        const ExecResult r =
            Exec({"ln", "-sf", target, M("models/contested").string()},
                 std::chrono::seconds(30));
        out.Append({{"what", "move"},
                    {"to", target},
                    {"exit", r.exit_code},
                    {"err", r.err}});
        if (!hostile || j >= 20) continue;
        // The protected alias: by ln's own steps, and a staged rename.
        const ExecResult ln =
            Exec({"ln", "-sf", "v0", M("models/production").string()},
                 std::chrono::seconds(30));
        out.Append({{"what", "ln production"},
                    {"exit", ln.exit_code},
                    {"err", ln.err}});
        const stdfs::path tmp = M(fmt::format("models/.p{}", j));
        int err = Symlink("v2", tmp);
        if (err == 0) {
          err = ::rename(tmp.c_str(), M("models/production").c_str()) == 0
                    ? 0
                    : errno;
          ::unlink(tmp.c_str());
        }
        out.Append({{"what", "rename over production"}, {"errno", Errno(err)}});
        for (const char* name : {"Production", "PRODUCTION", "V1", "Latest"}) {
          out.Append({{"what", std::string("create ") + name},
                      {"errno", Errno(Symlink("v0", M("models") / name))}});
        }
      }
      return 0;
    });
  };
  std::string hung;
  const auto codes = WaitAll({racer(kAttacker, "attacker", true),
                              racer(kSecondMember, "second", false)},
                             180s, &hung);
  ASSERT_EQ(hung, "");
  ASSERT_EQ(codes, (std::vector<int>{0, 0}));

  // What each racer saw succeed, per target.
  std::map<uid_t, std::map<std::string, int>> ok;
  int protected_attempts = 0;
  for (const auto& [tag, user] : std::vector<std::pair<std::string, User>>{
           {"attacker", kAttacker}, {"second", kSecondMember}}) {
    for (const auto& r : ReadJsonLines(out_ / (tag + ".jsonl"))) {
      const std::string what = r["what"];
      if (what == "move") {
        EXPECT_EQ(r["exit"].get<int>(), 0)
            << tag << ": " << r["err"].get<std::string>();
        if (r["exit"].get<int>() == 0)
          ++ok[user.uid][r["to"].get<std::string>()];
      } else if (what == "ln production") {
        ++protected_attempts;
        EXPECT_NE(r["exit"].get<int>(), 0) << "a member moved production";
        EXPECT_THAT(r["err"].get<std::string>(),
                    HasSubstr("Operation not permitted"));
      } else if (what == "create V1" || what == "create Latest") {
        ++protected_attempts;
        // Reserved in any case: a bad name.
        EXPECT_EQ(r["errno"], Errno(EINVAL)) << what;
      } else {
        ++protected_attempts;
        EXPECT_EQ(r["errno"], Errno(EPERM)) << what;  // a protected name
      }
    }
  }
  EXPECT_EQ(protected_attempts, 20 * 6);

  // The contested alias: one chain, no no-op, nobody more events than moves.
  const auto events = EventsOf(reg(), "models", "contested", start);
  std::optional<uint64_t> now = 0;
  std::map<uid_t, std::map<std::string, int>> recorded;
  for (const auto& e : events) {
    ASSERT_EQ(e.type, EventType::kAliasMove) << Describe(e);
    ASSERT_EQ(e.old_version, now) << "the chain breaks at " << Describe(e);
    ASSERT_NE(e.old_version, e.new_version) << "a no-op move: " << Describe(e);
    now = e.new_version;
    ++recorded[e.uid][V(e.new_version)];
  }
  for (const auto& [uid, targets] : recorded) {
    for (const auto& [to, count] : targets) {
      EXPECT_LE(count, ok[uid][to])
          << "uid " << uid << " has " << count << " events to " << to;
    }
  }
  EXPECT_GE(recorded.size(), 1u);
  std::printf(
      "[ hostile ] contested: %zu moves recorded (attacker %d, second "
      "member %d)\n",
      events.size(),
      static_cast<int>(events.size()) -
          static_cast<int>(std::count_if(
              events.begin(), events.end(),
              [](const Event& e) { return e.uid == kSecondMember.uid; })),
      static_cast<int>(std::count_if(
          events.begin(), events.end(),
          [](const Event& e) { return e.uid == kSecondMember.uid; })));
  // Its last event is what the mount and the CLI show.
  EXPECT_EQ(AliasTarget("models", "contested"), V(now));
  std::error_code ec;
  EXPECT_EQ(stdfs::read_symlink(M("models/contested"), ec).string(), V(now));
  const ExecResult resolved = Regfs({"resolve", "models/contested"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.err;
  EXPECT_EQ(resolved.out.substr(0, resolved.out.find_first_of(" \n")), V(now))
      << resolved.out;

  // Nothing else in the history; production and the case twins untouched.
  for (const auto& e : EventsAfter(start)) {
    EXPECT_EQ(e.alias, "contested") << Describe(e);
  }
  auto production = reg().GetAlias("models", "production");
  ASSERT_TRUE(production.has_value());
  EXPECT_EQ(production->version, protected_before->version);
  for (const char* name : {"Production", "PRODUCTION", "V1", "Latest"}) {
    EXPECT_FALSE(reg().GetAlias("models", name).has_value()) << name;
  }
  const auto listed = ListDir(M("models"));
  for (const auto& name : listed) {
    EXPECT_FALSE(name.starts_with(".p") || name.starts_with("Cu")) << name;
  }
  EXPECT_TRUE(StoreIsClean(store_));
}

// ---- 3. Odd names and targets
// --------------------------------------------------

TEST_F(HostileUsersTest, OddNamesAndTargetsGetTheTablesErrno) {
  Remount({"-o", "staged_lifetime_ms=300"});
  if (HasFatalFailure()) return;
  const uint64_t start = LastSeq();
  const std::string mnt = mnt_.string();
  struct Case {
    std::string name;
    std::string target;
    int expected;
  };
  const std::vector<Case> cases = {
      // Absolute targets: only under this mount's own mount point.
      {"odd", "/etc/passwd", EINVAL},
      {"odd", "/elsewhere/models/v1", EINVAL},
      {"odd", mnt + "/../x/models/v1", EINVAL},
      {"odd", mnt + "/other/v1", EINVAL},
      {"odd", mnt + "/zoo/v0", EINVAL},  // another collection
      {"odd", mnt + "/models/../zoo/v0", EINVAL},
      // '..' anywhere.
      {"odd", "../zoo/v0", EINVAL},
      {"odd", "../../../../etc/shadow", EINVAL},
      {"odd", "v1/..", EINVAL},
      {"odd", "../models/../models/v1", EINVAL},
      // Very long.
      {"odd", std::string(4095, 'a'), EINVAL},
      {"odd", "../models/" + std::string(4085, 'v'), EINVAL},
      {"odd", "/" + std::string(4094, 'x'), EINVAL},
      // Control characters (no NUL: a C string cannot hold one).
      {"odd", "v1\x7f", EINVAL},
      {"odd", "v\t1", EINVAL},
      {"odd", "\x1b]0;owned\x07", EINVAL},
      {"odd", "v1\r", EINVAL},
      {"od\x1b[2Jd", "v1", EINVAL},
      {"od\x7f", "v1", EINVAL},
      // Names that differ from existing ones only by case.
      {"Candidate", "v2", EEXIST},
      {"CANDIDATE", "v2", EEXIST},
      {"Production", "v2", EPERM},  // protected in every spelling
      {"LATEST", "v2", EINVAL},     // reserved in any case: a bad name
      {"V2", "v2", EINVAL},
      {"V02", "v2", EINVAL},
  };
  for (const Case& c : cases) {
    const std::string what =
        "ln -s " + Printable(c.target) + " models/" + Printable(c.name);
    const uint64_t seq = LastSeq();
    const auto before = Snapshot(reg());
    const auto listed = ListDir(M("models"));
    const int got = fs::testing::AsUser(
        kAttacker, [&] { return Symlink(c.target, M("models") / c.name); });
    EXPECT_EQ(Errno(got), Errno(c.expected)) << what;
    EXPECT_EQ(LastSeq(), seq) << what << ": a refusal wrote history";
    EXPECT_EQ(Snapshot(reg()), before) << what;
    EXPECT_EQ(ListDir(M("models")), listed) << what;
  }
  // The same targets for a move of an existing alias: EINVAL, no change.
  for (const std::string& target :
       {std::string("/etc/passwd"), mnt + "/../x/models/v1",
        std::string(4095, 'a')}) {
    const pid_t pid = ForkAs(kAttacker, [&] {
      const ExecResult got =
          Exec({"ln", "-sfn", target, M("models/candidate").string()});
      return got.exit_code == 0 ? 0 : 1;
    });
    std::string hung;
    EXPECT_EQ(WaitAll({pid}, 60s, &hung)[0], 1)
        << "ln -sfn " << Printable(target) << " moved candidate " << hung;
  }
  EXPECT_EQ(AliasTarget("models", "candidate"), "v1");
  EXPECT_EQ(LastSeq(), start) << Rows(start);

  // An absolute target that does name a version here is stored relative.
  EXPECT_EQ(Errno(fs::testing::AsUser(
                kAttacker,
                [&] { return Symlink(mnt + "/models/v2", M("models/abs")); })),
            Errno(0));
  std::error_code ec;
  EXPECT_EQ(stdfs::read_symlink(M("models/abs"), ec).string(), "v2");

  // ln's temporary form after a lookup: staged, then a lasting alias.
  const uint64_t before_cu = LastSeq();
  EXPECT_EQ(Errno(fs::testing::AsUser(
                kAttacker,
                [&] {
                  struct stat st {};
                  if (::lstat(M("models/candidate").c_str(), &st) != 0)
                    return 200;
                  return Symlink("v0", M("models/CuXq9Zk2"));
                })),
            Errno(0));
  bool committed = false;
  for (auto deadline = Clock::now() + 10s; Clock::now() < deadline;) {
    if (!AliasTarget("models", "CuXq9Zk2").empty()) {
      committed = true;
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(committed) << DaemonLog();
  EXPECT_EQ(AliasTarget("models", "CuXq9Zk2"), "v0");
  EXPECT_TRUE(WaitForLink(M("models/CuXq9Zk2"), "v0", 5s).has_value());
  const auto cu = EventsAfter(before_cu);
  ASSERT_EQ(cu.size(), 1u) << Rows(before_cu);
  EXPECT_EQ(cu[0].type, EventType::kAliasCreate);
  EXPECT_EQ(cu[0].uid, kAttacker.uid);

  // Nothing unexpected: two creates by the attacker, and fsck clean.
  std::vector<std::string> rows;
  for (const auto& e : EventsAfter(start)) {
    rows.push_back(fmt::format("{} {} {} uid {}",
                               registry::EventTypeName(e.type), e.alias,
                               V(e.new_version), e.uid));
  }
  EXPECT_EQ(
      rows,
      (std::vector<std::string>{
          fmt::format("alias.create abs v2 uid {}", kAttacker.uid),
          fmt::format("alias.create CuXq9Zk2 v0 uid {}", kAttacker.uid)}));
  EXPECT_TRUE(StoreIsClean(store_));
}

// ---- 4. Concurrent push and modify ------------------------------------------

// The attacker's file is always Content(generation, size) with a small
// generation: appends and truncates keep the generation, a rewrite in
// place (same size, new bytes) takes the next one. A consistent snapshot
// is therefore Content(g, n) for some g; anything else is torn.
TEST_F(HostileUsersTest, PushOfAFileBeingModifiedIsWholeOrRefused) {
  constexpr size_t kBase = 64u << 20;
  constexpr size_t kMax = kBase + (8u << 20);
  constexpr int kGenerations = 4;
  constexpr int kRounds = 10;
  const stdfs::path home = dir_ / "attacker";
  stdfs::create_directories(home);
  const stdfs::path file = home / "model.bin";
  WriteFile(file, Content(0, kBase));
  ASSERT_EQ(::chown(home.c_str(), kAttacker.uid, kAttacker.gid), 0);
  ASSERT_EQ(::chown(file.c_str(), kAttacker.uid, kAttacker.gid), 0);
  const stdfs::path stop = dir_ / "stop";

  const pid_t modifier = ForkAs(kAttacker, [&] {
    Rng rng(0x5EED);
    int generation = 0;
    std::string stream = Content(0, kMax);
    size_t size = kBase;
    const int fd = ::open(file.c_str(), O_WRONLY);
    if (fd < 0) return 10;
    int ops = 0;
    while (!stdfs::exists(stop)) {
      const uint64_t op = rng.Below(10);
      if (op < 5 && size < kMax) {  // append
        const size_t add =
            std::min<size_t>(kMax - size, 1 + rng.Below(1 << 20));
        if (::pwrite(fd, stream.data() + size, add, static_cast<off_t>(size)) !=
            static_cast<ssize_t>(add)) {
          return 11;
        }
        size += add;
      } else if (op < 8) {  // truncate (only shorter: no zeros)
        size = kBase / 2 + rng.Below(size - kBase / 2);
        if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return 12;
      } else if (generation + 1 < kGenerations) {  // rewrite in place
        ++generation;
        stream = Content(static_cast<uint64_t>(generation), kMax);
        for (size_t at = 0; at < size; at += 1 << 20) {
          const size_t n = std::min<size_t>(1 << 20, size - at);
          if (::pwrite(fd, stream.data() + at, n, static_cast<off_t>(at)) !=
              static_cast<ssize_t>(n)) {
            return 13;
          }
        }
      }
      ++ops;
      // A pause now and then, so that some pushes see a quiet file.
      std::this_thread::sleep_for(std::chrono::milliseconds(
          rng.OneIn(3) ? 200 + rng.Below(400) : rng.Below(20)));
    }
    ::close(fd);
    return 0;
  });
  StopAndReap guard(stop, {modifier});

  int pushed = 0, refused = 0;
  std::vector<std::string> problems;
  std::vector<std::string> streams;
  for (int g = 0; g < kGenerations; ++g) streams.push_back(Content(g, kMax));
  for (int round = 0; round < kRounds; ++round) {
    const ExecResult r = Regfs({"push", "attack", file.string(), "--json"});
    if (r.exit_code != 0) {
      EXPECT_EQ(r.exit_code, 1) << r.err;
      EXPECT_THAT(r.err, HasSubstr("changed while it was being pushed"))
          << r.err;
      ++refused;
      continue;
    }
    ++pushed;
    const auto json = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << r.out;
    const std::string version = json.value("version", "");
    ASSERT_FALSE(version.empty()) << r.out;
    int error = 0;
    const std::string bytes = ReadAll(M("attack/" + version), &error);
    ASSERT_EQ(error, 0) << version << ": " << std::strerror(error);
    bool consistent = false;
    for (int g = 0; g < kGenerations && !consistent; ++g) {
      consistent =
          bytes.size() <= kMax &&
          std::memcmp(bytes.data(), streams[g].data(), bytes.size()) == 0;
    }
    if (!consistent) problems.push_back(version + " is torn");
    const ExecResult ls = Regfs({"ls", "attack/" + version, "--json"});
    ASSERT_EQ(ls.exit_code, 0) << ls.err;
    const auto shown = nlohmann::json::parse(ls.out, nullptr, false);
    EXPECT_EQ(shown.value("size", uint64_t{0}), bytes.size()) << version;
    EXPECT_EQ(shown.value("digest", ""), registry::Xxh3Hex(bytes)) << version;
    const ExecResult verify = Regfs({"verify", "attack/" + version});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    EXPECT_THAT(verify.out, HasSubstr("ok")) << version;
  }
  guard.Release();
  WriteFile(stop, "");
  std::string hung;
  ASSERT_EQ(WaitAll({modifier}, 60s, &hung), std::vector<int>{0});
  ASSERT_EQ(hung, "");
  EXPECT_EQ(problems, std::vector<std::string>{});
  std::printf(
      "[ hostile ] %d pushes of a file being modified: %d versions, "
      "%d refused\n",
      kRounds, pushed, refused);
  EXPECT_EQ(pushed + refused, kRounds);
  // A quiet file pushes.
  const ExecResult last = Regfs({"push", "attack", file.string()});
  EXPECT_EQ(last.exit_code, 0) << last.err;

  EXPECT_TRUE(StoreIsClean(store_));
  const ExecResult gc = Regfs({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  int error = 0;
  EXPECT_EQ(ListDir(store_ / "blobs" / "tmp", &error),
            std::vector<std::string>{})
      << "temporary files are left behind";
  EXPECT_EQ(error, 0) << std::strerror(error);
}

// ---- 5. Corrupt blob under concurrent readers
// --------------------------------

TEST_F(HostileUsersTest, CorruptBlobUnderReadersIsEioNeverWrongBytes) {
  const std::string original = ReadFile(Src("m1"));
  const auto v1 = reg().GetVersion("models", 1);
  ASSERT_TRUE(v1.has_value());
  const stdfs::path flipped = dir_ / "flipped";
  const stdfs::path pause = dir_ / "pause";
  const stdfs::path remounted = dir_ / "remounted";
  const stdfs::path stop = dir_ / "stop";
  const std::vector<User> readers = {kViewer, kSecondViewer, kSecondMember,
                                     kAdmin};

  std::vector<pid_t> pids;
  for (size_t r = 0; r < readers.size(); ++r) {
    pids.push_back(ForkAs(readers[r], [&, r] {
      JsonLinesWriter out(out_ / fmt::format("reader{}.jsonl", r));
      // phase -> outcome -> count
      std::map<std::string, std::map<std::string, int>> seen;
      // Until told to stop, and not before two reads after the remount.
      int after = 0;
      while (!stdfs::exists(stop) || (after < 2 && stdfs::exists(remounted))) {
        if (stdfs::exists(pause)) {
          WriteFile(out_ / fmt::format("paused{}", r), "");
          std::this_thread::sleep_for(10ms);
          continue;
        }
        std::string phase = stdfs::exists(remounted) ? "remounted"
                            : stdfs::exists(flipped) ? "flipped"
                                                     : "before";
        if (phase == "remounted") ++after;
        const ExecResult cat =
            Exec({"cat", M("models/v1").string()}, std::chrono::seconds(30));
        // A read that the flip overtook counts as one after it: with
        // passthrough the kernel reads the blob's own pages, which the
        // flip changes at once.
        if (phase == "before" && stdfs::exists(flipped)) phase = "flipped";
        std::string outcome;
        if (cat.exit_code == 0 && cat.out == original) {
          outcome = "original";
        } else if (cat.exit_code == 0) {
          outcome = "DIFFERENT BYTES";
        } else if (cat.err.find("Input/output error") != std::string::npos) {
          outcome = cat.out.empty() || original.starts_with(cat.out)
                        ? "EIO"
                        : "EIO after different bytes";
        } else {
          outcome = "failed: " + cat.err;
        }
        ++seen[phase][outcome];
      }
      out.Append(seen);
      return 0;
    }));
  }
  StopAndReap guard(stop, pids);
  std::this_thread::sleep_for(500ms);
  // Root flips one byte in the middle of the blob.
  const stdfs::path blob = reg().BlobPath(v1->blob);
  ASSERT_EQ(::chmod(blob.c_str(), 0644), 0);
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    const std::streamoff at = static_cast<std::streamoff>(original.size() / 2);
    f.seekg(at);
    const char c = static_cast<char>(f.get());
    f.seekp(at);
    f.put(static_cast<char>(c ^ 0x20));
    ASSERT_TRUE(f.good());
  }
  WriteFile(flipped, "");
  std::this_thread::sleep_for(300ms);
  // The remount, with the readers between two reads (an unmount waits for
  // no open file).
  WriteFile(pause, "");
  for (auto deadline = Clock::now() + 30s; Clock::now() < deadline;) {
    size_t paused = 0;
    for (size_t r = 0; r < readers.size(); ++r) {
      paused += stdfs::exists(out_ / fmt::format("paused{}", r)) ? 1 : 0;
    }
    if (paused == readers.size()) break;
    std::this_thread::sleep_for(10ms);
  }
  Remount();
  WriteFile(remounted, "");
  stdfs::remove(pause);
  std::this_thread::sleep_for(1s);
  guard.Release();
  WriteFile(stop, "");
  std::string hung;
  const auto codes = WaitAll(pids, 60s, &hung);
  ASSERT_EQ(hung, "");
  ASSERT_EQ(codes, std::vector<int>(readers.size(), 0));
  if (HasFatalFailure()) return;

  for (size_t r = 0; r < readers.size(); ++r) {
    SCOPED_TRACE(fmt::format("reader {} (uid {})", r, readers[r].uid));
    const auto records = ReadJsonLines(out_ / fmt::format("reader{}.jsonl", r));
    ASSERT_EQ(records.size(), 1u);
    const auto& seen = records[0];
    std::printf("[ hostile ] reader %zu: %s\n", r, seen.dump().c_str());
    // Before the flip: the content. After the remount: EIO, every time.
    const nlohmann::json before =
        seen.value("before", nlohmann::json::object());
    const nlohmann::json between =
        seen.value("flipped", nlohmann::json::object());
    for (const auto& [outcome, count] : before.items()) {
      EXPECT_EQ(outcome, "original") << count;
    }
    ASSERT_TRUE(seen.contains("remounted")) << seen.dump();
    for (const auto& [outcome, count] : seen["remounted"].items()) {
      EXPECT_EQ(outcome, "EIO") << count;
    }
    // Between the flip and the remount the mount had verified the blob
    // already (once per mount, RELIABILITY.md): only no other failure.
    for (const auto& [outcome, count] : between.items()) {
      EXPECT_THAT(outcome, ::testing::Not(HasSubstr("failed"))) << count;
    }
  }
  // Other versions keep reading; fsck names the version.
  for (const auto& [version, source] :
       std::vector<std::pair<std::string, std::string>>{{"v0", "m0"},
                                                        {"v2", "m2"}}) {
    const fs::testing::RunResult r =
        fs::testing::RunAs(kViewer, {"cat", M("models/" + version).string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, ReadFile(Src(source))) << version;
  }
  const ExecResult fsck = Regfs({"fsck"});
  EXPECT_EQ(fsck.exit_code, 1) << fsck.out << fsck.err;
  EXPECT_THAT(fsck.out + fsck.err, HasSubstr("models/v1"));
  EXPECT_THAT(DaemonLog(), HasSubstr("models/v1"));
}

}  // namespace
}  // namespace regfs::reliability
