#include "services/reporting/api/pipeline.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "common/events/envelope.h"
#include "google/protobuf/arena.h"
#include "services/reporting/api/sales_reports.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using store::v1::OfferPipeline;
using store::v1::PipelineStep;

// Win rates are measured over the offers closed in this long before the moment of the pipeline.
constexpr absl::Duration kWinRateWindow = absl::Hours(24 * 365);

// The offers a snapshot reads, parsed once for all the moments of a report (into one arena: a
// busy year has hundreds of thousands), with their steps' stages and times as nanoseconds so that
// finding the step in force at each moment compares integers.
struct LoadedOffers {
  struct Step {
    PipelineStage stage;
    int64_t occurred, recorded;  // unix nanos
  };
  struct Offer {
    const OfferPipeline* row;
    uint32_t first_step, steps;  // in `steps` below, oldest first
    uint32_t reached = 0;        // bit 1 << stage for every stage it reached
  };
  google::protobuf::Arena arena;
  std::vector<Step> steps;
  std::vector<Offer> offers;

  Status Add(std::string_view key, std::string_view value) {
    auto* o = google::protobuf::Arena::CreateMessage<OfferPipeline>(&arena);
    if (!o->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(StrCat("stored pipeline offer ", key, " is corrupt"));
    }
    Offer offer{o, static_cast<uint32_t>(steps.size()), static_cast<uint32_t>(o->steps_size())};
    for (const PipelineStep& s : o->steps()) {
      steps.push_back({s.stage(), absl::ToUnixNanos(events::FromProto(s.occurred_at())),
                       absl::ToUnixNanos(events::FromProto(s.recorded_at()))});
      if (s.stage() >= 0 && s.stage() < 32) offer.reached |= 1u << s.stage();
    }
    offers.push_back(offer);
    return absl::OkStatus();
  }

  // The index of the step in force at `at` as known at `as_of` (steps are recorded in order; the
  // last one that occurred by `at`); -1 before the draft.
  int StepAt(const Offer& o, int64_t at, int64_t as_of) const {
    int out = -1;
    for (uint32_t i = 0; i < o.steps; ++i) {
      const Step& s = steps[o.first_step + i];
      if (s.recorded > as_of) break;
      if (s.occurred <= at) out = static_cast<int>(i);
    }
    return out;
  }
};

// The open offers, and the closed ones whose closing time (projection/pipeline.h) is at or after
// `closed_from`: every offer that may be open at a moment from then on, or closed in the win-rate
// window before it.
StatusOr<std::unique_ptr<LoadedOffers>> LoadOffers(const Store& store, absl::Time closed_from) {
  auto out = std::make_unique<LoadedOffers>();
  Status inner = absl::OkStatus();
  const auto add = [&](std::string_view key, std::string_view value) {
    inner = out->Add(key, value);
    return inner.ok();
  };
  RETURN_IF_ERROR(store.Scan(kOpenOffersFamily, "", "", add));
  RETURN_IF_ERROR(inner);
  RETURN_IF_ERROR(store.ScanFrom(kClosedOffersFamily, ClosedOfferKey(closed_from), add));
  RETURN_IF_ERROR(inner);
  return out;
}

struct StageCell {
  int64_t offers = 0;
  std::map<std::string, __int128> value;  // per currency
};

struct Outcomes {
  int64_t closed = 0;
  int64_t won = 0;
};

// The pipeline at one moment.
struct Snapshot {
  std::map<std::pair<std::string, PipelineStage>, StageCell> rows;  // (key, stage)
  int64_t offers = 0;                                                // in all rows, each once
  std::map<std::string, std::string> labels;
  std::map<PipelineStage, Outcomes> history;  // offers closed in the window that reached the stage
};

void AddClosed(const LoadedOffers::Offer& o, PipelineStage closing, Snapshot& s) {
  const bool won = closing == store::v1::PIPELINE_STAGE_ACCEPTED;
  for (PipelineStage stage : OpenStages()) {
    if ((o.reached & (1u << stage)) == 0) continue;
    ++s.history[stage].closed;
    s.history[stage].won += won ? 1 : 0;
  }
}

