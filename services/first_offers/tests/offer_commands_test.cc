// First offers' command path and queries without Kafka: a FakePublisher as the log of
// sales.offers, a real store in a temp folder, the OffersProjection behind an Applier, a FakeClock.
// Lead events are fed through the projection as the runner would from sales.leads. Covers the
// lead rules of a draft, the offer lifecycle with versions and the conversion, idempotency,
// expected versions, expiry, the queries, and that a rebuild from the two topics gives the same
// rows however they interleave.
#include "services/first_offers/commands/offer_commands.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/events/envelope.h"
#include "common/schedule/scheduler.h"
#include "common/testing/fake_clock.h"
#include "common/testing/fake_publisher.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/first_offers/api/offer_queries.h"
#include "services/first_offers/projection/offers_projection.h"

namespace sales::first_offers {
namespace {

using projection::Outcome;
using projection::Record;
using testing::IsOk;
using testing::IsOkAndHolds;
using testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Code = absl::StatusCode;

constexpr char kLeadsTopic[] = "t.sales.leads";
constexpr char kOffersTopic[] = "t.sales.offers";

events::v1::Money Eur(int64_t units, const std::string& currency = "EUR") {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency(currency);
  return m;
}

api::v1::OfferLineInput Line(const std::string& code, int64_t quantity, int32_t discount_bp = 0) {
  api::v1::OfferLineInput l;
  l.set_product_code(code);
  l.set_quantity(quantity);
  l.set_discount_bp(discount_bp);
  return l;
}

api::v1::UpsertProductRequest Product(const std::string& key, const std::string& code, const std::string& name,
                                      int64_t list_units, bool inactive = false) {
  api::v1::UpsertProductRequest r;
  r.set_idempotency_key(key);
  r.set_code(code);
  r.set_name(name);
  *r.mutable_list_price() = Eur(list_units);
  *r.mutable_unit_cost() = Eur(list_units / 2);
  r.set_inactive(inactive);
  return r;
}

api::v1::SendOfferRequest Send(const std::string& key, const std::string& offer_id, int64_t expected_version = 0) {
  api::v1::SendOfferRequest r;
  r.set_idempotency_key(key);
  r.set_offer_id(offer_id);
  r.set_expected_version(expected_version);
  return r;
}

api::v1::AcceptOfferRequest Accept(const std::string& key, const std::string& offer_id, int64_t expected_version = 0,
                                   const std::string& note = "") {
  api::v1::AcceptOfferRequest r;
  r.set_idempotency_key(key);
  r.set_offer_id(offer_id);
  r.set_expected_version(expected_version);
  r.set_note(note);
  return r;
}

api::v1::RejectOfferRequest Reject(const std::string& key, const std::string& offer_id) {
  api::v1::RejectOfferRequest r;
  r.set_idempotency_key(key);
  r.set_offer_id(offer_id);
  r.set_reason(events::v1::REJECTION_REASON_PRICE);
  return r;
}

api::v1::WithdrawOfferRequest Withdraw(const std::string& key, const std::string& offer_id) {
  api::v1::WithdrawOfferRequest r;
  r.set_idempotency_key(key);
  r.set_offer_id(offer_id);
  r.set_reason("drafted for the wrong contact");
  return r;
}

// Every row of one column family, in key order.
std::vector<std::pair<std::string, std::string>> Rows(const Store& store, const std::string& family) {
  std::vector<std::pair<std::string, std::string>> rows;
  EXPECT_THAT(store.Scan(family, "", "",
                         [&](std::string_view k, std::string_view v) {
                           rows.emplace_back(std::string(k), std::string(v));
                           return true;
                         }),
              IsOk());
  return rows;
}

std::string Printable(const std::string& bytes) { return absl::CHexEscape(bytes); }

// The same rows, byte for byte, in every family of the projection (the meta family, with offsets
// and counters, is allowed to differ).
void ExpectSameRows(const Store& expected, const Store& actual, const std::string& what) {
  for (const std::string& family : OffersProjection().column_families()) {
    const auto want = Rows(expected, family);
    const auto got = Rows(actual, family);
    EXPECT_EQ(got.size(), want.size()) << what << ": number of rows in " << family;
    for (size_t i = 0; i < std::min(want.size(), got.size()); ++i) {
      if (got[i] != want[i]) {
        ADD_FAILURE() << what << ": " << family << " row " << i << " differs: key " << Printable(got[i].first)
                      << " vs expected " << Printable(want[i].first);
        break;
      }
    }
  }
}

class OfferCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
    applier_ = std::make_unique<projection::Applier>(store_.get(), &projection_);
    commands_ = std::make_unique<OfferCommands>(command::DeciderOptions{.topic = kOffersTopic}, &publisher_,
                                                applier_.get(), &clock_, nullptr);
    ASSERT_THAT(commands_->Start(), IsOk());
    queries_ = std::make_unique<OfferQueries>(store_.get(), &clock_);
  }
  void TearDown() override { commands_.reset(); }

  // ---- commands ----

  CommandResult Ok(Command c) {
    clock_.Advance(absl::Milliseconds(1));
    auto r = commands_->Execute(std::move(c), caller_);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? *r : CommandResult{};
  }
  StatusOr<CommandResult> Run(Command c) { return commands_->Execute(std::move(c), caller_); }

  api::v1::OfferTermsInput Terms(std::vector<api::v1::OfferLineInput> lines = {Line("crm-pro", 3)},
                                 absl::Duration valid_for = absl::Hours(24 * 30)) {
    api::v1::OfferTermsInput t;
    t.set_currency("EUR");
    for (auto& l : lines) *t.add_lines() = l;
    *t.mutable_valid_until() = events::ToProto(clock_.Now() + valid_for);
    t.set_payment_terms(events::v1::PAYMENT_TERMS_NET_30);
    return t;
  }
  api::v1::DraftOfferRequest Draft(const std::string& key, const std::string& lead_id,
                                   std::vector<api::v1::OfferLineInput> lines = {Line("crm-pro", 3)}) {
    api::v1::DraftOfferRequest r;
    r.set_idempotency_key(key);
    r.set_lead_id(lead_id);
    *r.mutable_terms() = Terms(std::move(lines));
    return r;
  }
  api::v1::ReviseOfferRequest Revise(const std::string& key, const std::string& offer_id, int64_t expected_version,
                                     std::vector<api::v1::OfferLineInput> lines) {
    api::v1::ReviseOfferRequest r;
    r.set_idempotency_key(key);
    r.set_offer_id(offer_id);
    r.set_expected_version(expected_version);
    *r.mutable_terms() = Terms(std::move(lines));
    r.set_reason("five seats after all");
    return r;
  }
  void Catalogue() {
    Ok(Product("p-crm", "crm-pro", "CRM Pro licence", 1999));
    Ok(Product("p-onb", "onboarding", "Onboarding day", 80000));
  }
  // Drafts an offer for the lead (crm-pro x quantity) and sends it; its id.
  std::string SentOffer(const std::string& key, const std::string& lead_id, int64_t quantity = 3) {
    const std::string id = Ok(Draft(key, lead_id, {Line("crm-pro", quantity)})).aggregate_id;
    Ok(Send(key + "-send", id));
    return id;
  }

