// Staging: the one-event rule for `ln -sf`, and symlinks held in memory.
//
// coreutils' `ln -sf v3 models/candidate` first calls
// symlinkat("v3", "candidate"). The name exists, so that fails with EEXIST
// (the kernel answers it itself after looking the name up through us, or
// our symlink handler does). ln then creates a symlink with a random name
// "CuXXXXXX" in the same directory and renames it over "candidate".
// Committing that temporary symlink as an alias would record a create, a
// rename and a removal. Instead the mount keeps it in memory ("staged"),
// and the rename turns into one SetAlias of the destination: the history
// shows exactly one alias.move and nothing of the temporary name.
//
// Evidence that a symlink is the second step of such a replace: its name
// has coreutils' temporary form ("Cu" and six of gnulib's tempname
// letters, [A-Za-z0-9]), and within kReplaceWindow the same process (the
// request's pid)
//   (a) looked up an existing entry of the collection -- the kernel's
//       revalidation of the name before an exclusive create; or
//   (b) got EEXIST from our symlink handler, and the new symlink has the
//       same target text.
// Besides, every symlink whose name starts with '.' (never a valid alias
// name) is staged, so tools that write ".tmp" and rename it work too.
//
// A staged entry is visible to lookup, readlink and getattr of this mount
// only: not to readdir, other mounts or the CLI. It ends when renamed (the
// rename commits it) or unlinked, or else (the mount's OnTick):
//   - a '.'-name, the creator's private staging, is dropped
//     kPrivateLifetime (30 s) after its creation;
//   - any other name (a symlink call that succeeded on a name that may be
//     an alias, e.g. "Customer" from a program that had looked up an
//     alias) is committed as an alias with its creator's identity
//     kCommitAfter (10 s) after its creation, and when the mount stops
//     cleanly: a successful symlink of such a name is never lost.
// Expire() hands over both kinds; the caller tells them apart with
// IsStagingOnlyName. Tests shorten both times (-o staged_lifetime_ms=).
//
// Bounds: one user (uid) holds at most kMaxStagedPerUser entries (Add
// answers kUserFull: EDQUOT for that user only), and at most
// kMaxStagingUsers distinct uids hold entries at once (kFull: ENOSPC). One
// user can fill only their own quota: the global size, kMaxStagedPerUser x
// kMaxStagingUsers, takes that many distinct uids.
//
// Thread-safe: one mutex guards all tables; no call blocks on I/O.
#ifndef REGFS_FS_STAGING_H_
#define REGFS_FS_STAGING_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fs/inode.h"
#include "registry/identity.h"
#include "registry/model.h"
#include "registry/mutex.h"

namespace regfs::fs {

// What an existing name of a collection is.
enum class ExistingKind { kAlias, kOther /* a version, `.history` */ };

struct Existing {
  std::string name;
  ExistingKind kind = ExistingKind::kAlias;
};

struct StagedEntry {
  int64_t collection_id = 0;
  std::string name;
  Ino ino = 0;
  std::string target;    // the text given to symlink()
  uint64_t version = 0;  // the version it named when created
  // The creator, as their symlink call was checked: the owner of the
  // entry, whose quota it counts against, and who commits it on expiry.
  registry::Identity who;
  registry::TimeMs created_ms = 0;  // wall clock, shown as mtime
  std::chrono::steady_clock::time_point created;
};

class Staging final {
 public:
  using Clock = std::chrono::steady_clock;
  using NowFn = std::function<Clock::time_point()>;

  // How long evidence of ln's first step counts: on a loaded machine the
  // two steps of ln -sf can be seconds apart.
  static constexpr auto kReplaceWindow = std::chrono::seconds(30);
  // A staged '.'-name (private staging) is dropped after this.
  static constexpr std::chrono::milliseconds kPrivateLifetime{30000};
  // Any other staged name is committed as an alias after this: ln renames
  // its temporary at once, this is slack for a loaded machine.
  static constexpr std::chrono::milliseconds kCommitAfter{10000};
  static constexpr size_t kMaxStagedPerUser = 1024;
  static constexpr size_t kMaxStagingUsers = 256;
  explicit Staging(NowFn now = &Clock::now,
                   Clock::duration private_lifetime = kPrivateLifetime,
                   Clock::duration commit_after = kCommitAfter);
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  // '.'-names are staged whatever came before.
  static bool IsStagingOnlyName(std::string_view name);
  // "Cu" followed by six of [A-Za-z0-9]: coreutils' samedir_template.
  static bool IsCoreutilsTempName(std::string_view name);

