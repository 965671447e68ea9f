// Internal to registry/: the small readers that the JSON codecs
// (model_json.cc, automations_json.cc) share to read a value back. They
// turn nlohmann's exceptions and absent keys into Results and defaults, so
// that no codec throws; not part of any public header.
#ifndef REGFS_REGISTRY_JSON_READ_H_
#define REGFS_REGISTRY_JSON_READ_H_

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "registry/error.h"
#include "registry/model_json.h"

namespace regfs::registry {

// Runs `read`, which may throw nlohmann's exceptions on a missing key or a
// wrong type, and turns them into InvalidArgument naming `what`.
template <class T, class Read>
Result<T> Guarded(std::string_view what, const OrderedJson& json, Read read) {
  if (!json.is_object()) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} is not a JSON object", what));
  }
  try {
    return read();
  } catch (const nlohmann::json::exception& e) {
    return Fail(Code::kInvalidArgument,
                fmt::format("malformed {}: {}", what, e.what()));
  }
}

// The string at `key`, or "" when it is absent or null; throws (for
// Guarded) when it is of another type.
inline std::string StringOr(const OrderedJson& json, const char* key) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return {};
  return it->get<std::string>();
}

// The number at `key`, or `fallback` when it is absent or null; throws
// (for Guarded) when it is of another type.
template <class T>
T NumberOr(const OrderedJson& json, const char* key, T fallback = T{}) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  return it->get<T>();
}

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_JSON_READ_H_
