#include "tools/context.h"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "registry/shared_store.h"
#include "tools/mount_client.h"
#include "tools/store.h"

namespace regfs::tools {

namespace reg = regfs::registry;

int ReportError(std::string_view message) {
  std::string line(message);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  fmt::print(stderr, "regfs: {}\n", line);
  std::fflush(stderr);
  return kExitFailed;
}

int ReportError(const reg::Error& error) { return ReportError(error.message); }

int ExitCode(const reg::Status& outcome) {
  return outcome ? kExitOk : ReportError(outcome.error());
}

namespace {

// Whether the file system refuses the caller the store's directory or
// database (rather than, say, the store being damaged).
bool DeniedToCaller(const std::filesystem::path& store) {
  const bool denied_dir = ::access(store.c_str(), R_OK | W_OK | X_OK) != 0 &&
                          (errno == EACCES || errno == EPERM);
  if (denied_dir) return true;
  const std::filesystem::path db = store / reg::Registry::kDatabaseFileName;
  return ::access(db.c_str(), R_OK | W_OK) != 0 &&
         (errno == EACCES || errno == EPERM);
}

// " (NAME)" of the store's owner, or nothing if that cannot be told.
std::string OwnerOf(const std::filesystem::path& store) {
  struct stat st {};
  if (::stat(store.c_str(), &st) != 0) return {};
  const passwd* pw = ::getpwuid(st.st_uid);
  return pw != nullptr ? fmt::format(" ({})", pw->pw_name)
                       : fmt::format(" (uid {})", st.st_uid);
}

}  // namespace

std::filesystem::path Context::StorePath() const {
  std::filesystem::path store = store_option_.empty()
                                    ? reg::Registry::DefaultStorePath()
                                    : std::filesystem::path(store_option_);
  std::error_code ec;
  auto absolute = std::filesystem::absolute(store, ec);
  return ec ? store : absolute.lexically_normal();
}

const reg::Identity& Context::identity() {
  if (!identity_) identity_ = reg::Identity::Current(reg::Interface::kCli);
  return *identity_;
}

reg::Result<std::unique_ptr<reg::Registry>> Context::Open() const {
  const std::filesystem::path store = StorePath();
  std::error_code ec;
  const bool exists =
      std::filesystem::exists(store / reg::Registry::kDatabaseFileName, ec) ||
      std::filesystem::exists(store / reg::kSharedStoreConfigName, ec);
  // Only a clear "not there" earns the hint; EACCES and the like are left
  // to Open(), whose message names the failing call.
  if (!ec && !exists) {
    return reg::Fail(reg::Code::kNotFound,
                     fmt::format("no store at {}: pass --store MOUNTPOINT "
                                 "(a regfs mount) or set REGFS_STORE, or "
                                 "create one with 'regfs init'",
                                 store.string()));
  }
  auto registry = reg::Registry::Open(store);
  if (!registry && DeniedToCaller(store)) {
    return reg::Fail(registry.error().code,
                     fmt::format("{}: only the store's owner{} uses the CLI on "
                                 "it directly; everyone else works through a "
                                 "regfs mount of it",
                                 registry.error().message, OwnerOf(store)));
  }
  return registry;
}

reg::Result<std::unique_ptr<Store>> Context::OpenStore() {
  const std::filesystem::path store = StorePath();
  if (IsRegfsMount(store)) return MakeMountClient(store);
  REGFS_ASSIGN_OR_RETURN(auto registry, Open());
  return MakeDirectStore(std::move(registry), identity());
}

reg::Result<VersionRef> ParseVersionRef(std::string_view text, bool need_name) {
  VersionRef ref;
  const size_t slash = text.find('/');
  ref.collection = std::string(text.substr(0, slash));
  if (slash != std::string_view::npos) {
    ref.name = std::string(text.substr(slash + 1));
  }
  const bool bad = ref.collection.empty() ||
                   ref.name.find('/') != std::string::npos ||
                   (need_name && ref.name.empty());
  if (bad) {
    return reg::Fail(
        reg::Code::kInvalidArgument,
        fmt::format("'{}' is not {}", text,
                    need_name ? "COLLECTION/VERSION (e.g. models/v2 or "
                                "models/production)"
                              : "COLLECTION or COLLECTION/VERSION"));
  }
  return ref;
}

}  // namespace regfs::tools
