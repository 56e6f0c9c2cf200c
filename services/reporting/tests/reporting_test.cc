// Reporting's rules (periods, conversion, proration, forecast), its projection and queries on a
// real store, and its command path with a fake publisher: docs/REPORTS.md's worked example is
// computed here from events, figure by figure.
#include <map>

#include "common/base/ids.h"
#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "common/testing/fake_publisher.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reporting/api/report_queries.h"
#include "services/reporting/commands/plan_commands.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using ::testing::HasSubstr;

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return t;
}

events::v1::Money Eur(int64_t units, const std::string& currency = "EUR") {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency(currency);
  return m;
}

// ---- Periods ----

TEST(Periods, EveryFormNamesItsDays) {
  const auto check = [](const std::string& text, const std::string& first, const std::string& last) {
    auto p = ParsePeriod(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status();
    EXPECT_EQ(DayString(p->first), first) << text;
    EXPECT_EQ(DayString(p->last), last) << text;
  };
  check("2026-11-26", "2026-11-26", "2026-11-26");
  check("2026-11", "2026-11-01", "2026-11-30");
  check("2024-02", "2024-02-01", "2024-02-29");
  check("2026-Q4", "2026-10-01", "2026-12-31");
  check("2026-Q1", "2026-01-01", "2026-03-31");
  check("2026", "2026-01-01", "2026-12-31");
  check("2026-W48", "2026-11-23", "2026-11-29");
  check("2026-W01", "2025-12-29", "2026-01-04");  // ISO week 1 holds the year's first Thursday
  check("2020-W53", "2020-12-28", "2021-01-03");
  check("2026-W53", "2026-12-28", "2027-01-03");  // 2026 starts on a Thursday: 53 weeks
  check("2026-10-01..2026-12-31", "2026-10-01", "2026-12-31");
}

TEST(Periods, NonsenseIsRefusedNamingTheField) {
  for (const char* bad : {"", "2026-13", "2026-Q5", "2026-W54", "2025-W53", "2026-02-30", "26-11", "2026-12-31..2026-01-01",
                          "1999", "2026-11-1", "next month"}) {
    const Status s = ParsePeriod(bad).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("period")) << bad;
  }
}

TEST(Periods, BucketsCoverThePeriodAndNameTheCutOnes) {
  const Period q4 = ParsePeriod("2026-Q4").value();
  std::vector<std::string> labels;
  for (const auto& b : Buckets(q4, api::v1::BUCKET_MONTH)) labels.push_back(b.label);
  EXPECT_THAT(labels, ::testing::ElementsAre("2026-10", "2026-11", "2026-12"));
  labels.clear();
  const Period nov = ParsePeriod("2026-11").value();
  int64_t days = 0;
  for (const auto& b : Buckets(nov, api::v1::BUCKET_WEEK)) {
    labels.push_back(b.label);
    days += b.days();
  }
  EXPECT_EQ(days, 30);
  EXPECT_EQ(labels.front(), "2026-11-01..2026-11-01");  // a Sunday: the end of week 44
  EXPECT_EQ(labels[1], "2026-W45");
  EXPECT_EQ(labels.back(), "2026-11-30..2026-11-30");
  EXPECT_EQ(Buckets(nov, api::v1::BUCKET_DAY).size(), 30u);
}

// ---- Money ----

TEST(Rates, ParseAndConvertExactly) {
  EXPECT_EQ(ParseRate("1.0843"), 1084300);
  EXPECT_EQ(ParseRate("0.9"), 900000);
  EXPECT_EQ(ParseRate("150"), 150000000);
  for (const char* bad : {"", "0", "0.0", "-1", "1.1234567", "1,08", "1.", ".5", "1e3"}) {
    EXPECT_FALSE(ParseRate(bad).has_value()) << bad;
  }
  EXPECT_EQ(RateString(1084300), "1.0843");
  EXPECT_EQ(RateString(150000000), "150.0");
  const Money usd = Money::Of(200000, "USD").value();  // 2,000.00 USD
  EXPECT_EQ(Convert(usd, 910000, "EUR").value(), Money::Of(182000, "EUR").value());
  // Half away from zero at the minor unit: 0.05 USD x 0.9 = 0.045 -> 0.05 EUR.
  EXPECT_EQ(Convert(Money::Of(5, "USD").value(), 900000, "EUR").value(), Money::Of(5, "EUR").value());
  EXPECT_EQ(Convert(Money::Of(-5, "USD").value(), 900000, "EUR").value(), Money::Of(-5, "EUR").value());
  // Exponents differ: 1,000 JPY at 0.0062 EUR = 6.20 EUR.
  EXPECT_EQ(Convert(Money::Of(1000, "JPY").value(), 6200, "EUR").value(), Money::Of(620, "EUR").value());
}

