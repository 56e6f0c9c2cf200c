// The ways leads come in bulk, through the real broker and the real service: the marketing intake
// topic (JSON records from any producer) and `salesctl import FILE.csv` (StreamingImportLeads).
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "services/lead_acquisition/api/grpc_service.h"
#include "services/lead_acquisition/tests/lead_service_fixture.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::HasSubstr;

class IntakeIT : public LeadAcquisitionIT {
 protected:
  std::string IntakeTopic() const { return prefix_ + "marketing.leads.inbound"; }

  std::string RegisterManager(const std::string& key, const std::string& region) {
    ::grpc::ClientContext ctx;
    api::v1::RegisterManagerRequest r;
    r.set_idempotency_key(key);
    r.set_name("Manager " + key);
    r.set_email(key + "@example.gr");
    r.add_regions(region);
    api::v1::ManagerCommandResponse out;
    auto s = stub_->RegisterManager(&ctx, r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.manager_id();
  }

  std::vector<api::v1::Manager> Managers() {
    ::grpc::ClientContext ctx;
    api::v1::ListManagersResponse out;
    EXPECT_TRUE(stub_->ListManagers(&ctx, {}, &out).ok());
    return {out.managers().begin(), out.managers().end()};
  }

  int64_t MetricValue(const std::string& line_prefix) {
    auto metrics = testing::HttpGet(service_->http_port(), "/metrics");
    if (!metrics.ok()) return -1;
    const size_t at = metrics->find(line_prefix);
    if (at == std::string::npos) return 0;
    return std::atoll(metrics->c_str() + at + line_prefix.size());
  }
};

std::string Inbound(const std::string& external_id, const std::string& name, const std::string& email) {
  return "{\"schema_version\":1,\"source\":\"marketing_system\",\"external_id\":\"" + external_id + "\",\"name\":\"" +
         name + "\",\"email\":\"" + email + "\",\"region\":\"GR-ATT\"}";
}

TEST_F(IntakeIT, ValidDuplicateAndMalformedRecords) {
  testing::RawProducer producer;
  const std::string topic = IntakeTopic();
  ASSERT_TRUE(producer.Send(topic, "hs-1", Inbound("hs-1", "Άννα Λάμπρου", "anna@example.gr")).ok());
  ASSERT_TRUE(producer.Send(topic, "hs-2", Inbound("hs-2", "Βασίλης Ζήσης", "vasilis@example.gr")).ok());
  ASSERT_TRUE(producer.Send(topic, "hs-1", Inbound("hs-1", "Άννα Λάμπρου", "anna.l@example.gr")).ok());  // resent
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"{\"schema_version\":1,\"external_id\":", "not a valid JSON lead record"},
      {"{\"schema_version\":1,\"external_id\":\"x1\",\"name\":\"N\",\"company_size\":\"huge\"}",
       "not a valid JSON lead record"},
      {"{\"schema_version\":1,\"name\":\"No Id\",\"email\":\"noid@example.gr\"}", "external_id: required"},
      {"{\"schema_version\":1,\"external_id\":\"x2\",\"name\":\"" + std::string(80000, 'a') + "\"}", "oversized"},
      {"{\"schema_version\":7,\"external_id\":\"x3\",\"name\":\"N\",\"email\":\"n@example.gr\"}",
       "unsupported version 7"},
      // Truly unusable (an external id and a malformed e-mail would still be a lead: no name here).
      {"{\"schema_version\":1,\"external_id\":\"x4\",\"name\":\" \",\"email\":\"not-an-email\"}",
       "name: must not be empty"},
      // Untrusted bytes: neither the reason header nor the log may carry them raw.
      {"{\"schema_version\":1,\"external_id\":\"x5\",\"name\":\"Bad \xff\xfe\",\"email\":\"x5@example.gr\"}",
       "record: not a valid JSON lead record: Encountered non UTF-8 code points."},
      {"{\"schema_version\":1,\"external_id\":\"x6\",\"name\":\"\\u200b\",\"email\":\"x6\\n@example.gr\"}",
       "name: must contain a visible character"},
  };
  for (const auto& [record, reason] : bad) ASSERT_TRUE(producer.Send(topic, "bad", record).ok());
  ASSERT_TRUE(producer.Send(topic, "hs-3", Inbound("hs-3", "Γιάννης Τσάκωνας", "giannis@example.gr")).ok());

  ASSERT_TRUE(testing::WaitUntil([&] { return MetricValue("sales_intake_records_total{outcome=\"rejected\"} ") == 8; },
                                 absl::Seconds(30)));
  ASSERT_TRUE(testing::WaitUntil([&] { return AllLeads().size() == 3; }, absl::Seconds(30)));
  EXPECT_EQ(MetricValue("sales_intake_records_total{outcome=\"created\"} "), 3);
  EXPECT_EQ(MetricValue("sales_intake_records_total{outcome=\"duplicate\"} "), 1);
  std::set<std::string> names;
  for (const auto& l : AllLeads()) names.insert(l.name());
  EXPECT_EQ(names, (std::set<std::string>{"Άννα Λάμπρου", "Βασίλης Ζήσης", "Γιάννης Τσάκωνας"}));

  auto dead = testing::ReadTopic(topic + ".dlq");
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), bad.size());
  std::map<int64_t, std::string> reasons;
  for (const auto& d : *dead) reasons[std::stoll(d.Header("dlq.source.offset"))] = d.Header("dlq.reason");
  int i = 0;
  for (const auto& [offset, reason] : reasons) {
    EXPECT_THAT(reason, HasSubstr(bad[i++].second)) << "offset " << offset;
    EXPECT_TRUE(IsValidUtf8(reason) && reason.find('\n') == std::string::npos) << reason;
  }
  ExpectLogIsJsonLines();

  // Operators see the intake beside the projection, with its dead letters: the Admin API,
  // salesctl status and /metrics (grep -i dlq).
  ::grpc::ClientContext ctx;
  api::v1::GetProjectionStatusResponse consumers;
  ASSERT_TRUE(admin_->GetProjectionStatus(&ctx, {}, &consumers).ok());
  ASSERT_EQ(consumers.projections_size(), 2);
  EXPECT_EQ(consumers.projections(0).name(), "leads");
  EXPECT_EQ(consumers.projections(0).kind(), "projection");
  const auto& intake = consumers.projections(1);
  EXPECT_EQ(intake.name(), "lead-acquisition/intake");
  EXPECT_EQ(intake.kind(), "intake");
  EXPECT_EQ(intake.events_applied(), 3);
  EXPECT_EQ(intake.duplicates_skipped(), 1);
  EXPECT_EQ(intake.dead_lettered(), 8);
  EXPECT_THAT(intake.dead_letter_topics(), ::testing::ElementsAre(topic + ".dlq"));
  int64_t next = 0;
  for (const auto& p : intake.partitions()) next += p.next_offset();
  EXPECT_EQ(next, 12) << "every record read";
  auto [code, status] = Salesctl("status");
  EXPECT_EQ(code, 0) << status;
  EXPECT_THAT(status, HasSubstr("lead-acquisition/intake  intake"));
  EXPECT_THAT(status, HasSubstr("LAG TIME"));
  // The intake's dead letters, through the Admin API: pending, the reason and origin of each.
  auto [dl_code, dead_letters] = Salesctl("dead-letters list");
  EXPECT_EQ(dl_code, 0) << dead_letters;
  EXPECT_THAT(dead_letters, HasSubstr("8 pending of 8 dead letters"));
  EXPECT_THAT(dead_letters, HasSubstr(topic + ".dlq/"));
  EXPECT_THAT(dead_letters, HasSubstr("lead-acquisition/intake"));
  const size_t at = dead_letters.find(topic + ".dlq/");
  ASSERT_NE(at, std::string::npos);
  const std::string first = dead_letters.substr(at, dead_letters.find(' ', at) - at);  // TOPIC/PARTITION/OFFSET
  auto [show_code, shown] = Salesctl("dead-letters show " + first);
  EXPECT_EQ(show_code, 0) << shown;
  EXPECT_THAT(shown, HasSubstr("refused by  lead-acquisition/intake"));
  auto [redrive_code, redrive] = Salesctl("dead-letters redrive " + first);
  EXPECT_EQ(redrive_code, 1) << "an intake's dead letter is fixed at the source, not re-driven: " << redrive;
  EXPECT_THAT(redrive, HasSubstr("FAILED_PRECONDITION"));
  auto metrics = testing::HttpGet(service_->http_port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(*metrics, HasSubstr("sales_dlq_records{consumer=\"lead-acquisition/intake\",kind=\"intake\"} 8\n"));
  EXPECT_THAT(*metrics, HasSubstr("sales_dlq_records{consumer=\"leads\",kind=\"projection\"} 0\n"));

  // Replaying the whole intake topic into a fresh store creates nothing new: the commands answer as
  // retries (their idempotency keys come from the records' positions).
  auto events_before = testing::ReadTopic(topic_);
  ASSERT_TRUE(events_before.ok());
  ASSERT_TRUE(service_->Stop().ok());
  std::filesystem::remove_all(dir_.File("store"));
  Start();
  ASSERT_TRUE(testing::WaitUntil([&] { return MetricValue("sales_intake_records_total{outcome=\"duplicate\"} ") == 4; },
                                 absl::Seconds(30)));
  EXPECT_EQ(AllLeads().size(), 3u);
  EXPECT_EQ(testing::ReadTopic(topic_)->size(), events_before->size());
}

