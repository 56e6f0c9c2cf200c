// The funnel, cycle times, lost reasons and managers' scorecards, from events applied by the real
// projection to a real store: docs/REPORTS.md's worked example ("Worked example (funnel, cycle
// times, lost reasons, scorecards)") figure by figure, then the same rows whatever the order of the
// topics and however often an event is delivered, merges, as-of, dynamics and bad requests.
#include <map>
#include <random>
#include <set>

#include "common/base/ids.h"
#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "common/testing/store_rows.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reporting/api/funnel_reports.h"
#include "services/reporting/api/funnel_tables.h"
#include "services/reporting/api/journey_reads.h"
#include "services/reporting/api/scorecards.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 24 * kHour;

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return t;
}

google::protobuf::Timestamp Ts(const std::string& rfc3339) { return events::ToProto(At(rfc3339)); }

events::v1::Money Eur(int64_t units) {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency("EUR");
  return m;
}

// The worked example's events, each aggregate's in its own order (what one partition guarantees).
class History {
 public:
  // Topic -> events in the order that topic holds them.
  std::map<std::string, std::vector<EventEnvelope>> topics;

  void Build() {
    Lead("L1", "anna", events::v1::LEAD_SOURCE_WEB_FORM, "GR-ATT", "2026-01-10T09:00:00Z");
    Activity("L1", events::v1::ACTIVITY_TYPE_CALL, "anna", "2026-01-10T11:00:00Z", 1200);
    Qualified("L1", "2026-01-15T09:00:00Z");
    Offer("O1", "L1", "anna", 1000000, "2026-01-20T09:00:00Z");
    Accepted("O1", 1000000, "2026-02-03T09:00:00Z");

    Lead("L2", "nikos", events::v1::LEAD_SOURCE_REFERRAL, "GR-MAC", "2026-01-12T09:00:00Z");
    Activity("L2", events::v1::ACTIVITY_TYPE_MEETING, "nikos", "2026-01-13T09:00:00Z", 3600);
    Qualified("L2", "2026-01-20T09:00:00Z");
    Offer("O2", "L2", "nikos", 800000, "2026-01-25T09:00:00Z");
    Rejected("O2", events::v1::REJECTION_REASON_PRICE, "2026-02-10T09:00:00Z");

    Lead("L3", "anna", events::v1::LEAD_SOURCE_WEB_FORM, "GR-ATT", "2026-01-20T09:00:00Z");
    Activity("L3", events::v1::ACTIVITY_TYPE_EMAIL, "anna", "2026-01-21T09:00:00Z", 1800);
    auto& d = LeadEvent("L3", "2026-01-22T09:00:00Z");
    d.mutable_lead()->mutable_disqualified()->set_reason(events::v1::DISQUALIFICATION_REASON_NO_BUDGET);

    Lead("L4", "anna", events::v1::LEAD_SOURCE_WEB_FORM, "GR-ATT", "2026-01-25T09:00:00Z");
    events::v1::LeadsMerged merge;
    merge.set_survivor_lead_id("L1");
    merge.set_merged_lead_id("L4");
    *LeadEvent("L4", "2026-01-26T09:00:00Z").mutable_lead()->mutable_merged_into() = merge;
    *LeadEvent("L1", "2026-01-26T09:00:00Z").mutable_lead()->mutable_merged() = merge;

    Lead("L5", "anna", events::v1::LEAD_SOURCE_WEB_FORM, "GR-ATT", "2026-02-05T09:00:00Z");
    Activity("L5", events::v1::ACTIVITY_TYPE_CALL, "anna", "2026-02-05T10:00:00Z", 900);
    Qualified("L5", "2026-02-08T09:00:00Z");
    Offer("O3", "L5", "anna", 500000, "2026-02-12T09:00:00Z");
    Accepted("O3", 500000, "2026-02-20T09:00:00Z");

    // L1's client: a PBX call of Anna's on 5 February; an unmatched call on Nikos's extension.
    auto& opened = Event("clients", "client", "C1", "2026-02-03T09:00:01Z");
    opened.mutable_client()->mutable_opened()->set_lead_id("L1");
    opened.mutable_client()->mutable_opened()->mutable_conversion()->set_owner_manager_id("anna");
    opened.mutable_client()->mutable_opened()->mutable_conversion()->set_region("GR-ATT");
    *opened.mutable_client()->mutable_opened()->mutable_won_at() = Ts("2026-02-03T09:00:00Z");
    auto& pbx = Event("clients", "client", "C1", "2026-02-05T09:30:00Z");
    auto* i = pbx.mutable_client()->mutable_interaction_logged();
    i->set_kind(events::v1::INTERACTION_KIND_CALL);
    *i->mutable_occurred_at() = Ts("2026-02-05T09:00:00Z");
    i->mutable_call()->set_manager_id("anna");
    *i->mutable_call()->mutable_started_at() = Ts("2026-02-05T09:00:00Z");
    i->mutable_call()->set_duration_seconds(600);
    auto& unmatched = Event("calls", "call", "pbx-9", "2026-02-06T09:05:00Z");
    auto* call = unmatched.mutable_call()->mutable_unmatched()->mutable_call();
    call->set_manager_id("nikos");
    *call->mutable_started_at() = Ts("2026-02-06T09:00:00Z");
    call->set_duration_seconds(300);
  }

