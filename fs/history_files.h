// The history files of the mount: `.regfs/history` (every event) and each
// collection's `.history`. Their text is JSON Lines from
// registry::RenderJsonLine -- the renderer of `regfs history --json` --
// kept in memory and extended by sequence number as events arrive, so
// getattr can report the current size (which `tail -f` polls) and reads
// never re-render.
#ifndef REGFS_FS_HISTORY_FILES_H_
#define REGFS_FS_HISTORY_FILES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "registry/error.h"
#include "registry/model.h"
#include "registry/mutex.h"
#include "registry/registry.h"

namespace regfs::fs {

// One history file's text. Thread-safe: `mu_` guards the text; Refresh
// holds it across its registry calls so that two refreshes never append
// the same events (lock order: HistoryText::mu_, then the registry's).
class HistoryText final {
 public:
  // `collection` empty: all events. With `until` (a frozen mount's
  // moment), only events up to it.
  HistoryText(std::string collection, std::optional<uint64_t> until);
  HistoryText(const HistoryText&) = delete;
  HistoryText& operator=(const HistoryText&) = delete;

  // Appends the events newer than those already rendered; returns the
  // text's size.
  registry::Result<uint64_t> Refresh(registry::Registry& registry);
  // Up to `size` bytes from `offset` (empty at or past the end).
  std::string Read(uint64_t offset, size_t size) const;
  uint64_t size() const;
  // The time of the newest rendered event (0 for none).
  registry::TimeMs last_time() const;

 private:
  const std::string collection_;
  const std::optional<uint64_t> until_;
  mutable Mutex mu_;
  std::string text_ GUARDED_BY(mu_);
  // Every event <= seen_seq_ is rendered.
  uint64_t seen_seq_ GUARDED_BY(mu_) = 0;
  registry::TimeMs last_time_ GUARDED_BY(mu_) = 0;
};

// The texts by collection ("" for the global file), created on first use
// and kept for the mount's life; each ends at `until` if set. Thread-safe.
class HistoryFiles final {
 public:
  explicit HistoryFiles(std::optional<uint64_t> until = std::nullopt)
      : until_(until) {}
  std::shared_ptr<HistoryText> Get(const std::string& collection);

 private:
  const std::optional<uint64_t> until_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<HistoryText>> texts_ GUARDED_BY(mu_);
};

}  // namespace regfs::fs

#endif  // REGFS_FS_HISTORY_FILES_H_
