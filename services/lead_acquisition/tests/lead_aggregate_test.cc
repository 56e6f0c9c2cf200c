// The lead and manager aggregates as pure code: given these events, when this command, then these
// events or this error.
#include "services/lead_acquisition/domain/lead.h"

#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

api::v1::CaptureLeadRequest ValidRequest() {
  api::v1::CaptureLeadRequest r;
  r.set_idempotency_key("key-1");
  r.set_name("  Μαρία Κωνσταντίνου  ");
  r.set_company("Ολυμπιακή Τεχνική");
  r.set_email("Maria@Example.GR");
  r.set_phone("+30 210 555 0101");
  r.set_source(events::v1::LEAD_SOURCE_WEB_FORM);
  r.set_external_id("form-1");
  r.set_region("GR-ATT");
  r.add_product_interest("crm-pro");
  r.set_company_size(120);
  return r;
}

EventEnvelope LeadEnvelope(const LeadEvent& payload, int64_t version, const std::string& id = "lead-1") {
  testing::FakeClock clock;
  EventEnvelope e = events::NewEnvelope(kLeadAggregate, id, version, EventTypeOf(payload), kSchemaVersion, {}, clock);
  *e.mutable_lead() = payload;
  return e;
}

// Given: the events so far. Returns the state they build.
Lead Given(const std::vector<LeadEvent>& history) {
  std::optional<Lead> state;
  for (size_t i = 0; i < history.size(); ++i) {
    Status s = EvolveLead(state, LeadEnvelope(history[i], static_cast<int64_t>(i) + 1));
    EXPECT_TRUE(s.ok()) << s;
  }
  return *state;
}

LeadEvent Captured(std::string manager_id = "") {
  events::v1::Assignment a;
  a.set_manager_id(manager_id);
  return DecideCapture(ValidRequest(), a);
}

Manager ActiveManager(const std::string& id, std::vector<std::string> regions, int open = 0, int total = 0,
                      std::vector<std::string> products = {}) {
  Manager m;
  m.set_manager_id(id);
  m.set_name("Manager " + id);
  m.set_active(true);
  for (auto& r : regions) m.add_regions(r);
  for (auto& p : products) m.add_products(p);
  m.set_open_leads(open);
  m.set_assigned_total(total);
  return m;
}

std::vector<FieldViolation> ViolationsOf(const Status& s) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return FieldViolations(s);
}

// ---- capture ----

TEST(CaptureLead, DecidesANormalisedLeadCapturedWithItsAssignment) {
  events::v1::Assignment a;
  a.set_manager_id("m-1");
  a.set_rule("least_loaded");
  LeadEvent e = DecideCapture(ValidRequest(), a);
  const auto& c = e.captured();
  EXPECT_EQ(c.contact().name(), "Μαρία Κωνσταντίνου");
  EXPECT_EQ(c.contact().email(), "maria@example.gr");
  EXPECT_EQ(c.company_size(), 120);
  EXPECT_EQ(c.assignment().manager_id(), "m-1");
  EXPECT_EQ(EventTypeOf(e), "lead.captured");
}

TEST(CaptureLead, ProductsNamedTwiceCountOnce) {
  auto r = ValidRequest();
  r.clear_product_interest();
  for (const char* p : {"crm-pro", "erp", "crm-pro", "erp", "crm-pro"}) r.add_product_interest(p);
  const LeadEvent captured = DecideCapture(r, {});
  EXPECT_THAT(captured.captured().product_interest(), ElementsAre("crm-pro", "erp"));
  EXPECT_THAT(DecideLink(r, "email").source_linked().product_interest(), ElementsAre("crm-pro", "erp"));
  const Lead lead = Given({captured});
  EXPECT_EQ(lead.score_components(3).points(), 10);
  EXPECT_EQ(lead.score_components(3).reason(), "interested in 2 products");
  // Events recorded before products were de-duplicated score the same.
  LeadEvent old = captured;
  old.mutable_captured()->add_product_interest("erp");
  EXPECT_THAT(Given({old}).product_interest(), ElementsAre("crm-pro", "erp"));
}

