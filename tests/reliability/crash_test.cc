// Crash safety (issue #5, DESIGN.md "Durability"), in the manner of
// JuiceFS's crash-consistency test: writers change the registry through
// the mount and through the CLI, each recording in a manifest what it saw
// succeed; the daemon is killed with SIGKILL at a random moment, CLI
// commands are killed with SIGKILL at random moments (pushes mid-copy
// included); then the mount is started again on the same mount point and
// the store is checked against the manifests:
//
//   - `regfs fsck` is clean (blobs, references, gapless history);
//   - every change whose command or syscall reported success is there,
//     with exactly its history rows; a change whose outcome the writer
//     could not know (its command or the daemon was killed) is there
//     completely, with its rows, or not at all; nothing else changed;
//   - no partial version: every version is one a writer pushed, with its
//     whole content (read back through the new mount);
//   - every alias names a live version, and the new mount shows it;
//   - a process using the dead mount gets ENOTCONN (or ECONNABORTED for
//     a request in flight), never a hang, and `regfs mount` on the same
//     mount point detaches the dead mount and serves again.
//
// The publish writer (as a member) writes drafts through the mount, with
// cp or write(2), and renames them onto `latest` or an alias: a publish
// acknowledged is there whole, one cut off by the kill is there whole or
// not at all, and a draft never becomes a version by itself.
//
// Each writer owns its names (aliases, collections), so it knows the
// state before each of its changes and which history rows the change
// makes. An unknown outcome is decided by reading the store (nobody else
// writes the writer's names): at once by the CLI writers, by the harness
// for the mount writer (which cannot open the store, and stops at its
// first unknown outcome: the daemon is dead). A request cut off by the
// kill may also end in EIO; after the kill it counts as unknown too.
//
// REGFS_CRASH_CYCLES (default 6) sets the number of kill-and-remount
// cycles; REGFS_CRASH_SEED makes a run repeatable; REGFS_CRASH_KEEP_GOING=1
// goes on after a failing cycle (the test stops at the first otherwise).
// With REGFS_TEST_ENGINE=postgres the store is a shared one (metadata in
// PostgreSQL, mount_fixture.h): the killed daemon's and CLI's connections
// are dropped by the server, and the same checks hold (ctest runs it so
// as reliability_pg.*, label `postgres`).
#include <fcntl.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "registry/names.h"
#include "registry/shared_store.h"
#include "tests/fs/mount_fixture.h"
#include "tests/reliability/reliability_util.h"

namespace regfs::reliability {
namespace {

using namespace std::chrono_literals;
using fs::testing::kMember;
using fs::testing::kRoot;
using fs::testing::Mount;
using fs::testing::MountTest;
using fs::testing::ReadFile;
using fs::testing::WaitProcess;
using fs::testing::WriteFile;
using nlohmann::json;
using registry::Event;
using registry::EventType;
using registry::Registry;

constexpr uint64_t kModelVersions = 3;  // the fixture's models v0..v2

// One history row as a comparable line.
std::string Sig(std::string_view type, const std::string& collection,
                const std::string& alias, std::optional<uint64_t> old_version,
                std::optional<uint64_t> new_version, const std::string& to,
                uid_t uid, std::string_view interface) {
  return fmt::format("{} {} {} {} {} to={} uid={} {}", type, collection,
                     alias.empty() ? "-" : alias, V(old_version),
                     V(new_version), to.empty() ? "-" : to, uid, interface);
}

std::string SigOf(const Event& e) {
  return Sig(registry::EventTypeName(e.type), e.collection, e.alias,
             e.old_version, e.new_version, e.renamed_to, e.uid,
             registry::InterfaceName(e.interface));
}

// CLOCK_MONOTONIC in nanoseconds: orders a writer's results against the
// moment the harness sent SIGKILL.
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The outcome of a command or syscall as its caller saw it.
enum class Outcome { kOk, kUnknown, kFailed };

const char* OutcomeName(Outcome o) {
  return o == Outcome::kOk ? "ok" : o == Outcome::kUnknown ? "unknown" : "failed";
}

// The error of a request that the dead daemon never answered.
bool IsDeadMountErrno(int err) { return err == ENOTCONN || err == ECONNABORTED; }
bool IsDeadMountMessage(const std::string& text) {
  return text.find("not connected") != std::string::npos ||
         text.find("connection abort") != std::string::npos;
}

// What the store holds after a change was applied: {"aliases": {NAME:
// version or null}} in `models`, or {"collection": NAME}. Decides an
// unknown outcome; nobody else writes the names a probe looks at.
bool ProbeHolds(Registry& reg, const json& probe) {
  if (probe.contains("published")) {
    auto versions = reg.ListVersions(probe["collection"].get<std::string>());
    if (!versions) return false;
    for (const auto& v : *versions) {
      if (v.description == probe["published"].get<std::string>()) return true;
    }
    return false;
  }
  if (probe.contains("collection")) {
    return reg.GetCollection(probe["collection"].get<std::string>()).has_value();
  }
  for (const auto& [name, version] : probe["aliases"].items()) {
    auto alias = reg.GetAlias("models", name);
    if (version.is_null() ? alias.has_value()
                          : !alias || alias->version != version.get<uint64_t>()) {
      return false;
    }
  }
  return true;
}

struct CycleConfig {
  int cycle = 0;
  uint64_t seed = 0;
  stdfs::path store;
  stdfs::path mnt;
  stdfs::path out;   // manifests
  stdfs::path work;  // scratch files of the push writer
  stdfs::path stop;  // exists once the daemon is dead
  // Each alias writer's names and their versions when the cycle starts
  // (read by the harness: the mount writer cannot open the store).
  std::map<std::string, uint64_t> aliases;
  // The publish writer's collections: the number their next version gets,
  // and the version their alias "pp" names, if any.
  std::map<std::string, uint64_t> next_number;
  std::map<std::string, uint64_t> published_alias;
};

// A writer of alias changes: through the mount (as kMember) or through
// the CLI (as root, its commands killed at random). Owns `names` in
// `models`, and the collections it creates with mkdir.
class AliasWriter final {
 public:
  AliasWriter(const CycleConfig& config, std::string tag, bool through_mount)
      : c_(config),
        tag_(std::move(tag)),
        mount_(through_mount),
        uid_(through_mount ? kMember.uid : 0),
        rng_(config.seed ^ std::hash<std::string>{}(tag_)),
        out_(config.out / fmt::format("{}-{}.jsonl", tag_, config.cycle)) {
    for (int i = 0; i < 5; ++i) names_.push_back(fmt::format("{}{}", tag_, i));
  }

