// The offer, product and lead-view aggregates of first offers as pure code: given these events,
// when this command, then this event or this error (its code and what its message says).
#include <limits>
#include <map>
#include <set>

#include "common/base/ids.h"
#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/first_offers/domain/offer.h"

namespace sales::first_offers {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using testing::StatusIs;
using events::v1::LeadEvent;
using events::v1::OfferTerms;
using Code = absl::StatusCode;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
constexpr char kOfferId[] = "8d0c6f7e-3b7a-5c1e-9f2a-0a1b2c3d4e5f";
constexpr char kLeadId[] = "123e4567-e89b-12d3-a456-426614174000";

// ---- matchers ----

// INVALID_ARGUMENT naming exactly these fields, in this order.
std::vector<std::string> FieldsOf(const Status& s) {
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s;
  std::vector<std::string> fields;
  for (const auto& v : FieldViolations(s)) fields.push_back(v.field);
  return fields;
}

// ---- the catalogue ----

events::v1::Money Amount(int64_t units, const std::string& currency = "EUR") {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency(currency);
  return m;
}

ProductState Product(const std::string& code, const std::string& name, int64_t list_units,
                     const std::string& currency = "EUR", bool active = true) {
  ProductState p;
  p.set_code(code);
  p.set_version(1);
  p.set_name(name);
  *p.mutable_list_price() = Amount(list_units, currency);
  *p.mutable_unit_cost() = Amount(list_units / 2, currency);
  p.set_active(active);
  return p;
}

ProductLookup Catalogue(std::vector<ProductState> products = {Product("crm-pro", "CRM Pro licence", 1999),
                                                              Product("onboarding", "Onboarding day", 80000),
                                                              Product("legacy", "Legacy suite", 5000, "EUR", false),
                                                              Product("us-only", "US edition", 2500, "USD")}) {
  std::map<std::string, ProductState> by_code;
  for (auto& p : products) by_code[p.code()] = p;
  return [by_code](const std::string& code) -> StatusOr<std::optional<ProductState>> {
    auto it = by_code.find(code);
    if (it == by_code.end()) return std::nullopt;
    return it->second;
  };
}

// ---- requests ----

api::v1::OfferLineInput Line(const std::string& code, int64_t quantity, int32_t discount_bp = 0,
                             std::optional<int64_t> unit_units = std::nullopt, const std::string& currency = "EUR") {
  api::v1::OfferLineInput l;
  l.set_product_code(code);
  l.set_quantity(quantity);
  l.set_discount_bp(discount_bp);
  if (unit_units) *l.mutable_unit_price() = Amount(*unit_units, currency);
  return l;
}

api::v1::OfferTermsInput Terms(std::vector<api::v1::OfferLineInput> lines = {Line("crm-pro", 3, 1250)},
                               const std::string& currency = "EUR", absl::Duration valid_for = absl::Hours(24 * 30)) {
  api::v1::OfferTermsInput t;
  t.set_currency(currency);
  for (auto& l : lines) *t.add_lines() = l;
  *t.mutable_valid_until() = events::ToProto(kNow + valid_for);
  t.set_payment_terms(events::v1::PAYMENT_TERMS_NET_30);
  t.set_note("  Prices include the first year of support.  ");
  return t;
}

api::v1::DraftOfferRequest Draft(api::v1::OfferTermsInput terms = Terms()) {
  api::v1::DraftOfferRequest r;
  r.set_idempotency_key("draft-1");
  r.set_lead_id(kLeadId);
  *r.mutable_terms() = std::move(terms);
  return r;
}

api::v1::ReviseOfferRequest Revise(api::v1::OfferTermsInput terms = Terms({Line("crm-pro", 5, 1500)})) {
  api::v1::ReviseOfferRequest r;
  r.set_idempotency_key("revise-1");
  r.set_offer_id(kOfferId);
  *r.mutable_terms() = std::move(terms);
  r.set_reason("client asked for five seats");
  return r;
}

api::v1::AcceptOfferRequest Accept() {
  api::v1::AcceptOfferRequest r;
  r.set_idempotency_key("accept-1");
  r.set_offer_id(kOfferId);
  r.set_note("signed PO 4711");
  return r;
}

api::v1::RejectOfferRequest Reject(events::v1::RejectionReason reason = events::v1::REJECTION_REASON_PRICE,
                                   const std::string& note = "") {
  api::v1::RejectOfferRequest r;
  r.set_idempotency_key("reject-1");
  r.set_offer_id(kOfferId);
  r.set_reason(reason);
  r.set_note(note);
  return r;
}

api::v1::WithdrawOfferRequest Withdraw(const std::string& reason = "duplicate of another offer") {
  api::v1::WithdrawOfferRequest r;
  r.set_idempotency_key("withdraw-1");
  r.set_offer_id(kOfferId);
  r.set_reason(reason);
  return r;
}

// ---- events and the state they build ----

EventEnvelope Envelope(std::string_view type, const std::string& id, int64_t version, absl::Time at) {
  testing::FakeClock clock(at);
  return events::NewEnvelope(type, id, version, "", kSchemaVersion, {}, clock);
}

EventEnvelope OfferEnvelope(const OfferEvent& payload, int64_t version, absl::Time at = kNow) {
  EventEnvelope e = Envelope(kOfferAggregate, kOfferId, version, at);
  e.set_event_type(EventTypeOf(payload));
  *e.mutable_offer() = payload;
  return e;
}

EventEnvelope LeadEnvelope(const LeadEvent& payload, int64_t version, absl::Time at = kNow) {
  EventEnvelope e = Envelope(kLeadAggregate, kLeadId, version, at);
  *e.mutable_lead() = payload;
  return e;
}

// Given: the offer's events so far, one minute apart from kNow. Returns the state they build.
OfferState Given(const std::vector<OfferEvent>& history) {
  std::optional<OfferState> state;
  for (size_t i = 0; i < history.size(); ++i) {
    const auto n = static_cast<int64_t>(i);
    Status s = EvolveOffer(state, OfferEnvelope(history[i], n + 1, kNow + absl::Minutes(n)));
    EXPECT_TRUE(s.ok()) << s;
  }
  EXPECT_TRUE(state.has_value());
  return state.value_or(OfferState());
}

LeadView QualifiedLead() {
  LeadView v;
  v.set_lead_id(kLeadId);
  v.set_version(3);
  v.set_status(LeadView::STATUS_QUALIFIED);
  v.mutable_contact()->set_name("Μαρία Κωνσταντίνου");
  v.mutable_contact()->set_company("Ολυμπιακή Τεχνική");
  v.mutable_contact()->set_email("maria@example.gr");
  v.set_region("GR-ATT");
  v.set_owner_manager_id("m-1");
  v.set_source(events::v1::LEAD_SOURCE_REFERRAL);
  v.add_product_interest("crm-pro");
  *v.mutable_qualified_at() = events::ToProto(kNow - absl::Hours(2));
  return v;
}

OfferEvent Drafted(api::v1::OfferTermsInput terms = Terms()) {
  auto e = DecideDraft(QualifiedLead(), Draft(std::move(terms)), Catalogue());
  EXPECT_TRUE(e.ok()) << e.status();
  return e.value_or(OfferEvent());
}

OfferEvent Revised(const std::vector<OfferEvent>& history) {
  auto e = DecideRevise(Given(history), Revise(), Catalogue());
  EXPECT_TRUE(e.ok()) << e.status();
  return e.value_or(OfferEvent());
}

OfferEvent Sent(const std::vector<OfferEvent>& history) {
  auto e = DecideSend(Given(history), kNow);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.value_or(OfferEvent());
}

OfferEvent Accepted(const std::vector<OfferEvent>& history) {
  auto e = DecideAccept(Given(history), Accept(), false, kNow);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.value_or(OfferEvent());
}

OfferEvent Rejected(const std::vector<OfferEvent>& history) {
  auto e = DecideReject(Given(history), Reject());
  EXPECT_TRUE(e.ok()) << e.status();
  return e.value_or(OfferEvent());
}

OfferEvent Withdrawn(const std::vector<OfferEvent>& history) {
  auto e = DecideWithdraw(Given(history), Withdraw());
  EXPECT_TRUE(e.ok()) << e.status();
  return e.value_or(OfferEvent());
}

OfferEvent Expired(const std::vector<OfferEvent>& history) {
  auto e = DecideExpire(Given(history), kNow + absl::Hours(24 * 31));
  EXPECT_TRUE(e.has_value());
  return e.value_or(OfferEvent());
}

// One history per state.
std::map<OfferState::Status, std::vector<OfferEvent>> HistoryPerState() {
  const std::vector<OfferEvent> draft = {Drafted()};
  std::vector<OfferEvent> sent = draft;
  sent.push_back(Sent(draft));
  auto plus = [](std::vector<OfferEvent> h, OfferEvent e) {
    h.push_back(std::move(e));
    return h;
  };
  return {{OfferState::STATUS_DRAFT, draft},
          {OfferState::STATUS_SENT, sent},
          {OfferState::STATUS_ACCEPTED, plus(sent, Accepted(sent))},
          {OfferState::STATUS_REJECTED, plus(sent, Rejected(sent))},
          {OfferState::STATUS_WITHDRAWN, plus(draft, Withdrawn(draft))},
          {OfferState::STATUS_EXPIRED, plus(sent, Expired(sent))}};
}

// ---- pricing ----

TEST(PriceTerms, LineAmountsFollowTheFormulas) {
  // 3 x 19.99 EUR at 12.5% off: gross 59.97, net round(5997 x 0.875 = 5247.375) = 52.47, discount 7.50.
  auto terms = PriceTerms(Terms(), 1, Catalogue());
  ASSERT_TRUE(terms.ok()) << terms.status();
  ASSERT_EQ(terms->lines_size(), 1);
  const auto& l = terms->lines(0);
  EXPECT_EQ(l.product_code(), "crm-pro");
  EXPECT_EQ(l.description(), "CRM Pro licence") << "the catalogue name by default";
  EXPECT_EQ(l.quantity(), 3);
  EXPECT_EQ(l.list_price().units(), 1999);
  EXPECT_EQ(l.unit_price().units(), 1999) << "the list price when none is given";
  EXPECT_EQ(l.discount_bp(), 1250);
  EXPECT_EQ(l.gross().units(), 5997);
  EXPECT_EQ(l.net().units(), 5247);
  EXPECT_EQ(l.discount().units(), 750);
  EXPECT_EQ(l.net().currency(), "EUR");
  EXPECT_EQ(terms->revision(), 1);
  EXPECT_EQ(terms->currency(), "EUR");
  EXPECT_EQ(terms->total().units(), 5247);
  EXPECT_EQ(terms->note(), "Prices include the first year of support.");
  EXPECT_EQ(terms->payment_terms(), events::v1::PAYMENT_TERMS_NET_30);
  EXPECT_EQ(events::FromProto(terms->valid_until()), kNow + absl::Hours(24 * 30));
}

TEST(PriceTerms, TotalsAreSumsOfTheRoundedLines) {
  auto in = Terms({Line("crm-pro", 3, 1250), Line("onboarding", 2, 0, 75000), Line("crm-pro", 1, 5000, 1)});
  in.mutable_lines(1)->set_description("  Two onboarding days, on site  ");
  auto terms = PriceTerms(in, 4, Catalogue());
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ(terms->revision(), 4);
  // Line 2: 2 x 800.00 list, sold at 750.00: gross 1600.00, net 1500.00, discount 100.00.
  EXPECT_EQ(terms->lines(1).gross().units(), 160000);
  EXPECT_EQ(terms->lines(1).net().units(), 150000);
  EXPECT_EQ(terms->lines(1).discount().units(), 10000);
  EXPECT_EQ(terms->lines(1).description(), "Two onboarding days, on site");
  // Line 3: 1 x 0.01 at 50% = 0.005, half away from zero -> 0.01; gross 19.99, discount 19.98.
  EXPECT_EQ(terms->lines(2).net().units(), 1);
  EXPECT_EQ(terms->lines(2).discount().units(), 1998);
  EXPECT_EQ(terms->gross().units(), 5997 + 160000 + 1999);
  EXPECT_EQ(terms->discount().units(), 750 + 10000 + 1998);
  EXPECT_EQ(terms->total().units(), 5247 + 150000 + 1);
  EXPECT_EQ(terms->total().units(), terms->gross().units() - terms->discount().units());
}

TEST(PriceTerms, RoundingIsHalfAwayFromZeroPerLineNotOnTheTotal) {
  // Two lines of 0.01 at 50% each come to 0.005 -> 0.01: the total is 0.02 (rounded per line),
  // not round(0.01) = 0.01 as rounding the sum would give.
  auto terms = PriceTerms(Terms({Line("crm-pro", 1, 5000, 1), Line("crm-pro", 1, 5000, 1)}), 1, Catalogue());
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ(terms->total().units(), 2);
  // 0.0049 rounds down: 1 x 0.01 at 51% off = 0.0049 -> 0.00.
  terms = PriceTerms(Terms({Line("crm-pro", 1, 5100, 1)}), 1, Catalogue());
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ(terms->total().units(), 0);
  // 100% off is free; the discount is the whole gross.
  terms = PriceTerms(Terms({Line("onboarding", 1, 10000)}), 1, Catalogue());
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ(terms->total().units(), 0);
  EXPECT_EQ(terms->discount().units(), 80000);
}

TEST(PriceTerms, SellingAboveTheListPriceGivesANegativeDiscount) {
  auto terms = PriceTerms(Terms({Line("crm-pro", 2, 0, 2500)}), 1, Catalogue());
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ(terms->lines(0).gross().units(), 3998);
  EXPECT_EQ(terms->lines(0).net().units(), 5000);
  EXPECT_EQ(terms->lines(0).discount().units(), -1002);
  EXPECT_EQ(terms->discount().units(), -1002);
}

TEST(PriceTerms, ZeroExponentCurrencies) {
  auto lookup = Catalogue({Product("seat", "Seat", 1250, "JPY")});
  auto terms = PriceTerms(Terms({Line("seat", 3, 333)}, "JPY"), 1, lookup);
  ASSERT_TRUE(terms.ok()) << terms.status();
  // 3750 JPY x 0.9667 = 3625.125 -> 3625 JPY.
  EXPECT_EQ(terms->total().units(), 3625);
  EXPECT_EQ(terms->total().currency(), "JPY");
}

TEST(PriceTerms, UnknownInactiveAndOtherCurrencyProductsAreFailedPreconditions) {
  EXPECT_THAT(PriceTerms(Terms({Line("crm-pro", 1), Line("nope", 1)}), 1, Catalogue()),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("terms.lines[1]: product \"nope\" is not in the catalogue")));
  EXPECT_THAT(PriceTerms(Terms({Line("legacy", 1)}), 1, Catalogue()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("product \"legacy\" is inactive")));
  EXPECT_THAT(PriceTerms(Terms({Line("us-only", 1)}), 1, Catalogue()),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("product \"us-only\" is listed in USD, not in the offer's currency EUR")));
}

