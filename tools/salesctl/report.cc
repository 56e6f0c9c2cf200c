#include "tools/salesctl/report.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "common/base/text.h"
#include "common/money/money.h"
#include "common/unicode/unicode.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace sales::salesctl {
namespace {

using api::v1::ReportCell;
using api::v1::ReportColumn;

// ---- The reports salesctl knows: one line each in kReports ----

// The flags every report shares, as given (empty: not given).
struct CommonFlags {
  std::string period, metric, by, dynamics;
  std::optional<absl::Time> as_of;
  api::v1::ReportFilters filters;
};

// A choice given on the command line as a word ("offers-sent", "manager") or as the enum's name.
template <typename Enum>
StatusOr<Enum> Choice(const std::string& flag, const std::string& value, const std::string& enum_prefix,
                      bool (*parse)(const std::string&, Enum*), const std::string& choices) {
  Enum e;
  std::string name = absl::AsciiStrToUpper(absl::StrReplaceAll(value, {{"-", "_"}}));
  if (name.rfind(enum_prefix, 0) != 0) name = enum_prefix + name;
  if (parse(name, &e) && name != enum_prefix + "UNSPECIFIED") return e;
  return absl::InvalidArgumentError(StrCat("--", flag, "=", value, ": say ", choices));
}

StatusOr<events::v1::PlanDimension> By(const CommonFlags& f, const std::string& choices) {
  return Choice<events::v1::PlanDimension>("by", f.by.empty() ? "company" : f.by, "PLAN_DIMENSION_",
                                           events::v1::PlanDimension_Parse, choices);
}

// The fields every report request has: period (required), dynamics, as-of, filters.
template <typename Request>
Status SetCommon(const CommonFlags& f, Request* r) {
  if (f.period.empty()) return absl::InvalidArgumentError("--period is required (e.g. --period=2026-11)");
  r->set_period(f.period);
  if (!f.dynamics.empty()) {
    ASSIGN_OR_RETURN(api::v1::Bucket b, Choice<api::v1::Bucket>("dynamics", f.dynamics, "BUCKET_",
                                                               api::v1::Bucket_Parse, "day, week or month"));
    r->set_dynamics(b);
  }
  if (f.as_of) {
    r->mutable_as_of()->set_seconds(absl::ToUnixSeconds(*f.as_of));
    r->mutable_as_of()->set_nanos(static_cast<int32_t>((*f.as_of - absl::FromUnixSeconds(absl::ToUnixSeconds(*f.as_of))) /
                                                       absl::Nanoseconds(1)));
  }
  *r->mutable_filters() = f.filters;
  return absl::OkStatus();
}

StatusOr<api::v1::ReportRequest> PlanVsActual(const CommonFlags& f) {
  api::v1::ReportRequest out;
  auto* r = out.mutable_plan_vs_actual();
  RETURN_IF_ERROR(SetCommon(f, r));
  ASSIGN_OR_RETURN(events::v1::PlanMetric metric,
                   Choice<events::v1::PlanMetric>("metric", f.metric.empty() ? "revenue" : f.metric, "PLAN_METRIC_",
                                                  events::v1::PlanMetric_Parse,
                                                  "revenue, margin, new-clients, offers-sent, calls or meetings"));
  r->set_metric(metric);
  ASSIGN_OR_RETURN(events::v1::PlanDimension by, By(f, "company, manager, region, product, client or source"));
  r->set_by(by);
  return out;
}

constexpr char kFunnelDimensions[] = "company, source, region, product or manager";

StatusOr<api::v1::ReportRequest> Funnel(const CommonFlags& f) {
  api::v1::ReportRequest out;
  RETURN_IF_ERROR(SetCommon(f, out.mutable_funnel()));
  ASSIGN_OR_RETURN(events::v1::PlanDimension by, By(f, kFunnelDimensions));
  out.mutable_funnel()->set_by(by);
  return out;
}

StatusOr<api::v1::ReportRequest> CycleTimes(const CommonFlags& f) {
  api::v1::ReportRequest out;
  RETURN_IF_ERROR(SetCommon(f, out.mutable_cycle_times()));
  ASSIGN_OR_RETURN(events::v1::PlanDimension by, By(f, kFunnelDimensions));
  out.mutable_cycle_times()->set_by(by);
  return out;
}

StatusOr<api::v1::ReportRequest> LostReasons(const CommonFlags& f) {
  api::v1::ReportRequest out;
  RETURN_IF_ERROR(SetCommon(f, out.mutable_lost_reasons()));
  return out;
}

StatusOr<api::v1::ReportRequest> ScorecardsReport(const CommonFlags& f) {
  api::v1::ReportRequest out;
  RETURN_IF_ERROR(SetCommon(f, out.mutable_scorecards()));
  return out;
}

// The fields of the other reports' requests: a period, dynamics, as-of and filters, and `by` for
// the reports keyed by a dimension. --metric is plan against actual's.
template <typename Request>
Status FillRequest(const CommonFlags& f, const std::string& report, Request* r) {
  if (!f.metric.empty()) return absl::InvalidArgumentError(StrCat("--metric is plan-vs-actual's, not ", report, "'s"));
  RETURN_IF_ERROR(SetCommon(f, r));
  if constexpr (requires { r->set_by(events::v1::PLAN_DIMENSION_COMPANY); }) {
    ASSIGN_OR_RETURN(events::v1::PlanDimension by, By(f, "company, manager, region, product, client or source"));
    r->set_by(by);
  } else if (!f.by.empty()) {
    return absl::InvalidArgumentError(StrCat("--by does not apply to ", report));
  }
  return absl::OkStatus();
}

StatusOr<api::v1::ReportRequest> Products(const CommonFlags& f) {
  api::v1::ReportRequest out;
  RETURN_IF_ERROR(FillRequest(f, "products", out.mutable_products()));
  return out;
}
StatusOr<api::v1::ReportRequest> ClientRevenue(const CommonFlags& f) {
  api::v1::ReportRequest out;
  RETURN_IF_ERROR(FillRequest(f, "client-revenue", out.mutable_client_revenue()));
  return out;
}
StatusOr<api::v1::ReportRequest> Concentration(const CommonFlags& f) {
  api::v1::ReportRequest out;
  RETURN_IF_ERROR(FillRequest(f, "concentration", out.mutable_concentration()));
  return out;
}
StatusOr<api::v1::ReportRequest> InboundCalls(const CommonFlags& f) {
  api::v1::ReportRequest out;
  RETURN_IF_ERROR(FillRequest(f, "inbound-calls", out.mutable_inbound_calls()));
  return out;
}
StatusOr<api::v1::ReportRequest> Pipeline(const CommonFlags& f) {
  api::v1::ReportRequest out;
  RETURN_IF_ERROR(FillRequest(f, "pipeline", out.mutable_pipeline()));
  return out;
}

struct ReportName {
  const char* name;
  StatusOr<api::v1::ReportRequest> (*request)(const CommonFlags&);
  const char* help;
};

// Every report `salesctl report NAME` knows. Add a report here (and its request function above).
constexpr ReportName kReports[] = {
    {"plan-vs-actual", PlanVsActual,
     "actual, target, attainment and forecast per key (--metric, default revenue; --by, default company)"},
    {"funnel", Funnel, "the cohort captured in the period through each stage, and what happened in it (--by)"},
    {"cycle-times", CycleTimes, "median and p90 from capture to qualified, first offer, acceptance, won (--by)"},
    {"lost-reasons", LostReasons, "disqualified leads and rejected offers by reason"},
    {"scorecards", ScorecardsReport, "per manager: leads, first response, calls, meetings, offers, won, revenue, the 80 % line"},
    {"products", Products, "revenue, units, margin, share and growth per product"},
    {"client-revenue", ClientRevenue, "new clients' first deals against regular clients' revenue (--by)"},
    {"concentration", Concentration, "largest client and top 5 share of the trailing 12 months, HHI, the flag"},
    {"inbound-calls", InboundCalls, "the PBX's inbound calls per manager: answered share, missed calls returned"},
    {"pipeline", Pipeline, "open offers by stage, win probabilities, weighted value (--by)"},
};

// ---- Formatting figures for the terminal ----

std::string WithThousands(const std::string& digits) {
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// `v` rounded to `decimals`, with thousands separators: "12,345.68".
std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(v));
  std::string s = buf;
  const size_t dot = s.find('.');
  std::string out = WithThousands(s.substr(0, dot)) + (dot == std::string::npos ? "" : s.substr(dot));
  const bool zero = out.find_first_not_of("0.,") == std::string::npos;
  return (v < 0 && !zero ? "-" : "") + out;
}

