#include "tools/context.h"

#include <fmt/format.h>

#include <cstdio>
#include <system_error>

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
  const bool exists = std::filesystem::exists(store / "registry.db", ec);
  // Only a clear "not there" earns the hint; EACCES and the like are left
  // to Open(), whose message names the failing call.
  if (!ec && !exists) {
    return reg::Fail(reg::Code::kNotFound,
                     fmt::format("no store at {}: create one with 'regfs "
                                 "init', or pass --store or set REGFS_STORE",
                                 store.string()));
  }
  return reg::Registry::Open(store);
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