  // Evidence (a): `pid` looked up `name`, which exists in the collection.
  void NoteLookup(pid_t pid, int64_t collection_id, std::string_view name,
                  ExistingKind kind);
  // Evidence (b): our symlink(target, name) by `pid` failed with EEXIST.
  void NoteCreateExists(pid_t pid, int64_t collection_id, std::string_view name,
                        std::string_view target);
  // Whether symlink(target, name) by `pid` in the collection is the second
  // step of a replace; if so returns the name it will replace (an alias
  // is preferred over a version among recent lookups) and forgets the
  // evidence of `pid`.
  std::optional<Existing> TakeReplaceEvidence(pid_t pid, int64_t collection_id,
                                              std::string_view name,
                                              std::string_view target);

  enum class AddResult {
    kAdded,
    kNameTaken,
    kUserFull,  // entry.who.uid holds kMaxStagedPerUser entries
    kFull,      // kMaxStagingUsers other uids hold entries
  };
  // Adds a staged entry, giving it a fresh inode and creation time.
  AddResult Add(StagedEntry& entry);
  // Puts back an entry taken by Take, keeping its inode and creation time
  // (a rename that failed); false if its name was staged again meanwhile
  // or a bound is reached.
  bool Restore(StagedEntry entry);
  std::optional<StagedEntry> Find(int64_t collection_id,
                                  std::string_view name) const;
  // Removes and returns the entry; with `ino`, only if it is still the
  // entry of that inode (not one staged under the same name since).
  std::optional<StagedEntry> Take(int64_t collection_id, std::string_view name,
                                  std::optional<Ino> ino = std::nullopt);
  // How many entries `uid` holds.
  size_t CountOf(uid_t uid) const;
  // Removes and returns the '.'-names older than the private lifetime and
  // the other names older than the commit delay.
  std::vector<StagedEntry> Expire();
  // Removes and returns every entry (the mount stops).
  std::vector<StagedEntry> TakeAll();

 private:
  struct Note {
    int64_t collection_id = 0;
    std::string name;
    ExistingKind kind = ExistingKind::kAlias;
    std::optional<std::string> failed_target;  // evidence (b)
    Clock::time_point when;
  };
  static constexpr size_t kNotesPerPid = 4;
  // Notes of processes that made none for kReplaceWindow are dropped at
  // most this often: each ln is a new pid, so at hundreds of moves a
  // second the table holds thousands of them, and scanning it on every
  // lookup cost more than the lookup.
  static constexpr std::chrono::seconds kPruneEvery{1};
  void AddNoteLocked(pid_t pid, Note note) REQUIRES(mu_);
  void PruneNotesLocked(Clock::time_point now) REQUIRES(mu_);
  AddResult CheckBoundsLocked(const StagedEntry& entry) const REQUIRES(mu_);
  void InsertLocked(StagedEntry entry) REQUIRES(mu_);
  void ForgetLocked(const StagedEntry& entry) REQUIRES(mu_);

  const NowFn now_;
  const Clock::duration private_lifetime_;
  const Clock::duration commit_after_;
  mutable Mutex mu_;
  std::unordered_map<pid_t, std::vector<Note>> notes_ GUARDED_BY(mu_);
  Clock::time_point last_prune_ GUARDED_BY(mu_){};
  std::map<std::pair<int64_t, std::string>, StagedEntry> staged_
      GUARDED_BY(mu_);
  // Entries of each uid, > 0.
  std::unordered_map<uid_t, size_t> per_user_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
};

}  // namespace regfs::fs

#endif  // REGFS_FS_STAGING_H_