  // ---- lead events, as lead acquisition writes them to sales.leads ----

  EventEnvelope LeadEnvelope(const std::string& lead_id, std::string_view type, const events::v1::LeadEvent& payload) {
    clock_.Advance(absl::Seconds(1));
    EventEnvelope e = events::NewEnvelope(kLeadAggregate, lead_id, ++lead_versions_[lead_id], type, 1,
                                          {"lead-corr", "", "lead-acquisition", "", "lead-acquisition"}, clock_);
    *e.mutable_lead() = payload;
    return e;
  }
  // Applies a record of sales.leads as the projection runner would (and keeps it for rebuilds).
  Outcome FeedLeadRecord(Record r) {
    r.topic = kLeadsTopic;
    r.partition = 0;
    r.offset = static_cast<int64_t>(lead_records_.size());
    lead_records_.push_back(r);
    std::lock_guard lock(applier_->mutex());
    Batch batch = store_->NewBatch();
    StatusOr<Outcome> outcome = projection_.Apply(r, batch);
    EXPECT_THAT(outcome, IsOk()) << "lead record " << r.offset;
    batch.SetOffset(projection_.name(), r.topic, r.partition, r.offset + 1);
    EXPECT_THAT(applier_->Commit(batch), IsOk());
    return outcome.value_or(Outcome::kSkipped);
  }
  Outcome FeedLead(const EventEnvelope& e) {
    return FeedLeadRecord({kLeadsTopic, 0, 0, e.aggregate_id(), events::Encode(e), {{"event_type", e.event_type()}}});
  }
  void CaptureLead(const std::string& id, const std::string& owner) {
    events::v1::LeadEvent p;
    auto* c = p.mutable_captured();
    c->mutable_contact()->set_name("Μαρία Κωνσταντίνου " + id);
    c->mutable_contact()->set_company("Ολυμπιακή Τεχνική");
    c->mutable_contact()->set_email(id + "@example.gr");
    c->mutable_contact()->set_phone("+30 210 555 0101");
    c->set_source(events::v1::LEAD_SOURCE_REFERRAL);
    c->set_region("GR-ATT");
    c->add_product_interest("crm-pro");
    c->mutable_assignment()->set_manager_id(owner);
    EXPECT_EQ(FeedLead(LeadEnvelope(id, "lead.captured", p)), Outcome::kApplied);
  }
  void QualifyLead(const std::string& id) {
    events::v1::LeadEvent p;
    p.mutable_qualified()->set_need("replace spreadsheets");
    EXPECT_EQ(FeedLead(LeadEnvelope(id, "lead.qualified", p)), Outcome::kApplied);
  }
  void DisqualifyLead(const std::string& id) {
    events::v1::LeadEvent p;
    p.mutable_disqualified()->set_reason(events::v1::DISQUALIFICATION_REASON_NO_BUDGET);
    EXPECT_EQ(FeedLead(LeadEnvelope(id, "lead.disqualified", p)), Outcome::kApplied);
  }
  void AssignLead(const std::string& id, const std::string& owner) {
    events::v1::LeadEvent p;
    p.mutable_assigned()->mutable_assignment()->set_manager_id(owner);
    EXPECT_EQ(FeedLead(LeadEnvelope(id, "lead.assigned", p)), Outcome::kApplied);
  }
  std::string QualifiedLead(const std::string& id, const std::string& owner = "m-1") {
    CaptureLead(id, owner);
    QualifyLead(id);
    return id;
  }

  // ---- the log ----

  // What the command path appended to sales.offers, as records at their offsets.
  std::vector<Record> OfferRecords() {
    std::vector<Record> out;
    for (const auto& m : publisher_.published()) {
      EXPECT_EQ(m.topic, kOffersTopic);
      out.push_back({m.topic, 0, static_cast<int64_t>(out.size()), m.key, m.value, m.headers});
    }
    return out;
  }
  std::vector<EventEnvelope> OfferEvents(const std::string& aggregate_id = "") {
    std::vector<EventEnvelope> out;
    for (const auto& m : publisher_.published()) {
      auto e = events::Decode(m.value);
      EXPECT_THAT(e, IsOk());
      if (e.ok() && (aggregate_id.empty() || e->aggregate_id() == aggregate_id)) out.push_back(*e);
    }
    return out;
  }
  std::vector<std::string> EventTypes(const std::string& aggregate_id) {
    std::vector<std::string> types;
    for (const auto& e : OfferEvents(aggregate_id)) types.push_back(e.event_type());
    return types;
  }

  // A fresh store built by the projection alone from `records`, one commit per record.
  std::unique_ptr<Store> Rebuild(const std::vector<Record>& records, testing::TempDir& dir) {
    auto store = Store::Open({.path = dir.path(), .column_families = projection_.column_families()}).value();
    OffersProjection projection;
    for (const Record& r : records) {
      Batch batch = store->NewBatch();
      StatusOr<Outcome> outcome = projection.Apply(r, batch);
      EXPECT_THAT(outcome, IsOk()) << r.topic << "@" << r.offset;
      EXPECT_THAT(store->Commit(batch), IsOk());
    }
    return store;
  }

  // ---- queries ----

