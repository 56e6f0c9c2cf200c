// The client aggregate of client support as pure code: given these events, when this command, then
// this event or this error (its code and what its message says); the health view as of a time; and
// the PBX call records of the telephony intake.
#include <limits>
#include <map>
#include <set>

#include "common/base/ids.h"
#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/client_support/domain/client.h"

namespace sales::client_support {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsOk;
using testing::StatusIs;
using Code = absl::StatusCode;
using events::v1::SlaKind;
using events::v1::TicketPriority;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxQuantity = 1000000;  // the documented limit of an order line
const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
constexpr char kLeadId[] = "123e4567-e89b-12d3-a456-426614174000";
constexpr char kOfferId[] = "8d0c6f7e-3b7a-5c1e-9f2a-0a1b2c3d4e5f";

absl::Duration Days(int64_t n) { return absl::Hours(24 * n); }
const absl::Time kWon = kNow - Days(200);  // when the client was won (its first deal)

const std::string& ClientId() {
  static const std::string id = ClientIdFor(kLeadId);
  return id;
}
const std::string& TicketId() {
  static const std::string id = TicketIdFor("ticket-1");
  return id;
}

// INVALID_ARGUMENT naming exactly these fields, in this order.
std::vector<std::string> FieldsOf(const Status& s) {
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s;
  std::vector<std::string> fields;
  for (const auto& v : FieldViolations(s)) fields.push_back(v.field);
  return fields;
}

events::v1::Money Amount(int64_t units, const std::string& currency = "EUR") {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency(currency);
  return m;
}

// ---- first offers' acceptance, and the client's events ----

EventEnvelope Accepted(bool converts_lead = true) {
  testing::FakeClock clock(kWon);
  EventEnvelope e = events::NewEnvelope(kOfferAggregate, kOfferId, 4, "offer.accepted", 1, {}, clock);
  auto* a = e.mutable_offer()->mutable_accepted();
  a->set_revision(2);
  *a->mutable_value() = Amount(500000);
  a->set_converts_lead(converts_lead);
  if (converts_lead) {
    auto* c = a->mutable_conversion();
    c->set_lead_id(kLeadId);
    c->mutable_contact()->set_name("Μαρία Κωνσταντίνου");
    c->mutable_contact()->set_company("Ολυμπιακή Τεχνική");
    c->mutable_contact()->set_phone("+30 2310 555 123");
    c->set_owner_manager_id("m-1");
    c->set_region("GR-ATT");
    c->add_product_codes("crm-pro");
    *c->mutable_value() = Amount(500000);
    c->set_source(events::v1::LEAD_SOURCE_REFERRAL);
  }
  return e;
}

EventEnvelope ClientEnvelope(const ClientEvent& payload, int64_t version, absl::Time at = kNow) {
  testing::FakeClock clock(at);
  EventEnvelope e =
      events::NewEnvelope(kClientAggregate, ClientId(), version, EventTypeOf(payload), kSchemaVersion, {}, clock);
  *e.mutable_client() = payload;
  return e;
}

ClientEvent Must(StatusOr<ClientEvent> e) {
  EXPECT_TRUE(e.ok()) << e.status();
  return e.value_or(ClientEvent());
}

// Then: the state after `event` (which must follow it).
ClientState Apply(ClientState c, const ClientEvent& event) {
  std::optional<ClientState> state = std::move(c);
  const int64_t version = state->version() + 1;
  Status s = EvolveClient(state, ClientEnvelope(event, version));
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(state->version(), version);
  return *state;
}

// Given: a client opened by the acceptance, 200 days ago.
ClientState NewClient() {
  std::optional<ClientState> state;
  Status s = EvolveClient(state, ClientEnvelope(Must(DecideOpen(std::nullopt, Accepted())), 1, kWon));
  EXPECT_TRUE(s.ok()) << s;
  return state.value_or(ClientState());
}

// ---- requests ----

api::v1::LogInteractionRequest Interaction(std::optional<absl::Time> at = std::nullopt,
                                           events::v1::InteractionKind kind = events::v1::INTERACTION_KIND_MEETING) {
  api::v1::LogInteractionRequest r;
  r.set_idempotency_key("interaction-1");
  r.set_client_id(ClientId());
  if (at) *r.mutable_occurred_at() = events::ToProto(*at);
  r.set_kind(kind);
  r.set_outcome(events::v1::INTERACTION_OUTCOME_FOLLOW_UP);
  r.set_manager_id("m-1");
  r.set_duration_seconds(1800);
  r.set_note("  quarterly review; wants a second site  ");
  return r;
}

api::v1::OpenTicketRequest TicketRequest(TicketPriority priority = events::v1::TICKET_PRIORITY_HIGH,
                                         std::optional<absl::Time> at = std::nullopt) {
  api::v1::OpenTicketRequest r;
  r.set_idempotency_key("ticket-1");
  r.set_client_id(ClientId());
  if (at) *r.mutable_occurred_at() = events::ToProto(*at);
  r.set_category(events::v1::TICKET_CATEGORY_INCIDENT);
  r.set_priority(priority);
  r.set_subject("  Sync to the ERP fails since Monday  ");
  return r;
}

api::v1::TicketCommandRequest TicketCommand(std::optional<absl::Time> at = std::nullopt,
                                            const std::string& note = "  restarted the connector  ") {
  api::v1::TicketCommandRequest r;
  r.set_idempotency_key("ticket-command-1");
  r.set_client_id(ClientId());
  if (at) *r.mutable_occurred_at() = events::ToProto(*at);
  r.set_ticket_id(TicketId());
  r.set_manager_id("m-1");
  r.set_note(note);
  return r;
}

api::v1::OrderLineInput OrderLine(const std::string& code, int64_t quantity, int64_t unit_units,
                                  int32_t discount_bp = 0, const std::string& currency = "EUR") {
  api::v1::OrderLineInput l;
  l.set_product_code(code);
  l.set_quantity(quantity);
  *l.mutable_unit_price() = Amount(unit_units, currency);
  l.set_discount_bp(discount_bp);
  return l;
}

api::v1::RecordOrderRequest Order(std::vector<api::v1::OrderLineInput> lines = {OrderLine("crm-pro", 3, 1999, 1250)},
                                  std::optional<absl::Time> at = std::nullopt, const std::string& currency = "EUR",
                                  const std::string& key = "order-1") {
  api::v1::RecordOrderRequest r;
  r.set_idempotency_key(key);
  r.set_client_id(ClientId());
  if (at) *r.mutable_occurred_at() = events::ToProto(*at);
  r.set_currency(currency);
  for (auto& l : lines) *r.add_lines() = l;
  r.set_note("  second site  ");
  return r;
}

// A catalogue that lists every product, its unit cost 5.00 in `currency`.
CatalogueLookup Costs(const std::string& currency = "EUR") {
  return [currency](const std::string& code) -> StatusOr<std::optional<store::v1::CatalogueEntry>> {
    store::v1::CatalogueEntry p;
    p.set_product_code(code);
    p.set_version(1);
    *p.mutable_product()->mutable_unit_cost() = Amount(500, currency);
    return std::optional<store::v1::CatalogueEntry>(std::move(p));
  };
}

api::v1::RecordRenewalRequest Renewal(int64_t units = 120000, const std::string& currency = "EUR",
                                      std::optional<absl::Time> at = std::nullopt,
                                      const std::string& key = "renewal-1") {
  api::v1::RecordRenewalRequest r;
  r.set_idempotency_key(key);
  r.set_client_id(ClientId());
  if (at) *r.mutable_occurred_at() = events::ToProto(*at);
  *r.mutable_period_start() = events::ToProto(at.value_or(kNow));
  *r.mutable_period_end() = events::ToProto(at.value_or(kNow) + Days(365));
  *r.mutable_value() = Amount(units, currency);
  return r;
}

api::v1::ChurnClientRequest Churn(events::v1::ChurnReason reason = events::v1::CHURN_REASON_COMPETITOR,
                                  const std::string& note = "") {
  api::v1::ChurnClientRequest r;
  r.set_idempotency_key("churn-1");
  r.set_client_id(ClientId());
  r.set_reason(reason);
  r.set_note(note);
  return r;
}

api::v1::ReactivateClientRequest Reactivate() {
  api::v1::ReactivateClientRequest r;
  r.set_idempotency_key("reactivate-1");
  r.set_client_id(ClientId());
  r.set_note("  came back after the price change  ");
  return r;
}

// ---- states ----

// A ticket of `priority` opened at `opened` (HIGH: first response 4h, resolution 24h).
ClientState WithTicket(TicketPriority priority = events::v1::TICKET_PRIORITY_HIGH, absl::Time opened = kNow,
                       ClientState c = NewClient()) {
  return Apply(c, Must(DecideOpenTicket(c, TicketRequest(priority, opened), TicketId(), DefaultSla(), opened)));
}
ClientState Responded(ClientState c, absl::Time at) { return Apply(c, Must(DecideRespond(c, TicketCommand(at), at))); }
ClientState Resolved(ClientState c, absl::Time at) { return Apply(c, Must(DecideResolve(c, TicketCommand(at), at))); }
ClientState Reopened(ClientState c, absl::Time at) {
  return Apply(c, Must(DecideReopen(c, TicketCommand(at, "it fails again"), DefaultSla(), at)));
}
ClientState Breached(ClientState c, SlaKind kind, absl::Time now) {
  std::optional<ClientEvent> e = DecideSlaBreach(c, TicketId(), kind, now);
  EXPECT_TRUE(e.has_value());
  return Apply(c, e.value_or(ClientEvent()));
}
const TicketState& Ticket(const ClientState& c) { return c.tickets(0); }

// One order of `units` per time, each with its own key.
ClientState WithOrders(ClientState c, const std::vector<absl::Time>& times, int64_t units = 10000,
                       const std::string& currency = "EUR") {
  for (size_t i = 0; i < times.size(); ++i) {
    const std::string key = StrCat("order-", c.version(), "-", i);
    const auto request = Order({OrderLine("crm-pro", 1, units, 0, currency)}, times[i], currency, key);
    c = Apply(c, Must(DecideRecordOrder(c, request, OrderIdFor(key), Costs(currency), kNow)));
  }
  return c;
}

ClientState WithRenewal(ClientState c, absl::Time at, int64_t units = 120000, const std::string& currency = "EUR") {
  const std::string key = StrCat("renewal-", c.version());
  return Apply(c, Must(DecideRecordRenewal(c, Renewal(units, currency, at, key), RenewalIdFor(key), kNow)));
}

ClientState WithContact(ClientState c, absl::Time at) {
  return Apply(c, Must(DecideLogInteraction(c, Interaction(at), kNow)));
}

ClientState Churned(ClientState c) { return Apply(c, Must(DecideChurn(c, Churn()))); }

std::vector<std::pair<std::string, int64_t>> Sums(const std::vector<events::v1::Money>& money) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& m : money) out.emplace_back(m.currency(), m.units());
  return out;
}

// ---------------------------------------------------------------------------------------------
// Identity, names and configuration

TEST(Identity, IdsAreStableUuidsWithANamespacePerKind) {
  EXPECT_EQ(ClientIdFor(kLeadId), ClientIdFor(kLeadId));
  EXPECT_NE(ClientIdFor(kLeadId), ClientIdFor("another-lead"));
  const std::set<std::string> ids = {ClientIdFor("k"), TicketIdFor("k"), OrderIdFor("k"), RenewalIdFor("k"),
                                     NameUuid("sales.offer", "k"), NameUuid("sales.lead", "k")};
  EXPECT_EQ(ids.size(), 6u) << "the same key names a different thing of each kind";
  for (const auto& id : ids) EXPECT_TRUE(IsUuid(id)) << id;
  EXPECT_EQ(TicketIdFor("k"), TicketIdFor("k")) << "a retried command names the same ticket";
}

