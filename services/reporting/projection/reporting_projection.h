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
//   facts_by_recorded <recorded-at nanos, 8 bytes><fact key> -> "" (what as-of leaves out)
//   cells.keyed_sums <kind, 1 byte><dimension, 1 byte><bucket, 1 byte><month, 8 bytes> -> keyed
//                    sums (Batch::AddKeyedSums), one entry per day cell: <day of the month, 1 byte>
//                    <key>\0<currency> -> {facts, amount, cost, lines without cost, quantity}: the
//                    roll-ups reports add up; every fact is added to its cell of each dimension
//                    (company, manager, region, product, client, source) on its occurred-at day in
//                    the reporting time zone. A month's cells of one kind and dimension are one row
//                    (by client: kClientCellBuckets rows, by a hash of the client, each bucket's
//                    months together), so that a year reads a dozen rows, not one per key and day.
//   client_labels    client id -> store.v1.ClientLabel (the company of its latest fact by key)
//   report_settings  "time_zone" -> the zone the cells' days are in (a store is built for one)
//   journeys, funnel_cells, journeys_by_recorded   the funnel's rows (projection/journeys.h)
//   open_offers, closed_offers, open_pipeline, pipeline_cells, pipeline_month_cells, closed_cells,
//   open_offers_by_time
//                                the pipeline (projection/pipeline.h)
//   call_numbers                 PBX calls by number (projection/sales_facts.h)
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "common/projection/projection.h"
#include "services/reporting/domain/plan.h"
#include "services/reporting/projection/journeys.h"
#include "services/reporting/projection/pipeline.h"
#include "services/reporting/projection/sales_facts.h"

namespace sales::reporting {

inline constexpr char kTargetsFamily[] = "targets";
inline constexpr char kRatesFamily[] = "rates";
inline constexpr char kIdempotencyFamily[] = "plan_idempotency";
inline constexpr char kOfferViewsFamily[] = "offer_views";
inline constexpr char kClientViewsFamily[] = "client_views";
inline constexpr char kLeadViewsFamily[] = "lead_views";
inline constexpr char kFactsFamily[] = "facts";
inline constexpr char kRecordedFamily[] = "facts_by_recorded";
inline constexpr char kCellsFamily[] = "cells.keyed_sums";
inline constexpr char kCellsSetting[] = "cells_by_month";  // in report_settings: complete
inline constexpr int kClientCellBuckets = 64;
inline constexpr char kClientLabelsFamily[] = "client_labels";
inline constexpr char kSettingsFamily[] = "report_settings";
inline constexpr char kTimeZoneSetting[] = "time_zone";
// <dimension, 1 byte><day, 8 bytes><key>\0<reason> -> sums {count}: the rejected offers
// (KIND_OFFER_REJECTED facts) of each day by reason, per key of each fact dimension (by product:
// each product of the rejected revision once). Filled from the facts for a store made before it.
inline constexpr char kRejectionCellsFamily[] = "rejection_cells";
inline constexpr char kRejectionCellsSetting[] = "rejection_cells";  // in report_settings: complete
// The dimensions a fact is rolled up by (each is one cell per fact).
inline constexpr PlanDimension kCellDimensions[] = {
    events::v1::PLAN_DIMENSION_COMPANY, events::v1::PLAN_DIMENSION_MANAGER, events::v1::PLAN_DIMENSION_REGION,
    events::v1::PLAN_DIMENSION_PRODUCT, events::v1::PLAN_DIMENSION_CLIENT,  events::v1::PLAN_DIMENSION_SOURCE};

// A cell: one kind of fact, one day, one key of a dimension, one currency.
struct CellKey {
  absl::CivilDay day;
  std::string key;       // the dimension's key ("" for COMPANY)
  std::string currency;  // "" for facts without an amount
  friend bool operator<(const CellKey& a, const CellKey& b) {
    return std::tie(a.day, a.key, a.currency) < std::tie(b.day, b.key, b.currency);
  }
};
// The sums of a cell row, in order.
enum CellSum { kCellFacts, kCellAmount, kCellCost, kCellWithoutCost, kCellQuantity, kCellSums };

class ReportingProjection final : public projection::EventProjection {
 public:
  // Days of the cells are in `time_zone` (the reporting time zone).
  explicit ReportingProjection(absl::TimeZone time_zone = absl::UTCTimeZone()) : time_zone_(time_zone) {}
  void set_time_zone(absl::TimeZone time_zone) { time_zone_ = time_zone; }

