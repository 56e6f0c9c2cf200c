#include "services/reporting/projection/reporting_projection.h"

#include <map>

#include "absl/strings/str_format.h"
#include "common/base/strings.h"
#include "common/command/idempotency.h"
#include "common/events/envelope.h"
#include "common/store/store.h"

namespace sales::reporting {
namespace {

constexpr char kLead[] = "lead";
constexpr char kOffer[] = "offer";
constexpr char kClient[] = "client";
constexpr char kCall[] = "call";

using events::v1::ClientEvent;
using events::v1::LeadEvent;
using events::v1::OfferEvent;
using store::v1::ClientAttribution;
using store::v1::LeadAttribution;
using store::v1::OfferAttribution;

// A fact of `event` at `occurred_at`.
Fact NewFact(Fact::Kind kind, const EventEnvelope& event, const google::protobuf::Timestamp& occurred_at) {
  Fact f;
  f.set_kind(kind);
  *f.mutable_occurred_at() = occurred_at.seconds() != 0 || occurred_at.nanos() != 0 ? occurred_at : event.occurred_at();
  *f.mutable_recorded_at() = event.recorded_at();
  f.set_event_id(event.event_id());
  return f;
}

void Attribute(Fact& f, const events::v1::LeadFacts& lead) {
  f.set_manager_id(lead.owner_manager_id());
  f.set_region(lead.region());
  f.set_source(lead.source());
  f.set_client_id(lead.lead_id());
  f.set_client_label(lead.contact().company().empty() ? lead.contact().name() : lead.contact().company());
}

void Attribute(Fact& f, const ClientAttribution& client) {
  f.set_manager_id(client.owner_manager_id());
  f.set_region(client.region());
  f.set_source(client.source());
  f.set_client_id(client.lead_id());
  f.set_client_label(client.company());
}

}  // namespace

std::string CellKeyString(const Fact& f, PlanDimension dimension) {
  switch (dimension) {
    case events::v1::PLAN_DIMENSION_MANAGER: return f.manager_id();
    case events::v1::PLAN_DIMENSION_REGION: return f.region();
    case events::v1::PLAN_DIMENSION_PRODUCT: return f.product_code();
    case events::v1::PLAN_DIMENSION_CLIENT: return f.client_id();
    case events::v1::PLAN_DIMENSION_SOURCE: return events::v1::LeadSource_Name(f.source());
    default: return "";
  }
}

// A fact's contribution to its cells, and the currency of its cell ("" without a valid amount).
std::vector<int64_t> CellSumsOf(const Fact& f, std::string* currency) {
  std::vector<int64_t> sums(kCellSums, 0);
  sums[kCellFacts] = 1;
  sums[kCellQuantity] = f.quantity();
  StatusOr<Money> amount = f.has_amount() ? Money::FromProto(f.amount(), "amount") : absl::NotFoundError("");
  if (!amount.ok()) return sums;  // a count, or not a valid amount (the owner validated it)
  *currency = std::string(amount->currency());
  sums[kCellAmount] = amount->units();
  StatusOr<Money> cost = f.cost_known() ? Money::FromProto(f.cost(), "cost") : absl::NotFoundError("");
  if (cost.ok() && cost->currency() == amount->currency()) {
    sums[kCellCost] = cost->units();
  } else if (f.kind() == Fact::KIND_SALE) {
    sums[kCellWithoutCost] = 1;
  }
  return sums;
}

std::string CellRowKey(const CellRow& row) {
  std::string key(1, static_cast<char>(row.kind));
  key.push_back(static_cast<char>(row.dimension));
  key.push_back(static_cast<char>(row.bucket));
  return key + EncodeInt64(row.month.year() * 12 + (row.month.month() - 1));
}

std::optional<CellRow> DecodeCellRowKey(std::string_view key) {
  if (key.size() != 11) return std::nullopt;
  const std::optional<int64_t> months = DecodeInt64(key.substr(3, 8));
  if (!months) return std::nullopt;
  return CellRow{static_cast<Fact::Kind>(static_cast<uint8_t>(key[0])), static_cast<PlanDimension>(key[1]),
                 absl::CivilMonth(0, 1 + *months), static_cast<uint8_t>(key[2])};
}

int CellBuckets(PlanDimension dimension) {
  return dimension == events::v1::PLAN_DIMENSION_CLIENT ? kClientCellBuckets : 1;
}

int CellBucket(PlanDimension dimension, std::string_view key) {
  if (dimension != events::v1::PLAN_DIMENSION_CLIENT) return 0;
  uint32_t h = 2166136261u;  // FNV-1a: the same on every build and platform (it is in the keys)
  for (char c : key) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return static_cast<int>(h % kClientCellBuckets);
}

std::string CellSubKey(absl::CivilDay day, std::string_view key, std::string_view currency) {
  return StrCat(std::string(1, static_cast<char>(day.day())), key, std::string_view("\0", 1), currency);
}

std::optional<CellEntry> DecodeCellSubKey(std::string_view sub_key) {
  const size_t nul = sub_key.find('\0', 1);
  if (sub_key.empty() || nul == std::string_view::npos) return std::nullopt;
  const int day = static_cast<uint8_t>(sub_key[0]);
  if (day < 1 || day > 31) return std::nullopt;
  return CellEntry{day, sub_key.substr(1, nul - 1), sub_key.substr(nul + 1)};
}

Status ReportingProjection::Open(Store& store) {
  ASSIGN_OR_RETURN(std::optional<std::string> zone, store.Get(kSettingsFamily, kTimeZoneSetting));
  if (!zone) {
    Batch batch = store.NewBatch();
    batch.Put(kSettingsFamily, kTimeZoneSetting, time_zone_.name());
    RETURN_IF_ERROR(store.Commit(batch));
  } else if (*zone != time_zone_.name()) {
    return absl::FailedPreconditionError(
        StrCat("the store's report cells are by day in time zone ", *zone, ", not ", time_zone_.name(),
               ": start with --time-zone=", *zone, ", or rebuild the store (an empty --data-dir) for the new zone"));
  }
  RETURN_IF_ERROR(FillFunnelCells(store, time_zone_));
  RETURN_IF_ERROR(FillLostCells(store, time_zone_));
  RETURN_IF_ERROR(FillCycleCells(store, time_zone_));
  RETURN_IF_ERROR(FillAssignmentCells(store, time_zone_));
  RETURN_IF_ERROR(FillFromFacts(store, "", kCellsFamily, kCellsSetting,
                                [&](const Fact& f, Batch& batch) { AddToCells(f, batch); }));
  RETURN_IF_ERROR(FillFromFacts(store, std::string(1, static_cast<char>(Fact::KIND_OFFER_REJECTED)),
                                kRejectionCellsFamily, kRejectionCellsSetting, [&](const Fact& f, Batch& batch) {
                                  for (const std::string& cell : RejectionCellKeys(f, time_zone_)) {
                                    batch.AddSums(kRejectionCellsFamily, cell, {1});
                                  }
                                }));
  return FillPipelineCells(store, time_zone_);
}

Status ReportingProjection::PutFact(Batch& batch, const Fact& fact, int line) const {
  const std::string key = FactKey(fact, line);
  batch.Put(kFactsFamily, key, fact.SerializeAsString());
  batch.Put(kRecordedFamily, EncodeInt64(absl::ToUnixNanos(events::FromProto(fact.recorded_at()))) + key, "");
  AddToCells(fact, batch);
  if (fact.kind() == Fact::KIND_OFFER_REJECTED) {
    for (const std::string& rejection : RejectionCellKeys(fact, time_zone_)) {
      batch.AddSums(kRejectionCellsFamily, rejection, {1});
    }
  }
  if (fact.client_id().empty() || fact.client_label().empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<store::v1::ClientLabel> label,
                   LoadRow<store::v1::ClientLabel>(batch, kClientLabelsFamily, fact.client_id()));
  const std::string latest_first = key.substr(1);  // occurred-at, event id, line: whatever the kind
  if (label && label->fact_key() >= latest_first) return absl::OkStatus();
  store::v1::ClientLabel latest;
  latest.set_fact_key(latest_first);
  latest.set_label(fact.client_label());
  batch.Put(kClientLabelsFamily, fact.client_id(), latest.SerializeAsString());
  return absl::OkStatus();
}

// One sale fact per line of `lines` (net amounts; cost from `unit_costs` when known).
Status ReportingProjection::PutSaleLines(Batch& batch, const Fact& base, const google::protobuf::RepeatedPtrField<events::v1::OfferLine>& lines,
                                       const std::map<std::string, events::v1::Money>& unit_costs) const {
  for (int i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    Fact f = base;
    f.set_product_code(line.product_code());
    f.set_quantity(line.quantity());
    *f.mutable_amount() = line.net();
    if (auto it = unit_costs.find(line.product_code()); it != unit_costs.end()) {
      const auto cost = Money::FromProto(it->second, "unit_cost");
      const auto total = cost.ok() ? cost->Times(line.quantity()) : cost;
      if (total.ok()) {
        *f.mutable_cost() = total->ToProto();
        f.set_cost_known(true);
      }
    }
    RETURN_IF_ERROR(PutFact(batch, f, i));
  }
  return absl::OkStatus();
}


std::string FactKeyPrefix(Fact::Kind kind, absl::Time at) {
  return std::string(1, static_cast<char>(kind)) + EncodeInt64(absl::ToUnixNanos(at));
}

std::vector<std::string> RejectionCellKeys(const Fact& f, absl::TimeZone tz) {
  const absl::CivilDay day = absl::ToCivilDay(events::FromProto(f.occurred_at()), tz);
  const std::string reason = std::string(1, '\0') + f.reason();
  std::vector<std::string> out;
  for (PlanDimension dimension : kCellDimensions) {
    if (dimension != events::v1::PLAN_DIMENSION_PRODUCT) {
      out.push_back(FunnelCellPrefix(dimension, day) + CellKeyString(f, dimension) + reason);
      continue;
    }
    std::vector<std::string> products(f.products().begin(), f.products().end());
    std::sort(products.begin(), products.end());
    products.erase(std::unique(products.begin(), products.end()), products.end());
    for (const std::string& product : products) out.push_back(FunnelCellPrefix(dimension, day) + product + reason);
  }
  return out;
}

void ReportingProjection::AddToCells(const Fact& fact, Batch& batch) const {
  const absl::CivilDay day = absl::ToCivilDay(events::FromProto(fact.occurred_at()), time_zone_);
  std::string currency;
  const std::vector<int64_t> sums = CellSumsOf(fact, &currency);
  for (PlanDimension dimension : kCellDimensions) {
    const auto [row, sub_key] = CellOf(fact, dimension, day, currency);
    batch.AddKeyedSums(kCellsFamily, row, sub_key, sums);
  }
}

std::pair<std::string, std::string> CellOf(const Fact& f, PlanDimension dimension, absl::CivilDay day,
                                           std::string_view currency) {
  const std::string key = CellKeyString(f, dimension);
  return {CellRowKey({f.kind(), dimension, absl::CivilMonth(day), CellBucket(dimension, key)}),
          CellSubKey(day, key, currency)};
}

Status ReportingProjection::FillFromFacts(Store& store, const std::string& prefix, const char* family,
                                          const char* setting,
                                          const std::function<void(const Fact&, Batch&)>& add) const {
  ASSIGN_OR_RETURN(std::optional<std::string> done, store.Get(kSettingsFamily, setting));
  if (done) return absl::OkStatus();
  Batch batch = store.NewBatch();
  RETURN_IF_ERROR(store.Scan(family, "", "", [&](std::string_view key, std::string_view) {
    batch.Delete(family, key);
    return true;
  }));
  // In batches of this many facts (a store's facts at once would hold them all in memory). Until
  // the setting says complete, a fill cut short starts again from nothing.
  constexpr int kFactsPerBatch = 20000;
  int facts = 0;
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store.Scan(kFactsFamily, prefix, "", [&](std::string_view key, std::string_view value) {
    Fact f;
    if (!f.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      inner = absl::DataLossError(StrCat("stored fact ", key, " is corrupt"));
      return false;
    }
    add(f, batch);
    if (++facts % kFactsPerBatch == 0) {
      inner = store.Commit(batch);
      batch = store.NewBatch();
    }
    return inner.ok();
  }));
  RETURN_IF_ERROR(inner);
  batch.Put(kSettingsFamily, setting, "complete");
  return store.Commit(batch);
}

