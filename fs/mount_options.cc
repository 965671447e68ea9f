#include "fs/mount_options.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>

namespace regfs::fs {
namespace {

// Backslash-escapes ',' and '\' for a -o option value.
std::string EscapeOption(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::vector<std::string_view> SplitOptions(const MountOptions& options) {
  std::vector<std::string_view> list;
  for (const std::string& group : options.fuse_options) {
    std::string_view rest = group;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view opt = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
      if (!opt.empty()) list.push_back(opt);
    }
  }
  return list;
}

bool HasOption(const MountOptions& options, std::string_view name) {
  for (const std::string_view opt : SplitOptions(options)) {
    if (opt == name) return true;
  }
  return false;
}

std::optional<std::string_view> OptionValue(const MountOptions& options,
                                            std::string_view prefix) {
  std::optional<std::string_view> value;
  for (const std::string_view opt : SplitOptions(options)) {
    if (opt.starts_with(prefix)) value = opt.substr(prefix.size());
  }
  return value;
}

registry::Result<std::optional<std::chrono::milliseconds>> StagedLifetime(
    const MountOptions& options) {
  const auto text = OptionValue(options, kStagedLifetimeOption);
  if (!text) return std::nullopt;
  int64_t ms = 0;
  const auto [end, ec] =
      std::from_chars(text->data(), text->data() + text->size(), ms);
  if (ec != std::errc() || end != text->data() + text->size() || ms < 1 ||
      ms > 3600 * 1000) {
    return registry::Fail(
        registry::Code::kInvalidArgument,
        fmt::format("-o {}{}: expected milliseconds from 1 to 3600000",
                    kStagedLifetimeOption, *text));
  }
  return std::chrono::milliseconds(ms);
}

std::vector<std::string> MountOptionList(const MountOptions& options,
                                         const std::filesystem::path& store) {
  std::vector<std::string> list = {"fsname=" + EscapeOption(store.string()),
                                   "subtype=regfs"};
  bool allow_other_default = geteuid() == 0;
  for (const std::string_view opt : SplitOptions(options)) {
    if (opt.starts_with(kStagedLifetimeOption)) continue;
    if (opt == kNoPassthroughOption) continue;
    if (opt == kDraftPassthroughOption) continue;
    if (opt == "default_permissions") {
      spdlog::warn(
          "ignoring -o default_permissions: the registry decides "
          "who may change what");
      continue;
    }
    if (opt == "allow_root") allow_other_default = false;
    list.emplace_back(opt);
  }
  if (allow_other_default) list.insert(list.begin() + 2, "allow_other");
  return list;
}

}  // namespace regfs::fs
