// The products, clients, concentration, inbound calls and pipeline reports on a real store, from
// events: docs/REPORTS.md's worked examples figure by figure, plus re-delivery (every event
// applied twice), interleaving (the aggregates in another order), as-of, dynamics and the flag.
#include <algorithm>
#include <map>

#include "common/base/ids.h"
#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "common/testing/store_rows.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reporting/api/report_queries.h"
#include "services/reporting/api/report_tables.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return t;
}

events::v1::Money Amount(int64_t units, const std::string& currency = "EUR") {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency(currency);
  return m;
}

google::protobuf::Timestamp Ts(const std::string& rfc3339) { return events::ToProto(At(rfc3339)); }

// ---- The rules ----

TEST(SalesRules, ThePrecedingPeriodIsOfTheSameKind) {
  const auto preceding = [](const std::string& p) {
    const Period q = PrecedingPeriod(ParsePeriod(p).value());
    return StrCat(q.label, " ", DayString(q.first), " ", DayString(q.last));
  };
  EXPECT_EQ(preceding("2026-03"), "2026-02 2026-02-01 2026-02-28");
  EXPECT_EQ(preceding("2026-Q1"), "2025-10-01..2025-12-31 2025-10-01 2025-12-31");
  EXPECT_EQ(preceding("2026"), "2025-01-01..2025-12-31 2025-01-01 2025-12-31");
  EXPECT_EQ(preceding("2026-W48"), "2026-11-16..2026-11-22 2026-11-16 2026-11-22");
  EXPECT_EQ(preceding("2026-11-10..2026-11-19"), "2026-10-31..2026-11-09 2026-10-31 2026-11-09");
  EXPECT_EQ(preceding("2026-03-01"), "2026-02-28..2026-02-28 2026-02-28 2026-02-28");
  EXPECT_DOUBLE_EQ(Growth(6800, 4000).value(), 0.7);
  EXPECT_FALSE(Growth(100, 0).has_value());
}

TEST(SalesRules, TheTrailingYearAndTheIndex) {
  Period w = TrailingYear(absl::CivilDay(2026, 11, 30));
  EXPECT_EQ(DayString(w.first), "2025-12-01");
  w = TrailingYear(absl::CivilDay(2026, 11, 15));
  EXPECT_EQ(DayString(w.first), "2025-11-16");
  w = TrailingYear(absl::CivilDay(2024, 2, 28));  // the day after is 29 February
  EXPECT_EQ(DayString(w.first), "2023-03-01");
  ConcentrationIndex i = Concentrate({1200000, 400000, 400000, 0});
  EXPECT_NEAR(i.hhi, 4400, 1e-6);
  EXPECT_NEAR(i.largest_share, 0.6, 1e-12);
  EXPECT_NEAR(i.top5_share, 1.0, 1e-12);
  i = Concentrate({1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  EXPECT_NEAR(i.hhi, 1000, 1e-6);
  EXPECT_NEAR(i.top5_share, 0.5, 1e-12);
  EXPECT_EQ(Concentrate({}).hhi, 0);
}

TEST(SalesRules, StageProbabilitiesAreParsedOrRefusedNamingTheFlag) {
  auto p = ParseStageProbabilities("DRAFT=0.1, SENT=0.3");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->at(store::v1::PIPELINE_STAGE_DRAFT), 0.1);
  EXPECT_EQ(p->at(store::v1::PIPELINE_STAGE_SENT), 0.3);
  EXPECT_TRUE(ParseStageProbabilities("")->empty());
  for (const char* bad : {"DRAFT=1.5", "SENT=-0.1", "ACCEPTED=1", "DRAFT", "DRAFT=0.1,DRAFT=0.2", "SENT=x"}) {
    const Status s = ParseStageProbabilities(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), ::testing::HasSubstr("--stage-probabilities")) << bad;
  }
}

// ---- From events ----

class SalesReports : public ::testing::Test {
 protected:
  void SetUp() override { Open(store_, dir_); }

  void Open(std::unique_ptr<Store>& store, const testing::TempDir& dir) {
    store = Store::Open({.path = dir.path(), .column_families = projection_.column_families()}).value();
  }
  ReportQueries Queries() const { return ReportQueries(store_.get(), &clock_, settings_); }

  // Events are recorded here and applied by ApplyAll, so a test can apply them again or in
  // another order.
  EventEnvelope& Event(const std::string& type, const std::string& id, const std::string& occurred,
                       const std::string& recorded = "") {
    EventEnvelope e;
    e.set_event_id(NameUuid("sales-reports-test", StrCat(events_.size())));
    e.set_event_type(StrCat(type, ".test"));
    e.set_schema_version(1);
    e.set_aggregate_type(type);
    e.set_aggregate_id(id);
    e.set_aggregate_version(++versions_[id]);
    *e.mutable_occurred_at() = Ts(occurred);
    *e.mutable_recorded_at() = Ts(recorded.empty() ? occurred : recorded);
    events_.push_back(std::move(e));
    return events_.back();
  }
  void ApplyAll(Store* store, const std::vector<EventEnvelope>& events) {
    projection::Applier applier(store, &projection_);
    for (const auto& e : events) {
      auto outcomes = applier.ApplyAppended({{"t.topic", 0, -1, e.aggregate_id(), e.SerializeAsString(), {}}});
      ASSERT_TRUE(outcomes.ok()) << outcomes.status();
    }
  }
  void ApplyAll() { ApplyAll(store_.get(), events_); }

