#include "common/observability/metrics.h"

#include <algorithm>

#include "common/base/strings.h"
#include "absl/strings/str_join.h"

namespace sales {
namespace {

std::string EscapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string LabelText(const Labels& labels, const std::string& extra_key = "", const std::string& extra = "") {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) parts.push_back(StrCat(k, "=\"", EscapeLabel(v), "\""));
  if (!extra_key.empty()) parts.push_back(StrCat(extra_key, "=\"", extra, "\""));
  if (parts.empty()) return "";
  return StrCat("{", absl::StrJoin(parts, ","), "}");
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<int64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<int64_t> Histogram::counts() const {
  std::vector<int64_t> out(bounds_.size() + 1);
  int64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

std::vector<double> MetricsRegistry::DefaultLatencyBounds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(const std::string& name, const std::string& help,
                                                    const char* type) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.type = type;
    f.help = help;
  }
  return f;
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "counter").counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "gauge").gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help, const Labels& labels,
                                         std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& slot = FamilyFor(name, help, "histogram").histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds));
  return *slot;
}

int MetricsRegistry::AddCollector(std::function<void()> collector) {
  std::lock_guard lock(mu_);
  collectors_[next_collector_] = std::move(collector);
  return next_collector_++;
}

void MetricsRegistry::RemoveCollector(int handle) {
  std::lock_guard lock(render_mu_);  // waits for a Render() that may be running it
  std::lock_guard lock2(mu_);
  collectors_.erase(handle);
}

std::string MetricsRegistry::Render() const {
  std::lock_guard render_lock(render_mu_);
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard lock(mu_);
    for (const auto& [handle, c] : collectors_) collectors.push_back(c);
  }
  for (auto& c : collectors) c();  // outside mu_: collectors update gauges through the registry
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    StrAppend(&out, "# HELP ", name, " ", f.help, "\n# TYPE ", name, " ", f.type, "\n");
    for (const auto& [labels, c] : f.counters) StrAppend(&out, name, LabelText(labels), " ", c->value(), "\n");
    for (const auto& [labels, g] : f.gauges) StrAppend(&out, name, LabelText(labels), " ", g->value(), "\n");
    for (const auto& [labels, h] : f.histograms) {
      auto counts = h->counts();
      auto bounds = h->bounds();
      for (size_t i = 0; i < bounds.size(); ++i) {
        StrAppend(&out, name, "_bucket", LabelText(labels, "le", StrCat(bounds[i])), " ", counts[i], "\n");
      }
      StrAppend(&out, name, "_bucket", LabelText(labels, "le", "+Inf"), " ", counts.back(), "\n");
      StrAppend(&out, name, "_sum", LabelText(labels), " ", h->sum(), "\n");
      StrAppend(&out, name, "_count", LabelText(labels), " ", h->count(), "\n");
    }
  }
  return out;
}

}  // namespace sales
