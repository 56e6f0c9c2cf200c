// Lead journeys and the facts of the funnel, cycle times, lost reasons and managers' scorecards
// (docs/REPORTS.md, "Lead journeys" and the sections after it). ReportingProjection calls these
// once per event of another service's aggregate, after its duplicate check (a re-delivered event
// never reaches them), with the view it keeps of that aggregate already updated by the event.
//
// Rows:
//   journeys  lead id -> store.v1.LeadJourney. The lead's fields come from the lead's events, each
//             offer's entry from that offer's events, and nothing else: a pure function of each
//             aggregate's own (ordered) history, so the same row whatever the topics' interleaving.
//   facts     (the projection's, through its PutFact) KIND_WORK per call, meeting, visit or e-mail, logged or from
//             the PBX; KIND_OFFER_ACCEPTED / REJECTED / EXPIRED per offer outcome. Keyed by kind,
//             occurred-at and event id, so writing one twice writes the same row.
#pragma once

#include <functional>

#include "common/base/status.h"
#include "common/store/store.h"
#include "sales/events/v1/envelope.pb.h"
#include "sales/store/v1/reporting.pb.h"

namespace sales::reporting {

inline constexpr char kJourneysFamily[] = "journeys";

// Writes a fact with what goes with it (its as-of index, its roll-up cells): the projection's
// PutFact bound to the event's batch.
using PutFactFn = std::function<Status(const store::v1::Fact&)>;

// A lead's event: its journey (capture, assignments, first responses, qualification,
// disqualification, merge) and a KIND_WORK fact per activity. `lead` holds its region and source.
[[nodiscard]] Status RecordLeadEvent(const events::v1::EventEnvelope& event, const store::v1::LeadAttribution& lead,
                                     Batch& batch, const PutFactFn& put_fact);
// An offer's event: its entry in its lead's journey and the outcome facts. `offer` holds the lead
// facts of its draft and every revision.
[[nodiscard]] Status RecordOfferEvent(const events::v1::EventEnvelope& event,
                                      const store::v1::OfferAttribution& offer, Batch& batch,
                                      const PutFactFn& put_fact);
// A client's event: a KIND_WORK fact per interaction.
[[nodiscard]] Status RecordClientEvent(const events::v1::EventEnvelope& event,
                                       const store::v1::ClientAttribution& client, const PutFactFn& put_fact);
// An unmatched PBX call: a KIND_WORK fact for the extension's manager.
[[nodiscard]] Status RecordCallEvent(const events::v1::EventEnvelope& event, const PutFactFn& put_fact);

}  // namespace sales::reporting