std::string MoneyText(const events::v1::Money& m) {
  const int exponent = CurrencyExponent(m.currency()).value_or(2);
  const uint64_t magnitude = m.units() < 0 ? 0 - static_cast<uint64_t>(m.units()) : static_cast<uint64_t>(m.units());
  uint64_t scale = 1;
  for (int i = 0; i < exponent; ++i) scale *= 10;
  std::string out = (m.units() < 0 ? "-" : "") + WithThousands(StrCat(magnitude / scale));
  if (exponent > 0) {
    const std::string fraction = StrCat(magnitude % scale);
    StrAppend(&out, ".", std::string(exponent - fraction.size(), '0'), fraction);
  }
  return out;
}

std::string Duration(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  const int64_t s = std::llround(std::fabs(seconds));
  const std::string sign = seconds < 0 && s > 0 ? "-" : "";
  char buf[64];
  if (s >= 86400) {
    std::snprintf(buf, sizeof buf, "%lldd %02lldh", static_cast<long long>(s / 86400), static_cast<long long>(s % 86400 / 3600));
  } else if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh %02lldm", static_cast<long long>(s / 3600), static_cast<long long>(s % 3600 / 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm %02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  }
  return sign + buf;
}

bool IsFigure(const ReportColumn& c) {
  switch (c.kind()) {
    case api::v1::COLUMN_KIND_COUNT:
    case api::v1::COLUMN_KIND_DECIMAL:
    case api::v1::COLUMN_KIND_MONEY:
    case api::v1::COLUMN_KIND_RATIO:
    case api::v1::COLUMN_KIND_SECONDS:
      return true;
    default:
      return false;
  }
}