std::string FactKey(const Fact& fact, int line) {
  return FactKeyPrefix(fact.kind(), events::FromProto(fact.occurred_at())) + fact.event_id() +
         absl::StrFormat("/%04d", line);
}

bool ReportingProjection::Uses(const EventEnvelope& event) const {
  const std::string& type = event.aggregate_type();
  if (type == kTargetAggregate || type == kRateAggregate) return true;  // ours: always (else a dead letter)
  // Other services' aggregates this build counts facts from; managers, products and event types
  // added later are stepped over.
  if (type == kLead) return event.payload_case() == EventEnvelope::kLead;
  if (type == kOffer) return event.payload_case() == EventEnvelope::kOffer;
  if (type == kClient) return event.payload_case() == EventEnvelope::kClient;
  if (type == kCall) return event.payload_case() == EventEnvelope::kCall;
  return false;
}

StatusOr<projection::Outcome> ReportingProjection::ApplyEvent(const EventEnvelope& event, Batch& batch) {
  const std::string& type = event.aggregate_type();
  if (type == kTargetAggregate || type == kRateAggregate) return ApplyPlan(event, batch);
  if (type == kLead) return ApplyLead(event, batch);
  if (type == kOffer) return ApplyOffer(event, batch);
  if (type == kClient) return ApplyClient(event, batch);
  return ApplyCall(event, batch);
}

