#include "services/reporting/api/funnel_reports.h"

#include <array>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <type_traits>

#include "common/command/request_checks.h"
#include "common/events/envelope.h"
#include "services/reporting/api/journey_reads.h"
#include "services/reporting/api/query_helpers.h"
#include "services/reporting/api/report_basics.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using command::Violations;

template <typename Row>
using Rows = std::map<std::string, Row>;

// A COMPANY report always has its one row (a zero is a figure too); by a dimension, the keys seen.
template <typename Row>
void EnsureCompanyRow(Rows<Row>& rows, PlanDimension by) {
  if (by == events::v1::PLAN_DIMENSION_COMPANY) rows.try_emplace("");
}

std::optional<double> Ratio(int64_t part, int64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

// ---- Funnel ----

void CountStages(const LeadStages& s, api::v1::FunnelStages& out) {
  out.set_captured(out.captured() + 1);
  if (s.qualified) out.set_qualified(out.qualified() + 1);
  if (s.first_offer) out.set_first_offer(out.first_offer() + 1);
  if (s.won) out.set_won(out.won() + 1);
  if (s.lost) out.set_lost(out.lost() + 1);
}

// Adds one lead to the cohort of its capture and to the activity of each stage's period.
void AddToFunnel(const LeadStages& s, const std::vector<std::string>& keys, absl::TimeZone tz,
                 PeriodSums<Rows<api::v1::FunnelRow>>& sums) {
  for (auto* rows : sums.At(s.captured, tz)) {
    for (const auto& k : keys) CountStages(s, *(*rows)[k].mutable_cohort());
  }
  using Stages = api::v1::FunnelStages;
  const auto activity = [&](const std::optional<absl::Time>& at, void (Stages::*set)(int64_t),
                            int64_t (Stages::*get)() const) {
    if (!at) return;
    for (auto* rows : sums.At(*at, tz)) {
      for (const auto& k : keys) {
        Stages* a = (*rows)[k].mutable_activity();
        (a->*set)((a->*get)() + 1);
      }
    }
  };
  activity(s.captured, &Stages::set_captured, &Stages::captured);
  activity(s.qualified, &Stages::set_qualified, &Stages::qualified);
  activity(s.first_offer, &Stages::set_first_offer, &Stages::first_offer);
  activity(s.won, &Stages::set_won, &Stages::won);
  activity(s.lost, &Stages::set_lost, &Stages::lost);
}

void AddStages(const std::vector<int64_t>& sums, int first, int sign, api::v1::FunnelStages& out) {
  out.set_captured(out.captured() + sign * sums[first + kFunnelCaptured]);
  out.set_qualified(out.qualified() + sign * sums[first + kFunnelQualified]);
  out.set_first_offer(out.first_offer() + sign * sums[first + kFunnelFirstOffer]);
  out.set_won(out.won() + sign * sums[first + kFunnelWon]);
  out.set_lost(out.lost() + sign * sums[first + kFunnelLost]);
}

bool IsEmpty(const api::v1::FunnelStages& s) {
  return s.captured() == 0 && s.qualified() == 0 && s.first_offer() == 0 && s.won() == 0 && s.lost() == 0;
}

// A row of int64 sums of `width` (DecodeSums); DATA_LOSS when it is not one.
auto SumsOfWidth(int width) {
  return [width](std::string_view value) -> StatusOr<std::vector<int64_t>> {
    std::optional<std::vector<int64_t>> s = DecodeSums(value);
    if (!s || static_cast<int>(s->size()) != width) return absl::DataLossError("not a row of sums");
    return std::move(*s);
  };
}

// The funnel from the funnel cells (projection/journeys.h) into `sums`, when they can answer: no
// filter, one on `by`, or one on a funnel dimension with `by` COMPANY; minus what the journeys
// changed by events recorded after `as_of` added since then (each journey's contribution now
// replaced by its contribution as of then), when there are at most kMaxLateJourneys such changes.
// False: the journeys must be read.
StatusOr<bool> FunnelFromCells(const Store& store, const api::v1::ReportFilters& filters, PlanDimension by,
                               absl::Time as_of, absl::TimeZone tz, PeriodSums<Rows<api::v1::FunnelRow>>& sums) {
  const std::optional<CellSource> source = CellSourceFor(by, filters);
  if (!source || source->dimension == events::v1::PLAN_DIMENSION_CLIENT) return false;
  const PlanDimension read = source->dimension;
  const std::string& only = source->only_key;
  ASSIGN_OR_RETURN(std::optional<std::set<std::string>> late, LateJourneys(store, as_of));
  if (!late) return false;

  const Period& period = sums.total().period;
  const auto add = [&](absl::CivilDay day, const std::string& key, const std::vector<int64_t>& s, int sign) {
    if (!only.empty() && key != only) return;
    for (auto* rows : sums.At(day)) {
      api::v1::FunnelRow& row = (*rows)[by == events::v1::PLAN_DIMENSION_COMPANY ? "" : key];
      AddStages(s, 0, sign, *row.mutable_cohort());
      AddStages(s, kFunnelStages, sign, *row.mutable_activity());
    }
  };
  RETURN_IF_ERROR(ForEachCellAsOf(store, kFunnelCellsFamily, SumsOfWidth(kFunnelSums), FunnelCellsOf, read, period,
                                  as_of, tz, *late, add));
  // A row only exists for a lead counted in it (as reading the journeys makes them).
  for (auto* part : [&] {
         std::vector<Rows<api::v1::FunnelRow>*> all = {&sums.total().sums};
         for (auto& b : sums.buckets()) all.push_back(&b.sums);
         return all;
       }()) {
    std::erase_if(*part, [](const auto& kv) { return IsEmpty(kv.second.cohort()) && IsEmpty(kv.second.activity()); });
    for (auto& [key, row] : *part) {
      if (IsEmpty(row.cohort())) row.clear_cohort();
      if (IsEmpty(row.activity())) row.clear_activity();
    }
  }
  return true;
}

void EmitFunnel(const Period& period, Rows<api::v1::FunnelRow>& rows, PlanDimension by,
                api::v1::FunnelPeriod* out) {
  *out->mutable_period() = ToProto(period);
  EnsureCompanyRow(rows, by);
  for (auto& [key, row] : rows) {
    row.set_key(key);
    row.set_label(key);
    const auto& c = row.cohort();
    if (auto x = Ratio(c.qualified(), c.captured())) row.set_qualified_rate(*x);
    if (auto x = Ratio(c.first_offer(), c.qualified())) row.set_first_offer_rate(*x);
    if (auto x = Ratio(c.won(), c.first_offer())) row.set_win_rate(*x);
    if (auto x = Ratio(c.won(), c.captured())) row.set_overall_rate(*x);
    *out->add_rows() = std::move(row);
  }
}

// ---- Cycle times ----

// Adds the lead's time for each cycle to the period in which the cycle ended.
void AddCycles(const LeadStages& s, const std::vector<std::string>& keys, absl::TimeZone tz,
               PeriodSums<Rows<CycleSamples>>& sums) {
  for (const CycleTime& c : CyclesOf(s)) {
    for (auto* rows : sums.At(c.ended, tz)) {
      for (const auto& k : keys) (*rows)[k][c.cycle].push_back(c.seconds);
    }
  }
}

// The samples of each cycle, as runs.
using CycleRuns = std::array<SampleRuns, kCycles>;

// The cycle times from the cycle cells into `runs`, when they can answer (as the funnel cells can),
// with the journeys changed after `as_of` counted as of then (their samples now taken out, their
// samples then put in). False: the journeys must be read. The period's two halves are read at
// once (QueryHelpers), the second into its own sums and arena, added to `runs` and `samples` after.
StatusOr<bool> CyclesFromCells(const Store& store, const api::v1::ReportFilters& filters, PlanDimension by,
                               absl::Time as_of, absl::TimeZone tz, PeriodSums<Rows<CycleRuns>>& runs,
                               SampleArena& samples) {
  const std::optional<CellSource> source = CellSourceFor(by, filters);
  if (!source || source->dimension == events::v1::PLAN_DIMENSION_CLIENT) return false;
  ASSIGN_OR_RETURN(std::optional<std::set<std::string>> late, LateJourneys(store, as_of));
  if (!late) return false;
  const std::string& only = source->only_key;
  // The cells of the days of `part` (and the late journeys' samples of those days) into `into`.
  const auto read = [&](const Period& part, PeriodSums<Rows<CycleRuns>>& into, SampleArena& arena) -> Status {
    const auto add_lists = [&](absl::CivilDay day, const std::string& key,
                               const std::array<std::span<const int64_t>, kCycles>& lists, int sign) {
      if (!only.empty() && key != only) return;
      for (auto* rows : into.At(day)) {
        CycleRuns& row = (*rows)[by == events::v1::PLAN_DIMENSION_COMPANY ? "" : key];
        for (int c = 0; c < kCycles; ++c) row[c].Add(lists[c], sign);
      }
    };
    // Each cell's lists and each late journey's samples, copied where the runs can point at them.
    store::v1::CycleCell cell;  // (parsed into again and again: no allocation per cell)
    const auto decode = [&](std::string_view value) -> StatusOr<std::array<std::span<const int64_t>, kCycles>> {
      if (!cell.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        return absl::DataLossError("stored cycle cell is corrupt");
      }
      std::array<std::span<const int64_t>, kCycles> lists = CycleLists(cell);
      for (auto& list : lists) list = arena.Keep(list);
      return lists;
    };
    const auto add = [&](absl::CivilDay day, const std::string& key, const auto& lists, int sign) {
      if constexpr (std::is_same_v<std::decay_t<decltype(lists)>, CycleSamples>) {
        std::array<std::span<const int64_t>, kCycles> kept;
        for (int c = 0; c < kCycles; ++c) {
          std::vector<int64_t> sorted = lists[c];
          std::sort(sorted.begin(), sorted.end());
          kept[c] = arena.Keep(sorted);
        }
        add_lists(day, key, kept, sign);
      } else {
        add_lists(day, key, lists, sign);
      }
    };
    return ForEachCellAsOf(store, kCycleCellsFamily, decode, CycleCellsOf, source->dimension, part, as_of, tz,
                           *late, add);
  };
  const Period& period = runs.total().period;
  const absl::CivilDay middle = period.first + (period.last - period.first) / 2;
  PeriodSums<Rows<CycleRuns>> second = runs;  // (empty: the same periods)
  SampleArena second_samples;
  Status front, back;
  QueryHelpers::Shared().RunBoth(
      [&] { front = read(Period{period.label, period.first, middle}, runs, samples); },
      [&] { back = period.last > middle ? read(Period{period.label, middle + 1, period.last}, second, second_samples)
                                        : absl::OkStatus(); });
  RETURN_IF_ERROR(front);
  RETURN_IF_ERROR(back);
  const auto add_rows = [](Rows<CycleRuns>& to, const Rows<CycleRuns>& from) {
    for (const auto& [key, more] : from) {
      CycleRuns& row = to[key];
      for (int c = 0; c < kCycles; ++c) row[c].Add(more[c]);
    }
  };
  add_rows(runs.total().sums, second.total().sums);
  for (size_t b = 0; b < runs.buckets().size(); ++b) add_rows(runs.buckets()[b].sums, second.buckets()[b].sums);
  samples.Take(std::move(second_samples));
  return true;
}

api::v1::CycleTime ToCycleTime(const SampleRuns& seconds) {
  api::v1::CycleTime out;
  out.set_count(seconds.size());
  if (const std::vector<int64_t> ranks = seconds.NearestRanks({0.5, 0.9}); !ranks.empty()) {
    out.set_median_seconds(ranks[0]);
    out.set_p90_seconds(ranks[1]);
  }
  return out;
}

void EmitCycles(const Period& period, Rows<CycleRuns>& rows, PlanDimension by, api::v1::CycleTimesPeriod* out) {
  *out->mutable_period() = ToProto(period);
  // A row only for a key with a lead counted in it (cells whose samples were all taken out: none).
  std::erase_if(rows, [](const auto& kv) {
    return std::all_of(kv.second.begin(), kv.second.end(), [](const SampleRuns& r) { return r.size() == 0; });
  });
  EnsureCompanyRow(rows, by);
  for (auto& [key, runs] : rows) {
    auto* row = out->add_rows();
    row->set_key(key);
    row->set_label(key);
    *row->mutable_captured_to_qualified() = ToCycleTime(runs[kCapturedToQualified]);
    *row->mutable_qualified_to_first_offer() = ToCycleTime(runs[kQualifiedToFirstOffer]);
    *row->mutable_sent_to_accepted() = ToCycleTime(runs[kSentToAccepted]);
    *row->mutable_captured_to_won() = ToCycleTime(runs[kCapturedToWon]);
  }
}

// ---- Lost reasons ----

struct LostSums {
  std::map<std::string, int64_t> disqualified, rejected;  // reason -> count
};

// A rejection's product is any product of its rejected revision.
bool RejectionMatches(const Fact& f, const api::v1::ReportFilters& filters) {
  api::v1::ReportFilters rest = filters;
  rest.clear_product_code();
  const auto& products = f.products();
  return Matches(f, rest) && (filters.product_code().empty() || std::find(products.begin(), products.end(),
                                                                            filters.product_code()) != products.end());
}

// Most frequent first, then by name; returns the total.
int64_t EmitReasons(const std::map<std::string, int64_t>& counts,
                    google::protobuf::RepeatedPtrField<api::v1::LostReason>* out) {
  int64_t total = 0;
  for (const auto& [reason, n] : counts) total += n;
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [reason, n] : sorted) {
    auto* r = out->Add();
    r->set_reason(reason);
    r->set_count(n);
    r->set_share(static_cast<double>(n) / static_cast<double>(total));
  }
  return total;
}