  api::v1::Offer GetOffer(const std::string& id, int32_t revision = 0) {
    api::v1::GetOfferRequest r;
    r.set_offer_id(id);
    r.set_revision(revision);
    auto offer = queries_->GetOffer(r);
    EXPECT_THAT(offer, IsOk());
    return offer.value_or(api::v1::Offer());
  }
  std::vector<std::string> ListOfferIds(api::v1::ListOffersRequest r) {
    std::vector<std::string> ids;
    auto page = queries_->ListOffers(r);
    EXPECT_THAT(page, IsOk());
    if (page.ok()) {
      for (const auto& o : page->offers()) ids.push_back(o.offer_id());
    }
    return ids;
  }
  std::vector<std::string> OpportunityIds(const std::string& owner, bool include_with_offers = false) {
    api::v1::ListOpportunitiesRequest r;
    r.set_owner_manager_id(owner);
    r.set_include_with_offers(include_with_offers);
    std::vector<std::string> ids;
    auto page = queries_->ListOpportunities(r);
    EXPECT_THAT(page, IsOk());
    if (page.ok()) {
      for (const auto& o : page->opportunities()) ids.push_back(o.lead_id());
    }
    return ids;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  testing::FakePublisher publisher_;
  OffersProjection projection_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<OfferCommands> commands_;
  std::unique_ptr<OfferQueries> queries_;
  std::map<std::string, int64_t> lead_versions_;
  std::vector<Record> lead_records_;
  const Caller caller_{"corr-7", "maria@sales"};
};

// ---- drafting needs a qualified lead ----

TEST_F(OfferCommandsTest, DraftIsRefusedForAnUnknownANewOrADisqualifiedLead) {
  Catalogue();
  EXPECT_THAT(Run(Draft("d-unknown", "lead-x")),
              StatusIs(Code::kFailedPrecondition,
                       "lead lead-x is not known to first offers yet: it has not been captured, or its events have "
                       "not arrived"));
  CaptureLead("lead-new", "m-1");
  EXPECT_THAT(Run(Draft("d-new", "lead-new")),
              StatusIs(Code::kFailedPrecondition, "lead lead-new is not qualified yet: qualify it first"));
  QualifiedLead("lead-dq");
  DisqualifyLead("lead-dq");
  EXPECT_THAT(Run(Draft("d-dq", "lead-dq")),
              StatusIs(Code::kFailedPrecondition, "lead lead-dq was disqualified: a closed lead gets no offer"));
  EXPECT_THAT(OfferEvents(), ::testing::SizeIs(2)) << "only the two products";

  // Once qualified, the same lead gets its offer (a refused command recorded nothing under its key).
  QualifyLead("lead-new");
  EXPECT_EQ(Ok(Draft("d-new", "lead-new")).version, 1);
}

TEST_F(OfferCommandsTest, ProductRulesApplyToDrafts) {
  Catalogue();
  QualifiedLead("lead-1");
  EXPECT_THAT(Run(Draft("d-1", "lead-1", {Line("crm-pro", 1), Line("nope", 1)})),
              StatusIs(Code::kFailedPrecondition, "terms.lines[1]: product \"nope\" is not in the catalogue"));
  Ok(Product("p-crm-off", "crm-pro", "CRM Pro licence", 1999, /*inactive=*/true));
  EXPECT_THAT(Run(Draft("d-2", "lead-1")),
              StatusIs(Code::kFailedPrecondition, HasSubstr("product \"crm-pro\" is inactive")));
}

// ---- the lifecycle ----

TEST_F(OfferCommandsTest, FromProductToAcceptedOfferWithVersionsAndTheClientConversion) {
  const CommandResult product = Ok(Product("p-crm", "crm-pro", "CRM Pro licence", 1999));
  EXPECT_EQ(product.aggregate_id, "crm-pro");
  EXPECT_EQ(product.version, 1);
  EXPECT_EQ(Ok(Product("p-crm-2", "crm-pro", "CRM Pro licence (2026)", 1999)).version, 2);
  Ok(Product("p-onb", "onboarding", "Onboarding day", 80000));
  const std::string lead = QualifiedLead("lead-1");

  const CommandResult drafted = Ok(Draft("d-1", lead));
  const std::string id = drafted.aggregate_id;
  EXPECT_EQ(id, OfferIdFor("d-1"));
  EXPECT_EQ(drafted.version, 1);
  EXPECT_EQ(drafted.revision, 1);
  EXPECT_EQ(drafted.status, OfferState::STATUS_DRAFT);
  EXPECT_FALSE(drafted.replayed);
  EXPECT_EQ(GetOffer(id).total().units(), 5997) << "3 x 19.99";

  const CommandResult revised =
      Ok(Revise("r-1", id, /*expected_version=*/1, {Line("crm-pro", 5, /*discount_bp=*/1000), Line("onboarding", 1),
                                                     Line("crm-pro", 1)}));
  EXPECT_EQ(revised.version, 2);
  EXPECT_EQ(revised.revision, 2);
  EXPECT_EQ(revised.status, OfferState::STATUS_DRAFT);

  const CommandResult sent = Ok(Send("s-1", id, 2));
  EXPECT_EQ(sent.version, 3);
  EXPECT_EQ(sent.revision, 2);
  EXPECT_EQ(sent.status, OfferState::STATUS_SENT);

  const CommandResult accepted = Ok(Accept("a-1", id, 3, " signed PO 4711 "));
  EXPECT_EQ(accepted.version, 4);
  EXPECT_EQ(accepted.status, OfferState::STATUS_ACCEPTED);
  EXPECT_TRUE(accepted.converts_lead);

  EXPECT_THAT(EventTypes(id), ElementsAre("offer.drafted", "offer.revised", "offer.sent", "offer.accepted"));
  const std::vector<EventEnvelope> events = OfferEvents(id);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].aggregate_version(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(events[i].aggregate_type(), "offer");
    EXPECT_EQ(events[i].producer(), "first-offers");
    EXPECT_EQ(events[i].correlation_id(), "corr-7");
    EXPECT_EQ(events[i].actor(), "maria@sales");
  }
  EXPECT_EQ(events[3].causation_id(), "AcceptOffer:a-1");
  EXPECT_EQ(events[3].idempotency_key(), "a-1");
  EXPECT_EQ(events[3].command_hash(), command::HashWithoutKey(Accept("a-1", id, 3, " signed PO 4711 ")));

  // 5 x 19.99 - 10% = 89.955 -> 89.96; + 800.00; + 19.99.
  const auto& a = events[3].offer().accepted();
  EXPECT_EQ(a.revision(), 2);
  EXPECT_EQ(a.value().units(), 8996 + 80000 + 1999);
  EXPECT_EQ(a.value().currency(), "EUR");
  EXPECT_EQ(a.note(), "signed PO 4711");
  EXPECT_TRUE(a.converts_lead());
  ASSERT_TRUE(a.has_conversion());
  const auto& c = a.conversion();
  EXPECT_EQ(c.lead_id(), lead);
  EXPECT_EQ(c.contact().name(), "Μαρία Κωνσταντίνου lead-1");
  EXPECT_EQ(c.contact().email(), "lead-1@example.gr");
  EXPECT_EQ(c.contact().phone(), "+30 210 555 0101");
  EXPECT_EQ(c.owner_manager_id(), "m-1");
  EXPECT_EQ(c.region(), "GR-ATT");
  EXPECT_EQ(c.source(), events::v1::LEAD_SOURCE_REFERRAL);
  EXPECT_THAT(c.product_codes(), ElementsAre("crm-pro", "onboarding")) << "in line order, once each";
  EXPECT_EQ(c.value().units(), a.value().units());

  const api::v1::Offer offer = GetOffer(id);
  EXPECT_EQ(offer.status(), api::v1::OFFER_STATUS_ACCEPTED);
  EXPECT_EQ(offer.version(), 4);
  EXPECT_EQ(offer.revision(), 2);
  EXPECT_EQ(offer.latest_revision(), 2);
  EXPECT_EQ(offer.sent_revision(), 2);
  EXPECT_EQ(offer.lines_size(), 3);
  EXPECT_EQ(offer.lines(0).description(), "CRM Pro licence (2026)") << "the catalogue name when drafted";
  EXPECT_EQ(offer.total().units(), 90995);
  EXPECT_EQ(offer.close_note(), "signed PO 4711");
  EXPECT_TRUE(offer.converted_lead());
  EXPECT_EQ(offer.owner_manager_id(), "m-1");
  EXPECT_TRUE(offer.has_closed_at());

