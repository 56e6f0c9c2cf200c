#include "services/client_support/api/attention_http.h"

#include <google/protobuf/util/json_util.h>

namespace sales::client_support {
namespace {

constexpr int kMaxPages = 20;  // 10,000 clients needing attention is a list nobody reads

HttpResponse Json(int status, std::string body) {
  HttpResponse r = JsonResponse(status, std::move(body));
  r.headers.push_back({"Access-Control-Allow-Origin", "*"});
  return r;
}

HttpResponse Error(const Status& s) {
  return Json(HttpStatusOf(s), ErrorJson(s, [](const std::string& f) {
                return f == "owner_manager_id" ? std::string("manager") : f;
              }));
}

}  // namespace

HttpResponse AttentionList(const ClientQueries& queries, const HttpRequest& request) {
  for (const auto& [name, value] : request.params) {
    if (name != "manager" && name != "region") {
      return Error(InvalidField(name, "unknown parameter; the parameters are manager, region"));
    }
  }
  api::v1::ListClientsRequest r;
  r.set_owner_manager_id(request.Param("manager"));
  r.set_region(request.Param("region"));
  r.set_only_needing_attention(true);
  r.set_page_size(500);
  api::v1::ListClientsResponse all;
  for (int page = 0; page < kMaxPages; ++page) {
    StatusOr<api::v1::ListClientsResponse> out = queries.ListClients(r);
    if (!out.ok()) return Error(out.status());
    for (auto& c : *out->mutable_clients()) *all.add_clients() = std::move(c);
    if (out->next_page_token().empty()) break;
    r.set_page_token(out->next_page_token());
  }
  std::string json;
  if (auto s = google::protobuf::util::MessageToJsonString(all, &json); !s.ok()) {
    return Error(absl::InternalError(std::string(s.message())));
  }
  return Json(200, json);
}

}  // namespace sales::client_support
