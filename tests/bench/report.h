// The benchmark's figures and how they are shown: a table for people (value, target, pass/miss)
// and a JSON file for tools (each figure's median under its key, null when it has none).
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "tests/bench/cpu.h"

namespace sales::bench {

enum class Goal { kNone, kAtLeast, kAtMost };

struct Figure {
  std::string key;    // the JSON key, e.g. "raw_produce_per_s"
  std::string label;  // for the table, with the unit
  Goal goal = Goal::kNone;
  double target = 0;
  int decimals = 0;
  std::vector<std::optional<double>> repeats;  // one per repeat; nullopt when that repeat failed
  std::optional<double> value;                 // the median of the repeats (or derived)
  std::string note;                            // why there is no value, or what to know about it
};

// The CPU used while a measurement ran (its repeats together), to tell what bounds its figure.
struct CpuRow {
  std::string measurement;  // e.g. "capture at 1k/s"
  std::string unit;         // one operation, e.g. "command"
  double ops_per_s = 0;
  CpuUse use;
};

class Report {
 public:
  // Figures keep the order they are added in. Add() of an existing key returns that figure.
  Figure& Add(const std::string& key, const std::string& label, int decimals, Goal goal = Goal::kNone,
              double target = 0);
  Figure& Get(const std::string& key);

  // Sets each figure's value to the median of its repeats (figures with a value already set, e.g.
  // derived ones, are left alone).
  void TakeMedians();

  void AddCpu(CpuRow row) { cpu_.push_back(std::move(row)); }

  void PrintTable(std::ostream& out) const;
  // `meta` goes under "meta" (strings); each figure's repeats under "repeats".
  Status WriteJson(const std::string& path, const std::map<std::string, std::string>& meta) const;

 private:
  void PrintCpu(std::ostream& out) const;

  std::vector<Figure> figures_;
  std::vector<CpuRow> cpu_;
};

}  // namespace sales::bench
