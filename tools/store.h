// What the subcommands of `regfs` call: the registry's reads and changes,
// acting as the caller. Two implementations: DirectStore opens the store
// directory (the store's owner; tools/context.cc), MountClient talks to a
// regfs mount's control file (everyone; tools/mount_client.h), so that
// every subcommand prints the same and exits the same either way.
#ifndef REGFS_TOOLS_STORE_H_
#define REGFS_TOOLS_STORE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/error.h"
#include "registry/history.h"
#include "registry/identity.h"
#include "registry/model.h"
#include "registry/registry.h"
#include "registry/whoami.h"

namespace regfs::tools {

namespace reg = regfs::registry;

// Not thread-safe; one per command.
class Store {
 public:
  virtual ~Store() = default;

  // ---- Reads: as Registry's of the same name. ----
  virtual reg::Result<std::vector<reg::Collection>> ListCollections() = 0;
  virtual reg::Result<reg::Collection> GetCollection(std::string_view name) = 0;
  virtual reg::Result<std::vector<reg::Version>> ListVersionsInFull(
      std::string_view collection) = 0;
  virtual reg::Result<std::vector<reg::Alias>> ListAliases(
      std::string_view collection) = 0;
  virtual reg::Result<reg::Version> Resolve(std::string_view collection,
                                            std::string_view name) = 0;
  virtual reg::Result<reg::Version> GetVersionById(int64_t id) = 0;
  virtual reg::Result<std::vector<reg::TreeEntry>> ListTree(
      int64_t version_id, int64_t parent_id) = 0;
  virtual reg::Result<std::vector<reg::ProtectedName>> ListProtected() = 0;
  virtual reg::Result<std::vector<reg::Event>> History(
      const reg::HistoryFilter& filter) = 0;
  virtual reg::Result<uint64_t> LastSeq() = 0;
  virtual reg::Result<uint64_t> SeqAt(std::string_view moment) = 0;
  virtual reg::Result<reg::Alias> GetAliasAt(std::string_view collection,
                                             std::string_view name,
                                             uint64_t seq) = 0;
  virtual reg::Result<reg::Alias> GetAliasBefore(std::string_view collection,
                                                 std::string_view name,
                                                 uint64_t back) = 0;
  virtual reg::Result<std::vector<reg::RoleGrant>> ListRoles() = 0;
  virtual reg::Result<reg::Role> DefaultRole() = 0;
  // Who the caller is to this store, with its role and the store's path.
  virtual reg::Result<reg::WhoAmI> WhoAmI() = 0;
  // Where blob `key` lives in the store directory.
  virtual reg::Result<std::filesystem::path> BlobPath(std::string_view key) = 0;
  // Registry::Search as the caller (issue 16).
  virtual reg::Result<reg::SearchResults> Search(
      std::string_view term, const reg::SearchOptions& options) = 0;

  // ---- Changes, made as the caller. ----
  virtual reg::Result<reg::Alias> SetAlias(
      std::string_view collection, std::string_view alias,
      std::string_view target,
      std::optional<std::optional<uint64_t>> expected) = 0;
  virtual reg::Status RemoveAlias(std::string_view collection,
                                  std::string_view alias) = 0;
  virtual reg::Status RenameAlias(std::string_view collection,
                                  std::string_view from, std::string_view to,
                                  bool replace) = 0;
  virtual reg::Status AddTag(std::string_view collection, uint64_t number,
                             std::string_view tag) = 0;
  virtual reg::Status RemoveTag(std::string_view collection, uint64_t number,
                                std::string_view tag) = 0;
  virtual reg::Status Protect(std::string_view name) = 0;
  virtual reg::Status Unprotect(std::string_view name) = 0;
  virtual reg::Status Grant(std::string_view principal, reg::Role role) = 0;
  virtual reg::Status Revoke(std::string_view principal) = 0;
  virtual reg::Status DeleteVersion(std::string_view collection,
                                    uint64_t number) = 0;
  virtual reg::Status DeleteCollection(std::string_view name, bool all) = 0;
  // A new version from local files, with the request's progress callback.
  virtual reg::Result<reg::Version> Push(const reg::PushRequest& request) = 0;

  // The registry itself, for the commands that only the store's owner
  // runs on the store directory (fsck, gc, verify): InvalidArgument
  // naming `command` through a mount.
  virtual reg::Result<reg::Registry*> Direct(std::string_view command) = 0;
};

// The store directory opened by its owner: each call is the Registry's,
// made as `who`.
std::unique_ptr<Store> MakeDirectStore(std::unique_ptr<reg::Registry> registry,
                                       reg::Identity who);

}  // namespace regfs::tools

#endif  // REGFS_TOOLS_STORE_H_