TEST(PriceTerms, ACatalogueErrorIsPassedOn) {
  ProductLookup down = [](const std::string&) -> StatusOr<std::optional<ProductState>> {
    return absl::UnavailableError("store closed");
  };
  EXPECT_THAT(PriceTerms(Terms(), 1, down), StatusIs(Code::kUnavailable, HasSubstr("store closed")));
}

TEST(PriceTerms, OverflowIsInvalidArgumentNamingTheField) {
  // 1,000,000 x a unit price near INT64_MAX does not fit in 64 bits.
  auto lookup = Catalogue(
      {Product("crm-pro", "CRM Pro", 1999), Product("big", "Big", kMax - 7), Product("half", "Half", kMax / 2 + 1)});
  auto terms = PriceTerms(Terms({Line("big", 1000000)}), 1, lookup);
  EXPECT_THAT(terms, StatusIs(Code::kInvalidArgument, HasSubstr("terms.lines[0].quantity: amount out of range")));
  EXPECT_THAT(FieldsOf(terms.status()), ElementsAre("terms.lines[0].quantity"));
  // A given unit price overflows the same way (the list price alone fits).
  terms = PriceTerms(Terms({Line("crm-pro", 1000000, 0, kMax / 1000)}), 1, lookup);
  EXPECT_THAT(FieldsOf(terms.status()), ElementsAre("terms.lines[0].quantity"));
  // Each line fits, their sum does not.
  terms = PriceTerms(Terms({Line("half", 1), Line("half", 1)}), 1, lookup);
  EXPECT_THAT(terms, StatusIs(Code::kInvalidArgument, HasSubstr("terms.lines: amount out of range")));
  // One line at the very limit is fine.
  terms = PriceTerms(Terms({Line("big", 1)}), 1, lookup);
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ(terms->total().units(), kMax - 7);
}

