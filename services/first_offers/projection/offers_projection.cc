#include "services/first_offers/projection/offers_projection.h"

#include "common/base/strings.h"
#include "common/command/idempotency.h"
#include "common/events/envelope.h"
#include "common/schedule/scheduler.h"
#include "common/store/store.h"

namespace sales::first_offers {
namespace {

bool IsOpenOpportunity(const std::optional<LeadView>& lead) {
  return lead && lead->status() == LeadView::STATUS_QUALIFIED;
}

}  // namespace

std::string OpportunityAgeKey(const LeadView& lead) {
  return EncodeInt64(absl::ToUnixNanos(events::FromProto(lead.qualified_at()))) + lead.lead_id();
}
std::string OpportunityOwnerKey(const LeadView& lead) {
  return StrCat(lead.owner_manager_id(), "/", OpportunityAgeKey(lead));
}
std::string OfferOrderKey(absl::Time created_at, const std::string& offer_id) {
  return EncodeInt64(absl::ToUnixNanos(created_at)) + offer_id;
}
std::string OfferEventKey(const std::string& offer_id, int64_t version) {
  return offer_id + "/" + EncodeInt64(version);
}
std::string LeadOfferKey(const std::string& lead_id, absl::Time created_at, const std::string& offer_id) {
  return StrCat(lead_id, "/", OfferOrderKey(created_at, offer_id));
}

bool OffersProjection::Uses(const EventEnvelope& event) const {
  // From sales.leads only lead events with a payload this build knows; manager events and lead
  // event types added later by lead acquisition are stepped over.
  if (event.aggregate_type() == kLeadAggregate) return event.payload_case() == EventEnvelope::kLead;
  return event.aggregate_type() == kOfferAggregate || event.aggregate_type() == kProductAggregate;
}

StatusOr<projection::Outcome> OffersProjection::ApplyEvent(const EventEnvelope& event, Batch& batch) {
  if (event.aggregate_type() == kLeadAggregate) return ApplyLead(event, batch);
  if (event.aggregate_type() == kOfferAggregate) return ApplyOffer(event, batch);
  return ApplyProduct(event, batch);
}

StatusOr<projection::Outcome> OffersProjection::ApplyLead(const EventEnvelope& event, Batch& batch) {
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<LeadView> state, LoadLeadView(batch, id));
  const std::optional<LeadView> before = state;
  ASSIGN_OR_RETURN(bool changed, EvolveLeadView(state, event));
  if (!changed) return projection::Outcome::kDuplicate;
  // The opportunity indexes follow the lead: open while qualified, under its current owner.
  if (IsOpenOpportunity(before)) {
    batch.Delete(kOppsByAgeFamily, OpportunityAgeKey(*before));
    batch.Delete(kOppsByOwnerFamily, OpportunityOwnerKey(*before));
  }
  if (IsOpenOpportunity(state)) {
    batch.Put(kOppsByAgeFamily, OpportunityAgeKey(*state), "");
    batch.Put(kOppsByOwnerFamily, OpportunityOwnerKey(*state), "");
  }
  batch.Put(kLeadViewsFamily, id, state->SerializeAsString());
  return projection::Outcome::kApplied;
}

StatusOr<projection::Outcome> OffersProjection::ApplyOffer(const EventEnvelope& event, Batch& batch) {
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<OfferState> state, LoadOffer(batch, id));
  const int64_t current = state ? state->version() : 0;
  if (event.aggregate_version() <= current) {
    // Seen before - unless another event already holds this version: two decisions made on the
    // same state, of which only one can stand. Refused loudly rather than dropped as a duplicate.
    ASSIGN_OR_RETURN(std::optional<std::string> stored,
                     batch.Get(kOfferEventsFamily, OfferEventKey(id, event.aggregate_version())));
    EventEnvelope earlier;
    if (stored && earlier.ParseFromString(*stored) && earlier.event_id() != event.event_id()) {
      return absl::FailedPreconditionError(StrCat("conflicting event for offer ", id, " version ",
                                                  event.aggregate_version(), ": already holds event ",
                                                  earlier.event_id()));
    }
    return projection::Outcome::kDuplicate;
  }
  if (event.aggregate_version() != current + 1) {
    return absl::FailedPreconditionError(StrCat("version gap for offer ", id, ": stored version ", current,
                                                ", event version ", event.aggregate_version()));
  }
  const std::optional<absl::Time> due_before = state ? ExpiryDue(*state) : std::nullopt;
  RETURN_IF_ERROR(EvolveOffer(state, event));
  const OfferState& after = *state;

  const absl::Time created = events::FromProto(after.created_at());
  if (event.offer().has_drafted()) {
    batch.Put(kOfferOrderFamily, OfferOrderKey(created, id), "");
    batch.Put(kLeadOffersFamily, LeadOfferKey(after.lead().lead_id(), created, id), "");
  }
  if (event.offer().has_accepted() && event.offer().accepted().converts_lead()) {
    batch.Put(kLeadConversionsFamily, after.lead().lead_id(), id);
  }
  // The expiry schedule: one row while the offer is open, at its latest valid-until.
  const std::optional<absl::Time> due_after = ExpiryDue(after);
  if (due_before != due_after) {
    if (due_before) batch.Delete(kOfferDueFamily, schedule::DueKey(*due_before, id));
    if (due_after) batch.Put(kOfferDueFamily, schedule::DueKey(*due_after, id), "");
  }
  batch.Put(kOffersFamily, id, after.SerializeAsString());
  batch.Put(kOfferEventsFamily, OfferEventKey(id, event.aggregate_version()), event.SerializeAsString());
  command::RecordIdempotency(batch, kIdempotencyFamily, event);
  return projection::Outcome::kApplied;
}

StatusOr<projection::Outcome> OffersProjection::ApplyProduct(const EventEnvelope& event, Batch& batch) {
  const std::string& code = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<ProductState> state, LoadProduct(batch, code));
  const int64_t current = state ? state->version() : 0;
  if (event.aggregate_version() <= current) return projection::Outcome::kDuplicate;
  if (event.aggregate_version() != current + 1) {
    return absl::FailedPreconditionError(StrCat("version gap for product ", code, ": stored version ", current,
                                                ", event version ", event.aggregate_version()));
  }
  RETURN_IF_ERROR(EvolveProduct(state, event));
  batch.Put(kProductsFamily, code, state->SerializeAsString());
  command::RecordIdempotency(batch, kIdempotencyFamily, event);
  return projection::Outcome::kApplied;
}

}  // namespace sales::first_offers
