#include "registry/group_commit.h"

#include <algorithm>
#include <cassert>

namespace regfs::registry {
namespace {

// The newest history row this thread has written while holding the lock.
thread_local uint64_t t_unannounced_seq = 0;

}  // namespace

void NoteWritten(uint64_t seq) {
  t_unannounced_seq = std::max(t_unannounced_seq, seq);
}

AnnounceOnRelease::~AnnounceOnRelease() {
  if (announcer_ == nullptr || t_unannounced_seq == 0) return;
  announcer_->Announce(std::exchange(t_unannounced_seq, 0));
}

// The hold leaves in the returned Held, which the analysis cannot follow.
GroupCommit::Held GroupCommit::Lock() NO_THREAD_SAFETY_ANALYSIS {
  Held held(mu_, &announcer_);
  AwaitNoBatch();
  return held;
}

void GroupCommit::AwaitNoBatch() {
  if (!open_) return;
  ++lock_waiters_;
  while (open_) cv_.Wait(mu_);
  if (--lock_waiters_ == 0) cv_.NotifyAll();
}

// The hold leaves in the returned Ticket, which the analysis cannot follow.
Result<GroupCommit::Ticket> GroupCommit::Join() NO_THREAD_SAFETY_ANALYSIS {
  joining_.fetch_add(1);
  MutexLock lock(mu_);
  joining_.fetch_sub(1);
  auto batch = JoinLocked();
  REGFS_TRY(batch);
  return Ticket{AnnounceOnRelease(&announcer_), std::move(lock), *batch};
}

Result<uint64_t> GroupCommit::JoinLocked() {
  // After an I/O error SQLite may have rolled the batch back itself.
  if (open_ && !db_->InTransaction()) End(BatchLost());
  // Calls that waited for the last batch go first.
  while (!open_ && lock_waiters_ != 0) cv_.Wait(mu_);
  if (!open_) {
    REGFS_TRY(db_->BeginWrite());
    open_ = true;
    ++id_;
    joined_ = 0;
    members_ = 0;
  }
  ++joined_;
  return id_;
}

void GroupCommit::AssertHeldBy([[maybe_unused]] const Ticket& ticket) const {
  assert(ticket.lock.Holds(mu_));
}

Status GroupCommit::Leave(Ticket& ticket, bool applied) {
  AssertHeldBy(ticket);
  if (applied) ++members_;
  if (id_ == ticket.batch && open_ &&
      (joining_.load() == 0 || joined_ >= kMaxBatch)) {
    Status committed = db_->InTransaction() ? db_->Commit() : BatchLost();
    ticket.committed_here = applied && committed.has_value();
    End(std::move(committed));
  }
  if (!applied) return {};
  while (done_ < ticket.batch) cv_.Wait(mu_);
  const auto failed = failed_.find(ticket.batch);
  if (failed == failed_.end()) return {};
  Error error = failed->second.error;
  if (--failed->second.waiting == 0) failed_.erase(failed);
  return std::unexpected(std::move(error));
}

Status GroupCommit::BatchLost() {
  return Fail(Code::kIoError,
              "the store rolled back a batch of alias moves after an "
              "earlier error; nothing in it was applied");
}

void GroupCommit::End(Status committed) {
  if (!committed) {
    if (db_->InTransaction()) db_->Rollback();
    if (members_ > 0) failed_[id_] = FailedBatch{committed.error(), members_};
  } else if (members_ > 0) {
    ++stats_.commits;
    stats_.moves += members_;
    stats_.largest = std::max<uint64_t>(stats_.largest, members_);
  }
  open_ = false;
  done_ = id_;
  cv_.NotifyAll();
}

}  // namespace regfs::registry
