// Small statistics helpers for the benchmark: medians of repeats, percentiles of latency samples.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

namespace sales::bench {

// The q-quantile (0..1) of `samples` by the nearest-rank method; NaN when empty.
inline double Percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return std::nan("");
  std::sort(samples.begin(), samples.end());
  const double rank = std::ceil(q * static_cast<double>(samples.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return samples[std::min(index, samples.size() - 1)];
}

// The median of the repeats that produced a value; nullopt when none did.
inline std::optional<double> Median(const std::vector<std::optional<double>>& repeats) {
  std::vector<double> values;
  for (const auto& r : repeats) {
    if (r && std::isfinite(*r)) values.push_back(*r);
  }
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace sales::bench