  // The names a writer tagged `tag` owns: the tag and one digit.
  static bool Owns(const std::string& tag, const std::string& name) {
    return name.size() == tag.size() + 1 && name.starts_with(tag) &&
           name.back() >= '0' && name.back() <= '4';
  }

  int Run() {
    if (!mount_) {
      // Only the store's owner opens it; the mount writer leaves unknown
      // outcomes to the harness, after the daemon died.
      auto opened = Registry::Open(c_.store);
      if (!opened) {
        out_.Append({{"result", "failed"}, {"error", opened.error().message}});
        return 1;
      }
      reg_ = std::move(*opened);
    }
    for (const auto& name : names_) {
      if (auto it = c_.aliases.find(name); it != c_.aliases.end()) {
        state_[name] = it->second;
      }
    }
    for (int op = 0; !stdfs::exists(c_.stop); ++op) {
      if (!Step(op)) break;  // the daemon is gone
    }
    return 0;
  }

 private:
  std::string Iface() const { return mount_ ? "fs" : "cli"; }

  // One random change; false once a mount request found the daemon dead.
  bool Step(int op) {
    std::vector<std::string> present, absent;
    for (const auto& n : names_) (state_.contains(n) ? present : absent).push_back(n);
    const uint64_t r = rng_.Below(20);
    if (!mount_ && r == 19) return Gc();
    if (mount_ && r == 18) return MkDir(op);
    if (present.empty() || (r < 4 && !absent.empty())) {
      return Create(absent[rng_.Below(absent.size())]);
    }
    const std::string& name = present[rng_.Below(present.size())];
    if (r < 11) return Move(name);
    if (r < 13) return Remove(name);
    if (r < 16 && !absent.empty()) {
      return Rename(name, absent[rng_.Below(absent.size())]);
    }
    if (present.size() >= 2) {
      std::string other = name;
      while (other == name) other = present[rng_.Below(present.size())];
      return Rename(name, other);
    }
    return Move(name);
  }

  uint64_t OtherVersion(std::optional<uint64_t> now) {
    uint64_t v = rng_.Below(kModelVersions);
    if (now && v == *now) v = (v + 1) % kModelVersions;
    return v;
  }

  stdfs::path InMount(const std::string& name) const {
    return c_.mnt / "models" / name;
  }

