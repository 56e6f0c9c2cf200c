// The sales dashboard over the reporting service's HTTP port (docs/DESIGN.md, "The dashboard"):
// read-only pages with charts, on the same report code as the gRPC API.
//
//   GET /dashboard/                         the overview page (index.html; the script draws it)
//   GET /dashboard/{managers,products,clients,lost-reasons}   the other pages (the same index.html)
//   GET /dashboard/static/FILE              the page's script, style sheet and the charting library,
//                                           from DashboardOptions::web_dir
//   GET /dashboard/api/report?name=...      a report as its api::v1::ReportTable in protobuf's JSON
//                                           (report_params.h: the parameters)
//   GET /dashboard/api/report.csv?...       the same table as CSV (api/export.h; bom=1 for Excel),
//   GET /dashboard/api/report.xlsx?...      or as a workbook, as ExportReport makes them
//   GET /dashboard/api/status               the projection's freshness: the append time of the last
//                                           applied event, the lag, a position that changes with
//                                           every event applied (the page polls it to refresh)
//
// A bad parameter answers 400 with {"error": {"code": "INVALID_ARGUMENT", "message": ...,
// "fields": [{"field": "period", "description": ...}]}}: the query's own checks, as gRPC's
// INVALID_ARGUMENT, with the fields named as the URL's parameters.
//
// Thread-safe (the HTTP server calls Handle from several threads); reads only.
#pragma once

#include <string>

#include "common/base/clock.h"
#include "common/observability/http_server.h"
#include "common/projection/runner.h"
#include "services/reporting/api/report_tables.h"

namespace sales::reporting::dashboard {

struct DashboardOptions {
  std::string web_dir;             // index.html, dashboard.js, dashboard.css, echarts.min.js
  std::string reporting_currency;  // shown on the page before the first table arrives
  std::string time_zone;           // the periods' time zone (--time-zone)
  int64_t concentration_threshold = 1800;  // HHI line drawn on the concentration charts
  // Where the browser reads client support's attention list and lead acquisition's manager
  // names (their HTTP ports).
  std::string client_support_url;
  std::string lead_acquisition_url;
};

class Dashboard {
 public:
  // Pointers must outlive the dashboard. `runner` is the service's projection runner (freshness).
  Dashboard(Reports reports, const projection::ProjectionRunner* runner, const Clock* clock, DashboardOptions options);

  // Every path under /dashboard.
  HttpResponse Handle(const HttpRequest& request) const;

  // False (with the reason) when web_dir lacks a file the page needs: the dashboard then answers
  // 503 saying so, the rest of the service is unaffected.
  Status CheckFiles() const;

 private:
  HttpResponse Page() const;
  HttpResponse Static(const std::string& file) const;
  HttpResponse Report(const HttpRequest& request, const std::string& format) const;
  HttpResponse Freshness() const;

  Reports reports_;
  const projection::ProjectionRunner* runner_;
  const Clock* clock_;
  DashboardOptions options_;
};

// The 400 body for a bad request: {"error": {"code": ..., "message": ..., "fields": [...]}}.
std::string ErrorJson(const Status& status);

}  // namespace sales::reporting::dashboard
