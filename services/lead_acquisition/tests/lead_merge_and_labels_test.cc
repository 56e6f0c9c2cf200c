// Leads as real systems send them (issue 14): source labels kept verbatim and mapped to channels,
// line breaks in one-line fields, internationalised e-mails, leads with only an external id; the
// import's dry run; and merging two leads that are one person. Command path with a fake publisher
// and a real store in a temp folder.
#include <fstream>
#include <set>
#include <sstream>

#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "common/testing/fake_publisher.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/lead_acquisition/commands/lead_commands.h"
#include "services/lead_acquisition/projection/lead_projection.h"
#include "services/lead_acquisition/api/lead_queries.h"
#include "services/lead_acquisition/domain/source_channels.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

api::v1::CaptureLeadRequest Capture(const std::string& key, const std::string& name, const std::string& email,
                                    const std::string& label = "newsletter") {
  api::v1::CaptureLeadRequest r;
  r.set_idempotency_key(key);
  r.set_name(name);
  r.set_email(email);
  r.set_source_label(label);
  r.set_region("GR-ATT");
  return r;
}

class RealExportsTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(nullptr); }
  void Open(const SourceChannels* channels) {
    commands_.reset();
    store_.reset();
    dir_ = std::make_unique<testing::TempDir>();
    store_ = Store::Open({.path = dir_->path(), .column_families = projection_.column_families()}).value();
    applier_ = std::make_unique<projection::Applier>(store_.get(), &projection_);
    commands_ = std::make_unique<LeadCommands>(CommandOptions{"t.sales.leads"}, &publisher_, applier_.get(), &clock_,
                                               &metrics_, channels);
    ASSERT_TRUE(commands_->Start().ok());
    queries_ = std::make_unique<LeadQueries>(store_.get());
  }

  CommandResult Ok(Command c) {
    clock_.Advance(absl::Milliseconds(1));
    auto r = commands_->Execute(std::move(c), caller_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommandResult{};
  }
  Status Err(Command c) { return commands_->Execute(std::move(c), caller_).status(); }
  api::v1::Lead Get(const std::string& id) {
    api::v1::GetLeadRequest g;
    g.set_lead_id(id);
    return queries_->GetLead(g).value();
  }
  std::vector<api::v1::Lead> List(std::vector<api::v1::LeadStatus> statuses = {}) {
    api::v1::ListLeadsRequest r;
    for (auto s : statuses) r.add_statuses(s);
    auto out = queries_->ListLeads(r).value();
    return {out.leads().begin(), out.leads().end()};
  }

  std::unique_ptr<testing::TempDir> dir_;
  testing::FakeClock clock_;
  testing::FakePublisher publisher_;
  MetricsRegistry metrics_;
  LeadProjection projection_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<LeadCommands> commands_;
  std::unique_ptr<LeadQueries> queries_;
  const Caller caller_{"corr-14", "maria"};
};

