#include "tests/bench/cpu.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "common/base/strings.h"

namespace sales::bench {
namespace {

double TicksPerSecond() { return static_cast<double>(sysconf(_SC_CLK_TCK)); }

double MachineBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  // cpu  user nice system idle iowait irq softirq steal ...
  double v[8] = {};
  in >> cpu;
  for (double& x : v) in >> x;
  if (cpu != "cpu") return 0;
  const double busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return busy / TicksPerSecond();
}

}  // namespace

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are plain.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double utime = -1, stime = -1;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::atof(field.c_str());
    if (i == 15) stime = std::atof(field.c_str());
  }
  if (utime < 0 || stime < 0) return -1;
  return (utime + stime) / TicksPerSecond();
}

void CpuMeter::Watch(const std::string& name, pid_t pid) {
  if (pid <= 0) {
    pids_.erase(name);
  } else {
    pids_[name] = pid;
  }
}

CpuSnapshot CpuMeter::Take() const {
  CpuSnapshot s;
  s.at = absl::Now();
  s.machine_busy_seconds = MachineBusySeconds();
  for (const auto& [name, pid] : pids_) {
    const double seconds = ProcessCpuSeconds(pid);
    if (seconds >= 0) s.process_seconds[name] = seconds;
  }
  return s;
}

CpuUse Between(const CpuSnapshot& before, const CpuSnapshot& after) {
  CpuUse use;
  use.wall_seconds = absl::ToDoubleSeconds(after.at - before.at);
  if (use.wall_seconds <= 0) return use;
  use.machine_busy_cores = (after.machine_busy_seconds - before.machine_busy_seconds) / use.wall_seconds;
  for (const auto& [name, seconds] : after.process_seconds) {
    auto it = before.process_seconds.find(name);
    if (it != before.process_seconds.end()) use.process_cores[name] = (seconds - it->second) / use.wall_seconds;
  }
  return use;
}

void CpuTally::End(double operations) { Add(Between(begin_, meter_->Take()), operations); }

void CpuTally::Add(const CpuUse& use, double operations) {
  operations_ += operations;
  wall_seconds_ += use.wall_seconds;
  machine_busy_seconds_ += use.machine_busy_cores * use.wall_seconds;
  for (const auto& [name, cores] : use.process_cores) process_seconds_[name] += cores * use.wall_seconds;
}

CpuUse CpuTally::Average() const {
  CpuUse use;
  use.wall_seconds = wall_seconds_;
  if (wall_seconds_ <= 0) return use;
  use.machine_busy_cores = machine_busy_seconds_ / wall_seconds_;
  for (const auto& [name, seconds] : process_seconds_) use.process_cores[name] = seconds / wall_seconds_;
  return use;
}

}  // namespace sales::bench