TEST(Identity, EventTypeNames) {
  ClientEvent e;
  std::vector<std::string> names;
  e.mutable_opened();
  names.push_back(EventTypeOf(e));
  e.mutable_interaction_logged();
  names.push_back(EventTypeOf(e));
  e.mutable_ticket_opened();
  names.push_back(EventTypeOf(e));
  e.mutable_ticket_responded();
  names.push_back(EventTypeOf(e));
  e.mutable_ticket_resolved();
  names.push_back(EventTypeOf(e));
  e.mutable_ticket_reopened();
  names.push_back(EventTypeOf(e));
  e.mutable_sla_breached();
  names.push_back(EventTypeOf(e));
  e.mutable_order_recorded();
  names.push_back(EventTypeOf(e));
  e.mutable_renewal_recorded();
  names.push_back(EventTypeOf(e));
  e.mutable_churned();
  names.push_back(EventTypeOf(e));
  e.mutable_reactivated();
  names.push_back(EventTypeOf(e));
  EXPECT_THAT(names, ElementsAre("client.opened", "client.interaction_logged", "client.ticket_opened",
                                 "client.ticket_responded", "client.ticket_resolved", "client.ticket_reopened",
                                 "client.sla_breached", "client.order_recorded", "client.renewal_recorded",
                                 "client.churned", "client.reactivated"));
  EXPECT_EQ(EventTypeOf(ClientEvent()), "client.unknown");
  EXPECT_EQ(EventTypeOf(UnmatchedCall(PbxCall())), "call.unmatched");
  EXPECT_EQ(EventTypeOf(CallEvent()), "call.unknown");
}

TEST(Sla, TheDocumentedDefault) {
  const SlaTable t = DefaultSla();
  using P = TicketPriority;
  const std::map<P, std::pair<int, int>> hours = {{events::v1::TICKET_PRIORITY_URGENT, {1, 8}},
                                                  {events::v1::TICKET_PRIORITY_HIGH, {4, 24}},
                                                  {events::v1::TICKET_PRIORITY_NORMAL, {8, 72}},
                                                  {events::v1::TICKET_PRIORITY_LOW, {24, 168}}};
  for (const auto& [priority, h] : hours) {
    SCOPED_TRACE(events::v1::TicketPriority_Name(priority));
    EXPECT_EQ(t.For(priority).first_response, absl::Hours(h.first));
    EXPECT_EQ(t.For(priority).resolution, absl::Hours(h.second));
  }
  EXPECT_EQ(&t.For(events::v1::TICKET_PRIORITY_UNSPECIFIED), &t.normal) << "read as NORMAL";
}

TEST(Sla, ParseTheFlag) {
  auto t = ParseSla(" low = 1d/7d? ");
  EXPECT_THAT(t, StatusIs(Code::kInvalidArgument, HasSubstr("sla: low: \"1d\" is not a duration")));
  t = ParseSla(" LOW=24h/168h, urgent=30m/4h,high=4h/24h,normal=8h/72h ");
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->urgent.first_response, absl::Minutes(30));
  EXPECT_EQ(t->urgent.resolution, absl::Hours(4));
  EXPECT_EQ(t->low.resolution, absl::Hours(168));
  const std::string all = "urgent=1h/8h,high=4h/24h,normal=8h/72h,low=24h/168h";
  ASSERT_THAT(ParseSla(all), IsOk());
  EXPECT_EQ(ParseSla(all)->normal.first_response, DefaultSla().normal.first_response);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "sla: empty"},
      {"urgent=1h/8h,high=4h/24h,normal=8h/72h", "missing priorities: low"},
      {"urgent=1h/8h", "missing priorities: high, normal, low"},
      {"urgent=1h/8h,urgent=2h/9h,high=4h/24h,normal=8h/72h,low=24h/168h", "priority urgent given twice"},
      {"critical=1h/8h", "unknown priority \"critical\""},
      {"urgent:1h/8h", "\"urgent:1h/8h\" is not priority=response/resolution"},
      {"urgent=1h", "urgent: \"1h\" is not response/resolution"},
      {"urgent=1h/8h/9h", "is not response/resolution"},
      {"urgent=soon/8h", "urgent: \"soon\" is not a duration"},
      {"urgent=inf/8h", "urgent: \"inf\" is not a duration"},
      {"urgent=0s/8h", "urgent: durations must be positive"},
      {"urgent=8h/8h", "urgent: the first response (8h) must be due before the resolution (8h)"},
  };
  for (const auto& [spec, fragment] : bad) {
    EXPECT_THAT(ParseSla(spec), StatusIs(Code::kInvalidArgument, HasSubstr(fragment))) << spec;
  }
}

TEST(Phone, MatchKeyForms) {
  EXPECT_EQ(PhoneMatchKey("+30 2310 555 123"), "2310555123");
  EXPECT_EQ(PhoneMatchKey("0030 2310555123"), "2310555123");
  EXPECT_EQ(PhoneMatchKey("2310555123"), "2310555123");
  EXPECT_EQ(PhoneMatchKey("(2310) 555-123"), "2310555123");
  EXPECT_EQ(PhoneMatchKey("tel: +30-2310-555-123"), "2310555123");
  // A national number with a trunk 0 and its international form match on the last 10 digits.
  EXPECT_EQ(PhoneMatchKey("020 7946 0958"), PhoneMatchKey("+44 20 7946 0958"));
  EXPECT_EQ(PhoneMatchKey("+44 20 7946 0958"), "2079460958");
  // Fewer than 10 digits: all of them; fewer than 7: no key.
  EXPECT_EQ(PhoneMatchKey("555 0101"), "5550101");
  EXPECT_EQ(PhoneMatchKey("55 01 01"), "");
  EXPECT_EQ(PhoneMatchKey("00 123 456"), "") << "00 is the international prefix, not digits of the number";
  EXPECT_EQ(PhoneMatchKey("anonymous"), "");
  EXPECT_EQ(PhoneMatchKey(""), "");

  EXPECT_EQ(NormalizePhone("  +30 2310-555 123 "), "+302310555123");
  EXPECT_EQ(NormalizePhone("0030 2310555123"), "+302310555123");
  EXPECT_EQ(NormalizePhone("(2310) 555 123"), "2310555123");
  EXPECT_EQ(NormalizePhone("00"), "");
  EXPECT_EQ(NormalizePhone("n/a"), "");
}

// ---------------------------------------------------------------------------------------------
// Opening

TEST(OpenClient, TheConvertingAcceptanceOpensTheClient) {
  auto e = DecideOpen(std::nullopt, Accepted());
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(EventTypeOf(*e), "client.opened");
  const auto& o = e->opened();
  EXPECT_EQ(o.lead_id(), kLeadId);
  EXPECT_EQ(o.offer_id(), kOfferId) << "the envelope's aggregate id";
  EXPECT_EQ(o.conversion().contact().company(), "Ολυμπιακή Τεχνική");
  EXPECT_EQ(o.conversion().value().units(), 500000);
  EXPECT_EQ(events::FromProto(o.won_at()), kWon) << "the acceptance's occurred-at";

  ClientState c = NewClient();
  EXPECT_EQ(c.client_id(), ClientIdFor(kLeadId));
  EXPECT_EQ(c.version(), 1);
  EXPECT_EQ(c.status(), ClientState::STATUS_ACTIVE);
  EXPECT_EQ(c.lead_id(), kLeadId);
  EXPECT_EQ(c.offer_id(), kOfferId);
  EXPECT_EQ(c.conversion().owner_manager_id(), "m-1");
  EXPECT_EQ(events::FromProto(c.client_since()), kWon);
  ASSERT_EQ(c.revenue_size(), 1) << "the first deal";
  EXPECT_EQ(c.revenue(0).id(), kOfferId);
  EXPECT_EQ(events::FromProto(c.revenue(0).at()), kWon);
  EXPECT_EQ(c.revenue(0).amount().units(), 500000);
  EXPECT_FALSE(c.revenue(0).renewal());
  EXPECT_FALSE(c.has_last_contact_at());
  EXPECT_EQ(c.interactions(), 0);
}

TEST(OpenClient, OnceOnly) {
  EXPECT_THAT(DecideOpen(NewClient(), Accepted()),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr(StrCat("client ", ClientId(), " of lead ", kLeadId, " was opened already (by offer ",
                                        kOfferId, "): a lead becomes a client once"))));
  std::optional<ClientState> state = NewClient();
  EXPECT_THAT(EvolveClient(state, ClientEnvelope(Must(DecideOpen(std::nullopt, Accepted())), 2)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("opened twice")));
  EXPECT_EQ(state->version(), 1);
}

TEST(OpenClient, OnlyByAnAcceptanceThatConvertsALead) {
  EXPECT_THAT(DecideOpen(std::nullopt, Accepted(/*converts_lead=*/false)),
              StatusIs(Code::kInvalidArgument, HasSubstr("offer.accepted.converts_lead: this acceptance does not "
                                                         "convert a lead")));
  EventEnvelope sent = Accepted();
  sent.mutable_offer()->mutable_sent()->set_revision(2);
  sent.set_event_type("offer.sent");
  EXPECT_THAT(DecideOpen(std::nullopt, sent),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("payload: not an offer acceptance (aggregate_type \"offer\", event_type "
                                 "\"offer.sent\")")));
  EventEnvelope lead = Accepted();
  lead.set_aggregate_type("lead");
  EXPECT_THAT(DecideOpen(std::nullopt, lead), StatusIs(Code::kInvalidArgument, HasSubstr("not an offer acceptance")));
  EventEnvelope nameless = Accepted();
  nameless.mutable_offer()->mutable_accepted()->mutable_conversion()->clear_lead_id();
  EXPECT_THAT(FieldsOf(DecideOpen(std::nullopt, nameless).status()), ElementsAre("offer.accepted.conversion.lead_id"));
  // The event is checked before the state: a foreign event is never "opened already".
  EXPECT_THAT(DecideOpen(NewClient(), lead), StatusIs(Code::kInvalidArgument));
}

// ---------------------------------------------------------------------------------------------
// Interactions

TEST(LogInteraction, AtItsOwnTimeAndTheLatestContactIsTheLatestInteraction) {
  ClientState c = NewClient();
  auto e = DecideLogInteraction(c, Interaction(), kNow);
  ASSERT_THAT(e, IsOk());
  const auto& i = e->interaction_logged();
  EXPECT_EQ(i.kind(), events::v1::INTERACTION_KIND_MEETING);
  EXPECT_EQ(i.outcome(), events::v1::INTERACTION_OUTCOME_FOLLOW_UP);
  EXPECT_EQ(i.manager_id(), "m-1");
  EXPECT_EQ(i.duration_seconds(), 1800);
  EXPECT_EQ(i.note(), "quarterly review; wants a second site");
  EXPECT_EQ(events::FromProto(i.occurred_at()), kNow) << "now, when the request gives no time";
  c = Apply(c, *e);
  EXPECT_EQ(c.interactions(), 1);
  EXPECT_EQ(events::FromProto(c.last_contact_at()), kNow);
  // A back-dated interaction arriving later counts, but does not move the latest contact back.
  c = WithContact(c, kNow - Days(10));
  EXPECT_EQ(c.interactions(), 2);
  EXPECT_EQ(events::FromProto(c.last_contact_at()), kNow);
  EXPECT_EQ(ComputeHealth(c, kNow + Days(3), HealthRules()).days_since_contact, 3);
}

TEST(LogInteraction, AChurnedClientStillTakesInteractionsButNoTicketOrderOrRenewal) {
  ClientState c = Churned(NewClient());
  ASSERT_EQ(c.status(), ClientState::STATUS_CHURNED);
  const std::string why = StrCat("client ", ClientId(), " is CHURNED: it takes no new ");
  EXPECT_THAT(DecideOpenTicket(c, TicketRequest(), TicketId(), DefaultSla(), kNow),
              StatusIs(Code::kFailedPrecondition, HasSubstr(why + "ticket (reactivate it first)")));
  EXPECT_THAT(DecideRecordOrder(c, Order(), OrderIdFor("order-1"), Costs(), kNow),
              StatusIs(Code::kFailedPrecondition, HasSubstr(why + "order")));
  EXPECT_THAT(DecideRecordRenewal(c, Renewal(), RenewalIdFor("renewal-1"), kNow),
              StatusIs(Code::kFailedPrecondition, HasSubstr(why + "renewal")));
  auto call = DecideLogInteraction(c, Interaction(std::nullopt, events::v1::INTERACTION_KIND_CALL), kNow);
  ASSERT_THAT(call, IsOk()) << "win-back calls are logged";
  c = Apply(c, *call);
  EXPECT_EQ(c.interactions(), 1);
  EXPECT_EQ(c.status(), ClientState::STATUS_CHURNED);
  // Reactivated, it takes them again.
  c = Apply(c, Must(DecideReactivate(c, Reactivate())));
  EXPECT_THAT(DecideOpenTicket(c, TicketRequest(), TicketId(), DefaultSla(), kNow), IsOk());
  EXPECT_THAT(DecideRecordOrder(c, Order(), OrderIdFor("order-1"), Costs(), kNow), IsOk());
  EXPECT_THAT(DecideRecordRenewal(c, Renewal(), RenewalIdFor("renewal-1"), kNow), IsOk());
}