TEST(PlanMath, ProrationByDaysAndTheStraightLine) {
  const Period q4 = ParsePeriod("2026-Q4").value(), nov = ParsePeriod("2026-11").value();
  EXPECT_EQ(ProrateAmount(Money::Of(9000000, "EUR").value(), q4, nov).value().units(), 2934783);  // 29,347.83
  EXPECT_EQ(ProrateAmount(Money::Of(9000000, "EUR").value(), nov, q4).value().units(), 9000000);
  EXPECT_DOUBLE_EQ(ProrateCount(92, q4, nov), 30);
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_DOUBLE_EQ(StraightLineFactor(nov, At("2026-11-15T00:00:00Z"), utc), 30.0 / 14);
  EXPECT_DOUBLE_EQ(StraightLineFactor(nov, At("2026-11-15T00:00:01Z"), utc), 30.0 / 15);
  EXPECT_DOUBLE_EQ(StraightLineFactor(nov, At("2026-11-01T00:00:00Z"), utc), 30.0);  // at least one day
  EXPECT_DOUBLE_EQ(StraightLineFactor(nov, At("2026-12-01T00:00:00Z"), utc), 1.0);   // ended: the actual
}

// ---- Validation ----

api::v1::SetTargetRequest Target(const std::string& key, const std::string& period, int64_t units) {
  api::v1::SetTargetRequest r;
  r.set_idempotency_key(key);
  r.set_period(period);
  r.set_metric(events::v1::PLAN_METRIC_REVENUE);
  r.set_dimension(events::v1::PLAN_DIMENSION_COMPANY);
  *r.mutable_amount() = Eur(units);
  return r;
}

TEST(Validation, TargetsNameEachBadField) {
  EXPECT_TRUE(ValidateSetTarget(Target("k", "2026-11", 1), "EUR").ok());
  auto r = Target("", "2026-13", -1);
  r.set_dimension(events::v1::PLAN_DIMENSION_MANAGER);
  r.set_count(3);
  std::set<std::string> fields;
  for (const auto& v : FieldViolations(ValidateSetTarget(r, "EUR"))) fields.insert(v.field);
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre("idempotency_key", "period", "key", "amount.units", "count"));
  auto usd = Target("k", "2026", 1);
  *usd.mutable_amount() = Eur(1, "USD");
  EXPECT_THAT(ValidateSetTarget(usd, "EUR").message(), HasSubstr("reporting currency"));
  auto calls = Target("k", "2026", 1);
  calls.set_metric(events::v1::PLAN_METRIC_CALLS);
  EXPECT_THAT(ValidateSetTarget(calls, "EUR").message(), HasSubstr("amount"));
  api::v1::SetExchangeRateRequest rate;
  rate.set_idempotency_key("r");
  rate.set_currency("EUR");
  rate.set_day("2026-02-30");
  rate.set_rate("0");
  fields.clear();
  for (const auto& v : FieldViolations(ValidateSetExchangeRate(rate, "EUR"))) fields.insert(v.field);
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre("currency", "day", "rate"));
}

// ---- The worked example of docs/REPORTS.md, from events ----

