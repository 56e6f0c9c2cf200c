#include "services/reporting/api/report_queries.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/base/strings.h"
#include "common/command/request_checks.h"
#include "common/events/envelope.h"
#include "services/reporting/api/report_basics.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using command::Violations;
using events::v1::PlanDimension;

api::v1::TargetRevision ToApi(const store::v1::PlanRevision& r) {
  api::v1::TargetRevision out;
  out.set_version(r.version());
  if (r.has_amount()) *out.mutable_amount() = r.amount();
  out.set_count(r.count());
  out.set_note(r.note());
  *out.mutable_recorded_at() = r.recorded_at();
  out.set_actor(r.actor());
  return out;
}

// One row being summed: money in reporting-currency minor units (exact), counts as numbers.
struct Sum {
  std::string label;
  __int128 actual_units = 0;
  double actual_count = 0;
  __int128 target_units = 0;
  double target_count = 0;
  bool has_target = false;
};

// The sums of one period (the whole, or one bucket).
struct PeriodSums {
  Period period;
  std::map<std::string, Sum> rows;
  std::map<std::string, __int128> unconverted;  // per currency, minor units
  int64_t facts = 0;
};

}  // namespace

StatusOr<api::v1::ListTargetsResponse> ReportQueries::ListTargets(const api::v1::ListTargetsRequest& r) const {
  std::optional<Period> period;
  if (!r.period().empty()) {
    ASSIGN_OR_RETURN(Period p, ParsePeriod(r.period()));
    period = p;
  }
  if (!events::v1::PlanMetric_IsValid(r.metric())) return InvalidField("metric", "unknown value");
  if (!events::v1::PlanDimension_IsValid(r.dimension())) return InvalidField("dimension", "unknown value");
  const absl::Time as_of = AsOf(r.as_of(), *clock_);
  ASSIGN_OR_RETURN(std::vector<PlanState> states, ReadAll<PlanState>(*store_, kTargetsFamily));
  api::v1::ListTargetsResponse out;
  for (const auto& s : states) {
    if (r.metric() != events::v1::PLAN_METRIC_UNSPECIFIED && s.metric() != r.metric()) continue;
    if (r.dimension() != events::v1::PLAN_DIMENSION_UNSPECIFIED && s.dimension() != r.dimension()) continue;
    ASSIGN_OR_RETURN(Period target_period, FromProto(s.period()));
    if (period && OverlapDays(*period, target_period) == 0) continue;
    const auto* current = RevisionAsOf(s, as_of);
    if (current == nullptr) continue;  // set after as_of
    auto* t = out.add_targets();
    t->set_target_id(s.id());
    *t->mutable_period() = s.period();
    t->set_metric(s.metric());
    t->set_dimension(s.dimension());
    t->set_key(s.key());
    *t->mutable_current() = ToApi(*current);
    if (r.include_history()) {
      for (const auto& rev : s.revisions()) {
        if (events::FromProto(rev.recorded_at()) <= as_of) *t->add_history() = ToApi(rev);
      }
    }
  }
  std::sort(out.mutable_targets()->begin(), out.mutable_targets()->end(), [](const auto& a, const auto& b) {
    return std::make_tuple(a.period().first_day(), a.period().last_day(), a.metric(), a.dimension(), a.key()) <
           std::make_tuple(b.period().first_day(), b.period().last_day(), b.metric(), b.dimension(), b.key());
  });
  return out;
}

StatusOr<api::v1::ListExchangeRatesResponse> ReportQueries::ListExchangeRates(
    const api::v1::ListExchangeRatesRequest& r) const {
  const absl::Time as_of = AsOf(r.as_of(), *clock_);
  ASSIGN_OR_RETURN(std::vector<PlanState> states, ReadAll<PlanState>(*store_, kRatesFamily));
  api::v1::ListExchangeRatesResponse out;
  out.set_reporting_currency(settings_.currency);
  for (const auto& s : states) {  // keys "<currency>/<day>": in currency and day order
    if (!r.currency().empty() && s.currency() != r.currency()) continue;
    const auto* revision = RevisionAsOf(s, as_of);
    if (revision == nullptr) continue;
    auto* rate = out.add_rates();
    rate->set_currency(s.currency());
    rate->set_day(s.day());
    rate->set_rate(RateString(revision->rate_micros()));
    rate->set_version(revision->version());
    *rate->mutable_recorded_at() = revision->recorded_at();
  }
  return out;
}

