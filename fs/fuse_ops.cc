#include "fs/fuse_ops.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <exception>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "fs/file_system.h"
#include "fs/reply.h"

namespace regfs::fs {
namespace {

FileSystem& Fs(fuse_req_t req) {
  return *static_cast<FileSystem*>(fuse_req_userdata(req));
}

Request RequestOf(fuse_req_t req) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return Request{req, ctx->uid, ctx->gid, ctx->pid, std::nullopt};
}

Handle& HandleOf(const fuse_file_info* fi) {
  return *reinterpret_cast<Handle*>(static_cast<uintptr_t>(fi->fh));
}

// Lets the kernel read the blob of `r` itself (FUSE passthrough), with
// the one backing file of its inode (the kernel refuses a second); where
// it refuses, reads come to the daemon (Read splices them from the fd).
// Drafts (-o draftpassthrough) likewise, reads and writes: where the
// kernel refuses, their writes come to the daemon (Write).
void PassThrough(fuse_req_t req, Handle& handle, fuse_file_info& info) noexcept {
#if FUSE_USE_VERSION >= 317
  const int id = Fs(req).backing_files().Acquire(handle.ino, [&] {
    return fuse_passthrough_open(req, handle.fd.get());
  });
  if (id <= 0) {
    Fs(req).PassthroughRefused();
    Fs(req).KernelWritesRefused(handle);
    return;
  }
  handle.passed_through = true;
  info.backing_id = id;
  // The kernel reads the blob's own page cache, not this file's.
  info.keep_cache = 0;
#else
  (void)req;
  (void)info;
  Fs(req).KernelWritesRefused(handle);
#endif
}

void ClosePassThrough(fuse_req_t req, Handle& handle) noexcept {
#if FUSE_USE_VERSION >= 317
  if (!handle.passed_through) return;
  handle.passed_through = false;
  Fs(req).backing_files().Release(handle.ino, [req](int id) {
    (void)fuse_passthrough_close(req, id);
  });
#else
  (void)req;
  (void)handle;
#endif
}

// Sends `reply`; never throws.
void Send(fuse_req_t req, Reply&& reply) noexcept {
  std::visit(
      [req](auto&& r) noexcept {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, ErrorReply>) {
          fuse_reply_err(req, r.err);
        } else if constexpr (std::is_same_v<T, EntryReply>) {
          fuse_reply_entry(req, &r.entry);
        } else if constexpr (std::is_same_v<T, AttrReply>) {
          fuse_reply_attr(req, &r.attr, r.timeout);
        } else if constexpr (std::is_same_v<T, LinkReply>) {
          fuse_reply_readlink(req, r.target.c_str());
        } else if constexpr (std::is_same_v<T, OpenReply>) {
          if (r.passthrough) PassThrough(req, *r.handle, r.info);
          r.info.fh = reinterpret_cast<uintptr_t>(r.handle.get());
          // On failure (the request was interrupted) no release follows:
          // the handle stays owned here and is freed.
          if (fuse_reply_open(req, &r.info) == 0) {
            (void)r.handle.release();
          } else {
            ClosePassThrough(req, *r.handle);
            Fs(req).Release(*r.handle);
          }
        } else if constexpr (std::is_same_v<T, BufReply>) {
          fuse_reply_buf(req, r.data.data(), r.data.size());
        } else if constexpr (std::is_same_v<T, FdReply>) {
          // FUSE_BUFVEC_INIT's C compound literal, spelled in C++.
          fuse_bufvec buf{};
          buf.count = 1;
          buf.buf[0].size = r.size;
          buf.buf[0].flags =
              static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
          buf.buf[0].fd = r.fd;
          buf.buf[0].pos = r.offset;
          fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
        } else if constexpr (std::is_same_v<T, XattrSizeReply>) {
          fuse_reply_xattr(req, r.size);
        } else if constexpr (std::is_same_v<T, StatfsReply>) {
          fuse_reply_statfs(req, &r.stat);
        } else if constexpr (std::is_same_v<T, NoneReply>) {
          fuse_reply_none(req);
        } else if constexpr (std::is_same_v<T, WriteReply>) {
          fuse_reply_write(req, r.size);
        } else if constexpr (std::is_same_v<T, CreateReply>) {
          if (r.passthrough) PassThrough(req, *r.handle, r.info);
          r.info.fh = reinterpret_cast<uintptr_t>(r.handle.get());
          if (fuse_reply_create(req, &r.entry, &r.info) == 0) {
            (void)r.handle.release();
          } else {
            ClosePassThrough(req, *r.handle);
            Fs(req).Release(*r.handle);
          }
        }
      },
      reply);
}

// Runs `handler` and sends its reply: the noexcept trampoline.
template <class Handler>
void Dispatch(fuse_req_t req, std::string_view op, Handler&& handler) noexcept {
  int err = EIO;
  try {
    Send(req, handler());
    return;
  } catch (const std::bad_alloc&) {
    err = ENOMEM;
    spdlog::warn("{}: out of memory", op);
  } catch (const std::exception& e) {
    spdlog::warn("{}: {}", op, e.what());
  } catch (...) {
    spdlog::warn("{}: unknown exception", op);
  }
  fuse_reply_err(req, err);
}

// Forget must not reply with an error; it only drops counts.
void ForgetOne(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) noexcept {
  Fs(req).Forget(ino, nlookup);
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  static_cast<FileSystem*>(userdata)->Init(conn);
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Dispatch(req, "lookup",
           [&] { return Fs(req).Lookup(RequestOf(req), parent, name); });
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  ForgetOne(req, ino, nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) {
    ForgetOne(req, forgets[i].ino, forgets[i].nlookup);
  }
  fuse_reply_none(req);
}

void OpGetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Dispatch(req, "getattr",
           [&] { return Fs(req).GetAttr(RequestOf(req), ino); });
}

void OpSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info* fi) {
  Dispatch(req, "setattr", [&] {
    return Fs(req).SetAttr(RequestOf(req), ino, *attr, to_set,
                           fi ? &HandleOf(fi) : nullptr);
  });
}

void OpReadLink(fuse_req_t req, fuse_ino_t ino) {
  Dispatch(req, "readlink",
           [&] { return Fs(req).ReadLink(RequestOf(req), ino); });
}

void OpMkNod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
             dev_t) {
  Dispatch(req, "mknod",
           [&] { return Fs(req).MkNod(RequestOf(req), parent, name, mode); });
}

void OpMkDir(fuse_req_t req, fuse_ino_t parent, const char* name,
             mode_t mode) {
  Dispatch(req, "mkdir",
           [&] { return Fs(req).MkDir(RequestOf(req), parent, name, mode); });
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Dispatch(req, "unlink",
           [&] { return Fs(req).Unlink(RequestOf(req), parent, name); });
}

void OpRmDir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Dispatch(req, "rmdir",
           [&] { return Fs(req).RmDir(RequestOf(req), parent, name); });
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent,
               const char* name) {
  Dispatch(req, "symlink",
           [&] { return Fs(req).Symlink(RequestOf(req), link, parent, name); });
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name,
              fuse_ino_t new_parent, const char* new_name, unsigned flags) {
  Dispatch(req, "rename", [&] {
    return Fs(req).Rename(RequestOf(req), parent, name, new_parent, new_name,
                          flags);
  });
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent,
            const char* new_name) {
  Dispatch(req, "link", [&] {
    return Fs(req).Link(RequestOf(req), ino, new_parent, new_name);
  });
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Dispatch(req, "open",
           [&] { return Fs(req).Open(RequestOf(req), ino, fi->flags); });
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off,
            fuse_file_info* fi) {
  Dispatch(req, "read", [&] {
    return Fs(req).Read(RequestOf(req), HandleOf(fi), size, off);
  });
}

void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size,
             off_t off, fuse_file_info* fi) {
  Dispatch(req, "write", [&] {
    return Fs(req).Write(RequestOf(req), ino, HandleOf(fi),
                         std::string_view(buf, size), off);
  });
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  ClosePassThrough(req, HandleOf(fi));
  Fs(req).Release(HandleOf(fi));
  delete &HandleOf(fi);
  fuse_reply_err(req, 0);
}

void OpOpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  Dispatch(req, "opendir",
           [&] { return Fs(req).OpenDir(RequestOf(req), ino); });
}

void OpReadDir(fuse_req_t req, fuse_ino_t, size_t size, off_t off,
               fuse_file_info* fi) {
  Dispatch(req, "readdir", [&] {
    return Fs(req).ReadDir(RequestOf(req), HandleOf(fi), size, off);
  });
}

void OpReadDirPlus(fuse_req_t req, fuse_ino_t, size_t size, off_t off,
                   fuse_file_info* fi) {
  Dispatch(req, "readdirplus", [&] {
    return Fs(req).ReadDirPlus(RequestOf(req), HandleOf(fi), size, off);
  });
}

void OpReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete &HandleOf(fi);
  fuse_reply_err(req, 0);
}

void OpStatFs(fuse_req_t req, fuse_ino_t) {
  Dispatch(req, "statfs", [&] { return Fs(req).StatFs(RequestOf(req)); });
}

void OpSetXattr(fuse_req_t req, fuse_ino_t ino, const char* name,
                const char* value, size_t size, int flags) {
  Dispatch(req, "setxattr", [&] {
    return Fs(req).SetXattr(RequestOf(req), ino, name,
                            std::string_view(value, size), flags);
  });
}

void OpGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Dispatch(req, "getxattr",
           [&] { return Fs(req).GetXattr(RequestOf(req), ino, name, size); });
}

void OpListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Dispatch(req, "listxattr",
           [&] { return Fs(req).ListXattr(RequestOf(req), ino, size); });
}

void OpRemoveXattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  Dispatch(req, "removexattr",
           [&] { return Fs(req).RemoveXattr(RequestOf(req), ino, name); });
}

void OpAccess(fuse_req_t req, fuse_ino_t ino, int mask) {
  Dispatch(req, "access",
           [&] { return Fs(req).Access(RequestOf(req), ino, mask); });
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name,
              mode_t mode, fuse_file_info* fi) {
  Dispatch(req, "create", [&] {
    return Fs(req).Create(RequestOf(req), parent, name, mode, fi->flags);
  });
}

void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Dispatch(req, "flush",
           [&] { return Fs(req).Flush(RequestOf(req), HandleOf(fi)); });
}

void OpFsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info* fi) {
  Dispatch(req, "fsync", [&] {
    return Fs(req).Fsync(RequestOf(req), HandleOf(fi), datasync != 0);
  });
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetAttr;
  ops.setattr = OpSetAttr;
  ops.readlink = OpReadLink;
  ops.mknod = OpMkNod;
  ops.mkdir = OpMkDir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmDir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.release = OpRelease;
  ops.opendir = OpOpenDir;
  ops.readdir = OpReadDir;
  ops.readdirplus = OpReadDirPlus;
  ops.releasedir = OpReleaseDir;
  ops.statfs = OpStatFs;
  ops.setxattr = OpSetXattr;
  ops.getxattr = OpGetXattr;
  ops.listxattr = OpListXattr;
  ops.removexattr = OpRemoveXattr;
  ops.access = OpAccess;
  ops.create = OpCreate;
  ops.flush = OpFlush;
  ops.fsync = OpFsync;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& FuseOps() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace regfs::fs