StatusOr<projection::Outcome> ReportingProjection::ApplyPlan(const EventEnvelope& event, Batch& batch) {
  const char* family = event.aggregate_type() == kTargetAggregate ? kTargetsFamily : kRatesFamily;
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<PlanState> state, LoadRow<PlanState>(batch, family, id));
  const int64_t current = state ? state->version() : 0;
  if (event.aggregate_version() <= current) return projection::Outcome::kDuplicate;
  if (event.aggregate_version() != current + 1) {
    return absl::FailedPreconditionError(StrCat("version gap for ", event.aggregate_type(), " ", id,
                                                ": stored version ", current, ", event version ",
                                                event.aggregate_version()));
  }
  RETURN_IF_ERROR(EvolvePlan(state, event));
  batch.Put(family, id, state->SerializeAsString());
  command::RecordIdempotency(batch, kIdempotencyFamily, event);
  return projection::Outcome::kApplied;
}

// Other services' aggregates: a version at or below the one seen is a re-delivery. A gap is
// tolerated (the owner may have dead-lettered an event of its own): what arrives still counts.

StatusOr<projection::Outcome> ReportingProjection::ApplyLead(const EventEnvelope& event, Batch& batch) {
  ASSIGN_OR_RETURN(std::optional<LeadAttribution> view, LoadRow<LeadAttribution>(batch, kLeadViewsFamily, event.aggregate_id()));
  if (view && event.aggregate_version() <= view->version()) return projection::Outcome::kDuplicate;
  if (!view) view.emplace();
  view->set_version(event.aggregate_version());
  const LeadEvent& e = event.lead();
  if (e.has_captured()) {
    view->set_region(e.captured().region());
    view->set_source(e.captured().source());
  } else if (e.has_activity_logged()) {
    const auto& a = e.activity_logged();
    const Fact::Kind kind = a.type() == events::v1::ACTIVITY_TYPE_CALL      ? Fact::KIND_CALL
                            : a.type() == events::v1::ACTIVITY_TYPE_MEETING ? Fact::KIND_MEETING
                                                                            : Fact::KIND_UNSPECIFIED;
    if (kind != Fact::KIND_UNSPECIFIED) {
      Fact f = NewFact(kind, event, a.occurred_at());
      f.set_manager_id(a.manager_id());
      f.set_region(view->region());
      f.set_source(view->source());
      RETURN_IF_ERROR(PutFact(batch, f));
    }
  }
  RETURN_IF_ERROR(RecordLeadEvent(event, *view, batch, FactWriter(batch), time_zone_));
  batch.Put(kLeadViewsFamily, event.aggregate_id(), view->SerializeAsString());
  return projection::Outcome::kApplied;
}