// One line of text safe for a terminal: line breaks and tabs as spaces, other control characters
// (an escape sequence in a company's name) shown escaped, not sent.
std::string Safe(const std::string& text) { return EscapeForDisplay(unicode::SingleLine(text)); }

std::string CellText(const ReportCell& cell, const ReportColumn& column) {
  switch (cell.value_case()) {
    case ReportCell::kText:
      return Safe(cell.text());
    case ReportCell::kMoney: {
      std::string out = MoneyText(cell.money());
      if (cell.money().currency() != column.currency()) StrAppend(&out, " ", Safe(cell.money().currency()));
      return out;
    }
    case ReportCell::kNumber:
      switch (column.kind()) {
        case api::v1::COLUMN_KIND_RATIO: return Fixed(cell.number() * 100, 1) + " %";
        case api::v1::COLUMN_KIND_COUNT: return Fixed(cell.number(), 0);
        case api::v1::COLUMN_KIND_SECONDS: return Duration(cell.number());
        default: return Fixed(cell.number(), 2);
      }
    case ReportCell::VALUE_NOT_SET:
      return IsFigure(column) ? "-" : "";
  }
  return "";
}

std::string Header(const ReportColumn& c) {
  if (c.kind() == api::v1::COLUMN_KIND_MONEY && !c.currency().empty()) return StrCat(Safe(c.name()), " (", Safe(c.currency()), ")");
  return Safe(c.name());
}

