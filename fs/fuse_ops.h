// The libfuse low-level operations of regfs: thin trampolines that find the
// FileSystem (the session's userdata), call its handler inside a noexcept
// wrapper, and send the Reply it returns. An exception becomes EIO (ENOMEM
// for bad_alloc) and is logged; every request gets exactly one reply.
#ifndef REGFS_FS_FUSE_OPS_H_
#define REGFS_FS_FUSE_OPS_H_

#include <fuse_lowlevel.h>

namespace regfs::fs {

// The table to pass to fuse_session_new with a FileSystem* as userdata.
const fuse_lowlevel_ops& FuseOps();

}  // namespace regfs::fs

#endif  // REGFS_FS_FUSE_OPS_H_