  // Runs a CLI command, killing it at a random moment one time in three.
  Outcome Cli(std::vector<std::string> args, std::string* error) {
    std::vector<std::string> argv = {REGFS_BINARY, "--store", c_.store.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::optional<std::chrono::microseconds> kill_after;
    if (rng_.OneIn(3)) kill_after = std::chrono::microseconds(rng_.Below(40000));
    const ExecResult r = Exec(argv, kill_after);
    if (r.exit_code == 0) return Outcome::kOk;
    *error = fmt::format("exit {}: {}", r.exit_code, r.err);
    return r.killed ? Outcome::kUnknown : Outcome::kFailed;
  }

  // Runs a shell tool on the mount.
  Outcome Tool(const std::vector<std::string>& argv, std::string* error) {
    const ExecResult r = Exec(argv);
    if (r.exit_code == 0) return Outcome::kOk;
    *error = fmt::format("{} exit {}: {}", argv[0], r.exit_code, r.err);
    return IsDeadMountMessage(r.err) ? Outcome::kUnknown : Outcome::kFailed;
  }

  Outcome Syscall(int rc, const std::string& what, std::string* error) {
    if (rc == 0) return Outcome::kOk;
    const int err = errno;
    *error = fmt::format("{}: {}", what, std::strerror(err));
    return IsDeadMountErrno(err) ? Outcome::kUnknown : Outcome::kFailed;
  }

  // Records the change. An unknown outcome is decided by `probe` (see
  // ProbeHolds): here for the CLI writer, by the harness for the mount
  // writer. Returns false when the mount is dead.
  bool Record(const json& what, Outcome outcome, const std::string& error,
              const std::vector<std::string>& rows, const json& probe,
              const std::function<void()>& apply) {
    json record = what;
    record["writer"] = tag_;
    record["result"] = OutcomeName(outcome);
    record["end_ns"] = NowNs();
    record["rows"] = rows;
    record["probe"] = probe;
    bool done = outcome == Outcome::kOk;
    if (outcome == Outcome::kUnknown && reg_) done = ProbeHolds(*reg_, probe);
    record["applied"] = outcome == Outcome::kUnknown && !reg_ ? json(nullptr)
                                                              : json(done);
    if (!error.empty()) record["error"] = error;
    out_.Append(record);
    if (done) apply();
    return !(mount_ && outcome == Outcome::kUnknown);
  }

  bool Create(const std::string& name) {
    const uint64_t to = OtherVersion(std::nullopt);
    const std::string target = registry::VersionName(to);
    std::string error;
    Outcome o;
    if (!mount_) {
      o = Cli({"alias", "set", "models", name, target}, &error);
    } else if (rng_.OneIn(2)) {
      o = Tool({"ln", "-s", target, InMount(name).string()}, &error);
    } else {
      o = Syscall(::symlink(target.c_str(), InMount(name).c_str()),
                  "symlink " + name, &error);
    }
    return Record({{"op", "create"}, {"alias", name}, {"to", to}}, o, error,
                  {Sig("alias.create", "models", name, std::nullopt, to, "",
                       uid_, Iface())},
                  {{"aliases", {{name, to}}}}, [&] { state_[name] = to; });
  }

  bool Move(const std::string& name) {
    const uint64_t from = state_.at(name);
    const uint64_t to = OtherVersion(from);
    const std::string target = registry::VersionName(to);
    std::string error;
    Outcome o;
    const uint64_t method = rng_.Below(3);
    if (!mount_) {
      o = Cli({"alias", "set", "models", name, target}, &error);
    } else if (method == 0) {
      o = Tool({"ln", "-sf", target, InMount(name).string()}, &error);
    } else {
      o = ReplaceThroughMount(method, name, target, &error);
    }
    return Record({{"op", "move"}, {"alias", name}, {"from", from}, {"to", to},
                   {"method", method}},
                  o, error,
                  {Sig("alias.move", "models", name, from, to, "", uid_, Iface())},
                  {{"aliases", {{name, to}}}}, [&] { state_[name] = to; });
  }

  // What `ln -sf` does itself (method 1: symlink over the alias fails
  // with EEXIST, symlink to a "CuXXXXXX" name, rename it over the alias),
  // or a '.'-temporary renamed over the alias (method 2).
  Outcome ReplaceThroughMount(uint64_t method, const std::string& name,
                              const std::string& target, std::string* error) {
    if (method == 1) {
      if (::symlink(target.c_str(), InMount(name).c_str()) == 0) {
        *error = "symlink over an existing alias succeeded";
        return Outcome::kFailed;
      }
      if (errno != EEXIST) return Syscall(-1, "symlink " + name, error);
    }
    const std::string temp = method == 1
                                 ? fmt::format("Cu{:06d}", rng_.Below(1000000))
                                 : fmt::format(".tmp{}", rng_.Next() % 100000);
    const Outcome o = Syscall(::symlink(target.c_str(), InMount(temp).c_str()),
                              "symlink " + temp, error);
    if (o != Outcome::kOk) return o;
    return Syscall(::rename(InMount(temp).c_str(), InMount(name).c_str()),
                   "rename " + temp + " " + name, error);
  }

  bool Remove(const std::string& name) {
    const uint64_t from = state_.at(name);
    std::string error;
    Outcome o;
    if (!mount_) {
      o = Cli({"alias", "rm", "models", name}, &error);
    } else if (rng_.OneIn(2)) {
      o = Tool({"rm", InMount(name).string()}, &error);
    } else {
      o = Syscall(::unlink(InMount(name).c_str()), "unlink " + name, &error);
    }
    return Record({{"op", "remove"}, {"alias", name}, {"from", from}}, o, error,
                  {Sig("alias.remove", "models", name, from, std::nullopt, "",
                       uid_, Iface())},
                  {{"aliases", {{name, nullptr}}}}, [&] { state_.erase(name); });
  }

  // Renames `from` to `to`, replacing `to` if it exists.
  bool Rename(const std::string& from, const std::string& to) {
    const uint64_t version = state_.at(from);
    const std::optional<uint64_t> replaced =
        state_.contains(to) ? std::optional(state_.at(to)) : std::nullopt;
    std::vector<std::string> rows;
    if (replaced) {
      rows.push_back(Sig("alias.remove", "models", to, replaced, std::nullopt,
                         "", uid_, Iface()));
    }
    rows.push_back(
        Sig("alias.rename", "models", from, version, version, to, uid_, Iface()));
    std::string error;
    Outcome o;
    if (!mount_) {
      std::vector<std::string> args = {"alias", "mv", "models", from, to};
      if (replaced) args.push_back("--force");
      o = Cli(args, &error);
    } else if (rng_.OneIn(2)) {
      o = Tool({"mv", "-T", InMount(from).string(), InMount(to).string()},
               &error);
    } else {
      o = Syscall(::rename(InMount(from).c_str(), InMount(to).c_str()),
                  "rename " + from + " " + to, &error);
    }
    return Record(
        {{"op", "rename"}, {"alias", from}, {"to_alias", to}}, o, error, rows,
        {{"aliases", {{from, nullptr}, {to, version}}}},
        [&] {
          state_.erase(from);
          state_[to] = version;
        });
  }

  bool MkDir(int op) {
    const std::string name = fmt::format("{}-c{}-{}", tag_, c_.cycle, op);
    std::string error;
    const Outcome o =
        Syscall(::mkdir((c_.mnt / name).c_str(), 0755), "mkdir " + name, &error);
    return Record({{"op", "mkdir"}, {"collection", name}}, o, error,
                  {Sig("collection.create", name, "", std::nullopt,
                       std::nullopt, "", uid_, Iface())},
                  {{"collection", name}}, [] {});
  }

  // `regfs gc` while the others push: must never remove a referenced blob.
  bool Gc() {
    std::string error;
    const Outcome o = Cli({"gc"}, &error);
    if (o == Outcome::kFailed) {
      out_.Append({{"writer", tag_}, {"op", "gc"}, {"result", "failed"},
                   {"applied", false}, {"rows", json::array()},
                   {"error", error}});
    }
    return true;
  }

  const CycleConfig c_;
  const std::string tag_;
  const bool mount_;
  const uid_t uid_;
  Rng rng_;
  JsonLinesWriter out_;
  std::vector<std::string> names_;
  std::map<std::string, uint64_t> state_;  // alias -> version
  std::unique_ptr<Registry> reg_;
};

// Pushes file and tree versions with `regfs push`, killing half of the
// pushes at a random moment (mid-copy for the big ones). Owns the
// collections "pushes" and "trees" and their aliases "pa" and "ta".
class PushWriter final {
 public:
  explicit PushWriter(const CycleConfig& config)
      : c_(config),
        rng_(config.seed ^ 0x5057),
        out_(config.out / fmt::format("push-{}.jsonl", config.cycle)) {}

  int Run() {
    auto opened = Registry::Open(c_.store);
    if (!opened) return 1;
    reg_ = std::move(*opened);
    for (int op = 0; !stdfs::exists(c_.stop); ++op) Push(op);
    return 0;
  }

  // The files of a pushed tree (relative path -> content) for an op id.
  static std::map<std::string, std::string> TreeFiles(uint64_t seed,
                                                      size_t size) {
    return {{"a.bin", Content(seed, size)},
            {"empty", ""},
            {"sub/b.txt", Content(seed + 1, 100)},
            {"deep/x/y/z.txt", "op " + std::to_string(seed) + "\n"}};
  }

