// The command path (decider) and queries with a fake publisher and a real store in a temp folder:
// idempotency, de-duplication, assignment, lifecycle rules, the UNAVAILABLE path, paging.
#include "services/lead_acquisition/commands/lead_commands.h"

#include <set>
#include <thread>

#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "common/testing/fake_publisher.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/lead_acquisition/projection/lead_projection.h"
#include "services/lead_acquisition/api/lead_queries.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::HasSubstr;

api::v1::CaptureLeadRequest Capture(const std::string& key, const std::string& email = "g@example.gr") {
  api::v1::CaptureLeadRequest r;
  r.set_idempotency_key(key);
  r.set_name("Γιώργος Αλεξίου");
  r.set_email(email);
  r.set_source(events::v1::LEAD_SOURCE_INBOUND_CALL);
  r.set_region("GR-ATT");
  return r;
}

class LeadCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
    applier_ = std::make_unique<projection::Applier>(store_.get(), &projection_);
    commands_ = std::make_unique<LeadCommands>(CommandOptions{"t.sales.leads"}, &publisher_, applier_.get(), &clock_,
                                               &metrics_);
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
  std::string RegisterManager(const std::string& key, std::vector<std::string> regions) {
    api::v1::RegisterManagerRequest r;
    r.set_idempotency_key(key);
    r.set_name("Manager " + key);
    r.set_email(key + "@example.gr");
    for (auto& region : regions) r.add_regions(region);
    return Ok(r).aggregate_id;
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  testing::FakePublisher publisher_;
  MetricsRegistry metrics_;
  LeadProjection projection_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<LeadCommands> commands_;
  std::unique_ptr<LeadQueries> queries_;
  const Caller caller_{"corr-9", "alice"};
};

TEST_F(LeadCommandsTest, CaptureAppendsOneEnvelopedEventAndIsReadableAtOnce) {
  CommandResult r = Ok(Capture("k1"));
  EXPECT_EQ(r.aggregate_id, LeadIdFor("k1"));
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(r.capture, api::v1::CAPTURE_OUTCOME_CREATED);
  auto published = publisher_.published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "t.sales.leads");
  EXPECT_EQ(published[0].key, r.aggregate_id);
  auto e = events::Decode(published[0].value);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->event_type(), "lead.captured");
  EXPECT_EQ(e->idempotency_key(), "k1");
  EXPECT_EQ(e->correlation_id(), "corr-9");
  EXPECT_EQ(e->actor(), "alice");
  EXPECT_EQ(e->causation_id(), "CaptureLead:k1");
  EXPECT_EQ(e->command_hash().size(), 64u);
  EXPECT_EQ(Get(r.aggregate_id).name(), "Γιώργος Αλεξίου");
}

TEST_F(LeadCommandsTest, RetryWithSameKeyAnswersTheFirstResultAndAppendsNothing) {
  CommandResult first = Ok(Capture("k2"));
  CommandResult retry = Ok(Capture("k2"));
  EXPECT_EQ(retry.aggregate_id, first.aggregate_id);
  EXPECT_TRUE(retry.replayed);
  EXPECT_EQ(retry.capture, api::v1::CAPTURE_OUTCOME_CREATED);
  EXPECT_EQ(publisher_.published().size(), 1u);
}

TEST_F(LeadCommandsTest, ConcurrentRetriesAppendOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { ok += commands_->Execute(Capture("same"), caller_).ok(); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(publisher_.published().size(), 1u);
}

TEST_F(LeadCommandsTest, SameKeyDifferentRequestIsRefused) {
  Ok(Capture("k3"));
  auto other = Capture("k3");
  other.set_name("Someone Else");
  Status s = Err(other);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("idempotency_key: already used for a different request"));
  EXPECT_EQ(publisher_.published().size(), 1u);
}