std::string Pad(const std::string& text, int width, bool right) {
  const std::string fill(static_cast<size_t>(std::max(0, width - unicode::DisplayWidth(text))), ' ');
  return right ? fill + text : text + fill;
}

// A field violation's flag, when it has one: "plan_vs_actual.filters.source" -> "--source".
std::string FlagOf(const std::string& field) {
  const std::string last = field.substr(field.rfind('.') == std::string::npos ? 0 : field.rfind('.') + 1);
  static const std::pair<const char*, const char*> kFlags[] = {
      {"period", "--period"},     {"metric", "--metric"},   {"by", "--by"},         {"dynamics", "--dynamics"},
      {"as_of", "--as-of"},       {"manager_id", "--manager"}, {"region", "--region"}, {"product_code", "--product"},
      {"client_id", "--client"},  {"source", "--source"},   {"format", "--csv/--xlsx"}};
  for (const auto& [name, flag] : kFlags) {
    if (last == name) return flag;
  }
  return "";
}

}  // namespace

std::string ReportUsage() {
  std::string out =
      "  report NAME --period=P [--metric=M] [--by=DIM] [--as-of=RFC3339] [--dynamics=day|week|month]\n"
      "              [--manager=ID] [--region=R] [--product=CODE] [--client=ID] [--source=S]\n"
      "              [--csv [--bom] | --xlsx[=FILE] | --json]\n"
      "      A report of the reporting service (docs/REPORTS.md) as an aligned table; --csv prints\n"
      "      CSV (UTF-8; --bom starts it with a byte-order mark for Excel), --xlsx writes an Excel\n"
      "      workbook (FILE, or the name the service gives, e.g. plan-vs-actual-2026-11.xlsx),\n"
      "      --json prints the table as JSON. --as-of-store=NAME answers from an as-of store\n"
      "      (salesctl asof). The target defaults to $SALES_REPORTING_TARGET, else\n"
      "      127.0.0.1:50054. Periods: 2026-11-26, 2026-W48, 2026-11, 2026-Q4, 2026,\n"
      "      2026-10-01..2026-12-31. Metrics: revenue, margin, new-clients, offers-sent, calls,\n"
      "      meetings. DIM: company, manager, region, product, client, source. Reports:\n";
  for (const auto& r : kReports) StrAppend(&out, "        ", r.name, "  ", r.help, "\n");
  return out;
}

