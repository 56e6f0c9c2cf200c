// The dashboard's report requests as URL parameters: `name=plan-vs-actual&period=2026&by=manager&
// dynamics=month&region=GR-ATT&as_of=2026-11-27T10:00:00Z` -> the api::v1::ReportRequest that
// GetReportTable answers over gRPC. The words are salesctl's (`salesctl report NAME --by ...`):
//
//   name      plan-vs-actual, funnel, cycle-times, lost-reasons, scorecards, products,
//             client-revenue, concentration, inbound-calls, pipeline (required)
//   period    "2026-11", "2026-Q4", "2026-W48", "2026", "2026-11-26", "2026-10-01..2026-12-31"
//   metric    plan-vs-actual only: revenue (default), margin, new-clients, offers-sent, calls, meetings
//   by        company (default), manager, region, product, client, source (reports keyed by one)
//   dynamics  day, week or month (default: none, the period as one)
//   as_of     RFC 3339 time (default: now)
//   manager, region, product, client, source   filters (ReportFilters)
//
// An unknown parameter or a value that is not one of the words is INVALID_ARGUMENT naming the
// parameter; everything else (a malformed period, a dimension a report does not take) is checked
// by the report's own query, exactly as for gRPC, and its field violations are renamed to the
// parameters (ParamViolations). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/observability/http_server.h"
#include "sales/api/v1/reporting.pb.h"

namespace sales::reporting::dashboard {

// The report names, as salesctl spells them.
const std::vector<std::string>& ReportNames();

// `extra` lists further parameters the caller accepts (e.g. "bom" for CSV).
[[nodiscard]] StatusOr<api::v1::ReportRequest> ReportRequestFromParams(const HttpRequest& request,
                                                                       const std::vector<std::string>& extra = {});

// A query's field (named in the request: "plan_vs_actual.filters.region") as the URL's parameter
// ("region"); other names unchanged.
std::string ParamName(std::string_view field);

// The field violations of `status` with ParamName's names. A status without violations gives one
// for "request".
std::vector<FieldViolation> ParamViolations(const Status& status);

}  // namespace sales::reporting::dashboard