  api::v1::GetOpportunityRequest get;
  get.set_lead_id(lead);
  auto opportunity = queries_->GetOpportunity(get);
  ASSERT_THAT(opportunity, IsOk());
  EXPECT_EQ(opportunity->status(), api::v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(opportunity->offers(), 1);
  EXPECT_FALSE(opportunity->awaiting_first_offer());
}

TEST_F(OfferCommandsTest, OnlyTheFirstAcceptedOfferOfALeadConvertsIt) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const std::string first = SentOffer("d-1", lead);
  const std::string second = SentOffer("d-2", lead);
  const std::string third = SentOffer("d-3", lead);
  // The second is accepted first: it converts the lead.
  const CommandResult won = Ok(Accept("a-2", second));
  EXPECT_TRUE(won.converts_lead);
  // Two more acceptances decided in one chunk: neither converts again.
  auto results = commands_->ExecuteAll({Accept("a-1", first), Accept("a-3", third)}, caller_);
  ASSERT_THAT(results[0], IsOk());
  ASSERT_THAT(results[1], IsOk());
  EXPECT_FALSE(results[0]->converts_lead);
  EXPECT_FALSE(results[1]->converts_lead);
  EXPECT_EQ(results[0]->status, OfferState::STATUS_ACCEPTED);

  int conversions = 0;
  for (const auto& e : OfferEvents()) {
    if (!e.offer().has_accepted()) continue;
    const auto& a = e.offer().accepted();
    EXPECT_EQ(a.converts_lead(), e.aggregate_id() == second) << e.aggregate_id();
    EXPECT_EQ(a.has_conversion(), a.converts_lead());
    conversions += a.converts_lead();
  }
  EXPECT_EQ(conversions, 1);
  EXPECT_THAT(store_->Get(kLeadConversionsFamily, lead), IsOkAndHolds(std::optional<std::string>(second)));
  EXPECT_TRUE(GetOffer(second).converted_lead());
  EXPECT_FALSE(GetOffer(first).converted_lead());

  // Retries answer as the first time.
  EXPECT_TRUE(Ok(Accept("a-2", second)).converts_lead);
  const CommandResult again = Ok(Accept("a-1", first));
  EXPECT_TRUE(again.replayed);
  EXPECT_FALSE(again.converts_lead);
}

// ---- idempotency and concurrency control ----

TEST_F(OfferCommandsTest, RetriesWithTheSameKeyAppendNothingAndAnswerReplayed) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const api::v1::DraftOfferRequest draft = Draft("d-1", lead);
  const CommandResult first = Ok(draft);
  const size_t appended = publisher_.published().size();

  const CommandResult retry = Ok(draft);
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.aggregate_id, first.aggregate_id);
  EXPECT_EQ(retry.version, 1);
  EXPECT_EQ(publisher_.published().size(), appended);

  const api::v1::SendOfferRequest send = Send("s-1", first.aggregate_id, 1);
  EXPECT_EQ(Ok(send).version, 2);
  // Retried in one chunk, twice: the first answer, nothing appended.
  auto retries = commands_->ExecuteAll({send, send}, caller_);
  for (const auto& r : retries) {
    ASSERT_THAT(r, IsOk());
    EXPECT_TRUE(r->replayed);
    EXPECT_EQ(r->version, 2);
    EXPECT_EQ(r->status, OfferState::STATUS_SENT);
  }
  const api::v1::UpsertProductRequest product = Product("p-crm", "crm-pro", "CRM Pro licence", 1999);
  const CommandResult product_retry = Ok(product);
  EXPECT_TRUE(product_retry.replayed);
  EXPECT_EQ(product_retry.aggregate_id, "crm-pro");
  EXPECT_EQ(product_retry.version, 1);
  EXPECT_EQ(publisher_.published().size(), appended + 1) << "only the first send was appended";
  EXPECT_THAT(EventTypes(first.aggregate_id), ElementsAre("offer.drafted", "offer.sent"));
}

// A retry answers what the first call answered (the offer as that command left it), not the
// offer as it is now.
TEST_F(OfferCommandsTest, ARetryAfterLaterCommandsAnswersWhatTheFirstCallAnswered) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const api::v1::DraftOfferRequest draft = Draft("d-1", lead);
  const CommandResult first = Ok(draft);
  Ok(Revise("r-1", first.aggregate_id, 1, {Line("crm-pro", 5)}));
  Ok(Send("s-1", first.aggregate_id, 2));

  const CommandResult retry = Ok(draft);
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.aggregate_id, first.aggregate_id);
  EXPECT_EQ(retry.version, first.version);
  EXPECT_EQ(retry.revision, first.revision) << "revision of the first answer (1), not the current one";
  EXPECT_EQ(retry.status, first.status) << "status of the first answer (DRAFT), not the current one";
}

TEST_F(OfferCommandsTest, TheSameKeyForADifferentRequestIsInvalidArgument) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const std::string id = Ok(Draft("d-1", lead)).aggregate_id;
  const size_t appended = publisher_.published().size();
  auto other = Draft("d-1", lead, {Line("crm-pro", 4)});
  EXPECT_THAT(Run(other), StatusIs(Code::kInvalidArgument,
                                   "idempotency_key: already used for a different request; use a new key per command"));
  // A key used for one command type is not reusable for another either.
  EXPECT_THAT(Run(Send("d-1", id)), StatusIs(Code::kInvalidArgument, HasSubstr("idempotency_key: already used")));
  EXPECT_EQ(publisher_.published().size(), appended);
}

TEST_F(OfferCommandsTest, AStaleExpectedVersionIsAbortedAndAppendsNothing) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const std::string id = Ok(Draft("d-1", lead)).aggregate_id;
  const size_t appended = publisher_.published().size();
  // (docs/OFFERS.md words it "offer <id> is at version 1, not 5; re-read it and decide again"; the
  // command path answers with the kit's "... not the expected 5: read it again and retry".)
  auto stale = [&](int64_t expected) {
    return StatusIs(Code::kAborted, ::testing::AllOf(HasSubstr(StrCat("offer ", id, " is at version 1, not ")),
                                                     ::testing::ContainsRegex(StrCat("not (the expected )?", expected,
                                                                                     "[^0-9]"))));
  };
  EXPECT_THAT(Run(Revise("r-1", id, 5, {Line("crm-pro", 5)})), stale(5));
  EXPECT_THAT(Run(Send("s-1", id, 2)), stale(2));
  EXPECT_THAT(Run(Accept("a-1", id, 7)), stale(7));
  EXPECT_THAT(Run(Product("p-crm-3", "crm-pro", "CRM", 1, false)), IsOk()) << "0 = any version";
  auto stale_product = Product("p-crm-4", "crm-pro", "CRM", 1);
  stale_product.set_expected_version(1);
  EXPECT_THAT(Run(stale_product),
              StatusIs(Code::kAborted, "product crm-pro is at version 2, not the expected 1: read it again and retry"));
  EXPECT_EQ(publisher_.published().size(), appended + 1);
  // The aborted keys were not used up.
  EXPECT_EQ(Ok(Send("s-1", id, 1)).version, 2);
}