// The disqualifications from the lost cells into `sums`, when they can answer (no filter, or one
// on a funnel dimension), with the journeys changed after `as_of` counted as of then. False: the
// journeys must be read.
StatusOr<bool> DisqualifiedFromCells(const Store& store, const api::v1::ReportFilters& filters, absl::Time as_of,
                                     absl::TimeZone tz, PeriodSums<LostSums>& sums) {
  const std::optional<CellSource> source = CellSourceFor(events::v1::PLAN_DIMENSION_COMPANY, filters);
  if (!source || source->dimension == events::v1::PLAN_DIMENSION_CLIENT) return false;
  ASSIGN_OR_RETURN(std::optional<std::set<std::string>> late, LateJourneys(store, as_of));
  if (!late) return false;
  const std::string& only = source->only_key;
  const auto add = [&](absl::CivilDay day, const std::string& key, const std::vector<int64_t>& s, int sign) {
    if (!only.empty() && key != only) return;
    for (auto* lost : sums.At(day)) {
      for (int reason = 0; reason < kLostReasons; ++reason) {
        if (s[reason] == 0) continue;
        lost->disqualified[events::v1::DisqualificationReason_Name(reason)] += sign * s[reason];
      }
    }
  };
  RETURN_IF_ERROR(ForEachCellAsOf(store, kLostCellsFamily, SumsOfWidth(kLostReasons), LostCellsOf, source->dimension,
                                  sums.total().period, as_of, tz, *late, add));
  // A reason is listed only when a lead counts under it (as reading the journeys lists them).
  std::erase_if(sums.total().sums.disqualified, [](const auto& kv) { return kv.second == 0; });
  for (auto& b : sums.buckets()) std::erase_if(b.sums.disqualified, [](const auto& kv) { return kv.second == 0; });
  return true;
}

