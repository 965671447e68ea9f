#include "fs/staging.h"

#include <algorithm>

namespace regfs::fs {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

}  // namespace

Staging::Staging(NowFn now, Clock::duration private_lifetime,
                 Clock::duration commit_after)
    : now_(std::move(now)),
      private_lifetime_(private_lifetime),
      commit_after_(commit_after) {}

bool Staging::IsStagingOnlyName(std::string_view name) {
  return !name.empty() && name.front() == '.' && name != "." && name != "..";
}

bool Staging::IsCoreutilsTempName(std::string_view name) {
  return name.size() == 8 && name.starts_with("Cu") &&
         std::all_of(name.begin() + 2, name.end(), IsAlnum);
}

void Staging::NoteLookup(pid_t pid, int64_t collection_id,
                         std::string_view name, ExistingKind kind) {
  MutexLock lock(mu_);
  AddNoteLocked(
      pid, Note{collection_id, std::string(name), kind, std::nullopt, now_()});
}

void Staging::NoteCreateExists(pid_t pid, int64_t collection_id,
                               std::string_view name, std::string_view target) {
  MutexLock lock(mu_);
  AddNoteLocked(pid, Note{collection_id, std::string(name),
                          ExistingKind::kAlias, std::string(target), now_()});
}

void Staging::AddNoteLocked(pid_t pid, Note note) {
  if (notes_.size() > 1024 && note.when - last_prune_ >= kPruneEvery) {
    PruneNotesLocked(note.when);
    last_prune_ = note.when;
  }
  std::vector<Note>& notes = notes_[pid];
  // A repeated lookup of a name refreshes its note.
  std::erase_if(notes, [&](const Note& n) {
    return n.collection_id == note.collection_id && n.name == note.name &&
           n.failed_target == note.failed_target;
  });
  notes.push_back(std::move(note));
  if (notes.size() > kNotesPerPid) {
    notes.erase(notes.begin(),
                notes.end() - static_cast<std::ptrdiff_t>(kNotesPerPid));
  }
}

void Staging::PruneNotesLocked(Clock::time_point now) {
  std::erase_if(notes_, [&](const auto& item) {
    return item.second.empty() ||
           now - item.second.back().when > kReplaceWindow;
  });
}

std::optional<Existing> Staging::TakeReplaceEvidence(pid_t pid,
                                                     int64_t collection_id,
                                                     std::string_view name,
                                                     std::string_view target) {
  if (!IsCoreutilsTempName(name)) return std::nullopt;
  MutexLock lock(mu_);
  const auto it = notes_.find(pid);
  if (it == notes_.end()) return std::nullopt;
  const Clock::time_point now = now_();
  const Note* failed = nullptr;  // evidence (b)
  const Note* alias = nullptr;   // newest alias lookup, evidence (a)
  const Note* other = nullptr;   // newest lookup of a version or control
  for (const Note& note : it->second) {
    if (note.collection_id != collection_id) continue;
    if (now - note.when > kReplaceWindow) continue;
    if (note.failed_target) {
      if (*note.failed_target == target) failed = &note;
    } else if (note.kind == ExistingKind::kAlias) {
      alias = &note;
    } else {
      other = &note;
    }
  }
  std::optional<Existing> result;
  if (failed != nullptr) {
    result = Existing{failed->name, ExistingKind::kAlias};
  } else if (alias != nullptr) {
    result = Existing{alias->name, ExistingKind::kAlias};
  } else if (other != nullptr) {
    result = Existing{other->name, ExistingKind::kOther};
  }
  if (result) notes_.erase(it);
  return result;
}

Staging::AddResult Staging::CheckBoundsLocked(const StagedEntry& entry) const {
  if (staged_.contains(std::make_pair(entry.collection_id, entry.name))) {
    return AddResult::kNameTaken;
  }
  const auto it = per_user_.find(entry.who.uid);
  if (it != per_user_.end()) {
    return it->second >= kMaxStagedPerUser ? AddResult::kUserFull
                                           : AddResult::kAdded;
  }
  return per_user_.size() >= kMaxStagingUsers ? AddResult::kFull
                                              : AddResult::kAdded;
}

void Staging::InsertLocked(StagedEntry entry) {
  ++per_user_[entry.who.uid];
  auto key = std::make_pair(entry.collection_id, entry.name);
  staged_.emplace(std::move(key), std::move(entry));
}

void Staging::ForgetLocked(const StagedEntry& entry) {
  const auto it = per_user_.find(entry.who.uid);
  if (it == per_user_.end()) return;
  if (--it->second == 0) per_user_.erase(it);
}

Staging::AddResult Staging::Add(StagedEntry& entry) {
  MutexLock lock(mu_);
  const AddResult result = CheckBoundsLocked(entry);
  if (result != AddResult::kAdded) return result;
  entry.ino = MakeIno(NodeType::kStaged, next_id_++);
  entry.created = now_();
  InsertLocked(entry);
  return AddResult::kAdded;
}

bool Staging::Restore(StagedEntry entry) {
  MutexLock lock(mu_);
  if (CheckBoundsLocked(entry) != AddResult::kAdded) return false;
  InsertLocked(std::move(entry));
  return true;
}

std::optional<StagedEntry> Staging::Find(int64_t collection_id,
                                         std::string_view name) const {
  MutexLock lock(mu_);
  const auto it =
      staged_.find(std::make_pair(collection_id, std::string(name)));
  if (it == staged_.end()) return std::nullopt;
  return it->second;
}

std::optional<StagedEntry> Staging::Take(int64_t collection_id,
                                         std::string_view name,
                                         std::optional<Ino> ino) {
  MutexLock lock(mu_);
  const auto it =
      staged_.find(std::make_pair(collection_id, std::string(name)));
  if (it == staged_.end()) return std::nullopt;
  if (ino && it->second.ino != *ino) return std::nullopt;
  StagedEntry entry = std::move(it->second);
  staged_.erase(it);
  ForgetLocked(entry);
  return entry;
}

size_t Staging::CountOf(uid_t uid) const {
  MutexLock lock(mu_);
  const auto it = per_user_.find(uid);
  return it == per_user_.end() ? 0 : it->second;
}

std::vector<StagedEntry> Staging::Expire() {
  MutexLock lock(mu_);
  const Clock::time_point now = now_();
  std::vector<StagedEntry> expired;
  for (auto it = staged_.begin(); it != staged_.end();) {
    const Clock::duration lifetime = IsStagingOnlyName(it->second.name)
                                         ? private_lifetime_
                                         : commit_after_;
    if (now - it->second.created >= lifetime) {
      ForgetLocked(it->second);
      expired.push_back(std::move(it->second));
      it = staged_.erase(it);
    } else {
      ++it;
    }
  }
  PruneNotesLocked(now);
  return expired;
}

std::vector<StagedEntry> Staging::TakeAll() {
  MutexLock lock(mu_);
  std::vector<StagedEntry> all;
  all.reserve(staged_.size());
  for (auto& item : staged_) all.push_back(std::move(item.second));
  staged_.clear();
  per_user_.clear();
  return all;
}

}  // namespace regfs::fs