// ---------------------------------------------------------------------------------------------
// Churn and reactivation

TEST(ChurnClient, ActiveToChurnedAndBack) {
  ClientState c = NewClient();
  auto churn = DecideChurn(c, Churn(events::v1::CHURN_REASON_OTHER, "  merged into their parent  "));
  ASSERT_THAT(churn, IsOk());
  EXPECT_EQ(churn->churned().reason(), events::v1::CHURN_REASON_OTHER);
  EXPECT_EQ(churn->churned().note(), "merged into their parent");
  c = Apply(c, *churn);
  EXPECT_EQ(c.status(), ClientState::STATUS_CHURNED);
  EXPECT_EQ(c.churn_reason(), events::v1::CHURN_REASON_OTHER);
  EXPECT_EQ(c.churn_note(), "merged into their parent");
  EXPECT_THAT(DecideChurn(c, Churn()),
              StatusIs(Code::kFailedPrecondition, HasSubstr(StrCat("client ", ClientId(), " is CHURNED already"))));

  auto back = DecideReactivate(c, Reactivate());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->reactivated().note(), "came back after the price change");
  c = Apply(c, *back);
  EXPECT_EQ(c.status(), ClientState::STATUS_ACTIVE);
  EXPECT_EQ(c.churn_reason(), events::v1::CHURN_REASON_UNSPECIFIED);
  EXPECT_EQ(c.churn_note(), "");
  EXPECT_THAT(DecideReactivate(c, Reactivate()),
              StatusIs(Code::kFailedPrecondition, HasSubstr(StrCat("client ", ClientId(),
                                                                   " is ACTIVE: only a churned client can be "
                                                                   "reactivated"))));
}

// ---------------------------------------------------------------------------------------------
// Tickets

TEST(OpenTicket, TargetsFromTheTableCountFromTheOpeningTime) {
  const absl::Time opened = kNow - absl::Hours(30);  // back-dated
  ClientState c = NewClient();
  auto e = DecideOpenTicket(c, TicketRequest(events::v1::TICKET_PRIORITY_URGENT, opened), TicketId(), DefaultSla(),
                            kNow);
  ASSERT_THAT(e, IsOk());
  const auto& t = e->ticket_opened();
  EXPECT_EQ(t.ticket_id(), TicketId());
  EXPECT_EQ(t.category(), events::v1::TICKET_CATEGORY_INCIDENT);
  EXPECT_EQ(t.priority(), events::v1::TICKET_PRIORITY_URGENT);
  EXPECT_EQ(t.subject(), "Sync to the ERP fails since Monday");
  EXPECT_EQ(events::FromProto(t.opened_at()), opened);
  EXPECT_EQ(t.sla().first_response_seconds(), 3600);
  EXPECT_EQ(t.sla().resolution_seconds(), 8 * 3600);
  EXPECT_EQ(events::FromProto(t.sla().first_response_due()), opened + absl::Hours(1));
  EXPECT_EQ(events::FromProto(t.sla().resolution_due()), opened + absl::Hours(8));
  c = Apply(c, *e);
  ASSERT_EQ(c.tickets_size(), 1);
  EXPECT_EQ(Ticket(c).status(), TicketState::STATUS_OPEN);
  EXPECT_EQ(events::FromProto(Ticket(c).opened_at()), opened);
  EXPECT_EQ(Ticket(c).sla().resolution_seconds(), 8 * 3600);
  EXPECT_FALSE(Ticket(c).has_first_response_at());
  // Both targets passed already (the ticket was back-dated): both are due for the scheduler.
  EXPECT_TRUE(DecideSlaBreach(c, TicketId(), events::v1::SLA_KIND_FIRST_RESPONSE, kNow).has_value());
  EXPECT_TRUE(DecideSlaBreach(c, TicketId(), events::v1::SLA_KIND_RESOLUTION, kNow).has_value());
  // The same ticket id twice (a key reused for another command) is refused.
  EXPECT_THAT(DecideOpenTicket(c, TicketRequest(), TicketId(), DefaultSla(), kNow),
              StatusIs(Code::kFailedPrecondition, HasSubstr(StrCat("has a ticket ", TicketId(), " already"))));
}

TEST(TicketLifecycle, RespondThenResolve) {
  ClientState c = WithTicket();
  auto responded = DecideRespond(c, TicketCommand(kNow + absl::Hours(1)), kNow + absl::Hours(2));
  ASSERT_THAT(responded, IsOk());
  EXPECT_EQ(responded->ticket_responded().ticket_id(), TicketId());
  EXPECT_EQ(responded->ticket_responded().manager_id(), "m-1");
  EXPECT_EQ(responded->ticket_responded().note(), "restarted the connector");
  EXPECT_EQ(events::FromProto(responded->ticket_responded().responded_at()), kNow + absl::Hours(1));
  c = Apply(c, *responded);
  EXPECT_EQ(Ticket(c).status(), TicketState::STATUS_RESPONDED);
  EXPECT_EQ(events::FromProto(Ticket(c).first_response_at()), kNow + absl::Hours(1));
  // A further response is allowed and keeps the first response time.
  c = Responded(c, kNow + absl::Hours(3));
  EXPECT_EQ(Ticket(c).status(), TicketState::STATUS_RESPONDED);
  EXPECT_EQ(events::FromProto(Ticket(c).first_response_at()), kNow + absl::Hours(1));

  auto resolved = DecideResolve(c, TicketCommand(std::nullopt, "  new API token  "), kNow + absl::Hours(5));
  ASSERT_THAT(resolved, IsOk());
  EXPECT_EQ(resolved->ticket_resolved().resolution(), "new API token");
  EXPECT_EQ(events::FromProto(resolved->ticket_resolved().resolved_at()), kNow + absl::Hours(5));
  c = Apply(c, *resolved);
  EXPECT_EQ(Ticket(c).status(), TicketState::STATUS_RESOLVED);
  EXPECT_EQ(events::FromProto(Ticket(c).resolved_at()), kNow + absl::Hours(5));
  EXPECT_THAT(OpenSlaTargets(c), IsEmpty()) << "both targets met";
}

TEST(TicketLifecycle, ResolvingAnOpenTicketIsItsFirstResponseToo) {
  ClientState c = Resolved(WithTicket(), kNow + absl::Hours(2));
  EXPECT_EQ(Ticket(c).status(), TicketState::STATUS_RESOLVED);
  EXPECT_EQ(events::FromProto(Ticket(c).first_response_at()), kNow + absl::Hours(2));
  EXPECT_EQ(DecideSlaBreach(c, TicketId(), events::v1::SLA_KIND_FIRST_RESPONSE, kNow + Days(30)), std::nullopt);
}

TEST(TicketLifecycle, EveryCommandInEveryTicketState) {
  enum Command { kRespond, kResolve, kReopen };
  const std::map<Command, std::string> names = {{kRespond, "respond"}, {kResolve, "resolve"}, {kReopen, "reopen"}};
  using S = TicketState;
  const ClientState open = WithTicket();
  const ClientState responded = Responded(open, kNow + absl::Hours(1));
  const ClientState resolved = Resolved(responded, kNow + absl::Hours(2));
  const std::map<S::Status, ClientState> states = {
      {S::STATUS_OPEN, open}, {S::STATUS_RESPONDED, responded}, {S::STATUS_RESOLVED, resolved}};
  const std::map<S::Status, std::set<Command>> allowed = {{S::STATUS_OPEN, {kRespond, kResolve}},
                                                          {S::STATUS_RESPONDED, {kRespond, kResolve}},
                                                          {S::STATUS_RESOLVED, {kReopen}}};
  const std::map<Command, S::Status> after = {
      {kRespond, S::STATUS_RESPONDED}, {kResolve, S::STATUS_RESOLVED}, {kReopen, S::STATUS_RESPONDED}};
  const std::map<std::pair<S::Status, Command>, std::string> refusal = {
      {{S::STATUS_OPEN, kReopen}, "is OPEN: only a resolved ticket can be reopened"},
      {{S::STATUS_RESPONDED, kReopen}, "is RESPONDED: only a resolved ticket can be reopened"},
      {{S::STATUS_RESOLVED, kRespond}, "is RESOLVED: it cannot be responded to (reopen it first)"},
      {{S::STATUS_RESOLVED, kResolve}, "is RESOLVED already: it cannot be resolved again"}};
  const absl::Time at = kNow + absl::Hours(3);
  for (const auto& [status, c] : states) {
    ASSERT_EQ(Ticket(c).status(), status);
    for (const auto& [command, name] : names) {
      SCOPED_TRACE(StrCat(name, " when ", S::Status_Name(status)));
      StatusOr<ClientEvent> e = absl::UnknownError("not decided");
      switch (command) {
        case kRespond: e = DecideRespond(c, TicketCommand(at), at); break;
        case kResolve: e = DecideResolve(c, TicketCommand(at), at); break;
        case kReopen: e = DecideReopen(c, TicketCommand(at), DefaultSla(), at); break;
      }
      if (!allowed.at(status).count(command)) {
        EXPECT_THAT(e, StatusIs(Code::kFailedPrecondition,
                                HasSubstr(StrCat("ticket ", TicketId(), " ", refusal.at({status, command})))));
        continue;
      }
      ASSERT_THAT(e, IsOk());
      const ClientState next = Apply(c, *e);
      EXPECT_EQ(Ticket(next).status(), after.at(command)) << S::Status_Name(Ticket(next).status());
    }
  }
}

TEST(TicketLifecycle, UnknownTicketsAndFactsBeforeTheTicket) {
  ClientState c = WithTicket();
  auto other = TicketCommand();
  other.set_ticket_id("no-such-ticket");
  const std::string missing = StrCat("client ", ClientId(), " has no ticket no-such-ticket");
  EXPECT_THAT(DecideRespond(c, other, kNow), StatusIs(Code::kNotFound, HasSubstr(missing)));
  EXPECT_THAT(DecideResolve(c, other, kNow), StatusIs(Code::kNotFound, HasSubstr(missing)));
  EXPECT_THAT(DecideReopen(c, other, DefaultSla(), kNow), StatusIs(Code::kNotFound, HasSubstr(missing)));
  EXPECT_EQ(DecideSlaBreach(c, "no-such-ticket", events::v1::SLA_KIND_FIRST_RESPONSE, kNow + Days(9)), std::nullopt);
  // A back-dated answer cannot come before the ticket, nor a reopening before the resolution.
  const absl::Time before = kNow - absl::Seconds(1);
  EXPECT_THAT(DecideRespond(c, TicketCommand(before), kNow),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("was opened at 2026-01-01T00:00:00Z: it cannot be responded to before that")));
  EXPECT_THAT(DecideResolve(c, TicketCommand(before), kNow),
              StatusIs(Code::kFailedPrecondition, HasSubstr("was opened at 2026-01-01T00:00:00Z: it cannot be "
                                                            "resolved before that")));
  c = Resolved(c, kNow + absl::Hours(2));
  EXPECT_THAT(DecideReopen(c, TicketCommand(kNow + absl::Hours(1)), DefaultSla(), kNow + absl::Hours(3)),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("was resolved at 2026-01-01T02:00:00Z: it cannot be reopened before that")));
  c = Reopened(c, kNow + absl::Hours(10));
  EXPECT_THAT(DecideResolve(c, TicketCommand(kNow + absl::Hours(9)), kNow + absl::Hours(11)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("was reopened at 2026-01-01T10:00:00Z")));
}