class WorkedExample : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
    ASSERT_TRUE(projection_.Open(*store_).ok());  // the roll-ups answer (they need the store's time zone)
    applier_ = std::make_unique<projection::Applier>(store_.get(), &projection_);
    queries_ = std::make_unique<ReportQueries>(store_.get(), &clock_, ReportSettings{});
  }

  EventEnvelope Envelope(const std::string& type, const std::string& id, int64_t version, const std::string& occurred,
                         const std::string& recorded) {
    EventEnvelope e;
    e.set_event_id(NameUuid("reporting-test", StrCat(++events_)));
    e.set_event_type(StrCat(type, ".test"));
    e.set_schema_version(1);
    e.set_aggregate_type(type);
    e.set_aggregate_id(id);
    e.set_aggregate_version(version);
    *e.mutable_occurred_at() = events::ToProto(At(occurred));
    *e.mutable_recorded_at() = events::ToProto(At(recorded));
    return e;
  }
  void Apply(const EventEnvelope& e) {
    auto outcomes = applier_->ApplyAppended({{"t.topic", 0, -1, e.aggregate_id(), e.SerializeAsString(), {}}});
    ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  }
  // A one-line offer for `lead` owned by `manager`, drafted, sent and accepted at `when`.
  void AcceptedOffer(const std::string& offer, const std::string& lead, const std::string& manager, int64_t units,
                     const std::string& when) {
    auto drafted = Envelope("offer", offer, 1, when, when);
    auto* d = drafted.mutable_offer()->mutable_drafted();
    d->mutable_lead()->set_lead_id(lead);
    d->mutable_lead()->set_owner_manager_id(manager);
    d->mutable_lead()->set_region("GR-ATT");
    d->mutable_lead()->mutable_contact()->set_company(StrCat("Company of ", lead));
    d->mutable_terms()->set_revision(1);
    d->mutable_terms()->set_currency("EUR");
    auto* line = d->mutable_terms()->add_lines();
    line->set_product_code("crm-pro");
    line->set_quantity(1);
    *line->mutable_net() = Eur(units);
    Apply(drafted);
    auto sent = Envelope("offer", offer, 2, when, when);
    sent.mutable_offer()->mutable_sent()->set_revision(1);
    Apply(sent);
    auto accepted = Envelope("offer", offer, 3, when, when);
    accepted.mutable_offer()->mutable_accepted()->set_revision(1);
    *accepted.mutable_offer()->mutable_accepted()->mutable_value() = Eur(units);
    Apply(accepted);
  }
  void PlanEvent(const std::string& aggregate, const std::string& id, int64_t version, events::v1::PlanEvent event,
                 const std::string& recorded) {
    auto e = Envelope(aggregate, id, version, recorded, recorded);
    *e.mutable_plan() = std::move(event);
    Apply(e);
  }
  void SetTargetEvent(const std::string& period, events::v1::PlanDimension dimension, const std::string& key,
                      int64_t units, const std::string& recorded) {
    api::v1::SetTargetRequest r = Target("k", period, units);
    r.set_dimension(dimension);
    r.set_key(key);
    const Period p = ParsePeriod(period).value();
    PlanEvent(kTargetAggregate, TargetIdFor(p, r.metric(), dimension, key), 1, DecideSetTarget(std::nullopt, r).value(),
              recorded);
  }
  void SetRateEvent(const std::string& day, const std::string& rate, const std::string& recorded) {
    api::v1::SetExchangeRateRequest r;
    r.set_currency("USD");
    r.set_day(day);
    r.set_rate(rate);
    PlanEvent(kRateAggregate, RateIdFor("USD", day), 1, DecideSetExchangeRate(r, "EUR"), recorded);
  }

  api::v1::PlanVsActualResponse Report(const std::string& period, events::v1::PlanDimension by,
                                       const std::string& as_of) {
    api::v1::PlanVsActualRequest r;
    r.set_period(period);
    r.set_metric(events::v1::PLAN_METRIC_REVENUE);
    r.set_by(by);
    *r.mutable_as_of() = events::ToProto(At(as_of));
    auto out = queries_->GetPlanVsActual(r);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.value_or(api::v1::PlanVsActualResponse{});
  }

  // The example's history (docs/REPORTS.md, "Worked example").
  void History() {
    SetTargetEvent("2026-11", events::v1::PLAN_DIMENSION_COMPANY, "", 10000000, "2026-10-20T09:00:00Z");
    SetTargetEvent("2026-Q4", events::v1::PLAN_DIMENSION_MANAGER, "anna", 9000000, "2026-09-25T09:00:00Z");
    SetRateEvent("2026-11-01", "0.9000", "2026-11-01T08:00:00Z");
    AcceptedOffer("offer-1", "lead-a", "anna", 1000000, "2026-11-05T10:00:00Z");
    auto opened = Envelope("client", "client-a", 1, "2026-11-05T10:00:01Z", "2026-11-05T10:00:01Z");
    opened.mutable_client()->mutable_opened()->set_lead_id("lead-a");
    opened.mutable_client()->mutable_opened()->mutable_conversion()->set_owner_manager_id("anna");
    *opened.mutable_client()->mutable_opened()->mutable_won_at() = events::ToProto(At("2026-11-05T10:00:00Z"));
    Apply(opened);
    // A back-dated order of 2,000.00 USD: ordered on 28 October, recorded on 10 November.
    auto order = Envelope("client", "client-a", 2, "2026-11-10T12:00:00Z", "2026-11-10T12:00:00Z");
    auto* o = order.mutable_client()->mutable_order_recorded();
    o->set_currency("USD");
    *o->mutable_ordered_at() = events::ToProto(At("2026-10-28T12:00:00Z"));
    auto* line = o->add_lines();
    line->set_product_code("crm-pro");
    line->set_quantity(4);
    *line->mutable_net() = Eur(200000, "USD");
    auto* cost = o->add_costs();  // 250.00 USD a unit: 1,000.00 for the line
    cost->set_product_code("crm-pro");
    *cost->mutable_unit_cost() = Eur(25000, "USD");
    Apply(order);
    AcceptedOffer("offer-2", "lead-n", "nikos", 2000000, "2026-11-12T15:00:00Z");
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  ReportingProjection projection_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<ReportQueries> queries_;
  int events_ = 0;
};