  std::map<std::string, std::string> Rows(Store* store) {
    std::map<std::string, std::string> rows;
    for (const auto& family : projection_.column_families()) {
      EXPECT_TRUE(store->Scan(family, "", "", [&](std::string_view k, std::string_view v) {
        rows[family + "|" + std::string(k)] = std::string(v);
        return true;
      }).ok());
    }
    return rows;
  }

  // A drafted offer: one line per (product, quantity, net).
  struct Line {
    std::string product;
    int64_t quantity;
    int64_t net;
  };
  void Draft(const std::string& offer, const std::string& lead, const std::string& manager, const std::vector<Line>& lines,
             const std::string& when, const std::string& currency = "EUR") {
    auto* d = Event("offer", offer, when).mutable_offer()->mutable_drafted();
    d->mutable_lead()->set_lead_id(lead);
    d->mutable_lead()->set_owner_manager_id(manager);
    d->mutable_lead()->set_region("GR-ATT");
    d->mutable_lead()->mutable_contact()->set_company(StrCat("Company of ", lead));
    d->mutable_terms()->set_revision(1);
    d->mutable_terms()->set_currency(currency);
    int64_t total = 0;
    for (const Line& l : lines) {
      auto* line = d->mutable_terms()->add_lines();
      line->set_product_code(l.product);
      line->set_quantity(l.quantity);
      *line->mutable_net() = Amount(l.net, currency);
      total += l.net;
    }
    *d->mutable_terms()->mutable_total() = Amount(total, currency);
  }
  void Send(const std::string& offer, const std::string& when) {
    Event("offer", offer, when).mutable_offer()->mutable_sent()->set_revision(1);
  }
  // Accepted (sent first) with the unit costs given, converting the lead when `converts`.
  void Accept(const std::string& offer, const std::string& when, int64_t value,
              const std::map<std::string, int64_t>& unit_costs, bool converts = true) {
    Send(offer, when);
    auto* a = Event("offer", offer, when).mutable_offer()->mutable_accepted();
    a->set_revision(1);
    *a->mutable_value() = Amount(value);
    a->set_converts_lead(converts);
    for (const auto& [product, cost] : unit_costs) {
      auto* c = a->add_costs();
      c->set_product_code(product);
      *c->mutable_unit_cost() = Amount(cost);
    }
  }
  void Rate(const std::string& currency, const std::string& day, const std::string& rate, const std::string& recorded) {
    api::v1::SetExchangeRateRequest r;
    r.set_currency(currency);
    r.set_day(day);
    r.set_rate(rate);
    *Event(kRateAggregate, RateIdFor(currency, day), recorded).mutable_plan() = DecideSetExchangeRate(r, "EUR");
  }

  // The sales of the products, clients and concentration example (docs/REPORTS.md).
  void Sales() {
    Rate("USD", "2026-10-01", "0.9000", "2026-06-01T08:00:00Z");
    Draft("offer-c", "lead-c", "anna", {{"training", 8, 400000}}, "2026-06-10T09:00:00Z");
    Accept("offer-c", "2026-06-10T10:00:00Z", 400000, {{"training", 15000}});
    Draft("offer-b", "lead-b", "nikos", {{"crm-pro", 8, 400000}}, "2026-10-10T09:00:00Z");
    Accept("offer-b", "2026-10-10T10:00:00Z", 400000, {{"crm-pro", 20000}});
    Draft("offer-a", "lead-a", "anna", {{"crm-pro", 10, 500000}, {"training", 2, 100000}}, "2026-11-05T09:00:00Z");
    Accept("offer-a", "2026-11-05T10:00:00Z", 600000, {{"crm-pro", 20000}, {"training", 15000}});
    auto* opened = Event("client", "client-a", "2026-11-05T10:00:01Z").mutable_client()->mutable_opened();
    opened->set_lead_id("lead-a");
    opened->mutable_conversion()->set_owner_manager_id("anna");
    opened->mutable_conversion()->mutable_contact()->set_company("Company of lead-a");
    opened->mutable_conversion()->mutable_contact()->set_phone("+30 2310 555 123");
    *opened->mutable_won_at() = Ts("2026-11-05T10:00:00Z");
    auto* o = Event("client", "client-a", "2026-11-20T12:00:00Z").mutable_client()->mutable_order_recorded();
    o->set_currency("USD");
    *o->mutable_ordered_at() = Ts("2026-11-20T12:00:00Z");
    auto* line = o->add_lines();
    line->set_product_code("crm-pro");
    line->set_quantity(4);
    *line->mutable_net() = Amount(200000, "USD");
    auto* cost = o->add_costs();
    cost->set_product_code("crm-pro");
    *cost->mutable_unit_cost() = Amount(20000, "USD");
    auto* renewal = Event("client", "client-a", "2026-11-25T12:00:00Z").mutable_client()->mutable_renewal_recorded();
    *renewal->mutable_value() = Amount(420000);
    *renewal->mutable_renewed_at() = Ts("2026-11-25T12:00:00Z");
  }