StatusOr<projection::Outcome> ReportingProjection::ApplyOffer(const EventEnvelope& event, Batch& batch) {
  ASSIGN_OR_RETURN(std::optional<OfferAttribution> view, LoadRow<OfferAttribution>(batch, kOfferViewsFamily, event.aggregate_id()));
  if (view && event.aggregate_version() <= view->version()) return projection::Outcome::kDuplicate;
  if (!view) view.emplace();
  view->set_version(event.aggregate_version());
  const OfferEvent& e = event.offer();
  switch (e.event_case()) {
    case OfferEvent::kDrafted:
      *view->mutable_lead() = e.drafted().lead();
      *view->add_revisions() = e.drafted().terms();
      break;
    case OfferEvent::kRevised:
      *view->add_revisions() = e.revised().terms();
      break;
    case OfferEvent::kSent: {
      Fact f = NewFact(Fact::KIND_OFFER_SENT, event, event.occurred_at());
      Attribute(f, view->lead());
      RETURN_IF_ERROR(PutFact(batch, f));
      break;
    }
    case OfferEvent::kAccepted: {
      const auto& a = e.accepted();
      Fact base = NewFact(Fact::KIND_SALE, event, event.occurred_at());
      Attribute(base, view->lead());
      const events::v1::OfferTerms* terms = nullptr;
      for (const auto& t : view->revisions()) {
        if (t.revision() == a.revision()) terms = &t;
      }
      if (terms != nullptr && !terms->lines().empty()) {
        std::map<std::string, events::v1::Money> costs;
        for (const auto& c : a.costs()) costs[c.product_code()] = c.unit_cost();
        RETURN_IF_ERROR(PutSaleLines(batch, base, terms->lines(), costs));
      } else {
        // The draft never reached us (the owner dead-lettered it?): the value still counts.
        *base.mutable_amount() = a.value();
        RETURN_IF_ERROR(PutFact(batch, base));
      }
      if (a.converts_lead()) {
        RETURN_IF_ERROR(PutFirstDealFacts(event, batch, [&](const Fact& f, int line) { return PutFact(batch, f, line); }));
      }
      break;
    }
    default:
      break;
  }
  RETURN_IF_ERROR(TrackPipeline(event, *view, batch, time_zone_));
  RETURN_IF_ERROR(RecordOfferEvent(event, *view, batch, FactWriter(batch), time_zone_));
  batch.Put(kOfferViewsFamily, event.aggregate_id(), view->SerializeAsString());
  return projection::Outcome::kApplied;
}

