// The reporting projection: the plan events of `sales.plans` (this service's own: targets and
// exchange rates) and the facts of `sales.leads`, `sales.offers` and `sales.clients` -> the rows
// the reports read (docs/REPORTS.md says which event counts as which fact, on which date).
//
// Every row is derived from ONE aggregate's events (which arrive in order, in one partition), so
// a rebuild gives the same rows however the four topics interleave: an accepted offer's revenue
// is attributed from the offer's own LeadFacts and terms, an order from its client's ClientOpened.
//
// Column families:
//   targets          target id -> store.v1.PlanState (every revision)
//   rates            "<currency>/<day>" -> store.v1.PlanState (every revision)
//   plan_idempotency idempotency key -> command::IdempotencyRecord
//   offer_views      offer id -> store.v1.OfferAttribution   (lead facts and every revision's terms)
//   client_views     client id -> store.v1.ClientAttribution (owner, region, source, company)
//   lead_views       lead id -> store.v1.LeadAttribution     (region and source, for activities)
//   facts            <kind, 1 byte><occurred-at nanos, 8 bytes big-endian><event id>/<line, 4 bytes>
//                    -> store.v1.Fact; the key is the fact's identity, so applying an event twice
//                    writes the same rows
//   journeys         lead id -> store.v1.LeadJourney (projection/journeys.h: the funnel's rows)
#pragma once

#include <optional>
#include <string>

#include "common/projection/projection.h"
#include "services/reporting/domain/plan.h"
#include "services/reporting/projection/journeys.h"

namespace sales::reporting {

inline constexpr char kTargetsFamily[] = "targets";
inline constexpr char kRatesFamily[] = "rates";
inline constexpr char kIdempotencyFamily[] = "plan_idempotency";
inline constexpr char kOfferViewsFamily[] = "offer_views";
inline constexpr char kClientViewsFamily[] = "client_views";
inline constexpr char kLeadViewsFamily[] = "lead_views";
inline constexpr char kFactsFamily[] = "facts";

class ReportingProjection final : public projection::EventProjection {
 public:
  std::string name() const override { return "reporting"; }
  std::vector<std::string> column_families() const override {
    return {kTargetsFamily,     kRatesFamily,     kIdempotencyFamily, kOfferViewsFamily,
            kClientViewsFamily, kLeadViewsFamily, kFactsFamily,       kJourneysFamily};
  }

 protected:
  bool Uses(const EventEnvelope& event) const override;
  StatusOr<projection::Outcome> ApplyEvent(const EventEnvelope& event, Batch& batch) override;

 private:
  StatusOr<projection::Outcome> ApplyPlan(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyLead(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyOffer(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyClient(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyCall(const EventEnvelope& event, Batch& batch);
};

// The first key of `kind`'s facts at or after `at`.
std::string FactKeyPrefix(Fact::Kind kind, absl::Time at);
std::string FactKey(const Fact& fact, int line);

// Readers over a Store or a Batch (anything with Get(cf, key) -> StatusOr<optional<string>>).
template <typename Message, typename Reader>
StatusOr<std::optional<Message>> LoadRow(const Reader& r, const char* family, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, r.Get(family, key));
  if (!bytes) return std::optional<Message>();
  Message m;
  if (!m.ParseFromString(*bytes)) return absl::DataLossError(StrCat("stored ", family, " row ", key, " is corrupt"));
  return std::optional<Message>(std::move(m));
}

}  // namespace sales::reporting