  // A PBX call: on client-a when `on_client`, else an unmatched call of its own aggregate.
  void Call(const std::string& id, const std::string& started, bool inbound, const std::string& number,
            const std::string& manager, bool answered, bool on_client) {
    const std::string recorded = absl::FormatTime(absl::RFC3339_sec, At(started) + absl::Minutes(1), absl::UTCTimeZone());
    events::v1::PbxCall call;
    call.set_call_id(id);
    call.set_direction(inbound ? events::v1::CALL_DIRECTION_INBOUND : events::v1::CALL_DIRECTION_OUTBOUND);
    call.set_from(inbound ? number : "+302100000000");
    call.set_to(inbound ? "+302100000000" : number);
    *call.mutable_started_at() = Ts(started);
    call.set_answered(answered);
    call.set_manager_id(manager);
    if (on_client) {
      auto* i = Event("client", "client-a", started, recorded).mutable_client()->mutable_interaction_logged();
      i->set_kind(events::v1::INTERACTION_KIND_CALL);
      i->set_manager_id(manager);
      *i->mutable_occurred_at() = call.started_at();
      *i->mutable_call() = call;
    } else {
      *Event("call", id, started, recorded).mutable_call()->mutable_unmatched()->mutable_call() = call;
    }
  }
  // The inbound calls example (docs/REPORTS.md): Anna holds 201, Petros 202.
  void Calls() {
    if (versions_.count("client-a")) return CallsOnly();
    auto* opened = Event("client", "client-a", "2026-11-01T10:00:00Z").mutable_client()->mutable_opened();
    opened->set_lead_id("lead-a");
    opened->mutable_conversion()->set_owner_manager_id("anna");
    CallsOnly();
  }
  void CallsOnly() {
    Call("pbx-1", "2026-11-10T09:00:00Z", true, "+30 2310 555 123", "anna", true, true);
    Call("pbx-2", "2026-11-10T10:00:00Z", true, "2310 555123", "anna", false, true);
    Call("pbx-3", "2026-11-10T12:30:00Z", false, "+302310555123", "petros", false, true);
    Call("pbx-4", "2026-11-10T11:00:00Z", true, "+44 20 7946 0958", "petros", false, false);
    Call("pbx-5", "2026-11-10T16:00:00Z", true, "020 7946 0958", "petros", true, false);
    Call("pbx-6", "2026-11-10T15:00:00Z", true, "anonymous", "anna", false, false);
    Call("pbx-7", "2026-11-30T22:00:00Z", true, "+30 697 000 0001", "anna", false, false);
  }

  // The pipeline example (docs/REPORTS.md): the plan-against-actual example's offers 1 and 2,
  // offer 4 rejected, offer 5 withdrawn, offers 6-8 open.
  void Pipeline() {
    Rate("USD", "2026-11-01", "0.9000", "2026-11-01T08:00:00Z");
    Draft("offer-1", "lead-a", "anna", {{"crm-pro", 1, 1000000}}, "2026-11-05T09:00:00Z");
    Accept("offer-1", "2026-11-05T10:00:00Z", 1000000, {});
    Draft("offer-2", "lead-n", "nikos", {{"crm-pro", 1, 2000000}}, "2026-11-12T09:00:00Z");
    Accept("offer-2", "2026-11-12T15:00:00Z", 2000000, {});
    Draft("offer-4", "lead-d", "anna", {{"crm-pro", 1, 300000}}, "2026-11-06T09:00:00Z");
    Send("offer-4", "2026-11-06T10:00:00Z");
    Event("offer", "offer-4", "2026-11-07T10:00:00Z").mutable_offer()->mutable_rejected()->set_revision(1);
    Draft("offer-5", "lead-e", "anna", {{"crm-pro", 1, 300000}}, "2026-11-07T09:00:00Z");
    Event("offer", "offer-5", "2026-11-08T10:00:00Z").mutable_offer()->mutable_withdrawn()->set_reason("duplicate");
    Draft("offer-6", "lead-f", "anna", {{"crm-pro", 2, 1000000}}, "2026-11-12T09:00:00Z");
    Send("offer-6", "2026-11-13T09:00:00Z");
    Draft("offer-7", "lead-g", "anna", {{"crm-pro", 1, 500000}}, "2026-11-12T09:00:00Z");
    Draft("offer-8", "lead-h", "nikos", {{"crm-pro", 1, 200000}}, "2026-11-12T09:00:00Z", "USD");
    Send("offer-8", "2026-11-13T09:00:00Z");
  }

