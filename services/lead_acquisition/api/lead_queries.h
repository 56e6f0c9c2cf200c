// The read side of lead acquisition: queries over the projection's store. Stateless; thread-safe.
#pragma once

#include "common/store/store.h"
#include "services/lead_acquisition/domain/lead.h"

namespace sales::lead_acquisition {

// The API's view of the stored state (every field the API shows, by name).
api::v1::LeadStatus ToApi(Lead::Status status);
api::v1::Lead ToApi(const Lead& lead);
api::v1::Manager ToApi(const Manager& manager);

class LeadQueries {
 public:
  explicit LeadQueries(const Store* store) : store_(store) {}

  StatusOr<api::v1::Lead> GetLead(const api::v1::GetLeadRequest& r) const;
  // Leads in capture order with the filters; the page token holds the last key returned (and a
  // fingerprint of the filters), so paging neither skips nor repeats a lead while new ones arrive.
  StatusOr<api::v1::ListLeadsResponse> ListLeads(const api::v1::ListLeadsRequest& r) const;
  StatusOr<api::v1::GetLeadHistoryResponse> GetLeadHistory(const api::v1::GetLeadHistoryRequest& r) const;
  StatusOr<api::v1::ListManagersResponse> ListManagers(const api::v1::ListManagersRequest& r) const;

 private:
  const Store* store_;
};

}  // namespace sales::lead_acquisition
