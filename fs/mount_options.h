// The -o options of `regfs mount` (MountOptions::fuse_options): which of
// them regfs reads itself and the list handed to libfuse.
#ifndef REGFS_FS_MOUNT_OPTIONS_H_
#define REGFS_FS_MOUNT_OPTIONS_H_

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/mount.h"
#include "registry/error.h"

namespace regfs::fs {

// A hidden option for tests only: how long staged symlinks wait
// (FileSystemOptions::staged_*), in milliseconds. Not passed to libfuse.
inline constexpr std::string_view kStagedLifetimeOption =
    "staged_lifetime_ms=";

// -o nopassthrough: reads of versions go through the daemon (splice from
// the blob's fd) even where the kernel could pass them through to the
// blob. Not passed to libfuse.
inline constexpr std::string_view kNoPassthroughOption = "nopassthrough";

// -o draftpassthrough: drafts' files are read and written by the kernel
// itself (FUSE passthrough), at the disk's speed; the quota is counted
// when they are closed or synced, and a publish waits for them to close
// (FileSystemOptions::draft_passthrough). Not passed to libfuse.
inline constexpr std::string_view kDraftPassthroughOption = "draftpassthrough";

// Every option of every -o, in order: "-o a,b -o c" is {a, b, c}. Empty
// ones (",,") are left out. The views point into `options`.
std::vector<std::string_view> SplitOptions(const MountOptions& options);

// Whether -o `name` was given.
bool HasOption(const MountOptions& options, std::string_view name);

// The value of the last -o NAME=VALUE (`prefix` is "NAME="), if any.
std::optional<std::string_view> OptionValue(const MountOptions& options,
                                            std::string_view prefix);

// -o staged_lifetime_ms=N: nullopt if not given; InvalidArgument, with
// the message for the user, if N is not 1..3600000.
registry::Result<std::optional<std::chrono::milliseconds>> StagedLifetime(
    const MountOptions& options);

// The -o list for libfuse: ours first (fsname, subtype, allow_other as
// root), then the user's, which libfuse parses (and may override ours
// with); without regfs's own options and default_permissions.
std::vector<std::string> MountOptionList(const MountOptions& options,
                                         const std::filesystem::path& store);

}  // namespace regfs::fs

#endif  // REGFS_FS_MOUNT_OPTIONS_H_
