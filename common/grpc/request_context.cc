#include "common/grpc/request_context.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/ids.h"
#include "common/base/strings.h"
#include "common/auth/tokens.h"

namespace sales::grpc_util {
namespace {

// Untrusted text that ends up in logs, events (protobuf strings must be UTF-8) and the response
// metadata (gRPC refuses to send non-ASCII header values): kept short and printable ASCII.
std::string Printable(std::string value) {
  if (value.size() > 128) value.resize(128);
  for (char& c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) c = '?';
  }
  return value;
}

std::string Metadata(::grpc::ServerContext* context, const char* key) {
  const auto& md = context->client_metadata();
  auto it = md.find(key);
  if (it == md.end()) return "";
  return Printable(std::string(it->second.data(), it->second.size()));
}

// The common name of the certificate the caller presented, when TLS verified it (mutual TLS).
std::string CertifiedCaller(::grpc::ServerContext* context) {
  const std::shared_ptr<const ::grpc::AuthContext> auth = context->auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return "";
  const std::vector<::grpc::string_ref> names = auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  if (names.empty()) return "";
  return Printable(std::string(names.front().data(), names.front().size()));
}

// The token of metadata "authorization: Bearer <token>"; empty when there is none.
std::string_view BearerToken(::grpc::ServerContext* context) {
  const auto& md = context->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return {};
  const std::string_view value(it->second.data(), it->second.size());
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(value[i])) != absl::ascii_tolower(kScheme[i])) return {};
  }
  return value.substr(kScheme.size());
}

}  // namespace

RequestContext FromServerContext(::grpc::ServerContext* context) {
  RequestContext r;
  r.correlation_id = Metadata(context, "x-correlation-id");
  if (r.correlation_id.empty()) r.correlation_id = NewUuid();
  // Who did it, as events record it: the verified certificate's name under mutual TLS (a header
  // could name anyone); otherwise what the caller says in x-actor, which nothing verifies.
  if (const auth::TokenVerifier* verifier = auth::CurrentTokenVerifier()) {
    r.tokens_checked = true;
    const std::string_view token = BearerToken(context);
    StatusOr<auth::Identity> identity =
        token.empty() ? StatusOr<auth::Identity>(absl::UnauthenticatedError(
                            "no bearer token: send the metadata \"authorization: Bearer <token>\" (salesctl --token)"))
                      : verifier->Verify(token, absl::Now());
    if (identity.ok()) {
      r.actor = Printable(identity->subject);
      r.authenticated = true;
      r.roles = std::move(identity->roles);
    } else {
      r.credential = identity.status();
    }
  }
  if (r.actor.empty()) r.actor = CertifiedCaller(context);
  if (!r.authenticated) r.authenticated = !r.actor.empty();
  if (r.actor.empty() && !r.tokens_checked) r.actor = Metadata(context, "x-actor");
  if (r.actor.empty()) r.actor = "anonymous";
  r.as_of_store = Metadata(context, "x-as-of-store");
  context->AddInitialMetadata("x-correlation-id", r.correlation_id);
  return r;
}

Status Authorize(const RequestContext& rc, std::string_view service, std::string_view method) {
  if (!rc.tokens_checked) return absl::OkStatus();
  RETURN_IF_ERROR(rc.credential);
  const std::vector<api::v1::Role>& allowed = auth::AllowedRoles(service, method);
  for (api::v1::Role role : rc.roles) {
    if (std::find(allowed.begin(), allowed.end(), role) != allowed.end()) return absl::OkStatus();
  }
  auto names = [](const std::vector<api::v1::Role>& roles) {
    std::vector<std::string> out;
    for (api::v1::Role r : roles) out.push_back(auth::RoleName(r));
    return out.empty() ? std::string("none") : absl::StrJoin(out, ", ");
  };
  return absl::PermissionDeniedError(StrCat(method, " needs one of the roles ", names(allowed), "; the token of ",
                                            rc.actor, " has ", names(rc.roles)));
}

}  // namespace sales::grpc_util
