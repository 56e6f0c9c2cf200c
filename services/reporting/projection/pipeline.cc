#include "services/reporting/projection/pipeline.h"

#include <algorithm>

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

}  // namespace

std::string ClosedOfferKey(absl::Time at) { return EncodeInt64(absl::ToUnixNanos(at)); }

Status TrackPipeline(const EventEnvelope& event, const store::v1::OfferAttribution& view, Batch& batch) {
  const std::optional<PipelineStage> stage = StageAfter(event.offer());
  if (!stage) return absl::OkStatus();
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<OfferPipeline> row, LoadRow<OfferPipeline>(batch, kOpenOffersFamily, id));
  if (!row) row = NewRow(id, view.lead());
  *row->add_steps() = Step(*stage, event, view);
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
