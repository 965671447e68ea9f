// Publish: a draft becomes a version (drafts.h, registry.h).
#include "registry/registry_impl.h"

namespace regfs::registry {

Result<Version> Registry::Publish(const Identity& who,
                                  const PublishRequest& r) {
  (void)who;
  return Fail(Code::kInvalidArgument,
              fmt::format("publishing {} is not available yet", r.draft));
}

Result<DraftGcReport> Registry::CollectDrafts(std::chrono::seconds idle) {
  (void)idle;
  return DraftGcReport{};
}

}  // namespace regfs::registry
