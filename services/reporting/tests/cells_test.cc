// The roll-ups (cells) against the facts they sum: for a random history of sales in two
// currencies, calls and sends, recorded late or on time, every query answers the same cells from
// the roll-ups as from reading every fact (by each dimension, with filters, as of several times);
// and the same events applied in another interleaving of the aggregates give the same rows.
#include <random>

#include "common/base/ids.h"
#include "common/events/envelope.h"
#include "common/testing/store_rows.h"
#include "common/testing/temp_dir.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "common/testing/fake_clock.h"
#include "services/reporting/api/funnel_reports.h"
#include "services/reporting/api/scorecards.h"
#include "services/reporting/api/pipeline.h"
#include "services/reporting/api/report_basics.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

const absl::Time kStart = absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone());

events::v1::Money M(int64_t units, const std::string& currency) {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency(currency);
  return m;
}

// A random history: each aggregate's events in order.
class History {
 public:
  explicit History(uint32_t seed) : rng_(seed) {
    for (int i = 0; i < 60; ++i) Offer(i);
    for (int i = 0; i < 20; ++i) Client(i);
    for (int i = 0; i < 30; ++i) Lead(i);
  }
  std::vector<std::vector<EventEnvelope>> aggregates;

 private:
  std::string Pick(const std::vector<std::string>& from) { return from[Uniform(0, static_cast<int>(from.size()) - 1)]; }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  // A time in 2026's first half; recorded on time, or (one in four) days later.
  std::pair<absl::Time, absl::Time> When() {
    const absl::Time occurred = kStart + absl::Minutes(Uniform(0, 180 * 24 * 60));
    return {occurred, Uniform(0, 3) == 0 ? occurred + absl::Hours(Uniform(1, 24 * 40)) : occurred};
  }
  EventEnvelope Envelope(const std::string& type, const std::string& id, int64_t version, absl::Time occurred,
                         absl::Time recorded) {
    EventEnvelope e;
    e.set_event_id(NameUuid("cells-test", StrCat(type, id, version)));
    e.set_event_type(StrCat(type, ".test"));
    e.set_schema_version(1);
    e.set_aggregate_type(type);
    e.set_aggregate_id(id);
    e.set_aggregate_version(version);
    *e.mutable_occurred_at() = events::ToProto(occurred);
    *e.mutable_recorded_at() = events::ToProto(recorded);
    return e;
  }
  void Lines(google::protobuf::RepeatedPtrField<events::v1::OfferLine>* lines,
             google::protobuf::RepeatedPtrField<events::v1::ProductCost>* costs, const std::string& currency) {
    for (int l = Uniform(1, 3); l > 0; --l) {
      auto* line = lines->Add();
      line->set_product_code(Pick({"crm", "erp", "pos", "web"}));
      line->set_quantity(Uniform(1, 5));
      *line->mutable_net() = M(Uniform(1, 500000), currency);
      if (Uniform(0, 2) > 0) {
        auto* cost = costs->Add();
        cost->set_product_code(line->product_code());
        *cost->mutable_unit_cost() = M(Uniform(1, 9000), Uniform(0, 9) == 0 ? "GBP" : currency);
      }
    }
  }
  void Offer(int i) {
    const std::string id = StrCat("offer-", i), lead = StrCat("lead-", Uniform(0, 25));
    const std::string currency = Uniform(0, 3) == 0 ? "USD" : "EUR";
    auto [at, recorded] = When();
    std::vector<EventEnvelope> events;
    auto drafted = Envelope("offer", id, 1, at, recorded);
    auto* d = drafted.mutable_offer()->mutable_drafted();
    d->mutable_lead()->set_lead_id(lead);
    d->mutable_lead()->set_owner_manager_id(Pick({"anna", "nikos", "maria"}));
    d->mutable_lead()->set_region(Pick({"GR-ATT", "GR-MAK", "CY"}));
    d->mutable_lead()->set_source(Uniform(0, 1) ? events::v1::LEAD_SOURCE_REFERRAL : events::v1::LEAD_SOURCE_WEB_FORM);
    d->mutable_lead()->mutable_contact()->set_company(StrCat("Εταιρεία ", lead, " ", Uniform(0, 1)));
    d->mutable_terms()->set_revision(1);
    d->mutable_terms()->set_currency(currency);
    google::protobuf::RepeatedPtrField<events::v1::ProductCost> costs;
    Lines(d->mutable_terms()->mutable_lines(), &costs, currency);
    events.push_back(drafted);
    if (Uniform(0, 5) == 0) {  // left a draft, or withdrawn as one
      if (Uniform(0, 1)) {
        auto withdrawn = Envelope("offer", id, 2, at + absl::Hours(2), recorded + absl::Hours(2));
        withdrawn.mutable_offer()->mutable_withdrawn()->set_reason("asked for another bundle");
        events.push_back(withdrawn);
      }
      aggregates.push_back(std::move(events));
      return;
    }
    auto sent = Envelope("offer", id, 2, at + absl::Hours(1), recorded + absl::Hours(1));
    sent.mutable_offer()->mutable_sent()->set_revision(1);
    events.push_back(sent);
    const int outcome = Uniform(0, 5);
    if (outcome >= 2) {
      auto accepted = Envelope("offer", id, 3, at + absl::Hours(30), recorded + absl::Hours(30));
      accepted.mutable_offer()->mutable_accepted()->set_revision(1);
      *accepted.mutable_offer()->mutable_accepted()->mutable_costs() = costs;
      events.push_back(accepted);
    } else if (outcome == 1) {
      auto rejected = Envelope("offer", id, 3, at + absl::Hours(20), recorded + absl::Hours(20));
      // Several reasons, without another draw (the other tests' histories stay the same).
      rejected.mutable_offer()->mutable_rejected()->set_reason(
          static_cast<events::v1::RejectionReason>(1 + absl::ToUnixSeconds(at) % 3));
      events.push_back(rejected);
    }  // else: open, sent
    aggregates.push_back(std::move(events));
  }
  void Client(int i) {
    const std::string id = StrCat("client-", i);
    auto [at, recorded] = When();
    std::vector<EventEnvelope> events;
    auto opened = Envelope("client", id, 1, at, recorded);
    opened.mutable_client()->mutable_opened()->set_lead_id(StrCat("lead-", i));
    auto* c = opened.mutable_client()->mutable_opened()->mutable_conversion();
    c->set_owner_manager_id(Pick({"anna", "nikos"}));
    c->set_region("GR-ATT");
    c->mutable_contact()->set_company(StrCat("Πελάτης ", i));
    *opened.mutable_client()->mutable_opened()->mutable_won_at() = events::ToProto(at);
    events.push_back(opened);
    for (int v = 2; v < 2 + Uniform(0, 4); ++v) {
      auto [ordered, order_recorded] = When();
      auto order = Envelope("client", id, v, ordered, std::max(order_recorded, recorded));
      auto* o = order.mutable_client()->mutable_order_recorded();
      const std::string currency = Uniform(0, 2) == 0 ? "USD" : "EUR";
      o->set_currency(currency);
      *o->mutable_ordered_at() = events::ToProto(ordered);
      Lines(o->mutable_lines(), o->mutable_costs(), currency);
      events.push_back(order);
    }
    aggregates.push_back(std::move(events));
  }
  void Lead(int i) {
    const std::string id = StrCat("lead-", i);
    auto [at, recorded] = When();
    std::vector<EventEnvelope> events;
    auto captured = Envelope("lead", id, 1, at, recorded);
    auto* c = captured.mutable_lead()->mutable_captured();
    c->set_region(Pick({"GR-ATT", "CY"}));
    c->set_source(Uniform(0, 1) ? events::v1::LEAD_SOURCE_REFERRAL : events::v1::LEAD_SOURCE_WEB_FORM);
    for (int p = Uniform(0, 2); p > 0; --p) c->add_product_interest(Pick({"crm", "erp", "pos"}));
    if (Uniform(0, 3) > 0) c->mutable_assignment()->set_manager_id(Pick({"anna", "nikos", "maria"}));
    events.push_back(captured);
    int64_t version = 2;
    // Its journey: reassigned, qualified or disqualified, merged into another (each maybe recorded late).
    const auto later = [&](absl::Duration after) {
      const absl::Time t = at + after;
      return std::pair{t, Uniform(0, 3) == 0 ? t + absl::Hours(Uniform(1, 24 * 40)) : t};
    };
    if (Uniform(0, 3) == 0) {
      auto [t, r] = later(absl::Hours(Uniform(1, 24 * 10)));
      auto assigned = Envelope("lead", id, version++, t, std::max(r, recorded));
      assigned.mutable_lead()->mutable_assigned()->mutable_assignment()->set_manager_id(Pick({"anna", "maria"}));
      events.push_back(assigned);
    }
    if (const int outcome = Uniform(0, 3); outcome < 3) {
      auto [t, r] = later(absl::Hours(Uniform(1, 24 * 30)));
      auto decided = Envelope("lead", id, version++, t, std::max(r, recorded));
      if (outcome == 0) {
        // Several reasons, without another draw (the other tests' histories stay the same).
        decided.mutable_lead()->mutable_disqualified()->set_reason(
            static_cast<events::v1::DisqualificationReason>(1 + version % 4));
      } else {
        decided.mutable_lead()->mutable_qualified();
      }
      events.push_back(decided);
    }
    if (Uniform(0, 9) == 0) {
      auto [t, r] = later(absl::Hours(Uniform(1, 24 * 60)));
      auto merged = Envelope("lead", id, version++, t, std::max(r, recorded));
      merged.mutable_lead()->mutable_merged_into()->set_survivor_lead_id(StrCat("lead-", (i + 1) % 30));
      events.push_back(merged);
    }
    for (int v = version; v < version + Uniform(0, 5); ++v) {
      auto [when, activity_recorded] = When();
      auto activity = Envelope("lead", id, v, when, std::max(activity_recorded, recorded));
      auto* a = activity.mutable_lead()->mutable_activity_logged();
      a->set_type(Uniform(0, 1) ? events::v1::ACTIVITY_TYPE_CALL : events::v1::ACTIVITY_TYPE_MEETING);
      a->set_manager_id(Pick({"anna", "nikos", "maria"}));
      *a->mutable_occurred_at() = events::ToProto(when);
      events.push_back(activity);
    }
    aggregates.push_back(std::move(events));
  }

