#include "services/reporting/dashboard/dashboard_http.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "services/reporting/api/export.h"
#include "services/reporting/dashboard/report_params.h"

namespace sales::reporting::dashboard {
namespace {

constexpr char kPrefix[] = "/dashboard";
// The pages; each is index.html, whose script draws the page the path names.
const char* const kPages[] = {"", "overview", "managers", "products", "clients", "lost-reasons"};
// What the page needs from web_dir (echarts.min.js is copied there from npm by the build).
const char* const kFiles[] = {"index.html", "dashboard.js", "dashboard.css", "echarts.min.js"};

std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()); }

HttpResponse Json(int status, std::string body) { return JsonResponse(status, std::move(body)); }

bool SafeFileName(const std::string& f) {
  if (f.empty() || f[0] == '.') return false;
  for (char c : f) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
  }
  return true;
}

std::string MediaType(const std::string& file) {
  if (absl::EndsWith(file, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(file, ".js")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(file, ".css")) return "text/css; charset=utf-8";
  if (absl::EndsWith(file, ".png")) return "image/png";
  if (absl::EndsWith(file, ".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("no file ", path.string()));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::string ErrorJson(const Status& status) {
  if (status.code() == absl::StatusCode::kInvalidArgument && FieldViolations(status).empty()) {
    return sales::ErrorJson(InvalidField("request", std::string(status.message())));
  }
  return sales::ErrorJson(status, [](const std::string& field) { return ParamName(field); });
}

Dashboard::Dashboard(Reports reports, const projection::ProjectionRunner* runner, const Clock* clock,
                     DashboardOptions options)
    : reports_(reports), runner_(runner), clock_(clock), options_(std::move(options)) {}

Status Dashboard::CheckFiles() const {
  for (const char* f : kFiles) {
    if (!std::filesystem::is_regular_file(std::filesystem::path(options_.web_dir) / f)) {
      return absl::FailedPreconditionError(
          StrCat("the dashboard's ", f, " is not in ", options_.web_dir,
                 " (--dashboard-dir; the build copies it there, the charting library after `make deps`)"));
    }
  }
  return absl::OkStatus();
}

HttpResponse Dashboard::Handle(const HttpRequest& request) const {
  const std::string rest = request.path.substr(std::string_view(kPrefix).size());  // "", "/", "/managers", ...
  if (rest.empty()) {
    HttpResponse r;
    r.status = 302;
    r.headers.push_back({"Location", StrCat(kPrefix, "/", request.query.empty() ? "" : "?", request.query)});
    return r;
  }
  if (rest == "/api/report") return Report(request, "json");
  if (rest == "/api/report.csv") return Report(request, "csv");
  if (rest == "/api/report.xlsx") return Report(request, "xlsx");
  if (rest == "/api/status") return Freshness();
  if (absl::StartsWith(rest, "/api/")) {
    return Json(404, ErrorJson(absl::NotFoundError(
                         StrCat("no ", request.path, "; try /dashboard/api/report, report.csv, report.xlsx or status"))));
  }
  if (absl::StartsWith(rest, "/static/")) return Static(rest.substr(8));
  for (const char* page : kPages) {
    if (rest == StrCat("/", page)) return Page();
  }
  HttpResponse r;
  r.status = 404;
  r.body = "no such page; the dashboard's pages: /dashboard/, /dashboard/managers, /dashboard/products, "
           "/dashboard/clients, /dashboard/lost-reasons\n";
  return r;
}

HttpResponse Dashboard::Page() const { return Static("index.html"); }

HttpResponse Dashboard::Static(const std::string& file) const {
  HttpResponse r;
  if (!SafeFileName(file)) {
    r.status = 404;
    r.body = "not found\n";
    return r;
  }
  if (Status s = CheckFiles(); !s.ok()) {
    r.status = 503;
    r.body = StrCat(s.message(), "\n");
    return r;
  }
  StatusOr<std::string> body = ReadFile(std::filesystem::path(options_.web_dir) / file);
  if (!body.ok()) {
    r.status = 404;
    r.body = "not found\n";
    return r;
  }
  r.content_type = MediaType(file);
  r.body = std::move(*body);
  // The page and its script change with the build; the library is pinned (and large).
  r.headers.push_back({"Cache-Control", file == "echarts.min.js" ? "max-age=3600" : "no-cache"});
  return r;
}

HttpResponse Dashboard::Report(const HttpRequest& request, const std::string& format) const {
  StatusOr<api::v1::ReportRequest> report =
      ReportRequestFromParams(request, format == "csv" ? std::vector<std::string>{"bom"} : std::vector<std::string>{});
  if (!report.ok()) return Json(HttpStatusOf(report.status()), ErrorJson(report.status()));
  CsvOptions csv;
  const std::string bom = request.Param("bom");
  if (bom == "1" || bom == "true") {
    csv.byte_order_mark = true;
  } else if (!bom.empty() && bom != "0" && bom != "false") {
    return Json(400, ErrorJson(InvalidField("bom", StrCat("\"", bom, "\" is not 1 or 0"))));
  }
  StatusOr<api::v1::ReportTable> table = BuildTable(reports_, *report);
  if (!table.ok()) return Json(HttpStatusOf(table.status()), ErrorJson(table.status()));
  // Some tables do not name their report and period (the funnel's, the scorecards'): the file
  // name needs both ("funnel-2026-11.csv", not "report.csv").
  if (table->report().empty()) table->set_report(request.Param("name"));
  if (table->period().empty()) table->set_period(request.Param("period"));
  if (format == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions o;
    if (auto s = google::protobuf::util::MessageToJsonString(*table, &json, o); !s.ok()) {
      return Json(500, ErrorJson(absl::InternalError(std::string(s.message()))));
    }
    return Json(200, json);
  }
  StatusOr<api::v1::ExportReportResponse> file =
      Export(*table, format == "csv" ? api::v1::EXPORT_FORMAT_CSV : api::v1::EXPORT_FORMAT_XLSX, csv);
  if (!file.ok()) return Json(HttpStatusOf(file.status()), ErrorJson(file.status()));
  HttpResponse r;
  r.content_type = file->media_type();
  r.body = file->content();
  r.headers.push_back({"Content-Disposition", StrCat("attachment; filename=\"", file->file_name(), "\"")});
  r.headers.push_back({"Cache-Control", "no-store"});
  return r;
}

HttpResponse Dashboard::Freshness() const {
  int64_t lag = 0, position = 0;
  bool lag_known = true;
  for (const projection::PartitionProgress& p : runner_->Progress()) {
    position += p.next_offset;
    if (p.end_offset < 0) {
      lag_known = false;
    } else {
      lag += std::max<int64_t>(0, p.end_offset - p.next_offset);
    }
  }
  const std::optional<absl::Time> last = runner_->LastAppliedAt();
  const Status health = runner_->Health();
  return Json(200, StrCat("{\"now\":", JsonString(Rfc3339(clock_->Now())),
                          ",\"last_event_at\":", last ? JsonString(Rfc3339(*last)) : "null",
                          ",\"position\":", position, ",\"lag\":", lag_known ? StrCat(lag) : "null",
                          ",\"caught_up\":", runner_->caught_up() ? "true" : "false",
                          ",\"health\":", JsonString(health.ok() ? std::string() : std::string(health.message())),
                          ",\"reporting_currency\":", JsonString(options_.reporting_currency),
                          ",\"time_zone\":", JsonString(options_.time_zone),
                          ",\"concentration_threshold\":", options_.concentration_threshold,
                          ",\"client_support_url\":", JsonString(options_.client_support_url),
                          ",\"lead_acquisition_url\":", JsonString(options_.lead_acquisition_url), "}\n"));
}

}  // namespace sales::reporting::dashboard