TEST(TicketLifecycle, ReopeningSetsAFreshResolutionTargetFromTheReopening) {
  // HIGH: 4h / 24h. Responded late (the first response was breached), resolved late too.
  ClientState c = WithTicket();
  c = Breached(c, events::v1::SLA_KIND_FIRST_RESPONSE, kNow + absl::Hours(4));
  c = Responded(c, kNow + absl::Hours(5));
  c = Breached(c, events::v1::SLA_KIND_RESOLUTION, kNow + absl::Hours(24));
  c = Resolved(c, kNow + absl::Hours(30));
  ASSERT_TRUE(Ticket(c).resolution_breached());
  ASSERT_EQ(Ticket(c).breached_at_size(), 2);

  const absl::Time reopened = kNow + Days(3);
  auto e = DecideReopen(c, TicketCommand(reopened, "  fails again after the update  "), DefaultSla(), reopened);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->ticket_reopened().reason(), "fails again after the update");
  EXPECT_EQ(events::FromProto(e->ticket_reopened().reopened_at()), reopened);
  EXPECT_EQ(events::FromProto(e->ticket_reopened().sla().resolution_due()), reopened + absl::Hours(24));
  EXPECT_EQ(events::FromProto(e->ticket_reopened().sla().first_response_due()), kNow + absl::Hours(4))
      << "the first-response target is not reset";
  c = Apply(c, *e);
  const TicketState& t = Ticket(c);
  EXPECT_EQ(t.status(), TicketState::STATUS_RESPONDED);
  EXPECT_EQ(t.reopened(), 1);
  EXPECT_FALSE(t.has_resolved_at());
  EXPECT_TRUE(t.first_response_breached()) << "history";
  EXPECT_FALSE(t.resolution_breached()) << "the current (fresh) resolution target is not breached";
  EXPECT_EQ(t.breached_at_size(), 2) << "every breach stays counted";
  ASSERT_EQ(OpenSlaTargets(c).size(), 1u);
  EXPECT_EQ(OpenSlaTargets(c)[0].kind, events::v1::SLA_KIND_RESOLUTION);
  EXPECT_EQ(OpenSlaTargets(c)[0].due, reopened + absl::Hours(24));

  // The fresh target can be breached in its turn, once.
  const absl::Time due = reopened + absl::Hours(24);
  EXPECT_EQ(DecideSlaBreach(c, TicketId(), events::v1::SLA_KIND_RESOLUTION, due - absl::Nanoseconds(1)),
            std::nullopt);
  c = Breached(c, events::v1::SLA_KIND_RESOLUTION, due);
  EXPECT_TRUE(Ticket(c).resolution_breached());
  ASSERT_EQ(Ticket(c).breached_at_size(), 3);
  EXPECT_EQ(events::FromProto(Ticket(c).breached_at(2)), due);
  EXPECT_EQ(ComputeHealth(c, due, HealthRules()).sla_breaches_90d, 3);
  // Resolved on time after a second reopening, the new target is met.
  c = Resolved(c, due + absl::Hours(1));
  c = Reopened(c, due + absl::Hours(2));
  c = Resolved(c, due + absl::Hours(3));
  EXPECT_EQ(Ticket(c).reopened(), 2);
  EXPECT_FALSE(Ticket(c).resolution_breached());
  EXPECT_THAT(OpenSlaTargets(c), IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// SLA breaches

TEST(SlaBreach, DueExactlyAtTheTargetAndOnlyOnce) {
  ClientState c = WithTicket();  // HIGH at kNow: first response due kNow + 4h
  const absl::Time due = kNow + absl::Hours(4);
  const auto kind = events::v1::SLA_KIND_FIRST_RESPONSE;
  EXPECT_EQ(DecideSlaBreach(c, TicketId(), kind, due - absl::Nanoseconds(1)), std::nullopt);
  auto e = DecideSlaBreach(c, TicketId(), kind, due);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(EventTypeOf(*e), "client.sla_breached");
  EXPECT_EQ(e->sla_breached().ticket_id(), TicketId());
  EXPECT_EQ(e->sla_breached().kind(), kind);
  EXPECT_EQ(events::FromProto(e->sla_breached().due()), due) << "the target's due time, not the scheduler's now";
  EXPECT_EQ(events::FromProto(DecideSlaBreach(c, TicketId(), kind, due + Days(2))->sla_breached().due()), due);
  c = Apply(c, *e);
  EXPECT_TRUE(Ticket(c).first_response_breached());
  EXPECT_FALSE(Ticket(c).resolution_breached());
  ASSERT_EQ(Ticket(c).breached_at_size(), 1);
  EXPECT_EQ(events::FromProto(Ticket(c).breached_at(0)), due);
  EXPECT_EQ(DecideSlaBreach(c, TicketId(), kind, due + absl::Hours(1)), std::nullopt) << "once";
  std::optional<ClientState> twice = c;
  EXPECT_THAT(EvolveClient(twice, ClientEnvelope(*e, c.version() + 1)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("SLA_KIND_FIRST_RESPONSE breached twice")));
  // The other target is still open.
  ASSERT_EQ(OpenSlaTargets(c).size(), 1u);
  EXPECT_EQ(OpenSlaTargets(c)[0].kind, events::v1::SLA_KIND_RESOLUTION);
}

TEST(SlaBreach, ATargetMetOnTimeNeverBreaches) {
  const absl::Time due = kNow + absl::Hours(4);
  ClientState c = Responded(WithTicket(), due);  // exactly at the due time: met
  EXPECT_EQ(DecideSlaBreach(c, TicketId(), events::v1::SLA_KIND_FIRST_RESPONSE, due), std::nullopt);
  EXPECT_EQ(DecideSlaBreach(c, TicketId(), events::v1::SLA_KIND_FIRST_RESPONSE, due + Days(365)), std::nullopt);
  c = Resolved(c, kNow + absl::Hours(24));
  EXPECT_EQ(DecideSlaBreach(c, TicketId(), events::v1::SLA_KIND_RESOLUTION, kNow + Days(365)), std::nullopt);
  EXPECT_THAT(OpenSlaTargets(c), IsEmpty());
  // Evolve refuses a breach of a met target.
  ClientEvent breach;
  breach.mutable_sla_breached()->set_ticket_id(TicketId());
  breach.mutable_sla_breached()->set_kind(events::v1::SLA_KIND_FIRST_RESPONSE);
  *breach.mutable_sla_breached()->mutable_due() = events::ToProto(due);
  std::optional<ClientState> state = c;
  EXPECT_THAT(EvolveClient(state, ClientEnvelope(breach, c.version() + 1)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("SLA_KIND_FIRST_RESPONSE target was met")));
}

TEST(SlaBreach, AnAnswerAfterTheDueTimeStillMissedTheTarget) {
  // The response came 1 ns late, before the scheduler got to it: the target stays open until the
  // breach is recorded.
  const absl::Time due = kNow + absl::Hours(4);
  ClientState c = Responded(WithTicket(), due + absl::Nanoseconds(1));
  std::vector<OpenTarget> open = OpenSlaTargets(c);
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].kind, events::v1::SLA_KIND_FIRST_RESPONSE);
  EXPECT_EQ(open[0].due, due);
  EXPECT_EQ(open[0].ticket_id, TicketId());
  c = Breached(c, events::v1::SLA_KIND_FIRST_RESPONSE, due + absl::Hours(1));
  EXPECT_TRUE(Ticket(c).first_response_breached());
  ASSERT_EQ(OpenSlaTargets(c).size(), 1u);
  EXPECT_EQ(OpenSlaTargets(c)[0].kind, events::v1::SLA_KIND_RESOLUTION);
}

TEST(SlaBreach, EvolveRefusesABreachOfAnotherTarget) {
  ClientState c = WithTicket();
  ClientEvent breach;
  breach.mutable_sla_breached()->set_ticket_id(TicketId());
  breach.mutable_sla_breached()->set_kind(events::v1::SLA_KIND_RESOLUTION);
  *breach.mutable_sla_breached()->mutable_due() = events::ToProto(kNow + absl::Hours(4));
  std::optional<ClientState> state = c;
  EXPECT_THAT(EvolveClient(state, ClientEnvelope(breach, c.version() + 1)),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("SLA_KIND_RESOLUTION due at 2026-01-01T04:00:00Z, the target is "
                                 "2026-01-02T00:00:00Z")));
  breach.mutable_sla_breached()->set_kind(events::v1::SLA_KIND_UNSPECIFIED);
  EXPECT_THAT(EvolveClient(state, ClientEnvelope(breach, c.version() + 1)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("the ticket has no SLA_KIND_UNSPECIFIED target")));
  EXPECT_EQ(DecideSlaBreach(c, TicketId(), events::v1::SLA_KIND_UNSPECIFIED, kNow + Days(9)), std::nullopt);
}

TEST(SlaTargets, OpenTargetsPerTicket) {
  ClientState c = WithTicket(events::v1::TICKET_PRIORITY_LOW, kNow);  // 24h / 168h
  auto second = TicketRequest(events::v1::TICKET_PRIORITY_URGENT, kNow + absl::Hours(1));
  second.set_idempotency_key("ticket-2");
  const std::string t2 = TicketIdFor("ticket-2");
  c = Apply(c, Must(DecideOpenTicket(c, second, t2, DefaultSla(), kNow + absl::Hours(1))));
  auto respond2 = TicketCommand(kNow + absl::Hours(1) + absl::Minutes(10));
  respond2.set_ticket_id(t2);
  c = Apply(c, Must(DecideRespond(c, respond2, kNow + absl::Hours(2))));
  std::vector<std::tuple<std::string, SlaKind, absl::Time>> open;
  for (const auto& t : OpenSlaTargets(c)) open.emplace_back(t.ticket_id, t.kind, t.due);
  EXPECT_THAT(open, ElementsAre(std::tuple(TicketId(), events::v1::SLA_KIND_FIRST_RESPONSE, kNow + absl::Hours(24)),
                                std::tuple(TicketId(), events::v1::SLA_KIND_RESOLUTION, kNow + absl::Hours(168)),
                                std::tuple(t2, events::v1::SLA_KIND_RESOLUTION, kNow + absl::Hours(9))));
}

// ---------------------------------------------------------------------------------------------
// Orders and renewals

TEST(RecordOrder, LinesArePricedAsOfferLinesWithTheGivenUnitPrice) {
  ClientState c = NewClient();
  // 3 x 19.99 at 12.5%: 5997 x 0.875 = 5247.375 -> 52.47; 1 x 0.01 at 50% = 0.005 -> 0.01 (half away
  // from zero); 2 x 800.00, no discount.
  auto in = Order({OrderLine("crm-pro", 3, 1999, 1250), OrderLine("crm-pro", 1, 1, 5000),
                   OrderLine("onboarding", 2, 80000)});
  in.mutable_lines(2)->set_description("  Two onboarding days  ");
  auto e = DecideRecordOrder(c, in, OrderIdFor("order-1"), Costs(), kNow);
  ASSERT_THAT(e, IsOk());
  const auto& o = e->order_recorded();
  EXPECT_EQ(o.order_id(), OrderIdFor("order-1"));
  EXPECT_EQ(o.currency(), "EUR");
  ASSERT_EQ(o.lines_size(), 3);
  const auto& l = o.lines(0);
  EXPECT_EQ(l.product_code(), "crm-pro");
  EXPECT_EQ(l.quantity(), 3);
  EXPECT_EQ(l.unit_price().units(), 1999);
  EXPECT_EQ(l.list_price().units(), 1999) << "no catalogue: the list price is the unit price";
  EXPECT_EQ(l.discount_bp(), 1250);
  EXPECT_EQ(l.gross().units(), 5997);
  EXPECT_EQ(l.net().units(), 5247);
  EXPECT_EQ(l.discount().units(), 750);
  EXPECT_EQ(o.lines(1).net().units(), 1);
  EXPECT_EQ(o.lines(1).discount().units(), 0);
  EXPECT_EQ(o.lines(2).net().units(), 160000);
  EXPECT_EQ(o.lines(2).description(), "Two onboarding days");
  EXPECT_EQ(o.total().units(), 5247 + 1 + 160000) << "the sum of the rounded lines";
  EXPECT_EQ(o.total().currency(), "EUR");
  EXPECT_EQ(o.note(), "second site");
  EXPECT_EQ(events::FromProto(o.ordered_at()), kNow);
  c = Apply(c, *e);
  ASSERT_EQ(c.revenue_size(), 2);
  EXPECT_EQ(c.revenue(1).id(), OrderIdFor("order-1"));
  EXPECT_EQ(c.revenue(1).amount().units(), 165248);
  EXPECT_FALSE(c.revenue(1).renewal());
  EXPECT_THAT(DecideRecordOrder(c, in, OrderIdFor("order-1"), Costs(), kNow),
              StatusIs(Code::kFailedPrecondition, HasSubstr(StrCat("order ", OrderIdFor("order-1"),
                                                                   " is recorded already"))));
  // Zero-exponent currencies: 3 x 1250 JPY at 3.33% = 3625.125 -> 3625 JPY.
  auto jpy = DecideRecordOrder(c, Order({OrderLine("seat", 3, 1250, 333, "JPY")}, std::nullopt, "JPY", "order-2"),
                               OrderIdFor("order-2"), Costs("JPY"), kNow);
  ASSERT_THAT(jpy, IsOk());
  EXPECT_EQ(jpy->order_recorded().total().units(), 3625);
  EXPECT_EQ(jpy->order_recorded().total().currency(), "JPY");
}