  api::v1::PipelineResponse GetPipeline(const std::string& period, const std::string& as_of,
                                        PlanDimension by = events::v1::PLAN_DIMENSION_COMPANY) {
    api::v1::PipelineRequest r;
    r.set_period(period);
    r.set_by(by);
    *r.mutable_as_of() = Ts(as_of);
    auto out = Queries().GetPipeline(r);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.value_or(api::v1::PipelineResponse{});
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{At("2026-12-01T00:00:00Z")};
  ReportSettings settings_;
  ReportingProjection projection_;
  std::unique_ptr<Store> store_;
  std::vector<EventEnvelope> events_;
  std::map<std::string, int64_t> versions_;
};

TEST_F(SalesReports, ProductsOfTheWorkedExample) {
  Sales();
  ApplyAll();
  api::v1::ProductReportRequest r;
  r.set_period("2026-11");
  const auto out = Queries().GetProductReport(r);
  ASSERT_TRUE(out.ok()) << out.status();
  const auto& p = out->total();
  EXPECT_EQ(p.previous().label(), "2026-10");
  EXPECT_EQ(p.revenue().units(), 1200000);
  ASSERT_EQ(p.rows_size(), 3);
  const auto& crm = p.rows(0);
  EXPECT_EQ(crm.product_code(), "crm-pro");
  EXPECT_EQ(crm.revenue().units(), 680000);  // 5,000.00 + 2,000.00 USD x 0.9
  EXPECT_EQ(crm.units(), 14);
  EXPECT_EQ(crm.margin().units(), 408000);  // 3,000.00 + 1,200.00 USD x 0.9
  EXPECT_NEAR(crm.share(), 0.5667, 1e-4);
  EXPECT_EQ(crm.previous_revenue().units(), 400000);
  ASSERT_TRUE(crm.has_growth());
  EXPECT_NEAR(crm.growth(), 0.70, 1e-12);
  const auto& renewals = p.rows(1);
  EXPECT_EQ(renewals.product_code(), "");
  EXPECT_EQ(renewals.label(), "(no product: renewals)");
  EXPECT_EQ(renewals.revenue().units(), 420000);
  EXPECT_EQ(renewals.units(), 0);
  EXPECT_EQ(renewals.margin().units(), 420000);
  EXPECT_EQ(renewals.lines_without_cost(), 1);
  EXPECT_NEAR(renewals.share(), 0.35, 1e-12);
  EXPECT_FALSE(renewals.has_growth());
  const auto& training = p.rows(2);
  EXPECT_EQ(training.product_code(), "training");
  EXPECT_EQ(training.revenue().units(), 100000);
  EXPECT_EQ(training.units(), 2);
  EXPECT_EQ(training.margin().units(), 70000);
  EXPECT_NEAR(training.share(), 0.0833, 1e-4);
  EXPECT_FALSE(training.has_growth());
}

TEST_F(SalesReports, ProductDynamicsGiveEveryMonthAndItsOwnGrowth) {
  Sales();
  ApplyAll();
  api::v1::ProductReportRequest r;
  r.set_period("2026-Q4");
  r.set_dynamics(api::v1::BUCKET_MONTH);
  r.mutable_filters()->set_product_code("crm-pro");
  const auto out = Queries().GetProductReport(r).value();
  ASSERT_EQ(out.buckets_size(), 3);
  EXPECT_EQ(out.buckets(0).rows(0).revenue().units(), 400000);
  EXPECT_FALSE(out.buckets(0).rows(0).has_growth());  // nothing in September
  EXPECT_NEAR(out.buckets(1).rows(0).growth(), 0.70, 1e-12);
  // December: nothing sold, still listed; crm-pro dropped to zero against November.
  ASSERT_EQ(out.buckets(2).rows_size(), 1);
  EXPECT_EQ(out.buckets(2).rows(0).revenue().units(), 0);
  EXPECT_NEAR(out.buckets(2).rows(0).growth(), -1.0, 1e-12);
  EXPECT_EQ(out.total().revenue().units(), 1080000);
  EXPECT_EQ(out.total().previous().label(), "2026-07-01..2026-09-30");
}

TEST_F(SalesReports, NewAndRegularClientRevenue) {
  Sales();
  ApplyAll();
  api::v1::ClientRevenueRequest r;
  r.set_period("2026-11");
  auto out = Queries().GetClientRevenue(r).value();
  ASSERT_EQ(out.total().rows_size(), 1);
  EXPECT_EQ(out.total().rows(0).new_client_amount().units(), 600000);
  EXPECT_EQ(out.total().rows(0).regular_client_amount().units(), 600000);
  EXPECT_EQ(out.total().rows(0).total_amount().units(), 1200000);
  EXPECT_NEAR(out.total().rows(0).regular_share(), 0.50, 1e-12);
  r.set_period("2026-10");
  out = Queries().GetClientRevenue(r).value();
  EXPECT_EQ(out.total().rows(0).new_client_amount().units(), 400000);
  EXPECT_EQ(out.total().rows(0).regular_client_amount().units(), 0);

  r.set_period("2026-11");
  r.set_by(events::v1::PLAN_DIMENSION_PRODUCT);
  out = Queries().GetClientRevenue(r).value();
  std::map<std::string, std::pair<int64_t, int64_t>> by_product;
  for (const auto& row : out.total().rows()) {
    by_product[row.key()] = {row.new_client_amount().units(), row.regular_client_amount().units()};
  }
  using Split = std::pair<int64_t, int64_t>;
  EXPECT_THAT(by_product, ElementsAre(::testing::Pair("", Split(0, 420000)), ::testing::Pair("crm-pro", Split(500000, 180000)),
                                      ::testing::Pair("training", Split(100000, 0))));
}

TEST_F(SalesReports, ConcentrationOfTheWorkedExampleAndItsFlag) {
  Sales();
  ApplyAll();
  api::v1::ConcentrationRequest r;
  r.set_period("2026-11");
  auto out = Queries().GetConcentration(r).value();
  const auto& c = out.total();
  EXPECT_EQ(c.window().first_day(), "2025-12-01");
  EXPECT_EQ(c.window().last_day(), "2026-11-30");
  EXPECT_EQ(c.revenue().units(), 2000000);
  EXPECT_EQ(c.clients(), 3);
  EXPECT_NEAR(c.largest_share(), 0.60, 1e-12);
  EXPECT_NEAR(c.top5_share(), 1.0, 1e-12);
  EXPECT_NEAR(c.hhi(), 4400, 1e-6);
  EXPECT_TRUE(c.concentrated());
  EXPECT_EQ(out.threshold(), 1800);
  EXPECT_NEAR(c.previous_hhi(), 5000, 1e-6);
  EXPECT_NEAR(c.hhi_change(), -600, 1e-6);
  ASSERT_EQ(c.largest_size(), 3);
  EXPECT_EQ(c.largest(0).client_id(), "lead-a");
  EXPECT_EQ(c.largest(0).label(), "Company of lead-a");
  EXPECT_EQ(c.largest(0).revenue().units(), 1200000);
  EXPECT_EQ(c.largest(1).client_id(), "lead-b");  // a tie: by id
  EXPECT_EQ(c.largest(2).client_id(), "lead-c");

  // The flag is strictly above the threshold.
  settings_.sales.concentration_threshold = 4400;
  EXPECT_FALSE(Queries().GetConcentration(r)->total().concentrated());
  settings_.sales.concentration_threshold = 4399;
  EXPECT_TRUE(Queries().GetConcentration(r)->total().concentrated());

  // Month after month over the quarter: the window of each month's end.
  r.set_period("2026-Q4");
  r.set_dynamics(api::v1::BUCKET_MONTH);
  out = Queries().GetConcentration(r).value();
  ASSERT_EQ(out.buckets_size(), 3);
  EXPECT_NEAR(out.buckets(0).hhi(), 5000, 1e-6);
  EXPECT_NEAR(out.buckets(1).hhi(), 4400, 1e-6);
  EXPECT_NEAR(out.buckets(1).hhi_change(), -600, 1e-6);
  EXPECT_NEAR(out.buckets(2).hhi(), 4400, 1e-6);
  EXPECT_NEAR(out.buckets(2).hhi_change(), 0, 1e-6);
  EXPECT_EQ(out.total().window().first_day(), "2026-01-01");
}

TEST_F(SalesReports, AsOfLeavesOutWhatWasRecordedLater) {
  Sales();
  ApplyAll();
  api::v1::ConcentrationRequest r;
  r.set_period("2026-11");
  *r.mutable_as_of() = Ts("2026-11-22T00:00:00Z");  // before the renewal
  const auto c = Queries().GetConcentration(r)->total();
  EXPECT_EQ(c.revenue().units(), 1580000);
  EXPECT_NEAR(c.largest_share(), 780000.0 / 1580000, 1e-12);
  api::v1::ProductReportRequest p;
  p.set_period("2026-11");
  *p.mutable_as_of() = Ts("2026-11-06T00:00:00Z");
  const auto products = Queries().GetProductReport(p)->total();
  EXPECT_EQ(products.revenue().units(), 600000);
  EXPECT_EQ(products.rows_size(), 2);  // crm-pro and training of the first deal
}

TEST_F(SalesReports, InboundCallsOfTheWorkedExample) {
  Calls();
  ApplyAll();
  api::v1::InboundCallsRequest r;
  r.set_period("2026-11");
  *r.mutable_as_of() = Ts("2026-12-01T00:00:00Z");
  auto out = Queries().GetInboundCalls(r).value();
  EXPECT_EQ(out.return_hours(), 4);
  ASSERT_EQ(out.total().rows_size(), 2);
  const auto& anna = out.total().rows(0);
  EXPECT_EQ(anna.manager_id(), "anna");
  EXPECT_EQ(anna.inbound(), 4);
  EXPECT_EQ(anna.answered(), 1);
  EXPECT_EQ(anna.missed(), 3);
  EXPECT_NEAR(anna.answered_share(), 0.25, 1e-12);
  EXPECT_EQ(anna.returned(), 1);
  EXPECT_EQ(anna.not_returned(), 0);
  EXPECT_EQ(anna.pending(), 1);
  EXPECT_EQ(anna.without_number(), 1);
  const auto& petros = out.total().rows(1);
  EXPECT_EQ(petros.manager_id(), "petros");
  EXPECT_EQ(petros.inbound(), 2);
  EXPECT_EQ(petros.answered(), 1);
  EXPECT_NEAR(petros.answered_share(), 0.5, 1e-12);
  EXPECT_EQ(petros.not_returned(), 1);
  const auto& all = out.total().total();
  EXPECT_EQ(std::make_tuple(all.inbound(), all.answered(), all.missed(), all.returned(), all.not_returned(),
                            all.pending(), all.without_number()),
            std::make_tuple(6, 2, 4, 1, 1, 1, 1));
  EXPECT_NEAR(all.answered_share(), 2.0 / 6, 1e-12);

  // Three hours later #7's four hours are over.
  *r.mutable_as_of() = Ts("2026-12-01T03:00:00Z");
  out = Queries().GetInboundCalls(r).value();
  EXPECT_EQ(out.total().rows(0).not_returned(), 1);
  EXPECT_EQ(out.total().rows(0).pending(), 0);
  // As of noon on the 10th: #2's return was recorded at 12:31, #4's hours run till 15:00.
  *r.mutable_as_of() = Ts("2026-11-10T12:00:00Z");
  out = Queries().GetInboundCalls(r).value();
  EXPECT_EQ(out.total().total().inbound(), 3);
  EXPECT_EQ(out.total().total().pending(), 2);
  EXPECT_EQ(out.total().total().returned(), 0);
  // A return window of 6 hours reaches #5.
  settings_.sales.call_return_hours = 6;
  *r.mutable_as_of() = Ts("2026-12-01T00:00:00Z");
  EXPECT_EQ(Queries().GetInboundCalls(r)->total().rows(1).returned(), 1);
}

TEST_F(SalesReports, InboundCallDynamicsAndFilters) {
  Calls();
  ApplyAll();
  api::v1::InboundCallsRequest r;
  r.set_period("2026-11-09..2026-11-11");
  r.set_dynamics(api::v1::BUCKET_DAY);
  r.mutable_filters()->set_manager_id("anna");
  const auto out = Queries().GetInboundCalls(r).value();
  ASSERT_EQ(out.buckets_size(), 3);
  EXPECT_EQ(out.buckets(0).total().inbound(), 0);  // an empty day is listed
  EXPECT_EQ(out.buckets(0).rows_size(), 0);
  EXPECT_EQ(out.buckets(1).total().inbound(), 3);
  EXPECT_EQ(out.buckets(2).total().inbound(), 0);
  ASSERT_EQ(out.total().rows_size(), 1);
  EXPECT_EQ(out.total().rows(0).manager_id(), "anna");
}

TEST_F(SalesReports, PipelineOfTheWorkedExample) {
  Pipeline();
  ApplyAll();
  auto out = GetPipeline("2026-11", "2026-11-15T00:00:00Z");
  const auto& p = out.total();
  EXPECT_EQ(events::FromProto(p.at()), At("2026-11-15T00:00:00Z"));  // the as-of time: earlier than the month's end
  ASSERT_EQ(p.rows_size(), 2);
  EXPECT_EQ(p.rows(0).stage(), api::v1::PIPELINE_STAGE_DRAFT);
  EXPECT_EQ(p.rows(0).offers(), 1);
  EXPECT_EQ(p.rows(0).value().units(), 500000);
  EXPECT_EQ(p.rows(0).probability(), 0.1);
  EXPECT_EQ(p.rows(0).weighted_value().units(), 50000);
  EXPECT_EQ(p.rows(1).stage(), api::v1::PIPELINE_STAGE_SENT);
  EXPECT_EQ(p.rows(1).offers(), 2);
  EXPECT_EQ(p.rows(1).value().units(), 1180000);
  EXPECT_EQ(p.rows(1).weighted_value().units(), 354000);
  EXPECT_EQ(p.offers(), 3);
  EXPECT_EQ(p.weighted_value().units(), 404000);
  ASSERT_EQ(p.probabilities_size(), 2);
  EXPECT_EQ(p.probabilities(0).closed(), 4);
  EXPECT_EQ(p.probabilities(0).won(), 2);
  EXPECT_NEAR(p.probabilities(0).measured_probability(), 0.5, 1e-12);
  EXPECT_TRUE(p.probabilities(0).configured());
  EXPECT_EQ(p.probabilities(1).closed(), 3);
  EXPECT_NEAR(p.probabilities(1).measured_probability(), 2.0 / 3, 1e-12);

  settings_.sales.stage_probabilities.clear();  // --stage-probabilities=
  out = GetPipeline("2026-11", "2026-11-15T00:00:00Z");
  EXPECT_EQ(out.total().weighted_value().units(), 1036667);  // 2,500.00 + 7,866.67
  EXPECT_FALSE(out.total().probabilities(0).configured());

  out = GetPipeline("2026-11", "2026-11-10T00:00:00Z");
  EXPECT_EQ(out.total().rows_size(), 0);
  EXPECT_EQ(out.total().probabilities(0).closed(), 3);
  EXPECT_EQ(out.total().probabilities(0).won(), 1);
  EXPECT_EQ(out.total().probabilities(1).closed(), 2);
  EXPECT_EQ(out.total().probabilities(1).won(), 1);
}

TEST_F(SalesReports, PipelineByManagerAndAtTheEndOfEachBucket) {
  Pipeline();
  ApplyAll();
  auto out = GetPipeline("2026-11", "2026-11-15T00:00:00Z", events::v1::PLAN_DIMENSION_MANAGER);
  std::vector<std::tuple<std::string, int, int64_t>> rows;
  for (const auto& row : out.total().rows()) rows.emplace_back(row.key(), row.stage(), row.weighted_value().units());
  EXPECT_THAT(rows, ElementsAre(std::make_tuple("anna", 1, 50000), std::make_tuple("anna", 2, 300000),
                                std::make_tuple("nikos", 2, 54000)));
  api::v1::PipelineRequest r;
  r.set_period("2026-11-02..2026-11-15");
  r.set_dynamics(api::v1::BUCKET_WEEK);
  *r.mutable_as_of() = Ts("2026-12-01T00:00:00Z");
  const auto weeks = Queries().GetPipeline(r).value();
  ASSERT_EQ(weeks.buckets_size(), 2);
  // At the end of 8 November: offers 1 accepted, 4 rejected, 5 withdrawn: none open.
  EXPECT_EQ(events::FromProto(weeks.buckets(0).at()), At("2026-11-09T00:00:00Z") - absl::Nanoseconds(1));
  EXPECT_EQ(weeks.buckets(0).offers(), 0);
  EXPECT_EQ(weeks.buckets(1).offers(), 3);
}

TEST_F(SalesReports, TheWeightedForecastOfPlanAgainstActual) {
  Pipeline();
  ApplyAll();
  api::v1::PlanVsActualRequest r;
  r.set_period("2026-11");
  r.set_metric(events::v1::PLAN_METRIC_REVENUE);
  *r.mutable_as_of() = Ts("2026-11-15T00:00:00Z");
  auto out = Queries().GetPlanVsActual(r).value();
  ASSERT_EQ(out.total().rows_size(), 1);
  EXPECT_EQ(out.total().rows(0).actual_amount().units(), 3000000);
  EXPECT_EQ(out.total().rows(0).weighted_forecast_amount().units(), 3404000);
  r.set_by(events::v1::PLAN_DIMENSION_MANAGER);
  out = Queries().GetPlanVsActual(r).value();
  ASSERT_EQ(out.total().rows_size(), 2);
  EXPECT_EQ(out.total().rows(0).weighted_forecast_amount().units(), 1350000);  // anna
  EXPECT_EQ(out.total().rows(1).weighted_forecast_amount().units(), 2054000);  // nikos
  // November has ended: the actual.
  r.set_by(events::v1::PLAN_DIMENSION_COMPANY);
  *r.mutable_as_of() = Ts("2026-12-01T00:00:00Z");
  out = Queries().GetPlanVsActual(r).value();
  EXPECT_EQ(out.total().rows(0).weighted_forecast_amount().units(), 3000000);
  // With dynamics only the bucket that holds the as-of time gets the pipeline.
  r.set_period("2026-11-01..2026-11-21");
  r.set_dynamics(api::v1::BUCKET_WEEK);
  *r.mutable_as_of() = Ts("2026-11-15T00:00:00Z");
  out = Queries().GetPlanVsActual(r).value();
  for (const auto& b : out.buckets()) {
    for (const auto& row : b.rows()) {
      const int64_t pipeline = b.period().label() == "2026-W46" ? 404000 : 0;
      EXPECT_EQ(row.weighted_forecast_amount().units(), row.actual_amount().units() + pipeline) << b.period().label();
    }
  }
  // A manager with open offers and no sale yet gets a row: Nikos at noon on the 12th (offers 2
  // and 8 drafted, offer 2 accepted at 15:00).
  r.clear_dynamics();
  r.set_by(events::v1::PLAN_DIMENSION_MANAGER);
  *r.mutable_as_of() = Ts("2026-11-12T12:00:00Z");
  out = Queries().GetPlanVsActual(r).value();
  ASSERT_EQ(out.total().rows_size(), 2);
  EXPECT_EQ(out.total().rows(1).key(), "nikos");
  EXPECT_EQ(out.total().rows(1).actual_amount().units(), 0);
  EXPECT_FALSE(out.total().rows(1).has_target());
  EXPECT_EQ(out.total().rows(1).weighted_forecast_amount().units(), 218000);  // 0.1 x (20,000.00 + 1,800.00)
  // Margin and counts have no weighted forecast.
  r.set_metric(events::v1::PLAN_METRIC_MARGIN);
  out = Queries().GetPlanVsActual(r).value();
  for (const auto& row : out.total().rows()) EXPECT_FALSE(row.has_weighted_forecast_amount());
}

TEST_F(SalesReports, EveryEventTwiceGivesTheSameRows) {
  Sales();
  Calls();
  Pipeline();
  ApplyAll();
  const auto once = Rows(store_.get());
  ApplyAll();
  testing::ExpectSameRows(once, Rows(store_.get()));
}

TEST_F(SalesReports, AnotherInterleavingOfTheAggregatesGivesTheSameRows) {
  Sales();
  Calls();
  Pipeline();
  ApplyAll();
  // Each aggregate's events in their order, the aggregates one after the other, last first.
  std::vector<std::string> order;
  for (const auto& e : events_) {
    if (std::find(order.begin(), order.end(), e.aggregate_id()) == order.end()) order.push_back(e.aggregate_id());
  }
  std::reverse(order.begin(), order.end());
  std::vector<EventEnvelope> interleaved;
  for (const auto& id : order) {
    for (const auto& e : events_) {
      if (e.aggregate_id() == id) interleaved.push_back(e);
    }
  }
  testing::TempDir other_dir;
  std::unique_ptr<Store> other;
  Open(other, other_dir);
  ApplyAll(other.get(), interleaved);
  testing::ExpectSameRows(Rows(store_.get()), Rows(other.get()));
}

TEST_F(SalesReports, AClosedOfferLeavesTheOpenRowsAndAnUnknownEventIsSteppedOver) {
  Pipeline();
  Event("offer", "offer-7", "2026-11-14T09:00:00Z").mutable_offer();  // a newer event type: no payload we know
  ApplyAll();
  std::vector<std::string> open;
  EXPECT_TRUE(store_->Scan(kOpenOffersFamily, "", "", [&](std::string_view k, std::string_view) {
    open.emplace_back(k);
    return true;
  }).ok());
  EXPECT_THAT(open, UnorderedElementsAre("offer-6", "offer-7", "offer-8"));
  EXPECT_EQ(GetPipeline("2026-11", "2026-11-15T00:00:00Z").total().offers(), 3);
}

// The tables GetReportTable answers (and ExportReport and `salesctl report` show).
std::vector<std::string> ColumnNames(const api::v1::ReportTable& t) {
  std::vector<std::string> out;
  for (const auto& c : t.columns()) out.push_back(c.name());
  return out;
}

TEST_F(SalesReports, EveryReportIsATable) {
  Sales();
  Calls();
  ApplyAll();
  const ReportQueries queries = Queries();
  api::v1::ReportRequest r;
  r.mutable_products()->set_period("2026-11");
  auto t = BuildTable(Reports{.plans = &queries}, r);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->report(), "products");
  EXPECT_EQ(t->title(), "Products: 2026-11");
  EXPECT_THAT(ColumnNames(*t), ElementsAre("Product", "Revenue", "Units", "Margin", "Lines without cost", "Share",
                                           "Previous revenue", "Growth"));
  ASSERT_EQ(t->rows_size(), 3);
  EXPECT_EQ(t->rows(0).cells(0).text(), "crm-pro");
  EXPECT_EQ(t->rows(0).cells(1).money().units(), 680000);
  EXPECT_FALSE(t->rows(1).cells(7).has_number()) << "renewals: no growth from nothing";