// ---- draft ----

TEST(DraftOffer, OnlyAKnownQualifiedLeadGetsAnOffer) {
  EXPECT_THAT(DecideDraft(std::nullopt, Draft(), Catalogue()),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr(StrCat("lead ", kLeadId,
                                        " is not known to first offers yet: it has not been captured, or its events "
                                        "have not arrived"))));
  LeadView lead = QualifiedLead();
  lead.set_status(LeadView::STATUS_NEW);
  EXPECT_THAT(DecideDraft(lead, Draft(), Catalogue()),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr(StrCat("lead ", kLeadId, " is not qualified yet: qualify it first"))));
  lead.set_status(LeadView::STATUS_DISQUALIFIED);
  EXPECT_THAT(DecideDraft(lead, Draft(), Catalogue()),
              StatusIs(Code::kFailedPrecondition, HasSubstr(StrCat("lead ", kLeadId, " was disqualified"))));
}

TEST(DraftOffer, GivenAQualifiedLeadThenDraftedWithTheLeadFactsAndRevisionOne) {
  auto e = DecideDraft(QualifiedLead(), Draft(), Catalogue());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(EventTypeOf(*e), "offer.drafted");
  const auto& facts = e->drafted().lead();
  EXPECT_EQ(facts.lead_id(), kLeadId);
  EXPECT_EQ(facts.contact().company(), "Ολυμπιακή Τεχνική");
  EXPECT_EQ(facts.region(), "GR-ATT");
  EXPECT_EQ(facts.owner_manager_id(), "m-1");
  EXPECT_EQ(facts.source(), events::v1::LEAD_SOURCE_REFERRAL);
  EXPECT_THAT(facts.product_interest(), ElementsAre("crm-pro"));
  EXPECT_EQ(events::FromProto(facts.qualified_at()), kNow - absl::Hours(2));
  EXPECT_EQ(e->drafted().terms().revision(), 1);
  EXPECT_EQ(e->drafted().terms().total().units(), 5247);
  // A pricing refusal refuses the draft.
  EXPECT_THAT(DecideDraft(QualifiedLead(), Draft(Terms({Line("legacy", 1)})), Catalogue()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("inactive")));
}

TEST(DraftOffer, EvolveBuildsADraft) {
  OfferState offer = Given({Drafted()});
  EXPECT_EQ(offer.offer_id(), kOfferId);
  EXPECT_EQ(offer.version(), 1);
  EXPECT_EQ(offer.status(), OfferState::STATUS_DRAFT);
  EXPECT_EQ(offer.lead().lead_id(), kLeadId);
  ASSERT_EQ(offer.revisions_size(), 1);
  EXPECT_EQ(LatestTerms(offer).revision(), 1);
  EXPECT_EQ(events::FromProto(offer.created_at()), kNow);
  EXPECT_EQ(offer.sent_revision(), 0);
  EXPECT_FALSE(offer.has_sent_at());
  EXPECT_FALSE(IsFinal(offer));
  EXPECT_EQ(ExpiryDue(offer), kNow + absl::Hours(24 * 30));
}

// ---- revise ----

TEST(ReviseOffer, GivenADraftThenTheNextRevisionStillADraft) {
  const std::vector<OfferEvent> history = {Drafted()};
  auto e = DecideRevise(Given(history), Revise(), Catalogue());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->revised().terms().revision(), 2);
  EXPECT_EQ(e->revised().reason(), "client asked for five seats");
  // 5 x 19.99 at 15%: 9995 x 0.85 = 8495.75 -> 8496.
  EXPECT_EQ(e->revised().terms().total().units(), 8496);
  OfferState offer = Given({history[0], *e});
  EXPECT_EQ(offer.status(), OfferState::STATUS_DRAFT);
  EXPECT_EQ(offer.version(), 2);
  ASSERT_EQ(offer.revisions_size(), 2);
  EXPECT_EQ(offer.revisions(0).total().units(), 5247) << "earlier revisions are kept";
  EXPECT_EQ(LatestTerms(offer).total().units(), 8496);
}