Snapshot TakeSnapshot(const LoadedOffers& offers, absl::Time at, absl::Time as_of, PlanDimension by,
                      const api::v1::ReportFilters& filters) {
  Snapshot s;
  const bool filtered = filters.ByteSizeLong() > 0;
  const auto matching_lines = [&](const OfferPipeline& o, const PipelineStep& step) {
    std::vector<Fact> lines = PipelineLines(o, step);
    if (filtered) std::erase_if(lines, [&](const Fact& f) { return !Matches(f, filters); });
    return lines;
  };
  const int64_t at_nanos = absl::ToUnixNanos(at), as_of_nanos = absl::ToUnixNanos(as_of);
  const int64_t window_start = absl::ToUnixNanos(at - kWinRateWindow);
  for (const LoadedOffers::Offer& o : offers.offers) {
    const int i = offers.StepAt(o, at_nanos, as_of_nanos);
    if (i < 0) continue;
    const LoadedOffers::Step& step = offers.steps[o.first_step + i];
    if (!IsOpenStage(step.stage)) {  // most offers: their lines only for the filters
      if (step.occurred > window_start && (!filtered || !matching_lines(*o.row, o.row->steps(i)).empty())) {
        AddClosed(o, step.stage, s);
      }
      continue;
    }
    const OfferPipeline& row = *o.row;
    const std::vector<Fact> lines = matching_lines(row, row.steps(i));
    if (lines.empty()) continue;
    ++s.offers;
    std::set<std::string> keys;  // the offer counts once in each of its rows
    for (const Fact& line : lines) {
      const std::string key = KeyOf(line, by);
      StageCell& cell = s.rows[{key, step.stage}];
      if (by == events::v1::PLAN_DIMENSION_CLIENT && !row.client_label().empty()) s.labels[key] = row.client_label();
      cell.value[line.amount().currency()] += line.amount().units();
      if (keys.insert(key).second) ++cell.offers;
    }
  }
  return s;
}

// The pipeline at `at` as of `as_of` from the open sums (projection/pipeline.h), when they can
// answer: no step of any offer occurred or was recorded after the earlier of the two (they are
// the pipeline as known now), `by` is not CLIENT, and the filters are none or one on `by` (or
// on any dimension of the sums when `by` is COMPANY). Without history (measured probabilities).
StatusOr<std::optional<Snapshot>> SnapshotFromSums(const Store& store, absl::Time at, absl::Time as_of,
                                                   PlanDimension by, const api::v1::ReportFilters& filters) {
  const std::optional<CellSource> source = CellSourceFor(by, filters);
  if (!source || source->dimension == events::v1::PLAN_DIMENSION_CLIENT) return std::optional<Snapshot>();
  const PlanDimension read = source->dimension;
  const std::string& only = source->only_key;
  ASSIGN_OR_RETURN(std::optional<std::string> latest, store.Get(kSettingsFamily, kPipelineLatestSetting));
  const std::optional<int64_t> latest_nanos = latest ? DecodeInt64(*latest) : std::nullopt;
  if (latest && (!latest_nanos || absl::FromUnixNanos(*latest_nanos) > std::min(at, as_of))) {
    return std::optional<Snapshot>();
  }
  Snapshot s;
  Status inner = absl::OkStatus();
  const std::string prefix = OpenPipelinePrefix(read);
  RETURN_IF_ERROR(store.ScanFrom(kOpenPipelineFamily, prefix, [&](std::string_view key, std::string_view value) {
    if (!key.starts_with(prefix)) return false;
    const std::optional<OpenPipelineCell> cell = DecodeOpenPipelineKey(key);
    const std::optional<std::vector<int64_t>> sums = DecodeSums(value);
    if (!cell || !sums || sums->size() != kPipelineSums) {
      inner = absl::DataLossError("stored open pipeline sums are corrupt");
      return false;
    }
    if ((!only.empty() && cell->key != only) || ((*sums)[kPipelineOffers] == 0 && (*sums)[kPipelineValue] == 0)) {
      return true;
    }
    StageCell& row = s.rows[{by == events::v1::PLAN_DIMENSION_COMPANY ? "" : cell->key, cell->stage}];
    row.offers += (*sums)[kPipelineOffers];
    row.value[cell->currency] += (*sums)[kPipelineValue];
    if (read == events::v1::PLAN_DIMENSION_COMPANY || !only.empty()) s.offers += (*sums)[kPipelineOffers];
    return true;
  }));
  RETURN_IF_ERROR(inner);
  if (read != events::v1::PLAN_DIMENSION_COMPANY && only.empty()) {  // each offer once: the company's count
    ASSIGN_OR_RETURN(std::optional<Snapshot> company,
                     SnapshotFromSums(store, at, as_of, events::v1::PLAN_DIMENSION_COMPANY, filters));
    s.offers = company ? company->offers : 0;
  }
  return std::optional<Snapshot>(std::move(s));
}