 private:
  void Push(int op) {
    const bool tree = rng_.OneIn(3);
    const std::string collection = tree ? "trees" : "pushes";
    const std::string alias = tree ? "ta" : "pa";
    const std::string id = fmt::format("op-{}-{}", c_.cycle, op);
    const uint64_t seed = c_.seed * 1000003 + static_cast<uint64_t>(op);
    static constexpr size_t kSizes[] = {0, 1000, 256 << 10, 2 << 20, 16 << 20};
    size_t size = kSizes[rng_.Below(4)];
    if (rng_.OneIn(8)) size = kSizes[4];

    const stdfs::path src = c_.work / id;
    stdfs::create_directories(c_.work);
    if (tree) {
      for (const auto& [rel, content] : TreeFiles(seed, size)) {
        stdfs::create_directories((src / rel).parent_path());
        WriteFile(src / rel, content);
      }
    } else {
      WriteFile(src, Content(seed, size));
    }

    // The rows the push makes, from what this writer knows of the store.
    auto coll = reg_->GetCollection(collection);
    auto old_alias = reg_->GetAlias(collection, alias);
    const uint64_t number = NextNumber(collection);

    std::optional<std::chrono::microseconds> kill_after;
    if (rng_.OneIn(2)) {
      kill_after = std::chrono::microseconds(rng_.Below(size > (1 << 20) ? 300000 : 40000));
    }
    const ExecResult r =
        Exec({REGFS_BINARY, "--store", c_.store.string(), "push", collection,
              src.string(), "--alias", alias, "--description", id, "--meta",
              "op=" + id, "--meta", R"(json={"a":"b\"c"}\n)"},
             kill_after);
    std::error_code ec;
    stdfs::remove_all(src, ec);

    Outcome outcome = Outcome::kOk;
    if (r.exit_code != 0) outcome = r.killed ? Outcome::kUnknown : Outcome::kFailed;
    // Learn the version number (and, for unknown outcomes, whether it
    // exists) from the store: the description is unique.
    std::optional<uint64_t> found;
    auto versions = reg_->ListVersions(collection);
    if (versions) {
      for (const auto& v : *versions) {
        if (v.description == id) found = v.number;
      }
    }
    const bool applied = outcome == Outcome::kOk || found.has_value();
    json record = {{"writer", "push"}, {"op", "push"},      {"id", id},
                   {"collection", collection},              {"tree", tree},
                   {"seed", seed},     {"size", size},      {"result", OutcomeName(outcome)},
                   {"applied", applied}};
    if (r.exit_code != 0) record["error"] = fmt::format("exit {}: {}", r.exit_code, r.err);
    std::vector<std::string> rows;
    if (applied) {
      const uint64_t n = found.value_or(number);
      record["version"] = n;
      if (!coll) {
        rows.push_back(Sig("collection.create", collection, "", std::nullopt,
                           std::nullopt, "", 0, "cli"));
      }
      rows.push_back(Sig("version.create", collection, "", std::nullopt, n, "",
                         0, "cli"));
      if (old_alias) {
        rows.push_back(Sig("alias.move", collection, alias, old_alias->version,
                           n, "", 0, "cli"));
      } else {
        rows.push_back(Sig("alias.create", collection, alias, std::nullopt, n,
                           "", 0, "cli"));
      }
      if (!found) record["missing"] = true;  // reported success, not there
    }
    record["rows"] = rows;
    out_.Append(record);
  }

  // The number the next version of `collection` gets: one past the
  // newest number ever used (numbers are never reused).
  uint64_t NextNumber(const std::string& collection) {
    registry::HistoryFilter filter;
    filter.collection = collection;
    uint64_t next = 0;
    auto events = reg_->History(filter);
    if (events) {
      for (const auto& e : *events) {
        if (e.type == EventType::kVersionCreate && e.new_version) {
          next = std::max(next, *e.new_version + 1);
        }
      }
    }
    return next;
  }

  const CycleConfig c_;
  Rng rng_;
  JsonLinesWriter out_;
  std::unique_ptr<Registry> reg_;
};

// Publishes through the mount as kMember: writes a draft (a file with cp
// or write(2), or a tree) with a sidecar giving its description, then
// renames it onto `latest` or the alias "pp" (a file), or onto a new alias
// (a tree). Owns the collections
// "pubs" (files) and "ptrees" (trees). Stops at its first unknown
// outcome (the daemon is dead); the harness decides it by the
// description.
class PublishWriter final {
 public:
  static constexpr const char* kCollections[] = {"pubs", "ptrees"};

  explicit PublishWriter(const CycleConfig& config)
      : c_(config),
        rng_(config.seed ^ 0x5055),
        out_(config.out / fmt::format("mp-{}.jsonl", config.cycle)),
        work_(config.out / fmt::format("mp-work-{}", config.cycle)) {}

  int Run() {
    stdfs::create_directories(work_);
    for (int op = 0; !stdfs::exists(c_.stop); ++op) {
      if (!Publish(op)) break;
    }
    return 0;
  }

 private:
  // Writes `content` to the new file `path`: 0 or the errno.
  static int WriteNew(const stdfs::path& path, const std::string& content) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return errno;
    for (size_t at = 0; at < content.size();) {
      const ssize_t n = ::write(fd, content.data() + at, content.size() - at);
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        return err;
      }
      at += static_cast<size_t>(n);
    }
    return ::close(fd) == 0 ? 0 : errno;
  }

  // The draft `name` in `dir`: a file (by cp or write(2)) or a tree.
  int WriteDraft(const stdfs::path& dir, const std::string& name, bool tree,
                 uint64_t seed, size_t size) {
    const stdfs::path root = dir / name;
    if (!tree) {
      if (!rng_.OneIn(2)) return WriteNew(root, Content(seed, size));
      const stdfs::path src = work_ / name.substr(1);
      if (const int err = WriteNew(src, Content(seed, size))) return err;
      const ExecResult cp = Exec({"cp", src.string(), root.string()});
      std::error_code ec;
      stdfs::remove(src, ec);
      if (cp.exit_code == 0) return 0;
      return IsDeadMountMessage(cp.err) ? ENOTCONN : EIO;
    }
    if (::mkdir(root.c_str(), 0755) != 0) return errno;
    for (const auto& [rel, content] : PushWriter::TreeFiles(seed, size)) {
      const stdfs::path file = root / rel;
      for (stdfs::path d = root; const auto& part : stdfs::path(rel).parent_path()) {
        d /= part;
        if (::mkdir(d.c_str(), 0755) != 0 && errno != EEXIST) return errno;
      }
      if (const int err = WriteNew(file, content)) return err;
    }
    return 0;
  }