  // Every event, topic after topic in `order`; with `aggregates_reversed`, within a topic the
  // aggregates in reverse order of their first event (each aggregate's own events still in order,
  // as partitions keep them).
  std::vector<EventEnvelope> InTopicOrder(const std::vector<std::string>& order,
                                          bool aggregates_reversed = false) const {
    std::vector<EventEnvelope> out;
    for (const auto& topic : order) {
      std::vector<EventEnvelope> events = topics.at(topic);
      if (aggregates_reversed) {
        std::map<std::string, size_t> first;
        for (size_t i = 0; i < events.size(); ++i) first.try_emplace(events[i].aggregate_id(), i);
        std::stable_sort(events.begin(), events.end(), [&](const auto& x, const auto& y) {
          return first[x.aggregate_id()] > first[y.aggregate_id()];
        });
      }
      out.insert(out.end(), events.begin(), events.end());
    }
    return out;
  }

  EventEnvelope& Event(const std::string& topic, const std::string& type, const std::string& id,
                       const std::string& when) {
    EventEnvelope e;
    e.set_event_id(NameUuid("funnel-test", StrCat(type, "/", id, "/", ++versions_[id])));
    e.set_aggregate_type(type);
    e.set_aggregate_id(id);
    e.set_aggregate_version(versions_[id]);
    e.set_event_type(StrCat(type, ".test"));
    e.set_schema_version(1);
    *e.mutable_occurred_at() = Ts(when);
    *e.mutable_recorded_at() = Ts(when);
    topics[topic].push_back(std::move(e));
    return topics[topic].back();
  }
  EventEnvelope& LeadEvent(const std::string& lead, const std::string& when) {
    return Event("leads", "lead", lead, when);
  }

 private:
  void Lead(const std::string& id, const std::string& manager, events::v1::LeadSource source,
            const std::string& region, const std::string& when) {
    auto* c = LeadEvent(id, when).mutable_lead()->mutable_captured();
    c->mutable_contact()->set_company("Company " + id);
    c->set_source(source);
    c->set_region(region);
    c->add_product_interest("crm-pro");
    c->mutable_assignment()->set_manager_id(manager);
    leads_[id] = {manager, source, region};
  }
  void Activity(const std::string& lead, events::v1::ActivityType type, const std::string& manager,
                const std::string& when, int32_t seconds) {
    auto* a = LeadEvent(lead, when).mutable_lead()->mutable_activity_logged();
    a->set_type(type);
    a->set_manager_id(manager);
    *a->mutable_occurred_at() = Ts(when);
    a->set_duration_seconds(seconds);
  }
  void Qualified(const std::string& lead, const std::string& when) {
    LeadEvent(lead, when).mutable_lead()->mutable_qualified()->set_need("a CRM");
  }
  // Drafted and sent at `when`: 1 x crm-pro for `units` EUR.
  void Offer(const std::string& id, const std::string& lead, const std::string& owner, int64_t units,
             const std::string& when) {
    auto* d = Event("offers", "offer", id, when).mutable_offer()->mutable_drafted();
    const LeadInfo& info = leads_[lead];
    d->mutable_lead()->set_lead_id(lead);
    d->mutable_lead()->set_owner_manager_id(owner);
    d->mutable_lead()->set_region(info.region);
    d->mutable_lead()->set_source(info.source);
    d->mutable_lead()->mutable_contact()->set_company("Company " + lead);
    d->mutable_terms()->set_revision(1);
    d->mutable_terms()->set_currency("EUR");
    auto* line = d->mutable_terms()->add_lines();
    line->set_product_code("crm-pro");
    line->set_quantity(1);
    *line->mutable_net() = Eur(units);
    Event("offers", "offer", id, when).mutable_offer()->mutable_sent()->set_revision(1);
  }
  void Accepted(const std::string& offer, int64_t units, const std::string& when) {
    auto* a = Event("offers", "offer", offer, when).mutable_offer()->mutable_accepted();
    a->set_revision(1);
    *a->mutable_value() = Eur(units);
    a->set_converts_lead(true);
  }
  void Rejected(const std::string& offer, events::v1::RejectionReason reason, const std::string& when) {
    auto* r = Event("offers", "offer", offer, when).mutable_offer()->mutable_rejected();
    r->set_revision(1);
    r->set_reason(reason);
  }

