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
//   funnel_cells  <dimension, 1 byte><day, 8 bytes><key> -> sums (Batch::AddSums, FunnelSum):
//             every journey as known now (FunnelCellsOf), per key of each funnel dimension: its
//             cohort on its capture day (the stages it reached), its activity on each stage's day;
//             a journey's new row takes its previous contribution out and adds the new one
//   lost_cells  <dimension, 1 byte><day, 8 bytes><key> -> sums indexed by DisqualificationReason:
//             the disqualified leads of each funnel dimension's key on the day of their
//             disqualification, by reason (LostCellsOf), kept as the funnel cells are
//   cycle_cells.tallies  <dimension, 1 byte><day, 8 bytes><key> -> store.v1.CycleCell: the cycle
//             times of the journeys of each funnel dimension's key whose cycle ended that day
//             (CycleCellsOf); a journey whose cycles change takes its previous samples out and puts
//             its new ones in, as a tally change (common/store: a merge, no read); a cell emptied
//             so stays as an empty value, which the store's reads leave out
//   assignment_cells.tallies  <dimension, 1 byte><day, 8 bytes><key>\0<manager id> ->
//             store.v1.AssignmentCell: the assignments of each day to each manager of the leads
//             under each key of the company, source and region (AssignmentCellsOf), kept as the
//             cycle cells are
//   journeys_by_recorded  <recorded-at nanos, 8 bytes><lead id> -> "": the journeys an event
//             recorded at that time changed (as-of takes out what a journey added after it)
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/base/status.h"
#include "common/store/store.h"
#include "sales/events/v1/envelope.pb.h"
#include "sales/store/v1/reporting.pb.h"

