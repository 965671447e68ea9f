#include "registry/group_commit.h"

#include <algorithm>

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

GroupCommit::Held GroupCommit::Lock() {
  Held held{AnnounceOnRelease(&announcer_), std::unique_lock(mu_)};
  if (open_) {
    ++lock_waiters_;
    cv_.wait(held.lock, [this] { return !open_; });
    if (--lock_waiters_ == 0) cv_.notify_all();
  }
  return held;
}

Result<GroupCommit::Ticket> GroupCommit::Join() {
  joining_.fetch_add(1);
  std::unique_lock lock(mu_);
  joining_.fetch_sub(1);
  // After an I/O error SQLite may have rolled the batch back itself.
  if (open_ && !db_->InTransaction()) End(BatchLost());
  if (!open_) {
    // Calls that waited for the last batch go first.
    cv_.wait(lock, [this] { return open_ || lock_waiters_ == 0; });
  }
  if (!open_) {
    REGFS_TRY(db_->BeginWrite());
    open_ = true;
    ++id_;
    joined_ = 0;
    members_ = 0;
  }
  ++joined_;
  return Ticket{AnnounceOnRelease(&announcer_), std::move(lock), id_};
}

Status GroupCommit::Leave(Ticket& ticket, bool applied) {
  if (applied) ++members_;
  if (id_ == ticket.batch && open_ &&
      (joining_.load() == 0 || joined_ >= kMaxBatch)) {
    End(db_->InTransaction() ? db_->Commit() : BatchLost());
  }
  if (!applied) return {};
  cv_.wait(ticket.lock, [&] { return done_ >= ticket.batch; });
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
  cv_.notify_all();
}

}  // namespace regfs::registry