// The catalogue as client support knows it from first offers' ProductUpserted events.
CatalogueLookup Catalogue(std::map<std::string, store::v1::CatalogueEntry> products) {
  return [products](const std::string& code) -> StatusOr<std::optional<store::v1::CatalogueEntry>> {
    auto it = products.find(code);
    if (it == products.end()) return std::optional<store::v1::CatalogueEntry>();
    return std::optional<store::v1::CatalogueEntry>(it->second);
  };
}
store::v1::CatalogueEntry Product(const std::string& code, int64_t cost_units, const std::string& currency = "EUR",
                                  bool active = true) {
  store::v1::CatalogueEntry p;
  p.set_product_code(code);
  p.set_version(1);
  p.mutable_product()->set_name(code);
  *p.mutable_product()->mutable_list_price() = Amount(cost_units * 4, currency);
  *p.mutable_product()->mutable_unit_cost() = Amount(cost_units, currency);
  p.mutable_product()->set_active(active);
  return p;
}

TEST(RecordOrder, EachProductsUnitCostComesFromTheCatalogueOncePerProduct) {
  const auto catalogue = Catalogue({{"crm-pro", Product("crm-pro", 1200)},
                                    {"onboarding", Product("onboarding", 30000, "EUR", /*active=*/false)},
                                    {"unused", Product("unused", 1)}});
  auto e = DecideRecordOrder(NewClient(),
                             Order({OrderLine("onboarding", 1, 80000), OrderLine("crm-pro", 3, 1999, 1250),
                                    OrderLine("crm-pro", 1, 1)}),
                             OrderIdFor("order-1"), catalogue, kNow);
  ASSERT_THAT(e, IsOk());
  const auto& costs = e->order_recorded().costs();
  ASSERT_EQ(costs.size(), 2) << "one cost per product, in line order";
  EXPECT_EQ(costs[0].product_code(), "onboarding") << "an inactive product is still reordered";
  EXPECT_EQ(costs[0].unit_cost().units(), 30000);
  EXPECT_EQ(costs[0].unit_cost().currency(), "EUR");
  EXPECT_EQ(costs[1].product_code(), "crm-pro");
  EXPECT_EQ(costs[1].unit_cost().units(), 1200);
  // The unit price the caller gives is still the price; the cost never changes it.
  EXPECT_EQ(e->order_recorded().lines(1).unit_price().units(), 1999);
  EXPECT_EQ(e->order_recorded().lines(1).list_price().units(), 1999);
}

TEST(RecordOrder, AProductTheCatalogueDoesNotListOrCostsInAnotherCurrencyIsRefused) {
  const auto catalogue = Catalogue({{"crm-pro", Product("crm-pro", 1200)}, {"seat-us", Product("seat-us", 700, "USD")}});
  EXPECT_THAT(DecideRecordOrder(NewClient(), Order({OrderLine("crm-pro", 1, 1999), OrderLine("crm-pr0", 1, 1999)}),
                                OrderIdFor("order-1"), catalogue, kNow),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("lines[1].product_code: product crm-pr0 is not in the catalogue (first offers' "
                                 "products): an order needs its unit cost for the margin")));
  EXPECT_THAT(DecideRecordOrder(NewClient(), Order({OrderLine("seat-us", 1, 1999)}), OrderIdFor("order-1"), catalogue,
                                kNow),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("lines[0].product_code: product seat-us has its unit cost in USD, the order is in "
                                 "EUR: a margin needs both in one currency")));
  // A refusal from the catalogue itself (the store) is passed on as it is.
  const CatalogueLookup broken = [](const std::string&) -> StatusOr<std::optional<store::v1::CatalogueEntry>> {
    return absl::DataLossError("stored catalogue product crm-pro is corrupt");
  };
  EXPECT_THAT(DecideRecordOrder(NewClient(), Order(), OrderIdFor("order-1"), broken, kNow),
              StatusIs(Code::kDataLoss, HasSubstr("corrupt")));
}

TEST(RecordOrder, OverflowIsInvalidArgumentNamingTheField) {
  ClientState c = NewClient();
  auto e = DecideRecordOrder(c, Order({OrderLine("big", 1000000, kMax / 1000)}), OrderIdFor("o"), Costs(), kNow);
  EXPECT_THAT(e, StatusIs(Code::kInvalidArgument, HasSubstr("lines[0].quantity: amount out of range")));
  EXPECT_THAT(FieldsOf(e.status()), ElementsAre("lines[0].quantity"));
  // Each line fits, their sum does not.
  e = DecideRecordOrder(c, Order({OrderLine("half", 1, kMax / 2 + 1), OrderLine("half", 1, kMax / 2 + 1)}),
                        OrderIdFor("o"), Costs(), kNow);
  EXPECT_THAT(e, StatusIs(Code::kInvalidArgument, HasSubstr("lines: amount out of range")));
  EXPECT_THAT(FieldsOf(e.status()), ElementsAre("lines"));
  // At the very limit it fits.
  e = DecideRecordOrder(c, Order({OrderLine("big", 1, kMax)}), OrderIdFor("o"), Costs(), kNow);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->order_recorded().total().units(), kMax);
  // A unit price in another currency than the order's (validation says so first; the decision too).
  e = DecideRecordOrder(c, Order({OrderLine("crm-pro", 1, 100, 0, "USD")}), OrderIdFor("o"), Costs(), kNow);
  EXPECT_THAT(e, StatusIs(Code::kInvalidArgument,
                          HasSubstr("lines[0].unit_price.currency: must be EUR (the order's currency), not USD")));
}

TEST(RecordOrder, ABackDatedOrderLandsAtItsOwnTime) {
  ClientState c = WithOrders(NewClient(), {kNow - Days(10)});
  c = WithOrders(c, {kNow - Days(400), kNow - Days(365), kNow - Days(365) + absl::Seconds(1)}, 1000);
  std::vector<absl::Time> at;
  for (const auto& a : c.revenue()) at.push_back(events::FromProto(a.at()));
  EXPECT_THAT(at, ElementsAre(kNow - Days(400), kNow - Days(365), kNow - Days(365) + absl::Seconds(1), kWon,
                              kNow - Days(10)))
      << "oldest first, whatever order they were recorded in";
  const Health h = ComputeHealth(c, kNow, HealthRules());
  EXPECT_EQ(h.orders, 4);
  EXPECT_EQ(h.orders_12m, 2) << "365 days ago is outside the last 12 months; one second later is inside";
  EXPECT_THAT(Sums(h.revenue_to_date), ElementsAre(std::pair("EUR", 500000 + 10000 + 3 * 1000)));
  EXPECT_THAT(Sums(h.revenue_12m), ElementsAre(std::pair("EUR", 500000 + 10000 + 1000)));
}