StatusOr<api::v1::PlanVsActualResponse> ReportQueries::GetPlanVsActual(const api::v1::PlanVsActualRequest& r) const {
  Violations v;
  StatusOr<Period> parsed = ParsePeriod(r.period());
  if (!parsed.ok()) {
    for (auto& f : FieldViolations(parsed.status())) v.push_back(std::move(f));
  }
  if (r.metric() == events::v1::PLAN_METRIC_UNSPECIFIED || !events::v1::PlanMetric_IsValid(r.metric())) {
    v.push_back({"metric", "one of REVENUE, MARGIN, NEW_CLIENTS, OFFERS_SENT, CALLS, MEETINGS"});
  }
  if (!events::v1::PlanDimension_IsValid(r.by())) v.push_back({"by", "unknown dimension"});
  if (!api::v1::Bucket_IsValid(r.dynamics())) v.push_back({"dynamics", "DAY, WEEK or MONTH (or none)"});
  CheckFilters(r.filters(), "filters", v);
  RETURN_IF_ERROR(command::Result(std::move(v)));
  const Period period = *parsed;
  const PlanDimension by = r.by() == events::v1::PLAN_DIMENSION_UNSPECIFIED ? events::v1::PLAN_DIMENSION_COMPANY : r.by();
  const absl::Time as_of = AsOf(r.as_of(), *clock_);
  const absl::TimeZone tz = settings_.time_zone;
  const bool money = IsMoneyMetric(r.metric());
  const bool margin = r.metric() == events::v1::PLAN_METRIC_MARGIN;
  const std::string only_key = FilterOn(by, r.filters());

  PeriodSums total{period};
  std::vector<PeriodSums> buckets;
  if (r.dynamics() != api::v1::BUCKET_UNSPECIFIED) {
    for (Period& b : Buckets(period, r.dynamics())) buckets.push_back(PeriodSums{std::move(b)});
  }
  // The bucket of a day: buckets are in day order and cover the period.
  const auto bucket_of = [&](absl::CivilDay day) -> PeriodSums* {
    auto it = std::upper_bound(buckets.begin(), buckets.end(), day,
                               [](absl::CivilDay d, const PeriodSums& b) { return d < b.period.first; });
    return it == buckets.begin() ? nullptr : &*std::prev(it);
  };

  // Actuals: the cells of the metric's facts that occurred in the period, known as of as_of.
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(*store_, as_of));
  ASSIGN_OR_RETURN(CellSums cells, SumCells(*store_, CellQuery{.kind = FactKindOf(r.metric()),
                                                                .period = period,
                                                                .by = by,
                                                                .filters = r.filters(),
                                                                .as_of = as_of},
                                            tz));
  int64_t margin_without_cost = 0;
  for (const auto& [at, cell] : cells.cells) {
    PeriodSums* bucket = buckets.empty() ? nullptr : bucket_of(at.day);
    __int128 units = 0;
    if (money) {
      units = margin ? cell.amount - cell.cost : cell.amount;
      if (margin) margin_without_cost += cell.without_cost;
      std::optional<__int128> converted = ToReportingUnits(units, at.currency, at.day, rates, settings_.currency);
      if (!converted) {
        for (PeriodSums* s : {&total, bucket}) {
          if (s != nullptr) s->unconverted[at.currency] += units;
        }
        continue;
      }
      units = *converted;
    }
    for (PeriodSums* s : {&total, bucket}) {
      if (s == nullptr) continue;
      Sum& sum = s->rows[at.key];
      if (auto label = cells.labels.find(at.key); label != cells.labels.end()) sum.label = label->second;
      sum.actual_units += units;
      sum.actual_count += money ? 0 : cell.facts;
      s->facts += cell.facts;
    }
  }

  // Targets of this metric for the `by` dimension, prorated by days into each period.
  ASSIGN_OR_RETURN(std::vector<PlanState> targets, ReadAll<PlanState>(*store_, kTargetsFamily));
  for (const auto& t : targets) {
    if (t.metric() != r.metric() || t.dimension() != by) continue;
    if (!only_key.empty() && t.key() != only_key) continue;
    const auto* revision = RevisionAsOf(t, as_of);
    if (revision == nullptr) continue;
    ASSIGN_OR_RETURN(Period target_period, FromProto(t.period()));
    std::vector<PeriodSums*> sums = {&total};
    for (auto& b : buckets) sums.push_back(&b);
    for (PeriodSums* s : sums) {
      if (OverlapDays(target_period, s->period) == 0) continue;
      Sum& sum = s->rows[t.key()];
      sum.has_target = true;
      if (money) {
        ASSIGN_OR_RETURN(::sales::Money value, ::sales::Money::FromProto(revision->amount(), "target"));
        ASSIGN_OR_RETURN(::sales::Money share, ProrateAmount(value, target_period, s->period));
        sum.target_units += share.units();
      } else {
        sum.target_count += ProrateCount(revision->count(), target_period, s->period);
      }
    }
  }

  api::v1::PlanVsActualResponse out;
  out.set_reporting_currency(settings_.currency);
  *out.mutable_as_of() = events::ToProto(as_of);
  out.set_margin_without_cost(margin_without_cost);
  const auto emit = [&](const PeriodSums& s, api::v1::PlanVsActualPeriod* p) {
    *p->mutable_period() = ToProto(s.period);
    p->set_facts(s.facts);
    const double factor = StraightLineFactor(s.period, as_of, tz);
    for (const auto& [key, sum] : s.rows) {
      auto* row = p->add_rows();
      row->set_key(key);
      row->set_label(sum.label.empty() ? key : sum.label);
      row->set_has_target(sum.has_target);
      double actual = 0, target = 0;
      if (money) {
        const auto to_money = [&](__int128 units) {
          events::v1::Money m;
          m.set_units(ClampToInt64(units));
          m.set_currency(settings_.currency);
          return m;
        };
        *row->mutable_actual_amount() = to_money(sum.actual_units);
        *row->mutable_target_amount() = to_money(sum.target_units);
        *row->mutable_forecast_amount() =
            to_money(static_cast<__int128>(std::llround(static_cast<double>(sum.actual_units) * factor)));
        actual = static_cast<double>(sum.actual_units);
        target = static_cast<double>(sum.target_units);
      } else {
        row->set_actual_count(sum.actual_count);
        row->set_target_count(std::round(sum.target_count * 100) / 100);
        row->set_forecast_count(std::round(sum.actual_count * factor * 100) / 100);
        actual = sum.actual_count;
        target = sum.target_count;
      }
      if (sum.has_target && target > 0) row->set_attainment(actual / target);
    }
    for (const auto& [currency, units] : s.unconverted) {
      auto* m = p->add_unconverted();
      m->set_units(ClampToInt64(units));
      m->set_currency(currency);
    }
  };
  emit(total, out.mutable_total());
  for (const auto& b : buckets) emit(b, out.add_buckets());
  return out;
}

}  // namespace sales::reporting
