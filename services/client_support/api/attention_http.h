// Client support's attention list over its HTTP port, for the reporting service's dashboard page
// (services/reporting/web/), which the browser reads from here: the services stay apart (they
// share no calls), the page shows both.
//
//   GET /api/clients/attention?manager=ID&region=CODE
//     -> {"clients": [Client, ...]} in protobuf's JSON: ListClients with only_needing_attention,
//        every page, as of now; 400 with {"error": {...}} naming a bad parameter.
//
// Read-only and served to any origin (Access-Control-Allow-Origin: *): the dashboard is on another
// port. Thread-safe.
#pragma once

#include "common/observability/http_server.h"
#include "services/client_support/api/client_queries.h"

namespace sales::client_support {

inline constexpr char kAttentionPath[] = "/api/clients/attention";

HttpResponse AttentionList(const ClientQueries& queries, const HttpRequest& request);

}  // namespace sales::client_support
