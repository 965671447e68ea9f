// Commands on drafts (registry/drafts.h): drafts ls, rm, limits.
#include <fmt/format.h>
#include <pwd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/drafts.h"
#include "registry/history.h"
#include "registry/identity.h"
#include "registry/registry.h"
#include "tools/actions.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

// "123" or "123<unit>": the number and the unit's text.
reg::Result<std::pair<uint64_t, std::string_view>> SplitNumber(
    std::string_view text, std::string_view what) {
  uint64_t n = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) {
    return reg::Fail(reg::Code::kInvalidArgument,
                     fmt::format("'{}' is not a {}", text, what));
  }
  return std::pair(n, text.substr(static_cast<size_t>(end - text.data())));
}

// "50G", "512M", "1T", "100GiB", "4096" (bytes).
reg::Result<uint64_t> ParseSize(std::string_view text) {
  constexpr std::string_view kWhat = "size (e.g. 50G, 512M, 1T)";
  // A structured binding has a comma, which the macro would split at.
  REGFS_ASSIGN_OR_RETURN(const auto split, SplitNumber(text, kWhat));
  auto [n, unit] = split;
  if (unit.ends_with("iB")) unit.remove_suffix(2);
  if (unit.ends_with("B") && unit.size() == 2) unit.remove_suffix(1);
  static const std::map<std::string_view, int> kShift = {
      {"", 0}, {"B", 0}, {"K", 10}, {"M", 20}, {"G", 30}, {"T", 40}};
  const auto it = kShift.find(unit);
  if (it == kShift.end() ||
      (it->second > 0 && n > (~uint64_t{0} >> it->second))) {
    return reg::Fail(reg::Code::kInvalidArgument,
                     fmt::format("'{}' is not a {}", text, kWhat));
  }
  return n << it->second;
}

// "3d", "12h", "30m", "45s", "1w".
reg::Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  constexpr std::string_view kWhat = "duration (e.g. 7d, 12h, 30m)";
  REGFS_ASSIGN_OR_RETURN(const auto split, SplitNumber(text, kWhat));
  const auto [n, unit] = split;
  static const std::map<std::string_view, uint64_t> kSeconds = {
      {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}};
  const auto it = kSeconds.find(unit);
  if (it == kSeconds.end() || n > (uint64_t{1} << 40) / it->second) {
    return reg::Fail(reg::Code::kInvalidArgument,
                     fmt::format("'{}' is not a {}", text, kWhat));
  }
  return std::chrono::seconds(static_cast<int64_t>(n * it->second));
}

// "7d", "3d 4h", "12h", "5m", "0m".
std::string FormatDuration(std::chrono::seconds d) {
  const int64_t s = std::max<int64_t>(d.count(), 0);
  const int64_t days = s / 86400, hours = s % 86400 / 3600;
  if (days > 0) {
    return hours > 0 ? fmt::format("{}d {}h", days, hours)
                     : fmt::format("{}d", days);
  }
  if (hours > 0) return fmt::format("{}h", hours);
  return fmt::format("{}m", s / 60);
}

// A user name or a uid.
reg::Result<uid_t> ParseUser(const std::string& text) {
  uid_t uid = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), uid);
  if (ec == std::errc() && end == text.data() + text.size()) return uid;
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(text.c_str(), &pw, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    return reg::Fail(reg::Code::kNotFound,
                     fmt::format("no user named '{}'", text));
  }
  return found->pw_uid;
}

}  // namespace

reg::Status RunDraftsLs(Context& ctx, reg::Registry& registry,
                        const DraftArgs& args) {
  const reg::Identity& me = ctx.identity();
  REGFS_ASSIGN_OR_RETURN(const reg::Role role, registry.RoleOf(me));
  REGFS_ASSIGN_OR_RETURN(const auto drafts, registry.drafts().List());
  REGFS_ASSIGN_OR_RETURN(const auto collections, registry.ListCollections());
  std::map<int64_t, std::string> names;
  for (const auto& c : collections) names[c.id] = c.name;
  const reg::TimeMs now = reg::NowMs();
  Json list = Json::array();
  Table table({"COLLECTION", "USER", "DRAFT", "SIZE", "IDLE"});
  for (const auto& d : drafts) {
    if (role != reg::Role::kAdmin && d.uid != me.uid) continue;
    const auto it = names.find(d.collection_id);
    const std::string collection =
        it != names.end() ? it->second
                          : fmt::format("(deleted #{})", d.collection_id);
    const std::chrono::seconds idle((now - d.changed) / 1000);
    if (args.json) {
      list.push_back(Json{{"collection", collection},
                          {"uid", d.uid},
                          {"user", reg::UserName(d.uid)},
                          {"name", d.name},
                          {"dir", d.is_dir},
                          {"bytes", d.bytes},
                          {"changed", reg::FormatTime(d.changed)},
                          {"idle_seconds", idle.count()}});
    } else {
      table.AddRow({collection, reg::UserName(d.uid), d.name,
                    FormatSize(d.bytes), FormatDuration(idle)});
    }
  }
  if (args.json) {
    PrintJson(list);
  } else if (!table.empty()) {
    table.Print(stdout);
  }
  return {};
}

reg::Status PrepareDraftsRm(DraftArgs& args) {
  if (args.user.empty()) return {};
  REGFS_ASSIGN_OR_RETURN(args.owner, ParseUser(args.user));
  return {};
}

reg::Status RunDraftsRm(Context& ctx, reg::Registry& registry,
                        const DraftArgs& args) {
  const uid_t owner = args.owner.value_or(ctx.identity().uid);
  auto removed =
      registry.RemoveDraft(ctx.identity(), args.collection, owner, args.name);
  if (!removed) return removed;
  fmt::print("removed draft {}/{} of {}\n", args.collection, args.name,
             reg::UserName(owner));
  return {};
}

reg::Status PrepareDraftsLimits(DraftArgs& args) {
  if (!args.quota.empty()) {
    REGFS_ASSIGN_OR_RETURN(args.quota_bytes, ParseSize(args.quota));
  }
  if (!args.idle.empty()) {
    REGFS_ASSIGN_OR_RETURN(args.idle_time, ParseDuration(args.idle));
  }
  return {};
}

reg::Status RunDraftsLimits(Context& ctx, reg::Registry& registry,
                            const DraftArgs& args) {
  REGFS_ASSIGN_OR_RETURN(auto limits, registry.GetDraftLimits());
  if (args.quota_bytes || args.idle_time) {
    if (args.quota_bytes) limits.quota_bytes = *args.quota_bytes;
    if (args.idle_time) limits.idle = *args.idle_time;
    auto set = registry.SetDraftLimits(ctx.identity(), limits);
    if (!set) return set;
  }
  if (args.json) {
    PrintJson(Json{{"quota_bytes", limits.quota_bytes},
                   {"idle_seconds", limits.idle.count()}});
    return {};
  }
  fmt::print("quota {} per user, drafts idle for {} are removed\n",
             FormatSize(limits.quota_bytes), FormatDuration(limits.idle));
  return {};
}

}  // namespace regfs::tools
