// Group commit of alias moves, and the registry's one lock.
//
// Alias moves (Registry::SetAlias) that arrive while another is being
// applied share its transaction, and so its one sync: a mover joins the
// open batch (Join), applies its change inside a savepoint, and then
// either commits the batch, if no other mover is waiting for the lock (or
// kMaxBatch have joined), or waits until some later member has (Leave).
// Moves that arrive during the commit form the next batch. Nobody returns
// before the commit that holds their change is durable. Every other call
// takes the lock through Lock(), which waits until no batch is open, so
// nothing uncommitted is ever read or built upon; and no new batch opens
// while such a call waits, so batches cannot keep it out.
//
// Read-your-writes (change_listeners.h): every hold on the lock carries an
// AnnounceOnRelease; when it is destroyed, after the lock has been released
// and so after the change's commit (or rollback: then announcing is merely
// needless), it announces the history rows the thread wrote meanwhile
// (NoteWritten), if any.
//
// Thread safety: every member but the constructor is safe to call from
// any thread. Lock order: the one mutex only; no other lock is taken while
// holding it. A hold leaves Lock and Join inside the returned Held or
// Ticket, which Clang's analysis cannot follow inside them: those two are
// exempt. Lock is annotated ACQUIRE, so its callers are checked; Join's
// callers, and Leave, assert the hold their Ticket carries (AssertHeldBy).
#ifndef REGFS_REGISTRY_GROUP_COMMIT_H_
#define REGFS_REGISTRY_GROUP_COMMIT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>

#include "registry/change_listeners.h"
#include "registry/error.h"
#include "registry/mutex.h"
#include "registry/sql/connection.h"

namespace regfs::registry {

// Records that this thread has written history row `seq` while holding
// the lock; announced once the hold ends.
void NoteWritten(uint64_t seq);

// Announces, on destruction, what the thread noted (NoteWritten).
class AnnounceOnRelease final {
 public:
  explicit AnnounceOnRelease(ChangeAnnouncer* announcer)
      : announcer_(announcer) {}
  AnnounceOnRelease(AnnounceOnRelease&& other) noexcept
      : announcer_(std::exchange(other.announcer_, nullptr)) {}
  AnnounceOnRelease& operator=(AnnounceOnRelease&&) = delete;
  ~AnnounceOnRelease();

 private:
  ChangeAnnouncer* announcer_;
};

class GroupCommit final {
 public:
  static constexpr size_t kMaxBatch = 64;

  // How moves were grouped into commits (Registry::BatchStats).
  struct Stats {
    uint64_t commits = 0;  // successful commits of at least one move
    uint64_t moves = 0;    // moves applied by them
    uint64_t largest = 0;  // the most moves in one commit
  };

  // The lock, held; the member order releases it before announcing. A
  // scoped capability: the analysis knows a Held returned by Lock holds
  // mutex() until the Held is destroyed.
  class SCOPED_CAPABILITY Held final {
   public:
    Held(Mutex& mu, ChangeAnnouncer* announcer) ACQUIRE(mu)
        : announce_(announcer), lock_(mu) {}
    Held(Held&&) = default;
    Held& operator=(Held&&) = delete;
    ~Held() RELEASE() {}

   private:
    AnnounceOnRelease announce_;
    MutexLock lock_;
  };
  // A batch member's hold on the lock.
  struct Ticket {
    AnnounceOnRelease announce;  // after the commit that holds the change
    MutexLock lock;
    uint64_t batch = 0;
    // Set by Leave when its call committed the batch with this ticket's
    // change in it. That change was then the batch's last (a member that
    // commits is the last to have joined), and the lock has been held
    // since: what it read inside its savepoint is the store's state until
    // the ticket is destroyed.
    bool committed_here = false;
  };

  // `db` is the connection the batches write to; it must outlive this.
  GroupCommit(std::unique_ptr<sql::Connection>& db, ChangeAnnouncer& announcer)
      : db_(db), announcer_(announcer) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // The lock: what every Registry::Impl helper that touches the database
  // needs held (Impl::db is guarded by it).
  Mutex& mutex() RETURN_CAPABILITY(mu_) { return mu_; }
  // The lock, once no batch is open.
  Held Lock() ACQUIRE(mu_);
  // Joins (or opens) the batch; the change then goes in a savepoint. The
  // hold travels inside a Result, which the analysis cannot follow: the
  // caller states it with AssertHeldBy once the Join has succeeded.
  Result<Ticket> Join() EXCLUDES(mu_);
  // Tells the analysis that `ticket` holds mutex() (checked in debug
  // builds).
  void AssertHeldBy(const Ticket& ticket) const ASSERT_CAPABILITY(mu_);
  // Ends a member's part: `applied` says whether its change is in the
  // batch. Returns once that change is committed, or the commit's error.
  Status Leave(Ticket& ticket, bool applied);
  // Needs the lock held.
  Stats stats() const REQUIRES(mu_) { return stats_; }

 private:
  struct FailedBatch {
    Error error;
    size_t waiting = 0;  // members that have not picked the error up yet
  };
  static Status BatchLost();
  // Waits until no batch is open.
  void AwaitNoBatch() REQUIRES(mu_);
  // Joins the open batch, or opens one; returns its id.
  Result<uint64_t> JoinLocked() REQUIRES(mu_);
  // Closes the open batch with the outcome of its COMMIT.
  void End(Status committed) REQUIRES(mu_);

  std::unique_ptr<sql::Connection>& db_ GUARDED_BY(mu_);
  ChangeAnnouncer& announcer_;
  Mutex mu_;
  CondVar cv_;                   // open_ or lock_waiters_ changed
  std::atomic<int> joining_{0};  // movers waiting for mu_
  bool open_ GUARDED_BY(mu_) = false;
  uint64_t id_ GUARDED_BY(mu_) = 0;    // the open batch, or the last one
  uint64_t done_ GUARDED_BY(mu_) = 0;  // every batch up to it has ended
  size_t joined_ GUARDED_BY(mu_) = 0;  // members of the open batch
  size_t members_ GUARDED_BY(mu_) = 0;  // of them, changes applied
  int lock_waiters_ GUARDED_BY(mu_) = 0;  // Lock() calls waiting for a batch
  Stats stats_ GUARDED_BY(mu_);
  std::map<uint64_t, FailedBatch> failed_ GUARDED_BY(mu_);
};

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_GROUP_COMMIT_H_
