// `regfs verify COLLECTION[/VERSION]`: hashes the blobs of one version, or
// of every version of a collection, now, and prints one line per version.
#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

#include "registry/names.h"
#include "registry/registry.h"
#include "tools/actions.h"
#include "tools/commands.h"
#include "tools/output.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

// The version TARGET names, or every version of its collection.
reg::Result<std::vector<reg::Version>> VersionsToVerify(reg::Registry& store,
                                                        const VersionRef& ref) {
  if (ref.name.empty()) return store.ListVersions(ref.collection);
  REGFS_ASSIGN_OR_RETURN(reg::Version one,
                         store.Resolve(ref.collection, ref.name));
  std::vector<reg::Version> versions;
  versions.push_back(std::move(one));
  return versions;
}

}  // namespace

reg::Status RunVerify(Context&, reg::Registry& registry,
                      const VerifyArgs& args) {
  const VersionRef& ref = args.ref;
  REGFS_ASSIGN_OR_RETURN(const std::vector<reg::Version> versions,
                         VersionsToVerify(registry, ref));
  Json results = Json::array();
  size_t corrupt = 0;
  for (const reg::Version& v : versions) {
    const std::string name =
        fmt::format("{}/{}", ref.collection, reg::VersionName(v.number));
    auto s = registry.VerifyVersion(ref.collection, v.number);
    if (!s && s.error().code != reg::Code::kCorruption) return s;
    if (!s) ++corrupt;
    if (args.json) {
      Json j;
      j["version"] = name;
      j["ok"] = s.has_value();
      if (!s) j["problem"] = s.error().message;
      results.push_back(std::move(j));
    } else if (s) {
      fmt::print("{}: ok\n", name);
    } else {
      // "m/v1: blob …" or "zoo/v0/sub/f.bin: blob …": the line names the
      // version already, keep the file inside it.
      std::string_view why = s.error().message;
      if (why.starts_with(name + ": ")) why.remove_prefix(name.size() + 2);
      if (why.starts_with(name + "/")) why.remove_prefix(name.size() + 1);
      fmt::print("{}: CORRUPT: {}\n", name, why);
    }
  }
  if (args.json) PrintJson(results);
  if (corrupt == 0) return {};
  return reg::Fail(reg::Code::kCorruption,
                   fmt::format("{} of {} version{} of {} {} corrupt", corrupt,
                               versions.size(), versions.size() == 1 ? "" : "s",
                               ref.collection, corrupt == 1 ? "is" : "are"));
}

}  // namespace regfs::tools