// The rejections from the rejection cells into `sums`, when they can answer (no filter, or one),
// minus the rejections recorded after `as_of`. False: the facts must be read.
StatusOr<bool> RejectedFromCells(const Store& store, const api::v1::ReportFilters& filters, absl::Time as_of,
                                 absl::TimeZone tz, PeriodSums<LostSums>& sums) {
  const std::optional<CellSource> source = CellSourceFor(events::v1::PLAN_DIMENSION_COMPANY, filters);
  if (!source) return false;
  ASSIGN_OR_RETURN(std::optional<std::string> zone, store.Get(kSettingsFamily, kTimeZoneSetting));
  if (!zone || *zone != tz.name()) return false;  // built for another zone
  // Recorded after the as-of time: taken out below.
  ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> late_keys,
                   FactsRecordedAfter(store, as_of, Fact::KIND_OFFER_REJECTED));
  if (!late_keys) return false;
  std::vector<Fact> late;
  for (const std::string& key : *late_keys) {
    ASSIGN_OR_RETURN(std::optional<Fact> f, LoadRow<Fact>(store, kFactsFamily, key));
    if (f && RejectionMatches(*f, filters)) late.push_back(std::move(*f));
  }
  const Period& period = sums.total().period;
  const std::string end = FunnelCellPrefix(source->dimension, period.last + 1);
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store.ScanRange(kRejectionCellsFamily, FunnelCellPrefix(source->dimension, period.first), end,
                                  [&](std::string_view key, std::string_view value) {
                                    const std::optional<FunnelCell> cell = DecodeFunnelCellKey(key);
                                    const std::optional<std::vector<int64_t>> n = DecodeSums(value);
                                    const size_t nul = cell ? cell->key.find('\0') : std::string::npos;
                                    if (!cell || !n || n->size() != 1 || nul == std::string::npos) {
                                      inner = absl::DataLossError("stored rejection cell is corrupt");
                                      return false;
                                    }
                                    if (!source->only_key.empty() && cell->key.substr(0, nul) != source->only_key) {
                                      return true;
                                    }
                                    const std::string reason = cell->key.substr(nul + 1);
                                    for (auto* s : sums.At(cell->day)) s->rejected[reason] += (*n)[0];
                                    return true;
                                  }));
  RETURN_IF_ERROR(inner);
  for (const Fact& f : late) {
    for (auto* s : sums.At(events::FromProto(f.occurred_at()), tz)) --s->rejected[f.reason()];
  }
  std::erase_if(sums.total().sums.rejected, [](const auto& kv) { return kv.second == 0; });
  for (auto& b : sums.buckets()) std::erase_if(b.sums.rejected, [](const auto& kv) { return kv.second == 0; });
  return true;
}