TEST(SourceChannels, BuiltInTableAndCustomTables) {
  SourceChannels built_in;
  EXPECT_EQ(built_in.Channel("partner"), events::v1::LEAD_SOURCE_REFERRAL);
  EXPECT_EQ(built_in.Channel("Trade-Show"), events::v1::LEAD_SOURCE_EVENT);
  EXPECT_EQ(built_in.Channel("Google Ads - Spring"), events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
  EXPECT_EQ(built_in.Channel("Έκθεση"), events::v1::LEAD_SOURCE_EVENT);
  EXPECT_EQ(built_in.Channel("web_form"), events::v1::LEAD_SOURCE_WEB_FORM);
  EXPECT_EQ(built_in.Channel("LEAD_SOURCE_INBOUND_CALL"), events::v1::LEAD_SOURCE_INBOUND_CALL);
  EXPECT_EQ(built_in.Channel("something nobody listed"), events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
  auto custom = SourceChannels::Parse("# ours\n* = manual\nvip* = referral\nGoogle Ads - Spring = event\n");
  ASSERT_TRUE(custom.ok()) << custom.status();
  EXPECT_EQ(custom->Channel("VIP customers"), events::v1::LEAD_SOURCE_REFERRAL);
  EXPECT_EQ(custom->Channel("google ads spring"), events::v1::LEAD_SOURCE_EVENT);
  EXPECT_EQ(custom->Channel("newsletter"), events::v1::LEAD_SOURCE_MANUAL) << "not in this table: its default";
  auto bad = SourceChannels::Parse("partner = referral\nnewsletter\nfax = carrier_pigeon\n");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("line 2: expected \"label = channel\""));
  EXPECT_THAT(bad.status().message(), HasSubstr("line 3: \"carrier_pigeon\" is not a channel"));
}

TEST_F(RealExportsTest, LabelsAreKeptVerbatimAndCountedInAChannelNeverRefused) {
  const api::v1::Lead partner = Get(Ok(Capture("l1", "Ελένη Παππά", "eleni@example.gr", "partner")).aggregate_id);
  EXPECT_EQ(partner.source(), events::v1::LEAD_SOURCE_REFERRAL);
  EXPECT_EQ(partner.source_label(), "partner");
  const api::v1::Lead unknown = Get(Ok(Capture("l2", "Νίκος Ρήγας", "nikos@example.gr", "Google Ads - Άνοιξη 2026")).aggregate_id);
  EXPECT_EQ(unknown.source(), events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
  EXPECT_EQ(unknown.source_label(), "Google Ads - Άνοιξη 2026");
  // A channel named by the caller wins over the table; the label is kept.
  auto explicit_channel = Capture("l3", "Άρης Κανέλλος", "aris@example.gr", "Google Ads");
  explicit_channel.set_source(events::v1::LEAD_SOURCE_EVENT);
  EXPECT_EQ(Get(Ok(explicit_channel).aggregate_id).source(), events::v1::LEAD_SOURCE_EVENT);
  auto neither = Capture("l4", "Χωρίς Πηγή", "x@example.gr", "");
  EXPECT_THAT(Err(neither).message(), HasSubstr("source: must be set"));

  auto table = SourceChannels::Parse("* = manual\n");
  Open(&*table);
  EXPECT_EQ(Get(Ok(Capture("l5", "Ελένη Παππά", "eleni@example.gr", "partner")).aggregate_id).source(),
            events::v1::LEAD_SOURCE_MANUAL)
      << "the configured table, not the built-in one";
}

TEST_F(RealExportsTest, LineBreaksAndTabsInOneLineFieldsBecomeASpace) {
  auto r = Capture("b1", "Ιωάννα\r\nΜάρκου", "ioanna@example.gr");
  r.set_company("Μάρκου\nLogistics\tΑ.Ε.");
  const api::v1::Lead lead = Get(Ok(r).aggregate_id);
  EXPECT_EQ(lead.name(), "Ιωάννα Μάρκου");
  EXPECT_EQ(lead.company(), "Μάρκου Logistics Α.Ε.");
  EXPECT_EQ(Ok(r).replayed, true) << "the same request again is a retry";
}

TEST_F(RealExportsTest, InternationalisedEmailsAreValidAndTheSamePersonWhateverTheCase) {
  const CommandResult jose = Ok(Capture("e1", "José Pérez", "  JOSÉ@EXAMPLE.COM "));
  EXPECT_EQ(Get(jose.aggregate_id).email(), "josé@example.com");
  const CommandResult again = Ok(Capture("e2", "José Pérez", "josé@example.com", "trade-show"));
  EXPECT_EQ(again.capture, api::v1::CAPTURE_OUTCOME_LINKED);
  EXPECT_EQ(again.aggregate_id, jose.aggregate_id);
  const CommandResult eleni = Ok(Capture("e3", "Ελένη Ζαφείρη", "Ελένη@Παράδειγμα.ελ"));
  EXPECT_EQ(Get(eleni.aggregate_id).email(), "ελένη@παράδειγμα.ελ");
  EXPECT_EQ(Ok(Capture("e4", "Ελένη Ζαφείρη", "ελένη@xn--hxajbheg2az3al.xn--qxam")).capture,
            api::v1::CAPTURE_OUTCOME_LINKED)
      << "an IDN domain in ASCII form is the same domain";
  EXPECT_THAT(Err(Capture("e5", "X", "not an address")).message(), HasSubstr("email: not a valid e-mail address"));
}

TEST_F(RealExportsTest, ARowIsRefusedOnlyWhenTrulyUnusable) {
  auto id_only = Capture("u1", "Μαρίνα Σπύρου", "");
  id_only.set_external_id("crm-77");
  EXPECT_EQ(Ok(id_only).capture, api::v1::CAPTURE_OUTCOME_CREATED) << "an external id is enough to know them again";
  EXPECT_THAT(Err(Capture("u2", "Μαρίνα Σπύρου", "")).message(), HasSubstr("an e-mail or a phone number is required"));
  EXPECT_THAT(Err(Capture("u3", " \t", "m@example.gr")).message(), HasSubstr("name: must not be empty"));
  // A malformed value beside a usable one is left out, and the answer says so.
  auto typo = Capture("u4", "Σοφία Δημητρίου", "sofia(at)example.gr");
  typo.set_phone("+30 210 555 0123");
  const CommandResult created = Ok(typo);
  EXPECT_EQ(created.capture, api::v1::CAPTURE_OUTCOME_CREATED);
  EXPECT_THAT(created.left_out, ElementsAre("email \"sofia(at)example.gr\" left out: not a valid e-mail address"));
  EXPECT_EQ(Get(created.aggregate_id).email(), "");
  EXPECT_EQ(Get(created.aggregate_id).phone(), "+30 210 555 0123");
  auto bad_phone = Capture("u5", "Σοφία Δημητρίου", "", "partner");
  bad_phone.set_phone("12");
  bad_phone.set_external_id("crm-5");
  EXPECT_THAT(Ok(bad_phone).left_out, ElementsAre(HasSubstr("phone \"12\" left out")));
  auto nothing = Capture("u6", "Σοφία Δημητρίου", "sofia(at)example.gr");
  nothing.set_phone("12");
  EXPECT_THAT(Err(nothing).message(), HasSubstr("email: not a valid e-mail address; phone: not a valid phone number"));
}

TEST_F(RealExportsTest, DryRunDecidesLikeTheImportAndWritesNothing) {
  Ok(Capture("d0", "Υπάρχων Πελάτης", "known@example.gr"));
  const size_t published = publisher_.published().size();
  auto batch = [&] {
    std::vector<Command> c;
    c.push_back(Capture("d1", "Νέα Επαφή", "new@example.gr"));
    c.push_back(Capture("d2", "Νέα Επαφή", "NEW@example.gr", "partner"));  // the same person, in the same file
    c.push_back(Capture("d3", "Υπάρχων Πελάτης", "known@example.gr", "event"));
    c.push_back(Capture("d4", "", "x@example.gr"));
    c.push_back(Capture("d0", "Υπάρχων Πελάτης", "known@example.gr"));  // imported before
    return c;
  };
  auto outcomes = [](const std::vector<StatusOr<CommandResult>>& results) {
    std::vector<std::string> out;
    for (const auto& r : results) {
      out.push_back(!r.ok() ? "rejected" : r->replayed ? "replayed" : api::v1::CaptureOutcome_Name(r->capture));
    }
    return out;
  };
  const auto dry = outcomes(commands_->DryRunAll(batch(), caller_));
  EXPECT_THAT(dry, ElementsAre("CAPTURE_OUTCOME_CREATED", "CAPTURE_OUTCOME_LINKED", "CAPTURE_OUTCOME_LINKED",
                               "rejected", "replayed"));
  EXPECT_EQ(publisher_.published().size(), published) << "nothing appended";
  EXPECT_EQ(List().size(), 1u) << "nothing stored";
  EXPECT_EQ(outcomes(commands_->ExecuteAll(batch(), caller_)), dry) << "the real import does what the dry run said";
}

TEST_F(RealExportsTest, MergeKeepsBothHistoriesAndSourcesAndCountsOneLead) {
  api::v1::RegisterManagerRequest m;
  m.set_idempotency_key("mgr");
  m.set_name("Άννα");
  m.set_email("anna@example.gr");
  m.add_regions("GR-ATT");
  const std::string manager = Ok(m).aggregate_id;
  const std::string a = Ok(Capture("m1", "Ελένη Παππά", "eleni@example.gr", "partner")).aggregate_id;
  auto second = Capture("m2", "Ε. Παππά", "e.pappa@work.example.gr", "Google Ads - Spring");
  second.set_phone("+30 210 555 0101");
  second.set_external_id("hs-9");
  second.add_product_interest("crm-pro");
  const std::string b = Ok(second).aggregate_id;
  ASSERT_EQ(List().size(), 2u);

  api::v1::MergeLeadsRequest merge;
  merge.set_idempotency_key("merge-1");
  merge.set_survivor_lead_id(a);
  merge.set_merged_lead_id(b);
  merge.set_note("same person, work address");
  const size_t before = publisher_.published().size();
  const CommandResult merged = Ok(merge);
  EXPECT_EQ(merged.aggregate_id, a);
  EXPECT_EQ(merged.version, 2);
  auto published = publisher_.published();
  ASSERT_EQ(published.size(), before + 2) << "one event per lead";
  std::set<std::string> types;
  for (size_t i = before; i < published.size(); ++i) {
    auto e = events::Decode(published[i].value).value();
    types.insert(e.event_type());
    const auto& payload = e.lead().has_merged() ? e.lead().merged() : e.lead().merged_into();
    EXPECT_EQ(payload.survivor_lead_id(), a);
    EXPECT_EQ(payload.merged_lead_id(), b);
  }
  EXPECT_THAT(types, ElementsAre("lead.merged", "lead.merged_into"));

  const api::v1::Lead survivor = Get(a);
  EXPECT_THAT(survivor.merged_lead_ids(), ElementsAre(b));
  EXPECT_EQ(survivor.phone(), "+30 210 555 0101") << "filled from the merged lead";
  EXPECT_EQ(survivor.email(), "eleni@example.gr") << "never overwritten";
  EXPECT_THAT(survivor.product_interest(), ElementsAre("crm-pro"));
  ASSERT_EQ(survivor.linked_sources_size(), 1);
  EXPECT_EQ(survivor.linked_sources(0).source_label(), "Google Ads - Spring");
  EXPECT_EQ(survivor.linked_sources(0).external_id(), "hs-9");
  EXPECT_EQ(survivor.linked_sources(0).from_lead_id(), b);
  const api::v1::Lead gone = Get(b);
  EXPECT_EQ(gone.status(), api::v1::LEAD_STATUS_MERGED);
  EXPECT_EQ(gone.merged_into_lead_id(), a);

  EXPECT_EQ(List().size(), 1u) << "the pair counts as one lead";
  EXPECT_EQ(List({api::v1::LEAD_STATUS_MERGED}).size(), 1u);
  auto managers = queries_->ListManagers({}).value();
  ASSERT_EQ(managers.managers_size(), 1);
  EXPECT_EQ(managers.managers(0).manager_id(), manager);
  EXPECT_EQ(managers.managers(0).open_leads(), 1);

  api::v1::GetLeadHistoryRequest h;
  h.set_lead_id(a);
  auto history = queries_->GetLeadHistory(h).value();
  std::vector<std::string> entries;
  for (const auto& e : history.events()) entries.push_back((e.lead_id() == a ? "a:" : "b:") + e.event_type());
  EXPECT_THAT(entries, ElementsAre("a:lead.captured", "b:lead.captured", "a:lead.merged", "b:lead.merged_into"));

  // Idempotent: the same key, or the same pair under another key, appends nothing.
  EXPECT_TRUE(Ok(merge).replayed);
  merge.set_idempotency_key("merge-2");
  EXPECT_TRUE(Ok(merge).replayed);
  EXPECT_EQ(publisher_.published().size(), before + 2);

  // The merged lead is only a pointer now.
  merge.set_idempotency_key("merge-3");
  merge.set_survivor_lead_id(b);
  merge.set_merged_lead_id(a);
  EXPECT_THAT(Err(merge).message(), HasSubstr("was itself merged into lead " + a));
  api::v1::QualifyLeadRequest q;
  q.set_idempotency_key("q-b");
  q.set_lead_id(b);
  q.set_need("CRM");
  EXPECT_EQ(Err(q).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Err(q).message(), HasSubstr("use lead " + a));
  const CommandResult again = Ok(Capture("m3", "Ελένη Παππά", "e.pappa@work.example.gr", "newsletter"));
  EXPECT_EQ(again.capture, api::v1::CAPTURE_OUTCOME_LINKED);
  EXPECT_EQ(again.aggregate_id, a) << "the merged lead's e-mail now finds the survivor";
}

// Events stored before labels and merges existed replay as they did, and the stored bytes of a
// merge (tests/fixtures/events/v1) keep building the same survivor.
TEST(StoredEvents, OldCaptureAndAMergeReplay) {
  auto read = [](const std::string& name) {
    std::ifstream in(std::string(SALES_FIXTURES_DIR) + "/events/v1/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return events::Decode(ss.str());
  };
  auto captured = read("lead_captured.bin");
  auto merged = read("lead_merged.bin");
  ASSERT_TRUE(captured.ok()) << captured.status();
  ASSERT_TRUE(merged.ok()) << merged.status();
  std::optional<Lead> lead;
  ASSERT_TRUE(EvolveLead(lead, *captured).ok());
  EXPECT_EQ(lead->source(), events::v1::LEAD_SOURCE_WEB_FORM);
  EXPECT_EQ(lead->source_label(), "") << "events before labels have none";
  ASSERT_TRUE(EvolveLead(lead, *merged).ok());
  EXPECT_EQ(lead->status(), Lead::STATUS_NEW);
  EXPECT_EQ(lead->version(), 2);
  ASSERT_EQ(lead->linked_sources_size(), 1);
  EXPECT_EQ(lead->linked_sources(0).source_label(), "Google Ads - Άνοιξη");
  EXPECT_EQ(lead->linked_sources(0).from_lead_id(), "9d8c7b6a-5f4e-5d3c-8b2a-1f0e9d8c7b6a");
  EXPECT_THAT(lead->merged_lead_ids(), ElementsAre("9d8c7b6a-5f4e-5d3c-8b2a-1f0e9d8c7b6a"));
  EXPECT_THAT(lead->product_interest(), ElementsAre("crm-basic", "crm-pro", "erp"));
  EXPECT_EQ(lead->activities(), 2);
  EXPECT_EQ(lead->email(), "eleni@example.gr") << "never overwritten by the merged lead's";
}

}  // namespace
}  // namespace sales::lead_acquisition