TEST(ReviseOffer, GivenASentOfferThenBackToDraftAndItMustBeSentAgain) {
  std::vector<OfferEvent> history = {Drafted()};
  history.push_back(Sent(history));
  history.push_back(Revised(history));
  OfferState offer = Given(history);
  EXPECT_EQ(offer.status(), OfferState::STATUS_DRAFT);
  EXPECT_EQ(offer.sent_revision(), 1) << "revision 1 was sent; revision 2 not yet";
  EXPECT_THAT(DecideAccept(offer, Accept(), false, kNow),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("only a sent offer can be accepted; this one is DRAFT: send it first")));
  history.push_back(Sent(history));
  offer = Given(history);
  EXPECT_EQ(offer.sent_revision(), 2);
  auto accepted = DecideAccept(offer, Accept(), false, kNow);
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->accepted().revision(), 2);
  EXPECT_EQ(accepted->accepted().value().units(), 8496) << "the latest (sent) revision's total";
}

TEST(ReviseOffer, AtMostFiftyRevisions) {
  std::vector<OfferEvent> history = {Drafted()};
  for (int i = 1; i < kMaxRevisions; ++i) history.push_back(Revised(history));
  OfferState offer = Given(history);
  EXPECT_EQ(LatestTerms(offer).revision(), kMaxRevisions);
  EXPECT_THAT(DecideRevise(offer, Revise(), Catalogue()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("has 50 revisions, the most an offer may have")));
}

TEST(ReviseOffer, TheCurrencyCannotChange) {
  auto lookup = Catalogue({Product("crm-pro", "CRM Pro", 1999), Product("crm-usd", "CRM Pro", 2199, "USD")});
  EXPECT_THAT(DecideRevise(Given({Drafted()}), Revise(Terms({Line("crm-usd", 1)}, "USD")), lookup),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is in EUR; a revision cannot change it to USD")));
}

TEST(ReviseOffer, ExpectedVersionMismatchIsAborted) {
  OfferState offer = Given({Drafted()});
  auto r = Revise();
  r.set_expected_version(2);
  EXPECT_THAT(DecideRevise(offer, r, Catalogue()), StatusIs(Code::kAborted, HasSubstr("is at version 1, not 2")));
  r.set_expected_version(1);
  EXPECT_TRUE(DecideRevise(offer, r, Catalogue()).ok());
  EXPECT_THAT(CheckVersion(offer, 7), StatusIs(Code::kAborted, HasSubstr("re-read it")));
  EXPECT_TRUE(CheckVersion(offer, 0).ok());
}

// ---- send ----

TEST(SendOffer, GivenADraftThenSentWithTheRevisionAndItsValidUntil) {
  const std::vector<OfferEvent> history = {Drafted()};
  auto e = DecideSend(Given(history), kNow);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(EventTypeOf(*e), "offer.sent");
  EXPECT_EQ(e->sent().revision(), 1);
  EXPECT_EQ(events::FromProto(e->sent().valid_until()), kNow + absl::Hours(24 * 30));
  OfferState offer = Given({history[0], *e});
  EXPECT_EQ(offer.status(), OfferState::STATUS_SENT);
  EXPECT_EQ(offer.sent_revision(), 1);
  EXPECT_EQ(events::FromProto(offer.sent_at()), kNow + absl::Minutes(1));
}

TEST(SendOffer, ASentOfferMayBeSentAgain) {
  std::vector<OfferEvent> history = {Drafted()};
  history.push_back(Sent(history));
  auto again = DecideSend(Given(history), kNow + absl::Hours(1));
  ASSERT_TRUE(again.ok()) << again.status();
  history.push_back(*again);
  OfferState offer = Given(history);
  EXPECT_EQ(offer.status(), OfferState::STATUS_SENT);
  EXPECT_EQ(events::FromProto(offer.sent_at()), kNow + absl::Minutes(2)) << "the latest send";
}

TEST(SendOffer, NotOnceTheValidUntilHasPassed) {
  OfferState offer = Given({Drafted()});
  const absl::Time until = kNow + absl::Hours(24 * 30);
  EXPECT_TRUE(DecideSend(offer, until - absl::Nanoseconds(1)).ok());
  EXPECT_THAT(DecideSend(offer, until),
              StatusIs(Code::kFailedPrecondition, HasSubstr("was valid until 2026-01-31T00:00:00Z, which has passed")));
}

// ---- accept ----

TEST(AcceptOffer, TheLeadsFirstAcceptedOfferConvertsIt) {
  auto in = Terms({Line("onboarding", 1), Line("crm-pro", 10, 1000), Line("onboarding", 2, 5000)});
  std::vector<OfferEvent> history = {Drafted(in)};
  history.push_back(Sent(history));
  auto e = DecideAccept(Given(history), Accept(), /*lead_converted=*/false, kNow);
  ASSERT_TRUE(e.ok()) << e.status();
  const auto& a = e->accepted();
  EXPECT_EQ(a.revision(), 1);
  // 800.00 + 10 x 19.99 x 0.9 (179.91) + 2 x 800.00 x 0.5 (800.00).
  EXPECT_EQ(a.value().units(), 80000 + 17991 + 80000);
  EXPECT_EQ(a.note(), "signed PO 4711");
  EXPECT_TRUE(a.converts_lead());
  const auto& c = a.conversion();
  EXPECT_EQ(c.lead_id(), kLeadId);
  EXPECT_EQ(c.contact().email(), "maria@example.gr");
  EXPECT_EQ(c.owner_manager_id(), "m-1");
  EXPECT_EQ(c.region(), "GR-ATT");
  EXPECT_EQ(c.source(), events::v1::LEAD_SOURCE_REFERRAL);
  EXPECT_THAT(c.product_codes(), ElementsAre("onboarding", "crm-pro")) << "unique, in line order";
  EXPECT_EQ(c.value().units(), a.value().units());
  history.push_back(*e);
  OfferState offer = Given(history);
  EXPECT_EQ(offer.status(), OfferState::STATUS_ACCEPTED);
  EXPECT_TRUE(offer.converted_lead());
  EXPECT_EQ(offer.accepted_value().units(), a.value().units());
  EXPECT_EQ(offer.close_note(), "signed PO 4711");
  EXPECT_EQ(events::FromProto(offer.closed_at()), kNow + absl::Minutes(2));
  EXPECT_TRUE(IsFinal(offer));
  EXPECT_EQ(ExpiryDue(offer), std::nullopt);
}

TEST(AcceptOffer, ALaterAcceptedOfferDoesNotConvertTheLeadAgain) {
  std::vector<OfferEvent> history = {Drafted()};
  history.push_back(Sent(history));
  auto e = DecideAccept(Given(history), Accept(), /*lead_converted=*/true, kNow);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(e->accepted().converts_lead());
  EXPECT_FALSE(e->accepted().has_conversion());
  EXPECT_EQ(e->accepted().value().units(), 5247);
  history.push_back(*e);
  EXPECT_FALSE(Given(history).converted_lead());
}

TEST(AcceptOffer, OnlyASentOfferStillValid) {
  EXPECT_THAT(DecideAccept(Given({Drafted()}), Accept(), false, kNow),
              StatusIs(Code::kFailedPrecondition,
                       HasSubstr("only a sent offer can be accepted; this one is DRAFT: send it first")));
  std::vector<OfferEvent> history = {Drafted()};
  history.push_back(Sent(history));
  const absl::Time until = kNow + absl::Hours(24 * 30);
  EXPECT_TRUE(DecideAccept(Given(history), Accept(), false, until - absl::Nanoseconds(1)).ok());
  EXPECT_THAT(DecideAccept(Given(history), Accept(), false, until),
              StatusIs(Code::kFailedPrecondition, HasSubstr("it can no longer be accepted")));
}

// ---- reject / withdraw ----

TEST(RejectOffer, GivenSentThenRejectedWithTheReason) {
  std::vector<OfferEvent> history = {Drafted()};
  history.push_back(Sent(history));
  auto e = DecideReject(Given(history), Reject(events::v1::REJECTION_REASON_OTHER, "  merged with their parent  "));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->rejected().revision(), 1);
  EXPECT_EQ(e->rejected().reason(), events::v1::REJECTION_REASON_OTHER);
  EXPECT_EQ(e->rejected().note(), "merged with their parent");
  history.push_back(*e);
  OfferState offer = Given(history);
  EXPECT_EQ(offer.status(), OfferState::STATUS_REJECTED);
  EXPECT_EQ(offer.rejection_reason(), events::v1::REJECTION_REASON_OTHER);
  EXPECT_EQ(offer.close_note(), "merged with their parent");
  EXPECT_TRUE(offer.has_closed_at());
  EXPECT_THAT(DecideReject(Given({Drafted()}), Reject()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("only a sent offer can be rejected; this one is DRAFT")));
}

