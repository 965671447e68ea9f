#include "fs/mount_table.h"

#include <limits.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace regfs::fs {
namespace {

// A path of /proc/self/mountinfo, with its octal escapes ("\040") undone.
std::string UnescapeMountPath(std::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' &&
        field[i + 1] <= '3') {
      out += static_cast<char>((field[i + 1] - '0') * 64 +
                               (field[i + 2] - '0') * 8 + (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// Field `index` (0-based) of a space-separated mountinfo line.
std::string_view Field(std::string_view line, int index) {
  size_t pos = 0;
  for (int field = 0; field < index; ++field) {
    pos = line.find(' ', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  const size_t end = line.find(' ', pos);
  return line.substr(pos, end == std::string_view::npos ? end : end - pos);
}

}  // namespace

std::optional<dev_t> MountedDevice(const std::filesystem::path& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::optional<dev_t> device;
  while (std::getline(in, line)) {
    // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 ...": the
    // third field is the device, the fifth the mount point. Later lines
    // are mounted on top of earlier ones.
    if (UnescapeMountPath(Field(line, 4)) != path.string()) continue;
    unsigned major_number = 0;
    unsigned minor_number = 0;
    if (std::sscanf(std::string(Field(line, 2)).c_str(), "%u:%u",
                    &major_number, &minor_number) == 2) {
      device = makedev(major_number, minor_number);
    }
  }
  return device;
}

std::filesystem::path ResolveParent(const std::filesystem::path& given) {
  namespace stdfs = std::filesystem;
  std::string text = given.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  stdfs::path path(text);
  // A symlink as the last component: readlink(2) does not ask a file
  // system mounted there (it answers EINVAL for its root without a
  // request).
  for (int hop = 0; hop < 40; ++hop) {
    char target[PATH_MAX];
    const ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof target) break;
    const stdfs::path next(std::string(target, static_cast<size_t>(n)));
    path = next.is_absolute() ? next : path.parent_path() / next;
  }
  std::error_code ec;
  const stdfs::path name = path.filename();
  if (name.empty() || name == "." || name == "..") {
    const stdfs::path whole = stdfs::weakly_canonical(path, ec);
    return ec ? path : whole;
  }
  // `..` in the parent is resolved after its symlinks, as the kernel does.
  const stdfs::path parent = stdfs::weakly_canonical(path.parent_path(), ec);
  if (ec) return path;
  return parent / name;
}

}  // namespace regfs::fs
