// Lead acquisition's manager roster over its HTTP port, for the reporting service's dashboard page
// (services/reporting/web/), which the browser reads from here to show managers by name: the
// reports know managers by id, the roster is this service's.
//
//   GET /api/managers -> {"managers": [{"id": ..., "name": ..., "active": true}, ...]}, every
//                        manager ever registered (inactive ones too: they appear in past figures)
//
// Read-only, names only (no e-mail addresses), served to any origin (the dashboard is on another
// port). Thread-safe.
#pragma once

#include "common/observability/http_server.h"
#include "services/lead_acquisition/api/lead_queries.h"

namespace sales::lead_acquisition {

inline constexpr char kRosterPath[] = "/api/managers";

HttpResponse ManagerRoster(const LeadQueries& queries, const HttpRequest& request);

}  // namespace sales::lead_acquisition