TEST(CaptureLead, EvolveBuildsTheLeadOwnedAndScored) {
  Lead lead = Given({Captured("m-1")});
  EXPECT_EQ(lead.version(), 1);
  EXPECT_EQ(lead.status(), Lead::STATUS_NEW);
  EXPECT_EQ(lead.owner_manager_id(), "m-1");
  EXPECT_EQ(lead.company(), "Ολυμπιακή Τεχνική");
  // web form 15 + contact 15 + 120 employees 10 + one product 5 + no activity 0 + not qualified 0
  EXPECT_EQ(lead.score(), 45);
  EXPECT_FALSE(lead.target_client());
  ASSERT_EQ(lead.score_components_size(), 6);
  EXPECT_EQ(lead.score_components(0).factor(), "source");
  EXPECT_EQ(lead.score_components(0).points(), 15);
  EXPECT_THAT(lead.score_components(2).reason(), HasSubstr("120 employees"));
}

TEST(CaptureLead, EvolveRefusesASecondCaptureAndEventsBeforeCapture) {
  std::optional<Lead> state;
  ASSERT_TRUE(EvolveLead(state, LeadEnvelope(Captured(), 1)).ok());
  EXPECT_EQ(EvolveLead(state, LeadEnvelope(Captured(), 2)).code(), absl::StatusCode::kFailedPrecondition);
  std::optional<Lead> none;
  LeadEvent q;
  q.mutable_qualified()->set_need("x");
  EXPECT_THAT(EvolveLead(none, LeadEnvelope(q, 1)).message(), HasSubstr("before the lead was captured"));
}

TEST(CaptureLead, EvolveRefusesForeignAndEmptyEvents) {
  std::optional<Lead> state;
  EventEnvelope e = LeadEnvelope(LeadEvent(), 1);
  EXPECT_EQ(EvolveLead(state, e).code(), absl::StatusCode::kInvalidArgument);
  e.set_aggregate_type("offer");
  EXPECT_THAT(EvolveLead(state, e).message(), HasSubstr("not a lead event"));
}

TEST(LinkSource, AddsTheSourceAndFillsMissingContactDetails) {
  auto r = ValidRequest();
  r.set_source(events::v1::LEAD_SOURCE_EVENT);
  r.set_external_id("badge-77");
  r.add_product_interest("erp");
  LeadEvent first = Captured();
  first.mutable_captured()->mutable_contact()->clear_phone();
  Lead lead = Given({first, DecideLink(r, "email")});
  ASSERT_EQ(lead.linked_sources_size(), 1);
  EXPECT_EQ(lead.linked_sources(0).source(), events::v1::LEAD_SOURCE_EVENT);
  EXPECT_EQ(lead.linked_sources(0).matched_on(), "email");
  EXPECT_EQ(lead.phone(), "+30 210 555 0101");
  EXPECT_THAT(lead.product_interest(), ElementsAre("crm-pro", "erp"));
  EXPECT_EQ(lead.source(), events::v1::LEAD_SOURCE_WEB_FORM) << "the first source stays the lead's source";
}

// ---- qualify / disqualify ----

api::v1::QualifyLeadRequest Qualify() {
  api::v1::QualifyLeadRequest r;
  r.set_idempotency_key("q-1");
  r.set_lead_id("123e4567-e89b-12d3-a456-426614174000");
  r.set_need("replace spreadsheets for 40 sales staff");
  r.set_budget("€30k approved");
  return r;
}

api::v1::DisqualifyLeadRequest Disqualify(events::v1::DisqualificationReason reason) {
  api::v1::DisqualifyLeadRequest r;
  r.set_idempotency_key("d-1");
  r.set_lead_id("123e4567-e89b-12d3-a456-426614174000");
  r.set_reason(reason);
  return r;
}