  std::mt19937 rng_;
};

// A random history of offers only, with ways through the pipeline the other history lacks: revised
// (a new value), sent again, back-dated steps (one that occurred before the step before it: that
// step is never in force), steps recorded late, steps that occurred after they were recorded, and
// every closing. Each offer's events in order of recording.
class OfferHistory {
 public:
  explicit OfferHistory(uint32_t seed) : rng_(seed) {
    for (int i = 0; i < 150; ++i) Offer(i);
  }
  std::vector<std::vector<EventEnvelope>> aggregates;

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string Pick(const std::vector<std::string>& from) { return from[Uniform(0, static_cast<int>(from.size()) - 1)]; }
  events::v1::OfferTerms Terms(int revision, const std::string& currency) {
    events::v1::OfferTerms t;
    t.set_revision(revision);
    t.set_currency(currency);
    int64_t total = 0;
    for (int l = Uniform(1, 3); l > 0; --l) {
      auto* line = t.add_lines();
      line->set_product_code(Pick({"crm", "erp", "pos"}));
      line->set_quantity(1);
      *line->mutable_net() = M(Uniform(1, 400000), currency);
      total += line->net().units();
    }
    *t.mutable_total() = M(total, currency);
    return t;
  }
  void Offer(int i) {
    const std::string id = StrCat("pipeline-offer-", i), currency = Uniform(0, 3) == 0 ? "USD" : "EUR";
    absl::Time occurred = kStart + absl::Minutes(Uniform(0, 200 * 24 * 60)), recorded = occurred;
    std::vector<EventEnvelope> events;
    const auto next = [&](absl::Duration after) -> EventEnvelope& {
      if (!events.empty()) {
        occurred += after;
        // One step in six back-dated (before the step before it), one in five recorded days late,
        // one in eight recorded before it occurred (a date set ahead); recorded in order.
        if (Uniform(0, 5) == 0) occurred -= absl::Hours(Uniform(1, 24 * 6)) + after;
        absl::Time r = occurred;
        if (Uniform(0, 4) == 0) r += absl::Hours(Uniform(1, 24 * 20));
        if (Uniform(0, 7) == 0) r -= absl::Hours(Uniform(1, 30));
        recorded = std::max(recorded + absl::Seconds(1), r);
      }
      EventEnvelope& e = events.emplace_back();
      e.set_event_id(NameUuid("cells-test-pipeline", StrCat(id, events.size())));
      e.set_event_type("offer.test");
      e.set_schema_version(1);
      e.set_aggregate_type("offer");
      e.set_aggregate_id(id);
      e.set_aggregate_version(static_cast<int64_t>(events.size()));
      *e.mutable_occurred_at() = events::ToProto(occurred);
      *e.mutable_recorded_at() = events::ToProto(recorded);
      return e;
    };
    auto* d = next(absl::ZeroDuration()).mutable_offer()->mutable_drafted();
    d->mutable_lead()->set_lead_id(StrCat("lead-", Uniform(0, 40)));
    d->mutable_lead()->set_owner_manager_id(Pick({"anna", "nikos", "maria"}));
    d->mutable_lead()->set_region(Pick({"GR-ATT", "GR-MAK", "CY"}));
    d->mutable_lead()->set_source(Uniform(0, 1) ? events::v1::LEAD_SOURCE_REFERRAL : events::v1::LEAD_SOURCE_WEB_FORM);
    int revision = 1;
    *d->mutable_terms() = Terms(revision, currency);
    for (int step = Uniform(0, 4); step > 0; --step) {  // revisions and sends, in any order
      const absl::Duration after = absl::Hours(Uniform(1, 24 * 12));
      if (Uniform(0, 2) == 0) {
        *next(after).mutable_offer()->mutable_revised()->mutable_terms() = Terms(++revision, currency);
      } else {
        next(after).mutable_offer()->mutable_sent()->set_revision(revision);
      }
    }
    const absl::Duration after = absl::Hours(Uniform(1, 24 * 30));
    switch (Uniform(0, 5)) {
      case 0: next(after).mutable_offer()->mutable_accepted()->set_revision(revision); break;
      case 1: next(after).mutable_offer()->mutable_rejected()->set_reason(events::v1::REJECTION_REASON_PRICE); break;
      case 2: next(after).mutable_offer()->mutable_withdrawn()->set_reason("replaced"); break;
      case 3: next(after).mutable_offer()->mutable_expired()->set_revision(revision); break;
      default: break;  // still open
    }
    aggregates.push_back(std::move(events));
  }