StatusOr<projection::Outcome> ReportingProjection::ApplyClient(const EventEnvelope& event, Batch& batch) {
  ASSIGN_OR_RETURN(std::optional<ClientAttribution> view,
                   LoadRow<ClientAttribution>(batch, kClientViewsFamily, event.aggregate_id()));
  if (view && event.aggregate_version() <= view->version()) return projection::Outcome::kDuplicate;
  if (!view) view.emplace();
  view->set_version(event.aggregate_version());
  const ClientEvent& e = event.client();
  switch (e.event_case()) {
    case ClientEvent::kOpened: {
      const auto& c = e.opened().conversion();
      view->set_lead_id(e.opened().lead_id());
      view->set_company(c.contact().company().empty() ? c.contact().name() : c.contact().company());
      view->set_owner_manager_id(c.owner_manager_id());
      view->set_region(c.region());
      view->set_source(c.source());
      Fact f = NewFact(Fact::KIND_NEW_CLIENT, event, e.opened().won_at());
      Attribute(f, *view);
      RETURN_IF_ERROR(PutFact(batch, f));
      break;
    }
    case ClientEvent::kInteractionLogged: {
      const auto& i = e.interaction_logged();
      const Fact::Kind kind = i.kind() == events::v1::INTERACTION_KIND_CALL ? Fact::KIND_CALL
                              : i.kind() == events::v1::INTERACTION_KIND_MEETING ||
                                      i.kind() == events::v1::INTERACTION_KIND_VISIT
                                  ? Fact::KIND_MEETING
                                  : Fact::KIND_UNSPECIFIED;
      if (kind != Fact::KIND_UNSPECIFIED) {
        Fact f = NewFact(kind, event, i.has_call() ? i.call().started_at() : i.occurred_at());
        Attribute(f, *view);
        // The call or meeting is the manager's who made it, not necessarily the client's owner.
        f.set_manager_id(!i.manager_id().empty() ? i.manager_id() : i.call().manager_id());
        RETURN_IF_ERROR(PutFact(batch, f));
        if (i.has_call()) {
          RETURN_IF_ERROR(PutPbxCall(batch, f, i.call(), [&](const Fact& c, int line) { return PutFact(batch, c, line); }));
        }
      }
      break;
    }
    case ClientEvent::kOrderRecorded: {
      Fact base = NewFact(Fact::KIND_SALE, event, e.order_recorded().ordered_at());
      Attribute(base, *view);
      // Client support records the catalogue's unit cost of each product on the order.
      std::map<std::string, events::v1::Money> costs;
      for (const auto& c : e.order_recorded().costs()) costs[c.product_code()] = c.unit_cost();
      RETURN_IF_ERROR(PutSaleLines(batch, base, e.order_recorded().lines(), costs));
      break;
    }
    case ClientEvent::kRenewalRecorded: {
      Fact f = NewFact(Fact::KIND_SALE, event, e.renewal_recorded().renewed_at());
      Attribute(f, *view);
      *f.mutable_amount() = e.renewal_recorded().value();
      RETURN_IF_ERROR(PutFact(batch, f));
      break;
    }
    default:
      break;
  }
  RETURN_IF_ERROR(RecordClientEvent(event, *view, FactWriter(batch)));
  batch.Put(kClientViewsFamily, event.aggregate_id(), view->SerializeAsString());
  return projection::Outcome::kApplied;
}

StatusOr<projection::Outcome> ReportingProjection::ApplyCall(const EventEnvelope& event, Batch& batch) {
  if (!event.call().has_unmatched()) return projection::Outcome::kSkipped;
  const auto& call = event.call().unmatched().call();
  Fact f = NewFact(Fact::KIND_CALL, event, call.started_at());
  f.set_manager_id(call.manager_id());
  // Calls have no aggregate version to tell a re-delivery: the fact's row (keyed by the event) does.
  ASSIGN_OR_RETURN(std::optional<std::string> seen, batch.Get(kFactsFamily, FactKey(f, 0)));
  if (seen) return projection::Outcome::kDuplicate;
  RETURN_IF_ERROR(PutFact(batch, f));
  RETURN_IF_ERROR(PutPbxCall(batch, f, call, [&](const Fact& c, int line) { return PutFact(batch, c, line); }));
  RETURN_IF_ERROR(RecordCallEvent(event, FactWriter(batch)));
  return projection::Outcome::kApplied;
}

}  // namespace sales::reporting
