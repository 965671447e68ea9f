#include "registry/sql/rows.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

#include "registry/blob_store.h"
#include "registry/sql/dialect.h"

namespace regfs::registry::sql {

Result<std::string> AliasIsProtected(Engine engine) {
  auto same = EqualsIgnoringCase(engine, "p.name", "a.name");
  REGFS_TRY(same);
  return fmt::format("EXISTS (SELECT 1 FROM protected_names p WHERE {})",
                     *same);
}

Collection CollectionFromRow(const Statement& s) {
  Collection c;
  c.id = s.ColumnInt64(0);
  c.name = s.ColumnText(1);
  c.kind = static_cast<Kind>(s.ColumnInt64(2));
  c.created = s.ColumnInt64(3);
  c.creator_uid = static_cast<uid_t>(s.ColumnInt64(4));
  c.creator = s.ColumnText(5);
  c.next_number = static_cast<uint64_t>(s.ColumnInt64(6));
  return c;
}

Version VersionFromRow(const Statement& s) {
  Version v;
  v.id = s.ColumnInt64(0);
  v.collection_id = s.ColumnInt64(1);
  v.collection = s.ColumnText(2);
  v.number = static_cast<uint64_t>(s.ColumnInt64(3));
  v.kind = static_cast<Kind>(s.ColumnInt64(4));
  v.created = s.ColumnInt64(5);
  v.creator_uid = static_cast<uid_t>(s.ColumnInt64(6));
  v.creator = s.ColumnText(7);
  v.size = static_cast<uint64_t>(s.ColumnInt64(8));
  v.files = static_cast<uint64_t>(s.ColumnInt64(9));
  v.digest = s.ColumnText(10);
  v.blob = s.ColumnText(11);
  v.filename = s.ColumnText(12);
  v.description = s.ColumnText(13);
  v.created_seq = static_cast<uint64_t>(s.ColumnInt64(14));
  return v;
}

Result<Event> EventFromRow(const Statement& s) {
  Event e;
  e.seq = static_cast<uint64_t>(s.ColumnInt64(0));
  e.time = s.ColumnInt64(1);
  auto type = ParseEventType(s.ColumnText(2));
  if (!type) return Fail(Code::kCorruption, "unknown event type in history");
  e.type = *type;
  e.collection = s.ColumnText(3);
  e.alias = s.ColumnText(4);
  if (auto v = s.ColumnOptionalInt64(5)) {
    e.old_version = static_cast<uint64_t>(*v);
  }
  if (auto v = s.ColumnOptionalInt64(6)) {
    e.new_version = static_cast<uint64_t>(*v);
  }
  e.uid = static_cast<uid_t>(s.ColumnInt64(7));
  e.user = s.ColumnText(8);
  e.interface = s.ColumnText(9) == "fs" ? Interface::kFs : Interface::kCli;
  e.host = s.ColumnText(11);
  e.detail = nlohmann::json::parse(s.ColumnText(10), nullptr, false);
  if (!e.detail.is_object()) e.detail = nlohmann::json::object();
  // A rename's new name is stored in the detail (StoredDetail).
  if (auto to = e.detail.find("to"); e.type == EventType::kAliasRename &&
                                     to != e.detail.end() && to->is_string() &&
                                     !to->get_ref<const std::string&>().empty()) {
    e.renamed_to = to->get<std::string>();
    e.detail.erase(to);
  }
  return e;
}

TreeEntry TreeEntryFromRow(const Statement& s) {
  TreeEntry e;
  e.id = s.ColumnInt64(0);
  e.version_id = s.ColumnInt64(1);
  e.parent_id = s.ColumnInt64(2);
  e.name = s.ColumnText(3);
  e.is_dir = s.ColumnInt64(4) != 0;
  e.executable = s.ColumnInt64(5) != 0;
  e.size = static_cast<uint64_t>(s.ColumnInt64(6));
  e.blob = s.ColumnText(7);
  e.digest = std::string(BlobStore::DigestOf(e.blob));
  return e;
}

}  // namespace regfs::registry::sql
