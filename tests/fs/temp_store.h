// A fresh store in a temporary directory for the fs/ unit tests that need a
// Registry but no mount (caller_cache, xattrs, error_codes). Owns the
// directory and removes it, with everything in it, when destroyed.
#ifndef REGFS_TESTS_FS_TEMP_STORE_H_
#define REGFS_TESTS_FS_TEMP_STORE_H_

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "registry/identity.h"
#include "registry/model.h"
#include "registry/registry.h"

namespace regfs::fs::testing {

// Callers without passwd entries: their user name is the uid in decimal.
inline constexpr uid_t kMemberUid = 20001;
inline constexpr uid_t kViewerUid = 20002;

// An identity coming through the mount (Interface::kFs).
registry::Identity Caller(uid_t uid, std::vector<gid_t> groups = {});
// Root: admin of every store.
registry::Identity Admin();

class TempStore final {
 public:
  // Initialises a store owned by Admin() under a new temporary directory;
  // a failure fails the calling test (check HasFatalFailure()).
  TempStore();
  ~TempStore();
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  // False when the store could not be made (the test has failed then).
  bool ok() const { return registry_ != nullptr; }
  registry::Registry& reg() { return *registry_; }
  // A scratch directory beside the store for files to push.
  const std::filesystem::path& src() const { return src_; }

  // Writes src()/NAME with `content` and pushes it to `collection` as
  // Admin(): a file version.
  registry::Version PushFile(std::string_view collection, std::string_view name,
                             std::string_view content);

 private:
  std::filesystem::path dir_;
  std::filesystem::path src_;
  std::unique_ptr<registry::Registry> registry_;
};

}  // namespace regfs::fs::testing

#endif  // REGFS_TESTS_FS_TEMP_STORE_H_
