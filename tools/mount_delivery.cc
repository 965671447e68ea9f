#include "tools/mount_delivery.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "delivery/deliverer_thread.h"
#include "fs/mount_options.h"
#include "registry/identity.h"
#include "registry/registry.h"

namespace regfs::tools {
namespace {

namespace reg = regfs::registry;

// The -o options SetUpDelivery takes (tools/mount_delivery.h).
constexpr std::string_view kNoDeliveryOption = "nodelivery";
constexpr std::string_view kDeliveryLeaseOption = "delivery_lease_ms=";
constexpr std::string_view kDeliveryRetryOption = "delivery_retry_ms=";

class DeliveryService final : public fs::MountService {
 public:
  DeliveryService(reg::Registry& registry, delivery::DelivererOptions options)
      : thread_(registry, reg::Identity::Current(reg::Interface::kFs),
                std::move(options)) {}

 private:
  delivery::DelivererThread thread_;
};

// The milliseconds of -o NAME=N (`prefix` is "NAME="), 1..3600000.
reg::Result<std::chrono::milliseconds> Milliseconds(std::string_view prefix,
                                                    std::string_view text) {
  uint64_t ms = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size() || ms < 1 ||
      ms > 3600 * 1000) {
    return reg::Fail(reg::Code::kInvalidArgument,
                     fmt::format("-o {}{}: expected milliseconds from 1 to "
                                 "3600000",
                                 prefix, text));
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

reg::Status SetUpDelivery(fs::MountOptions& options) {
  delivery::DelivererOptions tuning;
  bool deliver = true;
  std::vector<std::string> rest;
  for (const std::string_view opt : fs::SplitOptions(options)) {
    if (opt == kNoDeliveryOption) {
      deliver = false;
    } else if (opt.starts_with(kDeliveryLeaseOption)) {
      REGFS_ASSIGN_OR_RETURN(
          tuning.lease_ttl,
          Milliseconds(kDeliveryLeaseOption,
                       opt.substr(kDeliveryLeaseOption.size())));
    } else if (opt.starts_with(kDeliveryRetryOption)) {
      REGFS_ASSIGN_OR_RETURN(
          tuning.retry_base,
          Milliseconds(kDeliveryRetryOption,
                       opt.substr(kDeliveryRetryOption.size())));
    } else {
      rest.emplace_back(opt);
    }
  }
  options.fuse_options = std::move(rest);
  if (!deliver) return {};
  // libfuse ignores SIGPIPE in the daemon: a command that exits without
  // reading its stdin (delivery/exec.cc) cannot kill it.
  options.service = [tuning](reg::Registry& registry) {
    return std::make_unique<DeliveryService>(registry, tuning);
  };
  return {};
}

}  // namespace regfs::tools