TEST_F(LeadCommandsTest, KafkaDownAnswersUnavailableAndWritesNothing) {
  publisher_.FailWith(absl::UnavailableError("kafka: broker down"));
  EXPECT_EQ(Err(Capture("k4")).code(), absl::StatusCode::kUnavailable);
  api::v1::GetLeadRequest g;
  g.set_lead_id(LeadIdFor("k4"));
  EXPECT_EQ(queries_->GetLead(g).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(LoadIdempotency(*store_, "k4").value().has_value());
  EXPECT_FALSE(LookupIndex(*store_, EmailKey("g@example.gr")).value().has_value());

  publisher_.FailWith(absl::OkStatus());
  CommandResult retry = Ok(Capture("k4"));
  EXPECT_FALSE(retry.replayed);
  EXPECT_EQ(retry.capture, api::v1::CAPTURE_OUTCOME_CREATED);
  EXPECT_EQ(publisher_.published().size(), 1u);
}

// Part of a chunk reaches Kafka, part does not: every command of the chunk answers UNAVAILABLE,
// and nothing is decided until the projection has the acknowledged events (resync). Retries then
// return what was recorded and append only what was not.
TEST(LeadCommandsPartialFailure, ChunkAnswersUnavailableAndTheNextWaitsForResync) {
  testing::TempDir dir;
  testing::FakeClock clock;
  testing::FakePublisher publisher;
  LeadProjection projection;
  auto store = Store::Open({.path = dir.path(), .column_families = projection.column_families()}).value();
  projection::Applier applier(store.get(), &projection);
  size_t applied_from_log = 0;
  int resyncs = 0;
  // Plays the projection runner: applies what reached the (fake) log and is not applied yet.
  auto resync = [&](absl::Duration) -> Status {
    ++resyncs;
    auto log = publisher.published();
    std::vector<projection::Record> records;
    for (; applied_from_log < log.size(); ++applied_from_log) {
      const auto& m = log[applied_from_log];
      records.push_back({m.topic, 0, static_cast<int64_t>(applied_from_log), m.key, m.value, m.headers});
    }
    return applier.ApplyAppended(records).status();
  };
  LeadCommands commands({.topic = "t.sales.leads", .resync = resync}, &publisher, &applier, &clock, nullptr);
  ASSERT_TRUE(commands.Start().ok());
  const Caller caller{"c", "a"};

  publisher.FailAfter(1, absl::UnavailableError("kafka: broker went away"));
  std::vector<Command> chunk = {Capture("p1", "p1@x.gr"), Capture("p2", "p2@x.gr"), Capture("p3", "p1@x.gr")};
  auto results = commands.ExecuteAll(std::move(chunk), caller);
  for (const auto& r : results) EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(publisher.published().size(), 1u) << "only the first event reached the log";
  EXPECT_FALSE(LoadLead(*store, LeadIdFor("p1")).value().has_value()) << "nothing committed by the command path";

  publisher.FailWith(absl::OkStatus());
  auto retry = commands.ExecuteAll({Capture("p1", "p1@x.gr"), Capture("p2", "p2@x.gr"), Capture("p3", "p1@x.gr")},
                                   caller);
  EXPECT_EQ(resyncs, 1);
  ASSERT_TRUE(retry[0].ok() && retry[1].ok() && retry[2].ok());
  EXPECT_TRUE(retry[0]->replayed) << "recorded before the failure: the retry returns it";
  EXPECT_EQ(retry[1]->capture, api::v1::CAPTURE_OUTCOME_CREATED);
  EXPECT_EQ(retry[2]->capture, api::v1::CAPTURE_OUTCOME_LINKED);
  EXPECT_EQ(retry[2]->aggregate_id, LeadIdFor("p1"));
  EXPECT_EQ(publisher.published().size(), 3u) << "p1 was not appended twice";
}

TEST_F(LeadCommandsTest, SameSourceAndExternalIdIsTheSameLead) {
  auto a = Capture("k5", "a@example.gr");
  a.set_external_id("crm-1");
  CommandResult first = Ok(a);
  auto b = Capture("k6", "other@example.gr");
  b.set_external_id("crm-1");
  CommandResult again = Ok(b);
  EXPECT_EQ(again.capture, api::v1::CAPTURE_OUTCOME_DUPLICATE);
  EXPECT_EQ(again.aggregate_id, first.aggregate_id);
  EXPECT_THAT(again.detail, HasSubstr("same source and external id \"crm-1\""));
  EXPECT_EQ(publisher_.published().size(), 1u);
  b.set_source(events::v1::LEAD_SOURCE_WEB_FORM);  // same external id in another system: another record
  b.set_idempotency_key("k7");
  EXPECT_EQ(Ok(b).capture, api::v1::CAPTURE_OUTCOME_CREATED);
}

TEST_F(LeadCommandsTest, SamePersonFromAnotherSourceIsLinkedNotCreatedTwice) {
  auto a = Capture("k8", "Eleni@Example.gr");
  a.set_phone("+30 210 555 0101");
  CommandResult first = Ok(a);
  auto by_email = Capture("k9", "eleni@example.gr ");
  by_email.set_source(events::v1::LEAD_SOURCE_EVENT);
  CommandResult linked = Ok(by_email);
  EXPECT_EQ(linked.capture, api::v1::CAPTURE_OUTCOME_LINKED);
  EXPECT_EQ(linked.aggregate_id, first.aggregate_id);
  EXPECT_EQ(linked.version, 2);
  auto by_phone = Capture("k10", "");
  by_phone.set_phone("0030 210 5550101");
  by_phone.set_source(events::v1::LEAD_SOURCE_REFERRAL);
  CommandResult linked_phone = Ok(by_phone);
  EXPECT_EQ(linked_phone.capture, api::v1::CAPTURE_OUTCOME_LINKED);
  EXPECT_EQ(linked_phone.aggregate_id, first.aggregate_id);
  api::v1::Lead lead = Get(first.aggregate_id);
  ASSERT_EQ(lead.linked_sources_size(), 2);
  EXPECT_EQ(lead.linked_sources(0).matched_on(), "email");
  EXPECT_EQ(lead.linked_sources(1).matched_on(), "phone");
  // A retry of the linking command answers the same, without a new event.
  EXPECT_TRUE(Ok(by_email).replayed);
  EXPECT_EQ(Ok(by_email).capture, api::v1::CAPTURE_OUTCOME_LINKED);
  EXPECT_EQ(publisher_.published().size(), 3u);
}

TEST_F(LeadCommandsTest, DuplicatesInsideOneChunkAreSeen) {
  std::vector<Command> batch = {Capture("c1", "same@example.gr"), Capture("c2", "same@example.gr"),
                                Capture("c1", "same@example.gr")};
  auto results = commands_->ExecuteAll(std::move(batch), caller_);
  ASSERT_TRUE(results[0].ok() && results[1].ok() && results[2].ok());
  EXPECT_EQ(results[0]->capture, api::v1::CAPTURE_OUTCOME_CREATED);
  EXPECT_EQ(results[1]->capture, api::v1::CAPTURE_OUTCOME_LINKED);
  EXPECT_EQ(results[1]->aggregate_id, results[0]->aggregate_id);
  EXPECT_TRUE(results[2]->replayed);
  EXPECT_EQ(publisher_.published().size(), 2u);
}

TEST_F(LeadCommandsTest, NewLeadsAreSpreadEvenlyOverTheManagersOfTheRegion) {
  const std::string m1 = RegisterManager("m1", {"GR-ATT"});
  const std::string m2 = RegisterManager("m2", {"GR-ATT", "GR-THE"});
  const std::string m3 = RegisterManager("m3", {"GR-THE"});
  std::map<std::string, int> owners;
  for (int i = 0; i < 30; ++i) {
    owners[Ok(Capture("fair-" + std::to_string(i), "p" + std::to_string(i) + "@example.gr")).assigned_manager_id]++;
  }
  EXPECT_EQ(owners, (std::map<std::string, int>{{m1, 15}, {m2, 15}}));
  auto managers = queries_->ListManagers({}).value();
  ASSERT_EQ(managers.managers_size(), 3);
  for (const auto& m : managers.managers()) EXPECT_EQ(m.open_leads(), m.manager_id() == m3 ? 0 : 15);

  // Deactivated managers get no more leads; disqualifying frees a slot.
  api::v1::DeactivateManagerRequest off;
  off.set_idempotency_key("off-m1");
  off.set_manager_id(m1);
  Ok(off);
  EXPECT_EQ(Ok(Capture("after-off", "z@example.gr")).assigned_manager_id, m2);
}

// Rebuilding from the log gives the same state, however the partitions interleave: here every
// lead event is replayed before any manager event (they sit in different partitions).
TEST_F(LeadCommandsTest, RebuildFromTheLogGivesTheSameStateInAnyPartitionOrder) {
  const std::string m1 = RegisterManager("r1", {"GR-ATT"});
  RegisterManager("r2", {"GR-ATT"});
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(Ok(Capture(StrCat("rb-", i), StrCat("rb", i, "@x.gr"))).aggregate_id);
  api::v1::DisqualifyLeadRequest d;
  d.set_idempotency_key("rb-d");
  d.set_lead_id(ids[0]);
  d.set_reason(events::v1::DISQUALIFICATION_REASON_SPAM);
  Ok(d);
  api::v1::AssignLeadRequest a;
  a.set_idempotency_key("rb-a");
  a.set_lead_id(ids[1]);
  a.set_manager_id(m1);
  (void)commands_->Execute(a, caller_);  // may already be m1's; either way the log says so

  testing::TempDir rebuilt_dir;
  auto rebuilt = Store::Open({.path = rebuilt_dir.path(), .column_families = projection_.column_families()}).value();
  projection::Applier rebuilt_applier(rebuilt.get(), &projection_);
  std::vector<projection::Record> leads_first, managers_last;
  int64_t offset = 0;
  for (const auto& m : publisher_.published()) {
    projection::Record r{m.topic, 0, offset++, m.key, m.value, m.headers};
    (events::Decode(m.value)->aggregate_type() == kLeadAggregate ? leads_first : managers_last).push_back(r);
  }
  ASSERT_TRUE(rebuilt_applier.ApplyAppended(leads_first).ok());
  ASSERT_TRUE(rebuilt_applier.ApplyAppended(managers_last).ok());

  LeadQueries replayed(rebuilt.get());
  EXPECT_EQ(replayed.ListManagers({}).value().SerializeAsString(), queries_->ListManagers({}).value().SerializeAsString());
  api::v1::ListLeadsRequest all;
  all.set_page_size(500);
  EXPECT_EQ(replayed.ListLeads(all).value().SerializeAsString(), queries_->ListLeads(all).value().SerializeAsString());
  auto managers = replayed.ListManagers({}).value();
  int open = 0;
  for (const auto& m : managers.managers()) open += m.open_leads();
  EXPECT_EQ(open, 9) << "ten leads, one disqualified";
}

TEST_F(LeadCommandsTest, LifecycleRulesAndVersions) {
  const std::string manager = RegisterManager("m", {"GR-ATT"});
  const std::string id = Ok(Capture("life")).aggregate_id;
  EXPECT_EQ(Get(id).owner_manager_id(), manager);

  api::v1::QualifyLeadRequest q;
  q.set_idempotency_key("q");
  q.set_lead_id(id);
  q.set_need("a CRM");
  q.set_expected_version(7);
  EXPECT_EQ(Err(q).code(), absl::StatusCode::kAborted);
  q.set_expected_version(1);
  EXPECT_EQ(Ok(q).version, 2);
  EXPECT_EQ(Get(id).status(), api::v1::LEAD_STATUS_QUALIFIED);

  api::v1::DisqualifyLeadRequest d;
  d.set_idempotency_key("d");
  d.set_lead_id(id);
  d.set_reason(events::v1::DISQUALIFICATION_REASON_CHOSE_COMPETITOR);
  EXPECT_EQ(Ok(d).version, 3);
  q.set_idempotency_key("q2");
  q.set_expected_version(0);
  Status requalify = Err(q);
  EXPECT_EQ(requalify.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(requalify.message(), HasSubstr("is disqualified"));

  auto managers = queries_->ListManagers({}).value();
  EXPECT_EQ(managers.managers(0).open_leads(), 0) << "a disqualified lead is not open";
  EXPECT_EQ(managers.managers(0).assigned_total(), 1);

  api::v1::AssignLeadRequest a;
  a.set_idempotency_key("a");
  a.set_lead_id("123e4567-e89b-12d3-a456-426614174000");
  a.set_manager_id(manager);
  EXPECT_EQ(Err(a).code(), absl::StatusCode::kNotFound);
  a.set_lead_id(Ok(Capture("life-2", "life2@example.gr")).aggregate_id);
  a.set_manager_id("123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(Err(a).code(), absl::StatusCode::kNotFound);

  api::v1::DeactivateManagerRequest off;
  off.set_idempotency_key("off");
  off.set_manager_id(manager);
  Ok(off);
  const std::string other = RegisterManager("m-other", {"GR-THE"});
  a.set_manager_id(other);
  EXPECT_EQ(Ok(a).version, 2);
  a.set_idempotency_key("a2");
  a.set_manager_id(manager);
  Status inactive = Err(a);
  EXPECT_EQ(inactive.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(inactive.message(), HasSubstr("inactive"));

  api::v1::GetLeadHistoryRequest h;
  h.set_lead_id(id);
  auto history = queries_->GetLeadHistory(h).value();
  ASSERT_EQ(history.events_size(), 3);
  EXPECT_EQ(history.events(0).event_type(), "lead.captured");
  EXPECT_EQ(history.events(1).event_type(), "lead.qualified");
  EXPECT_EQ(history.events(2).event_type(), "lead.disqualified");
  EXPECT_EQ(history.events(2).actor(), "alice");
  EXPECT_EQ(history.events(2).event().disqualified().reason(), events::v1::DISQUALIFICATION_REASON_CHOSE_COMPETITOR);
}

TEST_F(LeadCommandsTest, PagesNeitherSkipNorRepeatWhileLeadsArrive) {
  std::set<std::string> before;
  for (int i = 0; i < 25; ++i) before.insert(Ok(Capture("p-" + std::to_string(i), StrCat("p", i, "@x.gr"))).aggregate_id);
  api::v1::ListLeadsRequest req;
  req.set_page_size(7);
  std::vector<std::string> seen;
  int arriving = 0;
  while (true) {
    auto page = queries_->ListLeads(req);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& l : page->leads()) seen.push_back(l.lead_id());
    for (int k = 0; k < 3; ++k) Ok(Capture(StrCat("new-", arriving), StrCat("n", arriving++, "@x.gr")));
    if (page->next_page_token().empty()) break;
    req.set_page_token(page->next_page_token());
  }
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a lead was repeated";
  for (const auto& id : before) EXPECT_TRUE(unique.count(id)) << "skipped " << id;
}

TEST_F(LeadCommandsTest, ListFiltersAndTokenChecks) {
  const std::string manager = RegisterManager("m", {"GR-THE"});
  Ok(Capture("f1", "f1@x.gr"));
  auto the = Capture("f2", "f2@x.gr");
  the.set_region("GR-THE");
  the.set_company_size(5000);
  the.set_source(events::v1::LEAD_SOURCE_REFERRAL);
  const std::string big = Ok(the).aggregate_id;
  api::v1::ListLeadsRequest req;
  req.set_owner_manager_id(manager);
  auto owned = queries_->ListLeads(req).value();
  ASSERT_EQ(owned.leads_size(), 1);
  EXPECT_EQ(owned.leads(0).lead_id(), big);
  req.Clear();
  req.set_owner_manager_id("-");
  EXPECT_EQ(queries_->ListLeads(req).value().leads_size(), 1);
  req.Clear();
  req.set_min_score(50);
  EXPECT_EQ(queries_->ListLeads(req).value().leads(0).lead_id(), big);
  req.Clear();
  req.set_page_size(1);
  auto first = queries_->ListLeads(req).value();
  ASSERT_FALSE(first.next_page_token().empty());
  req.set_region("GR-THE");
  req.set_page_token(first.next_page_token());
  EXPECT_THAT(queries_->ListLeads(req).status().message(), HasSubstr("page_token: issued for other filters"));
  req.set_page_token("garbage!");
  EXPECT_EQ(queries_->ListLeads(req).status().code(), absl::StatusCode::kInvalidArgument);
  req.Clear();
  req.set_page_size(501);
  EXPECT_THAT(queries_->ListLeads(req).status().message(), HasSubstr("page_size"));
  // Unknown enum values are refused alike, whichever filter carries them.
  req.Clear();
  req.set_source(static_cast<events::v1::LeadSource>(99));
  EXPECT_EQ(queries_->ListLeads(req).status().message(), "source: unknown value 99");
  req.Clear();
  req.add_statuses(static_cast<api::v1::LeadStatus>(9));
  EXPECT_EQ(queries_->ListLeads(req).status().message(), "statuses[0]: unknown value 9");
}

TEST_F(LeadCommandsTest, InvalidRequestAppendsNothing) {
  auto bad = Capture("k11");
  bad.set_email("not-an-email");
  EXPECT_EQ(Err(bad).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(LeadCommandsTest, GetLeadErrors) {
  api::v1::GetLeadRequest get;
  get.set_lead_id("nope");
  auto bad = queries_->GetLead(get);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("lead_id"));
  get.set_lead_id("123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(queries_->GetLead(get).status().code(), absl::StatusCode::kNotFound);
}

// ---- PBX extensions: at most one active manager per extension ----

api::v1::SetManagerExtensionRequest SetExtension(const std::string& key, const std::string& manager_id,
                                                 const std::string& extension) {
  api::v1::SetManagerExtensionRequest r;
  r.set_idempotency_key(key);
  r.set_manager_id(manager_id);
  r.set_extension(extension);
  return r;
}

// Every row of a column family, in key order.
std::vector<std::pair<std::string, std::string>> Rows(const Store& store, const char* family) {
  std::vector<std::pair<std::string, std::string>> rows;
  EXPECT_TRUE(store
                  .Scan(family, "", "",
                        [&](std::string_view k, std::string_view v) {
                          rows.emplace_back(k, v);
                          return true;
                        })
                  .ok());
  return rows;
}

TEST_F(LeadCommandsTest, AnExtensionBelongsToOneActiveManagerAtATime) {
  api::v1::RegisterManagerRequest reg_a;
  reg_a.set_idempotency_key("m-a");
  reg_a.set_name("Άννα Παππά");
  reg_a.set_email("anna@example.gr");
  reg_a.add_regions("GR-ATT");
  reg_a.set_extension(" 201 ");
  const std::string a = Ok(reg_a).aggregate_id;

  auto reg_b = reg_a;
  reg_b.set_idempotency_key("m-b");
  reg_b.set_name("Βασίλης Νικολάου");
  reg_b.set_email("vasilis@example.gr");
  const Status taken = Err(reg_b);
  EXPECT_EQ(taken.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(taken.message(), HasSubstr("extension 201 belongs to Άννα Παππά"));

  // A moves to 202: 201 is free for B; 202 is not free for C.
  const CommandResult moved = Ok(SetExtension("x-1", a, "202"));
  EXPECT_EQ(moved.version, 2);
  const std::string b = Ok(reg_b).aggregate_id;
  const std::string c = RegisterManager("m-c", {"GR-ATT"});
  EXPECT_EQ(Err(SetExtension("x-2", c, "202")).code(), absl::StatusCode::kFailedPrecondition);
  // Setting what is already so records nothing and answers the current version.
  const size_t appended = publisher_.published().size();
  EXPECT_EQ(Ok(SetExtension("x-3", a, "202")).version, 2);
  EXPECT_EQ(publisher_.published().size(), appended);
  // A deactivated manager holds no extension: B's 201 goes to C.
  api::v1::DeactivateManagerRequest off;
  off.set_idempotency_key("off-b");
  off.set_manager_id(b);
  Ok(off);
  EXPECT_EQ(Err(SetExtension("x-4", b, "209")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Ok(SetExtension("x-5", c, "201")).version, 2);

  // Bad input and stale versions.
  const Status bad = Err(SetExtension("x-6", a, "20a"));
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("extension"));
  auto stale = SetExtension("x-7", a, "203");
  stale.set_expected_version(1);
  EXPECT_EQ(Err(stale).code(), absl::StatusCode::kAborted);

  api::v1::ListManagersRequest list;
  list.set_include_inactive(true);
  auto listed = queries_->ListManagers(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::map<std::string, std::string> extensions;
  for (const auto& m : listed->managers()) extensions[m.manager_id()] = m.extension();
  EXPECT_EQ(extensions[a], "202");
  EXPECT_EQ(extensions[b], "");
  EXPECT_EQ(extensions[c], "201");
  EXPECT_EQ(ExtensionHolder(*store_, "201").value(), c);
  EXPECT_EQ(ExtensionHolder(*store_, "202").value(), a);

  // A replay applies manager events of different managers in any order (they sit in different
  // partitions): the extension index ends the same. Here: the managers' events in reverse order of
  // managers, each manager's own in order.
  std::map<std::string, std::vector<projection::Record>> by_manager;
  std::vector<std::string> order;
  for (const auto& m : publisher_.published()) {
    if (!by_manager.count(m.key)) order.push_back(m.key);
    by_manager[m.key].push_back({m.topic, 0, -1, m.key, m.value, m.headers});
  }
  testing::TempDir other_dir;
  LeadProjection other_projection;
  auto other = Store::Open({.path = other_dir.path(), .column_families = other_projection.column_families()}).value();
  projection::Applier other_applier(other.get(), &other_projection);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    ASSERT_TRUE(other_applier.ApplyAppended(by_manager[*it]).ok());
  }
  EXPECT_EQ(Rows(*other, kExtensionFamily), Rows(*store_, kExtensionFamily));
  EXPECT_EQ(Rows(*other, kManagersFamily), Rows(*store_, kManagersFamily));
}

// Fills every field of a message (recursively) with a value that is not the default.
void FillEveryField(google::protobuf::Message& m, int depth = 0) {
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    using FD = google::protobuf::FieldDescriptor;
    for (int n = 0; n < (f->is_repeated() ? 2 : 1); ++n) {
      switch (f->cpp_type()) {
        case FD::CPPTYPE_STRING:
          f->is_repeated() ? r->AddString(&m, f, StrCat(f->name(), n)) : r->SetString(&m, f, f->name());
          break;
        case FD::CPPTYPE_INT32:
          f->is_repeated() ? r->AddInt32(&m, f, f->number() + n) : r->SetInt32(&m, f, f->number());
          break;
        case FD::CPPTYPE_INT64:
          f->is_repeated() ? r->AddInt64(&m, f, f->number() + n) : r->SetInt64(&m, f, f->number());
          break;
        case FD::CPPTYPE_BOOL:
          f->is_repeated() ? r->AddBool(&m, f, true) : r->SetBool(&m, f, true);
          break;
        case FD::CPPTYPE_ENUM: {
          const auto* value = f->enum_type()->value(f->enum_type()->value_count() - 1);
          f->is_repeated() ? r->AddEnum(&m, f, value) : r->SetEnum(&m, f, value);
          break;
        }
        case FD::CPPTYPE_MESSAGE:
          if (depth < 3) FillEveryField(f->is_repeated() ? *r->AddMessage(&m, f) : *r->MutableMessage(&m, f), depth + 1);
          break;
        default:
          FAIL() << "field type of " << f->full_name() << " not filled by this test";
      }
    }
  }
}

// The API shows every field of the stored state, under the same name and number: a field added to
// the state but not to ToApi (or the other way round) fails here.
TEST(ToApi, ShowsEveryFieldOfTheStoredLeadAndManager) {
  Lead lead;
  FillEveryField(lead);
  api::v1::Lead expected;
  ASSERT_TRUE(expected.ParseFromString(lead.SerializeAsString()));
  EXPECT_EQ(expected.GetDescriptor()->field_count(), lead.GetDescriptor()->field_count());
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(ToApi(lead), expected)) << diff;

  Manager manager;
  FillEveryField(manager);
  api::v1::Manager expected_manager;
  ASSERT_TRUE(expected_manager.ParseFromString(manager.SerializeAsString()));
  EXPECT_EQ(expected_manager.GetDescriptor()->field_count(), manager.GetDescriptor()->field_count());
  EXPECT_TRUE(differencer.Compare(ToApi(manager), expected_manager)) << diff;
}

}  // namespace
}  // namespace sales::lead_acquisition