TEST_F(OfferCommandsTest, CallerKeysInTheServicesOwnNamespaceAreRefused) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const std::string id = Ok(Draft("d-1", lead)).aggregate_id;
  const std::string reserved = "idempotency_key: keys starting with \"expire:\" are reserved for the service";
  EXPECT_THAT(Run(Draft("expire:x", lead)), StatusIs(Code::kInvalidArgument, reserved));
  EXPECT_THAT(Run(Send(StrCat("expire:", id), id)), StatusIs(Code::kInvalidArgument, reserved));
  EXPECT_THAT(Run(Withdraw(StrCat("expire:", id), id)), StatusIs(Code::kInvalidArgument, reserved));
  EXPECT_THAT(Run(Product("expire:p", "crm-pro", "CRM", 1)), StatusIs(Code::kInvalidArgument, reserved));
  // Every violation at once: the reserved key and the request's own problems.
  auto bad = Withdraw("expire:y", id);
  bad.clear_reason();
  EXPECT_THAT(Run(bad), StatusIs(Code::kInvalidArgument, StrCat(reserved, "; reason: must not be empty")));
  EXPECT_EQ(Ok(Send("expires-later", id)).version, 2) << "only the prefix is reserved";
}

TEST_F(OfferCommandsTest, KafkaDownAnswersUnavailableAndStoresNothing) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  publisher_.FailWith(absl::UnavailableError("kafka: broker down"));
  EXPECT_THAT(Run(Draft("d-1", lead)), StatusIs(Code::kUnavailable, HasSubstr("kafka: broker down")));
  EXPECT_THAT(store_->Get(kOffersFamily, OfferIdFor("d-1")), IsOkAndHolds(std::nullopt));
  EXPECT_THAT(store_->Get(kIdempotencyFamily, "d-1"), IsOkAndHolds(std::nullopt));
  publisher_.FailWith(absl::OkStatus());
  const CommandResult retry = Ok(Draft("d-1", lead));
  EXPECT_FALSE(retry.replayed);
  EXPECT_EQ(retry.version, 1);
}

// ---- expiry ----

TEST_F(OfferCommandsTest, ExpireOfferOnlyOnceValidUntilHasPassedAndOnlyOnce) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const std::string id = SentOffer("d-1", lead);
  const absl::Time valid_until = events::FromProto(GetOffer(id).valid_until());
  EXPECT_THAT(schedule::Scheduler::Due(*store_, kOfferDueFamily, valid_until, 10),
              IsOkAndHolds(ElementsAre(::testing::Field(&schedule::DueItem::id, id))));

  const CommandResult early = Ok(ExpireOffer{id});
  EXPECT_TRUE(early.nothing_to_do);
  EXPECT_EQ(early.version, 2);
  EXPECT_EQ(early.status, OfferState::STATUS_SENT);

  clock_.Advance(valid_until - clock_.Now());  // exactly at valid-until: due
  auto fired = commands_->ExecuteAll({ExpireOffer{id}, ExpireOffer{id}}, {"offer-expiry", "system:offer-expiry"});
  ASSERT_THAT(fired[0], IsOk());
  ASSERT_THAT(fired[1], IsOk());
  EXPECT_FALSE(fired[0]->nothing_to_do);
  EXPECT_EQ(fired[0]->version, 3);
  EXPECT_EQ(fired[0]->status, OfferState::STATUS_EXPIRED);
  EXPECT_TRUE(fired[1]->nothing_to_do) << "the second firing sees the first";
  EXPECT_TRUE(Ok(ExpireOffer{id}).nothing_to_do);

  EXPECT_THAT(EventTypes(id), ElementsAre("offer.drafted", "offer.sent", "offer.expired"));
  const EventEnvelope expired = OfferEvents(id).back();
  EXPECT_EQ(expired.idempotency_key(), StrCat("expire:", id));
  EXPECT_EQ(expired.actor(), "system:offer-expiry");
  EXPECT_EQ(expired.offer().expired().revision(), 1);
  EXPECT_EQ(events::FromProto(expired.offer().expired().valid_until()), valid_until);
  EXPECT_THAT(schedule::Scheduler::Due(*store_, kOfferDueFamily, clock_.Now() + absl::Hours(24 * 400), 10),
              IsOkAndHolds(IsEmpty()))
      << "the due row went with the expiry";
  EXPECT_EQ(GetOffer(id).status(), api::v1::OFFER_STATUS_EXPIRED);
  EXPECT_THAT(Run(Accept("a-1", id)), StatusIs(Code::kFailedPrecondition, HasSubstr("is EXPIRED (final)")));
  EXPECT_THAT(Run(ExpireOffer{"no-such-offer"}), StatusIs(Code::kNotFound, "no offer with id no-such-offer"));
}

TEST_F(OfferCommandsTest, TheDueRowFollowsTheLatestValidUntilAndGoesWhenTheOfferCloses) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const std::string id = Ok(Draft("d-1", lead)).aggregate_id;
  auto due = [&] {
    std::vector<absl::Time> times;
    StatusOr<std::vector<schedule::DueItem>> items =
        schedule::Scheduler::Due(*store_, kOfferDueFamily, absl::InfiniteFuture(), 10);
    EXPECT_THAT(items, IsOk());
    for (const auto& item : items.value_or(std::vector<schedule::DueItem>())) times.push_back(item.due);
    return times;
  };
  EXPECT_THAT(due(), ElementsAre(events::FromProto(GetOffer(id).valid_until())));
  clock_.Advance(absl::Hours(1));
  Ok(Revise("r-1", id, 0, {Line("crm-pro", 4)}));
  EXPECT_THAT(due(), ElementsAre(events::FromProto(GetOffer(id).valid_until()))) << "one row, at the new time";
  Ok(Withdraw("w-1", id));
  EXPECT_THAT(due(), IsEmpty());
}

// ---- queries ----

TEST_F(OfferCommandsTest, GetOfferShowsTheLatestOrAnEarlierRevision) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const std::string id = Ok(Draft("d-1", lead)).aggregate_id;
  Ok(Revise("r-1", id, 1, {Line("onboarding", 2)}));

  const api::v1::Offer latest = GetOffer(id);
  EXPECT_EQ(latest.revision(), 2);
  EXPECT_EQ(latest.latest_revision(), 2);
  EXPECT_EQ(latest.total().units(), 160000);
  EXPECT_EQ(latest.lines(0).product_code(), "onboarding");
  const api::v1::Offer earlier = GetOffer(id, 1);
  EXPECT_EQ(earlier.revision(), 1);
  EXPECT_EQ(earlier.latest_revision(), 2);
  EXPECT_EQ(earlier.total().units(), 5997);
  EXPECT_EQ(earlier.lines(0).product_code(), "crm-pro");
  EXPECT_EQ(earlier.version(), 2) << "the offer's version, whatever revision is shown";
  EXPECT_EQ(GetOffer(id, 2).SerializeAsString(), latest.SerializeAsString());

  api::v1::GetOfferRequest r;
  r.set_offer_id(id);
  r.set_revision(3);
  EXPECT_THAT(queries_->GetOffer(r), StatusIs(Code::kNotFound, StrCat("offer ", id, " has revisions 1 to 2, not 3")));
  r.set_revision(-1);
  EXPECT_THAT(queries_->GetOffer(r), StatusIs(Code::kInvalidArgument, HasSubstr("revision: ")));
  r.set_revision(0);
  r.set_offer_id("8d0c6f7e-0000-5c1e-9f2a-0a1b2c3d4e5f");
  EXPECT_THAT(queries_->GetOffer(r),
              StatusIs(Code::kNotFound, "no offer with id 8d0c6f7e-0000-5c1e-9f2a-0a1b2c3d4e5f"));
}

