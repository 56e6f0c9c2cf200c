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
//   cells            <kind, 1 byte><dimension, 1 byte><day, 8 bytes><key>\0<currency> -> sums
//                    (Batch::AddSums: facts, amount, cost, lines without cost, quantity): the
//                    roll-ups reports add up; every fact is added to its cell of each dimension
//                    (company, manager, region, product, client, source) on its occurred-at day in
//                    the reporting time zone
//   client_labels    client id -> store.v1.ClientLabel (the company of its latest fact by key)
//   report_settings  "time_zone" -> the zone the cells' days are in (a store is built for one)
//   journeys, funnel_cells, journeys_by_recorded   the funnel's rows (projection/journeys.h)
//   open_offers, closed_offers, open_pipeline, pipeline_cells, pipeline_month_cells, closed_cells,
//   open_offers_by_time
//                                the pipeline (projection/pipeline.h)
//   call_numbers                 PBX calls by number (projection/sales_facts.h)
//   client_sales.keyed_sums      the sale cells by client, packed by month (kClientSalesFamily)
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
inline constexpr char kCellsFamily[] = "cells";
inline constexpr char kClientLabelsFamily[] = "client_labels";
inline constexpr char kSettingsFamily[] = "report_settings";
inline constexpr char kTimeZoneSetting[] = "time_zone";
// <dimension, 1 byte><day, 8 bytes><key>\0<reason> -> sums {count}: the rejected offers
// (KIND_OFFER_REJECTED facts) of each day by reason, per key of each fact dimension (by product:
// each product of the rejected revision once). Filled from the facts for a store made before it.
inline constexpr char kRejectionCellsFamily[] = "rejection_cells";
inline constexpr char kRejectionCellsSetting[] = "rejection_cells";  // in report_settings: complete
// <bucket, 1 byte><month, 8 bytes> -> keyed sums (Batch::AddKeyedSums) with the sub-keys
// <day of the month, 1 byte><client>\0<currency> -> {facts, amount}: the sale facts of each client,
// day and currency (the sale cells by client), a row per month and bucket of clients (by a hash of
// the client: kClientSaleBuckets), so that the concentration of a year reads about a thousand rows
// instead of one per client and day. Filled from the facts for a store made before it.
inline constexpr char kClientSalesFamily[] = "client_sales.keyed_sums";
inline constexpr char kClientSalesSetting[] = "client_sales";  // in report_settings: complete
inline constexpr int kClientSaleBuckets = 64;

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
            kPipelineMonthCellsFamily, kClosedCellsFamily, kOpenOffersByTimeFamily, kClientSalesFamily};
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
  // Calls `add` with every fact of `kind` into one batch that also marks `setting` complete: the
  // cells of a store made before them (nothing once complete).
  Status FillFromFacts(Store& store, Fact::Kind kind, const char* setting,
                       const std::function<void(const Fact&, Batch&)>& add) const;
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
std::string CellKeyPrefix(Fact::Kind kind, PlanDimension dimension, absl::CivilDay day);
std::string EncodeCellKey(Fact::Kind kind, PlanDimension dimension, const CellKey& cell);
std::optional<CellKey> DecodeCellKey(std::string_view key);

// kClientSalesFamily: the bucket of a client's rows, a row's key, and an entry's sub-key.
int ClientSaleBucket(std::string_view client);
std::string ClientSalesRowKey(int bucket, absl::CivilMonth month);
struct ClientSale {
  int day_of_month;
  std::string_view client;
  std::string_view currency;
};
std::string ClientSaleSubKey(const ClientSale& sale);
std::optional<ClientSale> DecodeClientSaleSubKey(std::string_view sub_key);
// Adds sale fact `f` to its client's entry (its day in `tz`).
void AddClientSale(const Fact& f, absl::TimeZone tz, Batch& batch);

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