void EmitLost(const Period& period, const LostSums& sums, api::v1::LostReasonsPeriod* out) {
  *out->mutable_period() = ToProto(period);
  out->set_disqualified_total(EmitReasons(sums.disqualified, out->mutable_disqualified()));
  out->set_rejected_total(EmitReasons(sums.rejected, out->mutable_rejected()));
}

}  // namespace

StatusOr<api::v1::FunnelResponse> FunnelReports::GetFunnel(const api::v1::FunnelRequest& r) const {
  Violations v;
  const std::optional<Period> period = CheckPeriod(r.period(), v);
  CheckLeadDimension(r.by(), v);
  CheckDynamics(r.dynamics(), v);
  CheckFilters(r.filters(), "filters", v);
  RETURN_IF_ERROR(command::Result(std::move(v)));
  const PlanDimension by = OrCompany(r.by());
  const absl::Time as_of = AsOf(r.as_of(), *clock_);
  PeriodSums<Rows<api::v1::FunnelRow>> sums(*period, r.dynamics());
  bool from_cells = false;
  if (!scan_journeys_) {
    ASSIGN_OR_RETURN(from_cells, FunnelFromCells(*store_, r.filters(), by, as_of, settings_.time_zone, sums));
  }
  if (!from_cells) {
    RETURN_IF_ERROR(ForEachJourney(*store_, [&](const LeadJourney& journey) {
      const std::optional<LeadStages> stages = StagesAsOf(journey, as_of);
      if (!stages || !JourneyMatches(journey, *stages, r.filters())) return;
      AddToFunnel(*stages, JourneyKeys(journey, *stages, by, r.filters()), settings_.time_zone, sums);
    }));
  }
  api::v1::FunnelResponse out;
  *out.mutable_as_of() = events::ToProto(as_of);
  EmitFunnel(sums.total().period, sums.total().sums, by, out.mutable_total());
  for (auto& b : sums.buckets()) EmitFunnel(b.period, b.sums, by, out.add_buckets());
  return out;
}