TEST_F(OfferCommandsTest, GetOfferHistoryListsEveryEventInOrder) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const std::string id = SentOffer("d-1", lead);
  Ok(Reject("j-1", id));
  api::v1::GetOfferHistoryRequest r;
  r.set_offer_id(id);
  auto history = queries_->GetOfferHistory(r);
  ASSERT_THAT(history, IsOk());
  EXPECT_EQ(history->offer_id(), id);
  ASSERT_EQ(history->events_size(), 3);
  const auto events = OfferEvents(id);
  for (int i = 0; i < 3; ++i) {
    const auto& h = history->events(i);
    EXPECT_EQ(h.version(), i + 1);
    EXPECT_EQ(h.event_type(), events[i].event_type());
    EXPECT_EQ(h.event_id(), events[i].event_id());
    EXPECT_EQ(h.actor(), "maria@sales");
    EXPECT_EQ(h.correlation_id(), "corr-7");
    EXPECT_EQ(h.event().SerializeAsString(), events[i].offer().SerializeAsString());
  }
  EXPECT_EQ(history->events(2).event().rejected().reason(), events::v1::REJECTION_REASON_PRICE);
  r.set_offer_id("unknown");
  EXPECT_THAT(queries_->GetOfferHistory(r), StatusIs(Code::kNotFound, "no offer with id unknown"));
}

TEST_F(OfferCommandsTest, ListOffersFilters) {
  Catalogue();
  QualifiedLead("lead-1", "m-1");
  QualifiedLead("lead-2", "m-2");
  const std::string o1 = Ok(Draft("d-1", "lead-1", {Line("crm-pro", 3)})).aggregate_id;    // 59.97, DRAFT
  const std::string o2 = SentOffer("d-2", "lead-1", 1);                                     // 19.99, SENT
  const std::string o3 = Ok(Draft("d-3", "lead-2", {Line("onboarding", 1)})).aggregate_id;  // 800.00
  Ok(Withdraw("w-3", o3));
  const std::string o4 = SentOffer("d-4", "lead-2", 10);  // 199.90
  Ok(Accept("a-4", o4));
  const absl::Time t2 = events::FromProto(GetOffer(o2).created_at());
  const absl::Time t4 = events::FromProto(GetOffer(o4).created_at());

  api::v1::ListOffersRequest r;
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o1, o2, o3, o4)) << "oldest first";
  r.add_statuses(api::v1::OFFER_STATUS_SENT);
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o2));
  r.clear_statuses();
  r.add_statuses(api::v1::OFFER_STATUS_WITHDRAWN);
  r.add_statuses(api::v1::OFFER_STATUS_DRAFT);
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o1, o3));
  r.Clear();
  r.set_owner_manager_id("m-2");
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o3, o4));
  r.Clear();
  r.set_lead_id("lead-1");
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o1, o2));
  r.Clear();
  *r.mutable_created_from() = events::ToProto(t2);
  *r.mutable_created_to() = events::ToProto(t4);
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o2, o3)) << "from inclusive, to exclusive";
  r.set_lead_id("lead-1");
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o2)) << "the lead's index honours the range too";
  r.Clear();
  *r.mutable_min_total() = Eur(1999);
  *r.mutable_max_total() = Eur(19990);
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o1, o2, o4)) << "both bounds inclusive";
  *r.mutable_min_total() = Eur(2000);
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o1, o4));
  r.Clear();
  *r.mutable_min_total() = Eur(0, "USD");
  EXPECT_THAT(ListOfferIds(r), IsEmpty()) << "totals compare only within their currency";
  r.Clear();
  r.set_owner_manager_id("m-2");
  r.add_statuses(api::v1::OFFER_STATUS_ACCEPTED);
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o4));
  r.Clear();
  *r.mutable_sent_from() = events::ToProto(t2);
  EXPECT_THAT(ListOfferIds(r), ElementsAre(o2, o4)) << "only offers that were sent";

  api::v1::ListOffersRequest bad;
  bad.add_statuses(api::v1::OFFER_STATUS_UNSPECIFIED);
  EXPECT_THAT(queries_->ListOffers(bad),
              StatusIs(Code::kInvalidArgument, "statuses[0]: unknown value: not an offer status"));
  bad.Clear();
  bad.set_page_size(501);
  EXPECT_THAT(queries_->ListOffers(bad), StatusIs(Code::kInvalidArgument, HasSubstr("page_size: from 1 to 500")));
  bad.Clear();
  *bad.mutable_created_from() = events::ToProto(t4);
  *bad.mutable_created_to() = events::ToProto(t2);
  EXPECT_THAT(queries_->ListOffers(bad), StatusIs(Code::kInvalidArgument, "created_to: must be after created_from"));
}

TEST_F(OfferCommandsTest, ListOffersPagesNeitherSkipNorRepeatWhileOffersAreAdded) {
  Catalogue();
  QualifiedLead("lead-1", "m-1");
  QualifiedLead("lead-2", "m-2");
  std::vector<std::string> before;
  for (int i = 0; i < 12; ++i) before.push_back(Ok(Draft(StrCat("d-", i), i % 3 ? "lead-1" : "lead-2")).aggregate_id);

  for (const std::string lead_filter : {"", "lead-1"}) {
    api::v1::ListOffersRequest r;
    r.set_lead_id(lead_filter);
    r.set_page_size(3);
    std::vector<std::string> seen;
    int added = 0;
    for (int pages = 0; pages < 50; ++pages) {
      auto page = queries_->ListOffers(r);
      ASSERT_THAT(page, IsOk());
      for (const auto& o : page->offers()) seen.push_back(o.offer_id());
      // New offers arrive between pages (for both leads).
      for (int k = 0; k < 2; ++k) {
        Ok(Draft(StrCat("new-", lead_filter, "-", added), added % 2 ? "lead-1" : "lead-2"));
        ++added;
      }
      if (page->next_page_token().empty()) break;
      r.set_page_token(page->next_page_token());
    }
    const std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(unique.size(), seen.size()) << "an offer was repeated (lead filter \"" << lead_filter << "\")";
    // Everything listed is in creation order, and what existed before the first page is all there.
    api::v1::ListOffersRequest all;
    all.set_lead_id(lead_filter);
    all.set_page_size(500);
    const std::vector<std::string> everything = ListOfferIds(all);
    ASSERT_LE(seen.size(), everything.size());
    EXPECT_TRUE(std::equal(seen.begin(), seen.end(), everything.begin())) << "skipped or out of order";
    for (const auto& id : before) {
      if (lead_filter.empty() || GetOffer(id).lead_id() == lead_filter) {
        EXPECT_TRUE(unique.count(id)) << "skipped " << id;
      }
    }
  }

  api::v1::ListOffersRequest first;
  first.set_page_size(2);
  const std::string token = queries_->ListOffers(first).value().next_page_token();
  ASSERT_FALSE(token.empty());
  api::v1::ListOffersRequest other = first;
  other.set_page_token(token);
  other.set_owner_manager_id("m-1");
  EXPECT_THAT(queries_->ListOffers(other),
              StatusIs(Code::kInvalidArgument,
                       "page_token: issued for other filters; repeat the first request's filters"));
  other.set_page_token("garbage!");
  EXPECT_THAT(queries_->ListOffers(other), StatusIs(Code::kInvalidArgument, HasSubstr("page_token: ")));
  api::v1::ListOffersRequest resized = first;
  resized.set_page_token(token);
  resized.set_page_size(5);
  EXPECT_THAT(queries_->ListOffers(resized), IsOk()) << "the page size is not a filter";
}

