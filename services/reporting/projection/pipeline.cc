#include "services/reporting/projection/pipeline.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/events/envelope.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using events::v1::OfferEvent;
using store::v1::OfferPipeline;

// The stage an offer is in after `e`; nullopt for events that move none.
std::optional<PipelineStage> StageAfter(const OfferEvent& e) {
  switch (e.event_case()) {
    case OfferEvent::kDrafted:
    case OfferEvent::kRevised:  // a revision of a sent offer must be sent again
      return store::v1::PIPELINE_STAGE_DRAFT;
    case OfferEvent::kSent: return store::v1::PIPELINE_STAGE_SENT;
    case OfferEvent::kAccepted: return store::v1::PIPELINE_STAGE_ACCEPTED;
    case OfferEvent::kRejected: return store::v1::PIPELINE_STAGE_REJECTED;
    case OfferEvent::kWithdrawn: return store::v1::PIPELINE_STAGE_WITHDRAWN;
    case OfferEvent::kExpired: return store::v1::PIPELINE_STAGE_EXPIRED;
    default: return std::nullopt;
  }
}

OfferPipeline NewRow(const std::string& offer_id, const events::v1::LeadFacts& lead) {
  OfferPipeline row;
  row.set_offer_id(offer_id);
  row.set_manager_id(lead.owner_manager_id());
  row.set_region(lead.region());
  row.set_source(lead.source());
  row.set_client_id(lead.lead_id());
  row.set_client_label(lead.contact().company().empty() ? lead.contact().name() : lead.contact().company());
  return row;
}

// The step: `stage` with the latest revision's value and its nets per product (line order).
store::v1::PipelineStep Step(PipelineStage stage, const EventEnvelope& event, const store::v1::OfferAttribution& view) {
  store::v1::PipelineStep step;
  step.set_stage(stage);
  *step.mutable_occurred_at() = event.occurred_at();
  *step.mutable_recorded_at() = event.recorded_at();
  if (view.revisions().empty()) return step;  // the draft never reached us: no value known
  const events::v1::OfferTerms& terms = *view.revisions().rbegin();
  *step.mutable_value() = terms.total();
  for (const auto& line : terms.lines()) {
    auto it = std::find_if(step.mutable_lines()->begin(), step.mutable_lines()->end(),
                           [&](const auto& l) { return l.product_code() == line.product_code(); });
    if (it == step.mutable_lines()->end()) {
      auto* added = step.add_lines();
      added->set_product_code(line.product_code());
      *added->mutable_net() = line.net();
    } else {
      it->mutable_net()->set_units(it->net().units() + line.net().units());
    }
  }
  return step;
}

// What an offer at `step` adds to (sign 1) or takes from (sign -1) the open sums: each key of
// each dimension once, with the value of its lines.
std::map<std::string, std::vector<int64_t>> OpenSums(const OfferPipeline& o, const store::v1::PipelineStep& step,
                                                     int sign) {
  std::map<std::string, std::vector<int64_t>> out;
  const std::vector<Fact> lines = PipelineLines(o, step);
  for (PlanDimension dimension : kPipelineDimensions) {
    for (const Fact& line : lines) {
      std::vector<int64_t>& sums = out[OpenPipelineKey(dimension, step.stage(), CellKeyString(line, dimension),
                                                       line.amount().currency())];
      if (sums.empty()) sums = {sign, 0};
      sums[kPipelineValue] += sign * line.amount().units();
    }
  }
  return out;
}

void AddOpenSums(const OfferPipeline& o, const store::v1::PipelineStep& step, int sign, Batch& batch) {
  if (!IsOpenStage(step.stage())) return;
  for (const auto& [key, sums] : OpenSums(o, step, sign)) batch.AddSums(kOpenPipelineFamily, key, sums);
}

absl::Time LatestOf(const store::v1::PipelineStep& step) {
  return std::max(events::FromProto(step.occurred_at()), events::FromProto(step.recorded_at()));
}

// A day as 8 bytes, as in the funnel cells' keys.
std::string DayBytes(absl::CivilDay day) { return EncodeInt64(day - absl::CivilDay(1970, 1, 1)); }

std::string ByTimeKey(const OfferPipeline& o) {
  return EncodeInt64(absl::ToUnixNanos(LatestStepTime(o))) + o.offer_id();
}

// Adds the open sums of `step` (times `sign`) to `out` as the changes of `day`.
void AddDayCells(const OfferPipeline& o, const store::v1::PipelineStep& step, int sign, absl::CivilDay day,
                 FunnelCellSums& out) {
  if (!IsOpenStage(step.stage())) return;
  const std::string day_bytes = DayBytes(day);
  for (const auto& [key, sums] : OpenSums(o, step, sign)) {
    std::vector<int64_t>& cell = out[StrCat(key.substr(0, 1), day_bytes, key.substr(1))];
    cell.resize(kPipelineSums, 0);
    for (int i = 0; i < kPipelineSums; ++i) cell[i] += sums[i];
  }
}

}  // namespace

