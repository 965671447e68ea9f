// regfs_bench_report: the bookkeeping of tests/bench/run.sh.
//
//   gb2tsv  --json FILE --section S --baseline LABEL --command CMD
//       Google Benchmark JSON (one row per repetition) -> sample rows.
//       Benchmark names are "METRIC:VARIANT[/...]"; the value is
//       items_per_second (ops/s) or bytes_per_second (GB/s); a benchmark
//       with counters "rate:VARIANT" (variants timed in lockstep) gives one
//       row per such counter instead.
//   render  --samples FILE --targets FILE --template FILE [--var K=V]...
//       Fills the template: {{table:SECTION}} with the section's results,
//       {{targets}} with every target and its verdict, {{var:K}} with V
//       (or with the contents of file F when V is "@F").
//
// Sample rows (tab-separated):
//   SECTION METRIC VARIANT REP VALUE UNIT BETTER BASELINE COMMAND
// BASELINE names the variant of the same metric that ratios are taken
// against ("-": none); a ratio is VALUE / baseline's VALUE of the same
// repetition, so both were measured side by side. Figures are medians with
// min–max over the repetitions.
//
// Target rows (tab-separated):
//   SECTION METRIC VARIANT BASELINE OP THRESHOLD TEXT
// BASELINE "-" makes THRESHOLD absolute (in the metric's unit); OP is
// ">=", "<=", ">" or "<".
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tests/bench/bench_util.h"