  std::mt19937 rng_;
};

// No filter; one on each of manager, region, product and source; and last `two` (text format),
// filters on two dimensions, which only the rows a report sums can answer.
std::vector<api::v1::ReportFilters> EachFilter(const std::string& two) {
  std::vector<api::v1::ReportFilters> out(6);
  out[1].set_manager_id("anna");
  out[2].set_region("GR-ATT");
  out[3].set_product_code("erp");
  out[4].set_source("LEAD_SOURCE_REFERRAL");
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(two, &out[5])) << two;
  return out;
}

// Deletes every row of `families`, and `setting` unless empty.
void DropRows(Store& store, const std::vector<const char*>& families, const char* setting);
// What FillPipelineCells fills.
const std::vector<const char*> kPipelineSumsFamilies = {kOpenPipelineFamily, kPipelineCellsFamily,
                                                        kPipelineMonthCellsFamily, kClosedCellsFamily,
                                                        kOpenOffersByTimeFamily};

class Cells : public ::testing::Test {
 protected:
  // Runs `compare_all` (which compares cells with rows, records each answer in `answers` and counts
  // the answers with figures) on the store as kept event by event, and expects more than
  // `min_non_empty` answers with figures; then drops each list of families with its setting, lets
  // the projection fill them anew from the rows when it opens, and expects every answer unchanged.
  void CompareThenRefill(ReportingProjection& projection, const std::function<void(const Store&, int*)>& compare_all,
                         const std::map<std::string, std::string>& answers, int min_non_empty,
                         const std::vector<std::pair<std::vector<const char*>, const char*>>& drops) {
    int non_empty = 0;
    {
      auto store = Store::Open({.path = dir_.path(), .column_families = projection.column_families()}).value();
      compare_all(*store, &non_empty);
    }
    EXPECT_GT(non_empty, min_non_empty) << "figures were compared, not empty answers";
    const auto before = answers;
    auto store = Store::Open({.path = dir_.path(), .column_families = projection.column_families()}).value();
    for (const auto& [families, setting] : drops) DropRows(*store, families, setting);
    ASSERT_TRUE(projection.Open(*store).ok());
    compare_all(*store, nullptr);
    EXPECT_EQ(answers, before) << "the cells filled from the rows answer as the ones kept event by event";
  }

  // Applies the aggregates' events into the store at `path`, taking the next event of a random
  // aggregate each time (each aggregate's own events stay in order).
  static void ApplyInterleaved(const std::vector<std::vector<EventEnvelope>>& aggregates, const std::string& path,
                               uint32_t seed, absl::TimeZone tz = absl::UTCTimeZone()) {
    ReportingProjection projection(tz);
    auto store = Store::Open({.path = path, .column_families = projection.column_families()}).value();
    ASSERT_TRUE(projection.Open(*store).ok());
    projection::Applier applier(store.get(), &projection);
    std::vector<size_t> next(aggregates.size(), 0);
    std::mt19937 rng(seed);
    for (size_t left = 0; [&] {
           left = 0;
           for (size_t a = 0; a < next.size(); ++a) left += aggregates[a].size() - next[a];
           return left > 0;
         }();) {
      size_t a = std::uniform_int_distribution<size_t>(0, next.size() - 1)(rng);
      while (next[a] == aggregates[a].size()) a = (a + 1) % next.size();
      const EventEnvelope& e = aggregates[a][next[a]++];
      auto outcomes = applier.ApplyAppended({{"t", 0, -1, e.aggregate_id(), e.SerializeAsString(), {}}});
      ASSERT_TRUE(outcomes.ok()) << outcomes.status();
    }
  }

  testing::TempDir dir_;
};

// Deletes every row of `families` and the report setting `setting` (unless empty): what a store
// made before they existed lacks.
void DropRows(Store& store, const std::vector<const char*>& families, const char* setting) {
  Batch batch = store.NewBatch();
  for (const char* family : families) {
    ASSERT_TRUE(store.Scan(family, "", "", [&](std::string_view key, std::string_view) {
      batch.Delete(family, std::string(key));
      return true;
    }).ok());
  }
  if (*setting != '\0') batch.Delete(kSettingsFamily, setting);
  ASSERT_TRUE(store.Commit(batch).ok());
}