  r.mutable_client_revenue()->set_period("2026-10");
  r.mutable_client_revenue()->set_by(events::v1::PLAN_DIMENSION_CLIENT);
  t = BuildTable(Reports{.plans = &queries}, r);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(ColumnNames(*t), ElementsAre("Client", "Company", "New clients", "Regular clients", "Total",
                                           "Regular share"));
  EXPECT_EQ(t->rows(0).cells(1).text(), "Company of lead-b");

  r.mutable_concentration()->set_period("2026-Q4");
  r.mutable_concentration()->set_dynamics(api::v1::BUCKET_MONTH);
  t = BuildTable(Reports{.plans = &queries}, r);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->columns(0).name(), "Period");
  EXPECT_EQ(t->rows_size(), 3);
  EXPECT_EQ(t->rows(0).cells(0).text(), "2026-10");

  r.mutable_inbound_calls()->set_period("2026-11");
  t = BuildTable(Reports{.plans = &queries}, r);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->rows_size(), 3);  // anna, petros, all
  EXPECT_EQ(t->rows(2).cells(0).text(), "(all)");
  EXPECT_EQ(t->rows(2).cells(1).number(), 6);

  const auto none = FieldViolations(BuildTable(Reports{.plans = &queries}, api::v1::ReportRequest{}).status());
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].field, "report");
}

