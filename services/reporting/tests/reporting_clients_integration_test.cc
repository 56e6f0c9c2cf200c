// The products, clients, concentration, inbound calls and pipeline reports as a user gets them:
// the real executables of lead acquisition, first offers, client support and reporting on the real
// Kafka broker of the test run. A scripted scenario over three calendar months: the services'
// clocks are moved back (--test-clock-offset-file) so that first deals fall two months and one
// month ago; a repeat order is back-dated into last month; PBX records go through client support's
// intake. Every expected figure is computed by hand below; then an as-of answer, and a rebuild of
// the reporting store that must give the same rows and the same answers.
#include <thread>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "sales/api/v1/client_support.grpc.pb.h"
#include "sales/api/v1/reporting.grpc.pb.h"
#include "services/first_offers/tests/offers_service_fixture.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

class ReportingClientsIT : public first_offers::FirstOffersIT {
 protected:
  void SetUp() override {
    FirstOffersIT::SetUp();
    calls_topic_ = prefix_ + "telephony.calls.inbound";
    // Lead acquisition again, on the moving clock: managers registered "two months ago" hold
    // their extensions from then on.
    ASSERT_TRUE(leads_->Stop().ok());
    leads_ = Start(SALES_LEAD_ACQUISITION_BIN, "leads-store", true);
    lead_stub_ = api::v1::LeadAcquisition::NewStub(leads_->Channel());
    support_ = Start(SALES_CLIENT_SUPPORT_BIN, "support-store", true);
    support_stub_ = api::v1::ClientSupport::NewStub(support_->Channel());
    StartReporting("reporting-store");
  }

  void TearDown() override {
    if (HasFailure()) {
      if (support_) std::cerr << "client-support log tail:\n" << support_->LogTail(40);
      if (reporting_) std::cerr << "reporting log tail:\n" << reporting_->LogTail(40);
    }
    FirstOffersIT::TearDown();
  }

  std::unique_ptr<testing::ServiceProcess> Start(const std::string& binary, const std::string& store, bool clock) {
    testing::ServiceOptions o;
    o.binary = binary;
    o.args = CommonArgs(store);
    if (clock) o.args.push_back("--test-clock-offset-file=" + dir_.File("clock-offset"));
    o.work_dir = dir_.File(store + "-work");
    std::filesystem::create_directories(o.work_dir);
    auto service = testing::ServiceProcess::Start(o);
    EXPECT_TRUE(service.ok()) << service.status();
    return service.ok() ? std::move(*service) : nullptr;
  }
  void StartReporting(const std::string& store) {
    reporting_ = Start(SALES_REPORTING_BIN, store, false);
    ASSERT_TRUE(reporting_);
    reporting_stub_ = api::v1::Reporting::NewStub(reporting_->Channel());
  }

  // Moves the clocks of lead acquisition, first offers and client support to `at`.
  void ClockAt(absl::Time at) {
    SetClockOffset(at - absl::Now());
    absl::SleepFor(absl::Milliseconds(200));  // the services read the file at most every 50 ms
  }