namespace sales::reporting {

inline constexpr char kJourneysFamily[] = "journeys";
inline constexpr char kFunnelCellsFamily[] = "funnel_cells";
inline constexpr char kJourneysByRecordedFamily[] = "journeys_by_recorded";
inline constexpr char kFunnelCellsSetting[] = "funnel_cells";  // in report_settings: the cells are complete
inline constexpr char kLostCellsFamily[] = "lost_cells";
inline constexpr char kLostCellsSetting[] = "lost_cells";  // in report_settings: the cells are complete
inline constexpr int kLostReasons = events::v1::DisqualificationReason_ARRAYSIZE;
inline constexpr char kCycleCellsFamily[] = "cycle_cells.tallies";
inline constexpr char kCycleCellsSetting[] = "cycle_cells.tallies";  // in report_settings: the cells are complete
inline constexpr char kAssignmentCellsFamily[] = "assignment_cells.tallies";
inline constexpr char kAssignmentCellsSetting[] = "assignment_cells.tallies";  // in report_settings: complete
// The lead dimensions of the assignment cells (a scorecard's manager is the assignee).
inline constexpr events::v1::PlanDimension kAssignmentDimensions[] = {
    events::v1::PLAN_DIMENSION_COMPANY, events::v1::PLAN_DIMENSION_SOURCE, events::v1::PLAN_DIMENSION_REGION};

// The dimensions of the funnel cells, and the sums of a cell in order: the cohort's stages, then
// the activity's.
inline constexpr events::v1::PlanDimension kFunnelDimensions[] = {
    events::v1::PLAN_DIMENSION_COMPANY, events::v1::PLAN_DIMENSION_SOURCE, events::v1::PLAN_DIMENSION_REGION,
    events::v1::PLAN_DIMENSION_PRODUCT, events::v1::PLAN_DIMENSION_MANAGER};
enum FunnelStage { kFunnelCaptured, kFunnelQualified, kFunnelFirstOffer, kFunnelWon, kFunnelLost, kFunnelStages };
inline constexpr int kFunnelSums = 2 * kFunnelStages;  // cohort [0, 5), activity [5, 10)

// A journey as known at a time: each stage reached and recorded by then.
struct LeadStages {
  absl::Time captured;
  std::optional<absl::Time> qualified, disqualified, first_offer, won, lost;
  std::optional<absl::Time> won_offer_sent;  // the first send of the offer that won
  std::string owner;                         // the manager of the last assignment recorded by then
  bool operator==(const LeadStages&) const = default;
};

// The cycles of cycle times: from capture to qualification, from qualification to the first
// offer sent, from the winning offer's first send to its acceptance, from capture to the win.
enum Cycle { kCapturedToQualified, kQualifiedToFirstOffer, kSentToAccepted, kCapturedToWon, kCycles };
using CycleSamples = std::array<std::vector<int64_t>, kCycles>;  // whole seconds per cycle

// nullopt when the lead does not count as of `as_of`: not captured by then, or merged into another.
std::optional<LeadStages> StagesAsOf(const store::v1::LeadJourney& journey, absl::Time as_of);
// Whether a stamp was reached and recorded by `as_of`.
bool Known(const store::v1::Stamp& stamp, absl::Time as_of);
// The keys a lead counts under in dimension `by`: COMPANY "", SOURCE its source's name, REGION,
// MANAGER its owner, PRODUCT each product of interest once ("" without any).
std::vector<std::string> JourneyKeysBy(const store::v1::LeadJourney& journey, const LeadStages& stages,
                                       events::v1::PlanDimension by);

// `to - from` in whole seconds, at least 0 (a back-dated event makes no negative time).
int64_t SecondsBetween(absl::Time from, absl::Time to);
// Each cycle the lead completed: when it ended and how long it took.
struct CycleTime {
  Cycle cycle;
  absl::Time ended;
  int64_t seconds;
};
std::vector<CycleTime> CyclesOf(const LeadStages& stages);

// Writes a fact with what goes with it (its as-of index, its roll-up cells): the projection's
// PutFact bound to the event's batch.
using PutFactFn = std::function<Status(const store::v1::Fact&)>;

// What a journey adds to the funnel cells as known at `as_of` (days in `tz`): cell key -> sums.
using FunnelCellSums = std::map<std::string, std::vector<int64_t>>;
// Adds `now` minus `before` (cell key -> sums of `width`) to the cells of `family`: only the
// cells that changed.
void AddDifference(Batch& batch, const char* family, FunnelCellSums now, const FunnelCellSums& before, int width);
FunnelCellSums FunnelCellsOf(const store::v1::LeadJourney& journey, absl::Time as_of, absl::TimeZone tz);
// What a journey adds to the lost cells as known at `as_of`: cell key -> count per reason.
FunnelCellSums LostCellsOf(const store::v1::LeadJourney& journey, absl::Time as_of, absl::TimeZone tz);
// What a journey adds to the cycle cells as known at `as_of`: cell key -> samples, each ascending.
std::map<std::string, CycleSamples> CycleCellsOf(const store::v1::LeadJourney& journey, absl::Time as_of,
                                                 absl::TimeZone tz);
// What a journey adds to the assignment cells as known at `as_of` (each list ascending).
struct AssignmentSums {
  int64_t assigned = 0, unanswered = 0;
  std::vector<int64_t> response_seconds;
  bool operator==(const AssignmentSums&) const = default;
};
std::map<std::string, AssignmentSums> AssignmentCellsOf(const store::v1::LeadJourney& journey, absl::Time as_of,
                                                        absl::TimeZone tz);
StatusOr<AssignmentSums> DecodeAssignmentCell(std::string_view value);
// A cycle cell's samples (DATA_LOSS when the row does not parse).
StatusOr<CycleSamples> DecodeCycleCell(std::string_view value);
// The lists of a cycle cell as stored (each ascending), read in place.
std::array<std::span<const int64_t>, kCycles> CycleLists(const store::v1::CycleCell& cell);
std::string FunnelCellPrefix(events::v1::PlanDimension dimension, absl::CivilDay day);
struct FunnelCell {
  absl::CivilDay day;
  std::string key;
};
std::optional<FunnelCell> DecodeFunnelCellKey(std::string_view key);
// Fills the funnel cells and the recorded-at index from the journeys' rows, for a store made
// before they existed (nothing when the setting says they are complete), and records that they are.
Status FillFunnelCells(Store& store, absl::TimeZone tz);
// The same for the lost cells and the cycle cells.
Status FillLostCells(Store& store, absl::TimeZone tz);
Status FillCycleCells(Store& store, absl::TimeZone tz);
Status FillAssignmentCells(Store& store, absl::TimeZone tz);

// Calls `fn` with every journey row (DATA_LOSS for a row that does not parse).
[[nodiscard]] Status ForEachJourney(const Store& store, const std::function<void(const store::v1::LeadJourney&)>& fn);

// A lead's event: its journey (capture, assignments, first responses, qualification,
// disqualification, merge) and a KIND_WORK fact per activity. `lead` holds its region and source.
[[nodiscard]] Status RecordLeadEvent(const events::v1::EventEnvelope& event, const store::v1::LeadAttribution& lead,
                                     Batch& batch, const PutFactFn& put_fact, absl::TimeZone tz);
// An offer's event: its entry in its lead's journey and the outcome facts. `offer` holds the lead
// facts of its draft and every revision.
[[nodiscard]] Status RecordOfferEvent(const events::v1::EventEnvelope& event,
                                      const store::v1::OfferAttribution& offer, Batch& batch,
                                      const PutFactFn& put_fact, absl::TimeZone tz);
// A client's event: a KIND_WORK fact per interaction.
[[nodiscard]] Status RecordClientEvent(const events::v1::EventEnvelope& event,
                                       const store::v1::ClientAttribution& client, const PutFactFn& put_fact);
// An unmatched PBX call: a KIND_WORK fact for the extension's manager.
[[nodiscard]] Status RecordCallEvent(const events::v1::EventEnvelope& event, const PutFactFn& put_fact);

}  // namespace sales::reporting