std::vector<Fact> PipelineLines(const OfferPipeline& o, const store::v1::PipelineStep& step) {
  Fact base;
  base.set_manager_id(o.manager_id());
  base.set_region(o.region());
  base.set_source(o.source());
  base.set_client_id(o.client_id());
  base.set_client_label(o.client_label());
  if (step.lines().empty()) {
    *base.mutable_amount() = step.value();
    return {base};
  }
  std::vector<Fact> out;
  for (const auto& line : step.lines()) {
    Fact f = base;
    f.set_product_code(line.product_code());
    *f.mutable_amount() = line.net();
    out.push_back(std::move(f));
  }
  return out;
}

std::string OpenPipelineKey(PlanDimension dimension, PipelineStage stage, const std::string& key,
                            const std::string& currency) {
  return StrCat(OpenPipelinePrefix(dimension), std::string(1, static_cast<char>(stage)), key,
                std::string_view("\0", 1), currency);
}

std::string OpenPipelinePrefix(PlanDimension dimension) { return std::string(1, static_cast<char>(dimension)); }

std::optional<OpenPipelineCell> DecodeOpenPipelineKey(std::string_view key) {
  const size_t nul = key.find('\0', 2);
  if (key.size() < 2 || nul == std::string_view::npos) return std::nullopt;
  return OpenPipelineCell{static_cast<PipelineStage>(key[1]), std::string(key.substr(2, nul - 2)),
                          std::string(key.substr(nul + 1))};
}

std::string ClosedCellPrefix(PlanDimension dimension, const std::string& key) {
  return StrCat(OpenPipelinePrefix(dimension), key, std::string_view("\0", 1));
}

std::string ClosedCellKey(PlanDimension dimension, const std::string& key, absl::CivilDay day, PipelineStage stage) {
  return StrCat(ClosedCellPrefix(dimension, key), DayBytes(day), std::string(1, static_cast<char>(stage)));
}

std::optional<std::pair<absl::CivilDay, PipelineStage>> DecodeClosedCellKey(std::string_view key) {
  if (key.size() < 11 || key[key.size() - 10] != '\0') return std::nullopt;
  const std::optional<int64_t> day = DecodeInt64(key.substr(key.size() - 9, 8));
  if (!day) return std::nullopt;
  return std::pair{absl::CivilDay(1970, 1, 1) + *day, static_cast<PipelineStage>(key.back())};
}

absl::Time LatestStepTime(const OfferPipeline& o) {
  absl::Time latest = absl::InfinitePast();
  for (const auto& step : o.steps()) latest = std::max(latest, LatestOf(step));
  return latest;
}

PipelineCellSums PipelineCellsOf(const OfferPipeline& o, absl::Time as_of, absl::TimeZone tz) {
  PipelineCellSums out;
  // The steps recorded by `as_of` (steps are recorded in order: a prefix), and among them those in
  // force at some time by then: each that occurred by then and before every later one.
  int known = 0;
  while (known < o.steps_size() && events::FromProto(o.steps(known).recorded_at()) <= as_of) ++known;
  std::vector<int> in_force;  // newest first
  absl::Time next = as_of;
  for (int i = known - 1; i >= 0; --i) {
    const absl::Time occurred = events::FromProto(o.steps(i).occurred_at());
    if (occurred > next || (occurred == next && !in_force.empty())) continue;
    in_force.push_back(i);
    next = occurred;
  }
  std::reverse(in_force.begin(), in_force.end());
  for (size_t k = 0; k < in_force.size(); ++k) {
    const store::v1::PipelineStep& step = o.steps(in_force[k]);
    AddDayCells(o, step, 1, absl::ToCivilDay(events::FromProto(step.occurred_at()), tz), out.open);
    if (k + 1 < in_force.size()) {
      const absl::Time ends = events::FromProto(o.steps(in_force[k + 1]).occurred_at());
      AddDayCells(o, step, -1, absl::ToCivilDay(ends, tz), out.open);
    }
  }
  if (in_force.empty() || in_force.back() != known - 1) return out;
  const store::v1::PipelineStep& last = o.steps(known - 1);
  if (IsOpenStage(last.stage())) return out;
  const absl::CivilDay day = absl::ToCivilDay(events::FromProto(last.occurred_at()), tz);
  const bool won = last.stage() == store::v1::PIPELINE_STAGE_ACCEPTED;
  std::set<PipelineStage> reached;
  for (int i = 0; i < known; ++i) {
    if (IsOpenStage(o.steps(i).stage())) reached.insert(o.steps(i).stage());
  }
  const std::vector<Fact> lines = PipelineLines(o, last);
  for (PlanDimension dimension : kPipelineDimensions) {
    std::set<std::string> keys;
    for (const Fact& line : lines) keys.insert(CellKeyString(line, dimension));
    for (const std::string& key : keys) {
      for (PipelineStage stage : reached) out.closed[ClosedCellKey(dimension, key, day, stage)] = {1, won ? 1 : 0};
    }
  }
  return out;
}

