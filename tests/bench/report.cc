#include "tests/bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>

#include "common/base/strings.h"
#include "tests/bench/stats.h"

namespace sales::bench {
namespace {

// 1234567.8 -> "1,234,568" (decimals 0), 3.14159 -> "3.14" (decimals 2).
std::string Format(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string text = buf;
  const size_t dot = text.find('.');
  const size_t int_end = dot == std::string::npos ? text.size() : dot;
  const size_t int_start = text[0] == '-' ? 1 : 0;
  std::string out = text.substr(0, int_start);
  for (size_t i = int_start; i < int_end; ++i) {
    out.push_back(text[i]);
    const size_t left = int_end - i - 1;
    if (left > 0 && left % 3 == 0) out.push_back(',');
  }
  return out + text.substr(int_end);
}

std::string JsonNumber(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  // %g may print "1e+06": valid JSON. Keep more digits for big rates.
  if (std::fabs(*v) >= 1e6) std::snprintf(buf, sizeof buf, "%.1f", *v);
  return buf;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string TargetText(const Figure& f) {
  switch (f.goal) {
    case Goal::kAtLeast: return StrCat(">= ", Format(f.target, f.decimals));
    case Goal::kAtMost: return StrCat("<= ", Format(f.target, f.decimals));
    case Goal::kNone: return "";
  }
  return "";
}

std::string Verdict(const Figure& f) {
  if (f.goal == Goal::kNone) return "";
  if (!f.value) return "n/a";
  const bool pass = f.goal == Goal::kAtLeast ? *f.value >= f.target : *f.value <= f.target;
  return pass ? "pass" : "MISS";
}

}  // namespace

Figure& Report::Add(const std::string& key, const std::string& label, int decimals, Goal goal, double target) {
  for (auto& f : figures_) {
    if (f.key == key) return f;
  }
  figures_.push_back({key, label, goal, target, decimals, {}, std::nullopt, ""});
  return figures_.back();
}

Figure& Report::Get(const std::string& key) {
  for (auto& f : figures_) {
    if (f.key == key) return f;
  }
  std::abort();  // a key the program never added: a bug in main.cc
}

void Report::TakeMedians() {
  for (auto& f : figures_) {
    if (!f.value) f.value = Median(f.repeats);
  }
}

void Report::PrintTable(std::ostream& out) const {
  size_t label_width = 6, value_width = 5;
  std::vector<std::string> values;
  for (const auto& f : figures_) {
    label_width = std::max(label_width, f.label.size());
    values.push_back(f.value ? Format(*f.value, f.decimals) : (f.note.empty() ? "n/a" : f.note));
    if (f.value) value_width = std::max(value_width, values.back().size());
  }
  auto row = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d,
                 const std::string& e) {
    out << std::left << std::setw(static_cast<int>(label_width)) << a << "  " << std::right
        << std::setw(static_cast<int>(value_width)) << b << "  " << std::left << std::setw(12) << c << "  "
        << std::setw(6) << d << (e.empty() ? "" : "  ") << e << "\n";
  };
  row("figure", "value", "target", "result", "");
  row(std::string(label_width, '-'), std::string(value_width, '-'), std::string(12, '-'), "------", "");
  for (size_t i = 0; i < figures_.size(); ++i) {
    const Figure& f = figures_[i];
    // A value too wide for the column (a reason instead of a number) runs on past it.
    const bool has_value = f.value.has_value();
    row(f.label, has_value ? values[i] : "", TargetText(f), Verdict(f),
        has_value ? f.note : values[i]);
  }
  PrintCpu(out);
}

void Report::PrintCpu(std::ostream& out) const {
  if (cpu_.empty()) return;
  std::vector<std::string> names;  // every process seen, in a stable order
  for (const auto& row : cpu_) {
    for (const auto& [name, cores] : row.use.process_cores) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  out << "\nCPU while measuring: cores busy (machine: all processes), and per process its cores and, in\n"
         "parentheses, its CPU microseconds per operation\n\n";
  auto cell = [&](const std::string& text, int width) { out << std::left << std::setw(width) << text << "  "; };
  auto label = [](const CpuRow& row) { return StrCat(row.measurement, " (", row.unit, ")"); };
  int first = 26;
  for (const auto& row : cpu_) first = std::max(first, static_cast<int>(label(row).size()));
  cell("measurement", first);
  cell("op/s", 11);
  cell("machine", 7);
  for (const auto& n : names) cell(n, 16);
  out << "\n";
  for (const auto& row : cpu_) {
    cell(label(row), first);
    cell(Format(row.ops_per_s, 0), 11);
    cell(Format(row.use.machine_busy_cores, 2), 7);
    for (const auto& n : names) {
      auto it = row.use.process_cores.find(n);
      if (it == row.use.process_cores.end()) {
        cell("-", 16);
      } else {
        const double us = row.ops_per_s > 0 ? it->second / row.ops_per_s * 1e6 : 0;
        cell(StrCat(Format(it->second, 2), " (", Format(us, us < 10 ? 1 : 0), ")"), 16);
      }
    }
    out << "\n";
  }
}

Status Report::WriteJson(const std::string& path, const std::map<std::string, std::string>& meta) const {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string json = "{\n";
  for (const auto& f : figures_) StrAppend(&json, "  ", JsonString(f.key), ": ", JsonNumber(f.value), ",\n");
  json += "  \"repeats\": {";
  for (size_t i = 0; i < figures_.size(); ++i) {
    StrAppend(&json, i ? ", " : "", JsonString(figures_[i].key), ": [");
    for (size_t r = 0; r < figures_[i].repeats.size(); ++r) {
      StrAppend(&json, r ? ", " : "", JsonNumber(figures_[i].repeats[r]));
    }
    json += "]";
  }
  json += "},\n  \"cpu\": {";
  for (size_t i = 0; i < cpu_.size(); ++i) {
    const CpuRow& row = cpu_[i];
    StrAppend(&json, i ? ",\n    " : "\n    ", JsonString(row.measurement), ": {\"unit\": ", JsonString(row.unit),
              ", \"ops_per_s\": ", JsonNumber(row.ops_per_s), ", \"machine_busy_cores\": ",
              JsonNumber(row.use.machine_busy_cores));
    for (const auto& [name, cores] : row.use.process_cores) {
      StrAppend(&json, ", ", JsonString(name + "_cores"), ": ", JsonNumber(cores));
      if (row.ops_per_s > 0) {
        StrAppend(&json, ", ", JsonString(name + "_us_per_op"), ": ", JsonNumber(cores / row.ops_per_s * 1e6));
      }
    }
    json += "}";
  }
  json += "\n  },\n  \"meta\": {";
  bool first = true;
  for (const auto& [k, v] : meta) {
    StrAppend(&json, first ? "" : ", ", JsonString(k), ": ", JsonString(v));
    first = false;
  }
  json += "}\n}\n";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << json;
    if (!out) return absl::UnavailableError(StrCat("cannot write ", tmp));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace sales::bench
