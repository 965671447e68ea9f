// regfs cache ls|warm|drop: the node cache of a store whose blobs live in
// S3 (issue 17). They work on this node's store directory, as its owner:
// the cache is the node's, not the registry's.
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "registry/registry.h"
#include "tools/actions.h"
#include "tools/commands.h"
#include "tools/context.h"
#include "tools/output.h"

namespace regfs::tools {
namespace reg = regfs::registry;

reg::Status RunCacheLs(Context&, reg::Registry& registry,
                       const JsonArgs& args) {
  REGFS_ASSIGN_OR_RETURN(const reg::CacheStatus status, registry.CacheList());
  uint64_t bytes = 0;
  for (const reg::CachedBlob& blob : status.blobs) bytes += blob.size;
  if (args.json) {
    Json j;
    j["blobs_in"] = status.url;
    j["limit"] = status.limit;
    j["bytes"] = bytes;
    Json blobs = Json::array();
    for (const reg::CachedBlob& blob : status.blobs) {
      Json b;
      b["key"] = blob.key;
      b["size"] = blob.size;
      b["used"] = reg::FormatTime(blob.used_ms);
      b["open"] = blob.open;
      blobs.push_back(std::move(b));
    }
    j["blobs"] = std::move(blobs);
    PrintJson(j);
    return {};
  }
  Table table({"BLOB", "SIZE", "USED", "OPEN"});
  for (const reg::CachedBlob& blob : status.blobs) {
    table.AddRow({blob.key, FormatSize(blob.size),
                  reg::FormatTime(blob.used_ms), blob.open ? "yes" : "-"});
  }
  if (!table.empty()) table.Print(stdout);
  fmt::print(
      "{} blob{} cached, {} of {} (blobs in {}; least recently used "
      "first)\n",
      status.blobs.size(), status.blobs.size() == 1 ? "" : "s",
      FormatSize(bytes), FormatSize(status.limit), status.url);
  return {};
}

reg::Status PrepareCacheWarm(CacheWarmArgs& args) {
  args.parsed.clear();
  for (const std::string& text : args.refs) {
    REGFS_ASSIGN_OR_RETURN(VersionRef ref, ParseVersionRef(text, true));
    args.parsed.push_back(std::move(ref));
  }
  return {};
}

reg::Status RunCacheWarm(Context& ctx, reg::Registry& registry,
                         const CacheWarmArgs& args) {
  Json all = Json::array();
  uint64_t warmed = 0;  // bytes, all refs together
  for (const VersionRef& ref : args.parsed) {
    REGFS_ASSIGN_OR_RETURN(
        const reg::CacheWarmReport report,
        registry.CacheWarm(ctx.identity(), ref.collection, ref.name));
    warmed += report.bytes;
    if (args.json) {
      Json j;
      j["ref"] = fmt::format("{}/{}", ref.collection, ref.name);
      j["blobs"] = report.blobs;
      j["bytes"] = report.bytes;
      j["fetched"] = report.fetched;
      all.push_back(std::move(j));
    } else {
      fmt::print("{}/{}: {} blob{} ({}), {} fetched, {} already cached\n",
                 ref.collection, ref.name, report.blobs,
                 report.blobs == 1 ? "" : "s", FormatSize(report.bytes),
                 report.fetched, report.blobs - report.fetched);
    }
  }
  if (args.json) PrintJson(all);
  // More than the cache holds: the bound won, and the first of them went
  // again. Said, so that nobody counts on them being there.
  if (warmed > 0) {
    REGFS_ASSIGN_OR_RETURN(const reg::CacheStatus status, registry.CacheList());
    if (warmed > status.limit) {
      fmt::print(stderr,
                 "regfs: warning: these versions hold {}, more than this "
                 "node's cache-size of {}: the least recently used of "
                 "them were evicted again\n",
                 FormatSize(warmed), FormatSize(status.limit));
    }
  }
  return {};
}

reg::Status RunCacheDrop(Context& ctx, reg::Registry& registry,
                         const JsonArgs& args) {
  REGFS_ASSIGN_OR_RETURN(const reg::CacheEviction dropped,
                         registry.CacheDrop(ctx.identity()));
  if (args.json) {
    Json j;
    j["blobs_removed"] = dropped.blobs;
    j["bytes_removed"] = dropped.bytes;
    j["kept_open"] = dropped.kept_open;
    PrintJson(j);
    return {};
  }
  fmt::print("dropped {} cached blob{} ({}); {} kept: open\n", dropped.blobs,
             dropped.blobs == 1 ? "" : "s", FormatSize(dropped.bytes),
             dropped.kept_open);
  return {};
}

}  // namespace regfs::tools