TEST_F(OfferCommandsTest, ListOpportunitiesPerOwnerOldestFirstAwaitingTheirFirstOffer) {
  Catalogue();
  QualifiedLead("lead-a", "m-1");
  QualifiedLead("lead-b", "m-2");
  CaptureLead("lead-new", "m-1");  // not qualified: no opportunity
  QualifiedLead("lead-c", "m-1");
  QualifiedLead("lead-gone", "m-1");
  DisqualifyLead("lead-gone");

  EXPECT_THAT(OpportunityIds("m-1"), ElementsAre("lead-a", "lead-c"));
  EXPECT_THAT(OpportunityIds("m-2"), ElementsAre("lead-b"));
  EXPECT_THAT(OpportunityIds(""), ElementsAre("lead-a", "lead-b", "lead-c"));

  const std::string offer = SentOffer("d-a", "lead-a");
  EXPECT_THAT(OpportunityIds("m-1"), ElementsAre("lead-c")) << "lead-a has its first offer";
  EXPECT_THAT(OpportunityIds("m-1", /*include_with_offers=*/true), ElementsAre("lead-a", "lead-c"));
  Ok(Accept("a-a", offer));
  EXPECT_THAT(OpportunityIds("m-1", true), ElementsAre("lead-c")) << "won: no longer open";

  AssignLead("lead-c", "m-2");
  EXPECT_THAT(OpportunityIds("m-1", true), IsEmpty());
  EXPECT_THAT(OpportunityIds("m-2"), ElementsAre("lead-b", "lead-c")) << "by qualification time, not assignment";

  api::v1::GetOpportunityRequest get;
  get.set_lead_id("lead-c");
  clock_.Advance(absl::Hours(3));
  auto c = queries_->GetOpportunity(get);
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->owner_manager_id(), "m-2");
  EXPECT_EQ(c->status(), api::v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_TRUE(c->awaiting_first_offer());
  EXPECT_EQ(c->age_seconds(), absl::ToInt64Seconds(clock_.Now() - events::FromProto(c->qualified_at())));
  EXPECT_GE(c->age_seconds(), 3 * 3600);
  get.set_lead_id("lead-gone");
  EXPECT_THAT(queries_->GetOpportunity(get), IsOkAndHolds(::testing::Property(
                                                 &api::v1::Opportunity::status, api::v1::OPPORTUNITY_STATUS_CLOSED)));
  get.set_lead_id("lead-new");
  EXPECT_THAT(queries_->GetOpportunity(get),
              StatusIs(Code::kNotFound, "lead lead-new is not qualified: it is not an opportunity yet"));

  // Paging, one at a time, every owner.
  api::v1::ListOpportunitiesRequest r;
  r.set_page_size(1);
  std::vector<std::string> paged;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = queries_->ListOpportunities(r);
    ASSERT_THAT(page, IsOk());
    for (const auto& o : page->opportunities()) paged.push_back(o.lead_id());
    if (page->next_page_token().empty()) break;
    r.set_page_token(page->next_page_token());
  }
  EXPECT_THAT(paged, ElementsAre("lead-b", "lead-c"));
}

// ---- the projection ----

TEST_F(OfferCommandsTest, ProjectionSkipsManagerEventsAndLeadPayloadsItDoesNotKnow) {
  Batch batch = store_->NewBatch();
  // A manager event on sales.leads.
  EventEnvelope manager = events::NewEnvelope("manager", "m-1", 1, "manager.registered", 1, {}, clock_);
  manager.mutable_manager()->mutable_registered()->set_name("Νίκος");
  EXPECT_THAT(projection_.Apply({kLeadsTopic, 0, 0, "m-1", events::Encode(manager), {}}, batch),
              IsOkAndHolds(Outcome::kSkipped));
  // A lead event whose payload is of a kind this build does not know (a newer lead acquisition).
  EventEnvelope newer = events::NewEnvelope(kLeadAggregate, "lead-1", 1, "lead.merged", 1, {}, clock_);
  const std::string unknown_payload = events::Encode(newer) + std::string("\xC2\x01\x02\x08\x01", 5);  // field 24
  EXPECT_THAT(projection_.Apply({kLeadsTopic, 0, 1, "lead-1", unknown_payload, {}}, batch),
              IsOkAndHolds(Outcome::kSkipped));
  // Another service's aggregate altogether.
  EventEnvelope client = events::NewEnvelope("client", "c-1", 1, "client.opened", 1, {}, clock_);
  client.mutable_lead()->mutable_captured();
  EXPECT_THAT(projection_.Apply({kLeadsTopic, 0, 2, "c-1", events::Encode(client), {}}, batch),
              IsOkAndHolds(Outcome::kSkipped));
  EXPECT_EQ(batch.size(), 0u) << "nothing written for skipped events";
  // A lead event type newer than this build inside a known payload: used, only the version moves.
  EventEnvelope activity = events::NewEnvelope(kLeadAggregate, "lead-2", 1, "lead.scored", 1, {}, clock_);
  activity.mutable_lead();
  EXPECT_THAT(projection_.Apply({kLeadsTopic, 0, 3, "lead-2", events::Encode(activity), {}}, batch),
              IsOkAndHolds(Outcome::kApplied));
  // A message keyed by something else than its aggregate: a bad record.
  EXPECT_THAT(projection_.Apply({kLeadsTopic, 0, 4, "other", events::Encode(activity), {}}, batch),
              StatusIs(Code::kInvalidArgument, HasSubstr("key: message key \"other\" is not the aggregate id")));
}