void ExpectSameCells(const CellSums& a, const CellSums& b, const std::string& what) {
  ASSERT_EQ(a.cells.size(), b.cells.size()) << what;
  for (auto i = a.cells.begin(), j = b.cells.begin(); i != a.cells.end(); ++i, ++j) {
    const std::string at = StrCat(what, " at ", absl::FormatCivilTime(i->first.day), "/", i->first.key, "/",
                                  i->first.currency);
    ASSERT_FALSE(i->first < j->first || j->first < i->first) << at;
    EXPECT_EQ(i->second.facts, j->second.facts) << at;
    EXPECT_TRUE(i->second.amount == j->second.amount) << at;
    EXPECT_TRUE(i->second.cost == j->second.cost) << at;
    EXPECT_EQ(i->second.without_cost, j->second.without_cost) << at;
    EXPECT_EQ(i->second.quantity, j->second.quantity) << at;
  }
  EXPECT_EQ(a.labels, b.labels) << what;
}

TEST_F(Cells, RollUpsAnswerEveryQueryAsTheFactsDoAndAnyInterleavingGivesTheSameRows) {
  const History h(20261127);
  ApplyInterleaved(h.aggregates, dir_.File("a"), 1);
  ApplyInterleaved(h.aggregates, dir_.File("b"), 2);
  ReportingProjection projection;
  const auto rows = testing::StoreRows(dir_.File("a"), projection);
  testing::ExpectSameRows(rows, testing::StoreRows(dir_.File("b"), projection));

  auto store = Store::Open({.path = dir_.File("a"), .column_families = projection.column_families()}).value();
  const std::vector<api::v1::ReportFilters> filters =
      EachFilter("manager_id: 'nikos' product_code: 'crm'");  // the last: only the facts can answer
  int compared = 0, non_empty = 0;
  for (Fact::Kind kind : {Fact::KIND_SALE, Fact::KIND_CALL, Fact::KIND_OFFER_SENT, Fact::KIND_NEW_CLIENT}) {
    for (const char* period : {"2026-02", "2026-Q2", "2026-01-10..2026-05-20"}) {
      for (PlanDimension by : kCellDimensions) {
        for (const auto& f : filters) {
          for (absl::Time as_of : {absl::InfiniteFuture(), kStart + absl::Hours(24 * 75), kStart + absl::Hours(24 * 150)}) {
            CellQuery q{.kind = kind, .period = ParsePeriod(period).value(), .by = by, .filters = f, .as_of = as_of};
            const std::string what = StrCat(Fact::Kind_Name(kind), " ", period, " by ", events::v1::PlanDimension_Name(by),
                                            " ", f.ShortDebugString(), " as of ", absl::FormatTime(as_of));
            auto fast = SumCells(*store, q, absl::UTCTimeZone());
            q.scan_facts = true;
            auto slow = SumCells(*store, q, absl::UTCTimeZone());
            ASSERT_TRUE(fast.ok() && slow.ok()) << fast.status() << slow.status();
            ExpectSameCells(*fast, *slow, what);
            ++compared;
            non_empty += slow->cells.empty() ? 0 : 1;
            if (!WholeMonths(q.period, api::v1::BUCKET_MONTH)) continue;
            // By whole months (EUR and counts): the day cells added up per month, from both.
            CellSums by_month;
            for (const auto& [at, cell] : slow->cells) {
              Cell& sum = by_month.cells[CellKey{at.currency.empty() || at.currency == "EUR"
                                                     ? absl::CivilDay(absl::CivilMonth(at.day))
                                                     : at.day,
                                                 at.key, at.currency}];
              sum.facts += cell.facts;
              sum.amount += cell.amount;
              sum.cost += cell.cost;
              sum.without_cost += cell.without_cost;
              sum.quantity += cell.quantity;
            }
            by_month.labels = slow->labels;
            q.whole_months_in = "EUR";
            auto months_slow = SumCells(*store, q, absl::UTCTimeZone());
            q.scan_facts = false;
            auto months_fast = SumCells(*store, q, absl::UTCTimeZone());
            ASSERT_TRUE(months_fast.ok() && months_slow.ok()) << months_fast.status() << months_slow.status();
            ExpectSameCells(*months_fast, by_month, StrCat(what, " in whole months, from the cells"));
            ExpectSameCells(*months_slow, by_month, StrCat(what, " in whole months, from the facts"));
          }
        }
      }
    }
  }
  EXPECT_GT(non_empty, compared / 2);  // the comparison compared figures, not empty maps
}