  struct LeadInfo {
    std::string manager;
    events::v1::LeadSource source;
    std::string region;
  };
  std::map<std::string, LeadInfo> leads_;
  std::map<std::string, int64_t> versions_;
};

class FunnelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    history_.Build();
    Open();
  }

  void Open() {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
    applier_ = std::make_unique<projection::Applier>(store_.get(), &projection_);
    funnel_ = std::make_unique<FunnelReports>(store_.get(), &clock_, ReportSettings{});
    scorecards_ = std::make_unique<Scorecards>(store_.get(), &clock_, ReportSettings{});
  }

  void Apply(const EventEnvelope& e) {
    auto outcomes = applier_->ApplyAppended({{"t.topic", 0, -1, e.aggregate_id(), e.SerializeAsString(), {}}});
    ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  }
  void ApplyAll(const std::vector<EventEnvelope>& events) {
    for (const auto& e : events) Apply(e);
  }
  void ApplyHistory() { ApplyAll(history_.InTopicOrder({"leads", "offers", "clients", "calls"})); }

  // Every row of the store (closed for the read, then reopened).
  std::map<std::string, std::string> Rows() {
    funnel_.reset();
    scorecards_.reset();
    applier_.reset();
    store_.reset();
    auto rows = testing::StoreRows(dir_.path(), projection_);
    Open();
    return rows;
  }

  api::v1::FunnelResponse Funnel(const std::string& period, const std::string& as_of,
                                 events::v1::PlanDimension by = events::v1::PLAN_DIMENSION_COMPANY,
                                 api::v1::Bucket dynamics = api::v1::BUCKET_UNSPECIFIED) {
    api::v1::FunnelRequest r;
    r.set_period(period);
    r.set_by(by);
    r.set_dynamics(dynamics);
    *r.mutable_as_of() = Ts(as_of);
    auto out = funnel_->GetFunnel(r);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.value_or(api::v1::FunnelResponse{});
  }

  api::v1::ScorecardsResponse Scores(const std::string& period, const std::string& as_of) {
    api::v1::ScorecardsRequest r;
    r.set_period(period);
    *r.mutable_as_of() = Ts(as_of);
    auto out = scorecards_->GetScorecards(r);
    EXPECT_TRUE(out.ok()) << out.status();
    return out.value_or(api::v1::ScorecardsResponse{});
  }

  History history_;
  testing::TempDir dir_;
  testing::FakeClock clock_{At("2026-03-01T00:00:00Z")};
  ReportingProjection projection_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<FunnelReports> funnel_;
  std::unique_ptr<Scorecards> scorecards_;
};

// (captured, qualified, first offer, won, lost)
std::vector<int64_t> Figures(const api::v1::FunnelStages& s) {
  return {s.captured(), s.qualified(), s.first_offer(), s.won(), s.lost()};
}

std::map<std::string, api::v1::FunnelRow> ByKey(const api::v1::FunnelPeriod& p) {
  std::map<std::string, api::v1::FunnelRow> rows;
  for (const auto& row : p.rows()) rows[row.key()] = row;
  return rows;
}