api::v1::StageProbability OddsOf(PipelineStage stage, const Snapshot& s, const SalesReportRules& rules) {
  api::v1::StageProbability out;
  out.set_stage(static_cast<api::v1::PipelineStage>(stage));
  if (auto it = s.history.find(stage); it != s.history.end() && it->second.closed > 0) {
    out.set_measured(true);
    out.set_closed(it->second.closed);
    out.set_won(it->second.won);
    out.set_measured_probability(static_cast<double>(it->second.won) / it->second.closed);
    out.set_probability(out.measured_probability());
  }
  if (auto it = rules.stage_probabilities.find(stage); it != rules.stage_probabilities.end()) {
    out.set_configured(true);
    out.set_configured_probability(it->second);
    out.set_probability(it->second);
  }
  return out;
}

// The snapshot in the reporting currency at the rate of `at`'s day.
api::v1::PipelinePeriod ToApi(const Period& period, absl::Time at, const Snapshot& s, const Rates& rates,
                              const ReportSettings& settings) {
  api::v1::PipelinePeriod out;
  *out.mutable_period() = ToProto(period);
  *out.mutable_at() = events::ToProto(at);
  std::map<PipelineStage, double> used;
  for (PipelineStage stage : OpenStages()) {
    *out.add_probabilities() = OddsOf(stage, s, settings.sales);
    used[stage] = out.probabilities().rbegin()->probability();
  }
  const absl::CivilDay day = absl::ToCivilDay(at, settings.time_zone);
  __int128 value = 0, weighted = 0;
  std::map<std::string, __int128> unconverted;
  for (const auto& [key_stage, cell] : s.rows) {
    __int128 units = 0;
    for (const auto& [currency, amount] : cell.value) {
      if (auto converted = ToReportingUnits(amount, currency, day, rates, settings.currency)) {
        units += *converted;
      } else {
        unconverted[currency] += amount;
      }
    }
    const auto row_weighted =
        static_cast<__int128>(std::llround(static_cast<double>(units) * used[key_stage.second]));
    auto* row = out.add_rows();
    row->set_key(key_stage.first);
    auto label = s.labels.find(key_stage.first);
    row->set_label(label != s.labels.end() ? label->second : key_stage.first);
    row->set_stage(static_cast<api::v1::PipelineStage>(key_stage.second));
    row->set_offers(cell.offers);
    *row->mutable_value() = ToMoney(units, settings.currency);
    row->set_probability(used[key_stage.second]);
    *row->mutable_weighted_value() = ToMoney(row_weighted, settings.currency);
    value += units;
    weighted += row_weighted;
  }
  out.set_offers(s.offers);
  *out.mutable_value() = ToMoney(value, settings.currency);
  *out.mutable_weighted_value() = ToMoney(weighted, settings.currency);
  ListUnconverted(unconverted, out.mutable_unconverted());
  return out;
}

// The moment a period's pipeline is taken at: the end of its last day, or `as_of` when earlier.
absl::Time MomentOf(const Period& p, absl::Time as_of, absl::TimeZone tz) {
  return std::min(absl::FromCivil(p.last + 1, tz) - absl::Nanoseconds(1), as_of);
}

}  // namespace