  // One draft written and published; false once the daemon is gone.
  bool Publish(int op) {
    const bool tree = rng_.OneIn(3);
    const std::string collection = tree ? "ptrees" : "pubs";
    const std::string id = fmt::format("op-{}-p{}", c_.cycle, op);
    const std::string draft = fmt::format(".d{}-{}", c_.cycle, op);
    const uint64_t seed = c_.seed * 1000033 + static_cast<uint64_t>(op);
    static constexpr size_t kSizes[] = {0, 1000, 256 << 10, 2 << 20, 16 << 20};
    size_t size = kSizes[rng_.Below(4)];
    if (rng_.OneIn(8)) size = kSizes[4];
    // rename(2) of a directory over a symlink (`latest`, an alias) fails
    // with ENOTDIR in the kernel, before the mount sees it: a tree draft
    // is published onto a new alias.
    const bool onto_alias = tree || rng_.OneIn(2);
    const std::string target =
        tree ? fmt::format("t{}-{}", c_.cycle, op) : onto_alias ? "pp" : "latest";
    const stdfs::path dir = c_.mnt / collection;

    json record = {{"writer", "mp"}, {"op", "publish"}, {"id", id},
                   {"collection", collection}, {"tree", tree},
                   {"seed", seed}, {"size", size}, {"draft", draft},
                   {"target", target}};
    int err = WriteDraft(dir, draft, tree, seed, size);
    if (err == 0) {
      err = WriteNew(dir / (draft + ".metadata.json"),
                     json({{"description", id}}).dump());
    }
    if (err != 0) {
      // No change was asked for yet: only a draft (or part of one).
      record["result"] = IsDeadMountErrno(err) ? "draft only" : "failed";
      record["applied"] = false;
      record["rows"] = json::array();
      record["end_ns"] = NowNs();
      record["error"] = fmt::format("writing the draft: {}", std::strerror(err));
      out_.Append(record);
      return !IsDeadMountErrno(err);
    }
    const uint64_t number = c_.next_number.at(collection) + published_[collection];
    std::vector<std::string> rows = {Sig("version.create", collection, "",
                                         std::nullopt, number, "", kMember.uid,
                                         "fs")};
    std::optional<uint64_t> old_alias = alias_.contains(collection)
                                            ? std::optional(alias_[collection])
                                            : std::nullopt;
    if (!alias_.contains(collection)) {
      if (auto it = c_.published_alias.find(collection);
          it != c_.published_alias.end()) {
        old_alias = it->second;
      }
    }
    if (tree) {
      rows.push_back(Sig("alias.create", collection, target, std::nullopt,
                         number, "", kMember.uid, "fs"));
    } else if (onto_alias) {
      rows.push_back(Sig(old_alias ? "alias.move" : "alias.create", collection,
                         "pp", old_alias, number, "", kMember.uid, "fs"));
    }
    const bool renamed =
        ::rename((dir / draft).c_str(), (dir / target).c_str()) == 0;
    const int rename_err = renamed ? 0 : errno;
    const Outcome outcome = renamed                          ? Outcome::kOk
                            : IsDeadMountErrno(rename_err) ? Outcome::kUnknown
                                                             : Outcome::kFailed;
    record["result"] = OutcomeName(outcome);
    record["end_ns"] = NowNs();
    record["version"] = number;
    record["rows"] = rows;
    record["probe"] = {{"collection", collection}, {"published", id}};
    record["applied"] =
        outcome == Outcome::kUnknown ? json(nullptr) : json(renamed);
    if (!renamed) record["error"] = fmt::format("rename: {}", std::strerror(rename_err));
    out_.Append(record);
    if (renamed) {
      ++published_[collection];
      if (onto_alias && !tree) alias_[collection] = number;
    }
    return outcome != Outcome::kUnknown;
  }

  const CycleConfig c_;
  Rng rng_;
  JsonLinesWriter out_;
  const stdfs::path work_;
  std::map<std::string, uint64_t> published_;  // versions this cycle
  std::map<std::string, uint64_t> alias_;      // "pp" after this cycle's moves
};

class CrashTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    if (HasFatalFailure()) return;
    out_ = dir_ / "out";
    stdfs::create_directories(out_);
    ASSERT_EQ(::chmod(out_.c_str(), 0777), 0);
  }

  // Forks a process that uses the mount: its cwd is the collection and it
  // holds a version open. Once told (pipe), it reads at an offset the
  // page cache cannot have and stats the mount point, and reports the
  // errnos; after the remount it reads its cwd (the old, dead mount).
  struct Holder {
    pid_t pid = -1;
    int go = -1;      // write end: one byte per step
    int report = -1;  // read end: "errno errno\n" lines
  };
  Holder StartHolder() {
    int go[2], report[2];
    EXPECT_EQ(pipe(go), 0);
    EXPECT_EQ(pipe(report), 0);
    const stdfs::path mnt = mnt_;
    const pid_t pid = ForkAs(kRoot, [=]() -> int {
      ::close(go[1]);
      ::close(report[0]);
      const int fd = ::open((mnt / "models" / "v1").c_str(), O_RDONLY);
      if (fd < 0 || ::chdir((mnt / "models").c_str()) != 0) return 2;
      (void)!::write(report[1], "ready\n", 6);
      char c;
      if (::read(go[0], &c, 1) != 1) return 3;
      char buf[4096];
      const ssize_t n = ::pread(fd, buf, sizeof buf, 3 * 1024 * 1024);
      const int read_err = n < 0 ? errno : 0;
      struct stat st {};
      const int stat_err = ::stat(mnt.c_str(), &st) != 0 ? errno : 0;
      const int open_err =
          ::open((mnt / "models" / "v0").c_str(), O_RDONLY) < 0 ? errno : 0;
      std::string line = fmt::format("{} {} {}\n", read_err, stat_err, open_err);
      (void)!::write(report[1], line.data(), line.size());
      if (::read(go[0], &c, 1) != 1) return 4;
      const int dir_fd = ::open(".", O_RDONLY | O_DIRECTORY);
      const int cwd_err = dir_fd < 0 ? errno : 0;
      line = fmt::format("{}\n", cwd_err);
      (void)!::write(report[1], line.data(), line.size());
      return 0;
    });
    ::close(go[0]);
    ::close(report[1]);
    Holder h{pid, go[1], report[0]};
    EXPECT_EQ(ReadLine(h.report), "ready");
    return h;
  }

  static std::string ReadLine(int fd) {
    std::string line;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
    return line;
  }

  void RunCycle(int cycle, uint64_t seed);
  void Verify(int cycle, uint64_t start_seq);

  stdfs::path out_;
  int64_t kill_ns_ = 0;  // when this cycle's SIGKILL was sent
};

