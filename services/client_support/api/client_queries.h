// The read side of client support: queries over the projection's store, mapping the store's
// domain rows (store.v1) to the API's messages, with each client's health as of the clock's now.
// Stateless; thread-safe.
#pragma once

#include "common/base/clock.h"
#include "common/store/store.h"
#include "sales/api/v1/client_support.pb.h"
#include "services/client_support/domain/client.h"

namespace sales::client_support {

class ClientQueries {
 public:
  // Pointers must outlive this object.
  ClientQueries(const Store* store, const Clock* clock, HealthRules rules)
      : store_(store), clock_(clock), rules_(rules) {}

  StatusOr<api::v1::Client> GetClient(const api::v1::GetClientRequest& r) const;
  // Oldest client first; filters on health are evaluated as of now, so a page can hold fewer
  // than page_size clients and still have a next page. Page tokens are stable while clients open.
  StatusOr<api::v1::ListClientsResponse> ListClients(const api::v1::ListClientsRequest& r) const;
  StatusOr<api::v1::GetClientTimelineResponse> GetClientTimeline(const api::v1::GetClientTimelineRequest& r) const;
  StatusOr<api::v1::ListTicketsResponse> ListTickets(const api::v1::ListTicketsRequest& r) const;
  StatusOr<api::v1::ListUnmatchedCallsResponse> ListUnmatchedCalls(const api::v1::ListUnmatchedCallsRequest& r) const;

 private:
  const Store* store_;
  const Clock* clock_;
  HealthRules rules_;
};

// The API's views, as of `now`.
api::v1::Client ToApi(const ClientState& c, absl::Time now, const HealthRules& rules);
api::v1::Ticket ToApi(const ClientState& c, const TicketState& t, absl::Time now);

}  // namespace sales::client_support
