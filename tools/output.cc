#include "tools/output.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "registry/history.h"
#include "registry/names.h"
#include "tools/store.h"

namespace regfs::tools {

namespace reg = regfs::registry;

std::string FormatSize(uint64_t bytes) {
  static constexpr std::array<std::string_view, 5> kUnits = {"B", "KiB", "MiB",
                                                             "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  // 1023.96 KiB would print as "1024.0 KiB"; show it as the next unit.
  if (value >= 1023.95 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string VersionOrDash(const std::optional<uint64_t>& number) {
  return number ? reg::VersionName(*number) : std::string("-");
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

Table::Table(std::vector<std::string> header) {
  rows_.push_back(std::move(header));
}

namespace {

// A cell as a terminal may show it: control characters (a member's
// description could carry escape sequences or line breaks) become \xNN.
std::string Printable(std::string cell) {
  const bool clean = std::none_of(cell.begin(), cell.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (clean) return cell;
  std::string out;
  for (char c : cell) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void Table::AddRow(std::vector<std::string> row) {
  for (std::string& cell : row) cell = Printable(std::move(cell));
  rows_.push_back(std::move(row));
}

std::string Table::Render() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows_) {
    if (&row == &rows_.front() && row.empty()) continue;  // no header
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i + 1 < row.size()) {
        line += fmt::format("{:<{}}  ", row[i], widths[i]);
      } else {
        line += row[i];
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

void Table::Print(std::FILE* out) const { fmt::print(out, "{}", Render()); }

Table AliasTable(const std::vector<reg::Alias>& aliases) {
  Table table({"ALIAS", "VERSION", "PROTECTED", "UPDATED", "BY"});
  for (const auto& a : aliases) {
    table.AddRow({a.name, reg::VersionName(a.version),
                  a.is_latest ? "auto" : (a.is_protected ? "yes" : "no"),
                  reg::FormatTime(a.updated), a.updated_by});
  }
  return table;
}

Json BlobPathJson(Store& store, const reg::Version& version) {
  if (version.blob.empty()) return Json(nullptr);
  auto path = store.BlobPath(version.blob);
  return path ? Json(path->string()) : Json(nullptr);
}

std::string BlobPathText(Store& store, std::string_view key) {
  auto path = store.BlobPath(key);
  return path ? path->string() : std::string();
}

Json ToJsonWithBlobPath(Store& store, const reg::Version& version) {
  Json j = ToJson(version);
  j["blob_path"] = BlobPathJson(store, version);
  return j;
}

void PrintJson(const Json& value) {
  // Replace invalid UTF-8 (a pushed file name, say) rather than throw.
  fmt::print("{}\n",
             value.dump(-1, ' ', false, Json::error_handler_t::replace));
}

}  // namespace regfs::tools