TEST(RecordRenewal, AddsARenewalAtItsOwnTime) {
  ClientState c = NewClient();
  const absl::Time renewed = kNow - Days(20);
  auto r = Renewal(120000, "EUR", renewed);
  r.set_note("  two more years  ");
  auto e = DecideRecordRenewal(c, r, RenewalIdFor("renewal-1"), kNow);
  ASSERT_THAT(e, IsOk());
  const auto& n = e->renewal_recorded();
  EXPECT_EQ(n.renewal_id(), RenewalIdFor("renewal-1"));
  EXPECT_EQ(events::FromProto(n.renewed_at()), renewed);
  EXPECT_EQ(events::FromProto(n.period_start()), renewed);
  EXPECT_EQ(events::FromProto(n.period_end()), renewed + Days(365));
  EXPECT_EQ(n.value().units(), 120000);
  EXPECT_EQ(n.note(), "two more years");
  c = Apply(c, *e);
  ASSERT_EQ(c.revenue_size(), 2);
  EXPECT_TRUE(c.revenue(1).renewal());
  EXPECT_EQ(events::FromProto(c.revenue(1).at()), renewed);
  EXPECT_THAT(DecideRecordRenewal(c, r, RenewalIdFor("renewal-1"), kNow),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is recorded already")));
}

// ---------------------------------------------------------------------------------------------
// Health

TEST(Health, ANewClient) {
  const Health h = ComputeHealth(NewClient(), kNow, HealthRules());
  EXPECT_EQ(h.last_contact, std::nullopt);
  EXPECT_EQ(h.days_since_contact, -1);
  EXPECT_EQ(h.open_tickets, 0);
  EXPECT_EQ(h.sla_breaches_90d, 0);
  EXPECT_THAT(Sums(h.revenue_to_date), ElementsAre(std::pair("EUR", 500000))) << "the first deal";
  EXPECT_THAT(Sums(h.revenue_12m), ElementsAre(std::pair("EUR", 500000)));
  EXPECT_EQ(h.orders, 0) << "the first deal is not a (repeat) order";
  EXPECT_EQ(h.orders_12m, 0);
  EXPECT_EQ(h.renewals_12m, 0);
  EXPECT_FALSE(h.regular);
  EXPECT_FALSE(h.needs_attention);
  EXPECT_THAT(h.attention_reasons, IsEmpty());
  // Revenue older than 12 months counts to date only.
  const Health later = ComputeHealth(NewClient(), kWon + Days(365), HealthRules());
  EXPECT_THAT(Sums(later.revenue_to_date), ElementsAre(std::pair("EUR", 500000)));
  EXPECT_THAT(later.revenue_12m, IsEmpty());
}

TEST(Health, DaysSinceContactAreWholeDays) {
  ClientState c = WithContact(NewClient(), kNow - Days(41) - absl::Hours(23));
  const Health h = ComputeHealth(c, kNow, HealthRules());
  EXPECT_EQ(h.days_since_contact, 41);
  EXPECT_EQ(h.last_contact, kNow - Days(41) - absl::Hours(23));
  EXPECT_EQ(ComputeHealth(c, kNow - Days(41) - absl::Hours(22), HealthRules()).days_since_contact, 0);
}

TEST(Health, RegularByOrdersInTheWindow) {
  HealthRules rules;  // 2 orders or 1 renewal within 365 days
  ClientState c = WithOrders(NewClient(), {kNow - Days(100)});
  EXPECT_FALSE(ComputeHealth(c, kNow, rules).regular) << "one order";
  c = WithOrders(c, {kNow - Days(500)});
  EXPECT_FALSE(ComputeHealth(c, kNow, rules).regular) << "the second is outside the window";
  c = WithOrders(c, {kNow - Days(20)});
  const Health h = ComputeHealth(c, kNow, rules);
  EXPECT_TRUE(h.regular);
  EXPECT_EQ(h.orders, 3);
  EXPECT_EQ(h.orders_12m, 2);
  // As time passes the window moves: 100 days ago becomes 366 days ago.
  EXPECT_FALSE(ComputeHealth(c, kNow + Days(266), rules).regular);
  rules.regular_min_orders = 3;
  EXPECT_FALSE(ComputeHealth(c, kNow, rules).regular);
  rules.regular_window = Days(600);
  EXPECT_TRUE(ComputeHealth(c, kNow, rules).regular);
}

TEST(Health, RegularByARenewal) {
  ClientState c = WithRenewal(NewClient(), kNow - Days(30));
  const Health h = ComputeHealth(c, kNow, HealthRules());
  EXPECT_TRUE(h.regular);
  EXPECT_EQ(h.renewals_12m, 1);
  EXPECT_EQ(h.orders, 0);
  EXPECT_THAT(Sums(h.revenue_12m), ElementsAre(std::pair("EUR", 500000 + 120000)));
  EXPECT_FALSE(ComputeHealth(c, kNow + Days(336), HealthRules()).regular) << "the renewal left the window";
}

TEST(Health, ARegularClientWithoutContactNeedsAttention) {
  ClientState c = WithRenewal(NewClient(), kNow - Days(30));
  c = WithContact(c, kNow - Days(30));
  Health h = ComputeHealth(c, kNow, HealthRules());
  EXPECT_FALSE(h.needs_attention) << "exactly 30 days is not more than 30 days";
  h = ComputeHealth(c, kNow + Days(11), HealthRules());
  EXPECT_TRUE(h.needs_attention);
  EXPECT_THAT(h.attention_reasons, ElementsAre("no contact for 41 days"));
  // A client that is not regular is not chased for contact.
  h = ComputeHealth(WithContact(NewClient(), kNow - Days(90)), kNow, HealthRules());
  EXPECT_FALSE(h.regular);
  EXPECT_FALSE(h.needs_attention);
  // Never contacted: counted from becoming a client.
  h = ComputeHealth(WithRenewal(NewClient(), kNow - Days(30)), kNow, HealthRules());
  EXPECT_THAT(h.attention_reasons, ElementsAre("no contact since becoming a client 200 days ago"));
}

TEST(Health, AnUnansweredBreachedTicketNeedsAttention) {
  ClientState c = Breached(WithTicket(), events::v1::SLA_KIND_FIRST_RESPONSE, kNow + absl::Hours(4));
  Health h = ComputeHealth(c, kNow + absl::Hours(5), HealthRules());
  EXPECT_EQ(h.open_tickets, 1);
  EXPECT_EQ(h.sla_breaches_90d, 1);
  EXPECT_TRUE(h.needs_attention);
  EXPECT_THAT(h.attention_reasons, ElementsAre("1 ticket past an SLA target and still not answered"));
  // Answered (late): the first-response target is no longer waiting; the breach stays counted.
  c = Responded(c, kNow + absl::Hours(6));
  h = ComputeHealth(c, kNow + absl::Hours(7), HealthRules());
  EXPECT_FALSE(h.needs_attention);
  EXPECT_EQ(h.sla_breaches_90d, 1);
  // The resolution target breached: attention until resolved.
  c = Breached(c, events::v1::SLA_KIND_RESOLUTION, kNow + absl::Hours(24));
  EXPECT_THAT(ComputeHealth(c, kNow + absl::Hours(25), HealthRules()).attention_reasons,
              ElementsAre("1 ticket past an SLA target and still not answered"));
  c = Resolved(c, kNow + absl::Hours(26));
  h = ComputeHealth(c, kNow + absl::Hours(27), HealthRules());
  EXPECT_FALSE(h.needs_attention);
  EXPECT_EQ(h.open_tickets, 0);
  EXPECT_EQ(h.sla_breaches_90d, 2);
  // Breaches count for 90 days after their due time.
  EXPECT_EQ(ComputeHealth(c, kNow + absl::Hours(4) + Days(90) - absl::Seconds(1), HealthRules()).sla_breaches_90d, 2);
  EXPECT_EQ(ComputeHealth(c, kNow + absl::Hours(4) + Days(90), HealthRules()).sla_breaches_90d, 1);
  EXPECT_EQ(ComputeHealth(c, kNow + absl::Hours(24) + Days(90), HealthRules()).sla_breaches_90d, 0);
}

TEST(Health, ATicketOpenTooLongNeedsAttention) {
  // LOW: 24h / 168h = 7 days; answered on time, so only its age counts.
  ClientState c = Responded(WithTicket(events::v1::TICKET_PRIORITY_LOW, kNow), kNow + absl::Hours(1));
  EXPECT_FALSE(ComputeHealth(c, kNow + Days(7), HealthRules()).needs_attention) << "exactly 7 days";
  Health h = ComputeHealth(c, kNow + Days(7) + absl::Seconds(1), HealthRules());
  EXPECT_TRUE(h.needs_attention);
  EXPECT_THAT(h.attention_reasons, ElementsAre("1 ticket open for more than 7 days"));
  c = Resolved(c, kNow + Days(8));
  EXPECT_FALSE(ComputeHealth(c, kNow + Days(9), HealthRules()).needs_attention);
}

TEST(Health, AStoppedOrderRhythmNeedsAttention) {
  // Every 30 days; the last 60 days ago: exactly 2 x the average is not more. (Contacted today, so
  // that the regular client's contact is not a reason.)
  ClientState c = WithContact(WithOrders(NewClient(), {kNow - Days(120), kNow - Days(90), kNow - Days(60)}), kNow);
  Health h = ComputeHealth(c, kNow, HealthRules());
  EXPECT_FALSE(h.needs_attention) << ::testing::PrintToString(h.attention_reasons);
  h = ComputeHealth(c, kNow + Days(10), HealthRules());
  EXPECT_TRUE(h.needs_attention);
  EXPECT_THAT(h.attention_reasons, ElementsAre("no order for 70 days (usually one every 30 days)"));
  HealthRules patient;
  patient.rhythm_factor = 3.0;
  EXPECT_FALSE(ComputeHealth(c, kNow + Days(10), patient).needs_attention);
  // Two orders are no rhythm yet; three at the same instant (a bulk import) neither.
  c = WithContact(WithOrders(NewClient(), {kNow - Days(300), kNow - Days(290)}), kNow);
  EXPECT_THAT(ComputeHealth(c, kNow, HealthRules()).attention_reasons, IsEmpty());
  const absl::Time once = kNow - Days(300);
  c = WithContact(WithOrders(NewClient(), {once, once, once}), kNow);
  EXPECT_THAT(ComputeHealth(c, kNow, HealthRules()).attention_reasons, IsEmpty());
}

TEST(Health, EveryReasonAtOnce) {
  ClientState c = WithOrders(NewClient(), {kNow - Days(120), kNow - Days(90), kNow - Days(80)});  // regular
  c = WithContact(c, kNow - Days(45));
  c = WithTicket(events::v1::TICKET_PRIORITY_NORMAL, kNow - Days(8), c);
  c = Breached(c, events::v1::SLA_KIND_FIRST_RESPONSE, kNow);
  const Health h = ComputeHealth(c, kNow, HealthRules());
  EXPECT_TRUE(h.regular);
  EXPECT_TRUE(h.needs_attention);
  EXPECT_THAT(h.attention_reasons,
              ElementsAre("no contact for 45 days", "1 ticket past an SLA target and still not answered",
                          "1 ticket open for more than 7 days", "no order for 80 days (usually one every 20 days)"));
}

TEST(Health, RevenuePerCurrencySortedByCode) {
  ClientState c = WithOrders(NewClient(), {kNow - Days(10)}, 2500, "USD");
  c = WithRenewal(c, kNow - Days(400), 90000, "JPY");
  c = WithRenewal(c, kNow - Days(5), 10000, "JPY");
  c = WithOrders(c, {kNow - Days(2)}, 700, "EUR");
  c = WithOrders(c, {kNow - Days(1)}, 1300, "CHF");
  const Health h = ComputeHealth(c, kNow, HealthRules());
  EXPECT_THAT(Sums(h.revenue_to_date), ElementsAre(std::pair("CHF", 1300), std::pair("EUR", 500700),
                                                   std::pair("JPY", 100000), std::pair("USD", 2500)));
  EXPECT_THAT(Sums(h.revenue_12m), ElementsAre(std::pair("CHF", 1300), std::pair("EUR", 500700),
                                               std::pair("JPY", 10000), std::pair("USD", 2500)));
  EXPECT_EQ(h.orders, 3);
  EXPECT_EQ(h.renewals_12m, 1);
}

TEST(Health, AChurnedClientIsNeitherRegularNorInNeedOfAttention) {
  ClientState c = WithOrders(NewClient(), {kNow - Days(200), kNow - Days(150), kNow - Days(100)});
  c = WithTicket(events::v1::TICKET_PRIORITY_HIGH, kNow - Days(20), c);
  c = Breached(c, events::v1::SLA_KIND_FIRST_RESPONSE, kNow);
  ASSERT_TRUE(ComputeHealth(c, kNow, HealthRules()).needs_attention);
  c = Churned(c);
  const Health h = ComputeHealth(c, kNow, HealthRules());
  EXPECT_FALSE(h.regular);
  EXPECT_FALSE(h.needs_attention);
  EXPECT_THAT(h.attention_reasons, IsEmpty());
  EXPECT_EQ(h.open_tickets, 1) << "the history is still shown";
  EXPECT_EQ(h.orders, 3);
  EXPECT_THAT(Sums(h.revenue_to_date), ElementsAre(std::pair("EUR", 530000)));
}

// ---------------------------------------------------------------------------------------------
// Evolution

TEST(EvolveClient, RefusesEventsThatCannotFollow) {
  std::optional<ClientState> none;
  ClientEvent interaction = Must(DecideLogInteraction(NewClient(), Interaction(), kNow));
  EXPECT_THAT(EvolveClient(none, ClientEnvelope(interaction, 1)),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr(StrCat("client ", ClientId(), ": client.interaction_logged before the client was "
                                        "opened"))));
  EXPECT_FALSE(none.has_value());

  const ClientState open = WithTicket();
  ClientEvent respond = Must(DecideRespond(open, TicketCommand(), kNow));
  respond.mutable_ticket_responded()->set_ticket_id("t-9");
  std::optional<ClientState> c = open;
  EXPECT_THAT(EvolveClient(c, ClientEnvelope(respond, 3)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("client.ticket_responded for ticket t-9, which was "
                                                            "never opened")));
  const ClientEvent resolve = Must(DecideResolve(open, TicketCommand(), kNow));
  c = Apply(open, resolve);
  EXPECT_THAT(EvolveClient(c, ClientEnvelope(resolve, 4)),
              StatusIs(Code::kFailedPrecondition, HasSubstr(StrCat("client.ticket_resolved on ticket ", TicketId(),
                                                                   " while RESOLVED (resolved twice)"))));
  c = open;
  EXPECT_THAT(EvolveClient(c, ClientEnvelope(Must(DecideReopen(Apply(open, resolve), TicketCommand(), DefaultSla(),
                                                               kNow)),
                                             3)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("while OPEN (only a resolved ticket is reopened)")));
  const ClientEvent ticket = Must(DecideOpenTicket(NewClient(), TicketRequest(), TicketId(), DefaultSla(), kNow));
  EXPECT_THAT(EvolveClient(c, ClientEnvelope(ticket, 3)),
              StatusIs(Code::kFailedPrecondition, HasSubstr(StrCat("ticket ", TicketId(), " opened twice"))));

  std::optional<ClientState> churned = Churned(NewClient());
  EXPECT_THAT(EvolveClient(churned, ClientEnvelope(ticket, 3)),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("client.ticket_opened while CHURNED (a churned client takes no new ticket)")));
  EXPECT_THAT(EvolveClient(churned, ClientEnvelope(Must(DecideRecordOrder(NewClient(), Order(), "o-1", Costs(), kNow)), 3)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("while CHURNED (a churned client takes no new order)")));
  EXPECT_THAT(EvolveClient(churned, ClientEnvelope(Must(DecideChurn(NewClient(), Churn())), 3)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("client.churned while CHURNED (churned twice)")));
  std::optional<ClientState> active = NewClient();
  ClientEvent reactivated;
  reactivated.mutable_reactivated();
  EXPECT_THAT(EvolveClient(active, ClientEnvelope(reactivated, 2)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("client.reactivated while ACTIVE")));
  ClientEvent order = Must(DecideRecordOrder(NewClient(), Order(), "o-1", Costs(), kNow));
  active = Apply(*active, order);
  EXPECT_THAT(EvolveClient(active, ClientEnvelope(order, 3)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("order o-1 recorded twice")));
  EXPECT_EQ(active->version(), 2) << "a refused event changes nothing";
}