StatusOr<ReportArgs> ParseReportArgs(const std::vector<std::string>& args, const std::string& default_target) {
  ReportArgs out;
  out.target = default_target;
  CommonFlags f;
  int outputs = 0;
  for (const std::string& a : args) {
    const size_t eq = a.find('=');
    const std::string flag = a.substr(0, eq);
    const std::optional<std::string> value = eq == std::string::npos ? std::nullopt : std::optional(a.substr(eq + 1));
    const auto need = [&]() -> StatusOr<std::string> {
      if (!value || value->empty()) return absl::InvalidArgumentError(StrCat(flag, " takes a value: ", flag, "=..."));
      return *value;
    };
    if (a.rfind("--", 0) != 0) {
      if (!out.name.empty()) return absl::InvalidArgumentError(StrCat("one report at a time (", out.name, ", ", a, ")"));
      out.name = a;
    } else if (flag == "--target") {
      ASSIGN_OR_RETURN(out.target, need());
    } else if (flag == "--as-of-store") {
      ASSIGN_OR_RETURN(out.as_of_store, need());
    } else if (flag == "--period") {
      ASSIGN_OR_RETURN(f.period, need());
    } else if (flag == "--metric") {
      ASSIGN_OR_RETURN(f.metric, need());
    } else if (flag == "--by") {
      ASSIGN_OR_RETURN(f.by, need());
    } else if (flag == "--dynamics") {
      ASSIGN_OR_RETURN(f.dynamics, need());
    } else if (flag == "--as-of") {
      ASSIGN_OR_RETURN(std::string text, need());
      absl::Time t;
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
        return absl::InvalidArgumentError(
            StrCat("--as-of=", text, ": an RFC 3339 time, e.g. 2026-11-15T00:00:00Z or 2026-11-15T09:30:00+02:00"));
      }
      f.as_of = t;
    } else if (flag == "--manager") {
      ASSIGN_OR_RETURN(*f.filters.mutable_manager_id(), need());
    } else if (flag == "--region") {
      ASSIGN_OR_RETURN(*f.filters.mutable_region(), need());
    } else if (flag == "--product") {
      ASSIGN_OR_RETURN(*f.filters.mutable_product_code(), need());
    } else if (flag == "--client") {
      ASSIGN_OR_RETURN(*f.filters.mutable_client_id(), need());
    } else if (flag == "--source") {
      ASSIGN_OR_RETURN(std::string source, need());
      source = absl::AsciiStrToUpper(absl::StrReplaceAll(source, {{"-", "_"}}));
      f.filters.set_source(source.rfind("LEAD_SOURCE_", 0) == 0 ? source : "LEAD_SOURCE_" + source);
    } else if (a == "--csv") {
      out.output = ReportArgs::Output::kCsv;
      ++outputs;
    } else if (a == "--bom") {
      out.byte_order_mark = true;
    } else if (flag == "--xlsx") {
      out.output = ReportArgs::Output::kXlsx;
      out.xlsx_path = value.value_or("");
      ++outputs;
    } else if (a == "--json") {
      out.output = ReportArgs::Output::kJson;
      ++outputs;
    } else {
      return absl::InvalidArgumentError(StrCat("unknown flag ", a, " for report"));
    }
  }
  if (outputs > 1) return absl::InvalidArgumentError("say one of --csv, --xlsx and --json");
  if (out.byte_order_mark && out.output != ReportArgs::Output::kCsv) {
    return absl::InvalidArgumentError("--bom goes with --csv");
  }
  std::string known;
  for (const auto& r : kReports) {
    if (out.name == r.name) {
      ASSIGN_OR_RETURN(out.request, r.request(f));
      return out;
    }
    StrAppend(&known, known.empty() ? "" : ", ", r.name);
  }
  if (out.name.empty()) return absl::InvalidArgumentError(StrCat("which report? one of: ", known));
  return absl::InvalidArgumentError(StrCat("unknown report \"", out.name, "\"; one of: ", known));
}

std::string RenderTable(const api::v1::ReportTable& t) {
  const int n = t.columns_size();
  std::vector<std::string> headers(n);
  std::vector<std::vector<std::string>> cells;
  std::vector<int> widths(n, 0);
  std::vector<bool> right(n);
  for (int c = 0; c < n; ++c) {
    headers[c] = Header(t.columns(c));
    widths[c] = unicode::DisplayWidth(headers[c]);
    right[c] = IsFigure(t.columns(c));
  }
  for (const auto& r : t.rows()) {
    auto& line = cells.emplace_back(n);
    for (int c = 0; c < n; ++c) {
      line[c] = c < r.cells_size() ? CellText(r.cells(c), t.columns(c)) : (right[c] ? "-" : "");
      widths[c] = std::max(widths[c], unicode::DisplayWidth(line[c]));
    }
  }
  std::string out = Safe(t.title()) + "\n";
  std::string as_of;
  if (t.has_as_of()) {
    const absl::Time time = absl::FromUnixSeconds(t.as_of().seconds()) + absl::Nanoseconds(t.as_of().nanos());
    as_of = StrCat("As of ", absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone()));
  }
  if (!t.reporting_currency().empty()) StrAppend(&as_of, as_of.empty() ? "Figures" : "; figures", " in ", Safe(t.reporting_currency()));
  if (!as_of.empty()) StrAppend(&out, as_of, "\n");
  out += "\n";
  // psql's layout: " a | b ", a rule of '-' joined by '+'.
  const auto line = [&](const std::vector<std::string>& values) {
    std::string s;
    for (int c = 0; c < n; ++c) StrAppend(&s, c ? " | " : " ", Pad(values[c], widths[c], right[c]));
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  out += line(headers);
  for (int c = 0; c < n; ++c) StrAppend(&out, c ? "+" : "", std::string(widths[c] + 2, '-'));
  out += "\n";
  for (const auto& values : cells) out += line(values);
  if (t.rows_size() == 0) out += "(no rows)\n";
  if (t.notes_size() > 0) out += "\n";
  for (const auto& note : t.notes()) StrAppend(&out, "Note: ", Safe(note), "\n");
  return out;
}

