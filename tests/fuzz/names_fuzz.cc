// FuzzNames and FuzzLinkTarget: registry/names.h against DESIGN.md.
#include <fmt/format.h>

#include <string>
#include <string_view>

#include "registry/names.h"
#include "tests/fuzz/fuzz_targets.h"

namespace regfs::fuzz {
namespace {

using registry::ParseLinkTarget;
using registry::ParseVersionName;

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// DESIGN.md: 1-128 characters of A-Z a-z 0-9 . _ -, not starting with
// '.' or '-'.
bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 128 || s[0] == '.' || s[0] == '-') return false;
  for (char c : s) {
    if (!NameChar(c)) return false;
  }
  return true;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// `v<digits>` and `latest` are reserved, in any case.
bool IsReserved(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) c = Lower(c);
  return lower == "latest" ||
         (lower.size() >= 2 && lower[0] == 'v' && AllDigits(lower.substr(1)));
}

// "v0", "v12": no leading zero, fits in 64 bits.
std::optional<uint64_t> CanonicalVersion(std::string_view s) {
  if (s.size() < 2 || s[0] != 'v' || !AllDigits(s.substr(1))) return std::nullopt;
  if (s.size() > 2 && s[1] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : s.substr(1)) {
    if (__builtin_mul_overflow(v, 10, &v) ||
        __builtin_add_overflow(v, static_cast<uint64_t>(c - '0'), &v)) {
      return std::nullopt;
    }
  }
  return v;
}

// A message shown to a user stays on one line without control bytes.
void CheckMessage(const registry::Error& error, std::string_view input) {
  for (unsigned char c : error.message) {
    FUZZ_CHECK(c >= 0x20 && c != 0x7f,
               "a control byte in the message for '" + Escape(input) +
                   "': " + Escape(error.message));
  }
  FUZZ_CHECK(error.code == registry::Code::kInvalidArgument,
             "refusal of '" + Escape(input) + "' is not InvalidArgument");
}

// The collection of a target: a valid name built from the input.
std::string CollectionFrom(const std::string& raw) {
  std::string name;
  for (char c : raw) {
    if (NameChar(c)) name += c;
  }
  while (!name.empty() && (name[0] == '.' || name[0] == '-')) name.erase(0, 1);
  if (name.size() > 128) name.resize(128);
  if (name.empty() || IsReserved(name)) name = "models";
  return name;
}

}  // namespace

int FuzzNames(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  const bool name = IsName(s);
  for (const char* what : {"alias", "collection", "tag"}) {
    auto r = registry::ValidateName(s, what);
    FUZZ_CHECK(r.has_value() == name,
               fmt::format("ValidateName('{}') = {}, DESIGN.md says {}",
                           Escape(s), r.has_value(), name));
    if (!r) CheckMessage(r.error(), s);
  }
  FUZZ_CHECK(registry::ValidateTag(s).has_value() == name, "ValidateTag " + Escape(s));
  FUZZ_CHECK(registry::ValidateMetaKey(s).has_value() == name,
             "ValidateMetaKey " + Escape(s));
  const bool alias_ok = name && !IsReserved(s);
  for (auto r : {registry::ValidateAliasName(s), registry::ValidateCollectionName(s)}) {
    FUZZ_CHECK(r.has_value() == alias_ok,
               fmt::format("ValidateAliasName/CollectionName('{}') = {}, expected {}",
                           Escape(s), r.has_value(), alias_ok));
    if (!r) CheckMessage(r.error(), s);
  }
  const auto version = ParseVersionName(s);
  FUZZ_CHECK(version == CanonicalVersion(s), "ParseVersionName " + Escape(s));
  if (version) {
    FUZZ_CHECK(registry::VersionName(*version) == s, "VersionName round trip " + Escape(s));
  }
  return 0;
}

int FuzzLinkTarget(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const std::string collection = CollectionFrom(in.Str(40));
  const std::string target = in.Rest();
  auto parsed = ParseLinkTarget(collection, target);
  const std::string where =
      fmt::format("ParseLinkTarget('{}', '{}')", Escape(collection), Escape(target));

  // DESIGN.md's accepted relative forms, for a name that is a version,
  // `latest`, or any alias name. Absolute targets are the mount's to make
  // relative: the registry refuses them all.
  std::optional<std::string> expected;
  const size_t slash = target.rfind('/');
  const std::string last = slash == std::string::npos ? target : target.substr(slash + 1);
  const bool name_ok = last == "latest" || ParseVersionName(last) || IsName(last);
  if (name_ok && target.find('\0') == std::string::npos) {
    if (target == last || target == "./" + last ||
        target == "../" + collection + "/" + last) {
      expected = last;
    }
  }
  if (!parsed) {
    CheckMessage(parsed.error(), target);
    FUZZ_CHECK(!expected, where + " refused a target DESIGN.md accepts");
    return 0;
  }
  FUZZ_CHECK(expected.has_value(), where + " accepted '" + Escape(*parsed) +
                                       "' from a target DESIGN.md refuses");
  FUZZ_CHECK(*parsed == *expected, where + " = '" + Escape(*parsed) + "'");
  FUZZ_CHECK(parsed->find('/') == std::string::npos, where + ": a path");
  auto again = ParseLinkTarget(collection, *parsed);
  FUZZ_CHECK(again && *again == *parsed, where + ": not idempotent");
  return 0;
}

}  // namespace regfs::fuzz