// The open pipeline of the weighted forecast (every stage's probability configured: no win rates
// measured) from its sums and cells against the offers' rows, by every dimension and filter, as of
// the end of the history and during it (the offers changed later taken out); again after the cells
// are dropped and filled beside the open sums (a store of the last build), and after the sums and
// cells are dropped and filled anew from the rows, as a store made before them is when it opens.
TEST_F(Cells, OpenPipelineSumsAnswerAsTheOffersDo) {
  const History h(20261128);
  ApplyInterleaved(h.aggregates, dir_.path(), 3);
  ReportingProjection projection;
  const ReportSettings settings;  // every stage's probability configured
  const std::vector<api::v1::ReportFilters> filters =
      EachFilter("manager_id: 'nikos' product_code: 'crm'");  // the last: only the rows can answer
  const absl::Time end = kStart + absl::Hours(24 * 400);
  std::map<std::string, std::string> answers;  // query -> answer from the sums (or rows)
  const auto compare_all = [&](Store& store, int* non_empty) {
    for (PlanDimension by : kCellDimensions) {
      for (const auto& f : filters) {
        for (absl::Time as_of : {end, kStart + absl::Hours(24 * 75)}) {
          const std::string what =
              StrCat("by ", events::v1::PlanDimension_Name(by), " ", f.ShortDebugString(), " at ", absl::FormatTime(as_of));
          auto sums = PipelineNow(store, settings, as_of, by, f);
          auto rows = PipelineNow(store, settings, as_of, by, f, /*from_offers=*/true);
          ASSERT_TRUE(sums.ok() && rows.ok()) << what << sums.status() << rows.status();
          rows->clear_probabilities();  // the rows' path measures them too
          sums->clear_probabilities();
          EXPECT_EQ(sums->ShortDebugString(), rows->ShortDebugString()) << what;
          if (non_empty && rows->offers() > 0) ++*non_empty;
          answers[what] = sums->ShortDebugString();
        }
      }
    }
  };
  int non_empty = 0;
  {
    auto store = Store::Open({.path = dir_.path(), .column_families = projection.column_families()}).value();
    compare_all(*store, &non_empty);
  }
  EXPECT_GT(non_empty, 40);  // figures were compared, not empty pipelines

  const auto before = answers;
  {
    // A store of the build before the cells: the open sums, the setting that said they are there,
    // no cells. The cells are filled and the sums left as they are (not added twice).
    auto store = Store::Open({.path = dir_.path(), .column_families = projection.column_families()}).value();
    DropRows(*store, {kPipelineCellsFamily, kPipelineMonthCellsFamily, kClosedCellsFamily, kOpenOffersByTimeFamily},
             kPipelineCellsSetting);
    Batch batch = store->NewBatch();
    batch.Put(kSettingsFamily, kPipelineLatestSetting, EncodeInt64(0));
    ASSERT_TRUE(store->Commit(batch).ok());
    ASSERT_TRUE(projection.Open(*store).ok());
    compare_all(*store, nullptr);
    EXPECT_EQ(answers, before) << "the cells filled beside a last build's open sums answer as before";
    EXPECT_FALSE(store->Get(kSettingsFamily, kPipelineLatestSetting).value().has_value());
  }
  {
    auto store = Store::Open({.path = dir_.path(), .column_families = projection.column_families()}).value();
    DropRows(*store, kPipelineSumsFamilies, kPipelineCellsSetting);
    ASSERT_TRUE(projection.Open(*store).ok());
    compare_all(*store, nullptr);
    EXPECT_EQ(answers, before) << "the sums filled from the rows answer as the ones kept event by event";

    // With the open offers' rows gone, the sums alone still answer at the end: they were what
    // answered (no offer changed after it).
    DropRows(*store, {kOpenOffersFamily}, "");
    auto company = PipelineNow(*store, settings, end, events::v1::PLAN_DIMENSION_COMPANY, {});
    ASSERT_TRUE(company.ok()) << company.status();
    company->clear_probabilities();
    EXPECT_EQ(company->ShortDebugString(), before.at(StrCat("by PLAN_DIMENSION_COMPANY  at ", absl::FormatTime(end))));
    EXPECT_GT(company->offers(), 0);
  }
}

// The pipeline report from its cells against reading every offer's row, in a time zone two hours
// ahead of UTC: by each dimension, with each filter, in periods with dynamics of days, weeks and
// months (some a year after the history, where closings leave the win-rate window), as of the end, during the history (late offers taken out) and at a moment inside a day;
// the measured win rates too; again after the cells are dropped and filled anew from the rows.
TEST_F(Cells, PipelineCellsAnswerAsTheOffersDo) {
  const absl::TimeZone tz = absl::FixedTimeZone(2 * 60 * 60);
  const OfferHistory h(20261130);
  ApplyInterleaved(h.aggregates, dir_.path(), 5, tz);
  ReportingProjection projection(tz);
  testing::FakeClock clock(kStart + absl::Hours(24 * 600));  // 2027-08-24: now is after the weeks of 2027
  ReportSettings settings;
  settings.time_zone = tz;
  settings.sales.stage_probabilities.clear();  // the measured ones are used: they must agree too
  const std::vector<api::v1::ReportFilters> filters =
      EachFilter("manager_id: 'nikos' product_code: 'crm'");  // the last: only the rows can answer
  std::map<std::string, std::string> answers;
  const auto compare_all = [&](const Store& store, int* non_empty) {
    ReportQueries cells(&store, &clock, settings);
    ReportQueries offers(&store, &clock, settings);
    offers.set_scan_offers(true);
    for (PlanDimension by : kPipelineDimensions) {
      for (const auto& f : filters) {
        for (const auto& [period, dynamics] : {std::pair{"2026", api::v1::BUCKET_MONTH},
                                               std::pair{"2026-Q2", api::v1::BUCKET_WEEK},
                                               std::pair{"2026-03-01..2026-03-31", api::v1::BUCKET_DAY},
                                               std::pair{"2027-01-01..2027-09-30", api::v1::BUCKET_WEEK}}) {
          for (absl::Time as_of : {absl::InfiniteFuture(), kStart + absl::Hours(24 * 75),
                                   kStart + absl::Hours(24 * 150) + absl::Minutes(13 * 60 + 7)}) {
            api::v1::PipelineRequest r;
            r.set_period(period);
            r.set_by(by);
            *r.mutable_filters() = f;
            r.set_dynamics(dynamics);
            if (as_of < absl::InfiniteFuture()) *r.mutable_as_of() = events::ToProto(as_of);
            const std::string what = r.ShortDebugString();
            auto fast = cells.GetPipeline(r);
            auto slow = offers.GetPipeline(r);
            ASSERT_TRUE(fast.ok() && slow.ok()) << what << fast.status() << slow.status();
            EXPECT_EQ(fast->ShortDebugString(), slow->ShortDebugString()) << what;
            if (non_empty && slow->total().offers() > 0 && slow->total().probabilities(1).measured()) ++*non_empty;
            answers[what] = fast->ShortDebugString();
          }
        }
      }
    }
  };
  CompareThenRefill(projection, compare_all, answers, 150, {{kPipelineSumsFamilies, kPipelineCellsSetting}});
}

