#include "services/reporting/api/journey_reads.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>

#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "services/reporting/api/report_basics.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
std::vector<std::string> JourneyKeys(const LeadJourney& journey, const LeadStages& stages, PlanDimension by,
                                     const api::v1::ReportFilters& filters) {
  std::vector<std::string> keys = JourneyKeysBy(journey, stages, by);
  const std::string only = FilterOn(by, filters);
  if (!only.empty()) std::erase_if(keys, [&](const std::string& k) { return k != only; });
  return keys;
}

bool JourneyMatches(const LeadJourney& journey, const LeadStages& stages, const api::v1::ReportFilters& filters) {
  const auto& products = journey.products();
  return (filters.manager_id().empty() || stages.owner == filters.manager_id()) &&
         (filters.region().empty() || journey.region() == filters.region()) &&
         (filters.product_code().empty() ||
          std::find(products.begin(), products.end(), filters.product_code()) != products.end()) &&
         (filters.client_id().empty() || journey.lead_id() == filters.client_id()) &&
         (filters.source().empty() || events::v1::LeadSource_Name(journey.source()) == filters.source());
}

StatusOr<std::optional<std::set<std::string>>> LateJourneys(const Store& store, absl::Time as_of) {
  std::set<std::string> late;
  int late_rows = 0;
  RETURN_IF_ERROR(store.ScanFrom(kJourneysByRecordedFamily, EncodeInt64(absl::ToUnixNanos(as_of) + 1),
                                 [&](std::string_view key, std::string_view) {
                                   if (++late_rows > kMaxLateJourneys) return false;
                                   if (key.size() > 8) late.emplace(key.substr(8));
                                   return true;
                                 }));
  if (late_rows > kMaxLateJourneys) return std::nullopt;
  return late;
}

void TakeOutSamples(std::vector<int64_t>& samples, std::vector<int64_t>& removed) {
  if (removed.empty()) return;
  std::sort(samples.begin(), samples.end());
  std::sort(removed.begin(), removed.end());
  std::vector<int64_t> kept;
  std::set_difference(samples.begin(), samples.end(), removed.begin(), removed.end(), std::back_inserter(kept));
  samples = std::move(kept);
}

std::optional<int64_t> NearestRank(std::vector<int64_t>& values, double p) {
  return NearestRanks(values, 0, p);
}

namespace {

// The index of rank ceil(p x n), at least the first.
size_t RankIndex(size_t n, double p) {
  return std::clamp<size_t>(static_cast<size_t>(std::ceil(p * static_cast<double>(n))), 1, n) - 1;
}

}  // namespace

std::optional<int64_t> NearestRanks(std::vector<int64_t>& values, double below, double p) {
  if (values.empty()) return std::nullopt;
  // After a selection at `below`'s rank, nothing before it is larger: the next rank lies after.
  const auto from = values.begin() + static_cast<std::ptrdiff_t>(below > 0 ? RankIndex(values.size(), below) : 0);
  const auto at = values.begin() + static_cast<std::ptrdiff_t>(RankIndex(values.size(), p));
  std::nth_element(from, at, values.end());
  return *at;
}

void SampleRuns::Add(std::span<const int64_t> run, int sign) {
  if (run.empty()) return;
  runs_.emplace_back(run, sign);
  size_ += sign * static_cast<int64_t>(run.size());
}

void SampleRuns::Add(const SampleRuns& other) {
  runs_.insert(runs_.end(), other.runs_.begin(), other.runs_.end());
  size_ += other.size_;
}

