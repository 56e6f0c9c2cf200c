// The inbound calls report (docs/REPORTS.md, "Inbound calls"): answered calls are summed by cells;
// each missed call is looked at on its own, to find its return among the calls of its number
// (call_numbers, projection/sales_facts.h).
#include <algorithm>

#include "common/events/envelope.h"
#include "services/reporting/api/report_queries.h"
#include "services/reporting/api/sales_reports.h"
#include "services/reporting/projection/sales_facts.h"

namespace sales::reporting {
namespace {

enum class Missed { kReturned, kNotReturned, kPending, kWithoutNumber };

// A later call of the same number within `window` after `missed` started, known as of `as_of`:
// an outbound call to it, or an answered inbound call from it.
StatusOr<Missed> Classify(const Store& store, const Fact& missed, absl::Duration window, absl::Time as_of) {
  if (missed.phone_key().empty()) return Missed::kWithoutNumber;
  const absl::Time started = events::FromProto(missed.occurred_at());
  const std::string end = CallNumberKey(missed.phone_key(), started + window + absl::Nanoseconds(1));
  bool returned = false;
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store.ScanFrom(kCallNumbersFamily, CallNumberKey(missed.phone_key(), started + absl::Nanoseconds(1)),
                                 [&](std::string_view key, std::string_view value) {
                                   if (key >= end) return false;
                                   store::v1::CallContact c;
                                   if (!c.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                                     inner = absl::DataLossError(StrCat("stored call ", key, " is corrupt"));
                                     return false;
                                   }
                                   returned = events::FromProto(c.recorded_at()) <= as_of &&
                                              (c.direction() == events::v1::CALL_DIRECTION_OUTBOUND || c.answered());
                                   return !returned;
                                 }));
  RETURN_IF_ERROR(inner);
  if (returned) return Missed::kReturned;
  return started + window <= as_of ? Missed::kNotReturned : Missed::kPending;
}

void Count(api::v1::InboundCallsRow& row, Missed m) {
  row.set_missed(row.missed() + 1);
  switch (m) {
    case Missed::kReturned: row.set_returned(row.returned() + 1); break;
    case Missed::kNotReturned: row.set_not_returned(row.not_returned() + 1); break;
    case Missed::kPending: row.set_pending(row.pending() + 1); break;
    case Missed::kWithoutNumber: row.set_without_number(row.without_number() + 1); break;
  }
}

// The figures of one period (the whole or a bucket) being added up.
struct CallSums {
  Period period;
  std::map<std::string, api::v1::InboundCallsRow> rows;
  api::v1::InboundCallsRow total;

  void Answered(const std::string& manager, int64_t n) {
    for (auto* row : {&rows[manager], &total}) row->set_answered(row->answered() + n);
  }
  void Add(const std::string& manager, Missed m) {
    for (auto* row : {&rows[manager], &total}) Count(*row, m);
  }
  api::v1::InboundCallsPeriod ToApi() const {
    api::v1::InboundCallsPeriod out;
    *out.mutable_period() = ::sales::reporting::ToProto(period);
    const auto finish = [](api::v1::InboundCallsRow row) {
      row.set_inbound(row.answered() + row.missed());
      row.set_answered_share(row.inbound() > 0 ? static_cast<double>(row.answered()) / row.inbound() : 0);
      return row;
    };
    for (const auto& [manager, row] : rows) {
      *out.add_rows() = finish(row);
      out.mutable_rows()->rbegin()->set_manager_id(manager);
    }
    *out.mutable_total() = finish(total);
    return out;
  }
};

// The sums `day` falls in: the whole period's and its bucket's.
std::vector<CallSums*> SumsOf(absl::CivilDay day, CallSums& total, std::vector<CallSums>& buckets) {
  std::vector<CallSums*> out = {&total};
  for (auto& b : buckets) {
    if (b.period.Contains(day)) out.push_back(&b);
  }
  return out;
}

}  // namespace

StatusOr<api::v1::InboundCallsResponse> ReportQueries::GetInboundCalls(const api::v1::InboundCallsRequest& r) const {
  ASSIGN_OR_RETURN(ReportScope scope, CheckScope(r.period(), std::nullopt, r.dynamics(), r.filters(), r.as_of(), *clock_));
  const absl::TimeZone tz = settings_.time_zone;
  const absl::Duration window = absl::Hours(settings_.sales.call_return_hours);
  CallSums total{scope.period};
  std::vector<CallSums> buckets;
  for (const Period& b : scope.buckets) buckets.push_back(CallSums{b});

  ASSIGN_OR_RETURN(CellSums answered, SumCells(*store_,
                                               CellQuery{.kind = Fact::KIND_INBOUND_ANSWERED,
                                                         .period = scope.period,
                                                         .by = events::v1::PLAN_DIMENSION_MANAGER,
                                                         .filters = r.filters(),
                                                         .as_of = scope.as_of},
                                               tz));
  for (const auto& [at, cell] : answered.cells) {
    for (CallSums* s : SumsOf(at.day, total, buckets)) s->Answered(at.key, cell.facts);
  }

  // Missed calls one by one (the selection SumCells makes: occurred in the period, recorded as of,
  // matching the filters).
  std::vector<Fact> missed;
  RETURN_IF_ERROR(ForEachFact(*store_, Fact::KIND_INBOUND_MISSED, scope.period, scope.as_of, tz, [&](const Fact& f) {
    if (Matches(f, r.filters())) missed.push_back(f);
  }));
  for (const Fact& f : missed) {
    ASSIGN_OR_RETURN(Missed m, Classify(*store_, f, window, scope.as_of));
    const absl::CivilDay day = absl::ToCivilDay(events::FromProto(f.occurred_at()), tz);
    for (CallSums* s : SumsOf(day, total, buckets)) s->Add(f.manager_id(), m);
  }

  api::v1::InboundCallsResponse out;
  *out.mutable_as_of() = events::ToProto(scope.as_of);
  out.set_return_hours(settings_.sales.call_return_hours);
  *out.mutable_total() = total.ToApi();
  for (const auto& b : buckets) *out.add_buckets() = b.ToApi();
  return out;
}

}  // namespace sales::reporting
