// Shared machinery of the mount tests: running programs as other users,
// starting and always stopping a real `regfs mount` daemon, and a fixture
// with a fresh store of example data mounted on a temporary directory.
//
// The tests need root (they act as several uids through setresuid) and
// /dev/fuse; without either they fail with a message saying so, never skip.
#ifndef REGFS_TESTS_FS_MOUNT_FIXTURE_H_
#define REGFS_TESTS_FS_MOUNT_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/history.h"
#include "registry/identity.h"
#include "registry/registry.h"

namespace regfs::fs::testing {

namespace stdfs = std::filesystem;

// Who a child process runs as. Uids without passwd entries: their user name
// is the decimal uid, so roles are granted to "20001" and so on.
struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary
  std::string name() const { return std::to_string(uid); }
};

inline const User kRoot{0, 0, {}};
inline const User kMember{20001, 20001, {}};
inline const User kViewer{20002, 20002, {}};
inline const User kAdmin{20003, 20003, {}};
inline const User kNoRole{20004, 20004, {}};            // only the default role
inline const User kGroupMember{20005, 20005, {30000}};  // member via group

struct RunResult {
  int exit_code = -1;  // 128 + N when killed by signal N
  std::string out;
  std::string err;
};

// Runs `argv` (PATH lookup) as `user` with LC_ALL=C, cwd "/", stdin from
// /dev/null; kills it after `timeout`.
RunResult RunAs(const User& user, const std::vector<std::string>& argv,
                std::chrono::seconds timeout = std::chrono::seconds(30));

// Starts `argv` as `user` with stdout and stderr appended to `output`;
// returns its pid (the caller reaps it with StopProcess). The child gets
// SIGTERM if the test process dies, so a crashed test leaves no daemon
// (and, the daemon unmounting on SIGTERM, no mount) behind.
pid_t Spawn(const User& user, const std::vector<std::string>& argv,
            const stdfs::path& output);
// SIGTERM, then SIGKILL after `grace`; reaps. Returns the exit code as Run.
int StopProcess(pid_t pid,
                std::chrono::milliseconds grace = std::chrono::seconds(3));
// Waits for `pid` at most `timeout`; nullopt if it is still running.
std::optional<int> WaitProcess(pid_t pid, std::chrono::milliseconds timeout);

// Runs `fn` in a child as `user` and returns what it returns (0 or an
// errno, at most 255). A crash returns -1.
int AsUser(const User& user, const std::function<int()>& fn);

bool IsMounted(const stdfs::path& mountpoint);
std::string ReadFile(const stdfs::path& path);
void WriteFile(const stdfs::path& path, const std::string& text);

// A `regfs mount -f` daemon in a child process. Stop() (and the destructor)
// always unmounts: fusermount3 -u, then -u -z, then kills the daemon.
class Mount final {
 public:
  Mount(stdfs::path store, stdfs::path mountpoint, stdfs::path log,
        std::vector<std::string> extra_args = {});
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;
  ~Mount();

  ::testing::AssertionResult Start();
  // Returns the daemon's exit code (-1 if it had to be killed).
  int Stop();
  // Forgets the daemon (already reaped by the caller) and leaves the mount
  // point as it is; the test cleans up.
  void Abandon() {
    pid_ = -1;
    abandoned_ = true;
  }
  pid_t pid() const { return pid_; }
  const stdfs::path& mountpoint() const { return mountpoint_; }
  const stdfs::path& log() const { return log_; }

 private:
  const stdfs::path store_;
  const stdfs::path mountpoint_;
  const stdfs::path log_;
  const std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  bool abandoned_ = false;
};

// Unmounts whatever is mounted at `mountpoint` (fusermount3 -u, then -uz).
void ForceUnmount(const stdfs::path& mountpoint);

// A temporary directory (mode 0755 so other uids reach the mount point)
// with a store of example data, mounted at dir/mnt:
//   models: v0 (tags baseline, meta framework=torch), v1 (3 MiB, aliases
//           candidate and production), v2; latest -> v2
//   zoo:    tree v0 with zoo_dataset.pt, zoo_labels.pt, docs/readme.txt
// `production` is protected. Roles: 20001 member, 20002 viewer, 20003
// admin, group 30000 member; the default role is viewer. The store is an
// embedded one at dir/store, or with REGFS_TEST_ENGINE=postgres a shared
// one (tests/registry/test_store.h): its node directory at dir/store, its
// blobs in dir/blobs.
class MountTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Paths inside the mount and of the source files.
  stdfs::path M(const std::string& relative) const { return mnt_ / relative; }
  stdfs::path Src(const std::string& name) const { return dir_ / "src" / name; }

  registry::Registry& reg() { return *registry_; }
  const registry::Identity& root() const { return root_; }
  // The store's newest event number.
  uint64_t LastSeq();
  // Events after `seq`, oldest first.
  std::vector<registry::Event> EventsAfter(uint64_t seq);
  // The target of the alias according to the registry ("v1"), or "".
  std::string AliasTarget(const std::string& collection,
                          const std::string& alias);
  // Polls readlink(path) until it equals `target` or `timeout` passes;
  // returns how long it took, or nullopt.
  std::optional<std::chrono::milliseconds> WaitForLink(
      const stdfs::path& path, const std::string& target,
      std::chrono::milliseconds timeout);
  // A failure message with the daemon's log.
  std::string DaemonLog() const;

  stdfs::path dir_;
  stdfs::path store_;
  stdfs::path mnt_;
  std::unique_ptr<registry::Registry> registry_;
  registry::Identity root_;
  std::unique_ptr<Mount> mount_;
};

}  // namespace regfs::fs::testing

#endif  // REGFS_TESTS_FS_MOUNT_FIXTURE_H_