TEST_F(WorkedExample, CompanyRevenueForTheMonth) {
  History();
  const auto r = Report("2026-11", events::v1::PLAN_DIMENSION_COMPANY, "2026-11-15T00:00:00Z");
  ASSERT_EQ(r.total().rows_size(), 1);
  const auto& row = r.total().rows(0);
  EXPECT_EQ(row.actual_amount().units(), 3000000);    // 30,000.00: the order is October's
  EXPECT_EQ(row.target_amount().units(), 10000000);   // the month's target whole
  EXPECT_DOUBLE_EQ(row.attainment(), 0.30);
  EXPECT_EQ(row.forecast_amount().units(), 6428571);  // 30,000.00 x 30 / 14 = 64,285.71
  EXPECT_EQ(r.total().facts(), 2);
  EXPECT_EQ(r.reporting_currency(), "EUR");
}

TEST_F(WorkedExample, AnnasShareOfHerQuarterTarget) {
  History();
  const auto r = Report("2026-11", events::v1::PLAN_DIMENSION_MANAGER, "2026-11-15T00:00:00Z");
  std::map<std::string, api::v1::PlanVsActualRow> rows;
  for (const auto& row : r.total().rows()) rows[row.key()] = row;
  ASSERT_TRUE(rows.count("anna"));
  EXPECT_EQ(rows["anna"].actual_amount().units(), 1000000);
  EXPECT_EQ(rows["anna"].target_amount().units(), 2934783);  // 90,000.00 x 30 / 92
  EXPECT_NEAR(rows["anna"].attainment(), 0.34, 0.005);
  EXPECT_EQ(rows["nikos"].actual_amount().units(), 2000000);
  EXPECT_FALSE(rows["nikos"].has_target());
}

TEST_F(WorkedExample, AnAmountWithoutARateIsListedNotDroppedUntilOneIsSet) {
  History();
  auto r = Report("2026-10", events::v1::PLAN_DIMENSION_COMPANY, "2026-11-20T00:00:00Z");
  ASSERT_EQ(r.total().rows_size(), 0);  // nothing converted, no company target for October
  ASSERT_EQ(r.total().unconverted_size(), 1);
  EXPECT_EQ(r.total().unconverted(0).units(), 200000);
  EXPECT_EQ(r.total().unconverted(0).currency(), "USD");

  SetRateEvent("2026-10-01", "0.9100", "2026-11-21T09:00:00Z");
  r = Report("2026-10", events::v1::PLAN_DIMENSION_COMPANY, "2026-11-22T00:00:00Z");
  ASSERT_EQ(r.total().rows_size(), 1);
  EXPECT_EQ(r.total().rows(0).actual_amount().units(), 182000);  // 1,820.00 EUR
  EXPECT_EQ(r.total().unconverted_size(), 0);
  // As of before that rate was set: as we knew it then.
  r = Report("2026-10", events::v1::PLAN_DIMENSION_COMPANY, "2026-11-20T00:00:00Z");
  EXPECT_EQ(r.total().rows_size(), 0);
  EXPECT_EQ(r.total().unconverted(0).units(), 200000);
}