void CrashTest::RunCycle(int cycle, uint64_t seed) {
  CycleConfig config{cycle, seed, store_, mnt_, out_, dir_ / "work",
                     dir_ / fmt::format("stop-{}", cycle), {}};
  {
    auto aliases = reg().ListAliases("models");
    ASSERT_TRUE(aliases.has_value());
    for (const auto& a : *aliases) config.aliases[a.name] = a.version;
  }
  for (const std::string collection : PublishWriter::kCollections) {
    if (!reg().GetCollection(collection)) {
      ASSERT_TRUE(reg().CreateCollection(root(), collection).has_value());
    }
    registry::HistoryFilter filter;
    filter.collection = collection;
    auto events = reg().History(filter);
    ASSERT_TRUE(events.has_value());
    uint64_t next = 0;  // one past the newest number ever used
    for (const auto& e : *events) {
      if (e.type == EventType::kVersionCreate && e.new_version) {
        next = std::max(next, *e.new_version + 1);
      }
    }
    config.next_number[collection] = next;
    if (auto alias = reg().GetAlias(collection, "pp")) {
      config.published_alias[collection] = alias->version;
    }
  }
  const uint64_t start_seq = LastSeq();
  const stdfs::path old_log = mount_->log();
  const auto* result = ::testing::UnitTest::GetInstance()->current_test_info()->result();
  const int parts_before = result->total_part_count();
  std::vector<pid_t> children;  // not yet reaped
  Holder holder = StartHolder();
  children.push_back(holder.pid);
  // On any early return: stop the writers and the holder, and reap them.
  struct Cleanup {
    const stdfs::path& stop;
    std::vector<pid_t>& pids;
    Holder& holder;
    ~Cleanup() {
      WriteFile(stop, "");
      if (holder.go >= 0) ::close(holder.go);
      if (holder.report >= 0) ::close(holder.report);
      for (const pid_t pid : pids) {
        if (!WaitProcess(pid, 30s)) {
          kill(pid, SIGKILL);
          WaitProcess(pid, 10s);
        }
      }
    }
  } cleanup{config.stop, children, holder};
  Rng rng(seed);

  std::vector<pid_t> writers;
  writers.push_back(ForkAs(kMember, [&] {
    return AliasWriter(config, "ma", /*through_mount=*/true).Run();
  }));
  writers.push_back(ForkAs(kRoot, [&] {
    return AliasWriter(config, "ca", /*through_mount=*/false).Run();
  }));
  writers.push_back(ForkAs(kRoot, [&] { return PushWriter(config).Run(); }));
  writers.push_back(ForkAs(kMember, [&] { return PublishWriter(config).Run(); }));
  children.insert(children.end(), writers.begin(), writers.end());

  // The crash: SIGKILL at a random moment.
  const int connection = FuseConnection(mnt_);
  std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng.Below(700)));
  const pid_t daemon = mount_->pid();
  kill_ns_ = NowNs();
  ASSERT_EQ(kill(daemon, SIGKILL), 0);
  if (!WaitProcess(daemon, 20s)) {
    // A thread stuck in the kernel keeps the killed daemon from exiting,
    // so /dev/fuse stays open and every caller waits for ever. Record it,
    // then abort the connection so that the test (and CI) go on.
    ADD_FAILURE() << "the daemon did not exit within 20 s of SIGKILL; its "
                     "threads:\n"
                  << ThreadStacks(daemon);
    EXPECT_TRUE(AbortFuseConnection(connection));
    ASSERT_TRUE(WaitProcess(daemon, 30s).has_value())
        << "still alive after aborting its FUSE connection";
  }
  mount_->Abandon();
  WriteFile(config.stop, "");
  std::string hung;
  const std::vector<int> codes = WaitAll(writers, 300s, &hung);
  children.resize(1);  // the writers are reaped; the holder is not
  ASSERT_EQ(hung, "") << "a writer hung on the dead mount";
  for (size_t i = 0; i < codes.size(); ++i) EXPECT_EQ(codes[i], 0) << "writer " << i;

  // A process using the dead mount gets a clear error, not a hang.
  ASSERT_EQ(::write(holder.go, "x", 1), 1);
  int read_err = -1, stat_err = -1, open_err = -1;
  const std::string errs = ReadLine(holder.report);
  ASSERT_EQ(std::sscanf(errs.c_str(), "%d %d %d", &read_err, &stat_err, &open_err), 3)
      << "the process using the dead mount hung or died: '" << errs << "'";
  EXPECT_TRUE(read_err == 0 || IsDeadMountErrno(read_err))
      << "read on the dead mount: " << std::strerror(read_err);
  // stat may still be answered from the kernel's attribute cache.
  EXPECT_TRUE(stat_err == 0 || stat_err == ENOTCONN)
      << "stat of the dead mount point: " << std::strerror(stat_err);
  EXPECT_TRUE(IsDeadMountErrno(open_err))
      << "open on the dead mount: " << std::strerror(open_err);

  // `regfs mount` on the same mount point recovers it.
  const stdfs::path log = dir_ / fmt::format("mount-{}.log", cycle + 1);
  mount_ = std::make_unique<Mount>(store_, mnt_, log);
  ASSERT_TRUE(mount_->Start());
  EXPECT_THAT(ReadFile(log.string() + ".stderr"),
              ::testing::HasSubstr("dead mount left by a killed daemon"));

  // The old process still gets ENOTCONN in its cwd, not the new mount.
  ASSERT_EQ(::write(holder.go, "x", 1), 1);
  const std::string cwd = ReadLine(holder.report);
  EXPECT_TRUE(IsDeadMountErrno(std::atoi(cwd.c_str())))
      << "the old mount's cwd gave '" << cwd << "'";
  ::close(holder.go);
  ::close(holder.report);
  holder.go = holder.report = -1;
  WaitAll({holder.pid}, 60s, &hung);
  children.clear();
  EXPECT_EQ(hung, "");

  Verify(cycle, start_seq);
  if (result->total_part_count() > parts_before) {
    // What the killed daemon said besides the routine: warnings, errors,
    // sanitizer reports.
    std::string said = ReadFile(old_log.string() + ".stderr");
    std::istringstream lines(ReadFile(old_log));
    for (std::string line; std::getline(lines, line);) {
      if (line.find(" warn ") != std::string::npos ||
          line.find(" error ") != std::string::npos) {
        said += line + "\n";
      }
    }
    std::printf("---- the killed daemon's warnings (cycle %d) ----\n%s\n", cycle,
                said.c_str());
  }
}

