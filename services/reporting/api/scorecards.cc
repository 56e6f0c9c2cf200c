#include "services/reporting/api/scorecards.h"

#include <algorithm>
#include <array>
#include <map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/command/request_checks.h"
#include "common/events/envelope.h"
#include "services/reporting/api/journey_reads.h"
#include "services/reporting/api/query_helpers.h"
#include "services/reporting/api/report_basics.h"

namespace sales::reporting {
namespace {

using command::Violations;

struct ManagerSums {
  int64_t leads_assigned = 0;
  int64_t unanswered = 0;
  std::vector<int64_t> response_seconds;
  int64_t calls_logged = 0, calls_pbx = 0, meetings = 0, emails = 0;
  int64_t with_prospects_seconds = 0, logged_seconds = 0;
  int64_t offers_sent = 0, won = 0, lost = 0;
  __int128 revenue_units = 0;  // reporting currency, minor units
  __int128 deal_units = 0;     // the converted values of the deals won
  int64_t deals_converted = 0;
};

struct ScoreSums {
  // A hash map: every cell of a year looks its manager up (an ordered map's string compares were
  // 8 % of a call); Emit sorts.
  absl::flat_hash_map<std::string, ManagerSums> managers;
  std::map<std::string, __int128> unconverted;  // per currency, minor units
};

// Each assignment of a counted lead, in the period of the assignment, to its manager.
void AddAssignments(const LeadJourney& journey, const api::v1::ReportFilters& filters, absl::Time as_of,
                    absl::TimeZone tz, PeriodSums<ScoreSums>& sums) {
  const std::optional<LeadStages> stages = StagesAsOf(journey, as_of);
  api::v1::ReportFilters lead_filters = filters;
  lead_filters.clear_manager_id();  // the manager here is the assignee, not the owner
  if (!stages || !JourneyMatches(journey, *stages, lead_filters)) return;
  for (const auto& a : journey.assignments()) {
    if (!Known(a.assigned(), as_of)) continue;
    if (!filters.manager_id().empty() && a.manager_id() != filters.manager_id()) continue;
    const absl::Time assigned = events::FromProto(a.assigned().at());
    for (auto* s : sums.At(assigned, tz)) {
      ManagerSums& m = s->managers[a.manager_id()];
      ++m.leads_assigned;
      if (Known(a.first_response(), as_of)) {
        m.response_seconds.push_back(SecondsBetween(assigned, events::FromProto(a.first_response().at())));
      } else {
        ++m.unanswered;
      }
    }
  }
}

// The assignments from the assignment cells into `sums`, when they can answer: no filter but the
// manager's (the assignee) and at most one of region and source. The journeys changed after
// `as_of` are counted as of then: their contribution now taken out, their contribution then put
// in. False: the journeys must be read.
StatusOr<bool> AssignmentsFromCells(const Store& store, const api::v1::ReportFilters& filters, absl::Time as_of,
                                    absl::TimeZone tz, PeriodSums<ScoreSums>& sums) {
  if (!filters.client_id().empty() || !filters.product_code().empty() ||
      (!filters.region().empty() && !filters.source().empty())) {
    return false;
  }
  PlanDimension read = events::v1::PLAN_DIMENSION_COMPANY;
  std::string only;
  if (!filters.region().empty()) read = events::v1::PLAN_DIMENSION_REGION, only = filters.region();
  if (!filters.source().empty()) read = events::v1::PLAN_DIMENSION_SOURCE, only = filters.source();
  ASSIGN_OR_RETURN(std::optional<std::set<std::string>> late, LateJourneys(store, as_of));
  if (!late) return false;
  // Samples taken out are removed (one occurrence each) once everything is in.
  std::map<std::pair<ScoreSums*, std::string>, std::vector<int64_t>> taken_out;
  bool corrupt = false;
  const auto add = [&](absl::CivilDay day, const std::string& key, const AssignmentSums& cell, int sign) {
    const size_t nul = key.find('\0');
    if (nul == std::string::npos) {
      corrupt = true;
      return;
    }
    const std::string manager = key.substr(nul + 1);
    if (key.substr(0, nul) != only && read != events::v1::PLAN_DIMENSION_COMPANY) return;
    if (!filters.manager_id().empty() && manager != filters.manager_id()) return;
    for (auto* s : sums.At(day)) {
      ManagerSums& m = s->managers[manager];
      m.leads_assigned += sign * cell.assigned;
      m.unanswered += sign * cell.unanswered;
      std::vector<int64_t>& into = sign > 0 ? m.response_seconds : taken_out[{s, manager}];
      into.insert(into.end(), cell.response_seconds.begin(), cell.response_seconds.end());
    }
  };
  RETURN_IF_ERROR(ForEachCellAsOf(store, kAssignmentCellsFamily, DecodeAssignmentCell, AssignmentCellsOf, read,
                                  sums.total().period, as_of, tz, *late, add));
  if (corrupt) return absl::DataLossError("stored assignment_cells key is corrupt");
  for (auto& [at, removed] : taken_out) TakeOutSamples(at.first->managers[at.second].response_seconds, removed);
  // A manager is listed only with a lead assigned (as reading the journeys lists them).
  const auto drop_empty = [](ScoreSums& s) {
    absl::erase_if(s.managers, [](const auto& kv) { return kv.second.leads_assigned == 0; });
  };
  drop_empty(sums.total().sums);
  for (auto& b : sums.buckets()) drop_empty(b.sums);
  return true;
}

void AddWork(const Fact& f, ManagerSums& m) {
  m.logged_seconds += f.duration_seconds();
  switch (f.work()) {
    case store::v1::WORK_TYPE_CALL:
      ++(f.from_pbx() ? m.calls_pbx : m.calls_logged);
      m.with_prospects_seconds += f.duration_seconds();
      break;
    case store::v1::WORK_TYPE_MEETING:
      ++m.meetings;
      m.with_prospects_seconds += f.duration_seconds();
      break;
    default:
      ++m.emails;
  }
}

// What one cell of `kind` adds to a manager's figures.
void AddCell(Fact::Kind kind, const Cell& cell, std::optional<__int128> converted, ManagerSums& m) {
  switch (kind) {
    case Fact::KIND_OFFER_SENT: m.offers_sent += cell.facts; break;
    case Fact::KIND_OFFER_REJECTED:
    case Fact::KIND_OFFER_EXPIRED: m.lost += cell.facts; break;
    case Fact::KIND_OFFER_ACCEPTED:
      m.won += cell.facts;
      if (converted) {
        m.deal_units += *converted;
        m.deals_converted += cell.facts;
      }
      break;
    case Fact::KIND_SALE:
      if (converted) m.revenue_units += *converted;
      break;
    default: break;
  }
}

events::v1::Money InReportingCurrency(__int128 units, const std::string& currency) {
  events::v1::Money m;
  m.set_units(ClampToInt64(units));
  m.set_currency(currency);
  return m;
}

// Rounds a / b (b > 0) half away from zero.
__int128 DivideRounded(__int128 a, __int128 b) {
  const __int128 q = a / b, r = a % b;
  if (2 * (r < 0 ? -r : r) >= b) return a < 0 ? q - 1 : q + 1;
  return q;
}

api::v1::ScorecardRow ToRow(const std::string& manager, ManagerSums& m, const std::string& currency) {
  api::v1::ScorecardRow row;
  row.set_manager_id(manager);
  row.set_leads_assigned(m.leads_assigned);
  row.set_responded(static_cast<int64_t>(m.response_seconds.size()));
  row.set_unanswered(m.unanswered);
  if (auto median = NearestRank(m.response_seconds, 0.5)) row.set_first_response_median_seconds(*median);
  if (auto p90 = NearestRanks(m.response_seconds, 0.5, 0.9)) row.set_first_response_p90_seconds(*p90);
  row.set_calls_logged(m.calls_logged);
  row.set_calls_pbx(m.calls_pbx);
  row.set_meetings(m.meetings);
  row.set_emails(m.emails);
  row.set_offers_sent(m.offers_sent);
  row.set_won(m.won);
  row.set_lost(m.lost);
  *row.mutable_revenue() = InReportingCurrency(m.revenue_units, currency);
  if (m.won + m.lost > 0) row.set_win_rate(static_cast<double>(m.won) / static_cast<double>(m.won + m.lost));
  if (m.deals_converted > 0) {
    *row.mutable_average_deal() = InReportingCurrency(DivideRounded(m.deal_units, m.deals_converted), currency);
  }
  row.set_time_with_prospects_seconds(m.with_prospects_seconds);
  row.set_logged_seconds(m.logged_seconds);
  row.set_time_target(kTimeWithProspectsTarget);
  if (m.logged_seconds > 0) {
    const double share = static_cast<double>(m.with_prospects_seconds) / static_cast<double>(m.logged_seconds);
    row.set_time_with_prospects_share(share);
    row.set_meets_time_target(share >= kTimeWithProspectsTarget);
  }
  return row;
}

void Emit(const Period& period, ScoreSums& sums, const std::string& currency, api::v1::ScorecardsPeriod* out) {
  *out->mutable_period() = ToProto(period);
  std::vector<std::pair<const std::string, ManagerSums>*> managers;
  for (auto& entry : sums.managers) managers.push_back(&entry);
  std::sort(managers.begin(), managers.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  for (auto* entry : managers) *out->add_rows() = ToRow(entry->first, entry->second, currency);
  for (const auto& [c, units] : sums.unconverted) *out->add_unconverted() = InReportingCurrency(units, c);
}

}  // namespace

StatusOr<api::v1::ScorecardsResponse> Scorecards::GetScorecards(const api::v1::ScorecardsRequest& r) const {
  Violations v;
  const std::optional<Period> period = CheckPeriod(r.period(), v);
  CheckDynamics(r.dynamics(), v);
  CheckFilters(r.filters(), "filters", v);
  if (!r.filters().product_code().empty()) {
    v.push_back({"filters.product_code", "scorecards are not split by product (calls and meetings have none)"});
  }
  RETURN_IF_ERROR(command::Result(std::move(v)));
  const absl::Time as_of = AsOf(r.as_of(), *clock_);
  const absl::TimeZone tz = settings_.time_zone;
  PeriodSums<ScoreSums> sums(*period, r.dynamics());

  // The assignments and the work here, the offers' and sales' cells on a helper meanwhile (about
  // as long: QueryHelpers), added to the sums after.
  std::optional<std::string> whole_months;
  if (WholeMonths(*period, r.dynamics())) whole_months = settings_.currency;
  constexpr std::array<Fact::Kind, 5> kKinds = {Fact::KIND_OFFER_SENT, Fact::KIND_OFFER_ACCEPTED,
                                                Fact::KIND_OFFER_REJECTED, Fact::KIND_OFFER_EXPIRED, Fact::KIND_SALE};
  std::vector<StatusOr<CellSums>> kind_cells;
  Status assignments_and_work;
  QueryHelpers::Shared().RunBoth(
      [&] {
        assignments_and_work = [&]() -> Status {
          bool from_cells = false;
          if (!scan_journeys_) {
            ASSIGN_OR_RETURN(from_cells, AssignmentsFromCells(*store_, r.filters(), as_of, tz, sums));
          }
          if (!from_cells) {
            RETURN_IF_ERROR(ForEachJourney(*store_, [&](const LeadJourney& journey) {
              AddAssignments(journey, r.filters(), as_of, tz, sums);
            }));
          }
          return ForEachFact(*store_, Fact::KIND_WORK, *period, as_of, tz, [&](const Fact& f) {
            if (!Matches(f, r.filters())) return;
            for (auto* s : sums.At(events::FromProto(f.occurred_at()), tz)) AddWork(f, s->managers[f.manager_id()]);
          });
        }();
      },
      [&] {
        for (Fact::Kind kind : kKinds) {
          kind_cells.push_back(SumCells(*store_,
                                        CellQuery{.kind = kind,
                                                  .period = *period,
                                                  .by = events::v1::PLAN_DIMENSION_MANAGER,
                                                  .filters = r.filters(),
                                                  .as_of = as_of,
                                                  .whole_months_in = whole_months},
                                        tz));
        }
      });
  RETURN_IF_ERROR(assignments_and_work);
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(*store_, as_of));
  for (size_t k = 0; k < kKinds.size(); ++k) {
    const Fact::Kind kind = kKinds[k];
    RETURN_IF_ERROR(kind_cells[k].status());
    for (const auto& [at, cell] : kind_cells[k]->cells) {
      std::optional<__int128> converted;
      if (!at.currency.empty()) {
        converted = ToReportingUnits(cell.amount, at.currency, at.day, rates, settings_.currency);
      }
      for (auto* s : sums.At(at.day)) {
        AddCell(kind, cell, converted, s->managers[at.key]);
        // Revenue's gap is listed; a deal's value is the same money, averaged over the converted.
        if (kind == Fact::KIND_SALE && !converted) s->unconverted[at.currency] += cell.amount;
      }
    }
  }

  api::v1::ScorecardsResponse out;
  out.set_reporting_currency(settings_.currency);
  *out.mutable_as_of() = events::ToProto(as_of);
  Emit(sums.total().period, sums.total().sums, settings_.currency, out.mutable_total());
  for (auto& b : sums.buckets()) Emit(b.period, b.sums, settings_.currency, out.add_buckets());
  return out;
}

}  // namespace sales::reporting