// The funnel from its cells against reading every journey: by each dimension, with each filter,
// as of the end and during the history (journeys changed later taken out), in several periods with
// dynamics; again after the cells are dropped and filled anew from the journeys.
TEST_F(Cells, FunnelCellsAnswerAsTheJourneysDo) {
  const History h(20261129);
  ApplyInterleaved(h.aggregates, dir_.path(), 4);
  ReportingProjection projection;
  testing::FakeClock clock(kStart + absl::Hours(24 * 400));
  const std::vector<api::v1::ReportFilters> filters =
      EachFilter("manager_id: 'nikos' region: 'CY'");  // the last: only the journeys can answer
  std::map<std::string, std::string> answers;
  const auto compare_all = [&](const Store& store, int* non_empty) {
    FunnelReports cells(&store, &clock, ReportSettings{});
    FunnelReports journeys(&store, &clock, ReportSettings{});
    journeys.set_scan_journeys(true);
    for (PlanDimension by : kFunnelDimensions) {
      for (const auto& f : filters) {
        for (const char* period : {"2026-02", "2026-Q2", "2026-01-10..2026-05-20", "2026"}) {
          for (absl::Time as_of : {absl::InfiniteFuture(), kStart + absl::Hours(24 * 75), kStart + absl::Hours(24 * 150)}) {
            api::v1::FunnelRequest r;
            r.set_period(period);
            r.set_by(by);
            *r.mutable_filters() = f;
            r.set_dynamics(api::v1::BUCKET_MONTH);
            if (as_of < absl::InfiniteFuture()) *r.mutable_as_of() = events::ToProto(as_of);
            const std::string what = r.ShortDebugString();
            auto fast = cells.GetFunnel(r);
            auto slow = journeys.GetFunnel(r);
            ASSERT_TRUE(fast.ok() && slow.ok()) << what << fast.status() << slow.status();
            EXPECT_EQ(fast->ShortDebugString(), slow->ShortDebugString()) << what;
            if (non_empty && slow->total().rows_size() > 0 && slow->total().rows(0).cohort().captured() > 0) ++*non_empty;
            answers[what] = fast->ShortDebugString();
          }
        }
      }
    }
  };
  CompareThenRefill(projection, compare_all, answers, 200,
                    {{{kFunnelCellsFamily, kJourneysByRecordedFamily}, kFunnelCellsSetting}});
}

// Lost reasons from the lost and rejection cells against reading every journey and rejection: with each filter, as of the end
// and during the history, in several periods with dynamics; again after the cells are dropped and
// filled anew from the journeys.
TEST_F(Cells, LostCellsAnswerAsTheJourneysDo) {
  const History h(20261127);
  ApplyInterleaved(h.aggregates, dir_.path(), 4);
  ReportingProjection projection;
  testing::FakeClock clock(kStart + absl::Hours(24 * 400));
  const std::vector<api::v1::ReportFilters> filters =
      EachFilter("manager_id: 'nikos' region: 'CY'");  // the last: only the journeys can answer
  std::map<std::string, std::string> answers;
  const auto compare_all = [&](const Store& store, int* non_empty) {
    FunnelReports cells(&store, &clock, ReportSettings{});
    FunnelReports journeys(&store, &clock, ReportSettings{});
    journeys.set_scan_journeys(true);
    for (const auto& f : filters) {
      for (const char* period : {"2026-02", "2026-Q2", "2026-01-10..2026-05-20", "2026"}) {
        for (absl::Time as_of : {absl::InfiniteFuture(), kStart + absl::Hours(24 * 75), kStart + absl::Hours(24 * 150)}) {
          api::v1::LostReasonsRequest r;
          r.set_period(period);
          *r.mutable_filters() = f;
          r.set_dynamics(api::v1::BUCKET_MONTH);
          if (as_of < absl::InfiniteFuture()) *r.mutable_as_of() = events::ToProto(as_of);
          const std::string what = r.ShortDebugString();
          auto fast = cells.GetLostReasons(r);
          auto slow = journeys.GetLostReasons(r);
          ASSERT_TRUE(fast.ok() && slow.ok()) << what << fast.status() << slow.status();
          EXPECT_EQ(fast->ShortDebugString(), slow->ShortDebugString()) << what;
          if (non_empty && slow->total().disqualified_total() > 0 && slow->total().rejected_total() > 0) ++*non_empty;
          answers[what] = fast->ShortDebugString();
        }
      }
    }
  };
  CompareThenRefill(projection, compare_all, answers, 30,
                    {{{kLostCellsFamily}, kLostCellsSetting}, {{kRejectionCellsFamily}, kRejectionCellsSetting}});
}

// An exchange rate of `currency` from `day`, set (and recorded) at `at`.
EventEnvelope RateEvent(const std::string& currency, const std::string& day, const std::string& rate, absl::Time at) {
  api::v1::SetExchangeRateRequest r;
  r.set_currency(currency);
  r.set_day(day);
  r.set_rate(rate);
  EventEnvelope e;
  e.set_event_id(NameUuid("cells-test-rate", StrCat(currency, day)));
  e.set_event_type("plan.test");
  e.set_schema_version(1);
  e.set_aggregate_type(kRateAggregate);
  e.set_aggregate_id(RateIdFor(currency, day));
  e.set_aggregate_version(1);
  *e.mutable_occurred_at() = events::ToProto(at);
  *e.mutable_recorded_at() = events::ToProto(at);
  *e.mutable_plan() = DecideSetExchangeRate(r, "EUR");
  return e;
}

// Expects `c` to be the concentration of its window worked out the plain way from the sale facts
// recorded by `as_of` that pass `filters`: each client's cells (a day and a currency) converted,
// summed per client, the index of those sums; the five largest by revenue, then by id.
void ExpectPlainConcentration(const Store& store, const api::v1::Concentration& c, const api::v1::ReportFilters& filters,
                              absl::Time as_of, absl::TimeZone tz, const std::string& what) {
  const Period window = ParsePeriod(StrCat(c.window().first_day(), "..", c.window().last_day())).value();
  std::map<std::tuple<absl::CivilDay, std::string, std::string>, __int128> cells;
  ASSERT_TRUE(ForEachFact(store, Fact::KIND_SALE, window, as_of, tz, [&](const Fact& f) {
    if (!Matches(f, filters)) return;
    std::string currency;
    const std::vector<int64_t> sums = CellSumsOf(f, &currency);
    cells[{absl::ToCivilDay(events::FromProto(f.occurred_at()), tz), f.client_id(), currency}] += sums[kCellAmount];
  }).ok());
  const Rates rates = Rates::Load(store, as_of).value();
  std::map<std::string, __int128> revenue;
  __int128 total = 0;
  for (const auto& [cell, amount] : cells) {
    const auto& [day, client, currency] = cell;
    const std::optional<__int128> converted = ToReportingUnits(amount, currency, day, rates, "EUR");
    if (!converted) continue;
    revenue[client] += *converted;
    total += *converted;
  }
  std::vector<__int128> values;
  std::vector<std::pair<__int128, std::string>> ranked;
  for (const auto& [client, r] : revenue) {
    values.push_back(r);
    if (r > 0) ranked.emplace_back(-r, client);
  }
  std::sort(ranked.begin(), ranked.end());
  const ConcentrationIndex index = Concentrate(values);
  EXPECT_EQ(c.revenue().units(), ClampToInt64(total)) << what;
  EXPECT_EQ(c.clients(), static_cast<int64_t>(ranked.size())) << what;
  EXPECT_EQ(c.hhi(), index.hhi) << what;
  EXPECT_EQ(c.largest_share(), index.largest_share) << what;
  EXPECT_EQ(c.top5_share(), index.top5_share) << what;
  ASSERT_EQ(c.largest_size(), static_cast<int>(std::min<size_t>(5, ranked.size()))) << what;
  for (int i = 0; i < c.largest_size(); ++i) {
    EXPECT_EQ(c.largest(i).client_id(), ranked[static_cast<size_t>(i)].second) << what;
    EXPECT_EQ(c.largest(i).revenue().units(), ClampToInt64(-ranked[static_cast<size_t>(i)].first)) << what;
  }
}

