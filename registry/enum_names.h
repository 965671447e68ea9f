// The names of an enum's values, as one table per enum: a value's name,
// and the value a name spells. A table's rows are EnumName or any struct
// with the same `value` and `name` members. The tables are
// enum_names.cc's, but for history.cc's kinds of events. registry/
// internal.
#ifndef REGFS_REGISTRY_ENUM_NAMES_H_
#define REGFS_REGISTRY_ENUM_NAMES_H_

#include <fmt/format.h>

#include <cstddef>
#include <optional>
#include <string_view>

#include "registry/error.h"

namespace regfs::registry {

template <class Enum>
struct EnumName {
  Enum value;
  std::string_view name;
};

// The `column` of the row of `value` in `table`, or `fallback` if the
// table lacks it.
template <class Row, size_t N, class Column>
constexpr Column ColumnOf(const Row (&table)[N], decltype(Row::value) value,
                          Column Row::*column, Column fallback) {
  for (const auto& e : table) {
    if (e.value == value) return e.*column;
  }
  return fallback;
}

// The name of `value` in `table`, or `fallback` if the table lacks it.
template <class Row, size_t N>
constexpr std::string_view NameOf(const Row (&table)[N],
                                  decltype(Row::value) value,
                                  std::string_view fallback) {
  return ColumnOf(table, value, &Row::name, fallback);
}

// The value named `name` in `table`, or nullopt.
template <class Row, size_t N>
constexpr std::optional<decltype(Row::value)> ValueNamed(
    const Row (&table)[N], std::string_view name) {
  for (const auto& e : table) {
    if (e.name == name) return e.value;
  }
  return std::nullopt;
}

// The value named `name` in `table`, or InvalidArgument "unknown <what>
// '<name>'" and `hint` (what to use instead).
template <class Row, size_t N>
Result<decltype(Row::value)> ParseNamed(const Row (&table)[N],
                                        std::string_view name,
                                        std::string_view what,
                                        std::string_view hint = {}) {
  if (auto value = ValueNamed(table, name)) return *value;
  return Fail(Code::kInvalidArgument,
              fmt::format("unknown {} '{}'{}", what, name, hint));
}

}  // namespace regfs::registry

#endif  // REGFS_REGISTRY_ENUM_NAMES_H_