TEST_F(OfferCommandsTest, ProjectionRefusesAnOfferEventWithAVersionGapOrAConflict) {
  Catalogue();
  const std::string lead = QualifiedLead("lead-1");
  const std::string id = Ok(Draft("d-1", lead)).aggregate_id;
  const EventEnvelope drafted = OfferEvents(id).front();

  EventEnvelope gap = events::NewEnvelope(kOfferAggregate, id, 3, "offer.sent", 1, {}, clock_);
  gap.mutable_offer()->mutable_sent()->set_revision(1);
  Batch batch = store_->NewBatch();
  EXPECT_THAT(projection_.Apply({kOffersTopic, 0, 9, id, events::Encode(gap), {}}, batch),
              StatusIs(Code::kFailedPrecondition,
                       StrCat("version gap for offer ", id, ": stored version 1, event version 3")));
  // The same event again is a duplicate; another event at a version already held is a conflict.
  EXPECT_THAT(projection_.Apply({kOffersTopic, 0, 0, id, events::Encode(drafted), {}}, batch),
              IsOkAndHolds(Outcome::kDuplicate));
  EventEnvelope conflict = drafted;
  conflict.set_event_id("0b9e7a52-1111-4c1e-9f2a-0a1b2c3d4e5f");
  EXPECT_THAT(projection_.Apply({kOffersTopic, 0, 10, id, events::Encode(conflict), {}}, batch),
              StatusIs(Code::kFailedPrecondition, HasSubstr(StrCat("conflicting event for offer ", id, " version 1"))));
  // A product event with a gap too.
  EventEnvelope product_gap = events::NewEnvelope(kProductAggregate, "crm-pro", 5, "product.upserted", 1, {}, clock_);
  product_gap.mutable_product()->mutable_upserted()->set_name("x");
  EXPECT_THAT(projection_.Apply({kOffersTopic, 0, 11, "crm-pro", events::Encode(product_gap), {}}, batch),
              StatusIs(Code::kFailedPrecondition,
                       "version gap for product crm-pro: stored version 1, event version 5"));
  EXPECT_EQ(batch.size(), 0u);
}

// ---- rebuilding from the log ----

// Every row comes from one topic, so replaying sales.leads and sales.offers in any interleaving
// gives the rows the command path built, byte for byte.
TEST_F(OfferCommandsTest, RebuildFromBothTopicsInAnyInterleavingGivesTheSameRows) {
  Catalogue();
  QualifiedLead("lead-1", "m-1");
  QualifiedLead("lead-2", "m-2");
  QualifiedLead("lead-3", "m-1");
  CaptureLead("lead-4", "m-2");
  // Other traffic on sales.leads: a manager event and a payload this build does not know.
  EventEnvelope manager = events::NewEnvelope("manager", "m-3", 1, "manager.registered", 1, {}, clock_);
  manager.mutable_manager()->mutable_registered()->set_name("Ελένη");
  EXPECT_EQ(FeedLeadRecord({"", 0, 0, "m-3", events::Encode(manager), {}}), Outcome::kSkipped);
  EventEnvelope newer =
      events::NewEnvelope(kLeadAggregate, "lead-4", ++lead_versions_["lead-4"], "lead.merged", 1, {}, clock_);
  EXPECT_EQ(FeedLeadRecord({"", 0, 0, "lead-4", events::Encode(newer) + std::string("\xC2\x01\x00", 3), {}}),
            Outcome::kSkipped);

  const std::string won = SentOffer("d-1", "lead-1");
  Ok(Accept("a-1", won, 0, "PO 1"));
  const std::string second_accept = SentOffer("d-2", "lead-1", 2);
  Ok(Accept("a-2", second_accept));
  const std::string rejected = SentOffer("d-3", "lead-2");
  Ok(Reject("j-3", rejected));
  const std::string withdrawn = Ok(Draft("d-4", "lead-2")).aggregate_id;
  Ok(Withdraw("w-4", withdrawn));
  const std::string revised = Ok(Draft("d-5", "lead-3")).aggregate_id;
  Ok(Revise("r-5", revised, 1, {Line("crm-pro", 7, 500), Line("onboarding", 1)}));
  AssignLead("lead-3", "m-2");  // after its offer was drafted
  DisqualifyLead("lead-2");     // after its offers closed
  Ok(Product("p-onb-2", "onboarding", "Onboarding day (remote)", 60000));
  const std::string to_expire = SentOffer("d-6", "lead-3");
  QualifyLead("lead-4");
  const std::string open_draft = Ok(Draft("d-7", "lead-4")).aggregate_id;
  clock_.Advance(absl::Hours(24 * 31));
  auto expired = commands_->ExecuteAll({ExpireOffer{to_expire}, ExpireOffer{open_draft}, ExpireOffer{won}},
                                       {"offer-expiry", "system:offer-expiry"});
  for (const auto& r : expired) ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(expired[2]->nothing_to_do);
  events::v1::LeadEvent activity;
  activity.mutable_activity_logged()->set_type(events::v1::ACTIVITY_TYPE_CALL);
  EXPECT_EQ(FeedLead(LeadEnvelope("lead-1", "lead.activity_logged", activity)), Outcome::kApplied);

  const std::vector<Record> leads = lead_records_;
  const std::vector<Record> offers = OfferRecords();
  ASSERT_GE(leads.size(), 12u);
  ASSERT_GE(offers.size(), 20u);
  std::vector<Record> leads_then_offers = leads;
  leads_then_offers.insert(leads_then_offers.end(), offers.begin(), offers.end());
  std::vector<Record> offers_then_leads = offers;
  offers_then_leads.insert(offers_then_leads.end(), leads.begin(), leads.end());
  std::vector<Record> alternating;
  for (size_t i = 0; i < std::max(leads.size(), offers.size()); ++i) {
    if (i < leads.size()) alternating.push_back(leads[i]);
    if (i < offers.size()) alternating.push_back(offers[i]);
  }

  testing::TempDir d1, d2, d3;
  const auto a = Rebuild(leads_then_offers, d1);
  const auto b = Rebuild(offers_then_leads, d2);
  const auto c = Rebuild(alternating, d3);
  ExpectSameRows(*a, *b, "offers before leads");
  ExpectSameRows(*a, *c, "alternating");
  ExpectSameRows(*store_, *a, "rebuilt vs the command path's store");

  // Not vacuous: every family holds rows.
  for (const std::string& family : projection_.column_families()) {
    EXPECT_THAT(Rows(*store_, family), Not(IsEmpty())) << family;
  }
  // And the rebuilt store answers like the live one.
  OfferQueries rebuilt(c.get(), &clock_);
  api::v1::ListOffersRequest all;
  EXPECT_EQ(rebuilt.ListOffers(all).value().SerializeAsString(), queries_->ListOffers(all).value().SerializeAsString());
  api::v1::ListOpportunitiesRequest opportunities;
  opportunities.set_include_with_offers(true);
  EXPECT_EQ(rebuilt.ListOpportunities(opportunities).value().SerializeAsString(),
            queries_->ListOpportunities(opportunities).value().SerializeAsString());
}

}  // namespace
}  // namespace sales::first_offers