TEST(QualifyLead, GivenNewWhenQualifyThenQualifiedWithWhy) {
  Lead lead = Given({Captured()});
  auto e = DecideQualify(lead, Qualify());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->qualified().budget(), "€30k approved");
  Lead after = Given({Captured(), *e});
  EXPECT_EQ(after.status(), Lead::STATUS_QUALIFIED);
  EXPECT_EQ(after.score(), 60) << "qualification adds 15";
  EXPECT_TRUE(after.target_client());
}

TEST(QualifyLead, GivenQualifiedWhenQualifyAgainThenFailedPrecondition) {
  Lead lead = Given({Captured(), *DecideQualify(Given({Captured()}), Qualify())});
  auto e = DecideQualify(lead, Qualify());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(e.status().message(), HasSubstr("already qualified"));
}

TEST(QualifyLead, GivenDisqualifiedWhenQualifyThenFailedPreconditionSayingWhy) {
  LeadEvent d = *DecideDisqualify(Given({Captured()}), Disqualify(events::v1::DISQUALIFICATION_REASON_NO_BUDGET));
  Lead lead = Given({Captured(), d});
  EXPECT_EQ(lead.status(), Lead::STATUS_DISQUALIFIED);
  EXPECT_FALSE(lead.target_client());
  auto e = DecideQualify(lead, Qualify());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(e.status().message(), HasSubstr("is disqualified (DISQUALIFICATION_REASON_NO_BUDGET)"));
  EXPECT_EQ(DecideDisqualify(lead, Disqualify(events::v1::DISQUALIFICATION_REASON_SPAM)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(QualifyLead, ExpectedVersionMismatchIsAborted) {
  Lead lead = Given({Captured()});
  auto r = Qualify();
  r.set_expected_version(3);
  EXPECT_EQ(DecideQualify(lead, r).status().code(), absl::StatusCode::kAborted);
  r.set_expected_version(1);
  EXPECT_TRUE(DecideQualify(lead, r).ok());
}

TEST(DisqualifyLead, OtherNeedsANote) {
  auto r = Disqualify(events::v1::DISQUALIFICATION_REASON_OTHER);
  EXPECT_THAT(ViolationsOf(ValidateDisqualify(r)), ElementsAre(Field(&FieldViolation::field, "note")));
  r.set_note("moved abroad");
  EXPECT_TRUE(ValidateDisqualify(r).ok());
  EXPECT_THAT(ViolationsOf(ValidateDisqualify(Disqualify(events::v1::DISQUALIFICATION_REASON_UNSPECIFIED))),
              ElementsAre(Field(&FieldViolation::field, "reason")));
}

// ---- assign / activity ----

api::v1::AssignLeadRequest Assign(const std::string& manager_id) {
  api::v1::AssignLeadRequest r;
  r.set_idempotency_key("a-1");
  r.set_lead_id("123e4567-e89b-12d3-a456-426614174000");
  r.set_manager_id(manager_id);
  return r;
}

TEST(AssignLead, ReassignsAndRecordsThePreviousOwner) {
  Lead lead = Given({Captured("m-1")});
  auto e = DecideAssign(lead, ActiveManager("m-2", {"GR-ATT"}), Assign("m-2"));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->assigned().previous_manager_id(), "m-1");
  EXPECT_EQ(e->assigned().assignment().rule(), "manual");
  EXPECT_EQ(Given({Captured("m-1"), *e}).owner_manager_id(), "m-2");
}

TEST(AssignLead, InactiveManagerSameManagerAndDisqualifiedLeadAreRefused) {
  Lead lead = Given({Captured("m-1")});
  Manager inactive = ActiveManager("m-2", {"GR-ATT"});
  inactive.set_active(false);
  auto e = DecideAssign(lead, inactive, Assign("m-2"));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(e.status().message(), HasSubstr("is inactive; leads cannot be assigned"));
  EXPECT_THAT(DecideAssign(lead, ActiveManager("m-1", {"*"}), Assign("m-1")).status().message(),
              HasSubstr("already assigned"));
  Lead gone = Given({Captured("m-1"), *DecideDisqualify(lead, Disqualify(events::v1::DISQUALIFICATION_REASON_SPAM))});
  EXPECT_EQ(DecideAssign(gone, ActiveManager("m-2", {"*"}), Assign("m-2")).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(LogLeadActivity, PositiveOutcomesRaiseTheScoreUpToTwenty) {
  testing::FakeClock clock;
  api::v1::LogLeadActivityRequest r;
  r.set_idempotency_key("act");
  r.set_lead_id("123e4567-e89b-12d3-a456-426614174000");
  r.set_manager_id("123e4567-e89b-12d3-a456-426614174001");
  r.set_type(events::v1::ACTIVITY_TYPE_CALL);
  r.set_outcome(events::v1::ACTIVITY_OUTCOME_REACHED);
  ASSERT_TRUE(ValidateLogActivity(r, clock.Now()).ok());
  std::vector<LeadEvent> history = {Captured()};
  for (int i = 0; i < 5; ++i) history.push_back(*DecideLogActivity(Given(history), ActiveManager("m", {"*"}), r, clock.Now()));
  r.set_outcome(events::v1::ACTIVITY_OUTCOME_NO_ANSWER);
  history.push_back(*DecideLogActivity(Given(history), ActiveManager("m", {"*"}), r, clock.Now()));
  Lead lead = Given(history);
  EXPECT_EQ(lead.activities(), 6);
  EXPECT_EQ(lead.positive_activities(), 5);
  EXPECT_EQ(lead.score_components(4).points(), 20);
  EXPECT_EQ(lead.last_activity_at().seconds(), absl::ToUnixSeconds(clock.Now()));
}

TEST(LogLeadActivity, RefusesTheFutureAndMissingFields) {
  testing::FakeClock clock;
  api::v1::LogLeadActivityRequest r;
  r.set_idempotency_key("act");
  r.set_lead_id("123e4567-e89b-12d3-a456-426614174000");
  r.set_manager_id("not-a-uuid");
  r.mutable_occurred_at()->set_seconds(absl::ToUnixSeconds(clock.Now() + absl::Hours(1)));
  std::vector<std::string> fields;
  for (const auto& v : ViolationsOf(ValidateLogActivity(r, clock.Now()))) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("manager_id", "type", "outcome", "occurred_at"));
}

TEST(LogLeadActivity, UnknownEnumValuesAreCalledUnknownNotMissing) {
  testing::FakeClock clock;
  api::v1::LogLeadActivityRequest r;
  r.set_idempotency_key("act");
  r.set_lead_id("123e4567-e89b-12d3-a456-426614174000");
  r.set_manager_id("123e4567-e89b-12d3-a456-426614174001");
  r.set_type(static_cast<events::v1::ActivityType>(42));
  r.set_outcome(static_cast<events::v1::ActivityOutcome>(77));
  EXPECT_THAT(ViolationsOf(ValidateLogActivity(r, clock.Now())),
              ElementsAre(Field(&FieldViolation::description, HasSubstr("unknown value 42")),
                          Field(&FieldViolation::description, "unknown value 77")));
  r.clear_outcome();
  EXPECT_THAT(ViolationsOf(ValidateLogActivity(r, clock.Now())),
              ElementsAre(Field(&FieldViolation::field, "type"),
                          Field(&FieldViolation::description, HasSubstr("must be set"))));
}

// ---- automatic assignment ----

TEST(ChooseManager, LeastLoadedAmongThoseCoveringTheRegionThenFewestEverThenId) {
  std::vector<Manager> roster = {ActiveManager("m-c", {"GR-ATT"}, 2, 9), ActiveManager("m-a", {"GR-ATT"}, 1, 9),
                                 ActiveManager("m-b", {"GR-ATT"}, 1, 4), ActiveManager("m-d", {"GR-THE"}, 0, 0)};
  auto a = ChooseManager("GR-ATT", {}, roster);
  EXPECT_EQ(a.manager_id(), "m-b");
  EXPECT_EQ(a.rule(), "least_loaded");
  EXPECT_THAT(a.reason(), HasSubstr("fewest open leads (1) among 3 active managers covering GR-ATT"));
  roster[2].set_assigned_total(9);
  EXPECT_EQ(ChooseManager("GR-ATT", {}, roster).manager_id(), "m-a") << "ties go to the smallest id";
}

TEST(ChooseManager, PrefersProductSpecialistsAndWildcardRegions) {
  std::vector<Manager> roster = {ActiveManager("m-1", {"GR-ATT"}, 0), ActiveManager("m-2", {"*"}, 5, 5, {"erp"})};
  EXPECT_EQ(ChooseManager("GR-ATT", {"erp"}, roster).manager_id(), "m-2");
  EXPECT_EQ(ChooseManager("GR-ATT", {"crm"}, roster).manager_id(), "m-1");
  EXPECT_EQ(ChooseManager("CY-NIC", {}, roster).manager_id(), "m-2");
}

TEST(ChooseManager, NobodyCoveringOrNoRegionLeavesItUnassignedWithTheReason) {
  Manager gone = ActiveManager("m-1", {"GR-ATT"});
  gone.set_active(false);
  EXPECT_EQ(ChooseManager("GR-ATT", {}, {gone}).manager_id(), "");
  EXPECT_THAT(ChooseManager("GR-ATT", {}, {gone}).reason(), HasSubstr("no active manager covers GR-ATT"));
  EXPECT_THAT(ChooseManager("", {}, {ActiveManager("m-2", {"*"})}).reason(), HasSubstr("no region"));
}

TEST(ChooseManager, SpreadsASeriesOfLeadsEvenly) {
  std::vector<Manager> roster = {ActiveManager("m-1", {"GR-ATT"}), ActiveManager("m-2", {"GR-ATT"}),
                                 ActiveManager("m-3", {"GR-ATT"})};
  std::map<std::string, int> got;
  for (int i = 0; i < 300; ++i) {
    auto a = ChooseManager("GR-ATT", {}, roster);
    got[a.manager_id()]++;
    for (auto& m : roster) {
      if (m.manager_id() == a.manager_id()) {
        m.set_open_leads(m.open_leads() + 1);
        m.set_assigned_total(m.assigned_total() + 1);
      }
    }
  }
  EXPECT_EQ(got, (std::map<std::string, int>{{"m-1", 100}, {"m-2", 100}, {"m-3", 100}}));
}

// ---- managers ----

TEST(Manager, RegisterNormalisesAndDeactivateOnce) {
  api::v1::RegisterManagerRequest r;
  r.set_idempotency_key("mgr");
  r.set_name("Νίκος");
  r.set_email("Nikos@Example.gr");
  r.add_regions("GR-ATT");
  r.add_regions("GR-ATT");
  r.add_regions("GR-THE");
  ASSERT_TRUE(ValidateRegisterManager(r).ok());
  ManagerEvent e = DecideRegisterManager(r);
  EXPECT_THAT(e.registered().regions(), ElementsAre("GR-ATT", "GR-THE"));
  EXPECT_EQ(e.registered().email(), "nikos@example.gr");
  testing::FakeClock clock;
  EventEnvelope env = events::NewEnvelope(kManagerAggregate, "m-1", 1, EventTypeOf(e), 1, {}, clock);
  *env.mutable_manager() = e;
  std::optional<Manager> m;
  ASSERT_TRUE(EvolveManager(m, env).ok());
  EXPECT_TRUE(m->active());
  api::v1::DeactivateManagerRequest d;
  auto off = DecideDeactivateManager(*m, d);
  ASSERT_TRUE(off.ok());
  env.set_aggregate_version(2);
  *env.mutable_manager() = *off;
  ASSERT_TRUE(EvolveManager(m, env).ok());
  EXPECT_FALSE(m->active());
  EXPECT_EQ(DecideDeactivateManager(*m, d).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Manager, RegisterValidation) {
  api::v1::RegisterManagerRequest r;
  r.set_idempotency_key("mgr");
  r.set_name("X");
  r.set_email("bad");
  r.add_regions("GR ATT");
  std::vector<std::string> fields;
  for (const auto& v : ViolationsOf(ValidateRegisterManager(r))) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("email", "regions[0]"));
}

// ---- validation of capture ----

TEST(ValidateCapture, NamesEachBadField) {
  auto r = ValidRequest();
  r.clear_idempotency_key();
  EXPECT_THAT(ViolationsOf(ValidateCapture(r)), ElementsAre(Field(&FieldViolation::field, "idempotency_key")));
  r = ValidRequest();
  r.set_name("   ");
  EXPECT_THAT(ViolationsOf(ValidateCapture(r)), ElementsAre(Field(&FieldViolation::field, "name")));
  r = ValidRequest();
  r.set_name(std::string(201, 'x'));
  EXPECT_THAT(ViolationsOf(ValidateCapture(r)), ElementsAre(Field(&FieldViolation::description, "at most 200 characters")));
  r = ValidRequest();
  r.set_name("Ζ" + std::string(199, 'x'));  // 200 characters, 201 bytes: allowed
  EXPECT_TRUE(ValidateCapture(r).ok());
  r.set_name("tab\there");
  EXPECT_THAT(ViolationsOf(ValidateCapture(r)),
              ElementsAre(Field(&FieldViolation::description, HasSubstr("control characters"))));
  r = ValidRequest();
  r.set_source(events::v1::LEAD_SOURCE_UNSPECIFIED);
  EXPECT_THAT(ViolationsOf(ValidateCapture(r)), ElementsAre(Field(&FieldViolation::field, "source")));
  r = ValidRequest();
  r.set_region("GR ATT");
  EXPECT_THAT(ViolationsOf(ValidateCapture(r)), ElementsAre(Field(&FieldViolation::field, "region")));
  r = ValidRequest();
  r.add_product_interest("CRM Pro");
  EXPECT_THAT(ViolationsOf(ValidateCapture(r)), ElementsAre(Field(&FieldViolation::field, "product_interest[1]")));
  r = ValidRequest();
  r.set_company_size(-1);
  EXPECT_THAT(ViolationsOf(ValidateCapture(r)), ElementsAre(Field(&FieldViolation::field, "company_size")));
}

// Text that looks blank, or that is shown in another order than it is stored, is not a name.
TEST(ValidateCapture, InvisibleAndBidiControlledTextIsRefused) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"\u200B", "visible character"},  // zero width space only
      {" \u200B\u200C\u2060\uFEFF ", "visible character"},
      {"\u00A0\u3000", "visible character"},  // no-break and ideographic spaces
      {"Ann\u202Ea", "bidirectional"},         // right-to-left override
      {"\u2067Ann", "bidirectional"},          // right-to-left isolate
      {"Ann\xC2\x85", "control characters"},  // C1 control (NEL)
      {"Ann\xff", "not valid UTF-8"},         // gRPC and the JSON parser refuse it first; checked anyway
  };
  for (const auto& [name, why] : refused) {
    auto r = ValidRequest();
    r.set_name(name);
    EXPECT_THAT(ViolationsOf(ValidateCapture(r)),
                ElementsAre(AllOf(Field(&FieldViolation::field, "name"),
                                  Field(&FieldViolation::description, HasSubstr(why)))))
        << name;
  }
  auto company = ValidRequest();
  company.set_company("\u200B");
  EXPECT_THAT(ViolationsOf(ValidateCapture(company)), ElementsAre(Field(&FieldViolation::field, "company")));
  // Right-to-left scripts need no controls, and a joiner inside a word is fine.
  for (const char* ok : {"דוד כהן", "محمد علي", "Ελένη Παππά", "क्‍ष", "Zoë\u200DAnn"}) {
    auto r = ValidRequest();
    r.set_name(ok);
    EXPECT_TRUE(ValidateCapture(r).ok()) << ok;
  }
}