StatusOr<api::v1::PipelineResponse> ReportQueries::GetPipeline(const api::v1::PipelineRequest& r) const {
  ASSIGN_OR_RETURN(ReportScope scope, CheckScope(r.period(), r.by(), r.dynamics(), r.filters(), r.as_of(), *clock_));
  const std::vector<Period> windows = Windows(scope);
  absl::Time earliest = scope.as_of;
  for (const Period& w : windows) earliest = std::min(earliest, MomentOf(w, scope.as_of, settings_.time_zone));
  ASSIGN_OR_RETURN(std::unique_ptr<LoadedOffers> offers, LoadOffers(*store_, earliest - kWinRateWindow));
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(*store_, scope.as_of));
  api::v1::PipelineResponse out;
  out.set_reporting_currency(settings_.currency);
  *out.mutable_as_of() = events::ToProto(scope.as_of);
  for (size_t i = 0; i < windows.size(); ++i) {
    const absl::Time at = MomentOf(windows[i], scope.as_of, settings_.time_zone);
    *(i == 0 ? out.mutable_total() : out.add_buckets()) =
        ToApi(windows[i], at, TakeSnapshot(*offers, at, scope.as_of, scope.by, r.filters()), rates, settings_);
  }
  return out;
}

StatusOr<api::v1::PipelinePeriod> PipelineNow(const Store& store, const ReportSettings& settings, absl::Time as_of,
                                              PlanDimension by, const api::v1::ReportFilters& filters,
                                              bool from_offers) {
  // Closed offers only matter for a stage whose probability is measured, and for offers open at
  // `as_of` whose closing was recorded later: with every stage configured, a short scan. With
  // every stage configured the open sums answer as known now (the usual as-of time).
  const bool measured = settings.sales.stage_probabilities.size() < OpenStages().size();
  std::optional<Snapshot> snapshot;
  if (!measured && !from_offers) {
    ASSIGN_OR_RETURN(snapshot, SnapshotFromSums(store, as_of, as_of, by, filters));
  }
  if (!snapshot) {
    ASSIGN_OR_RETURN(std::unique_ptr<LoadedOffers> offers,
                     LoadOffers(store, measured ? as_of - kWinRateWindow : as_of));
    snapshot = TakeSnapshot(*offers, as_of, as_of, by, filters);
  }
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(store, as_of));
  return ToApi(Period{}, as_of, *snapshot, rates, settings);
}

Status AddWeightedForecast(const Store& store, const ReportSettings& settings, const api::v1::PlanVsActualRequest& r,
                           absl::Time as_of, api::v1::PlanVsActualResponse& out) {
  if (r.metric() != events::v1::PLAN_METRIC_REVENUE) return absl::OkStatus();
  const PlanDimension by = r.by() == events::v1::PLAN_DIMENSION_UNSPECIFIED ? events::v1::PLAN_DIMENSION_COMPANY : r.by();
  ASSIGN_OR_RETURN(const api::v1::PipelinePeriod pipeline, PipelineNow(store, settings, as_of, by, r.filters()));
  std::map<std::string, int64_t> weighted;  // per key
  std::map<std::string, std::string> labels;
  for (const auto& row : pipeline.rows()) {
    weighted[row.key()] += row.weighted_value().units();
    labels[row.key()] = row.label();
  }
  const auto forecast = [&](api::v1::PlanVsActualPeriod& p) -> Status {
    ASSIGN_OR_RETURN(Period period, FromProto(p.period()));
    const bool running = absl::FromCivil(period.first, settings.time_zone) <= as_of &&
                         as_of < absl::FromCivil(period.last + 1, settings.time_zone);
    std::map<std::string, api::v1::PlanVsActualRow> rows;
    for (auto& row : *p.mutable_rows()) rows[row.key()] = std::move(row);
    for (const auto& entry : running ? weighted : std::map<std::string, int64_t>{}) {
      if (rows.count(entry.first)) continue;
      auto& row = rows[entry.first];  // open offers, nothing won yet, no target
      row.set_key(entry.first);
      row.set_label(labels[entry.first]);
      *row.mutable_actual_amount() = *row.mutable_target_amount() = *row.mutable_forecast_amount() =
          ToMoney(0, settings.currency);
    }
    p.clear_rows();
    for (auto& [key, row] : rows) {
      const int64_t pipeline = running && weighted.count(key) ? weighted[key] : 0;
      *row.mutable_weighted_forecast_amount() = ToMoney(row.actual_amount().units() + pipeline, settings.currency);
      *p.add_rows() = std::move(row);
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(forecast(*out.mutable_total()));
  for (auto& b : *out.mutable_buckets()) RETURN_IF_ERROR(forecast(b));
  return absl::OkStatus();
}

}  // namespace sales::reporting
