#include "fs/xattrs.h"

#include <fmt/format.h>

#include "registry/history.h"
#include "registry/names.h"

namespace regfs::fs {
namespace {

void Add(XattrList& list, std::string_view name, std::string value) {
  if (value.empty()) return;
  list.emplace_back(fmt::format("{}{}", kXattrPrefix, name), std::move(value));
}

std::string Join(const std::vector<std::string>& items) {
  return fmt::format("{}", fmt::join(items, ","));
}

std::string Bool(bool value) { return value ? "true" : "false"; }

}  // namespace

XattrList VersionXattrs(const registry::Version& version,
                        const std::vector<registry::Alias>& aliases) {
  XattrList list;
  Add(list, "collection", version.collection);
  Add(list, "version", registry::VersionName(version.number));
  Add(list, "kind", std::string(registry::KindName(version.kind)));
  Add(list, "digest", version.digest);
  Add(list, "created", registry::FormatTime(version.created));
  Add(list, "creator", version.creator);
  Add(list, "filename", version.filename);
  Add(list, "size", std::to_string(version.size));
  if (version.kind == registry::Kind::kTree) {
    Add(list, "files", std::to_string(version.files));
  }
  Add(list, "description", version.description);
  Add(list, "tags", Join(version.tags));
  Add(list, "aliases", Join(version.aliases));
  for (const auto& [key, value] : version.metadata) {
    Add(list, fmt::format("meta.{}", key), value);
  }
  for (const registry::Alias& alias : aliases) {
    if (alias.version_id != version.id) continue;
    const std::string base = fmt::format("alias.{}.", alias.name);
    Add(list, base + "protected", Bool(alias.is_protected));
    Add(list, base + "updated", registry::FormatTime(alias.updated));
    Add(list, base + "updated_by", alias.updated_by);
  }
  return list;
}

XattrList TreeEntryXattrs(const registry::TreeEntry& entry) {
  XattrList list;
  if (entry.is_dir) return list;
  Add(list, "digest", entry.digest);
  Add(list, "size", std::to_string(entry.size));
  return list;
}

std::string XattrNames(const XattrList& list) {
  std::string names;
  for (const auto& [name, value] : list) {
    names += name;
    names += '\0';
  }
  return names;
}

std::optional<std::string> FindXattr(const XattrList& list,
                                     std::string_view name) {
  for (const auto& [key, value] : list) {
    if (key == name) return value;
  }
  return std::nullopt;
}

}  // namespace regfs::fs