TEST_F(FunnelTest, TheJanuaryCohortAndWhatHappenedInJanuaryAndFebruary) {
  ApplyHistory();
  auto jan = Funnel("2026-01", "2026-03-01T00:00:00Z");
  ASSERT_EQ(jan.total().rows_size(), 1);
  const auto& row = jan.total().rows(0);
  EXPECT_THAT(Figures(row.cohort()), ElementsAre(3, 2, 2, 1, 2));  // L4 is L1
  EXPECT_NEAR(row.qualified_rate(), 2.0 / 3, 1e-9);
  EXPECT_DOUBLE_EQ(row.first_offer_rate(), 1.0);
  EXPECT_DOUBLE_EQ(row.win_rate(), 0.5);
  EXPECT_NEAR(row.overall_rate(), 1.0 / 3, 1e-9);
  EXPECT_THAT(Figures(row.activity()), ElementsAre(3, 2, 2, 0, 1));
  auto feb = Funnel("2026-02", "2026-03-01T00:00:00Z");
  EXPECT_THAT(Figures(feb.total().rows(0).activity()), ElementsAre(1, 1, 1, 2, 1));
}

TEST_F(FunnelTest, AsOfTheFirstOfFebruaryNothingWasWonYet) {
  ApplyHistory();
  auto jan = Funnel("2026-01", "2026-02-01T00:00:00Z");
  EXPECT_THAT(Figures(jan.total().rows(0).cohort()), ElementsAre(3, 2, 2, 0, 1));  // L2's offer still open
  EXPECT_DOUBLE_EQ(jan.total().rows(0).win_rate(), 0.0);
}

TEST_F(FunnelTest, ByManagerTheCohortSplitsByOwner) {
  ApplyHistory();
  auto rows = ByKey(Funnel("2026-01", "2026-03-01T00:00:00Z", events::v1::PLAN_DIMENSION_MANAGER).total());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(Figures(rows["anna"].cohort()), ElementsAre(2, 1, 1, 1, 1));
  EXPECT_THAT(Figures(rows["nikos"].cohort()), ElementsAre(1, 1, 1, 0, 1));
  auto sources = ByKey(Funnel("2026-01", "2026-03-01T00:00:00Z", events::v1::PLAN_DIMENSION_SOURCE).total());
  EXPECT_EQ(sources["LEAD_SOURCE_REFERRAL"].cohort().captured(), 1);
  EXPECT_EQ(sources["LEAD_SOURCE_WEB_FORM"].cohort().captured(), 2);
}

TEST_F(FunnelTest, DynamicsListEveryMonthOfTheQuarterEmptyOnesIncluded) {
  ApplyHistory();
  auto q1 = Funnel("2026-Q1", "2026-03-01T00:00:00Z", events::v1::PLAN_DIMENSION_COMPANY, api::v1::BUCKET_MONTH);
  ASSERT_EQ(q1.buckets_size(), 3);
  EXPECT_EQ(q1.buckets(0).period().label(), "2026-01");
  EXPECT_THAT(Figures(q1.buckets(0).rows(0).activity()), ElementsAre(3, 2, 2, 0, 1));
  EXPECT_THAT(Figures(q1.buckets(1).rows(0).activity()), ElementsAre(1, 1, 1, 2, 1));
  ASSERT_EQ(q1.buckets(2).rows_size(), 1);
  EXPECT_THAT(Figures(q1.buckets(2).rows(0).activity()), ElementsAre(0, 0, 0, 0, 0));
  EXPECT_FALSE(q1.buckets(2).rows(0).has_qualified_rate());
  EXPECT_THAT(Figures(q1.total().rows(0).cohort()), ElementsAre(4, 3, 3, 2, 2));
}

TEST_F(FunnelTest, CycleTimesAreNearestRankMediansAndP90s) {
  ApplyHistory();
  api::v1::CycleTimesRequest r;
  r.set_period("2026-Q1");
  *r.mutable_as_of() = Ts("2026-03-01T00:00:00Z");
  auto out = funnel_->GetCycleTimes(r);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->total().rows_size(), 1);
  const auto& row = out->total().rows(0);
  const auto check = [](const api::v1::CycleTime& c, int64_t count, int64_t median_days, int64_t p90_days) {
    EXPECT_EQ(c.count(), count);
    EXPECT_EQ(c.median_seconds(), median_days * kDay);
    EXPECT_EQ(c.p90_seconds(), p90_days * kDay);
  };
  check(row.captured_to_qualified(), 3, 5, 8);
  check(row.qualified_to_first_offer(), 3, 5, 5);
  check(row.sent_to_accepted(), 2, 8, 14);
  check(row.captured_to_won(), 2, 15, 24);
}