TEST_F(IntakeIT, KillNineDuringIntakeLosesAndDuplicatesNothing) {
  constexpr int kRecords = 20000;
  std::vector<kafka::OutgoingMessage> records;
  for (int i = 0; i < kRecords; ++i) {
    const std::string id = "mkt-" + std::to_string(i);
    records.push_back({IntakeTopic(), id, Inbound(id, "Lead " + std::to_string(i), id + "@example.gr"), {}});
  }
  testing::RawProducer producer;
  ASSERT_TRUE(producer.SendAll(records).ok());
  int64_t at_kill = 0;
  testing::WaitUntil(
      [&] {
        at_kill = Status().events_applied();
        return at_kill >= kRecords / 5;
      },
      absl::Seconds(60));
  ASSERT_LT(at_kill, kRecords) << "intake finished before the kill; raise kRecords";
  service_->Kill();
  std::cerr << "killed with " << at_kill << " of " << kRecords << " inbound records captured\n";
  Start();
  ASSERT_TRUE(testing::WaitUntil([&] { return Status().events_applied() >= kRecords; }, absl::Seconds(120)));
  absl::SleepFor(absl::Seconds(1));  // anything extra would show up now
  EXPECT_EQ(Status().events_applied(), kRecords);
  auto events = testing::ReadTopic(topic_);
  ASSERT_TRUE(events.ok());
  std::map<std::string, int> per_external_id;
  for (const auto& m : *events) {
    auto e = events::Decode(m.value);
    ASSERT_TRUE(e.ok());
    per_external_id[e->lead().captured().external_id()]++;
  }
  EXPECT_EQ(per_external_id.size(), static_cast<size_t>(kRecords));
  for (const auto& [id, n] : per_external_id) ASSERT_EQ(n, 1) << id;
}

