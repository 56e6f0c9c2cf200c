// The read side of first offers: queries over the projection's store, mapping the store's domain
// rows (store.v1) to the API's messages. Stateless; thread-safe.
#pragma once

#include "common/base/clock.h"
#include "common/store/store.h"
#include "sales/api/v1/first_offers.pb.h"
#include "services/first_offers/domain/offer.h"

namespace sales::first_offers {

class OfferQueries {
 public:
  // `clock` gives the opportunities' age. Pointers must outlive this object.
  OfferQueries(const Store* store, const Clock* clock) : store_(store), clock_(clock) {}

  // The latest revision, or the one asked for (NOT_FOUND when it does not exist).
  StatusOr<api::v1::Offer> GetOffer(const api::v1::GetOfferRequest& r) const;
  // Oldest first (creation time, then id); the page token holds the last key returned and a
  // fingerprint of the filters, so paging neither skips nor repeats an offer while new ones arrive.
  StatusOr<api::v1::ListOffersResponse> ListOffers(const api::v1::ListOffersRequest& r) const;
  StatusOr<api::v1::GetOfferHistoryResponse> GetOfferHistory(const api::v1::GetOfferHistoryRequest& r) const;
  StatusOr<api::v1::ListOpportunitiesResponse> ListOpportunities(const api::v1::ListOpportunitiesRequest& r) const;
  StatusOr<api::v1::Opportunity> GetOpportunity(const api::v1::GetOpportunityRequest& r) const;
  StatusOr<api::v1::ListProductsResponse> ListProducts(const api::v1::ListProductsRequest& r) const;

 private:
  StatusOr<api::v1::Opportunity> ToOpportunity(const LeadView& lead) const;

  const Store* store_;
  const Clock* clock_;
};

// The API's view of an offer at one revision (1-based; the latest when 0).
api::v1::Offer ToApi(const OfferState& offer, int32_t revision = 0);

}  // namespace sales::first_offers
