#include "common/grpc/request_context.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include <memory>
#include <vector>

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

}  // namespace

RequestContext FromServerContext(::grpc::ServerContext* context) {
  RequestContext r;
  r.correlation_id = Metadata(context, "x-correlation-id");
  if (r.correlation_id.empty()) r.correlation_id = NewUuid();
  // Who did it, as events record it: the verified certificate's name under mutual TLS (a header
  // could name anyone); otherwise what the caller says in x-actor, which nothing verifies.
  if (const auth::TokenVerifier* verifier = auth::CurrentTokenVerifier()) {
    r.tokens_checked = true;
    const auto& md = context->client_metadata();
    const auto it = md.find("authorization");
    StatusOr<auth::Identity> identity = auth::Authenticate(
        *verifier, it == md.end() ? std::string_view() : std::string_view(it->second.data(), it->second.size()),
        absl::Now());
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
  return auth::CheckRoles(rc.roles, auth::AllowedRoles(service, method), method, rc.actor);
}

}  // namespace sales::grpc_util