// 10,000 rows with duplicates and bad rows -> exact counts; the same file again -> nothing new.
TEST_F(IntakeIT, CsvImportGivesExactCountsAndReimportCreatesNothing) {
  const std::string m1 = RegisterManager("anna", "GR-ATT");
  const std::string m2 = RegisterManager("babis", "GR-ATT");
  std::ofstream csv(dir_.File("leads.csv"), std::ios::binary);
  csv << "\xEF\xBB\xBF" << "name,company,email,phone,source,external_id,region,product_interest,company_size\r\n";
  int line = 1;
  std::set<int> bad_lines;
  for (int i = 0; i < 10000; ++i) {
    ++line;
    const std::string n = std::to_string(i);
    if (i < 9000) {  // new leads; every third with a quoted company holding a comma and quotes
      csv << "Ελένη Παππά " << n << ",\"Παππάς, \"\"Υιοί\"\" " << n << "\",eleni" << n << "@example.gr,,web_form,wf-"
          << n << ",GR-ATT,crm-pro;erp," << (i % 500) << "\r\n";
    } else if (i < 9500) {  // the same (source, external id) again: duplicates
      csv << "Someone,,other" << n << "@example.gr,,web_form,wf-" << (i - 9000) << ",GR-ATT,,\r\n";
    } else if (i < 9800) {  // the same person (e-mail) from another source: linked
      csv << "Ελένη Παππά,,eleni" << (i - 9500) << "@example.gr,,event,,GR-ATT,,\r\n";
    } else if (i < 9950) {  // refused by the service
      csv << "Bad Email " << n << ",,not-an-email-" << n << ",,web_form,,GR-ATT,,\r\n";
      bad_lines.insert(line);
    } else {  // refused by the service: truly unusable (no name)
      csv << ",,x" << n << "@example.gr,,web_form,,GR-ATT,,\r\n";
      bad_lines.insert(line);
    }
  }
  csv.close();

  auto [code, out] = Salesctl("import " + dir_.File("leads.csv"));
  EXPECT_EQ(code, 3) << out;
  EXPECT_THAT(out, HasSubstr("(10,000 rows)"));
  EXPECT_THAT(out, HasSubstr("imported    9,000\n"));
  EXPECT_THAT(out, HasSubstr("linked      300 "));
  EXPECT_THAT(out, HasSubstr("duplicates  500\n"));
  EXPECT_THAT(out, HasSubstr("rejected    200\n"));
  EXPECT_THAT(out, HasSubstr("line 9802: email: not a valid e-mail address"));
  EXPECT_THAT(out, HasSubstr("line 9952: name: must not be empty"));
  EXPECT_THAT(out, HasSubstr("Rejected rows by reason:\n  150     email: not a valid e-mail address\n"
                             "  50      name: must not be empty\nRejected rows:\n"));
  for (int l : bad_lines) EXPECT_THAT(out, HasSubstr("line " + std::to_string(l) + ":"));

  auto leads = AllLeads();
  ASSERT_EQ(leads.size(), 9000u);
  bool found = false;
  for (const auto& l : leads) {
    if (l.external_id() == "wf-42") {
      found = true;
      EXPECT_EQ(l.name(), "Ελένη Παππά 42");
      EXPECT_EQ(l.company(), "Παππάς, \"Υιοί\" 42");
      EXPECT_EQ(l.linked_sources_size(), 1);
    }
  }
  EXPECT_TRUE(found);
  // Fair assignment: two managers cover GR-ATT and share the new leads evenly.
  for (const auto& m : Managers()) EXPECT_EQ(m.open_leads(), 4500) << m.name();

  const size_t events = testing::ReadTopic(topic_)->size();
  auto [again_code, again] = Salesctl("import " + dir_.File("leads.csv"));
  EXPECT_EQ(again_code, 3) << again;
  EXPECT_THAT(again, HasSubstr("imported    0\n"));
  EXPECT_THAT(again, HasSubstr("linked      0 "));
  EXPECT_THAT(again, HasSubstr("duplicates  9,800\n"));
  EXPECT_THAT(again, HasSubstr("rejected    200\n"));
  EXPECT_EQ(AllLeads().size(), 9000u);
  EXPECT_EQ(testing::ReadTopic(topic_)->size(), events) << "the re-import appended events";
}