FunnelCellSums MonthCells(const FunnelCellSums& day_cells) {
  FunnelCellSums out;
  for (const auto& [key, sums] : day_cells) {
    const std::optional<int64_t> day = key.size() >= 9 ? DecodeInt64(std::string_view(key).substr(1, 8)) : std::nullopt;
    if (!day) continue;  // not a cell's key: none is made otherwise
    const absl::CivilDay first(absl::CivilMonth(absl::CivilDay(1970, 1, 1) + *day));
    std::vector<int64_t>& cell = out[StrCat(key.substr(0, 1), DayBytes(first), key.substr(9))];
    cell.resize(sums.size(), 0);
    for (size_t i = 0; i < sums.size(); ++i) cell[i] += sums[i];
  }
  return out;
}

Status FillPipelineCells(Store& store, absl::TimeZone tz) {
  ASSIGN_OR_RETURN(std::optional<std::string> done, store.Get(kSettingsFamily, kPipelineCellsSetting));
  if (done) return absl::OkStatus();
  // A store of the build before the cells has its open sums, and says so with this setting.
  ASSIGN_OR_RETURN(std::optional<std::string> has_open_sums, store.Get(kSettingsFamily, kPipelineLatestSetting));
  Batch batch = store.NewBatch();
  Status inner = absl::OkStatus();
  for (const char* family : {kOpenOffersFamily, kClosedOffersFamily}) {
    RETURN_IF_ERROR(store.Scan(family, "", "", [&](std::string_view key, std::string_view value) {
      OfferPipeline o;
      if (!o.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        inner = absl::DataLossError(StrCat("stored ", family, " row ", key, " is corrupt"));
        return false;
      }
      const PipelineCellSums cells = PipelineCellsOf(o, absl::InfiniteFuture(), tz);
      for (const auto& [cell, sums] : cells.open) batch.AddSums(kPipelineCellsFamily, cell, sums);
      for (const auto& [cell, sums] : MonthCells(cells.open)) batch.AddSums(kPipelineMonthCellsFamily, cell, sums);
      for (const auto& [cell, sums] : cells.closed) batch.AddSums(kClosedCellsFamily, cell, sums);
      if (family == kOpenOffersFamily && !o.steps().empty()) {
        if (!has_open_sums) AddOpenSums(o, *o.steps().rbegin(), 1, batch);
        batch.Put(kOpenOffersByTimeFamily, ByTimeKey(o), "");
      }
      return true;
    }));
    RETURN_IF_ERROR(inner);
  }
  batch.Delete(kSettingsFamily, kPipelineLatestSetting);
  batch.Put(kSettingsFamily, kPipelineCellsSetting, "complete");
  return store.Commit(batch);
}

std::string ClosedOfferKey(absl::Time at) { return EncodeInt64(absl::ToUnixNanos(at)); }

Status TrackPipeline(const EventEnvelope& event, const store::v1::OfferAttribution& view, Batch& batch,
                     absl::TimeZone tz) {
  const std::optional<PipelineStage> stage = StageAfter(event.offer());
  if (!stage) return absl::OkStatus();
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<OfferPipeline> row, LoadRow<OfferPipeline>(batch, kOpenOffersFamily, id));
  const OfferPipeline before = row.value_or(OfferPipeline());
  if (row && !row->steps().empty()) {
    AddOpenSums(*row, *row->steps().rbegin(), -1, batch);
    batch.Delete(kOpenOffersByTimeFamily, ByTimeKey(*row));
  }
  if (!row) row = NewRow(id, view.lead());
  const store::v1::PipelineStep& step = *row->add_steps() = Step(*stage, event, view);
  AddOpenSums(*row, step, 1, batch);
  const PipelineCellSums was = PipelineCellsOf(before, absl::InfiniteFuture(), tz);
  const PipelineCellSums is = PipelineCellsOf(*row, absl::InfiniteFuture(), tz);
  AddDifference(batch, kPipelineCellsFamily, is.open, was.open, kPipelineSums);
  AddDifference(batch, kPipelineMonthCellsFamily, MonthCells(is.open), MonthCells(was.open), kPipelineSums);
  AddDifference(batch, kClosedCellsFamily, is.closed, was.closed, kClosedSums);
  if (IsOpenStage(*stage)) {
    batch.Put(kOpenOffersFamily, id, row->SerializeAsString());
    batch.Put(kOpenOffersByTimeFamily, ByTimeKey(*row), "");
    return absl::OkStatus();
  }
  batch.Delete(kOpenOffersFamily, id);
  batch.Put(kClosedOffersFamily, ClosedOfferKey(LatestOf(step)) + id, row->SerializeAsString());
  return absl::OkStatus();
}

}  // namespace sales::reporting