std::vector<int64_t> SampleRuns::NearestRanks(const std::vector<double>& ps) const {
  std::vector<int64_t> out;
  if (size_ <= 0) return out;
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
  for (const auto& [run, sign] : runs_) {
    if (sign < 0) continue;  // (what is taken out lies within what was added)
    lo = std::min(lo, run.front());
    hi = std::max(hi, run.back());
  }
  // Every value counted into one of up to 2,048 buckets of equal width (1 when the values span
  // fewer), about one per 4 values: few values, few buckets to clear and to walk.
  const int bits = std::clamp(static_cast<int>(std::bit_width(static_cast<uint64_t>(size_))) - 2, 4, 11);
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  const int shift = std::max(0, static_cast<int>(std::bit_width(range)) - bits);
  const auto bucket_of = [&](int64_t v) { return (static_cast<uint64_t>(v) - static_cast<uint64_t>(lo)) >> shift; };
  std::vector<int64_t> counts((range >> shift) + 1, 0);
  for (const auto& [run, sign] : runs_) {
    // (A run's values of one bucket are together: counted in a register, not one by one in
    // memory, where each add would wait for the one before.)
    size_t bucket = bucket_of(run.front());
    int64_t n = 0;
    for (int64_t v : run) {
      if (const size_t b = bucket_of(v); b != bucket) {
        counts[bucket] += sign * n;
        bucket = b;
        n = 0;
      }
      ++n;
    }
    counts[bucket] += sign * n;
  }
  // Each rank's bucket, and its rank among the bucket's values.
  std::vector<std::pair<size_t, int64_t>> at;
  for (double p : ps) {
    int64_t rank = static_cast<int64_t>(RankIndex(static_cast<size_t>(size_), p));
    size_t bucket = 0;
    while (bucket + 1 < counts.size() && rank >= counts[bucket]) rank -= counts[bucket++];
    at.emplace_back(bucket, rank);
  }
  if (shift == 0) {  // a bucket is one value
    for (const auto& [bucket, rank] : at) out.push_back(lo + static_cast<int64_t>(bucket));
    return out;
  }
  // The values of those buckets (what was taken out taken out), sorted. A bucket's values are
  // together in each run (ascending), found by a binary search: the runs are not walked again.
  std::map<size_t, std::pair<std::vector<int64_t>, std::vector<int64_t>>> values;  // bucket -> in, out
  for (const auto& [bucket, rank] : at) values[bucket];
  for (auto& [bucket, lists] : values) {
    for (const auto& [run, sign] : runs_) {
      auto v = std::partition_point(run.begin(), run.end(), [&, b = bucket](int64_t x) { return bucket_of(x) < b; });
      for (; v != run.end() && bucket_of(*v) == bucket; ++v) (sign > 0 ? lists.first : lists.second).push_back(*v);
    }
  }
  for (auto& [bucket, lists] : values) {
    auto& [in, taken] = lists;
    std::sort(in.begin(), in.end());
    std::sort(taken.begin(), taken.end());
    std::vector<int64_t> kept;
    std::set_difference(in.begin(), in.end(), taken.begin(), taken.end(), std::back_inserter(kept));
    in = std::move(kept);
  }
  for (const auto& [bucket, rank] : at) {
    const std::vector<int64_t>& in = values.at(bucket).first;
    if (in.empty()) return {};  // (only when something taken out was never added)
    out.push_back(in[static_cast<size_t>(std::min<int64_t>(rank, static_cast<int64_t>(in.size()) - 1))]);
  }
  return out;
}

std::span<const int64_t> SampleArena::Keep(std::span<const int64_t> list) {
  if (list.empty()) return {};
  if (used_ + list.size() > capacity_) {
    capacity_ = std::max(kChunk, list.size());
    chunks_.push_back(std::make_unique<int64_t[]>(capacity_));
    used_ = 0;
  }
  int64_t* at = chunks_.back().get() + used_;
  std::copy(list.begin(), list.end(), at);
  used_ += list.size();
  return {at, list.size()};
}

void SampleArena::Take(SampleArena&& other) {
  // (This arena's last chunk stays the one it adds to.)
  chunks_.insert(chunks_.begin(), std::make_move_iterator(other.chunks_.begin()),
                 std::make_move_iterator(other.chunks_.end()));
  other.chunks_.clear();
  other.capacity_ = other.used_ = 0;
}

std::optional<Period> CheckPeriod(const std::string& period, command::Violations& v) {
  StatusOr<Period> parsed = ParsePeriod(period);
  if (parsed.ok()) return *parsed;
  for (auto& f : FieldViolations(parsed.status())) v.push_back(std::move(f));
  return std::nullopt;
}

void CheckDynamics(api::v1::Bucket dynamics, command::Violations& v) {
  if (!api::v1::Bucket_IsValid(dynamics)) v.push_back({"dynamics", "DAY, WEEK or MONTH (or none)"});
}

void CheckLeadDimension(PlanDimension by, command::Violations& v) {
  switch (by) {
    case events::v1::PLAN_DIMENSION_UNSPECIFIED:
    case events::v1::PLAN_DIMENSION_COMPANY:
    case events::v1::PLAN_DIMENSION_SOURCE:
    case events::v1::PLAN_DIMENSION_REGION:
    case events::v1::PLAN_DIMENSION_PRODUCT:
    case events::v1::PLAN_DIMENSION_MANAGER: return;
    default: v.push_back({"by", "COMPANY, SOURCE, REGION, PRODUCT or MANAGER"});
  }
}

PlanDimension OrCompany(PlanDimension by) {
  return by == events::v1::PLAN_DIMENSION_UNSPECIFIED ? events::v1::PLAN_DIMENSION_COMPANY : by;
}

}  // namespace sales::reporting