// The documented maximum with a standard client (gRPC's default 4 MB receive limit): the results
// stream back in chunks. A call with one record more is refused after the results of the first
// 100,000 were sent: the refusal says exactly what was written. (Most records are invalid, which
// keeps the test fast and makes the answer big: one reason each.)
TEST_F(IntakeIT, StreamingImportTakesTheMaximumWithADefaultClientAndARefusalSaysWhatWasWritten) {
  auto stub = api::v1::LeadAcquisition::NewStub(
      ::grpc::CreateChannel("127.0.0.1:" + std::to_string(service_->grpc_port()),
                            ::grpc::InsecureChannelCredentials()));
  constexpr int64_t kValid = 10;  // the last ones before the maximum
  auto record = [](int64_t index, const std::string& key, bool valid) {
    api::v1::ImportLeadsRequest r;
    r.set_client_ref(std::to_string(index));
    r.mutable_lead()->set_idempotency_key(key);
    r.mutable_lead()->set_name("Λεωνίδας " + key);
    r.mutable_lead()->set_email(valid ? key + "@example.gr" : "not-an-email-" + key);
    r.mutable_lead()->set_source(events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
    return r;
  };
  std::vector<api::v1::ImportLeadsRequest> records;
  for (int64_t i = 0; i < kMaxImportRecords - kValid; ++i) {
    records.push_back(record(i, "bad-" + std::to_string(i), false));
  }
  struct Answer {
    ::grpc::Status status;
    int64_t results = 0, created = 0, answer_bytes = 0, responses = 0;
    bool in_order = true;
    api::v1::ImportLeadsResponse last;
  };
  // One call with the invalid records and then `tail`, the way a simple client does it: it sends
  // everything, and reads the answers on another thread.
  auto import = [&](const std::vector<api::v1::ImportLeadsRequest>& tail) {
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(5)));
    auto stream = stub->StreamingImportLeads(&ctx);
    std::thread writer([&] {
      bool open = true;
      for (const auto& r : records) open = open && stream->Write(r);
      for (const auto& r : tail) open = open && stream->Write(r);
      stream->WritesDone();
    });
    Answer a;
    api::v1::ImportLeadsResponse response;
    while (stream->Read(&response)) {
      a.answer_bytes += static_cast<int64_t>(response.ByteSizeLong());
      ++a.responses;
      for (const auto& r : response.results()) {
        a.in_order = a.in_order && r.index() == a.results && r.client_ref() == std::to_string(a.results);
        ++a.results;
        if (r.outcome() == api::v1::CAPTURE_OUTCOME_CREATED) ++a.created;
      }
      a.last = std::move(response);
    }
    writer.join();
    a.status = stream->Finish();
    return a;
  };

  std::vector<api::v1::ImportLeadsRequest> tail;
  for (int64_t i = kMaxImportRecords - kValid; i < kMaxImportRecords; ++i) {
    tail.push_back(record(i, "max-" + std::to_string(i), true));
  }
  Answer full = import(tail);
  std::cerr << "the answer to 100,000 records: " << full.responses << " responses, " << full.answer_bytes
            << " bytes in all\n";
  ASSERT_TRUE(full.status.ok()) << full.status.error_message();
  EXPECT_EQ(full.results, kMaxImportRecords);
  EXPECT_TRUE(full.in_order);
  EXPECT_EQ(full.created, kValid);
  EXPECT_EQ(full.last.received(), kMaxImportRecords);
  EXPECT_EQ(full.last.rejected(), kMaxImportRecords - kValid);
  EXPECT_EQ(full.last.created(), kValid);
  EXPECT_GT(full.answer_bytes, 4 << 20) << "as one message, the answer would exceed gRPC's default limit";

  tail.clear();
  for (int64_t i = kMaxImportRecords - kValid; i <= kMaxImportRecords; ++i) {
    tail.push_back(record(i, "over-" + std::to_string(i), true));
  }
  Answer over = import(tail);
  EXPECT_EQ(over.status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(over.status.error_message(),
              HasSubstr("at most 100000 records per call: the first 100000 were decided and answered, "
                        "record 100000 and those after it were not read"));
  EXPECT_EQ(over.results, kMaxImportRecords);
  EXPECT_TRUE(over.in_order);
  EXPECT_EQ(over.created, kValid) << "the records written before the refusal are answered";
  api::v1::Lead lead;
  EXPECT_TRUE(Get(LeadIdFor("over-99999"), &lead).ok());
  EXPECT_EQ(Get(LeadIdFor("over-100000"), &lead).error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Status().events_applied(), 2 * kValid) << "written: exactly the records answered CREATED";
}

