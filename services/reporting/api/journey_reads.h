// What the funnel, cycle times, lost reasons and scorecards read (docs/REPORTS.md, "Lead
// journeys"): a lead's journey as it was known at a time, its keys and filters, the facts these
// reports need one by one (durations, reasons), per-period sums with their dynamics buckets,
// nearest-rank percentiles and the checks their requests share. Pure, or reading a Store.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "common/base/strings.h"
#include "common/command/request_checks.h"
#include "common/store/store.h"
#include "services/reporting/api/report_basics.h"
#include "services/reporting/domain/plan.h"
#include "services/reporting/projection/journeys.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {

using store::v1::LeadJourney;

// (LeadStages, StagesAsOf, Known, JourneyKeysBy, CyclesOf and SecondsBetween are in
// projection/journeys.h: the projection sums journeys too.)

// The keys a lead counts under in dimension `by` (JourneyKeysBy), only `FilterOn(by)` when that
// filter is given.
std::vector<std::string> JourneyKeys(const LeadJourney& journey, const LeadStages& stages, PlanDimension by,
                                     const api::v1::ReportFilters& filters);
// Whether the lead passes every filter (manager: its owner; client: its lead id).
bool JourneyMatches(const LeadJourney& journey, const LeadStages& stages, const api::v1::ReportFilters& filters);

// Cells count journeys as known now; an as-of answer from them takes out what the journeys that
// events recorded after `as_of` changed, and puts in those journeys as of then. Up to this many:
inline constexpr int kMaxLateJourneys = 50000;
// The ids of those leads; nullopt when there are more (the journeys must be read).
StatusOr<std::optional<std::set<std::string>>> LateJourneys(const Store& store, absl::Time as_of);

// Calls `add(day, key, cell, sign)` for every cell of `family` of dimension `read` in `period`
// (rows as known now, sign 1; `decode(value)` gives a row's cell as a StatusOr, not OK for a
// corrupt row: then DATA_LOSS), then for each journey in `late` its contribution now taken out (sign -1) and its
// contribution as of `as_of` put in (sign 1): `cells_of(journey, time, tz)`, cell key -> cell (the
// projection's own, projection/journeys.h).
template <typename Decode, typename CellsOf, typename Add>
[[nodiscard]] Status ForEachCellAsOf(const Store& store, const char* family, const Decode& decode,
                                     const CellsOf& cells_of, PlanDimension read, const Period& period,
                                     absl::Time as_of, absl::TimeZone tz, const std::set<std::string>& late,
                                     const Add& add) {
  const std::string end = FunnelCellPrefix(read, period.last + 1);
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store.ScanRange(family, FunnelCellPrefix(read, period.first), end,
                                  [&](std::string_view key, std::string_view value) {
                                    const std::optional<FunnelCell> at = DecodeFunnelCellKey(key);
                                    const auto cell = decode(value);
                                    if (!at || !cell.ok()) {
                                      inner = absl::DataLossError(StrCat("stored ", family, " row is corrupt"));
                                      return false;
                                    }
                                    add(at->day, at->key, *cell, 1);
                                    return true;
                                  }));
  RETURN_IF_ERROR(inner);
  for (const std::string& lead_id : late) {
    ASSIGN_OR_RETURN(std::optional<LeadJourney> journey, LoadRow<LeadJourney>(store, kJourneysFamily, lead_id));
    if (!journey) continue;
    for (const int sign : {-1, 1}) {
      for (const auto& [key, cell] : cells_of(*journey, sign < 0 ? absl::InfiniteFuture() : as_of, tz)) {
        const std::optional<FunnelCell> at = DecodeFunnelCellKey(key);
        if (!at || !key.starts_with(FunnelCellPrefix(read, at->day)) || !period.Contains(at->day)) continue;
        add(at->day, at->key, cell, sign);
      }
    }
  }
  return absl::OkStatus();
}

