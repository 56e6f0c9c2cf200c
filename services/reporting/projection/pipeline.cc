#include "services/reporting/projection/pipeline.h"

#include <algorithm>
#include <map>

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

Status FillOpenPipeline(Store& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> latest_row, store.Get(kSettingsFamily, kPipelineLatestSetting));
  if (latest_row) return absl::OkStatus();
  Batch batch = store.NewBatch();
  std::optional<absl::Time> latest;
  Status inner = absl::OkStatus();
  for (const char* family : {kOpenOffersFamily, kClosedOffersFamily}) {
    RETURN_IF_ERROR(store.Scan(family, "", "", [&](std::string_view key, std::string_view value) {
      OfferPipeline o;
      if (!o.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        inner = absl::DataLossError(StrCat("stored ", family, " row ", key, " is corrupt"));
        return false;
      }
      for (const auto& step : o.steps()) latest = std::max(latest.value_or(absl::InfinitePast()), LatestOf(step));
      if (family == kOpenOffersFamily && !o.steps().empty()) AddOpenSums(o, *o.steps().rbegin(), 1, batch);
      return true;
    }));
    RETURN_IF_ERROR(inner);
  }
  if (!latest) return absl::OkStatus();  // no offer yet: the first step writes both
  batch.Put(kSettingsFamily, kPipelineLatestSetting, EncodeInt64(absl::ToUnixNanos(*latest)));
  return store.Commit(batch);
}

std::string ClosedOfferKey(absl::Time at) { return EncodeInt64(absl::ToUnixNanos(at)); }

Status TrackPipeline(const EventEnvelope& event, const store::v1::OfferAttribution& view, Batch& batch) {
  const std::optional<PipelineStage> stage = StageAfter(event.offer());
  if (!stage) return absl::OkStatus();
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<OfferPipeline> row, LoadRow<OfferPipeline>(batch, kOpenOffersFamily, id));
  if (row && !row->steps().empty()) AddOpenSums(*row, *row->steps().rbegin(), -1, batch);
  if (!row) row = NewRow(id, view.lead());
  const store::v1::PipelineStep& step = *row->add_steps() = Step(*stage, event, view);
  AddOpenSums(*row, step, 1, batch);
  ASSIGN_OR_RETURN(std::optional<std::string> latest, batch.Get(kSettingsFamily, kPipelineLatestSetting));
  const std::optional<int64_t> before = latest ? DecodeInt64(*latest) : std::nullopt;
  const int64_t now = absl::ToUnixNanos(LatestOf(step));
  if (!before || *before < now) batch.Put(kSettingsFamily, kPipelineLatestSetting, EncodeInt64(now));
  if (IsOpenStage(*stage)) {
    batch.Put(kOpenOffersFamily, id, row->SerializeAsString());
    return absl::OkStatus();
  }
  batch.Delete(kOpenOffersFamily, id);
  const absl::Time closed = std::max(events::FromProto(event.occurred_at()), events::FromProto(event.recorded_at()));
  batch.Put(kClosedOffersFamily, ClosedOfferKey(closed) + id, row->SerializeAsString());
  return absl::OkStatus();
}

}  // namespace sales::reporting
