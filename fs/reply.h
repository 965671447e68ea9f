// What a request handler answers. Handlers return a Reply and never call
// fuse_reply_* themselves; the dispatcher (fuse_ops.cc) sends it, so each
// request gets exactly one reply on every path, exceptions included.
#ifndef REGFS_FS_REPLY_H_
#define REGFS_FS_REPLY_H_

#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "fs/history_files.h"
#include "fs/inode.h"
#include "registry/model.h"
#include "registry/unique_fd.h"

namespace regfs::fs {

class ControlReply;  // fs/control_file.h
struct DraftRoot;  // fs/draft_table.h

struct DirEntry {
  std::string name;
  Ino ino = 0;
  mode_t type = 0;  // S_IFDIR, S_IFREG or S_IFLNK
  // A version's attributes, from the listing that found it: readdirplus
  // answers with them instead of looking each version up again (a
  // collection's listing already read every version's row; issue 15).
  std::optional<registry::VersionAttrs> attrs;
};

// An open file or directory; fi->fh points at it from open/opendir until
// release/releasedir, which delete it.
struct Handle {
  enum class Kind { kBlob, kText, kHistory, kDir, kDraft };
  Kind kind = Kind::kBlob;
  registry::UniqueFd fd;                 // kBlob: the blob, read-only
  uint64_t ino = 0;                      // kBlob, kDir: its inode
  bool passed_through = false;  // kBlob, kDraft: (FuseOps, BackingFiles)
  std::string text;                      // kText: rendered at open
  std::shared_ptr<HistoryText> history;  // kHistory
  std::vector<DirEntry> entries;         // kDir: a snapshot at opendir
  // ctl: an open .regfs/ctl, whatever the kind: its last reply.
  std::shared_ptr<ControlReply> control;
  // kDraft (drafts-fs): fd is the draft's backing file, opened read-write
  // when `writable`; writes count against `owner`'s quota, at most
  // `quota` bytes of drafts; `draft` is the lock of its draft root.
  std::shared_ptr<DraftRoot> draft;
  uid_t owner = 0;
  bool writable = false;
  uint64_t quota = 0;
  // -o draftpassthrough: the kernel writes this writable draft file itself
  // (counted in draft->kernel_writers); `counted` is its disk bytes as the
  // quota's count last saw them (file_system_draft_passthrough.cc).
  bool kernel_writer = false;
  uint64_t counted = 0;
};

struct ErrorReply {
  int err = 0;  // 0: success without data
};
struct EntryReply {
  fuse_entry_param entry{};
};
struct AttrReply {
  struct stat attr {};
  double timeout = 0;
};
struct LinkReply {
  std::string target;
};
struct OpenReply {
  fuse_file_info info{};
  std::unique_ptr<Handle> handle;
  bool directory = false;
  // Ask the kernel to read handle->fd itself (FUSE passthrough).
  bool passthrough = false;
};
struct BufReply {
  std::string data;
};
// Read `size` bytes at `offset` of `fd` straight into the reply (splice).
struct FdReply {
  int fd = -1;
  size_t size = 0;
  off_t offset = 0;
};
struct XattrSizeReply {
  size_t size = 0;
};
struct StatfsReply {
  struct statvfs stat {};
};
struct NoneReply {};
// drafts-fs: bytes written, and an entry with its open file (create).
struct WriteReply {
  size_t size = 0;
};
struct CreateReply {
  fuse_entry_param entry{};
  fuse_file_info info{};
  std::unique_ptr<Handle> handle;
  bool passthrough = false;  // as OpenReply's
};

using Reply =
    std::variant<ErrorReply, EntryReply, AttrReply, LinkReply, OpenReply,
                 BufReply, FdReply, XattrSizeReply, StatfsReply, NoneReply,
                 WriteReply, CreateReply>;

}  // namespace regfs::fs

#endif  // REGFS_FS_REPLY_H_