// Paging through ListLeads while other callers keep capturing: every lead that existed when paging
// began comes back exactly once.
TEST_F(IntakeIT, PagingNeitherSkipsNorRepeatsUnderConcurrentWrites) {
  std::vector<std::thread> writers;
  std::atomic<int> written{0};
  for (int i = 0; i < 300; ++i) {
    api::v1::CaptureLeadResponse r;
    ASSERT_TRUE(Capture(Request("before-" + std::to_string(i)), &r).ok());
  }
  std::set<std::string> before;
  for (const auto& l : AllLeads()) before.insert(l.lead_id());
  ASSERT_EQ(before.size(), 300u);
  std::atomic<bool> stop{false};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        api::v1::CaptureLeadResponse r;
        if (Capture(Request("during-" + std::to_string(t) + "-" + std::to_string(i)), &r).ok()) ++written;
      }
    });
  }
  std::vector<std::string> seen;
  api::v1::ListLeadsRequest req;
  req.set_page_size(13);
  while (true) {
    ::grpc::ClientContext ctx;
    api::v1::ListLeadsResponse page;
    ASSERT_TRUE(stub_->ListLeads(&ctx, req, &page).ok());
    for (const auto& l : page.leads()) seen.push_back(l.lead_id());
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  stop = true;
  for (auto& w : writers) w.join();
  EXPECT_GT(written, 0) << "nothing was written while paging";
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a lead came back twice";
  for (const auto& id : before) EXPECT_TRUE(unique.count(id)) << "lead " << id << " was skipped";
}

}  // namespace
}  // namespace sales::lead_acquisition
