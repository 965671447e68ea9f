#include "fs/proc_groups.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string>

#include "registry/unique_fd.h"

namespace regfs::fs {

namespace {

// Holds a typical status file (1.4 KiB) whole; a thread with hundreds of
// groups has a longer one, and the buffer grows to hold it.
constexpr size_t kInitialBuffer = 4096;
// A status file lists at most NGROUPS_MAX (65536) groups of up to 10
// digits each: a file past this is not one.
constexpr size_t kMaxBuffer = size_t{1} << 20;

}  // namespace

std::optional<std::vector<gid_t>> ParseStatusGroups(std::string_view status) {
  constexpr std::string_view kKey = "Groups:";
  size_t at = 0;
  while (!status.substr(at).starts_with(kKey)) {
    at = status.find('\n', at);
    if (at == std::string_view::npos) return std::nullopt;
    ++at;
  }
  std::string_view line = status.substr(at + kKey.size());
  line = line.substr(0, line.find('\n'));
  std::vector<gid_t> groups;
  while (true) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) break;
    line.remove_prefix(start);
    gid_t gid = 0;
    const auto [end, ec] =
        std::from_chars(line.data(), line.data() + line.size(), gid);
    if (ec != std::errc() ||
        (end != line.data() + line.size() && *end != ' ' && *end != '\t')) {
      return std::nullopt;
    }
    groups.push_back(gid);
    line.remove_prefix(static_cast<size_t>(end - line.data()));
  }
  return groups;
}

std::optional<std::vector<gid_t>> ReadProcGroups(pid_t tid) {
  if (tid <= 0) return std::nullopt;
  const std::string path = fmt::format("/proc/{}/task/{}/status", tid, tid);
  registry::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string text(kInitialBuffer, '\0');
  size_t used = 0;
  while (true) {
    const ssize_t n = ::read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
    // A read that did not fill the buffer returned the whole file: /proc
    // generates it at the first read and hands out as much as fits.
    if (used < text.size()) break;
    if (text.size() >= kMaxBuffer) return std::nullopt;
    text.resize(text.size() * 2);
  }
  text.resize(used);
  return ParseStatusGroups(text);
}

}  // namespace regfs::fs
