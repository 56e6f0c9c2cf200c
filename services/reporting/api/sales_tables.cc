#include "services/reporting/api/sales_tables.h"

#include <cctype>
#include <vector>

#include "absl/strings/str_format.h"
#include "services/reporting/api/report_tables.h"

namespace sales::reporting {
namespace {

using api::v1::ReportTable;

// "Products: 2026-11, by manager, by month (region GR-ATT)".
std::string Title(const std::string& what, const std::string& period, const std::string& by, api::v1::Bucket dynamics,
                  const api::v1::ReportFilters& filters) {
  std::string title = StrCat(what, ": ", period);
  if (!by.empty()) StrAppend(&title, ", by ", by);
  if (dynamics == api::v1::BUCKET_DAY) StrAppend(&title, ", by day");
  if (dynamics == api::v1::BUCKET_WEEK) StrAppend(&title, ", by week");
  if (dynamics == api::v1::BUCKET_MONTH) StrAppend(&title, ", by month");
  if (const std::string f = table::FilterWords(filters); !f.empty()) StrAppend(&title, " (", f, ")");
  return title;
}

ReportTable NewTable(const std::string& report, const std::string& sheet, std::string title, const std::string& period,
                     const std::string& currency, const google::protobuf::Timestamp& as_of) {
  ReportTable t;
  t.set_report(report);
  t.set_sheet_name(sheet);
  t.set_title(std::move(title));
  t.set_period(period);
  t.set_reporting_currency(currency);
  *t.mutable_as_of() = as_of;
  return t;
}

void NoteUnconverted(const google::protobuf::RepeatedPtrField<events::v1::Money>& unconverted, ReportTable& t) {
  for (const auto& m : unconverted) {
    t.add_notes(StrCat("Not converted (no exchange rate on or before the day of the sale): ", table::MoneyWords(m),
                       "; not in the figures."));
  }
}

// The periods a table lists: each bucket with dynamics, else the whole period.
template <typename Response>
auto Periods(const Response& r, api::v1::Bucket dynamics) {
  std::vector<const std::decay_t<decltype(r.total())>*> out;
  if (dynamics == api::v1::BUCKET_UNSPECIFIED) {
    out.push_back(&r.total());
  } else {
    for (const auto& b : r.buckets()) out.push_back(&b);
  }
  return out;
}

// A new row, led by the period's label with dynamics.
api::v1::ReportRow* AddRow(ReportTable& t, api::v1::Bucket dynamics, const events::v1::PlanPeriod& period) {
  auto* row = t.add_rows();
  if (dynamics != api::v1::BUCKET_UNSPECIFIED) *row->add_cells() = table::Text(period.label());
  return row;
}

void PeriodColumn(ReportTable& t, api::v1::Bucket dynamics) {
  if (dynamics != api::v1::BUCKET_UNSPECIFIED) table::AddColumn(t, "Period", api::v1::COLUMN_KIND_DAY);
}

std::string Percent(double ratio) { return absl::StrFormat("%.1f %%", 100 * ratio); }

PlanDimension ByOrCompany(PlanDimension by) {
  return by == events::v1::PLAN_DIMENSION_UNSPECIFIED ? events::v1::PLAN_DIMENSION_COMPANY : by;
}

std::string Capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

ReportTable ToTable(const api::v1::ProductReportResponse& response, const api::v1::ProductReportRequest& request) {
  const std::string& currency = response.reporting_currency();
  ReportTable t = NewTable("products", "Products",
                           Title("Products", response.total().period().label(), "", request.dynamics(), request.filters()),
                           request.period(), currency, response.as_of());
  PeriodColumn(t, request.dynamics());
  table::AddColumn(t, "Product", api::v1::COLUMN_KIND_TEXT);
  table::AddColumn(t, "Revenue", api::v1::COLUMN_KIND_MONEY, currency);
  table::AddColumn(t, "Units", api::v1::COLUMN_KIND_COUNT);
  table::AddColumn(t, "Margin", api::v1::COLUMN_KIND_MONEY, currency);
  table::AddColumn(t, "Lines without cost", api::v1::COLUMN_KIND_COUNT);
  table::AddColumn(t, "Share", api::v1::COLUMN_KIND_RATIO);
  table::AddColumn(t, "Previous revenue", api::v1::COLUMN_KIND_MONEY, currency);
  table::AddColumn(t, "Growth", api::v1::COLUMN_KIND_RATIO);
  for (const auto* p : Periods(response, request.dynamics())) {
    for (const auto& r : p->rows()) {
      auto* row = AddRow(t, request.dynamics(), p->period());
      *row->add_cells() = table::Text(r.label());
      *row->add_cells() = table::Amount(r.revenue());
      *row->add_cells() = table::Number(static_cast<double>(r.units()));
      *row->add_cells() = table::Amount(r.margin());
      *row->add_cells() = table::Number(static_cast<double>(r.lines_without_cost()));
      *row->add_cells() = table::Number(r.share());
      *row->add_cells() = table::Amount(r.previous_revenue());
      *row->add_cells() = r.has_growth() ? table::Number(r.growth()) : table::Empty();
    }
  }
  t.add_notes(StrCat("Growth against ", response.total().previous().label(),
                     request.dynamics() == api::v1::BUCKET_UNSPECIFIED ? "" : " (each bucket against the one before it)",
                     "; none where that period sold nothing."));
  NoteUnconverted(response.total().unconverted(), t);
  return t;
}

ReportTable ToTable(const api::v1::ClientRevenueResponse& response, const api::v1::ClientRevenueRequest& request) {
  const PlanDimension by = ByOrCompany(request.by());
  const bool keyed = by != events::v1::PLAN_DIMENSION_COMPANY;
  const std::string& currency = response.reporting_currency();
  ReportTable t = NewTable("client-revenue", "Client revenue",
                           Title("New and regular client revenue", response.total().period().label(),
                                 keyed ? table::DimensionWord(by) : "", request.dynamics(), request.filters()),
                           request.period(), currency, response.as_of());
  PeriodColumn(t, request.dynamics());
  if (keyed) table::AddColumn(t, Capitalized(table::DimensionWord(by)), api::v1::COLUMN_KIND_TEXT);
  if (by == events::v1::PLAN_DIMENSION_CLIENT) table::AddColumn(t, "Company", api::v1::COLUMN_KIND_TEXT);
  table::AddColumn(t, "New clients", api::v1::COLUMN_KIND_MONEY, currency);
  table::AddColumn(t, "Regular clients", api::v1::COLUMN_KIND_MONEY, currency);
  table::AddColumn(t, "Total", api::v1::COLUMN_KIND_MONEY, currency);
  table::AddColumn(t, "Regular share", api::v1::COLUMN_KIND_RATIO);
  for (const auto* p : Periods(response, request.dynamics())) {
    for (const auto& r : p->rows()) {
      auto* row = AddRow(t, request.dynamics(), p->period());
      if (keyed) *row->add_cells() = table::Text(r.key());
      if (by == events::v1::PLAN_DIMENSION_CLIENT) *row->add_cells() = table::Text(r.label() == r.key() ? "" : r.label());
      *row->add_cells() = table::Amount(r.new_client_amount());
      *row->add_cells() = table::Amount(r.regular_client_amount());
      *row->add_cells() = table::Amount(r.total_amount());
      *row->add_cells() = r.total_amount().units() > 0 ? table::Number(r.regular_share()) : table::Empty();
    }
  }
  t.add_notes("New: the first deal that made a lead a client. Regular: every later sale to a client (repeat "
              "orders, renewals, further accepted offers).");
  NoteUnconverted(response.total().unconverted(), t);
  return t;
}

ReportTable ToTable(const api::v1::ConcentrationResponse& response, const api::v1::ConcentrationRequest& request) {
  const std::string& currency = response.reporting_currency();
  ReportTable t = NewTable("concentration", "Concentration",
                           Title("Client concentration", response.total().period().label(), "", request.dynamics(),
                                 request.filters()),
                           request.period(), currency, response.as_of());
  PeriodColumn(t, request.dynamics());
  table::AddColumn(t, "Window (12 months)", api::v1::COLUMN_KIND_DAY);
  table::AddColumn(t, "Revenue", api::v1::COLUMN_KIND_MONEY, currency);
  table::AddColumn(t, "Clients", api::v1::COLUMN_KIND_COUNT);
  table::AddColumn(t, "Largest client", api::v1::COLUMN_KIND_RATIO);
  table::AddColumn(t, "Top 5", api::v1::COLUMN_KIND_RATIO);
  table::AddColumn(t, "HHI", api::v1::COLUMN_KIND_DECIMAL);
  table::AddColumn(t, "Concentrated", api::v1::COLUMN_KIND_TEXT);
  table::AddColumn(t, "HHI change", api::v1::COLUMN_KIND_DECIMAL);
  for (const auto* c : Periods(response, request.dynamics())) {
    auto* row = AddRow(t, request.dynamics(), c->period());
    *row->add_cells() = table::Text(StrCat(c->window().first_day(), "..", c->window().last_day()));
    *row->add_cells() = table::Amount(c->revenue());
    *row->add_cells() = table::Number(static_cast<double>(c->clients()));
    *row->add_cells() = table::Number(c->largest_share());
    *row->add_cells() = table::Number(c->top5_share());
    *row->add_cells() = table::Number(c->hhi());
    *row->add_cells() = table::Text(c->concentrated() ? "yes" : "no");
    *row->add_cells() = table::Number(c->hhi_change());
  }
  t.add_notes(StrCat("Concentrated: HHI above ", response.threshold(),
                     " (0-10,000: the sum of the squared revenue shares in %; above 0 change: more dependent)."));
  std::string largest;
  for (const auto& c : response.total().largest()) {
    StrAppend(&largest, largest.empty() ? "" : ", ", c.label(), " ", Percent(c.share()));
  }
  if (!largest.empty()) {
    t.add_notes(StrCat("Largest clients (", response.total().window().first_day(), "..",
                       response.total().window().last_day(), "): ", largest, "."));
  }
  NoteUnconverted(response.total().unconverted(), t);
  return t;
}

ReportTable ToTable(const api::v1::InboundCallsResponse& response, const api::v1::InboundCallsRequest& request) {
  ReportTable t = NewTable("inbound-calls", "Inbound calls",
                           Title("Inbound calls", response.total().period().label(), "", request.dynamics(),
                                 request.filters()),
                           request.period(), "", response.as_of());
  PeriodColumn(t, request.dynamics());
  table::AddColumn(t, "Manager", api::v1::COLUMN_KIND_TEXT);
  for (const char* name : {"Inbound", "Answered"}) table::AddColumn(t, name, api::v1::COLUMN_KIND_COUNT);
  table::AddColumn(t, "Answered share", api::v1::COLUMN_KIND_RATIO);
  for (const char* name : {"Missed", "Returned", "Not returned", "Pending", "Without number"}) {
    table::AddColumn(t, name, api::v1::COLUMN_KIND_COUNT);
  }
  const auto add = [&](const events::v1::PlanPeriod& period, const std::string& manager,
                       const api::v1::InboundCallsRow& r) {
    auto* row = AddRow(t, request.dynamics(), period);
    *row->add_cells() = table::Text(manager);
    *row->add_cells() = table::Number(static_cast<double>(r.inbound()));
    *row->add_cells() = table::Number(static_cast<double>(r.answered()));
    *row->add_cells() = r.inbound() > 0 ? table::Number(r.answered_share()) : table::Empty();
    for (int64_t n : {r.missed(), r.returned(), r.not_returned(), r.pending(), r.without_number()}) {
      *row->add_cells() = table::Number(static_cast<double>(n));
    }
  };
  for (const auto* p : Periods(response, request.dynamics())) {
    for (const auto& r : p->rows()) add(p->period(), r.manager_id().empty() ? "(no manager)" : r.manager_id(), r);
    add(p->period(), "(all)", p->total());
  }
  t.add_notes(StrCat("Returned: within ", response.return_hours(),
                     " h an outbound call to the number or an answered call from it. Pending: those hours are not "
                     "over yet."));
  return t;
}

ReportTable ToTable(const api::v1::PipelineResponse& response, const api::v1::PipelineRequest& request) {
  const PlanDimension by = ByOrCompany(request.by());
  const bool keyed = by != events::v1::PLAN_DIMENSION_COMPANY;
  const std::string& currency = response.reporting_currency();
  ReportTable t = NewTable("pipeline", "Pipeline",
                           Title("Pipeline", response.total().period().label(), keyed ? table::DimensionWord(by) : "",
                                 request.dynamics(), request.filters()),
                           request.period(), currency, response.as_of());
  PeriodColumn(t, request.dynamics());
  if (keyed) table::AddColumn(t, Capitalized(table::DimensionWord(by)), api::v1::COLUMN_KIND_TEXT);
  if (by == events::v1::PLAN_DIMENSION_CLIENT) table::AddColumn(t, "Company", api::v1::COLUMN_KIND_TEXT);
  table::AddColumn(t, "Stage", api::v1::COLUMN_KIND_TEXT);
  table::AddColumn(t, "Offers", api::v1::COLUMN_KIND_COUNT);
  table::AddColumn(t, "Value", api::v1::COLUMN_KIND_MONEY, currency);
  table::AddColumn(t, "Probability", api::v1::COLUMN_KIND_RATIO);
  table::AddColumn(t, "Weighted", api::v1::COLUMN_KIND_MONEY, currency);
  for (const auto* p : Periods(response, request.dynamics())) {
    for (const auto& r : p->rows()) {
      auto* row = AddRow(t, request.dynamics(), p->period());
      if (keyed) *row->add_cells() = table::Text(r.key());
      if (by == events::v1::PLAN_DIMENSION_CLIENT) *row->add_cells() = table::Text(r.label() == r.key() ? "" : r.label());
      std::string stage = api::v1::PipelineStage_Name(r.stage());
      *row->add_cells() = table::Text(stage.substr(std::string("PIPELINE_STAGE_").size()));
      *row->add_cells() = table::Number(static_cast<double>(r.offers()));
      *row->add_cells() = table::Amount(r.value());
      *row->add_cells() = table::Number(r.probability());
      *row->add_cells() = table::Amount(r.weighted_value());
    }
  }
  for (const auto& s : response.total().probabilities()) {
    const std::string stage = api::v1::PipelineStage_Name(s.stage()).substr(std::string("PIPELINE_STAGE_").size());
    t.add_notes(StrCat(stage, ": ", s.configured() ? StrCat("configured ", Percent(s.configured_probability())) : "not configured",
                       "; measured ",
                       s.measured() ? StrCat(Percent(s.measured_probability()), " (", s.won(), " of ", s.closed(),
                                             " closed in 365 days won)")
                                    : "-",
                       "; used ", Percent(s.probability()), "."));
  }
  NoteUnconverted(response.total().unconverted(), t);
  return t;
}

}  // namespace sales::reporting
