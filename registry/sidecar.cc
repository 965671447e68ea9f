#include "registry/sidecar.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace regfs::registry {

namespace {

using nlohmann::json;

std::unexpected<Error> Invalid(std::string_view key, std::string_view expected,
                               const json& value) {
  return Fail(Code::kInvalidArgument,
              fmt::format("\"{}\" must be {}, not {}", key, expected,
                          value.type_name()));
}

// Appends the strings of `value` (a list of strings; a lone string too
// when `one_allowed`) to `out`.
Status AppendStrings(std::string_view key, const json& value, bool one_allowed,
                     std::vector<std::string>& out) {
  const std::string_view expected =
      one_allowed ? "a string or a list of strings" : "a list of strings";
  if (one_allowed && value.is_string()) {
    out.push_back(value.get<std::string>());
    return {};
  }
  if (!value.is_array()) return Invalid(key, expected, value);
  for (const json& item : value) {
    if (!item.is_string()) return Invalid(key, expected, item);
    out.push_back(item.get<std::string>());
  }
  return {};
}

}  // namespace

Result<PublishMetadata> ParseSidecar(std::string_view text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Fail(Code::kInvalidArgument, "not valid JSON");
  }
  if (!doc.is_object()) {
    return Fail(Code::kInvalidArgument,
                fmt::format("must be a JSON object, not {}", doc.type_name()));
  }
  PublishMetadata out;
  for (const auto& [key, value] : doc.items()) {
    if (key == "aliases") {
      REGFS_TRY(AppendStrings(key, value, false, out.aliases));
    } else if (key == "valohai.alias") {
      REGFS_TRY(AppendStrings(key, value, true, out.aliases));
    } else if (key == "tags" || key == "valohai.tags") {
      REGFS_TRY(AppendStrings(key, value, false, out.tags));
    } else if (key == "description") {
      if (!value.is_string()) return Invalid(key, "a string", value);
      out.description = value.get<std::string>();
    } else {
      out.metadata.emplace_back(
          key, value.is_string() ? value.get<std::string>() : value.dump());
    }
  }
  return out;
}

}  // namespace regfs::registry