// Concentration from the cells by client against reading every sale fact, and both against the
// plain sums of the facts of each window (ExpectPlainConcentration): in a time zone two hours ahead of UTC, with sales in EUR and in USD (a rate from March, a second one set later;
// before March no rate: not converted), without a filter and by one client, as of the end and
// during the history (sales recorded later taken out, rates set later unknown), in several periods
// with dynamics; again after the rows are dropped and filled anew from the facts.
TEST_F(Cells, ClientCellsAnswerConcentrationAsTheFactsDo) {
  const absl::TimeZone tz = absl::FixedTimeZone(2 * 60 * 60);
  History h(20261201);
  h.aggregates.push_back({RateEvent("USD", "2026-03-01", "0.9000", kStart + absl::Hours(24 * 40))});
  h.aggregates.push_back({RateEvent("USD", "2026-05-01", "0.8512", kStart + absl::Hours(24 * 100))});
  ApplyInterleaved(h.aggregates, dir_.path(), 6, tz);
  ReportingProjection projection(tz);
  testing::FakeClock clock(kStart + absl::Hours(24 * 400));
  ReportSettings settings;
  settings.time_zone = tz;
  std::vector<api::v1::ReportFilters> filters(2);
  filters[1].set_client_id("client-3");
  std::map<std::string, std::string> answers;
  const auto compare_all = [&](const Store& store, int* non_empty) {
    ReportQueries rows(&store, &clock, settings);
    ReportQueries facts(&store, &clock, settings);
    facts.set_scan_facts(true);
    for (const auto& f : filters) {
      for (const auto& [period, dynamics] : {std::pair{"2026", api::v1::BUCKET_MONTH},
                                             std::pair{"2026-Q2", api::v1::BUCKET_WEEK},
                                             std::pair{"2026-03-01..2026-03-31", api::v1::BUCKET_DAY},
                                             std::pair{"2026-11", api::v1::BUCKET_UNSPECIFIED},
                                             std::pair{"2027-01-01..2027-06-30", api::v1::BUCKET_DAY}}) {
        for (absl::Time as_of : {absl::InfiniteFuture(), kStart + absl::Hours(24 * 75),
                                 kStart + absl::Hours(24 * 150) + absl::Minutes(13 * 60 + 7)}) {
          api::v1::ConcentrationRequest r;
          r.set_period(period);
          *r.mutable_filters() = f;
          r.set_dynamics(dynamics);
          if (as_of < absl::InfiniteFuture()) *r.mutable_as_of() = events::ToProto(as_of);
          const std::string what = r.ShortDebugString();
          auto fast = rows.GetConcentration(r);
          auto slow = facts.GetConcentration(r);
          ASSERT_TRUE(fast.ok() && slow.ok()) << what << fast.status() << slow.status();
          EXPECT_EQ(fast->ShortDebugString(), slow->ShortDebugString()) << what;
          ExpectPlainConcentration(store, fast->total(), f, as_of, tz, what);
          for (const auto& bucket : fast->buckets()) ExpectPlainConcentration(store, bucket, f, as_of, tz, what);
          if (non_empty && slow->total().clients() > 1 && slow->total().unconverted_size() > 0) ++*non_empty;
          answers[what] = fast->ShortDebugString();
        }
      }
    }
  };
  CompareThenRefill(projection, compare_all, answers, 6, {{{kCellsFamily}, kCellsSetting}});
}

// Cycle times from the cycle cells against reading every journey: by each dimension, with each
// filter, as of the end and during the history, in several periods with dynamics; again after the
// cells are dropped and filled anew from the journeys.
TEST_F(Cells, CycleCellsAnswerAsTheJourneysDo) {
  const History h(20261128);
  ApplyInterleaved(h.aggregates, dir_.path(), 4);
  ReportingProjection projection;
  testing::FakeClock clock(kStart + absl::Hours(24 * 400));
  std::vector<api::v1::ReportFilters> filters(5);
  filters[1].set_manager_id("anna");
  filters[2].set_region("GR-ATT");
  filters[3].set_product_code("erp");
  filters[4].set_manager_id("nikos");  // two filters: only the journeys can answer
  filters[4].set_region("CY");
  std::map<std::string, std::string> answers;
  const auto compare_all = [&](const Store& store, int* non_empty) {
    FunnelReports cells(&store, &clock, ReportSettings{});
    FunnelReports journeys(&store, &clock, ReportSettings{});
    journeys.set_scan_journeys(true);
    for (PlanDimension by : kFunnelDimensions) {
      for (const auto& f : filters) {
        for (const char* period : {"2026-02", "2026-01-10..2026-05-20", "2026"}) {
          for (absl::Time as_of : {absl::InfiniteFuture(), kStart + absl::Hours(24 * 75), kStart + absl::Hours(24 * 150)}) {
            api::v1::CycleTimesRequest r;
            r.set_period(period);
            r.set_by(by);
            *r.mutable_filters() = f;
            r.set_dynamics(api::v1::BUCKET_MONTH);
            if (as_of < absl::InfiniteFuture()) *r.mutable_as_of() = events::ToProto(as_of);
            const std::string what = r.ShortDebugString();
            auto fast = cells.GetCycleTimes(r);
            auto slow = journeys.GetCycleTimes(r);
            ASSERT_TRUE(fast.ok() && slow.ok()) << what << fast.status() << slow.status();
            EXPECT_EQ(fast->ShortDebugString(), slow->ShortDebugString()) << what;
            if (non_empty && slow->total().rows_size() > 0 && slow->total().rows(0).captured_to_qualified().count() > 1) {
              ++*non_empty;
            }
            answers[what] = fast->ShortDebugString();
          }
        }
      }
    }
  };
  CompareThenRefill(projection, compare_all, answers, 40, {{{kCycleCellsFamily}, kCycleCellsSetting}});
}