TEST(EvolveClient, RefusesForeignAndEmptyEvents) {
  std::optional<ClientState> c = NewClient();
  EXPECT_THAT(EvolveClient(c, ClientEnvelope(ClientEvent(), 2)),
              StatusIs(Code::kInvalidArgument, HasSubstr("payload.client: no event set")));
  EXPECT_THAT(EvolveClient(c, Accepted()),
              StatusIs(Code::kInvalidArgument, HasSubstr("payload: not a client event (aggregate_type \"offer\")")));
  EventEnvelope call = ClientEnvelope(ClientEvent(), 2);
  call.set_aggregate_type(kCallAggregate);
  *call.mutable_call() = UnmatchedCall(PbxCall());
  EXPECT_THAT(EvolveClient(c, call), StatusIs(Code::kInvalidArgument, HasSubstr("not a client event")));
  EXPECT_EQ(c->version(), 1);
}

// ---------------------------------------------------------------------------------------------
// Validation

TEST(ValidateRequests, ValidRequestsPass) {
  EXPECT_THAT(ValidateLogInteraction(Interaction(kNow - Days(3)), kNow), IsOk());
  EXPECT_THAT(ValidateOpenTicket(TicketRequest(), kNow), IsOk());
  for (const char* command : {"RespondToTicket", "ResolveTicket", "ReopenTicket"}) {
    EXPECT_THAT(ValidateTicketCommand(TicketCommand(), command, kNow), IsOk()) << command;
  }
  auto order = Order({OrderLine("crm-pro", kMaxQuantity, 0, 10000)});
  order.mutable_lines(0)->set_description(std::string(499, 'x') + "€");  // 500 characters
  order.set_idempotency_key(std::string(128, '~'));
  order.set_client_id(std::string(64, 'c'));
  order.set_note("line one\nline two\ttabbed");
  EXPECT_THAT(ValidateRecordOrder(order, kNow), IsOk());
  EXPECT_THAT(ValidateRecordRenewal(Renewal(), kNow), IsOk());
  EXPECT_THAT(ValidateChurn(Churn(), kNow), IsOk());
  EXPECT_THAT(ValidateReactivate(Reactivate(), kNow), IsOk());
}

TEST(ValidateRequests, EveryViolationAtOnce) {
  EXPECT_THAT(FieldsOf(ValidateLogInteraction(api::v1::LogInteractionRequest(), kNow)),
              ElementsAre("idempotency_key", "client_id", "kind", "outcome", "manager_id"));
  EXPECT_THAT(FieldsOf(ValidateOpenTicket(api::v1::OpenTicketRequest(), kNow)),
              ElementsAre("idempotency_key", "client_id", "category", "priority", "subject"));
  api::v1::TicketCommandRequest empty;
  EXPECT_THAT(FieldsOf(ValidateTicketCommand(empty, "RespondToTicket", kNow)),
              ElementsAre("idempotency_key", "client_id", "ticket_id", "manager_id"));
  EXPECT_THAT(FieldsOf(ValidateTicketCommand(empty, "ResolveTicket", kNow)),
              ElementsAre("idempotency_key", "client_id", "ticket_id", "note"));
  EXPECT_THAT(FieldsOf(ValidateRecordOrder(api::v1::RecordOrderRequest(), kNow)),
              ElementsAre("idempotency_key", "client_id", "currency", "lines"));
  EXPECT_THAT(FieldsOf(ValidateRecordRenewal(api::v1::RecordRenewalRequest(), kNow)),
              ElementsAre("idempotency_key", "client_id", "period_start", "period_end", "value"));
  EXPECT_THAT(FieldsOf(ValidateChurn(api::v1::ChurnClientRequest(), kNow)),
              ElementsAre("idempotency_key", "client_id", "reason"));
  EXPECT_THAT(FieldsOf(ValidateReactivate(api::v1::ReactivateClientRequest(), kNow)),
              ElementsAre("idempotency_key", "client_id"));
}

TEST(ValidateRequests, OccurredAtAtMostFiveYearsBackAndFiveMinutesAhead) {
  auto at = [](absl::Time t) { return ValidateLogInteraction(Interaction(t), kNow); };
  EXPECT_THAT(at(kNow - kMaxBackdate), IsOk());
  EXPECT_THAT(at(kNow - kMaxBackdate - absl::Nanoseconds(1)),
              StatusIs(Code::kInvalidArgument, HasSubstr("occurred_at: at most 5 years in the past")));
  EXPECT_THAT(at(kNow + kMaxFutureSkew), IsOk());
  EXPECT_THAT(at(kNow + kMaxFutureSkew + absl::Nanoseconds(1)),
              StatusIs(Code::kInvalidArgument, HasSubstr("occurred_at: at most 5 minutes in the future")));
  auto r = Interaction(kNow);
  r.mutable_occurred_at()->set_nanos(1000000000);
  EXPECT_THAT(ValidateLogInteraction(r, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("occurred_at: not a valid time")));
  // Every command checks it.
  auto ticket = TicketRequest(events::v1::TICKET_PRIORITY_LOW, kNow + absl::Hours(1));
  EXPECT_THAT(FieldsOf(ValidateOpenTicket(ticket, kNow)), ElementsAre("occurred_at"));
  EXPECT_THAT(FieldsOf(ValidateTicketCommand(TicketCommand(kNow - Days(365 * 6)), "ResolveTicket", kNow)),
              ElementsAre("occurred_at"));
  EXPECT_THAT(FieldsOf(ValidateRecordOrder(Order({OrderLine("crm-pro", 1, 1)}, kNow + absl::Hours(1)), kNow)),
              ElementsAre("occurred_at"));
  EXPECT_THAT(FieldsOf(ValidateRecordRenewal(Renewal(1, "EUR", kNow + absl::Hours(1)), kNow)),
              ElementsAre("occurred_at"));
  auto churn = Churn();
  *churn.mutable_occurred_at() = events::ToProto(kNow + absl::Hours(1));
  EXPECT_THAT(FieldsOf(ValidateChurn(churn, kNow)), ElementsAre("occurred_at"));
  auto back = Reactivate();
  *back.mutable_occurred_at() = events::ToProto(kNow + absl::Hours(1));
  EXPECT_THAT(FieldsOf(ValidateReactivate(back, kNow)), ElementsAre("occurred_at"));
}

TEST(ValidateRequests, InteractionsAndTickets) {
  auto i = Interaction();
  i.set_idempotency_key("has space");
  i.set_client_id(std::string(65, 'c'));
  i.set_expected_version(-1);
  i.set_kind(static_cast<events::v1::InteractionKind>(42));
  i.set_duration_seconds(86401);
  i.set_note(std::string(2001, 'n'));
  EXPECT_THAT(FieldsOf(ValidateLogInteraction(i, kNow)),
              ElementsAre("idempotency_key", "client_id", "expected_version", "kind", "duration_seconds", "note"));
  EXPECT_THAT(ValidateLogInteraction(i, kNow), StatusIs(Code::kInvalidArgument, HasSubstr("kind: unknown value 42")));
  i = Interaction();
  i.set_duration_seconds(-1);
  EXPECT_THAT(ValidateLogInteraction(i, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("duration_seconds: from 0 to 86400")));
  i.set_duration_seconds(86400);
  EXPECT_THAT(ValidateLogInteraction(i, kNow), IsOk());

  auto t = TicketRequest();
  t.set_subject(std::string(201, 's'));
  EXPECT_THAT(ValidateOpenTicket(t, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("subject: at most 200 characters")));
  t.set_subject("two\nlines");
  EXPECT_THAT(ValidateOpenTicket(t, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("subject: must not contain control characters")));
  t.set_subject("bad \xC3\x28 utf-8");
  EXPECT_THAT(ValidateOpenTicket(t, kNow), StatusIs(Code::kInvalidArgument, HasSubstr("subject: not valid UTF-8")));
  t = TicketRequest(static_cast<TicketPriority>(9));
  EXPECT_THAT(ValidateOpenTicket(t, kNow), StatusIs(Code::kInvalidArgument, HasSubstr("priority: unknown value 9")));
  t = TicketRequest(events::v1::TICKET_PRIORITY_UNSPECIFIED);
  EXPECT_THAT(ValidateOpenTicket(t, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("priority: must be set (LOW, NORMAL, HIGH or URGENT)")));
}

TEST(ValidateRequests, TicketCommands) {
  auto r = TicketCommand(std::nullopt, "   ");
  r.clear_manager_id();
  EXPECT_THAT(FieldsOf(ValidateTicketCommand(r, "RespondToTicket", kNow)), ElementsAre("manager_id"));
  EXPECT_THAT(ValidateTicketCommand(r, "ResolveTicket", kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("note: must say how the ticket was resolved")));
  EXPECT_THAT(ValidateTicketCommand(r, "ReopenTicket", kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("note: must say why the ticket is reopened")));
  r = TicketCommand(std::nullopt, std::string(2001, 'n'));
  r.set_manager_id(std::string(65, 'm'));
  EXPECT_THAT(FieldsOf(ValidateTicketCommand(r, "ResolveTicket", kNow)), ElementsAre("manager_id", "note"));
  EXPECT_THAT(ValidateTicketCommand(TicketCommand(), "CloseTicket", kNow),
              StatusIs(Code::kInternal, HasSubstr("unknown command \"CloseTicket\"")));
}

TEST(ValidateRequests, OrderLines) {
  auto r = Order({OrderLine("CRM Pro", 0, -5, -1, "USD"), OrderLine("crm-pro", kMaxQuantity + 1, 1, 10001)});
  r.mutable_lines(1)->set_description(std::string(501, 'x'));
  r.mutable_lines()->Add()->set_product_code("no-price");
  r.mutable_lines(2)->set_quantity(1);
  EXPECT_THAT(FieldsOf(ValidateRecordOrder(r, kNow)),
              ElementsAre("lines[0].product_code", "lines[0].quantity", "lines[0].unit_price.currency",
                          "lines[0].unit_price.units", "lines[0].discount_bp", "lines[1].description",
                          "lines[1].quantity", "lines[1].discount_bp", "lines[2].unit_price"));
  EXPECT_THAT(ValidateRecordOrder(r, kNow),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("lines[0].unit_price.currency: must be EUR (the order's currency), not USD")));
  r = Order({}, std::nullopt, "eur");
  for (int i = 0; i <= 100; ++i) *r.add_lines() = OrderLine("crm-pro", 1, 1);
  r.set_note(std::string(2001, 'n'));
  EXPECT_THAT(FieldsOf(ValidateRecordOrder(r, kNow)), ElementsAre("currency", "lines", "note"));
  EXPECT_THAT(ValidateRecordOrder(r, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("lines: at most 100 lines, got 101")));
  EXPECT_THAT(ValidateRecordOrder(r, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("currency: unknown ISO 4217 currency \"eur\"")));
}

