// What a handler needs from the gRPC call besides the request: the caller's correlation id
// (metadata `x-correlation-id`, generated when absent and echoed back), who the caller is (the
// subject of its bearer token when the service checks tokens, else the common name of its
// certificate under mutual TLS, else the unverified `x-actor`) and the as-of store a query names
// (`x-as-of-store`, common/service/as_of.h).
#pragma once

#include <grpcpp/server_context.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "sales/api/v1/access.pb.h"

namespace sales::grpc_util {

struct RequestContext {
  std::string correlation_id;
  std::string actor;         // the token's subject; the verified certificate's common name; else x-actor
  bool authenticated = false;  // the actor was verified (a bearer token or mutual TLS)
  std::string as_of_store;   // empty: the live store
  // When the service checks tokens (grpc_util::SetTokenVerifier): the token's roles, or why the
  // call has no valid token (UNAUTHENTICATED).
  bool tokens_checked = false;
  std::vector<api::v1::Role> roles;
  Status credential;
};

// Reads the metadata and echoes the correlation id in the initial metadata of the response.
RequestContext FromServerContext(::grpc::ServerContext* context);

// Whether the caller may call `method` of `service` (its full name, "sales.api.v1.Admin"): OK when
// tokens are not checked; UNAUTHENTICATED without a valid bearer token; PERMISSION_DENIED when
// none of the token's roles is one the method's `access` option allows.
[[nodiscard]] Status Authorize(const RequestContext& rc, std::string_view service, std::string_view method);

}  // namespace sales::grpc_util
