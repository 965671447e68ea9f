// The supplementary groups of the thread that made a FUSE request, read
// from its /proc status file: the kernel does not send them.
//
// libfuse's fuse_req_getgroups reads the same file, but with a 1 KiB
// buffer first: a status file is about 1.4 KiB, so every call opened,
// read and closed it twice. Alias moves ask twice per `ln -sfn` (the
// symlink and the rename are changes, checked against the caller's
// groups), and that was four opens and reads of a generated file per move
// (issue 15). This reads it once, into a buffer that holds a typical file
// whole, and grows the buffer only for a file that fills it.
#ifndef REGFS_FS_PROC_GROUPS_H_
#define REGFS_FS_PROC_GROUPS_H_

#include <sys/types.h>

#include <optional>
#include <string_view>
#include <vector>

namespace regfs::fs {

// The groups of thread `tid` (as FUSE reports a caller's pid); nullopt if
// the thread is gone or its status file cannot be read or parsed.
std::optional<std::vector<gid_t>> ReadProcGroups(pid_t tid);

// The gids of the "Groups:" line of a status file's text; nullopt when
// there is no such line or it holds something other than gids.
std::optional<std::vector<gid_t>> ParseStatusGroups(std::string_view status);

}  // namespace regfs::fs

#endif  // REGFS_FS_PROC_GROUPS_H_
