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
//   open_pipeline  <dimension, 1 byte><stage, 1 byte><key>\0<currency> -> sums (Batch::AddSums,
//                  PipelineSum: offers, value in minor units): the offers open now, in the stage
//                  and with the value of their last step, per key of each dimension but the
//                  client's; an offer's new step takes its previous one out and adds itself
//   report_settings "pipeline_latest" -> the latest occurred-at or recorded-at of any step
//                  (nanos, 8 bytes big-endian): the open sums are the pipeline at any moment from
//                  then on, as of any time from then on
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/store/store.h"
#include "services/reporting/domain/plan.h"
#include "services/reporting/domain/sales_rules.h"

namespace sales::reporting {

inline constexpr char kOpenOffersFamily[] = "open_offers";
inline constexpr char kClosedOffersFamily[] = "closed_offers";
inline constexpr char kOpenPipelineFamily[] = "open_pipeline";
inline constexpr char kPipelineLatestSetting[] = "pipeline_latest";

// The dimensions of the open sums (a client's key is its lead: as many keys as offers, no sum).
inline constexpr PlanDimension kPipelineDimensions[] = {
    events::v1::PLAN_DIMENSION_COMPANY, events::v1::PLAN_DIMENSION_MANAGER, events::v1::PLAN_DIMENSION_REGION,
    events::v1::PLAN_DIMENSION_PRODUCT, events::v1::PLAN_DIMENSION_SOURCE};
// The sums of an open_pipeline row, in order.
enum PipelineSum { kPipelineOffers, kPipelineValue, kPipelineSums };

// The offer at `step` as facts, one per product (what its sale would be attributed to: manager,
// region, source, client; the net of the step's lines of that product), or one with the step's
// value when it has no lines.
std::vector<Fact> PipelineLines(const store::v1::OfferPipeline& o, const store::v1::PipelineStep& step);

// An open_pipeline key; the first key of a dimension; and back (nullopt: not such a key).
struct OpenPipelineCell {
  PipelineStage stage;
  std::string key, currency;
};
std::string OpenPipelineKey(PlanDimension dimension, PipelineStage stage, const std::string& key,
                            const std::string& currency);
std::string OpenPipelinePrefix(PlanDimension dimension);
std::optional<OpenPipelineCell> DecodeOpenPipelineKey(std::string_view key);

// Fills the open sums and the latest step time from the offers' rows, for a store made before
// they existed (nothing when they do, or when there is no offer).
Status FillOpenPipeline(Store& store);

// Records the step of an offer event (`view`: the offer's attribution with this event applied).
// Events that move no stage (and event types newer than this build) are stepped over.
Status TrackPipeline(const EventEnvelope& event, const store::v1::OfferAttribution& view, Batch& batch);

// The first closed_offers key at or after `at`.
std::string ClosedOfferKey(absl::Time at);

}  // namespace sales::reporting