void CrashTest::Verify(int cycle, uint64_t start_seq) {
  SCOPED_TRACE(fmt::format("cycle {}", cycle));
  ASSERT_TRUE(StoreIsClean(store_));
  auto opened = Registry::Open(store_);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  Registry& reg = **opened;

  // Every event since the cycle began, by whose names it concerns.
  registry::HistoryFilter filter;
  filter.after_seq = start_seq;
  auto events = reg.History(filter);
  ASSERT_TRUE(events.has_value());
  std::map<std::string, std::vector<std::string>> actual;
  for (const Event& e : *events) {
    std::string owner = "nobody";
    const std::string& to = e.renamed_to;
    if (e.collection == "pushes" || e.collection == "trees") {
      owner = "push";
    } else if (e.collection == "pubs" || e.collection == "ptrees") {
      owner = "mp";
    } else if (e.collection.starts_with("ma-c")) {
      owner = "ma";
    } else if (e.collection == "models") {
      for (const std::string tag : {"ma", "ca"}) {
        if (AliasWriter::Owns(tag, e.alias) || AliasWriter::Owns(tag, to)) {
          owner = tag;
        }
      }
    }
    actual[owner].push_back(SigOf(e));
  }
  EXPECT_THAT(actual["nobody"], ::testing::IsEmpty()) << "changes nobody made";

  std::set<std::string> pushed;  // descriptions of applied pushes
  uint64_t ok = 0, unknown = 0, unknown_applied = 0, published = 0;
  for (const std::string writer : {"ma", "ca", "push", "mp"}) {
    std::vector<std::string> expected;
    for (json r :
         ReadJsonLines(out_ / fmt::format("{}-{}.jsonl", writer, cycle))) {
      std::string result = r.value("result", "");
      // A request cut off by the kill may also end in EIO (the kernel's
      // answer for a request it aborted); after the kill it is unknown,
      // or, for the writing of a draft, left a draft and nothing else.
      const bool cut_off =
          r.value("error", "").find("Input/output error") != std::string::npos &&
          r.value("end_ns", int64_t{0}) >= kill_ns_;
      if (result == "failed" && cut_off && r.contains("probe")) {
        result = "unknown";
        r["applied"] = nullptr;
      } else if (result == "failed" && cut_off && writer == "mp") {
        result = "draft only";
      }
      if (result == "failed") {
        ADD_FAILURE() << writer << ": a valid change failed: " << r.dump();
        continue;
      }
      // An unknown outcome of the mount writer is decided now: the daemon
      // is dead and nobody else writes its names.
      const bool applied = r["applied"].is_null() ? ProbeHolds(reg, r["probe"])
                                                  : r.value("applied", false);
      ok += result == "ok";
      published += writer == "mp" && result == "ok";
      unknown += result == "unknown";
      unknown_applied += result == "unknown" && applied;
      EXPECT_FALSE(r.value("missing", false))
          << "push reported success but its version is missing: " << r.dump();
      if (applied) {
        for (const auto& row : r["rows"]) expected.push_back(row.get<std::string>());
      }
      if ((writer == "push" || writer == "mp") && applied &&
          r.contains("seed")) {
        pushed.insert(r["id"].get<std::string>());
        // The whole content, read back through the new mount.
        const std::string where = fmt::format(
            "{}/v{}", r["collection"].get<std::string>(), r["version"].get<uint64_t>());
        const uint64_t seed = r["seed"];
        const size_t size = r["size"];
        if (r["tree"].get<bool>()) {
          for (const auto& [rel, content] : PushWriter::TreeFiles(seed, size)) {
            EXPECT_TRUE(ReadFile(M(where + "/" + rel)) == content)
                << where << "/" << rel << " is not what was pushed";
          }
        } else {
          EXPECT_TRUE(ReadFile(M(where)) == Content(seed, size))
              << where << " is not what was pushed";
        }
      }
    }
    EXPECT_EQ(actual[writer], expected)
        << writer << ": the history since seq " << start_seq
        << " is not exactly the rows of the changes that were applied";
  }
  std::printf("[ crash ] cycle %d: %llu changes reported ok (%llu of them "
              "publishes through the mount), %llu unknown (%llu of them "
              "applied), %zu history rows\n",
              cycle, static_cast<unsigned long long>(ok),
              static_cast<unsigned long long>(published),
              static_cast<unsigned long long>(unknown),
              static_cast<unsigned long long>(unknown_applied), events->size());

  // No partial version: each version was pushed whole by a writer.
  for (const std::string collection : {"pushes", "trees", "pubs", "ptrees"}) {
    auto versions = reg.ListVersions(collection);
    if (!versions) continue;  // not created yet
    for (const auto& v : *versions) {
      if (!v.description.starts_with(fmt::format("op-{}-", cycle))) continue;
      EXPECT_TRUE(pushed.contains(v.description))
          << collection << "/v" << v.number << " (" << v.description
          << ") was pushed by nobody who saw it applied";
    }
  }

  // Every alias names a live version, and the mount shows it.
  auto collections = reg.ListCollections();
  ASSERT_TRUE(collections.has_value());
  auto drafts = reg.drafts().List();
  ASSERT_TRUE(drafts.has_value());
  for (const auto& c : *collections) {
    auto aliases = reg.ListAliases(c.name);
    ASSERT_TRUE(aliases.has_value());
    std::set<std::string> names;
    for (const auto& a : *aliases) {
      names.insert(a.name);
      EXPECT_TRUE(reg.GetVersion(c.name, a.version).has_value())
          << c.name << "/" << a.name << " names a missing version";
      std::error_code ec;
      EXPECT_EQ(stdfs::read_symlink(M(c.name + "/" + a.name), ec).string(),
                registry::VersionName(a.version))
          << c.name << "/" << a.name;
      EXPECT_FALSE(a.name.starts_with("Cu") || a.name.starts_with("."))
          << "a temporary name became an alias: " << a.name;
    }
    // The mount lists exactly the registry's entries.
    std::vector<std::string> expected_entries = {".history"};
    auto versions = reg.ListVersions(c.name);
    ASSERT_TRUE(versions.has_value());
    for (const auto& v : *versions) expected_entries.push_back(registry::VersionName(v.number));
    expected_entries.insert(expected_entries.end(), names.begin(), names.end());
    // And the drafts (an admin sees everyone's): the publish writer's
    // killed or cut-off ones, not yet published.
    for (const auto& d : *drafts) {
      if (d.collection_id == c.id) expected_entries.push_back(d.name);
    }
    std::sort(expected_entries.begin(), expected_entries.end());
    EXPECT_EQ(ListDir(M(c.name)), expected_entries) << c.name;
  }
}