TEST(ValidateRequests, RenewalsAndChurn) {
  auto r = Renewal();
  *r.mutable_period_end() = r.period_start();
  EXPECT_THAT(ValidateRecordRenewal(r, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("period_end: must be after period_start")));
  *r.mutable_period_end() = events::ToProto(kNow + Days(3653) + absl::Seconds(1));
  EXPECT_THAT(ValidateRecordRenewal(r, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("period_end: at most 10 years after period_start")));
  *r.mutable_period_end() = events::ToProto(kNow + Days(3653));
  EXPECT_THAT(ValidateRecordRenewal(r, kNow), IsOk());
  *r.mutable_value() = Amount(-1, "EURO");
  r.mutable_period_start()->set_nanos(-3);
  EXPECT_THAT(FieldsOf(ValidateRecordRenewal(r, kNow)), ElementsAre("period_start", "value.currency", "value.units"));

  EXPECT_THAT(ValidateChurn(Churn(static_cast<events::v1::ChurnReason>(77)), kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason: unknown value 77")));
  EXPECT_THAT(ValidateChurn(Churn(events::v1::CHURN_REASON_OTHER, "  "), kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("note: must say why when the reason is OTHER")));
  EXPECT_THAT(ValidateChurn(Churn(events::v1::CHURN_REASON_OTHER, "reorganisation"), kNow), IsOk());
  auto back = Reactivate();
  back.set_note(std::string(2001, 'n'));
  EXPECT_THAT(FieldsOf(ValidateReactivate(back, kNow)), ElementsAre("note"));
}

// ---------------------------------------------------------------------------------------------
// Telephony intake

constexpr char kGoodCall[] = R"({"schema_version": 1, "call_id": "pbx-7781", "from": "+30 2310 555 123",
  "to": "2310 999000", "direction": "inbound", "started_at": "2026-11-26T09:15:00+02:00",
  "duration_seconds": 312, "answered": true, "extension": " 204 ", "trunk": "sip-1"})";

// kGoodCall with `field` replaced by `json_value` (raw JSON), or removed when it is empty.
std::string CallWith(const std::string& field, const std::string& json_value) {
  std::map<std::string, std::string> fields = {
      {"schema_version", "1"},        {"call_id", "\"pbx-7781\""},
      {"from", "\"+30 2310 555 123\""}, {"to", "\"2310 999000\""},
      {"direction", "\"inbound\""},   {"started_at", "\"2026-11-26T09:15:00+02:00\""},
      {"duration_seconds", "312"},    {"answered", "true"}};
  if (json_value.empty()) fields.erase(field);
  else fields[field] = json_value;
  std::string json = "{";
  for (const auto& [k, v] : fields) StrAppend(&json, json.size() > 1 ? "," : "", "\"", k, "\":", v);
  return json + "}";
}

TEST(ParseInboundCall, AGoodRecord) {
  auto call = ParseInboundCall(kGoodCall);
  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->call_id(), "pbx-7781");
  EXPECT_EQ(call->from(), "+30 2310 555 123") << "as the PBX wrote it";
  EXPECT_EQ(call->to(), "2310 999000");
  EXPECT_EQ(call->direction(), events::v1::CALL_DIRECTION_INBOUND);
  EXPECT_EQ(events::FromProto(call->started_at()),
            absl::FromCivil(absl::CivilSecond(2026, 11, 26, 7, 15, 0), absl::UTCTimeZone()));
  EXPECT_EQ(call->duration_seconds(), 312);
  EXPECT_TRUE(call->answered());
  EXPECT_EQ(call->extension(), "204");
  EXPECT_EQ(call->manager_id(), "") << "the roster's business, not the record's";
  EXPECT_EQ(call->matched_phone(), "");
  // lowerCamelCase names, any case of the direction, UTC with Z and fractions; a missed call.
  call = ParseInboundCall(R"({"schemaVersion":1,"callId":"c-1","from":"204","to":"0030 2310 555 123",
      "direction":"OutBound","startedAt":"2026-11-26T07:15:00.250Z","durationSeconds":0})");
  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->direction(), events::v1::CALL_DIRECTION_OUTBOUND);
  EXPECT_EQ(events::FromProto(call->started_at()),
            absl::FromCivil(absl::CivilSecond(2026, 11, 26, 7, 15, 0), absl::UTCTimeZone()) + absl::Milliseconds(250));
  EXPECT_FALSE(call->answered());
  EXPECT_EQ(call->duration_seconds(), 0);
  EXPECT_EQ(PhoneMatchKey(call->to()), "2310555123");
}

TEST(ParseInboundCall, EachBadFieldIsNamed) {
  const std::vector<std::tuple<std::string, std::string, std::string>> bad = {
      {"call_id", "", "call_id: required"},
      {"call_id", "\"pbx 7781\"", "call_id: only printable ASCII without spaces"},
      {"call_id", StrCat("\"", std::string(129, 'c'), "\""), "call_id: at most 128 characters"},
      {"from", "", "from: required: the calling number"},
      {"from", "\"   \"", "from: required: the calling number"},
      {"to", "", "to: required: the called number"},
      {"to", StrCat("\"", std::string(65, '1'), "\""), "to: at most 64 characters"},
      {"direction", "", "direction: required"},
      {"direction", "\"sideways\"", "direction: must be \"inbound\" or \"outbound\", not \"sideways\""},
      {"started_at", "", "started_at: required"},
      {"started_at", "\"2026-11-26 09:15\"", "started_at: not an RFC 3339 time"},
      {"started_at", "\"2026-11-26T09:15:00\"", "started_at: not an RFC 3339 time"},
      {"started_at", "\"infinite-future\"", "started_at: not an RFC 3339 time"},
      {"started_at", "\"1969-12-31T23:59:59Z\"", "started_at: out of range"},
      {"duration_seconds", "-1", "duration_seconds: from 0 to 86400"},
      {"duration_seconds", "86401", "duration_seconds: from 0 to 86400"},
      {"extension", "\"2\\u00010\"", "extension: must not contain control characters"},
      {"schema_version", "", "schema_version: required (this service reads version 1)"},
      {"schema_version", "2", "schema_version: unsupported version 2 (this service reads 1)"},
      {"duration_seconds", "\"long\"",
       "duration_seconds: wrong type: invalid value \"long\" for type TYPE_INT32"},
      {"duration_seconds", "1.5", "duration_seconds: wrong type"},
      {"call_id", "7781", "call_id: wrong type"},
      {"answered", "\"maybe\"", "answered: wrong type"},
      {"answered", "1", "answered: wrong type"},
  };
  for (const auto& [field, value, fragment] : bad) {
    const std::string json = CallWith(field, value);
    SCOPED_TRACE(json);
    auto call = ParseInboundCall(json);
    EXPECT_THAT(call, StatusIs(Code::kInvalidArgument, HasSubstr(fragment)));
    const std::string named = fragment.substr(0, fragment.find(':'));
    EXPECT_THAT(FieldsOf(call.status()), ElementsAre(named));
  }
  EXPECT_THAT(ParseInboundCall(CallWith("duration_seconds", "86400")), IsOk());
  // As protobuf reads JSON: a number may come as a string, a boolean as "true"/"false" (or "yes"/"no",
  // "1"/"0").
  EXPECT_EQ(ParseInboundCall(CallWith("duration_seconds", "\"30\"")).value_or(PbxCall()).duration_seconds(), 30);
  EXPECT_FALSE(ParseInboundCall(CallWith("answered", "\"no\"")).value_or(PbxCall()).answered());
  EXPECT_TRUE(ParseInboundCall(CallWith("answered", "\"true\"")).value_or(PbxCall()).answered());
}

TEST(ParseInboundCall, EveryBadFieldAtOnce) {
  auto call = ParseInboundCall(R"({"schema_version":1,"call_id":"","from":"","to":"x","direction":"up",
                                   "started_at":"now","duration_seconds":-5})");
  EXPECT_THAT(FieldsOf(call.status()), ElementsAre("call_id", "from", "direction", "started_at", "duration_seconds"));
}

TEST(ParseInboundCall, WholeRecordProblems) {
  EXPECT_THAT(ParseInboundCall(""), StatusIs(Code::kInvalidArgument, HasSubstr("record: empty")));
  EXPECT_THAT(ParseInboundCall("  \n "), StatusIs(Code::kInvalidArgument, HasSubstr("record: empty")));
  EXPECT_THAT(ParseInboundCall("call pbx-7781 from +30..."),
              StatusIs(Code::kInvalidArgument, HasSubstr("record: not a valid JSON call record")));
  EXPECT_THAT(ParseInboundCall("[1, 2]"),
              StatusIs(Code::kInvalidArgument, HasSubstr("record: not a valid JSON call record")));
  std::string big = CallWith("extension", StrCat("\"", std::string(kMaxInboundCallBytes, 'x'), "\""));
  EXPECT_THAT(ParseInboundCall(big),
              StatusIs(Code::kInvalidArgument, HasSubstr(StrCat("record: oversized: ", big.size(),
                                                                " bytes (at most 65536)"))));
}

TEST(ParseInboundCall, ReasonsNeverCopyRawBytes) {
  // Bad UTF-8 and control characters, in a field and around the JSON itself: the reason names the
  // problem and carries only printable ASCII.
  std::string nul = "{\"schema_version\":1,\"call_id\":\"a";
  nul.push_back('\0');
  nul += "b\"}";
  const std::vector<std::string> records = {
      CallWith("from", "\"+30 \xC3\x28 2310\""),  CallWith("to", "\"\xFF\xFE\""),
      CallWith("call_id", "\"id-\\u0007\""),      CallWith("direction", "\"in\xE2\x80\x8B" "bound\""),
      "{\"schema_version\":1,\x01\xFF}",          nul,
      CallWith("started_at", "\"2026-11-26T09:15:00\\u001b[31m+02:00\""),
  };
  for (const std::string& json : records) {
    SCOPED_TRACE(::testing::PrintToString(json));
    auto call = ParseInboundCall(json);
    ASSERT_EQ(call.status().code(), Code::kInvalidArgument) << call.status();
    const std::string reason(call.status().message());
    EXPECT_TRUE(std::all_of(reason.begin(), reason.end(), [](char c) { return c >= 0x20 && c <= 0x7e; }))
        << ::testing::PrintToString(reason);
  }
  EXPECT_THAT(ParseInboundCall(CallWith("from", "\"+30 \xC3\x28 2310\"")),
              StatusIs(Code::kInvalidArgument, ::testing::AnyOf(HasSubstr("from: not valid UTF-8"),
                                                                HasSubstr("record: not a valid JSON call record"))));
  EXPECT_THAT(ParseInboundCall(CallWith("call_id", "\"id-\\u0007\"")),
              StatusIs(Code::kInvalidArgument, HasSubstr("call_id: only printable ASCII without spaces")));
  EXPECT_THAT(ParseInboundCall(CallWith("direction", "\"in\\u0000bound\"")),
              StatusIs(Code::kInvalidArgument, HasSubstr("direction: must not contain control characters")));
}

TEST(PbxCalls, AMatchedCallIsAnInteractionAndAnUnmatchedOneIsKept) {
  auto call = ParseInboundCall(kGoodCall);
  ASSERT_THAT(call, IsOk());
  call->set_manager_id("m-7");
  call->set_matched_phone(PhoneMatchKey(call->from()));
  ClientEvent e = CallInteraction(*call);
  const auto& i = e.interaction_logged();
  EXPECT_EQ(i.kind(), events::v1::INTERACTION_KIND_CALL);
  EXPECT_EQ(i.outcome(), events::v1::INTERACTION_OUTCOME_REACHED);
  EXPECT_EQ(i.manager_id(), "m-7");
  EXPECT_EQ(i.duration_seconds(), 312);
  EXPECT_EQ(events::FromProto(i.occurred_at()), events::FromProto(call->started_at()));
  EXPECT_EQ(i.call().call_id(), "pbx-7781");
  EXPECT_EQ(i.call().matched_phone(), "2310555123");
  call->set_answered(false);
  EXPECT_EQ(CallInteraction(*call).interaction_logged().outcome(), events::v1::INTERACTION_OUTCOME_NO_ANSWER);
  // The interaction applies to a churned client too, at the call's time.
  ClientState c = Apply(Churned(NewClient()), CallInteraction(*call));
  EXPECT_EQ(c.interactions(), 1);
  EXPECT_EQ(events::FromProto(c.last_contact_at()), events::FromProto(call->started_at()));

  CallEvent unmatched = UnmatchedCall(*call);
  EXPECT_EQ(unmatched.unmatched().call().call_id(), "pbx-7781");
  EXPECT_EQ(unmatched.unmatched().call().from(), "+30 2310 555 123");
}

}  // namespace
}  // namespace sales::client_support