TEST_F(SalesReports, ThePipelineIsATable) {
  Pipeline();
  ApplyAll();
  const ReportQueries queries = Queries();
  api::v1::ReportRequest r;
  r.mutable_pipeline()->set_period("2026-11");
  r.mutable_pipeline()->mutable_as_of()->set_seconds(absl::ToUnixSeconds(At("2026-11-15T00:00:00Z")));
  auto t = BuildTable(Reports{.plans = &queries}, r);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(ColumnNames(*t), ElementsAre("Stage", "Offers", "Value", "Probability", "Weighted"));
  EXPECT_EQ(t->rows(1).cells(0).text(), "SENT");
  EXPECT_EQ(t->rows(1).cells(4).money().units(), 354000);
  ASSERT_EQ(t->notes_size(), 2);
  EXPECT_EQ(t->notes(1), "SENT: configured 30.0 %; measured 66.7 % (2 of 3 closed in 365 days won); used 30.0 %.");

  r.mutable_pipeline()->set_period("2026-13");
  const auto bad = FieldViolations(BuildTable(Reports{.plans = &queries}, r).status());
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].field, "pipeline.period");
}

TEST_F(SalesReports, BadRequestsNameTheFields) {
  const auto fields = [](const Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    std::set<std::string> out;
    for (const auto& v : FieldViolations(s)) out.insert(v.field);
    return out;
  };
  api::v1::ProductReportRequest products;
  products.set_period("2026-13");
  products.mutable_filters()->set_source("NEWSPAPER");
  EXPECT_THAT(fields(Queries().GetProductReport(products).status()), UnorderedElementsAre("period", "filters.source"));
  api::v1::ClientRevenueRequest clients;
  clients.set_period("2026-11");
  clients.set_by(static_cast<PlanDimension>(42));
  clients.set_dynamics(static_cast<api::v1::Bucket>(9));
  EXPECT_THAT(fields(Queries().GetClientRevenue(clients).status()), UnorderedElementsAre("by", "dynamics"));
  api::v1::ConcentrationRequest concentration;
  EXPECT_THAT(fields(Queries().GetConcentration(concentration).status()), UnorderedElementsAre("period"));
  api::v1::InboundCallsRequest calls;
  EXPECT_THAT(fields(Queries().GetInboundCalls(calls).status()), UnorderedElementsAre("period"));
  api::v1::PipelineRequest pipeline;
  pipeline.set_period("next month");
  EXPECT_THAT(fields(Queries().GetPipeline(pipeline).status()), UnorderedElementsAre("period"));
}

}  // namespace
}  // namespace sales::reporting