namespace regfs::bench {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "regfs_bench_report: %s\n", message.c_str());
  std::exit(1);
}

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  if (!in) Die("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- gb2tsv ----

struct Gb2TsvArgs {
  std::string json;
  std::string section;
  std::string baseline = "-";
  std::string command;
};

int RunGb2Tsv(const Gb2TsvArgs& args) {
  const nlohmann::json doc = nlohmann::json::parse(ReadAll(args.json));
  // Registration order (random interleaving shuffles the runs): metrics and
  // variants then appear in the report in the order the harness lists them.
  std::vector<nlohmann::json> runs(doc.at("benchmarks").begin(),
                                   doc.at("benchmarks").end());
  auto key = [](const nlohmann::json& b) {
    return std::tuple(b.value("family_index", 0),
                      b.value("per_family_instance_index", 0),
                      b.value("repetition_index", 0));
  };
  std::stable_sort(runs.begin(), runs.end(), [&](const auto& a, const auto& b) {
    return key(a) < key(b);
  });
  for (const auto& b : runs) {
    if (b.value("run_type", "") != "iteration") continue;
    const std::string name = b.at("run_name").get<std::string>();
    if (b.value("error_occurred", false)) {
      std::fprintf(stderr, "regfs_bench_report: %s failed: %s\n", name.c_str(),
                   b.value("error_message", "").c_str());
      continue;
    }
    const size_t colon = name.find(':');
    if (colon == std::string::npos) continue;
    std::string metric = name.substr(0, colon);
    const std::string rest = name.substr(colon + 1);
    const std::string variant = rest.substr(0, rest.find('/'));
    if (rest.find("threads:") != std::string::npos) {
      const int threads = b.value("threads", 1);
      metric += fmt::format(", {} thread{}", threads, threads == 1 ? "" : "s");
    }
    const int rep = b.value("repetition_index", 0);
    // Counters "rate:VARIANT" (ops/s): several variants timed in lockstep
    // by one benchmark.
    bool lockstep = false;
    for (const auto& [key, counter] : b.items()) {
      if (!key.starts_with("rate:")) continue;
      lockstep = true;
      fmt::print("{}\t{}\t{}\t{}\t{:.6g}\tops/s\thigher\t{}\t{}\n",
                 args.section, metric, key.substr(5), rep,
                 counter.get<double>(), args.baseline, args.command);
    }
    if (lockstep) continue;
    double value = 0;
    std::string unit;
    if (b.contains("items_per_second")) {
      value = b.at("items_per_second").get<double>();
      unit = "ops/s";
    } else if (b.contains("bytes_per_second")) {
      value = b.at("bytes_per_second").get<double>() / 1e9;
      unit = "GB/s";
    } else {
      continue;
    }
    fmt::print("{}\t{}\t{}\t{}\t{:.6g}\t{}\thigher\t{}\t{}\n", args.section,
               metric, variant, rep, value, unit, args.baseline, args.command);
  }
  return 0;
}

// ---- render ----

struct Sample {
  std::string section, metric, variant;
  int rep = 0;
  double value = 0;
  std::string unit;
  bool higher = true;
  std::string baseline, command;
};

struct Stats {
  double median = 0, min = 0, max = 0;
  size_t n = 0;
};

Stats StatsOf(std::vector<double> values) {
  Stats s;
  s.n = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.min = values.front();
  s.max = values.back();
  const size_t mid = values.size() / 2;
  s.median =
      values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return s;
}

std::string Num(double v) {
  const double a = std::fabs(v);
  if (a >= 1000) return fmt::format("{:.0f}", v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  if (a >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
}

std::string Ratio(double v) { return fmt::format("{:.2f}×", v); }

class Results final {
 public:
  void Load(const std::string& path) {
    std::istringstream in(ReadAll(path));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      const auto f = SplitTabs(line);
      if (f.size() != 9) Die("bad sample row: " + line);
      Sample s{f[0],
               f[1],
               f[2],
               std::stoi(f[3]),
               std::stod(f[4]),
               f[5],
               f[6] == "higher",
               f[7],
               f[8]};
      Index(s);
      samples_.push_back(std::move(s));
    }
  }

  // Values of one variant by repetition.
  std::map<int, double> ByRep(const std::string& section,
                              const std::string& metric,
                              const std::string& variant) const {
    std::map<int, double> out;
    for (const Sample& s : samples_) {
      if (s.section == section && s.metric == metric && s.variant == variant)
        out[s.rep] = s.value;
    }
    return out;
  }

  Stats ValueStats(const std::string& section, const std::string& metric,
                   const std::string& variant) const {
    std::vector<double> v;
    for (const auto& [rep, value] : ByRep(section, metric, variant))
      v.push_back(value);
    return StatsOf(v);
  }

  // Per-repetition ratios variant / baseline over the repetitions both have.
  Stats RatioStats(const std::string& section, const std::string& metric,
                   const std::string& variant,
                   const std::string& baseline) const {
    const auto a = ByRep(section, metric, variant);
    const auto b = ByRep(section, metric, baseline);
    std::vector<double> r;
    for (const auto& [rep, value] : a) {
      const auto it = b.find(rep);
      if (it != b.end() && it->second != 0) r.push_back(value / it->second);
    }
    return StatsOf(r);
  }

  std::string Table(const std::string& section) const {
    const auto metrics = metrics_.find(section);
    if (metrics == metrics_.end()) {
      return "*(not measured in this run)*\n";
    }
    std::vector<std::string> commands;
    auto command_id = [&](const std::string& c) {
      auto it = std::find(commands.begin(), commands.end(), c);
      if (it == commands.end()) {
        commands.push_back(c);
        return commands.size();
      }
      return static_cast<size_t>(it - commands.begin()) + 1;
    };
    std::string out =
        "| metric | variant | median | min–max | n | ratio to baseline, "
        "median (min–max) | cmd |\n|---|---|---:|---:|---:|---|---|\n";
    for (const std::string& metric : metrics->second) {
      const Sample* first = nullptr;
      for (const std::string& variant : variants_.at({section, metric})) {
        const Sample& s = *FirstOf(section, metric, variant);
        const Stats st = ValueStats(section, metric, variant);
        std::string ratio = "";
        if (s.baseline == variant) {
          ratio = "baseline";
        } else if (s.baseline != "-") {
          const Stats r = RatioStats(section, metric, variant, s.baseline);
          if (r.n > 0) {
            ratio = fmt::format("{} ({}–{}) of {}", Ratio(r.median),
                                Ratio(r.min), Ratio(r.max), s.baseline);
          }
        }
        out += fmt::format("| {} | {} | {} {} | {}–{} | {} | {} | [{}] |\n",
                           first ? "" : metric + (s.higher ? " (↑)" : " (↓)"),
                           variant, Num(st.median), s.unit, Num(st.min),
                           Num(st.max), st.n, ratio, command_id(s.command));
        first = &s;
      }
    }
    out += "\n(↑ higher is better, ↓ lower is better)\n\n";
    for (size_t i = 0; i < commands.size(); ++i) {
      out += fmt::format("- [{}] `{}`\n", i + 1, commands[i]);
    }
    return out;
  }

  const Sample* FirstOf(const std::string& section, const std::string& metric,
                        const std::string& variant) const {
    for (const Sample& s : samples_) {
      if (s.section == section && s.metric == metric && s.variant == variant)
        return &s;
    }
    return nullptr;
  }

 private:
  void Index(const Sample& s) {
    auto& metrics = metrics_[s.section];
    if (std::find(metrics.begin(), metrics.end(), s.metric) == metrics.end())
      metrics.push_back(s.metric);
    auto& variants = variants_[{s.section, s.metric}];
    if (std::find(variants.begin(), variants.end(), s.variant) ==
        variants.end())
      variants.push_back(s.variant);
  }

  std::vector<Sample> samples_;
  std::map<std::string, std::vector<std::string>> metrics_;
  std::map<std::pair<std::string, std::string>, std::vector<std::string>>
      variants_;
};

bool Compare(double value, const std::string& op, double threshold) {
  if (op == ">=") return value >= threshold;
  if (op == "<=") return value <= threshold;
  if (op == ">") return value > threshold;
  if (op == "<") return value < threshold;
  Die("bad target operator " + op);
}

std::string TargetsTable(const Results& results, const std::string& path) {
  std::string out =
      "| target | measured: median (min–max) | verdict |\n|---|---|---|\n";
  std::istringstream in(ReadAll(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto f = SplitTabs(line);
    if (f.size() != 7) Die("bad target row: " + line);
    const auto& [section, metric, variant, baseline, op, threshold_text, text] =
        std::tie(f[0], f[1], f[2], f[3], f[4], f[5], f[6]);
    const double threshold = std::stod(threshold_text);
    const Sample* s = results.FirstOf(section, metric, variant);
    if (!s) {
      out += fmt::format("| {} | not measured | — |\n", text);
      continue;
    }
    Stats st;
    std::string measured;
    if (baseline == "-") {
      st = results.ValueStats(section, metric, variant);
      measured = fmt::format("{} {} ({}–{})", Num(st.median), s->unit,
                             Num(st.min), Num(st.max));
    } else {
      st = results.RatioStats(section, metric, variant, baseline);
      measured = fmt::format("{} ({}–{})", Ratio(st.median), Ratio(st.min),
                             Ratio(st.max));
    }
    const bool median_ok = Compare(st.median, op, threshold);
    const bool all_ok =
        Compare(st.min, op, threshold) && Compare(st.max, op, threshold);
    const char* verdict = !median_ok ? "**missed**"
                          : all_ok   ? "met"
                                     : "met (median; not every repetition)";
    out += fmt::format("| {} | {} | {} |\n", text, measured, verdict);
  }
  return out;
}

struct RenderArgs {
  std::string samples;
  std::string targets;
  std::string template_path;
  std::vector<std::string> vars;
};

int RunRender(const RenderArgs& args) {
  Results results;
  results.Load(args.samples);
  std::map<std::string, std::string> vars;
  for (const auto& v : args.vars) {
    auto [key, value] = SplitLabel(v);
    vars[key] = value.starts_with("@") ? ReadAll(value.substr(1)) : value;
  }
  const std::string text = ReadAll(args.template_path);
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t open = text.find("{{", pos);
    if (open == std::string::npos) break;
    const size_t close = text.find("}}", open);
    if (close == std::string::npos) Die("unclosed {{ in the template");
    out += text.substr(pos, open - pos);
    const std::string key = text.substr(open + 2, close - open - 2);
    if (key == "targets") {
      out += TargetsTable(results, args.targets);
    } else if (key.starts_with("table:")) {
      out += results.Table(key.substr(6));
    } else if (key.starts_with("var:")) {
      const auto it = vars.find(key.substr(4));
      if (it == vars.end()) Die("no --var " + key.substr(4));
      out += it->second;
    } else {
      Die("unknown placeholder {{" + key + "}}");
    }
    pos = close + 2;
  }
  out += text.substr(pos);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace
}  // namespace regfs::bench

int main(int argc, char** argv) {
  using namespace regfs::bench;
  CLI::App app{"regfs benchmark report"};
  app.require_subcommand(1);

  Gb2TsvArgs gb;
  auto* g = app.add_subcommand("gb2tsv", "Google Benchmark JSON to samples");
  g->add_option("--json", gb.json, "benchmark_out file")->required();
  g->add_option("--section", gb.section, "Section")->required();
  g->add_option("--baseline", gb.baseline, "Baseline variant");
  g->add_option("--command", gb.command, "Command that made it")->required();

  RenderArgs render;
  auto* r = app.add_subcommand("render", "Fill the BENCHMARKS.md template");
  r->add_option("--samples", render.samples, "Samples TSV")->required();
  r->add_option("--targets", render.targets, "Targets TSV")->required();
  r->add_option("--template", render.template_path, "Template")->required();
  r->add_option("--var", render.vars, "NAME=VALUE or NAME=@FILE");

  CLI11_PARSE(app, argc, argv);
  if (g->parsed()) return RunGb2Tsv(gb);
  return RunRender(render);
}