  void Manager(const std::string& key, const std::string& extension) {
    api::v1::RegisterManagerRequest r;
    r.set_idempotency_key(key);
    r.set_name(key);
    r.set_email(key + "@sales.example.gr");
    r.add_regions("*");
    r.set_extension(extension);
    api::v1::ManagerCommandResponse out;
    ::grpc::ClientContext ctx;
    auto s = lead_stub_->RegisterManager(Context(&ctx), r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    managers_[key] = out.manager_id();
  }

  enum class Until { kDraft, kSent, kAccepted };
  // An offer taken as far as `until`.
  void Offer(const std::string& key, const std::string& lead, const api::v1::OfferTermsInput& terms, Until until) {
    api::v1::OfferCommandResponse out;
    ASSERT_TRUE(Draft(key + "-offer", lead, terms, &out).ok());
    const std::string offer = out.offer_id();
    if (until != Until::kDraft) {
      ASSERT_TRUE(Send(key + "-send", offer, &out).ok());
    }
    if (until == Until::kAccepted) {
      ASSERT_TRUE(Accept(key + "-accept", offer, &out).ok());
    }
  }
  api::v1::OfferTermsInput Lines(int64_t crm_pro, int64_t training) {
    api::v1::OfferTermsInput t = Terms(crm_pro, 0);
    if (training > 0) {
      auto* line = t.add_lines();
      line->set_product_code("training");
      line->set_quantity(training);
    }
    return t;
  }

  // A lead won with a first offer; waits for client support to open the client.
  api::v1::Client Won(const std::string& key, const api::v1::OfferTermsInput& terms) {
    const std::string lead = QualifiedLead(key);
    Offer(key, lead, terms, Until::kAccepted);
    api::v1::Client client;
    EXPECT_TRUE(testing::WaitUntil(
        [&] {
          api::v1::GetClientRequest r;
          r.set_lead_id(lead);
          ::grpc::ClientContext ctx;
          return support_stub_->GetClient(Context(&ctx), r, &client).ok();
        },
        absl::Seconds(30)))
        << "client support never opened the client of " << key;
    return client;
  }

  void Order(const std::string& key, const std::string& client, absl::Time ordered_at, int64_t crm_pro) {
    api::v1::RecordOrderRequest r;
    r.set_idempotency_key(key);
    r.set_client_id(client);
    r.set_currency("EUR");
    *r.mutable_occurred_at() = events::ToProto(ordered_at);
    auto* line = r.add_lines();
    line->set_product_code("crm-pro");
    line->set_quantity(crm_pro);
    line->mutable_unit_price()->set_units(4990);
    line->mutable_unit_price()->set_currency("EUR");
    api::v1::ClientCommandResponse out;
    ::grpc::ClientContext ctx;
    auto s = support_stub_->RecordOrder(Context(&ctx), r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void Renewal(const std::string& key, const std::string& client, int64_t units) {
    api::v1::RecordRenewalRequest r;
    r.set_idempotency_key(key);
    r.set_client_id(client);
    *r.mutable_period_start() = events::ToProto(absl::Now());
    *r.mutable_period_end() = events::ToProto(absl::Now() + absl::Hours(24 * 365));
    r.mutable_value()->set_units(units);
    r.mutable_value()->set_currency("EUR");
    api::v1::ClientCommandResponse out;
    ::grpc::ClientContext ctx;
    auto s = support_stub_->RecordRenewal(Context(&ctx), r, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  void PbxCall(const std::string& id, absl::Time started, bool inbound, const std::string& number,
               const std::string& extension, bool answered) {
    const std::string ours = "+302100000000";
    const std::string json = StrCat(
        R"({"schema_version":1,"call_id":")", id, R"(","from":")", inbound ? number : ours, R"(","to":")",
        inbound ? ours : number, R"(","direction":")", inbound ? "inbound" : "outbound", R"(","started_at":")",
        absl::FormatTime(absl::RFC3339_sec, started, absl::UTCTimeZone()), R"(","duration_seconds":)",
        answered ? 60 : 0, R"(,"answered":)", answered ? "true" : "false", R"(,"extension":")", extension, R"("})");
    testing::RawProducer producer;
    ASSERT_TRUE(producer.Send(calls_topic_, id, json).ok());
  }

  template <typename Request, typename Response>
  Response Ask(::grpc::Status (api::v1::Reporting::Stub::*rpc)(::grpc::ClientContext*, const Request&, Response*),
               const Request& r) {
    Response out;
    ::grpc::ClientContext ctx;
    auto s = (reporting_stub_.get()->*rpc)(Context(&ctx), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  template <typename Request>
  Request For(const std::string& period, absl::Time as_of) {
    Request r;
    r.set_period(period);
    *r.mutable_as_of() = events::ToProto(as_of);
    return r;
  }
  int64_t Revenue(const std::string& period, absl::Time as_of) {
    auto r = For<api::v1::PlanVsActualRequest>(period, as_of);
    r.set_metric(events::v1::PLAN_METRIC_REVENUE);
    auto out = Ask(&api::v1::Reporting::Stub::GetPlanVsActual, r);
    return out.total().rows_size() ? out.total().rows(0).actual_amount().units() : 0;
  }

  std::string calls_topic_;
  std::map<std::string, std::string> managers_;
  std::unique_ptr<testing::ServiceProcess> support_, reporting_;
  std::unique_ptr<api::v1::ClientSupport::Stub> support_stub_;
  std::unique_ptr<api::v1::Reporting::Stub> reporting_stub_;
};

std::string MonthOf(absl::CivilMonth m) { return absl::FormatCivilTime(m); }

TEST_F(ReportingClientsIT, ThreeMonthsOfClientsCallsAndOffersInEveryReportAndTheRebuild) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilMonth this_month(absl::ToCivilDay(absl::Now(), utc));
  const std::string m2 = MonthOf(this_month - 2), m1 = MonthOf(this_month - 1), m0 = MonthOf(this_month);
  // The 10th at 10:00 of the month before last and of last month.
  const absl::Time two_months_ago = absl::FromCivil(absl::CivilDay(this_month - 2) + 9, utc) + absl::Hours(10);
  const absl::Time last_month = absl::FromCivil(absl::CivilDay(this_month - 1) + 9, utc) + absl::Hours(10);

  // Two months ago: the managers with their extensions, the catalogue, X and Y won.
  ClockAt(two_months_ago);
  Manager("anna", "201");
  Manager("petros", "202");
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  ASSERT_TRUE(UpsertProduct("training", 10000, 4000).ok());
  const api::v1::Client x = Won("it-x", Lines(10, 0));  // 499.00
  const api::v1::Client y = Won("it-y", Lines(20, 0));  // 998.00

  // Last month: Z won; an offer to Y sent and still open; PBX calls.
  ClockAt(last_month);
  const api::v1::Client z = Won("it-z", Lines(4, 1));  // 199.60 + 100.00 = 299.60
  Offer("it-y-2", y.lead_id(), Lines(5, 0), Until::kSent);  // 249.50
  const std::string x_phone = x.phone().substr(3), y_phone = y.phone();  // "+30 2310 ..." -> "2310 ..."
  PbxCall("it-pbx-1", last_month + absl::Hours(1), true, x_phone, "201", false);   // Anna's, missed
  PbxCall("it-pbx-2", last_month + absl::Hours(2), false, x.phone(), "202", false);  // Petros calls back
  PbxCall("it-pbx-3", last_month + absl::Hours(3), true, y_phone, "201", true);    // Anna's, answered
  PbxCall("it-pbx-4", last_month + absl::Hours(4), true, "+44 20 7946 0000", "202", false);  // never returned

  // Now: X's order back-dated to last month, Y's renewal, a draft for Z.
  ClockAt(absl::Now());  // no offset
  const absl::Time before_order = absl::Now();
  Order("it-order-x", x.client_id(), last_month + absl::Hours(24), 10);  // 499.00, cost 120.00
  Renewal("it-renewal-y", y.client_id(), 30000);                        // 300.00
  Offer("it-z-2", z.lead_id(), Lines(1, 0), Until::kDraft);  // 49.90
  const absl::Time as_of = absl::Now() + absl::Seconds(1);

  // Wait for reporting to have every fact: three months of revenue, the calls, the open offers.
  const std::string months = StrCat(DayString(absl::CivilDay(this_month - 2)), "..",
                                    DayString(absl::CivilDay(this_month + 1) - 1));
  ASSERT_TRUE(testing::WaitUntil([&] { return Revenue(months, absl::Now()) == 149700 + 79860 + 30000; },
                                 absl::Seconds(40)))
      << "revenue seen: " << Revenue(months, absl::Now());
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return Ask(&api::v1::Reporting::Stub::GetInboundCalls, For<api::v1::InboundCallsRequest>(m1, absl::Now()))
                       .total()
                       .total()
                       .inbound() == 3 &&
               Ask(&api::v1::Reporting::Stub::GetPipeline, For<api::v1::PipelineRequest>(m0, absl::Now()))
                       .total()
                       .offers() == 2;
      },
      absl::Seconds(30)));

  // Revenue per month: the back-dated order is last month's.
  EXPECT_EQ(Revenue(m2, as_of), 149700);
  EXPECT_EQ(Revenue(m1, as_of), 29960 + 49900);
  EXPECT_EQ(Revenue(m0, as_of), 30000);
  // As of before the order was recorded, last month had only Z's first deal.
  EXPECT_EQ(Revenue(m1, before_order), 29960);

  // Products, last month against the month before.
  const auto products = Ask(&api::v1::Reporting::Stub::GetProductReport, For<api::v1::ProductReportRequest>(m1, as_of));
  ASSERT_EQ(products.total().rows_size(), 2);
  const auto& crm = products.total().rows(0);
  EXPECT_EQ(crm.product_code(), "crm-pro");
  EXPECT_EQ(crm.revenue().units(), 19960 + 49900);
  EXPECT_EQ(crm.units(), 14);
  EXPECT_EQ(crm.margin().units(), 69860 - 14 * 1200);
  EXPECT_EQ(crm.previous_revenue().units(), 149700);
  EXPECT_NEAR(crm.growth(), 69860.0 / 149700 - 1, 1e-12);
  EXPECT_NEAR(crm.share(), 69860.0 / 79860, 1e-12);
  const auto& training = products.total().rows(1);
  EXPECT_EQ(training.revenue().units(), 10000);
  EXPECT_EQ(training.margin().units(), 6000);
  EXPECT_FALSE(training.has_growth());

  // New and regular client revenue.
  auto clients = Ask(&api::v1::Reporting::Stub::GetClientRevenue, For<api::v1::ClientRevenueRequest>(m1, as_of));
  ASSERT_EQ(clients.total().rows_size(), 1);
  EXPECT_EQ(clients.total().rows(0).new_client_amount().units(), 29960);
  EXPECT_EQ(clients.total().rows(0).regular_client_amount().units(), 49900);
  clients = Ask(&api::v1::Reporting::Stub::GetClientRevenue, For<api::v1::ClientRevenueRequest>(m0, as_of));
  EXPECT_EQ(clients.total().rows(0).new_client_amount().units(), 0);
  EXPECT_EQ(clients.total().rows(0).regular_client_amount().units(), 30000);

  // Concentration over the 12 months to the end of this month: X 998.00, Y 1,298.00, Z 299.60.
  auto c_request = For<api::v1::ConcentrationRequest>(m0, as_of);
  c_request.set_dynamics(api::v1::BUCKET_MONTH);
  const auto concentration = Ask(&api::v1::Reporting::Stub::GetConcentration, c_request);
  const auto hhi = [](std::vector<double> r) {
    double total = 0, sum = 0;
    for (double v : r) total += v;
    for (double v : r) sum += (100 * v / total) * (100 * v / total);
    return sum;
  };
  const auto& c = concentration.total();
  EXPECT_EQ(c.revenue().units(), 259560);
  EXPECT_EQ(c.clients(), 3);
  EXPECT_EQ(c.largest(0).client_id(), y.lead_id());
  EXPECT_NEAR(c.largest_share(), 129800.0 / 259560, 1e-9);
  EXPECT_NEAR(c.hhi(), hhi({99800, 129800, 29960}), 1e-6);
  EXPECT_NEAR(c.previous_hhi(), hhi({99800, 99800, 29960}), 1e-6);
  EXPECT_GT(c.hhi_change(), 0) << "Y's renewal made the company more dependent on Y";
  EXPECT_TRUE(c.concentrated());
  ASSERT_EQ(concentration.buckets_size(), 1);

  // Inbound calls last month: Anna's missed call was returned by Petros, Petros's was not.
  const auto calls = Ask(&api::v1::Reporting::Stub::GetInboundCalls, For<api::v1::InboundCallsRequest>(m1, as_of));
  std::map<std::string, api::v1::InboundCallsRow> by_manager;
  for (const auto& row : calls.total().rows()) by_manager[row.manager_id()] = row;
  const auto& anna = by_manager[managers_["anna"]];
  EXPECT_EQ(anna.inbound(), 2);
  EXPECT_EQ(anna.answered(), 1);
  EXPECT_EQ(anna.returned(), 1);
  EXPECT_NEAR(anna.answered_share(), 0.5, 1e-12);
  const auto& petros = by_manager[managers_["petros"]];
  EXPECT_EQ(petros.inbound(), 1);
  EXPECT_EQ(petros.not_returned(), 1);

  // The pipeline now: Y's sent offer and Z's draft, at the default probabilities; the first deals
  // (all sent and accepted) measure 1.0 for both stages.
  const auto pipeline = Ask(&api::v1::Reporting::Stub::GetPipeline, For<api::v1::PipelineRequest>(m0, as_of));
  EXPECT_EQ(pipeline.total().value().units(), 24950 + 4990);
  EXPECT_EQ(pipeline.total().weighted_value().units(), 7485 + 499);
  EXPECT_EQ(pipeline.total().probabilities(1).closed(), 3);
  EXPECT_NEAR(pipeline.total().probabilities(1).measured_probability(), 1.0, 1e-12);
  auto plan = For<api::v1::PlanVsActualRequest>(m0, as_of);
  plan.set_metric(events::v1::PLAN_METRIC_REVENUE);
  const auto plan_vs_actual = Ask(&api::v1::Reporting::Stub::GetPlanVsActual, plan);
  EXPECT_EQ(plan_vs_actual.total().rows(0).weighted_forecast_amount().units(), 30000 + 7485 + 499);

  // A rebuild of the reporting store: the same rows, the same answers.
  ASSERT_TRUE(reporting_->Stop().ok());
  StartReporting("reporting-rebuild");
  ASSERT_TRUE(reporting_->Stop().ok());
  ReportingProjection projection;
  testing::ExpectSameRows(testing::StoreRows(dir_.File("reporting-store"), projection),
                          testing::StoreRows(dir_.File("reporting-rebuild"), projection));
  StartReporting("reporting-rebuild");
  using google::protobuf::util::MessageDifferencer;
  EXPECT_TRUE(MessageDifferencer::Equals(
      products, Ask(&api::v1::Reporting::Stub::GetProductReport, For<api::v1::ProductReportRequest>(m1, as_of))));
  EXPECT_TRUE(MessageDifferencer::Equals(concentration, Ask(&api::v1::Reporting::Stub::GetConcentration, c_request)));
  EXPECT_TRUE(MessageDifferencer::Equals(
      calls, Ask(&api::v1::Reporting::Stub::GetInboundCalls, For<api::v1::InboundCallsRequest>(m1, as_of))));
  EXPECT_TRUE(MessageDifferencer::Equals(
      pipeline, Ask(&api::v1::Reporting::Stub::GetPipeline, For<api::v1::PipelineRequest>(m0, as_of))));
  EXPECT_TRUE(MessageDifferencer::Equals(plan_vs_actual, Ask(&api::v1::Reporting::Stub::GetPlanVsActual, plan)));
}

}  // namespace
}  // namespace sales::reporting