// The median's selection leaves the p90 in the part after it: searched there alone, it is still
// the value of that rank in the sorted list, for lists of every length and with repeated values.
TEST(NearestRanks, AfterTheMedianThePercentileIsTheSortedListsValueAtItsRank) {
  std::mt19937 rng(20261128);
  for (int n = 1; n < 300; ++n) {
    std::vector<int64_t> values(static_cast<size_t>(n));
    for (int64_t& v : values) v = std::uniform_int_distribution<int64_t>(0, n / 3)(rng);
    std::vector<int64_t> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    const auto rank = [&](double p) {
      return sorted[std::max<size_t>(1, static_cast<size_t>(std::ceil(p * n))) - 1];
    };
    EXPECT_EQ(NearestRank(values, 0.5), rank(0.5)) << n;
    EXPECT_EQ(NearestRanks(values, 0.5, 0.9), rank(0.9)) << n;
  }
  std::vector<int64_t> none;
  EXPECT_EQ(NearestRanks(none, 0.5, 0.9), std::nullopt);
}

// Runs of samples, some of them taken out again, give at each rank the value of the sorted
// multiset that is left: for small and wide ranges of values (negative ones too, up to the limits
// of int64), repeated values, runs of one value, and none.
TEST(SampleRuns, APercentileIsTheValueAtItsRankOfWhatIsLeftSorted) {
  std::mt19937_64 rng(20261128);
  const std::vector<std::pair<int64_t, int64_t>> ranges = {
      {0, 3}, {0, 2047}, {-5000, 5000}, {0, 40 * 86400}, {-(int64_t{1} << 40), int64_t{1} << 50},
      {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}};
  for (const auto& [lo, hi] : ranges) {
    for (int trial = 0; trial < 40; ++trial) {
      std::vector<std::vector<int64_t>> runs(std::uniform_int_distribution<size_t>(1, 30)(rng));
      std::vector<std::vector<int64_t>> out;  // taken out: a part of some runs
      std::multiset<int64_t> left;
      for (auto& run : runs) {
        run.resize(std::uniform_int_distribution<size_t>(0, 60)(rng));
        for (int64_t& v : run) v = std::uniform_int_distribution<int64_t>(lo, hi)(rng);
        std::sort(run.begin(), run.end());
        left.insert(run.begin(), run.end());
        std::vector<int64_t> taken;
        for (int64_t v : run) {
          if (rng() % 3 == 0) taken.push_back(v);
        }
        for (int64_t v : taken) left.erase(left.find(v));
        out.push_back(std::move(taken));
      }
      SampleRuns samples;
      for (size_t i = 0; i < runs.size(); ++i) {
        samples.Add(runs[i]);
        samples.Add(out[i], -1);
      }
      const std::vector<int64_t> sorted(left.begin(), left.end());
      ASSERT_EQ(samples.size(), static_cast<int64_t>(sorted.size()));
      const std::vector<double> ps = {0.0, 0.1, 0.5, 0.9, 0.99, 1.0};
      const std::vector<int64_t> ranks = samples.NearestRanks(ps);
      const std::string what = StrCat(lo, "..", hi, " trial ", trial);
      if (sorted.empty()) {
        EXPECT_TRUE(ranks.empty()) << what;
        continue;
      }
      ASSERT_EQ(ranks.size(), ps.size()) << what;
      for (size_t i = 0; i < ps.size(); ++i) {
        const size_t rank = std::clamp<size_t>(static_cast<size_t>(std::ceil(ps[i] * static_cast<double>(sorted.size()))),
                                               1, sorted.size());
        EXPECT_EQ(ranks[i], sorted[rank - 1]) << what << " p " << ps[i];
      }
    }
  }
}