StatusOr<api::v1::CycleTimesResponse> FunnelReports::GetCycleTimes(const api::v1::CycleTimesRequest& r) const {
  Violations v;
  const std::optional<Period> period = CheckPeriod(r.period(), v);
  CheckLeadDimension(r.by(), v);
  CheckDynamics(r.dynamics(), v);
  CheckFilters(r.filters(), "filters", v);
  RETURN_IF_ERROR(command::Result(std::move(v)));
  const PlanDimension by = OrCompany(r.by());
  const absl::Time as_of = AsOf(r.as_of(), *clock_);
  PeriodSums<Rows<CycleRuns>> runs(*period, r.dynamics());
  SampleArena samples;
  bool from_cells = false;
  if (!scan_journeys_) {
    ASSIGN_OR_RETURN(from_cells, CyclesFromCells(*store_, r.filters(), by, as_of, settings_.time_zone, runs, samples));
  }
  if (!from_cells) {
    PeriodSums<Rows<CycleSamples>> sums(*period, r.dynamics());
    RETURN_IF_ERROR(ForEachJourney(*store_, [&](const LeadJourney& journey) {
      const std::optional<LeadStages> stages = StagesAsOf(journey, as_of);
      if (!stages || !JourneyMatches(journey, *stages, r.filters())) return;
      AddCycles(*stages, JourneyKeys(journey, *stages, by, r.filters()), settings_.time_zone, sums);
    }));
    const auto to_runs = [&](Rows<CycleSamples>& lists, Rows<CycleRuns>& out) {
      for (auto& [key, list] : lists) {
        for (int c = 0; c < kCycles; ++c) {
          std::sort(list[c].begin(), list[c].end());
          out[key][c].Add(samples.Keep(list[c]));
        }
      }
    };
    to_runs(sums.total().sums, runs.total().sums);
    for (size_t b = 0; b < sums.buckets().size(); ++b) to_runs(sums.buckets()[b].sums, runs.buckets()[b].sums);
  }
  api::v1::CycleTimesResponse out;
  *out.mutable_as_of() = events::ToProto(as_of);
  // The total's percentiles on one thread, the buckets' on another (as many values each).
  api::v1::CycleTimesPeriod* total = out.mutable_total();
  std::vector<api::v1::CycleTimesPeriod*> buckets;
  for (size_t b = 0; b < runs.buckets().size(); ++b) buckets.push_back(out.add_buckets());
  QueryHelpers::Shared().RunBoth([&] { EmitCycles(runs.total().period, runs.total().sums, by, total); },
                                 [&] {
                                   for (size_t b = 0; b < buckets.size(); ++b) {
                                     EmitCycles(runs.buckets()[b].period, runs.buckets()[b].sums, by, buckets[b]);
                                   }
                                 });
  return out;
}