TEST(WithdrawOffer, GivenDraftOrSentThenWithdrawn) {
  std::vector<OfferEvent> history = {Drafted()};
  for (int sends = 0; sends < 2; ++sends) {
    auto e = DecideWithdraw(Given(history), Withdraw("  lost the budget  "));
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->withdrawn().reason(), "lost the budget");
    std::vector<OfferEvent> closed = history;
    closed.push_back(*e);
    OfferState offer = Given(closed);
    EXPECT_EQ(offer.status(), OfferState::STATUS_WITHDRAWN);
    EXPECT_EQ(offer.close_note(), "lost the budget");
    history.push_back(Sent(history));
  }
}

// ---- expiry ----

TEST(ExpireOffer, DueExactlyAtValidUntil) {
  std::vector<OfferEvent> history = {Drafted()};
  history.push_back(Sent(history));
  OfferState offer = Given(history);
  const absl::Time until = kNow + absl::Hours(24 * 30);
  EXPECT_EQ(ExpiryDue(offer), until);
  EXPECT_EQ(DecideExpire(offer, until - absl::Nanoseconds(1)), std::nullopt);
  auto e = DecideExpire(offer, until);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(EventTypeOf(*e), "offer.expired");
  EXPECT_EQ(e->expired().revision(), 1);
  EXPECT_EQ(events::FromProto(e->expired().valid_until()), until);
  history.push_back(*e);
  offer = Given(history);
  EXPECT_EQ(offer.status(), OfferState::STATUS_EXPIRED);
  EXPECT_TRUE(offer.has_closed_at());
  EXPECT_EQ(DecideExpire(offer, until + absl::Hours(1)), std::nullopt) << "once";
  EXPECT_THAT(DecideSend(offer, kNow),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is EXPIRED (final): it cannot be sent")));
}

TEST(ExpireOffer, ADraftExpiresTooAndARevisionMovesTheDate) {
  std::vector<OfferEvent> history = {Drafted()};
  history.push_back(Revised(history));
  OfferState offer = Given(history);
  // Revise() asks for the same 30 days; a revision with a later date moves the expiry.
  auto longer = Revise(Terms({Line("crm-pro", 1)}, "EUR", absl::Hours(24 * 60)));
  auto e = DecideRevise(offer, longer, Catalogue());
  ASSERT_TRUE(e.ok()) << e.status();
  history.push_back(*e);
  offer = Given(history);
  EXPECT_EQ(ExpiryDue(offer), kNow + absl::Hours(24 * 60));
  EXPECT_EQ(DecideExpire(offer, kNow + absl::Hours(24 * 30)), std::nullopt);
  EXPECT_TRUE(DecideExpire(offer, kNow + absl::Hours(24 * 60)).has_value());
}

// ---- every transition ----

TEST(Lifecycle, EveryCommandInEveryState) {
  enum Command { kRevise, kSend, kAccept, kReject, kWithdraw, kExpire };
  const std::map<Command, std::string> names = {{kRevise, "revise"}, {kSend, "send"},         {kAccept, "accept"},
                                                {kReject, "reject"}, {kWithdraw, "withdraw"}, {kExpire, "expire"}};
  using S = OfferState;
  // Allowed: the lifecycle in offer.h; everything else is FAILED_PRECONDITION.
  const std::map<S::Status, std::set<Command>> allowed = {
      {S::STATUS_DRAFT, {kRevise, kSend, kWithdraw, kExpire}},
      {S::STATUS_SENT, {kRevise, kSend, kAccept, kReject, kWithdraw, kExpire}},
      {S::STATUS_ACCEPTED, {}},
      {S::STATUS_REJECTED, {}},
      {S::STATUS_WITHDRAWN, {}},
      {S::STATUS_EXPIRED, {}}};
  const S::Status after[] = {S::STATUS_DRAFT,    S::STATUS_SENT,      S::STATUS_ACCEPTED,
                             S::STATUS_REJECTED, S::STATUS_WITHDRAWN, S::STATUS_EXPIRED};
  for (const auto& [state, history] : HistoryPerState()) {
    OfferState offer = Given(history);
    ASSERT_EQ(offer.status(), state);
    const std::string name = S::Status_Name(state).substr(7);
    for (const auto& [command, command_name] : names) {
      SCOPED_TRACE(StrCat(command_name, " when ", name));
      const bool ok = allowed.at(state).count(command) > 0;
      if (command == kExpire) {
        EXPECT_EQ(DecideExpire(offer, kNow + absl::Hours(24 * 365)).has_value(), ok);
        continue;
      }
      StatusOr<OfferEvent> e = absl::UnknownError("not decided");
      switch (command) {
        case kRevise: e = DecideRevise(offer, Revise(), Catalogue()); break;
        case kSend: e = DecideSend(offer, kNow); break;
        case kAccept: e = DecideAccept(offer, Accept(), false, kNow); break;
        case kReject: e = DecideReject(offer, Reject()); break;
        case kWithdraw: e = DecideWithdraw(offer, Withdraw()); break;
        case kExpire: break;
      }
      if (!ok) {
        EXPECT_EQ(e.status().code(), Code::kFailedPrecondition) << e.status();
        if (IsFinal(offer)) {
          EXPECT_THAT(e,
                      StatusIs(Code::kFailedPrecondition,
                               HasSubstr(StrCat("offer ", kOfferId, " is ", name, " (final)"))));
        }
        continue;
      }
      ASSERT_TRUE(e.ok()) << e.status();
      // The decided event applies to the state it was decided on, and leads where the lifecycle says.
      std::optional<OfferState> next = offer;
      ASSERT_TRUE(EvolveOffer(next, OfferEnvelope(*e, offer.version() + 1)).ok());
      EXPECT_EQ(next->version(), offer.version() + 1);
      EXPECT_EQ(next->status(), after[command]) << S::Status_Name(next->status());
    }
  }
}

TEST(Lifecycle, EvolveRefusesEventsThatCannotFollow) {
  std::optional<OfferState> none;
  EXPECT_THAT(EvolveOffer(none, OfferEnvelope(Sent({Drafted()}), 1)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("offer.sent before the offer was drafted")));
  std::optional<OfferState> draft = Given({Drafted()});
  EXPECT_THAT(EvolveOffer(draft, OfferEnvelope(Drafted(), 2)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("drafted twice")));
  std::vector<OfferEvent> sent = {Drafted()};
  sent.push_back(Sent(sent));
  EXPECT_THAT(EvolveOffer(draft, OfferEnvelope(Accepted(sent), 2)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("offer.accepted while DRAFT")));
  OfferEvent skipped = Revised({Drafted()});
  skipped.mutable_revised()->mutable_terms()->set_revision(3);
  EXPECT_THAT(EvolveOffer(draft, OfferEnvelope(skipped, 2)),
              StatusIs(Code::kFailedPrecondition, HasSubstr("revision 3 does not follow 1")));
  for (const auto& [state, history] : HistoryPerState()) {
    std::optional<OfferState> offer = Given(history);
    if (!IsFinal(*offer)) continue;
    EXPECT_EQ(EvolveOffer(offer, OfferEnvelope(Withdrawn(sent), 9)).code(), Code::kFailedPrecondition);
  }
}

TEST(Lifecycle, EvolveRefusesForeignAndEmptyEvents) {
  std::optional<OfferState> state;
  EXPECT_THAT(EvolveOffer(state, OfferEnvelope(OfferEvent(), 1)),
              StatusIs(Code::kInvalidArgument, HasSubstr("payload.offer: no event set")));
  EventEnvelope lead = LeadEnvelope(LeadEvent(), 1);
  EXPECT_THAT(EvolveOffer(state, lead), StatusIs(Code::kInvalidArgument, HasSubstr("not an offer event")));
  std::optional<ProductState> product;
  EXPECT_THAT(EvolveProduct(product, lead), StatusIs(Code::kInvalidArgument, HasSubstr("not a product event")));
}

// ---- validation ----

TEST(ValidateDraft, AValidRequestPasses) {
  EXPECT_TRUE(ValidateDraft(Draft(), kNow).ok()) << ValidateDraft(Draft(), kNow);
  auto r = Draft(Terms({Line("crm-pro", kMaxQuantity, 10000, 0)}));
  r.mutable_terms()->mutable_lines(0)->set_description(std::string(499, 'x') + "€");  // 500 characters
  r.set_idempotency_key(std::string(128, '~'));
  r.set_lead_id(std::string(64, 'l'));
  r.mutable_terms()->set_note("line one\nline two\ttabbed");  // line breaks are fine in a note
  EXPECT_TRUE(ValidateDraft(r, kNow).ok()) << ValidateDraft(r, kNow);
}

TEST(ValidateDraft, ReportsEveryViolationAtOnce) {
  api::v1::DraftOfferRequest r;
  EXPECT_THAT(FieldsOf(ValidateDraft(r, kNow)),
              ElementsAre("idempotency_key", "lead_id", "terms.currency", "terms.lines", "terms.valid_until",
                          "terms.payment_terms"));
}

TEST(ValidateDraft, NamesEachBadLineField) {
  auto r = Draft(Terms({Line("CRM Pro", 0, -1, -5, "USD"), Line("crm-pro", kMaxQuantity + 1, 10001)}));
  r.mutable_terms()->mutable_lines(1)->set_description(std::string(501, 'x'));
  EXPECT_THAT(FieldsOf(ValidateDraft(r, kNow)),
              ElementsAre("terms.lines[0].product_code", "terms.lines[0].quantity",
                          "terms.lines[0].unit_price.currency", "terms.lines[0].unit_price.units",
                          "terms.lines[0].discount_bp", "terms.lines[1].quantity", "terms.lines[1].discount_bp",
                          "terms.lines[1].description"));
  EXPECT_THAT(ValidateDraft(r, kNow),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("terms.lines[0].unit_price.currency: must be EUR (the offer's currency), not USD")));
  r = Draft(Terms({Line("crm-pro", 1, 0, 100, "EURO")}));
  EXPECT_THAT(ValidateDraft(r, kNow),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("terms.lines[0].unit_price.currency: unknown ISO 4217 currency \"EURO\"")));
  r = Draft(Terms({Line("crm-pro", 1)}));
  r.mutable_terms()->mutable_lines(0)->set_description("bad \xC3\x28 utf-8");
  EXPECT_THAT(ValidateDraft(r, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("terms.lines[0].description: not valid UTF-8")));
  r.mutable_terms()->mutable_lines(0)->set_description("over\nlines");
  EXPECT_THAT(ValidateDraft(r, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("must not contain control characters")));
}