  std::string name() const override { return "reporting"; }
  std::vector<std::string> column_families() const override {
    return {kTargetsFamily,   kRatesFamily,  kIdempotencyFamily,  kOfferViewsFamily, kClientViewsFamily,
            kLeadViewsFamily, kFactsFamily,  kRecordedFamily,     kCellsFamily,      kClientLabelsFamily,
            kSettingsFamily,   kJourneysFamily, kFunnelCellsFamily, kJourneysByRecordedFamily,
            kOpenOffersFamily, kClosedOffersFamily, kOpenPipelineFamily, kCallNumbersFamily, kLostCellsFamily,
            kCycleCellsFamily, kAssignmentCellsFamily, kRejectionCellsFamily, kPipelineCellsFamily,
            kPipelineMonthCellsFamily, kClosedCellsFamily, kOpenOffersByTimeFamily};
  }
  std::vector<std::string> sums_families() const override {
    return {kFunnelCellsFamily, kLostCellsFamily, kRejectionCellsFamily};
  }
  // Records the time zone of the cells in a new store; FAILED_PRECONDITION when the store's cells
  // are in another one. Fills the cells of a store made before they existed (the pipeline's too).
  Status Open(Store& store) override;

 protected:
  bool Uses(const EventEnvelope& event) const override;
  StatusOr<projection::Outcome> ApplyEvent(const EventEnvelope& event, Batch& batch) override;

 private:
  StatusOr<projection::Outcome> ApplyPlan(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyLead(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyOffer(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyClient(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyCall(const EventEnvelope& event, Batch& batch);
  // Records a fact: its row, its place in the recorded-at index, its cells and its client's label.
  Status PutFact(Batch& batch, const Fact& fact, int line = 0) const;
  // The cells of a store made before them (nothing once `setting` is complete): the rows of
  // `family` deleted (those of a fill cut short), then `add` called with every fact whose key
  // starts with `prefix` (a kind, or "" for all), in batches, and `setting` marked complete last.
  Status FillFromFacts(Store& store, const std::string& prefix, const char* family, const char* setting,
                       const std::function<void(const Fact&, Batch&)>& add) const;
  // Adds the fact's sums to its cell of each dimension.
  void AddToCells(const Fact& fact, Batch& batch) const;
  Status PutSaleLines(Batch& batch, const Fact& base,
                    const google::protobuf::RepeatedPtrField<events::v1::OfferLine>& lines,
                    const std::map<std::string, events::v1::Money>& unit_costs) const;

  // PutFact bound to `batch`: how the funnel's hooks (projection/journeys.h) write their facts.
  PutFactFn FactWriter(Batch& batch) const {
    return [this, &batch](const Fact& f) { return PutFact(batch, f); };
  }

  absl::TimeZone time_zone_;
};

// The first key of `kind`'s facts at or after `at`.
std::string FactKeyPrefix(Fact::Kind kind, absl::Time at);
std::string FactKey(const Fact& fact, int line);
// The key of `f` in `dimension` (COMPANY: "").
std::string CellKeyString(const Fact& f, PlanDimension dimension);
// The rejection cells a KIND_OFFER_REJECTED fact counts in (days in `tz`).
std::vector<std::string> RejectionCellKeys(const Fact& f, absl::TimeZone tz);
// A fact's contribution to its cells (indexed by CellSum), and the currency of its cells ("" for
// a fact without a valid amount).
std::vector<int64_t> CellSumsOf(const Fact& f, std::string* currency);
// The first key of the cells of `kind` by `dimension` on `day`; a cell's key; and back.
// kCellsFamily: a row's key and bucket, and an entry's sub-key.
struct CellRow {
  Fact::Kind kind;
  PlanDimension dimension;
  absl::CivilMonth month;
  int bucket;
};
std::string CellRowKey(const CellRow& row);
std::optional<CellRow> DecodeCellRowKey(std::string_view key);
// By CLIENT one of kClientCellBuckets (a hash of the key, the same on every build); else 0.
int CellBucket(PlanDimension dimension, std::string_view key);
int CellBuckets(PlanDimension dimension);  // how many there are
std::string CellSubKey(absl::CivilDay day, std::string_view key, std::string_view currency);
struct CellEntry {
  int day_of_month;
  std::string_view key;
  std::string_view currency;
};
std::optional<CellEntry> DecodeCellSubKey(std::string_view sub_key);
// Where a fact of `day` whose cell is in `currency` (CellSumsOf) counts in `dimension`: its row's
// key and its entry's sub-key.
std::pair<std::string, std::string> CellOf(const Fact& f, PlanDimension dimension, absl::CivilDay day,
                                           std::string_view currency);

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