// Scorecards from the assignment cells against reading every journey: with each filter, as of the
// end and during the history, in several periods with dynamics; again after the cells are dropped
// and filled anew from the journeys.
TEST_F(Cells, AssignmentCellsAnswerAsTheJourneysDo) {
  const History h(20261130);
  ApplyInterleaved(h.aggregates, dir_.path(), 4);
  ReportingProjection projection;
  testing::FakeClock clock(kStart + absl::Hours(24 * 400));
  std::vector<api::v1::ReportFilters> filters(7);
  filters[1].set_manager_id("anna");
  filters[2].set_region("GR-ATT");
  filters[3].set_source("LEAD_SOURCE_REFERRAL");
  filters[4].set_manager_id("maria");  // the assignee and a lead dimension
  filters[4].set_region("CY");
  filters[5].set_region("CY");  // two lead dimensions: only the journeys can answer
  filters[5].set_source("LEAD_SOURCE_REFERRAL");
  filters[6].set_region("NOWHERE");
  std::map<std::string, std::string> answers;
  const auto compare_all = [&](const Store& store, int* non_empty) {
    Scorecards cells(&store, &clock, ReportSettings{});
    Scorecards journeys(&store, &clock, ReportSettings{});
    journeys.set_scan_journeys(true);
    for (const auto& f : filters) {
      for (const char* period : {"2026-02", "2026-01-10..2026-05-20", "2026"}) {
        for (absl::Time as_of : {absl::InfiniteFuture(), kStart + absl::Hours(24 * 75), kStart + absl::Hours(24 * 150)}) {
          api::v1::ScorecardsRequest r;
          r.set_period(period);
          *r.mutable_filters() = f;
          r.set_dynamics(api::v1::BUCKET_MONTH);
          if (as_of < absl::InfiniteFuture()) *r.mutable_as_of() = events::ToProto(as_of);
          const std::string what = r.ShortDebugString();
          auto fast = cells.GetScorecards(r);
          auto slow = journeys.GetScorecards(r);
          ASSERT_TRUE(fast.ok() && slow.ok()) << what << fast.status() << slow.status();
          EXPECT_EQ(fast->ShortDebugString(), slow->ShortDebugString()) << what;
          if (non_empty && slow->total().rows_size() > 0 && slow->total().rows(0).responded() > 1) ++*non_empty;
          answers[what] = fast->ShortDebugString();
        }
      }
    }
  };
  CompareThenRefill(projection, compare_all, answers, 10, {{{kAssignmentCellsFamily}, kAssignmentCellsSetting}});
}

// A cell row that does not decode makes its report fail with DATA_LOSS naming the family, never
// answer a wrong figure.
TEST_F(Cells, ACorruptCellRowIsDataLossNamingItsFamily) {
  const History h(20261127);
  ApplyInterleaved(h.aggregates, dir_.path(), 2);
  ReportingProjection projection;
  testing::FakeClock clock(kStart + absl::Hours(24 * 400));
  auto store = Store::Open({.path = dir_.path(), .column_families = projection.column_families()}).value();
  FunnelReports funnel(store.get(), &clock, ReportSettings{});
  Scorecards scorecards(store.get(), &clock, ReportSettings{});
  const std::vector<std::pair<const char*, std::function<Status()>>> reports = {
      {kFunnelCellsFamily, [&] { api::v1::FunnelRequest r; r.set_period("2026"); return funnel.GetFunnel(r).status(); }},
      {kLostCellsFamily,
       [&] { api::v1::LostReasonsRequest r; r.set_period("2026"); return funnel.GetLostReasons(r).status(); }},
      {kCycleCellsFamily,
       [&] { api::v1::CycleTimesRequest r; r.set_period("2026"); return funnel.GetCycleTimes(r).status(); }},
      {kAssignmentCellsFamily,
       [&] { api::v1::ScorecardsRequest r; r.set_period("2026"); return scorecards.GetScorecards(r).status(); }},
  };
  for (const auto& [family, report] : reports) {
    ASSERT_TRUE(report().ok()) << family;
    std::string first;
    ASSERT_TRUE(store->Scan(family, "", "", [&](std::string_view key, std::string_view) {
      first = key;
      return false;
    }).ok());
    ASSERT_FALSE(first.empty()) << family << " has rows";
    Batch batch = store->NewBatch();
    batch.Put(family, first, "\xff\xff not a cell");
    ASSERT_TRUE(store->Commit(batch).ok());
    const Status s = report();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << family << ": " << s;
    EXPECT_NE(s.message().find(family), std::string::npos) << s;
  }
  // A row of the sale cells by product, read by the products report.
  ReportQueries queries(store.get(), &clock, ReportSettings{});
  api::v1::ProductReportRequest products;
  products.set_period("2026");
  ASSERT_TRUE(queries.GetProductReport(products).ok());
  std::string first;
  const std::string prefix = {static_cast<char>(Fact::KIND_SALE), static_cast<char>(events::v1::PLAN_DIMENSION_PRODUCT)};
  ASSERT_TRUE(store->Scan(kCellsFamily, prefix, "", [&](std::string_view key, std::string_view) {
    first = key;
    return false;
  }).ok());
  ASSERT_FALSE(first.empty());
  Batch batch = store->NewBatch();
  batch.Put(kCellsFamily, first, "\x01" "a" "\x05" "short");  // an entry whose sums are cut off
  ASSERT_TRUE(store->Commit(batch).ok());
  const Status s = queries.GetProductReport(products).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find(kCellsFamily), std::string::npos) << s;
}

TEST_F(Cells, AStoreBuiltForOneTimeZoneRefusesAnother) {
  const History h(7);
  ApplyInterleaved(h.aggregates, dir_.path(), 1);
  ReportingProjection athens(absl::FixedTimeZone(2 * 3600));
  auto store = Store::Open({.path = dir_.path(), .column_families = athens.column_families()}).value();
  const Status s = athens.Open(*store);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("rebuild"), std::string::npos) << s;
  EXPECT_TRUE(ReportingProjection().Open(*store).ok());
}

}  // namespace
}  // namespace sales::reporting
