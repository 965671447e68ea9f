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
  ReadColumns(s, 0, c.id, c.name, c.kind, c.created, c.creator_uid, c.creator,
              c.next_number);
  return c;
}

Version VersionFromRow(const Statement& s) {
  Version v;
  ReadColumns(s, 0, v.id, v.collection_id, v.collection, v.number, v.kind,
              v.created, v.creator_uid, v.creator, v.size, v.files, v.digest,
              v.blob, v.filename, v.description, v.created_seq);
  return v;
}

Result<Event> EventFromRow(const Statement& s) {
  Event e;
  ReadColumns(s, 0, e.seq, e.time);
  auto type = ParseEventType(s.ColumnText(2));
  if (!type) return Fail(Code::kCorruption, "unknown event type in history");
  e.type = *type;
  ReadColumns(s, 3, e.collection, e.alias, e.old_version, e.new_version, e.uid,
              e.user);
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
  ReadColumns(s, 0, e.id, e.version_id, e.parent_id, e.name, e.is_dir,
              e.executable, e.size, e.blob);
  e.digest = std::string(BlobStore::DigestOf(e.blob));
  return e;
}

}  // namespace regfs::registry::sql
