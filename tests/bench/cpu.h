// Where the CPU went during a measurement: CPU seconds of the processes involved (service, broker,
// the benchmark itself) from /proc/<pid>/stat, and how busy the whole machine was (/proc/stat), so
// a figure can be read as "bounded by CPU" (and whose) or not.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "absl/time/time.h"

namespace sales::bench {

struct CpuSnapshot {
  absl::Time at;
  std::map<std::string, double> process_seconds;  // by name; a process that is gone is left out
  double machine_busy_seconds = 0;                // all cores, everything but idle and iowait
};

// Thread-safe after the Watch() calls.
class CpuMeter {
 public:
  // Adds or replaces the process watched under `name` (pid <= 0: removes it).
  void Watch(const std::string& name, pid_t pid);
  CpuSnapshot Take() const;

 private:
  std::map<std::string, pid_t> pids_;
};

// CPU used between two snapshots, in cores (CPU seconds per wall second).
struct CpuUse {
  double wall_seconds = 0;
  std::map<std::string, double> process_cores;
  double machine_busy_cores = 0;
};
CpuUse Between(const CpuSnapshot& before, const CpuSnapshot& after);

// Adds up the CPU use of several timed windows (the repeats of a measurement) and the operations
// done in them.
class CpuTally {
 public:
  explicit CpuTally(const CpuMeter* meter) : meter_(meter) {}
  void Begin() { begin_ = meter_->Take(); }
  void End(double operations);
  // Adds a window measured elsewhere.
  void Add(const CpuUse& use, double operations);

  double operations() const { return operations_; }
  double wall_seconds() const { return wall_seconds_; }
  // Averages over all windows, in cores.
  CpuUse Average() const;

 private:
  const CpuMeter* meter_;
  CpuSnapshot begin_;
  double operations_ = 0;
  double wall_seconds_ = 0;
  double machine_busy_seconds_ = 0;
  std::map<std::string, double> process_seconds_;
};

// CPU seconds (user + system) a process has used so far; -1 when it cannot be read.
double ProcessCpuSeconds(pid_t pid);

}  // namespace sales::bench