TEST(ValidateCapture, ContactNeedsEmailOrPhoneOrAnExternalId) {
  auto r = ValidRequest();
  r.clear_email();
  EXPECT_TRUE(ValidateCapture(r).ok());
  r.clear_phone();
  EXPECT_TRUE(ValidateCapture(r).ok()) << "an external id alone: the sender can still tell us who it is";
  r.clear_external_id();
  EXPECT_THAT(ViolationsOf(ValidateCapture(r)),
              ElementsAre(Field(&FieldViolation::description, HasSubstr("e-mail or a phone"))));
}

TEST(ValidateCapture, Emails) {
  for (const char* good : {"a@b.co", "first.last+tag@sub.example.com", "o'neil@example.ie"}) {
    auto r = ValidRequest();
    r.set_email(good);
    EXPECT_TRUE(ValidateCapture(r).ok()) << good;
  }
  for (const char* bad : {"plain", "@example.com", "a@", "a@b", "a..b@example.com", "a@-x.com", "a@x.c", "a b@x.com",
                          "a@x.c0m", "a@@x.com"}) {
    auto r = ValidRequest();
    r.clear_phone();  // nothing else usable: a malformed e-mail refuses the lead
    r.clear_external_id();
    r.set_email(bad);
    EXPECT_THAT(ViolationsOf(ValidateCapture(r)), ElementsAre(Field(&FieldViolation::field, "email"))) << bad;
  }
}