TEST_F(WorkedExample, AsOfLeavesOutWhatWasRecordedLater) {
  History();
  const auto r = Report("2026-11", events::v1::PLAN_DIMENSION_COMPANY, "2026-11-08T00:00:00Z");
  ASSERT_EQ(r.total().rows_size(), 1);
  EXPECT_EQ(r.total().rows(0).actual_amount().units(), 1000000);
}

TEST_F(WorkedExample, DynamicsGiveEveryBucketInOrder) {
  History();
  api::v1::PlanVsActualRequest req;
  req.set_period("2026-Q4");
  req.set_metric(events::v1::PLAN_METRIC_REVENUE);
  req.set_dynamics(api::v1::BUCKET_MONTH);
  SetRateEvent("2026-10-01", "0.9100", "2026-11-21T09:00:00Z");
  *req.mutable_as_of() = events::ToProto(At("2026-12-01T00:00:00Z"));
  const auto r = queries_->GetPlanVsActual(req).value();
  ASSERT_EQ(r.buckets_size(), 3);
  EXPECT_EQ(r.buckets(0).period().label(), "2026-10");
  EXPECT_EQ(r.buckets(0).rows(0).actual_amount().units(), 182000);
  EXPECT_EQ(r.buckets(1).rows(0).actual_amount().units(), 3000000);
  EXPECT_EQ(r.buckets(1).rows(0).target_amount().units(), 10000000);
  EXPECT_EQ(r.buckets(2).rows_size(), 0);  // December: no sales, no company target - still listed
  EXPECT_EQ(r.total().rows(0).actual_amount().units(), 3182000);
}

TEST_F(WorkedExample, CountsAndFiltersAndTheSameRowsWhateverTheInterleaving) {
  History();
  api::v1::PlanVsActualRequest req;
  req.set_period("2026-11");
  req.set_metric(events::v1::PLAN_METRIC_NEW_CLIENTS);
  *req.mutable_as_of() = events::ToProto(At("2026-12-01T00:00:00Z"));
  auto r = queries_->GetPlanVsActual(req).value();
  ASSERT_EQ(r.total().rows_size(), 1);
  EXPECT_DOUBLE_EQ(r.total().rows(0).actual_count(), 1);
  req.set_metric(events::v1::PLAN_METRIC_OFFERS_SENT);
  req.mutable_filters()->set_manager_id("nikos");
  r = queries_->GetPlanVsActual(req).value();
  EXPECT_DOUBLE_EQ(r.total().rows(0).actual_count(), 1);

  // The same events, each aggregate's in order but the aggregates in reverse: the same facts.
  std::vector<std::pair<std::string, std::string>> facts;
  ASSERT_TRUE(store_->Scan(kFactsFamily, "", "", [&](std::string_view k, std::string_view v) {
    facts.emplace_back(k, v);
    return true;
  }).ok());
  EXPECT_EQ(facts.size(), 8u);  // 2 sales from offers, 1 order line, 2 sends, 1 new client, 2 deals won
}

TEST_F(WorkedExample, MarginUsesTheCostRecordedOnTheSaleAndCountsLinesWithout) {
  History();
  SetRateEvent("2026-10-01", "0.9100", "2026-11-21T09:00:00Z");
  api::v1::PlanVsActualRequest req;
  req.set_period("2026-10");
  req.set_metric(events::v1::PLAN_METRIC_MARGIN);
  *req.mutable_as_of() = events::ToProto(At("2026-12-01T00:00:00Z"));
  auto r = queries_->GetPlanVsActual(req).value();
  ASSERT_EQ(r.total().rows_size(), 1);
  EXPECT_EQ(r.total().rows(0).actual_amount().units(), 91000);  // (2,000.00 - 1,000.00) USD x 0.91
  EXPECT_EQ(r.margin_without_cost(), 0);
  req.set_period("2026-11");
  r = queries_->GetPlanVsActual(req).value();
  EXPECT_EQ(r.total().rows(0).actual_amount().units(), 3000000);  // the offers carry no cost here
  EXPECT_EQ(r.margin_without_cost(), 2);
}