TEST_F(FunnelTest, LostReasonsListDisqualificationsAndRejections) {
  ApplyHistory();
  api::v1::LostReasonsRequest r;
  r.set_period("2026-Q1");
  *r.mutable_as_of() = Ts("2026-03-01T00:00:00Z");
  auto out = funnel_->GetLostReasons(r);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->total().disqualified_size(), 1);
  EXPECT_EQ(out->total().disqualified(0).reason(), "DISQUALIFICATION_REASON_NO_BUDGET");
  EXPECT_EQ(out->total().disqualified(0).count(), 1);
  EXPECT_DOUBLE_EQ(out->total().disqualified(0).share(), 1.0);
  ASSERT_EQ(out->total().rejected_size(), 1);
  EXPECT_EQ(out->total().rejected(0).reason(), "REJECTION_REASON_PRICE");
  EXPECT_EQ(out->total().rejected_total(), 1);
  // A product filter keeps the rejections that had the product on the rejected revision.
  r.mutable_filters()->set_product_code("other");
  EXPECT_EQ(funnel_->GetLostReasons(r)->total().rejected_total(), 0);
  // As of before the rejection was recorded: only the disqualification.
  r.clear_filters();
  *r.mutable_as_of() = Ts("2026-02-01T00:00:00Z");
  EXPECT_EQ(funnel_->GetLostReasons(r)->total().rejected_total(), 0);
  EXPECT_EQ(funnel_->GetLostReasons(r)->total().disqualified_total(), 1);
}

TEST_F(FunnelTest, ScorecardsOfTheQuarter) {
  ApplyHistory();
  auto out = Scores("2026-Q1", "2026-03-01T00:00:00Z");
  ASSERT_EQ(out.total().rows_size(), 2);
  const auto& anna = out.total().rows(0);
  EXPECT_EQ(anna.manager_id(), "anna");
  EXPECT_EQ(anna.leads_assigned(), 3);  // L1, L3, L5: L4 is L1
  EXPECT_EQ(anna.responded(), 3);
  EXPECT_EQ(anna.unanswered(), 0);
  EXPECT_EQ(anna.first_response_median_seconds(), 2 * kHour);
  EXPECT_EQ(anna.first_response_p90_seconds(), 24 * kHour);
  EXPECT_EQ(anna.calls_logged(), 2);
  EXPECT_EQ(anna.calls_pbx(), 1);
  EXPECT_EQ(anna.meetings(), 0);
  EXPECT_EQ(anna.emails(), 1);
  EXPECT_EQ(anna.offers_sent(), 2);
  EXPECT_EQ(anna.won(), 2);
  EXPECT_DOUBLE_EQ(anna.win_rate(), 1.0);
  EXPECT_EQ(anna.revenue().units(), 1500000);
  EXPECT_EQ(anna.average_deal().units(), 750000);
  EXPECT_EQ(anna.time_with_prospects_seconds(), 1200 + 900 + 600);
  EXPECT_EQ(anna.logged_seconds(), 1200 + 900 + 600 + 1800);
  EXPECT_DOUBLE_EQ(anna.time_with_prospects_share(), 0.6);
  EXPECT_DOUBLE_EQ(anna.time_target(), 0.8);
  EXPECT_FALSE(anna.meets_time_target());

  const auto& nikos = out.total().rows(1);
  EXPECT_EQ(nikos.manager_id(), "nikos");
  EXPECT_EQ(nikos.leads_assigned(), 1);
  EXPECT_EQ(nikos.first_response_median_seconds(), 24 * kHour);
  EXPECT_EQ(nikos.first_response_p90_seconds(), 24 * kHour);
  EXPECT_EQ(nikos.calls_logged(), 0);
  EXPECT_EQ(nikos.calls_pbx(), 1);
  EXPECT_EQ(nikos.meetings(), 1);
  EXPECT_EQ(nikos.offers_sent(), 1);
  EXPECT_EQ(nikos.won(), 0);
  EXPECT_EQ(nikos.lost(), 1);
  EXPECT_DOUBLE_EQ(nikos.win_rate(), 0.0);
  EXPECT_EQ(nikos.revenue().units(), 0);
  EXPECT_FALSE(nikos.has_average_deal());
  EXPECT_DOUBLE_EQ(nikos.time_with_prospects_share(), 1.0);
  EXPECT_TRUE(nikos.meets_time_target());
  EXPECT_EQ(out.reporting_currency(), "EUR");
}