StatusOr<api::v1::LostReasonsResponse> FunnelReports::GetLostReasons(const api::v1::LostReasonsRequest& r) const {
  Violations v;
  const std::optional<Period> period = CheckPeriod(r.period(), v);
  CheckDynamics(r.dynamics(), v);
  CheckFilters(r.filters(), "filters", v);
  RETURN_IF_ERROR(command::Result(std::move(v)));
  const absl::Time as_of = AsOf(r.as_of(), *clock_);
  const absl::TimeZone tz = settings_.time_zone;
  PeriodSums<LostSums> sums(*period, r.dynamics());
  bool from_cells = false;
  if (!scan_journeys_) {
    ASSIGN_OR_RETURN(from_cells, DisqualifiedFromCells(*store_, r.filters(), as_of, tz, sums));
  }
  if (!from_cells) {
    RETURN_IF_ERROR(ForEachJourney(*store_, [&](const LeadJourney& journey) {
      const std::optional<LeadStages> stages = StagesAsOf(journey, as_of);
      if (!stages || !stages->disqualified || !JourneyMatches(journey, *stages, r.filters())) return;
      const std::string reason = events::v1::DisqualificationReason_Name(journey.disqualification_reason());
      for (auto* s : sums.At(*stages->disqualified, tz)) ++s->disqualified[reason];
    }));
  }
  bool rejected_from_cells = false;
  if (!scan_journeys_) {
    ASSIGN_OR_RETURN(rejected_from_cells, RejectedFromCells(*store_, r.filters(), as_of, tz, sums));
  }
  if (!rejected_from_cells) {
    RETURN_IF_ERROR(ForEachFact(*store_, Fact::KIND_OFFER_REJECTED, *period, as_of, tz, [&](const Fact& f) {
      if (!RejectionMatches(f, r.filters())) return;
      for (auto* s : sums.At(events::FromProto(f.occurred_at()), tz)) ++s->rejected[f.reason()];
    }));
  }
  api::v1::LostReasonsResponse out;
  *out.mutable_as_of() = events::ToProto(as_of);
  EmitLost(sums.total().period, sums.total().sums, out.mutable_total());
  for (auto& b : sums.buckets()) EmitLost(b.period, b.sums, out.add_buckets());
  return out;
}

}  // namespace sales::reporting