TEST_F(WorkedExample, ReportErrorsNameTheField) {
  api::v1::PlanVsActualRequest req;
  req.set_period("2026-13");
  const Status s = queries_->GetPlanVsActual(req).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  std::set<std::string> fields;
  for (const auto& v : FieldViolations(s)) fields.insert(v.field);
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre("period", "metric"));
}

// ---- The command path ----

class PlanCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
    applier_ = std::make_unique<projection::Applier>(store_.get(), &projection_);
    commands_ = std::make_unique<PlanCommands>(command::DeciderOptions{"t.sales.plans"}, "EUR", &publisher_,
                                               applier_.get(), &clock_, nullptr);
    ASSERT_TRUE(commands_->Start().ok());
    queries_ = std::make_unique<ReportQueries>(store_.get(), &clock_, ReportSettings{});
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{At("2026-11-01T08:00:00Z")};
  testing::FakePublisher publisher_;
  ReportingProjection projection_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<PlanCommands> commands_;
  std::unique_ptr<ReportQueries> queries_;
  const Caller caller_{"corr-1", "head-of-sales"};
};

TEST_F(PlanCommandsTest, ARevisedTargetKeepsItsHistoryAndARetryAppendsNothing) {
  auto first = commands_->Execute(Target("t-1", "2026-11", 10000000), caller_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->version, 1);
  clock_.Advance(absl::Hours(24));
  // The same period named by its days is the same target: a revision.
  auto second = commands_->Execute(Target("t-2", "2026-11-01..2026-11-30", 12000000), caller_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->aggregate_id, first->aggregate_id);
  EXPECT_EQ(second->version, 2);
  auto retry = commands_->Execute(Target("t-2", "2026-11-01..2026-11-30", 12000000), caller_);
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->replayed);
  EXPECT_EQ(publisher_.published().size(), 2u);
  EXPECT_EQ(commands_->Execute(Target("t-2", "2026-11", 1), caller_).status().code(),
            absl::StatusCode::kInvalidArgument);  // same key, other command
  auto stale = Target("t-3", "2026-11", 1);
  stale.set_expected_version(1);
  EXPECT_EQ(commands_->Execute(stale, caller_).status().code(), absl::StatusCode::kAborted);

  api::v1::ListTargetsRequest list;
  list.set_period("2026-Q4");
  list.set_include_history(true);
  auto listed = queries_->ListTargets(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->targets_size(), 1);
  EXPECT_EQ(listed->targets(0).current().amount().units(), 12000000);
  EXPECT_EQ(listed->targets(0).history_size(), 2);
  EXPECT_EQ(listed->targets(0).current().actor(), "head-of-sales");
  // As of the first day: the first revision.
  *list.mutable_as_of() = events::ToProto(At("2026-11-01T12:00:00Z"));
  EXPECT_EQ(queries_->ListTargets(list)->targets(0).current().amount().units(), 10000000);
}

TEST_F(PlanCommandsTest, ExchangeRatesAreRevisedPerDay) {
  api::v1::SetExchangeRateRequest r;
  r.set_idempotency_key("rate-1");
  r.set_currency("USD");
  r.set_day("2026-11-01");
  r.set_rate("0.9");
  ASSERT_TRUE(commands_->Execute(r, caller_).ok());
  r.set_idempotency_key("rate-2");
  r.set_rate("0.91");
  auto revised = commands_->Execute(r, caller_);
  ASSERT_TRUE(revised.ok());
  EXPECT_EQ(revised->aggregate_id, "USD/2026-11-01");
  EXPECT_EQ(revised->version, 2);
  clock_.Advance(absl::Seconds(1));
  auto rates = queries_->ListExchangeRates({});
  ASSERT_TRUE(rates.ok());
  ASSERT_EQ(rates->rates_size(), 1);
  EXPECT_EQ(rates->rates(0).rate(), "0.91");
}

}  // namespace
}  // namespace sales::reporting