TEST_F(FunnelTest, ScorecardDynamicsAndAsOf) {
  ApplyHistory();
  api::v1::ScorecardsRequest r;
  r.set_period("2026-Q1");
  r.set_dynamics(api::v1::BUCKET_MONTH);
  r.mutable_filters()->set_manager_id("anna");
  *r.mutable_as_of() = Ts("2026-02-04T00:00:00Z");
  auto out = scorecards_->GetScorecards(r);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->buckets_size(), 3);
  ASSERT_EQ(out->buckets(0).rows_size(), 1);
  EXPECT_EQ(out->buckets(0).rows(0).leads_assigned(), 2);  // L1, L3
  EXPECT_EQ(out->buckets(0).rows(0).offers_sent(), 1);
  ASSERT_EQ(out->buckets(1).rows_size(), 1);
  EXPECT_EQ(out->buckets(1).rows(0).won(), 1);  // O1 on 3 February; O3 was not known yet
  EXPECT_EQ(out->buckets(1).rows(0).revenue().units(), 1000000);
  EXPECT_EQ(out->buckets(2).rows_size(), 0);
  EXPECT_EQ(out->total().rows(0).leads_assigned(), 2);
}

TEST_F(FunnelTest, TheSameRowsWhateverTheTopicOrderAndHoweverOftenDelivered) {
  // A second offer for L1 (before O1 in id order, after it in time), withdrawn: L1's journey has
  // two offer entries that arrive in either order below.
  auto* drafted = history_.Event("offers", "offer", "O0", "2026-02-25T09:00:00Z").mutable_offer()->mutable_drafted();
  drafted->mutable_lead()->set_lead_id("L1");
  history_.Event("offers", "offer", "O0", "2026-02-26T09:00:00Z").mutable_offer()->mutable_withdrawn();
  ApplyAll(history_.InTopicOrder({"leads", "offers", "clients", "calls"}));
  const auto leads_first = Rows();

  testing::TempDir other;
  {
    auto store = Store::Open({.path = other.path(), .column_families = projection_.column_families()}).value();
    projection::Applier applier(store.get(), &projection_);
    // Offers (and clients, calls) before leads, and everything twice.
    for (int twice = 0; twice < 2; ++twice) {
      for (const auto& e : history_.InTopicOrder({"calls", "clients", "offers", "leads"}, true)) {
        ASSERT_TRUE(applier.ApplyAppended({{"t.topic", 0, -1, e.aggregate_id(), e.SerializeAsString(), {}}}).ok());
      }
    }
  }
  testing::ExpectSameRows(leads_first, testing::StoreRows(other.path(), projection_));
  // Re-delivered in order too: nothing changes.
  ApplyHistory();
  testing::ExpectSameRows(leads_first, Rows());
}

TEST_F(FunnelTest, AMergedLeadIsNotALeadEvenAsOfBeforeTheMerge) {
  ApplyHistory();
  auto jan = Funnel("2026-01", "2026-01-25T12:00:00Z");  // L4 captured, not merged yet
  EXPECT_EQ(jan.total().rows(0).cohort().captured(), 3);
}

TEST_F(FunnelTest, UnknownEventsAreSteppedOverAndANewOfferReopensALostLead) {
  ApplyHistory();
  auto unknown = history_.LeadEvent("L2", "2026-02-11T09:00:00Z");
  unknown.mutable_lead();  // a lead event of a type this build does not know
  Apply(unknown);
  auto o4 = history_.Event("offers", "offer", "O4", "2026-02-15T09:00:00Z");
  o4.mutable_offer()->mutable_drafted()->mutable_lead()->set_lead_id("L2");
  o4.mutable_offer()->mutable_drafted()->mutable_lead()->set_owner_manager_id("nikos");
  Apply(o4);
  auto empty_offer_event = history_.Event("offers", "offer", "O4", "2026-02-16T09:00:00Z");
  empty_offer_event.mutable_offer();
  Apply(empty_offer_event);
  auto jan = Funnel("2026-01", "2026-03-01T00:00:00Z");
  EXPECT_THAT(Figures(jan.total().rows(0).cohort()), ElementsAre(3, 2, 2, 1, 1));  // L2 open again
  jan = Funnel("2026-01", "2026-02-14T00:00:00Z");
  EXPECT_THAT(Figures(jan.total().rows(0).cohort()), ElementsAre(3, 2, 2, 1, 2));  // as it was known then
}

