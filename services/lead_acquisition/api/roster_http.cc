#include "services/lead_acquisition/api/roster_http.h"

namespace sales::lead_acquisition {

HttpResponse ManagerRoster(const LeadQueries& queries, const HttpRequest& request) {
  HttpResponse r;
  if (!request.params.empty()) {
    r = JsonResponse(400, ErrorJson(InvalidField(request.params.front().first, "unknown parameter; there are none")));
  } else {
    api::v1::ListManagersRequest list;
    list.set_include_inactive(true);
    StatusOr<api::v1::ListManagersResponse> out = queries.ListManagers(list);
    if (!out.ok()) {
      r = JsonResponse(HttpStatusOf(out.status()), ErrorJson(out.status()));
    } else {
      std::string body = "{\"managers\":[";
      for (int i = 0; i < out->managers_size(); ++i) {
        const api::v1::Manager& m = out->managers(i);
        absl::StrAppend(&body, i ? "," : "", "{\"id\":", JsonString(m.manager_id()), ",\"name\":", JsonString(m.name()),
                        ",\"active\":", m.active() ? "true" : "false", "}");
      }
      r = JsonResponse(200, body + "]}\n");
    }
  }
  r.headers.push_back({"Access-Control-Allow-Origin", "*"});
  return r;
}

}  // namespace sales::lead_acquisition