TEST(ValidateCapture, Phones) {
  for (const char* good : {"+302105550101", "(210) 555-0101", "210.555.0101"}) {
    auto r = ValidRequest();
    r.set_phone(good);
    EXPECT_TRUE(ValidateCapture(r).ok()) << good;
  }
  for (const char* bad : {"12345", "+1 (555) 0101 2222 33333", "555-CALL-NOW", "30+210555010"}) {
    auto r = ValidRequest();
    r.clear_email();
    r.clear_external_id();
    r.set_phone(bad);
    EXPECT_THAT(ViolationsOf(ValidateCapture(r)), ElementsAre(Field(&FieldViolation::field, "phone"))) << bad;
  }
}

TEST(ValidateCapture, ReportsAllViolationsAtOnce) {
  api::v1::CaptureLeadRequest r;
  std::vector<std::string> fields;
  for (const auto& f : ViolationsOf(ValidateCapture(r))) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("idempotency_key", "name", "email", "source"));
}

TEST(Identity, StableIdsAndNormalisedKeys) {
  EXPECT_EQ(LeadIdFor("k"), LeadIdFor("k"));
  EXPECT_NE(LeadIdFor("k"), LeadIdFor("k2"));
  EXPECT_NE(LeadIdFor("k"), ManagerIdFor("k"));
  EXPECT_EQ(NormalizeEmail("  Eleni@Example.GR "), "eleni@example.gr");
  EXPECT_EQ(NormalizePhone("+30 (210) 555-0101"), "+302105550101");
  EXPECT_EQ(NormalizePhone("0030 210 5550101"), "+302105550101");
  EXPECT_EQ(NormalizePhone("210 555 0101"), "2105550101");
  EXPECT_EQ(NormalizePhone(""), "");
}

}  // namespace
}  // namespace sales::lead_acquisition