std::string DescribeFailure(const ::grpc::Status& status) {
  std::string out = StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())));
  google::rpc::Status details;
  google::rpc::BadRequest bad_request;
  std::vector<std::string> lines;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const auto& d : details.details()) {
      if (!d.UnpackTo(&bad_request)) continue;
      for (const auto& v : bad_request.field_violations()) {
        const std::string flag = FlagOf(v.field());
        lines.push_back(StrCat("  ", Safe(v.field()), flag.empty() ? "" : " (" + flag + ")", ": ", Safe(v.description())));
      }
    }
  }
  if (lines.empty()) return StrCat(out, ": ", Safe(status.error_message()));
  for (const auto& l : lines) StrAppend(&out, "\n", l);
  return out;
}

int RunReport(const ReportArgs& args, api::v1::Reporting::StubInterface& stub) {
  const auto context = [&args](::grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    ctx->AddMetadata("x-actor", "salesctl");
    if (!args.as_of_store.empty()) ctx->AddMetadata("x-as-of-store", args.as_of_store);
  };
  const auto failed = [&](const char* method, const ::grpc::Status& s) {
    std::cerr << "salesctl: report " << args.name << ": " << method << " at " << args.target << " failed: "
              << DescribeFailure(s) << "\n";
    return 1;
  };
  if (args.output == ReportArgs::Output::kTable || args.output == ReportArgs::Output::kJson) {
    api::v1::ReportTable table;
    ::grpc::ClientContext ctx;
    context(&ctx);
    if (auto s = stub.GetReportTable(&ctx, args.request, &table); !s.ok()) return failed("GetReportTable", s);
    if (args.output == ReportArgs::Output::kTable) {
      std::cout << RenderTable(table);
      return 0;
    }
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    std::string json;
    if (auto s = google::protobuf::util::MessageToJsonString(table, &json, options); !s.ok()) {
      std::cerr << "salesctl: report " << args.name << ": " << s.ToString() << "\n";
      return 1;
    }
    std::cout << json;
    return 0;
  }
  api::v1::ExportReportRequest request;
  *request.mutable_report() = args.request;
  request.set_format(args.output == ReportArgs::Output::kCsv ? api::v1::EXPORT_FORMAT_CSV : api::v1::EXPORT_FORMAT_XLSX);
  request.set_byte_order_mark(args.byte_order_mark);
  api::v1::ExportReportResponse file;
  ::grpc::ClientContext ctx;
  context(&ctx);
  if (auto s = stub.ExportReport(&ctx, request, &file); !s.ok()) return failed("ExportReport", s);
  if (args.output == ReportArgs::Output::kCsv) {
    std::cout.write(file.content().data(), static_cast<std::streamsize>(file.content().size()));
    std::cout.flush();
    return std::cout ? 0 : 1;
  }
  // The service's name for the file, without any folder in it (it is written here).
  std::string path = args.xlsx_path;
  if (path.empty()) {
    path = std::filesystem::path(file.file_name()).filename().string();
    if (path.empty() || path == "." || path == "..") path = "report.xlsx";
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(file.content().data(), static_cast<std::streamsize>(file.content().size()));
  out.close();
  if (!out) {
    std::cerr << "salesctl: report " << args.name << ": cannot write " << path << "\n";
    return 1;
  }
  std::cout << "Wrote " << path << " (" << WithThousands(StrCat(file.content().size())) << " bytes)\n";
  return 0;
}

}  // namespace sales::salesctl
