// The first offers projection: events of `sales.offers` (offer and product aggregates, this
// service's own) and of `sales.leads` (lead acquisition's; manager events there are not used) ->
// the RocksDB rows the queries and the command path read.
//
// Every row is derived from ONE topic, so a rebuild gives the same rows however the two topics
// interleave on replay (docs/DESIGN.md, "Facts from other services"). What needs both (is this
// opportunity still awaiting its first offer?) is joined when queried.
//
// Column families:
//   from sales.leads
//     lead_views        lead id -> store.v1.LeadView (every lead: its facts are at hand when it is
//                       qualified)
//     opps_by_age       <qualified-at, 8 bytes><lead id> -> ""               (open opportunities)
//     opps_by_owner     <owner id>/<qualified-at, 8 bytes><lead id> -> ""    (the same, per owner)
//   from sales.offers
//     offers            offer id -> store.v1.OfferState (every revision)
//     offer_order       <created-at, 8 bytes><offer id> -> ""                (ListOffers order)
//     offer_events      <offer id>/<version, 8 bytes> -> the event envelope  (history)
//     lead_offers       <lead id>/<created-at, 8 bytes><offer id> -> ""      (offers of a lead)
//     lead_conversions  lead id -> the offer id whose acceptance converted it
//     offer_due         DueKey(valid-until, offer id) -> ""                  (expiry schedule)
//     products          product code -> store.v1.ProductState
//     offer_idempotency idempotency key -> command::IdempotencyRecord
// An own event whose version is not above the stored one is a duplicate (or, if another event
// holds that version, a conflict: dead-lettered); a version gap is refused (dead letter).
#pragma once

#include <optional>
#include <string>

#include "common/projection/projection.h"
#include "services/first_offers/domain/offer.h"

namespace sales::first_offers {

inline constexpr char kLeadViewsFamily[] = "lead_views";
inline constexpr char kOppsByAgeFamily[] = "opps_by_age";
inline constexpr char kOppsByOwnerFamily[] = "opps_by_owner";
inline constexpr char kOffersFamily[] = "offers";
inline constexpr char kOfferOrderFamily[] = "offer_order";
inline constexpr char kOfferEventsFamily[] = "offer_events";
inline constexpr char kLeadOffersFamily[] = "lead_offers";
inline constexpr char kLeadConversionsFamily[] = "lead_conversions";
inline constexpr char kOfferDueFamily[] = "offer_due";
inline constexpr char kProductsFamily[] = "products";
inline constexpr char kIdempotencyFamily[] = "offer_idempotency";

class OffersProjection final : public projection::EventProjection {
 public:
  std::string name() const override { return "offers"; }
  std::vector<std::string> column_families() const override {
    return {kLeadViewsFamily,       kOppsByAgeFamily,  kOppsByOwnerFamily, kOffersFamily,
            kOfferOrderFamily,      kOfferEventsFamily, kLeadOffersFamily, kLeadConversionsFamily,
            kOfferDueFamily,        kProductsFamily,   kIdempotencyFamily};
  }

 protected:
  bool Uses(const EventEnvelope& event) const override;
  StatusOr<projection::Outcome> ApplyEvent(const EventEnvelope& event, Batch& batch) override;

 private:
  StatusOr<projection::Outcome> ApplyLead(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyOffer(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyProduct(const EventEnvelope& event, Batch& batch);
};

// Row keys.
std::string OpportunityAgeKey(const LeadView& lead);
std::string OpportunityOwnerKey(const LeadView& lead);
std::string OfferOrderKey(absl::Time created_at, const std::string& offer_id);
std::string OfferEventKey(const std::string& offer_id, int64_t version);
std::string LeadOfferKey(const std::string& lead_id, absl::Time created_at, const std::string& offer_id);

// Readers over a Store or a Batch (anything with Get(cf, key) -> StatusOr<optional<string>>).
template <typename Message, typename Reader>
StatusOr<std::optional<Message>> LoadRow(const Reader& r, const char* family, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, r.Get(family, key));
  if (!bytes) return std::optional<Message>();
  Message m;
  if (!m.ParseFromString(*bytes)) return absl::DataLossError(StrCat("stored ", family, " row ", key, " is corrupt"));
  return std::optional<Message>(std::move(m));
}
template <typename Reader>
StatusOr<std::optional<OfferState>> LoadOffer(const Reader& r, const std::string& id) {
  return LoadRow<OfferState>(r, kOffersFamily, id);
}
template <typename Reader>
StatusOr<std::optional<ProductState>> LoadProduct(const Reader& r, const std::string& code) {
  return LoadRow<ProductState>(r, kProductsFamily, code);
}
template <typename Reader>
StatusOr<std::optional<LeadView>> LoadLeadView(const Reader& r, const std::string& id) {
  return LoadRow<LeadView>(r, kLeadViewsFamily, id);
}

}  // namespace sales::first_offers