// Takes one occurrence of each of `removed` out of `samples` (both reordered).
void TakeOutSamples(std::vector<int64_t>& samples, std::vector<int64_t>& removed);

// The value at rank ceil(p x n) of `values` (reordered in place: a selection, not a sort); nullopt
// when empty.
std::optional<int64_t> NearestRank(std::vector<int64_t>& values, double p);
// The same, for `values` as NearestRank(values, below) left them (below < p): only the part after
// `below`'s rank is searched. Median then p90: NearestRank(v, 0.5), then NearestRanks(v, 0.5, 0.9).
std::optional<int64_t> NearestRanks(std::vector<int64_t>& values, double below, double p);

// Samples held as ascending runs (a cell's list as stored, or a list sorted once), some added and
// some taken out (a multiset: each value taken out is in a run added), with their nearest-rank
// percentiles found without merging or sorting the runs: a histogram of every value finds the
// bucket of values each rank falls in, and only those buckets' values are sorted.
class SampleRuns {
 public:
  // `run` must stay where it is while this is used (SampleArena).
  void Add(std::span<const int64_t> run, int sign = 1);
  // The runs of `other` (kept where they are) too.
  void Add(const SampleRuns& other);
  int64_t size() const { return size_; }
  // The values at ranks ceil(p x n) for each p of `ps`, as NearestRank; empty when there are none.
  std::vector<int64_t> NearestRanks(const std::vector<double>& ps) const;

 private:
  std::vector<std::pair<std::span<const int64_t>, int>> runs_;
  int64_t size_ = 0;
};

// Copies of lists of samples that never move (SampleRuns points at them).
class SampleArena {
 public:
  std::span<const int64_t> Keep(std::span<const int64_t> list);
  // Keeps what `other` kept too (its lists do not move).
  void Take(SampleArena&& other);

 private:
  static constexpr size_t kChunk = 1 << 16;  // values
  std::vector<std::unique_ptr<int64_t[]>> chunks_;
  size_t capacity_ = 0, used_ = 0;  // of the last chunk
};

// The sums of a report for its whole period and for each dynamics bucket (in order, empty ones
// included).
template <typename Sums>
class PeriodSums {
 public:
  struct Part {
    Period period;
    Sums sums;
  };
  PeriodSums(const Period& period, api::v1::Bucket dynamics) : total_{period, {}} {
    if (dynamics == api::v1::BUCKET_UNSPECIFIED) return;
    for (Period& b : Buckets(period, dynamics)) buckets_.push_back(Part{std::move(b), {}});
  }
  // The sums a fact of `day` adds to: the total's and its bucket's; none outside the period.
  absl::InlinedVector<Sums*, 2> At(absl::CivilDay day) {
    absl::InlinedVector<Sums*, 2> out;
    if (!total_.period.Contains(day)) return out;
    out.push_back(&total_.sums);
    // Buckets are in day order and cover the period: the last one starting on or before `day`.
    auto it = std::upper_bound(buckets_.begin(), buckets_.end(), day,
                               [](absl::CivilDay d, const Part& b) { return d < b.period.first; });
    if (it != buckets_.begin()) out.push_back(&std::prev(it)->sums);
    return out;
  }
  absl::InlinedVector<Sums*, 2> At(absl::Time t, absl::TimeZone tz) { return At(absl::ToCivilDay(t, tz)); }
  Part& total() { return total_; }
  std::vector<Part>& buckets() { return buckets_; }

 private:
  Part total_;
  std::vector<Part> buckets_;
};

// ---- Request checks (violations named after the request's fields) ----
std::optional<Period> CheckPeriod(const std::string& period, command::Violations& v);
void CheckDynamics(api::v1::Bucket dynamics, command::Violations& v);
// COMPANY (UNSPECIFIED means it), SOURCE, REGION, PRODUCT or MANAGER.
void CheckLeadDimension(PlanDimension by, command::Violations& v);
PlanDimension OrCompany(PlanDimension by);

}  // namespace sales::reporting
