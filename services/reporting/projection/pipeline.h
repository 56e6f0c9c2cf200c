// The pipeline's rows (docs/REPORTS.md, "Pipeline"): every offer's way through the stages, each
// step with the stage and value it had from then on, built from the offer's own events only (one
// partition, in order), so a rebuild gives the same rows whatever the interleaving of the topics;
// it is called after ReportingProjection's version check, so a re-delivery changes nothing.
//
//   open_offers    offer id -> store.v1.OfferPipeline: the offers in DRAFT or SENT (deleted when
//                  the offer closes)
//   closed_offers  <closing time nanos, 8 bytes big-endian><offer id> -> store.v1.OfferPipeline,
//                  the last step a closed stage. The closing time is the later of the closing
//                  event's occurred-at and recorded-at, so one scan from a moment X finds every
//                  offer closed after X, or recorded as closed after X (both may still be open at
//                  X as of a later time)
#pragma once

#include <string>

#include "common/store/store.h"
#include "services/reporting/domain/sales_rules.h"

namespace sales::reporting {

inline constexpr char kOpenOffersFamily[] = "open_offers";
inline constexpr char kClosedOffersFamily[] = "closed_offers";

// Records the step of an offer event (`view`: the offer's attribution with this event applied).
// Events that move no stage (and event types newer than this build) are stepped over.
Status TrackPipeline(const EventEnvelope& event, const store::v1::OfferAttribution& view, Batch& batch);

// The first closed_offers key at or after `at`.
std::string ClosedOfferKey(absl::Time at);

}  // namespace sales::reporting