TEST_F(FunnelTest, EveryReportAsATypedTable) {
  ApplyHistory();
  api::v1::FunnelRequest f;
  f.set_period("2026-Q1");
  f.set_dynamics(api::v1::BUCKET_MONTH);
  *f.mutable_as_of() = Ts("2026-03-01T00:00:00Z");
  auto funnel = ToTable(funnel_->GetFunnel(f).value(), f);
  EXPECT_EQ(funnel.title(), "Funnel by company, 2026-Q1");
  ASSERT_EQ(funnel.rows_size(), 3);  // one per month, March's zeros included
  EXPECT_EQ(funnel.columns(0).kind(), api::v1::COLUMN_KIND_DAY);
  EXPECT_EQ(funnel.rows(2).cells(0).text(), "2026-03");
  EXPECT_EQ(funnel.rows(0).cells(2).number(), 3);                // January's cohort captured
  EXPECT_EQ(funnel.rows(2).cells(7).value_case(), api::v1::ReportCell::VALUE_NOT_SET);  // no rate of nothing
  for (const auto& row : funnel.rows()) EXPECT_EQ(row.cells_size(), funnel.columns_size());

  api::v1::ScorecardsRequest s;
  s.set_period("2026-Q1");
  *s.mutable_as_of() = Ts("2026-03-01T00:00:00Z");
  auto cards = ToTable(scorecards_->GetScorecards(s).value(), s);
  ASSERT_EQ(cards.rows_size(), 2);
  std::map<std::string, int> column;
  for (int i = 0; i < cards.columns_size(); ++i) column[cards.columns(i).name()] = i;
  EXPECT_EQ(cards.columns(column["Revenue"]).kind(), api::v1::COLUMN_KIND_MONEY);
  EXPECT_EQ(cards.rows(0).cells(column["Revenue"]).money().units(), 1500000);
  EXPECT_DOUBLE_EQ(cards.rows(0).cells(column["Time with prospects"]).number(), 0.6);
  EXPECT_EQ(cards.rows(0).cells(column["Meets target"]).text(), "no");
  EXPECT_EQ(cards.rows(1).cells(column["Average deal"]).value_case(), api::v1::ReportCell::VALUE_NOT_SET);

  api::v1::LostReasonsRequest l;
  l.set_period("2026-Q1");
  *l.mutable_as_of() = Ts("2026-03-01T00:00:00Z");
  auto lost = ToTable(funnel_->GetLostReasons(l).value(), l);
  ASSERT_EQ(lost.rows_size(), 2);
  EXPECT_EQ(lost.rows(1).cells(1).text(), "REJECTION_REASON_PRICE");
  api::v1::CycleTimesRequest c;
  c.set_period("2026-Q1");
  c.set_by(events::v1::PLAN_DIMENSION_MANAGER);
  *c.mutable_as_of() = Ts("2026-03-01T00:00:00Z");
  auto cycles = ToTable(funnel_->GetCycleTimes(c).value(), c);
  EXPECT_EQ(cycles.title(), "Cycle times by manager, 2026-Q1");
  EXPECT_EQ(cycles.columns(2).kind(), api::v1::COLUMN_KIND_SECONDS);
  EXPECT_EQ(cycles.rows_size(), 2);
}

TEST_F(FunnelTest, BadRequestsNameEachField) {
  const auto fields = [](const Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    std::set<std::string> out;
    for (const auto& v : FieldViolations(s)) out.insert(v.field);
    return out;
  };
  api::v1::FunnelRequest f;
  f.set_period("2026-13");
  f.set_by(events::v1::PLAN_DIMENSION_CLIENT);
  f.set_dynamics(static_cast<api::v1::Bucket>(9));
  f.mutable_filters()->set_source("FAX");
  EXPECT_THAT(fields(funnel_->GetFunnel(f).status()),
              UnorderedElementsAre("period", "by", "dynamics", "filters.source"));
  api::v1::CycleTimesRequest c;
  EXPECT_THAT(fields(funnel_->GetCycleTimes(c).status()), UnorderedElementsAre("period"));
  api::v1::LostReasonsRequest l;
  l.set_period("2026");
  l.mutable_filters()->set_source("FAX");
  EXPECT_THAT(fields(funnel_->GetLostReasons(l).status()), UnorderedElementsAre("filters.source"));
  api::v1::ScorecardsRequest s;
  s.set_period("2026");
  s.mutable_filters()->set_product_code("crm-pro");
  EXPECT_THAT(fields(scorecards_->GetScorecards(s).status()), UnorderedElementsAre("filters.product_code"));
}

}  // namespace
}  // namespace sales::reporting