// A killed daemon must exit, so that the kernel aborts its connection and
// every caller gets ENOTCONN. Here `ln -sf` through the mount and `regfs
// alias set` keep the collection's directory busy (and the daemon
// invalidating entries in it) when SIGKILL comes.
// REGFS_WEDGE_ATTEMPTS (default 5) kills and remounts.
TEST_F(CrashTest, KilledDaemonExitsAndReleasesItsCallers) {
  const int attempts = EnvInt("REGFS_WEDGE_ATTEMPTS", 5);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    SCOPED_TRACE(fmt::format("attempt {}", attempt));
    const int connection = FuseConnection(mnt_);
    const stdfs::path stop = dir_ / fmt::format("wedge-stop-{}", attempt);
    const stdfs::path alias = M("models/candidate");
    std::vector<pid_t> writers;
    for (int w = 0; w < 3; ++w) {
      writers.push_back(ForkAs(kRoot, [&, w] {
        Rng rng(static_cast<uint64_t>(attempt * 10 + w));
        while (!stdfs::exists(stop)) {
          Exec({"ln", "-sf", registry::VersionName(rng.Below(3)), alias.string()});
        }
        return 0;
      }));
    }
    writers.push_back(ForkAs(kRoot, [&] {
      Rng rng(static_cast<uint64_t>(attempt));
      while (!stdfs::exists(stop)) {
        Exec({REGFS_BINARY, "--store", store_.string(), "alias", "set", "models",
              "cli-moved", registry::VersionName(rng.Below(3))});
      }
      return 0;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + 100 * attempt));
    const pid_t daemon = mount_->pid();
    ASSERT_EQ(kill(daemon, SIGKILL), 0);
    if (!WaitProcess(daemon, 20s)) {
      ADD_FAILURE() << "the daemon did not exit within 20 s of SIGKILL; its "
                       "threads:\n"
                    << ThreadStacks(daemon);
      // What a user does next: `regfs mount` on the same mount point.
      const ExecResult again =
          Exec({REGFS_BINARY, "--store", store_.string(), "mount", mnt_.string(),
                "--log-file", (dir_ / "wedged-remount.log").string()},
               std::chrono::seconds(20));
      ADD_FAILURE() << "then `regfs mount` on the same mount point "
                    << (again.killed ? std::string("hung (killed after 20 s)")
                                     : fmt::format("exited {}: {}", again.exit_code,
                                                   again.err));
      // Whatever it mounted on top goes; then the recovery a user has:
      // `umount -f` (MNT_FORCE makes FUSE abort the connection).
      if (again.exit_code == 0) {
        fs::testing::RunAs(kRoot, {"fusermount3", "-u", mnt_.string()});
      }
      const bool forced = ::umount2(mnt_.c_str(), MNT_FORCE) == 0;
      const bool freed = WaitProcess(daemon, 10s).has_value();
      std::printf("[ wedge ] umount -f %s; the daemon %s\n",
                  forced ? "succeeded" : std::strerror(errno),
                  freed ? "exited" : "is still stuck");
      if (!freed) {
        EXPECT_TRUE(AbortFuseConnection(connection));
        EXPECT_TRUE(WaitProcess(daemon, 30s).has_value());
      }
    }
    mount_->Abandon();
    fs::testing::WriteFile(stop, "");
    std::string hung;
    WaitAll(writers, 120s, &hung);
    EXPECT_EQ(hung, "") << "a caller stayed blocked on the dead mount";
    fs::testing::ForceUnmount(mnt_);
    mount_ = std::make_unique<Mount>(store_, mnt_,
                                     dir_ / fmt::format("wedge-{}.log", attempt));
    ASSERT_TRUE(mount_->Start());
    if (HasFailure()) break;
  }
  EXPECT_TRUE(StoreIsClean(store_));
}

TEST_F(CrashTest, KilledDaemonAndCliLoseNothingThatReportedSuccess) {
  const int cycles = EnvInt("REGFS_CRASH_CYCLES", 6);
  const uint64_t seed = static_cast<uint64_t>(
      EnvInt("REGFS_CRASH_SEED", static_cast<int>(::time(nullptr) % 100000)));
  std::printf("[ crash ] %d cycles, REGFS_CRASH_SEED=%llu\n", cycles,
              static_cast<unsigned long long>(seed));
  const auto started = std::chrono::steady_clock::now();
  for (int cycle = 0; cycle < cycles; ++cycle) {
    RunCycle(cycle, seed * 7919 + static_cast<uint64_t>(cycle));
    if (HasFatalFailure()) return;
    if (HasFailure() && EnvInt("REGFS_CRASH_KEEP_GOING", 0) != 1) {
      std::printf("[ crash ] stopping after the first failing cycle (%d); "
                  "REGFS_CRASH_KEEP_GOING=1 goes on\n",
                  cycle);
      return;
    }
  }
  std::printf("[ crash ] %d cycles in %.1f s\n", cycles,
              std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            started)
                  .count());
  // Abandoned temporary files of killed pushes: gc removes them, and the
  // store stays clean.
  const ExecResult gc = Exec({REGFS_BINARY, "--store", store_.string(), "gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_TRUE(StoreIsClean(store_));
  EXPECT_THAT(ListDir(registry::BlobsDirOf(store_) / "tmp"),
              ::testing::IsEmpty());
}

}  // namespace
}  // namespace regfs::reliability
