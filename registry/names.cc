#include "registry/names.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace regfs::registry {
namespace {

char ToLowerAscii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

}  // namespace

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    parts.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLowerAscii(c);
  return out;
}

Status ValidateName(std::string_view name, std::string_view what) {
  if (name.empty())
    return Fail(Code::kInvalidArgument, fmt::format("{} name is empty", what));
  if (name.size() > kMaxNameLength) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} name '{}' is longer than {} characters", what,
                            Printable(name), kMaxNameLength));
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return Fail(Code::kInvalidArgument,
                  fmt::format("{} name '{}' may contain only A-Z a-z 0-9 . _ -",
                              what, Printable(name)));
    }
  }
  if (name.front() == '.' || name.front() == '-') {
    return Fail(
        Code::kInvalidArgument,
        fmt::format("{} name '{}' is invalid: must not start with '.' or '-'",
                    what, Printable(name)));
  }
  return {};
}

bool IsReservedName(std::string_view name) {
  // `latest`, and `v` followed by digits (v01 too), in any case.
  if (EqualsIgnoreCase(name, kLatest)) return true;
  return name.size() > 1 && (name[0] == 'v' || name[0] == 'V') &&
         name.find_first_not_of("0123456789", 1) == std::string_view::npos;
}

static Status ValidateNotReserved(std::string_view name,
                                  std::string_view what) {
  if (auto s = ValidateName(name, what); !s) return s;
  if (IsReservedName(name)) {
    return Fail(Code::kInvalidArgument,
                fmt::format("{} name '{}' is reserved (latest and v<digits> "
                            "name versions, in any case)",
                            what, name));
  }
  return {};
}

Status ValidateAliasName(std::string_view name) {
  return ValidateNotReserved(name, "alias");
}

Status ValidateCollectionName(std::string_view name) {
  return ValidateNotReserved(name, "collection");
}

std::optional<uint64_t> ParseVersionName(std::string_view name) {
  if (name.size() < 2 || name[0] != 'v') return std::nullopt;
  const std::string_view digits = name.substr(1);
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return value;
}

std::string Printable(std::string_view s, size_t max_bytes) {
  std::string out;
  for (unsigned char c : s.substr(0, max_bytes)) {
    if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max_bytes) out += "...";
  return out;
}

std::string VersionName(uint64_t number) { return fmt::format("v{}", number); }

Result<std::string> ParseLinkTarget(std::string_view collection,
                                    std::string_view target) {
  auto invalid = [&](std::string_view why) {
    return Fail(Code::kInvalidArgument,
                fmt::format("symlink target '{}' {}", Printable(target), why));
  };
  if (target.empty()) return invalid("is empty");
  if (target.find('\0') != std::string_view::npos)
    return invalid("contains NUL");
  std::vector<std::string_view> parts = SplitPath(target);
  std::string_view name;
  if (target.front() == '/') {
    // Only a mount knows where it is mounted: it turns an absolute target
    // under its own mount point into a relative one before it gets here.
    return invalid(fmt::format(
        "is an absolute path: name a version or alias of '{}' (v3, ./v3, "
        "../{}/v3)",
        collection, collection));
  }
  if (parts.size() == 1) {
    name = parts[0];
  } else if (parts.size() == 2 && parts[0] == ".") {
    name = parts[1];
  } else if (parts.size() == 3 && parts[0] == ".." && parts[1] == collection) {
    name = parts[2];
  } else {
    return invalid(
        fmt::format("must name a version or alias of '{}' (v3, ./v3, ../{}/v3)",
                    collection, collection));
  }
  if (name.empty() || name == "." || name == "..") {
    return invalid("does not name a version or alias");
  }
  if (name != kLatest && !ParseVersionName(name)) {
    if (auto s = ValidateName(name, "alias"); !s) {
      return invalid("does not name a version or alias");
    }
  }
  return std::string(name);
}

bool IsDraftName(std::string_view name) {
  return name.size() > 1 && name.front() == '.' && name != ".." &&
         name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Status ValidateTag(std::string_view tag) { return ValidateName(tag, "tag"); }

Status ValidateMetaKey(std::string_view key) {
  return ValidateName(key, "metadata key");
}

}  // namespace regfs::registry
