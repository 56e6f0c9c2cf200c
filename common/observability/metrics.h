// A small metrics registry rendered in the Prometheus text exposition format (version 0.0.4).
// Counters, gauges and histograms are created once (at wiring time) and updated lock-free on hot
// paths; the registry owns them and hands out stable references. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sales {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  void Inc(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Cumulative histogram over fixed upper bounds (seconds for latencies).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  std::vector<double> bounds() const { return bounds_; }
  std::vector<int64_t> counts() const;  // one per bound, plus +Inf; cumulative
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  int64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<int64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<int64_t> count_{0};
};

class MetricsRegistry {
 public:
  // Same name and labels -> same instance. `help` is taken from the first registration of a name.
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help, const Labels& labels = {},
                          std::vector<double> bounds = DefaultLatencyBounds());

  // Called at every Render() to refresh gauges that are cheaper to compute on demand (lag, sizes).
  // Returns a handle for RemoveCollector(), which an owner must call before it goes away.
  int AddCollector(std::function<void()> collector);
  void RemoveCollector(int handle);

  std::string Render() const;

  static std::vector<double> DefaultLatencyBounds();

 private:
  struct Family {
    std::string help, type;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex render_mu_;  // one Render() at a time; RemoveCollector() waits for it
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::map<int, std::function<void()>> collectors_;
  int next_collector_ = 0;
};

}  // namespace sales
