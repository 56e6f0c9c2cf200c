#include "services/client_support/api/attention_http.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_join.h"

namespace sales::client_support {
namespace {

constexpr int kMaxPages = 20;  // 10,000 clients needing attention is a list nobody reads

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json; charset=utf-8";
  r.body = std::move(body);
  r.headers.push_back({"Cache-Control", "no-store"});
  r.headers.push_back({"Access-Control-Allow-Origin", "*"});
  return r;
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
  }
  return out + "\"";
}

HttpResponse Error(const Status& s) {
  std::vector<std::string> fields;
  for (const FieldViolation& v : FieldViolations(s)) {
    fields.push_back(StrCat("{\"field\":", Quoted(v.field == "owner_manager_id" ? "manager" : v.field),
                            ",\"description\":", Quoted(v.description), "}"));
  }
  return Json(s.code() == absl::StatusCode::kInvalidArgument ? 400 : 500,
              StrCat("{\"error\":{\"code\":", Quoted(absl::StatusCodeToString(s.code())), ",\"message\":",
                     Quoted(std::string(s.message())), ",\"fields\":[", absl::StrJoin(fields, ","), "]}}\n"));
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
