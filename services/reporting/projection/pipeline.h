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
//   pipeline_cells <dimension, 1 byte><day, 8 bytes><stage, 1 byte><key>\0<currency> -> sums
//                  (PipelineSum): how the open sums changed on that day (PipelineCellsOf): the
//                  pipeline at the end of a day is the open sums less the changes of the days
//                  after it; an offer's new step takes its previous cells out and puts its new ones in
//   pipeline_month_cells  the pipeline cells of each month added up, under its first day: a report
//                  takes out whole months, then the days after its moment in the moment's month
//   closed_cells   <dimension, 1 byte><key>\0<day, 8 bytes><stage, 1 byte> -> sums (ClosedSum:
//                  closed, won): the offers of the key that closed that day and had reached the
//                  stage, of which accepted (the measured win rates); key first, since a report
//                  reads one key's run of days
//   open_offers_by_time  <latest time nanos, 8 bytes big-endian><offer id> -> "": each open offer
//                  under the latest occurred-at or recorded-at of its steps. With closed_offers, the
//                  offers an as-of answer must look at again: those with a step after the as-of time
//   report_settings "pipeline_cells" -> "complete": the cells and the index were filled from the
//                  offers' rows (or kept from the first event on)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/store/store.h"
#include "services/reporting/projection/journeys.h"
#include "services/reporting/domain/plan.h"
#include "services/reporting/domain/sales_rules.h"

namespace sales::reporting {

inline constexpr char kOpenOffersFamily[] = "open_offers";
inline constexpr char kClosedOffersFamily[] = "closed_offers";
inline constexpr char kOpenPipelineFamily[] = "open_pipeline";
inline constexpr char kPipelineCellsFamily[] = "pipeline_cells";
inline constexpr char kPipelineMonthCellsFamily[] = "pipeline_month_cells";
inline constexpr char kClosedCellsFamily[] = "closed_cells";
inline constexpr char kOpenOffersByTimeFamily[] = "open_offers_by_time";
inline constexpr char kPipelineCellsSetting[] = "pipeline_cells";
// What made the open sums before the cells (a store with it has its open sums; the fill removes it).
inline constexpr char kPipelineLatestSetting[] = "pipeline_latest";

// The dimensions of the open sums (a client's key is its lead: as many keys as offers, no sum).
inline constexpr PlanDimension kPipelineDimensions[] = {
    events::v1::PLAN_DIMENSION_COMPANY, events::v1::PLAN_DIMENSION_MANAGER, events::v1::PLAN_DIMENSION_REGION,
    events::v1::PLAN_DIMENSION_PRODUCT, events::v1::PLAN_DIMENSION_SOURCE};
// The sums of an open_pipeline row, in order.
enum PipelineSum { kPipelineOffers, kPipelineValue, kPipelineSums };
// The sums of a closed_cells row, in order.
enum ClosedSum { kClosedOffers, kClosedWon, kClosedSums };

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

// The closed_cells of `key` of `dimension` start with this prefix; a closed_cells key; and its day
// and stage (after the prefix; nullopt: not such a key).
std::string ClosedCellPrefix(PlanDimension dimension, const std::string& key);
std::string ClosedCellKey(PlanDimension dimension, const std::string& key, absl::CivilDay day, PipelineStage stage);
std::optional<std::pair<absl::CivilDay, PipelineStage>> DecodeClosedCellKey(std::string_view key);

// What an offer's row adds to the pipeline cells and to the closed cells as known at `as_of`
// (days in `tz`), from its steps recorded by then that occurred by then. A step is in force from
// when it occurred until a later step occurs (a back-dated step can end an earlier one's time
// before it began: that one is never in force); its open sums go in on the day it begins and out
// on the day it ends. A closing (only ever the last step) counts on its day in each stage the
// offer's steps reached, under each key of its lines.
struct PipelineCellSums {
  FunnelCellSums open, closed;
};
PipelineCellSums PipelineCellsOf(const store::v1::OfferPipeline& o, absl::Time as_of, absl::TimeZone tz);
// Pipeline cells added up by month (pipeline_month_cells).
FunnelCellSums MonthCells(const FunnelCellSums& day_cells);

// The latest occurred-at or recorded-at of an offer's steps (InfinitePast without a step).
absl::Time LatestStepTime(const store::v1::OfferPipeline& o);

// Fills the open sums (when the store has none), the cells and the open offers' index from the
// offers' rows, for a store made before they existed (nothing once the setting says complete).
Status FillPipelineCells(Store& store, absl::TimeZone tz);

// Records the step of an offer event (`view`: the offer's attribution with this event applied;
// days in `tz`). Events that move no stage (and event types newer than this build) are stepped over.
Status TrackPipeline(const EventEnvelope& event, const store::v1::OfferAttribution& view, Batch& batch,
                     absl::TimeZone tz);

// The first closed_offers key at or after `at`.
std::string ClosedOfferKey(absl::Time at);

}  // namespace sales::reporting