TEST(ValidateDraft, TermsLimits) {
  auto r = Draft(Terms({}, "eur"));
  for (int i = 0; i <= kMaxLines; ++i) *r.mutable_terms()->add_lines() = Line("crm-pro", 1);
  r.mutable_terms()->set_payment_terms(static_cast<events::v1::PaymentTerms>(42));
  r.mutable_terms()->set_note(std::string(2001, 'n'));
  EXPECT_THAT(FieldsOf(ValidateDraft(r, kNow)),
              ElementsAre("terms.currency", "terms.lines", "terms.payment_terms", "terms.note"));
  EXPECT_THAT(ValidateDraft(r, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("terms.lines: at most 100 lines, got 101")));
  r.mutable_terms()->mutable_lines()->RemoveLast();
  r.mutable_terms()->set_currency("EUR");
  r.mutable_terms()->set_payment_terms(events::v1::PAYMENT_TERMS_PREPAID);
  r.mutable_terms()->clear_note();
  EXPECT_TRUE(ValidateDraft(r, kNow).ok()) << ValidateDraft(r, kNow);
}

TEST(ValidateDraft, ValidUntilInTheFutureAtMost366DaysAhead) {
  auto at = [](absl::Time t) {
    auto r = Draft();
    *r.mutable_terms()->mutable_valid_until() = events::ToProto(t);
    return ValidateDraft(r, kNow);
  };
  EXPECT_THAT(at(kNow), StatusIs(Code::kInvalidArgument, HasSubstr("terms.valid_until: must be in the future")));
  EXPECT_TRUE(at(kNow + absl::Nanoseconds(1)).ok());
  EXPECT_TRUE(at(kNow + kMaxValidity).ok());
  EXPECT_THAT(at(kNow + kMaxValidity + absl::Nanoseconds(1)),
              StatusIs(Code::kInvalidArgument, HasSubstr("terms.valid_until: at most 366 days ahead")));
  auto r = Draft();
  r.mutable_terms()->mutable_valid_until()->set_nanos(-1);
  EXPECT_THAT(ValidateDraft(r, kNow),
              StatusIs(Code::kInvalidArgument, HasSubstr("terms.valid_until: not a valid time")));
}

