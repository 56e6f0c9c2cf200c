#include "services/reporting/api/funnel_tables.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "common/base/strings.h"
#include "common/money/money.h"

namespace sales::reporting {
namespace {

using api::v1::ColumnKind;
using api::v1::ReportCell;
using api::v1::ReportTable;

// ---- Cells and columns (the tables slice's table:: helpers will replace these when it lands) ----

void Column(ReportTable& t, std::string name, ColumnKind kind) {
  auto* c = t.add_columns();
  c->set_name(std::move(name));
  c->set_kind(kind);
}

ReportCell Text(std::string text) {
  ReportCell c;
  c.set_text(std::move(text));
  return c;
}

ReportCell Number(double value) {
  ReportCell c;
  c.set_number(value);
  return c;
}

ReportCell Amount(const events::v1::Money& money) {
  ReportCell c;
  *c.mutable_money() = money;
  return c;
}

// An optional figure: empty when absent.
template <typename T>
ReportCell Maybe(bool has, T value) {
  return has ? Number(static_cast<double>(value)) : ReportCell();
}

std::string DimensionWord(events::v1::PlanDimension by) {
  if (by == events::v1::PLAN_DIMENSION_UNSPECIFIED) by = events::v1::PLAN_DIMENSION_COMPANY;
  return absl::AsciiStrToLower(absl::StrReplaceAll(events::v1::PlanDimension_Name(by).substr(15), {{"_", " "}}));
}

// `report`: the name salesctl knows it by (and files are named after); `sheet`: a workbook's tab.
ReportTable NewTable(const std::string& title, const std::string& report, const std::string& sheet,
                     const std::string& period, const google::protobuf::Timestamp& as_of, bool dynamics) {
  ReportTable t;
  t.set_title(StrCat(title, ", ", period));
  t.set_report(report);
  t.set_sheet_name(sheet);
  t.set_period(period);
  *t.mutable_as_of() = as_of;
  if (dynamics) Column(t, "Period", api::v1::COLUMN_KIND_DAY);
  return t;
}

// The rows of the total, or of each bucket with its period first.
template <typename Response, typename AddRows>
void EachPeriod(ReportTable& t, const Response& response, bool dynamics, AddRows add_rows) {
  if (!dynamics) {
    add_rows(response.total(), [&] { return t.add_rows(); });
    return;
  }
  for (const auto& bucket : response.buckets()) {
    add_rows(bucket, [&] {
      auto* row = t.add_rows();
      *row->add_cells() = Text(bucket.period().label());
      return row;
    });
  }
}

void Stages(api::v1::ReportRow* row, const api::v1::FunnelStages& s) {
  for (int64_t n : {s.captured(), s.qualified(), s.first_offer(), s.won(), s.lost()}) *row->add_cells() = Number(n);
}

}  // namespace

ReportTable ToTable(const api::v1::FunnelResponse& response, const api::v1::FunnelRequest& request) {
  const bool dynamics = request.dynamics() != api::v1::BUCKET_UNSPECIFIED;
  ReportTable t = NewTable(StrCat("Funnel by ", DimensionWord(request.by())), "funnel", "Funnel", request.period(),
                           response.as_of(), dynamics);
  Column(t, "Key", api::v1::COLUMN_KIND_TEXT);
  for (const char* stage : {"Captured", "Qualified", "First offer", "Won", "Lost"}) {
    Column(t, StrCat(stage, " (cohort)"), api::v1::COLUMN_KIND_COUNT);
  }
  for (const char* rate : {"Qualified rate", "First offer rate", "Win rate", "Overall rate"}) {
    Column(t, rate, api::v1::COLUMN_KIND_RATIO);
  }
  for (const char* stage : {"Captured", "Qualified", "First offer", "Won", "Lost"}) {
    Column(t, StrCat(stage, " (in period)"), api::v1::COLUMN_KIND_COUNT);
  }
  EachPeriod(t, response, dynamics, [](const api::v1::FunnelPeriod& p, auto new_row) {
    for (const auto& r : p.rows()) {
      auto* row = new_row();
      *row->add_cells() = Text(r.label());
      Stages(row, r.cohort());
      *row->add_cells() = Maybe(r.has_qualified_rate(), r.qualified_rate());
      *row->add_cells() = Maybe(r.has_first_offer_rate(), r.first_offer_rate());
      *row->add_cells() = Maybe(r.has_win_rate(), r.win_rate());
      *row->add_cells() = Maybe(r.has_overall_rate(), r.overall_rate());
      Stages(row, r.activity());
    }
  });
  return t;
}

ReportTable ToTable(const api::v1::CycleTimesResponse& response, const api::v1::CycleTimesRequest& request) {
  const bool dynamics = request.dynamics() != api::v1::BUCKET_UNSPECIFIED;
  ReportTable t = NewTable(StrCat("Cycle times by ", DimensionWord(request.by())), "cycle-times", "Cycle times",
                           request.period(), response.as_of(), dynamics);
  Column(t, "Key", api::v1::COLUMN_KIND_TEXT);
  for (const char* cycle : {"Captured to qualified", "Qualified to first offer", "Sent to accepted",
                            "Captured to won"}) {
    Column(t, StrCat(cycle, ": leads"), api::v1::COLUMN_KIND_COUNT);
    Column(t, StrCat(cycle, ": median"), api::v1::COLUMN_KIND_SECONDS);
    Column(t, StrCat(cycle, ": p90"), api::v1::COLUMN_KIND_SECONDS);
  }
  EachPeriod(t, response, dynamics, [](const api::v1::CycleTimesPeriod& p, auto new_row) {
    for (const auto& r : p.rows()) {
      auto* row = new_row();
      *row->add_cells() = Text(r.label());
      for (const auto* c : {&r.captured_to_qualified(), &r.qualified_to_first_offer(), &r.sent_to_accepted(),
                            &r.captured_to_won()}) {
        *row->add_cells() = Number(static_cast<double>(c->count()));
        *row->add_cells() = Maybe(c->has_median_seconds(), c->median_seconds());
        *row->add_cells() = Maybe(c->has_p90_seconds(), c->p90_seconds());
      }
    }
  });
  return t;
}

ReportTable ToTable(const api::v1::LostReasonsResponse& response, const api::v1::LostReasonsRequest& request) {
  const bool dynamics = request.dynamics() != api::v1::BUCKET_UNSPECIFIED;
  ReportTable t = NewTable("Lost reasons", "lost-reasons", "Lost reasons", request.period(), response.as_of(), dynamics);
  Column(t, "Lost", api::v1::COLUMN_KIND_TEXT);
  Column(t, "Reason", api::v1::COLUMN_KIND_TEXT);
  Column(t, "Count", api::v1::COLUMN_KIND_COUNT);
  Column(t, "Share", api::v1::COLUMN_KIND_RATIO);
  EachPeriod(t, response, dynamics, [](const api::v1::LostReasonsPeriod& p, auto new_row) {
    const auto add = [&](const char* what, const auto& reasons) {
      for (const auto& r : reasons) {
        auto* row = new_row();
        *row->add_cells() = Text(what);
        *row->add_cells() = Text(r.reason());
        *row->add_cells() = Number(static_cast<double>(r.count()));
        *row->add_cells() = Number(r.share());
      }
    };
    add("disqualified lead", p.disqualified());
    add("rejected offer", p.rejected());
  });
  return t;
}

ReportTable ToTable(const api::v1::ScorecardsResponse& response, const api::v1::ScorecardsRequest& request) {
  const bool dynamics = request.dynamics() != api::v1::BUCKET_UNSPECIFIED;
  ReportTable t =
      NewTable("Managers' scorecards", "scorecards", "Scorecards", request.period(), response.as_of(), dynamics);
  t.set_reporting_currency(response.reporting_currency());
  Column(t, "Manager", api::v1::COLUMN_KIND_TEXT);
  for (const char* count : {"Leads assigned", "Responded", "Unanswered"}) Column(t, count, api::v1::COLUMN_KIND_COUNT);
  Column(t, "First response: median", api::v1::COLUMN_KIND_SECONDS);
  Column(t, "First response: p90", api::v1::COLUMN_KIND_SECONDS);
  for (const char* count :
       {"Calls logged", "Calls from the PBX", "Meetings", "E-mails", "Offers sent", "Won", "Lost"}) {
    Column(t, count, api::v1::COLUMN_KIND_COUNT);
  }
  Column(t, "Win rate", api::v1::COLUMN_KIND_RATIO);
  Column(t, "Revenue", api::v1::COLUMN_KIND_MONEY);
  Column(t, "Average deal", api::v1::COLUMN_KIND_MONEY);
  Column(t, "Time with prospects", api::v1::COLUMN_KIND_RATIO);
  Column(t, "Target", api::v1::COLUMN_KIND_RATIO);
  Column(t, "Meets target", api::v1::COLUMN_KIND_TEXT);
  EachPeriod(t, response, dynamics, [&](const api::v1::ScorecardsPeriod& p, auto new_row) {
    for (const auto& r : p.rows()) {
      auto* row = new_row();
      *row->add_cells() = Text(r.manager_id());
      for (int64_t n : {r.leads_assigned(), r.responded(), r.unanswered()}) *row->add_cells() = Number(n);
      *row->add_cells() = Maybe(r.has_first_response_median_seconds(), r.first_response_median_seconds());
      *row->add_cells() = Maybe(r.has_first_response_p90_seconds(), r.first_response_p90_seconds());
      for (int64_t n : {r.calls_logged(), r.calls_pbx(), r.meetings(), r.emails(), r.offers_sent(), r.won(), r.lost()}) {
        *row->add_cells() = Number(n);
      }
      *row->add_cells() = Maybe(r.has_win_rate(), r.win_rate());
      *row->add_cells() = Amount(r.revenue());
      *row->add_cells() = r.has_average_deal() ? Amount(r.average_deal()) : ReportCell();
      *row->add_cells() = Maybe(r.has_time_with_prospects_share(), r.time_with_prospects_share());
      *row->add_cells() = Number(r.time_target());
      const bool judged = r.has_time_with_prospects_share();  // no logged time: nothing to judge
      *row->add_cells() = judged ? Text(r.meets_time_target() ? "yes" : "no") : ReportCell();
    }
  });
  for (const auto& m : response.total().unconverted()) {
    auto money = Money::FromProto(m, "unconverted");
    t.add_notes(StrCat("revenue not converted (no exchange rate): ", money.ok() ? money->ToString() : m.currency()));
  }
  return t;
}

}  // namespace sales::reporting
