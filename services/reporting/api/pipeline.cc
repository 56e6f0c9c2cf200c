#include "services/reporting/api/pipeline.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "common/events/envelope.h"
#include "google/protobuf/arena.h"
#include "services/reporting/api/sales_reports.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using store::v1::OfferPipeline;
using store::v1::PipelineStep;

// Win rates are measured over the offers closed on the moment's day and this many days before it.
constexpr int kWinRateDays = 364;
// Beyond this many offers with a step after the as-of time, reading every offer is cheaper than
// taking them out of the cells one by one.
constexpr size_t kMaxLateOffers = 50000;

// The first moment of the win-rate window of a pipeline taken at `at`.
absl::Time WinRateStart(absl::Time at, absl::TimeZone tz) {
  return absl::FromCivil(absl::ToCivilDay(at, tz) - kWinRateDays, tz);
}

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
                      const api::v1::ReportFilters& filters, absl::TimeZone tz) {
  Snapshot s;
  const bool filtered = filters.ByteSizeLong() > 0;
  const auto matching_lines = [&](const OfferPipeline& o, const PipelineStep& step) {
    std::vector<Fact> lines = PipelineLines(o, step);
    if (filtered) std::erase_if(lines, [&](const Fact& f) { return !Matches(f, filters); });
    return lines;
  };
  const int64_t at_nanos = absl::ToUnixNanos(at), as_of_nanos = absl::ToUnixNanos(as_of);
  const int64_t window_start = absl::ToUnixNanos(WinRateStart(at, tz));
  for (const LoadedOffers::Offer& o : offers.offers) {
    const int i = offers.StepAt(o, at_nanos, as_of_nanos);
    if (i < 0) continue;
    const LoadedOffers::Step& step = offers.steps[o.first_step + i];
    if (!IsOpenStage(step.stage)) {  // most offers: their lines only for the filters
      if (step.occurred >= window_start && (!filtered || !matching_lines(*o.row, o.row->steps(i)).empty())) {
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

// The offers that had a step after `as_of` (occurred or recorded): the closed ones whose closing
// time is after it, and the open ones whose latest step is (an offer closed by then has every
// step of its way by then, or one that never came into force). nullopt beyond kMaxLateOffers.
StatusOr<std::optional<std::vector<OfferPipeline>>> LateOffers(const Store& store, absl::Time as_of) {
  std::vector<OfferPipeline> out;
  if (as_of == absl::InfiniteFuture()) return std::optional(std::move(out));
  const std::string after = ClosedOfferKey(as_of + absl::Nanoseconds(1));
  Status inner = absl::OkStatus();
  const auto add = [&](std::string_view key, std::string_view value) {
    if (out.size() == kMaxLateOffers) return false;
    if (!out.emplace_back().ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      inner = absl::DataLossError(StrCat("stored pipeline offer ", key, " is corrupt"));
    }
    return inner.ok();
  };
  RETURN_IF_ERROR(store.ScanFrom(kClosedOffersFamily, after, add));
  RETURN_IF_ERROR(inner);
  RETURN_IF_ERROR(store.ScanFrom(kOpenOffersByTimeFamily, after, [&](std::string_view key, std::string_view) {
    if (out.size() == kMaxLateOffers) return false;
    const std::string id(key.size() > 8 ? key.substr(8) : "");
    auto row = LoadRow<OfferPipeline>(store, kOpenOffersFamily, id);
    if (!row.ok() || !*row) {
      inner = row.ok() ? absl::DataLossError(StrCat("open offer ", id, " of the time index has no row")) : row.status();
      return false;
    }
    out.push_back(std::move(**row));
    return true;
  }));
  RETURN_IF_ERROR(inner);
  if (out.size() == kMaxLateOffers) return std::optional<std::vector<OfferPipeline>>();
  return std::optional(std::move(out));
}

// What the cells hold as known now, turned into what was known at the as-of time: the late
// offers' cells now taken out, their cells as of then put in (PipelineCellsOf).
PipelineCellSums LateCorrections(const std::vector<OfferPipeline>& late, absl::Time as_of, absl::TimeZone tz) {
  PipelineCellSums out;
  for (const OfferPipeline& o : late) {
    for (const int sign : {-1, 1}) {
      const PipelineCellSums cells = PipelineCellsOf(o, sign < 0 ? absl::InfiniteFuture() : as_of, tz);
      for (const auto& [from, to] : {std::pair{&cells.open, &out.open}, std::pair{&cells.closed, &out.closed}}) {
        for (const auto& [key, sums] : *from) {
          std::vector<int64_t>& cell = (*to)[key];
          cell.resize(sums.size(), 0);
          for (size_t i = 0; i < sums.size(); ++i) cell[i] += sign * sums[i];
        }
      }
    }
  }
  return out;
}

// The open sums of one dimension at the end of several days: `at[d][c]` is cell `cells[c]`'s at
// the end of day d.
struct OpenSumsAt {
  std::vector<OpenPipelineCell> cells;
  std::vector<std::vector<std::array<int64_t, kPipelineSums>>> at;
};

// The open sums of `dimension` (only `only` when set) at the end of each of `days`, as of the
// time of `corrections`: the open sums now, less the month cells of the months after the day's
// month and the day cells of the days after it in its month. Cells are told apart by their
// open_pipeline key without its dimension (stage, key, currency), interned.
StatusOr<OpenSumsAt> OpenCellsAt(const Store& store, PlanDimension dimension, const std::string& only,
                                 const std::vector<absl::CivilDay>& days, const FunnelCellSums& corrections) {
  struct Change {
    int64_t day;  // since 1970-01-01; a month's first day for a month cell
    uint32_t cell;
    std::array<int64_t, kPipelineSums> sums;
  };
  const absl::CivilDay epoch(1970, 1, 1);
  const auto month_of = [&](absl::CivilDay d) { return absl::CivilDay(absl::CivilMonth(d)); };
  absl::flat_hash_map<std::string, uint32_t> ids;
  std::vector<std::string> names;
  std::vector<std::array<int64_t, kPipelineSums>> running;
  // The cell of `name` (UINT32_MAX: another key than `only`; nullopt: not a cell's name).
  const auto cell_of = [&](std::string_view name) -> std::optional<uint32_t> {
    const size_t nul = name.find('\0', 1);
    if (nul == std::string_view::npos) return std::nullopt;
    if (!only.empty() && name.substr(1, nul - 1) != only) return std::optional<uint32_t>(UINT32_MAX);
    auto it = ids.find(absl::string_view(name.data(), name.size()));  // Debian's absl::string_view is its own
    if (it == ids.end()) {
      it = ids.emplace(std::string(name), static_cast<uint32_t>(names.size())).first;
      names.emplace_back(name);
      running.push_back({});
    }
    return it->second;
  };
  const auto add = [&](std::array<int64_t, kPipelineSums>& to, const auto& sums, int sign) {
    for (int i = 0; i < kPipelineSums; ++i) to[i] += sign * sums[i];
  };
  const std::string prefix = OpenPipelinePrefix(dimension);
  Status inner = absl::OkStatus();
  // The changes of `family` from `from` until `until` (excluded; nullopt: to the dimension's end).
  const auto changes = [&](const char* family, absl::CivilDay from,
                           std::optional<absl::CivilDay> until) -> StatusOr<std::vector<Change>> {
    std::vector<Change> out;
    const std::string end = until ? FunnelCellPrefix(dimension, *until) : "";
    RETURN_IF_ERROR(store.ScanFrom(family, FunnelCellPrefix(dimension, from), [&](std::string_view key, std::string_view value) {
      if (!key.starts_with(prefix) || (until && key >= end)) return false;
      const std::optional<int64_t> day = DecodeInt64(key.substr(1, 8));
      const std::optional<uint32_t> cell = key.size() > 9 ? cell_of(key.substr(9)) : std::nullopt;
      const std::optional<std::array<int64_t, kPipelineSums>> sums = DecodeSumsOf<kPipelineSums>(value);
      if (!day || !cell || !sums) {
        inner = absl::DataLossError(StrCat("stored ", family, " row is corrupt"));
        return false;
      }
      if (*cell != UINT32_MAX) out.push_back({*day, *cell, *sums});
      return true;
    }));
    RETURN_IF_ERROR(inner);
    return out;
  };
  RETURN_IF_ERROR(store.ScanFrom(kOpenPipelineFamily, prefix, [&](std::string_view key, std::string_view value) {
    if (!key.starts_with(prefix)) return false;
    const std::optional<uint32_t> cell = cell_of(key.substr(1));
    const std::optional<std::array<int64_t, kPipelineSums>> sums = DecodeSumsOf<kPipelineSums>(value);
    if (!cell || !sums) {
      inner = absl::DataLossError("stored open pipeline sums are corrupt");
      return false;
    }
    if (*cell != UINT32_MAX) add(running[*cell], *sums, 1);
    return true;
  }));
  RETURN_IF_ERROR(inner);
  std::vector<Change> corrected;
  for (const auto& [key, sums] : corrections) {
    if (!key.starts_with(prefix) || key.size() <= 9) continue;
    const std::optional<int64_t> day = DecodeInt64(std::string_view(key).substr(1, 8));
    const std::optional<uint32_t> cell = cell_of(std::string_view(key).substr(9));
    if (!day || !cell || *cell == UINT32_MAX) continue;
    add(running[*cell], sums, 1);
    corrected.push_back({*day, *cell, {sums[kPipelineOffers], sums[kPipelineValue]}});
  }
  // The months after the earliest day's month, whole; by month from the last one back.
  ASSIGN_OR_RETURN(const std::vector<Change> months,
                   changes(kPipelineMonthCellsFamily,
                           absl::CivilDay(absl::CivilMonth(*std::min_element(days.begin(), days.end())) + 1),
                           std::nullopt));
  std::vector<size_t> order(days.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return days[a] > days[b]; });
  OpenSumsAt out;
  out.at.resize(days.size());
  auto month = months.rbegin();
  for (size_t k = 0; k < order.size();) {
    const absl::CivilDay first = month_of(days[order[k]]);
    for (; month != months.rend() && month->day > first - epoch; ++month) add(running[month->cell], month->sums, -1);
    // The days of that month in `days`, from the last one back: its days after each taken out.
    size_t in_month = k;
    while (in_month < order.size() && month_of(days[order[in_month]]) == first) ++in_month;
    ASSIGN_OR_RETURN(const std::vector<Change> later,
                     changes(kPipelineCellsFamily, days[order[in_month - 1]] + 1, absl::CivilDay(absl::CivilMonth(first) + 1)));
    std::vector<std::array<int64_t, kPipelineSums>> at = running;
    auto day = later.rbegin();
    for (; k < in_month; ++k) {
      const size_t i = order[k];
      for (; day != later.rend() && day->day > days[i] - epoch; ++day) add(at[day->cell], day->sums, -1);
      out.at[i] = at;
      for (const Change& c : corrected) {
        if (c.day > days[i] - epoch) add(out.at[i][c.cell], c.sums, -1);
      }
    }
  }
  for (const std::string& name : names) {
    std::optional<OpenPipelineCell> cell = DecodeOpenPipelineKey(prefix + name);
    if (!cell) return absl::DataLossError("stored pipeline cells are corrupt");
    out.cells.push_back(std::move(*cell));
  }
  // Cells first met in a later month's scan are absent from the earlier days' sums: zero there.
  for (auto& sums : out.at) sums.resize(names.size(), {});
  return out;
}

// The closed offers (per stage reached: closed, won) in the win-rate window of each of `days`,
// of `key` of `dimension`, as of the time of `corrections`.
StatusOr<std::vector<std::map<PipelineStage, Outcomes>>> ClosedAt(const Store& store, PlanDimension dimension,
                                                                 const std::string& key,
                                                                 const std::vector<absl::CivilDay>& days,
                                                                 const FunnelCellSums& corrections) {
  const auto [first, last] = std::minmax_element(days.begin(), days.end());
  std::map<absl::CivilDay, std::map<PipelineStage, Outcomes>> by_day;
  const auto add = [&](std::string_view cell_key, const auto& sums) {
    const auto at = DecodeClosedCellKey(cell_key);
    if (!at || sums.size() != kClosedSums) return false;
    Outcomes& o = by_day[at->first][at->second];
    o.closed += sums[kClosedOffers];
    o.won += sums[kClosedWon];
    return true;
  };
  const std::string prefix = ClosedCellPrefix(dimension, key);
  const std::string end = ClosedCellKey(dimension, key, *last + 1, store::v1::PIPELINE_STAGE_UNSPECIFIED);
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store.ScanFrom(
      kClosedCellsFamily, ClosedCellKey(dimension, key, *first - kWinRateDays, store::v1::PIPELINE_STAGE_UNSPECIFIED),
      [&](std::string_view cell_key, std::string_view value) {
        if (cell_key >= end) return false;
        const std::optional<std::array<int64_t, kClosedSums>> sums = DecodeSumsOf<kClosedSums>(value);
        if (!sums || !add(cell_key, *sums)) {
          inner = absl::DataLossError("stored closed offer cells are corrupt");
          return false;
        }
        return true;
      }));
  RETURN_IF_ERROR(inner);
  for (const auto& [cell_key, sums] : corrections) {
    if (cell_key.starts_with(prefix) && cell_key.size() == prefix.size() + 9) add(cell_key, sums);
  }
  std::vector<std::map<PipelineStage, Outcomes>> out(days.size());
  for (size_t i = 0; i < days.size(); ++i) {
    for (auto it = by_day.lower_bound(days[i] - kWinRateDays); it != by_day.end() && it->first <= days[i]; ++it) {
      for (const auto& [stage, o] : it->second) {
        out[i][stage].closed += o.closed;
        out[i][stage].won += o.won;
      }
    }
    std::erase_if(out[i], [](const auto& kv) { return kv.second.closed == 0; });
  }
  return out;
}

// The pipeline at each of `moments` (none after `as_of`) as of `as_of` from the cells
// (projection/pipeline.h), when they can answer: `by` is not CLIENT, the filters are none or one
// on `by` (or on any dimension of the cells when `by` is COMPANY), and at most kMaxLateOffers
// offers had a step after `as_of`. With the measured win rates when `history`. nullopt otherwise.
StatusOr<std::optional<std::vector<Snapshot>>> SnapshotsFromCells(const Store& store,
                                                                  const std::vector<absl::Time>& moments,
                                                                  absl::Time as_of, PlanDimension by,
                                                                  const api::v1::ReportFilters& filters,
                                                                  absl::TimeZone tz, bool history) {
  using Out = std::optional<std::vector<Snapshot>>;
  const std::optional<CellSource> source = CellSourceFor(by, filters);
  if (!source || source->dimension == events::v1::PLAN_DIMENSION_CLIENT) return Out();
  ASSIGN_OR_RETURN(std::optional<std::vector<OfferPipeline>> late, LateOffers(store, as_of));
  if (!late) return Out();
  const PipelineCellSums corrections = LateCorrections(*late, as_of, tz);
  std::vector<absl::CivilDay> days;
  for (absl::Time at : moments) days.push_back(absl::ToCivilDay(at, tz));
  const PlanDimension read = source->dimension;
  const std::string& only = source->only_key;
  ASSIGN_OR_RETURN(const OpenSumsAt open, OpenCellsAt(store, read, only, days, corrections.open));
  // Each offer once: the company's count, unless one key's is.
  std::optional<OpenSumsAt> company;
  if (read != events::v1::PLAN_DIMENSION_COMPANY && only.empty()) {
    ASSIGN_OR_RETURN(company, OpenCellsAt(store, events::v1::PLAN_DIMENSION_COMPANY, "", days, corrections.open));
  }
  std::vector<std::map<PipelineStage, Outcomes>> closed(days.size());
  if (history) {
    ASSIGN_OR_RETURN(closed, only.empty() ? ClosedAt(store, events::v1::PLAN_DIMENSION_COMPANY, "", days, corrections.closed)
                                          : ClosedAt(store, read, only, days, corrections.closed));
  }
  std::vector<Snapshot> out(days.size());
  for (size_t i = 0; i < days.size(); ++i) {
    Snapshot& s = out[i];
    for (size_t c = 0; c < open.cells.size(); ++c) {
      const OpenPipelineCell& cell = open.cells[c];
      const auto& sums = open.at[i][c];
      if (sums[kPipelineOffers] == 0 && sums[kPipelineValue] == 0) continue;
      StageCell& row = s.rows[{source->as_company ? std::string() : cell.key, cell.stage}];
      row.offers += sums[kPipelineOffers];
      row.value[cell.currency] += sums[kPipelineValue];
      if (!company) s.offers += sums[kPipelineOffers];
    }
    if (company) {
      for (const auto& sums : company->at[i]) s.offers += sums[kPipelineOffers];
    }
    s.history = std::move(closed[i]);
  }
  return Out(std::move(out));
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

// The pipeline at each of `moments` as of `as_of`: from the cells when they can answer unless
// `from_offers`, else from the offers' rows (both give the same; tests compare). With the measured
// win rates when `history`.
StatusOr<std::vector<Snapshot>> Snapshots(const Store& store, const std::vector<absl::Time>& moments, absl::Time as_of,
                                          PlanDimension by, const api::v1::ReportFilters& filters, absl::TimeZone tz,
                                          bool history, bool from_offers) {
  if (!from_offers) {
    ASSIGN_OR_RETURN(std::optional<std::vector<Snapshot>> cells,
                     SnapshotsFromCells(store, moments, as_of, by, filters, tz, history));
    if (cells) return std::move(*cells);
  }
  // Offers closed before the earliest moment (or its win-rate window) are in none.
  absl::Time earliest = *std::min_element(moments.begin(), moments.end());
  if (history) earliest = WinRateStart(earliest, tz);
  ASSIGN_OR_RETURN(std::unique_ptr<LoadedOffers> offers, LoadOffers(store, earliest));
  std::vector<Snapshot> out;
  for (absl::Time at : moments) {
    out.push_back(TakeSnapshot(*offers, at, as_of, by, filters, tz));
    if (!history) out.back().history.clear();
  }
  return out;
}

}  // namespace

StatusOr<api::v1::PipelineResponse> ReportQueries::GetPipeline(const api::v1::PipelineRequest& r) const {
  ASSIGN_OR_RETURN(ReportScope scope, CheckScope(r.period(), r.by(), r.dynamics(), r.filters(), r.as_of(), *clock_));
  const std::vector<Period> windows = Windows(scope);
  std::vector<absl::Time> moments;
  for (const Period& w : windows) moments.push_back(MomentOf(w, scope.as_of, settings_.time_zone));
  ASSIGN_OR_RETURN(std::vector<Snapshot> snapshots, Snapshots(*store_, moments, scope.as_of, scope.by, r.filters(),
                                                              settings_.time_zone, /*history=*/true, scan_offers_));
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(*store_, scope.as_of));
  api::v1::PipelineResponse out;
  out.set_reporting_currency(settings_.currency);
  *out.mutable_as_of() = events::ToProto(scope.as_of);
  for (size_t i = 0; i < windows.size(); ++i) {
    *(i == 0 ? out.mutable_total() : out.add_buckets()) = ToApi(windows[i], moments[i], snapshots[i], rates, settings_);
  }
  return out;
}

StatusOr<api::v1::PipelinePeriod> PipelineNow(const Store& store, const ReportSettings& settings, absl::Time as_of,
                                              PlanDimension by, const api::v1::ReportFilters& filters,
                                              bool from_offers) {
  // The closed offers only matter for a stage whose probability is measured.
  const bool measured = settings.sales.stage_probabilities.size() < OpenStages().size();
  ASSIGN_OR_RETURN(std::vector<Snapshot> snapshot,
                   Snapshots(store, {as_of}, as_of, by, filters, settings.time_zone, measured, from_offers));
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(store, as_of));
  return ToApi(Period{}, as_of, snapshot.front(), rates, settings);
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