TEST(ValidateCommands, KeysIdsVersionsReasonsAndNotes) {
  auto revise = Revise();
  revise.set_idempotency_key("has space");
  revise.set_offer_id(std::string(65, 'o'));
  revise.set_expected_version(-1);
  revise.set_reason(std::string(501, 'r'));
  EXPECT_THAT(FieldsOf(ValidateRevise(revise, kNow)),
              ElementsAre("idempotency_key", "offer_id", "expected_version", "reason"));
  EXPECT_TRUE(ValidateRevise(Revise(), kNow).ok());

  api::v1::SendOfferRequest send;
  EXPECT_THAT(FieldsOf(ValidateSend(send)), ElementsAre("idempotency_key", "offer_id"));
  send.set_idempotency_key(std::string(129, 'k'));
  send.set_offer_id(kOfferId);
  EXPECT_THAT(ValidateSend(send),
              StatusIs(Code::kInvalidArgument, HasSubstr("idempotency_key: at most 128 characters")));

  auto accept = Accept();
  EXPECT_TRUE(ValidateAccept(accept).ok());
  accept.set_note(std::string(2001, 'n'));
  EXPECT_THAT(FieldsOf(ValidateAccept(accept)), ElementsAre("note"));

  EXPECT_TRUE(ValidateReject(Reject()).ok());
  EXPECT_THAT(ValidateReject(Reject(events::v1::REJECTION_REASON_UNSPECIFIED)),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason: must be set")));
  EXPECT_THAT(ValidateReject(Reject(static_cast<events::v1::RejectionReason>(99))),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason: unknown value 99")));
  EXPECT_THAT(ValidateReject(Reject(events::v1::REJECTION_REASON_OTHER, "   ")),
              StatusIs(Code::kInvalidArgument, HasSubstr("note: must say why when the reason is OTHER")));
  EXPECT_TRUE(ValidateReject(Reject(events::v1::REJECTION_REASON_OTHER, "reorganisation")).ok());

  EXPECT_TRUE(ValidateWithdraw(Withdraw()).ok());
  EXPECT_THAT(ValidateWithdraw(Withdraw("  ")),
              StatusIs(Code::kInvalidArgument, HasSubstr("reason: must not be empty")));
  EXPECT_THAT(FieldsOf(ValidateWithdraw(Withdraw(std::string(501, 'w')))), ElementsAre("reason"));
  EXPECT_TRUE(ValidateWithdraw(Withdraw(std::string(500, 'w'))).ok());
}

// ---- products ----

api::v1::UpsertProductRequest Upsert() {
  api::v1::UpsertProductRequest r;
  r.set_idempotency_key("p-1");
  r.set_code("crm-pro");
  r.set_name("  CRM Pro licence  ");
  *r.mutable_list_price() = Amount(1999);
  *r.mutable_unit_cost() = Amount(400);
  return r;
}

TEST(UpsertProduct, Validation) {
  EXPECT_TRUE(ValidateUpsertProduct(Upsert()).ok()) << ValidateUpsertProduct(Upsert());
  api::v1::UpsertProductRequest r;
  EXPECT_THAT(FieldsOf(ValidateUpsertProduct(r)), ElementsAre("idempotency_key", "code", "name", "list_price",
                                                              "unit_cost"));
  r = Upsert();
  r.set_code("CRM.Pro");
  r.set_name(std::string(201, 'n'));
  *r.mutable_list_price() = Amount(-1, "EURO");
  *r.mutable_unit_cost() = Amount(-1);
  r.set_expected_version(-2);
  EXPECT_THAT(FieldsOf(ValidateUpsertProduct(r)),
              ElementsAre("code", "name", "list_price.currency", "list_price.units", "unit_cost.units",
                          "expected_version"));
  r = Upsert();
  *r.mutable_unit_cost() = Amount(400, "USD");
  EXPECT_THAT(ValidateUpsertProduct(r),
              StatusIs(Code::kInvalidArgument,
                       HasSubstr("unit_cost.currency: must be EUR (the list price's currency), not USD")));
}

TEST(UpsertProduct, CreatesThenUpdatesTheProduct) {
  ProductEvent e = DecideUpsertProduct(Upsert());
  EXPECT_EQ(EventTypeOf(e), "product.upserted");
  EXPECT_EQ(e.upserted().name(), "CRM Pro licence");
  EXPECT_TRUE(e.upserted().active());
  std::optional<ProductState> p;
  auto envelope = [](const ProductEvent& payload, int64_t version) {
    EventEnvelope env = Envelope(kProductAggregate, "crm-pro", version, kNow + absl::Minutes(version));
    env.set_event_type(EventTypeOf(payload));
    *env.mutable_product() = payload;
    return env;
  };
  ASSERT_TRUE(EvolveProduct(p, envelope(e, 1)).ok());
  EXPECT_EQ(p->code(), "crm-pro");
  EXPECT_EQ(p->version(), 1);
  EXPECT_EQ(p->list_price().units(), 1999);
  EXPECT_EQ(p->unit_cost().units(), 400);
  EXPECT_TRUE(p->active());
  auto r = Upsert();
  r.set_inactive(true);
  *r.mutable_list_price() = Amount(2199);
  ASSERT_TRUE(EvolveProduct(p, envelope(DecideUpsertProduct(r), 2)).ok());
  EXPECT_EQ(p->version(), 2);
  EXPECT_EQ(p->list_price().units(), 2199);
  EXPECT_FALSE(p->active());
  EXPECT_EQ(events::FromProto(p->updated_at()), kNow + absl::Minutes(2));
  EXPECT_THAT(PriceTerms(Terms({Line("crm-pro", 1)}), 1, Catalogue({*p})),
              StatusIs(Code::kFailedPrecondition, HasSubstr("product \"crm-pro\" is inactive")));
}

// ---- the lead view ----

LeadEvent Captured() {
  LeadEvent e;
  auto* c = e.mutable_captured();
  c->mutable_contact()->set_name("Μαρία Κωνσταντίνου");
  c->mutable_contact()->set_email("maria@example.gr");
  c->set_source(events::v1::LEAD_SOURCE_WEB_FORM);
  c->set_region("GR-ATT");
  c->add_product_interest("crm-pro");
  c->mutable_assignment()->set_manager_id("m-1");
  return e;
}

LeadEvent Linked() {
  LeadEvent e;
  auto* l = e.mutable_source_linked();
  l->set_source(events::v1::LEAD_SOURCE_EVENT);
  l->mutable_contact()->set_name("Maria K.");
  l->mutable_contact()->set_company("Ολυμπιακή Τεχνική");
  l->mutable_contact()->set_phone("+30 210 555 0101");
  l->add_product_interest("erp");
  l->add_product_interest("crm-pro");
  l->add_product_interest("erp");
  return e;
}

LeadEvent Qualified() {
  LeadEvent e;
  e.mutable_qualified()->set_need("replace spreadsheets");
  return e;
}

LeadEvent Assigned(const std::string& manager_id) {
  LeadEvent e;
  e.mutable_assigned()->mutable_assignment()->set_manager_id(manager_id);
  return e;
}

LeadEvent Activity() {
  LeadEvent e;
  e.mutable_activity_logged()->set_type(events::v1::ACTIVITY_TYPE_CALL);
  return e;
}

LeadEvent Disqualified() {
  LeadEvent e;
  e.mutable_disqualified()->set_reason(events::v1::DISQUALIFICATION_REASON_NO_BUDGET);
  return e;
}

TEST(LeadView, BuiltFromTheLeadsEvents) {
  std::optional<LeadView> view;
  auto apply = [&](const LeadEvent& e, int64_t version) {
    auto changed = EvolveLeadView(view, LeadEnvelope(e, version, kNow + absl::Hours(version)));
    EXPECT_TRUE(changed.ok()) << changed.status();
    return changed.value_or(false);
  };
  EXPECT_TRUE(apply(Captured(), 1));
  EXPECT_EQ(view->lead_id(), kLeadId);
  EXPECT_EQ(view->status(), LeadView::STATUS_NEW);
  EXPECT_EQ(view->owner_manager_id(), "m-1");
  EXPECT_EQ(view->region(), "GR-ATT");
  EXPECT_EQ(view->source(), events::v1::LEAD_SOURCE_WEB_FORM);
  EXPECT_EQ(events::FromProto(view->captured_at()), kNow + absl::Hours(1));
  EXPECT_THAT(DecideDraft(view, Draft(), Catalogue()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("is not qualified yet")));

  EXPECT_TRUE(apply(Linked(), 2));
  EXPECT_EQ(view->contact().name(), "Μαρία Κωνσταντίνου") << "only empty contact fields are filled";
  EXPECT_EQ(view->contact().company(), "Ολυμπιακή Τεχνική");
  EXPECT_EQ(view->contact().phone(), "+30 210 555 0101");
  EXPECT_THAT(view->product_interest(), ElementsAre("crm-pro", "erp")) << "de-duplicated, order kept";
  EXPECT_EQ(view->source(), events::v1::LEAD_SOURCE_WEB_FORM) << "the first source stays";

  EXPECT_TRUE(apply(Activity(), 3));
  EXPECT_EQ(view->version(), 3);
  EXPECT_EQ(view->status(), LeadView::STATUS_NEW);

  EXPECT_TRUE(apply(Qualified(), 4));
  EXPECT_EQ(view->status(), LeadView::STATUS_QUALIFIED);
  EXPECT_EQ(events::FromProto(view->qualified_at()), kNow + absl::Hours(4));

  EXPECT_TRUE(apply(Assigned("m-2"), 5));
  EXPECT_EQ(view->owner_manager_id(), "m-2");
  auto drafted = DecideDraft(view, Draft(), Catalogue());
  ASSERT_TRUE(drafted.ok()) << drafted.status();
  EXPECT_EQ(drafted->drafted().lead().owner_manager_id(), "m-2");
  EXPECT_EQ(drafted->drafted().lead().contact().phone(), "+30 210 555 0101");
  EXPECT_THAT(drafted->drafted().lead().product_interest(), ElementsAre("crm-pro", "erp"));
  EXPECT_EQ(events::FromProto(drafted->drafted().lead().qualified_at()), kNow + absl::Hours(4));

  EXPECT_TRUE(apply(Disqualified(), 6));
  EXPECT_EQ(view->status(), LeadView::STATUS_DISQUALIFIED);
  EXPECT_THAT(DecideDraft(view, Draft(), Catalogue()),
              StatusIs(Code::kFailedPrecondition, HasSubstr("was disqualified")));
}

TEST(LeadView, DuplicateAndOlderVersionsChangeNothing) {
  std::optional<LeadView> view;
  ASSERT_TRUE(EvolveLeadView(view, LeadEnvelope(Captured(), 1)).ok());
  ASSERT_TRUE(*EvolveLeadView(view, LeadEnvelope(Assigned("m-2"), 3)));
  const std::string before = view->SerializeAsString();
  // The same event again, and an older one arriving late.
  EXPECT_EQ(EvolveLeadView(view, LeadEnvelope(Assigned("m-2"), 3)).value_or(true), false);
  EXPECT_EQ(EvolveLeadView(view, LeadEnvelope(Assigned("m-9"), 2)).value_or(true), false);
  EXPECT_EQ(EvolveLeadView(view, LeadEnvelope(Qualified(), 1)).value_or(true), false);
  EXPECT_EQ(view->SerializeAsString(), before);
  EXPECT_EQ(view->owner_manager_id(), "m-2");
  EXPECT_EQ(view->status(), LeadView::STATUS_NEW);
}

TEST(LeadView, LenientWithWhatItDoesNotKnowButNotWithForeignEvents) {
  std::optional<LeadView> view;
  // An event before the capture (the capture is missing): applied, the view keeps what it says.
  ASSERT_TRUE(*EvolveLeadView(view, LeadEnvelope(Qualified(), 2)));
  EXPECT_EQ(view->lead_id(), kLeadId);
  EXPECT_EQ(view->status(), LeadView::STATUS_QUALIFIED);
  // An event type newer than this build (no payload it knows): only the version moves.
  ASSERT_TRUE(*EvolveLeadView(view, LeadEnvelope(LeadEvent(), 3)));
  EXPECT_EQ(view->version(), 3);
  EXPECT_EQ(view->status(), LeadView::STATUS_QUALIFIED);
  EXPECT_THAT(EvolveLeadView(view, OfferEnvelope(Drafted(), 4)),
              StatusIs(Code::kInvalidArgument, HasSubstr("not a lead event")));
  EXPECT_EQ(view->version(), 3);
}

// ---- identity and names ----

TEST(Identity, OfferIdsAreStableUuidsOfTheirOwn) {
  EXPECT_EQ(OfferIdFor("k"), OfferIdFor("k"));
  EXPECT_NE(OfferIdFor("k"), OfferIdFor("k2"));
  EXPECT_TRUE(IsUuid(OfferIdFor("k")));
  EXPECT_NE(OfferIdFor("k"), NameUuid("sales.lead", "k")) << "not the id a lead with the same key gets";
}

TEST(Identity, EventTypeNames) {
  std::vector<std::string> names;
  for (const auto& [state, history] : HistoryPerState()) {
    for (const auto& e : history) names.push_back(EventTypeOf(e));
  }
  EXPECT_THAT(names, ::testing::IsSupersetOf({"offer.drafted", "offer.sent", "offer.accepted", "offer.rejected",
                                              "offer.withdrawn", "offer.expired"}));
  EXPECT_EQ(EventTypeOf(Revised({Drafted()})), "offer.revised");
  EXPECT_EQ(EventTypeOf(OfferEvent()), "offer.unknown");
  EXPECT_EQ(EventTypeOf(ProductEvent()), "product.unknown");
}

}  // namespace
}  // namespace sales::first_offers
