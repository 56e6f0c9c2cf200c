// What a handler needs from the gRPC call besides the request: the caller's correlation id
// (metadata `x-correlation-id`, generated when absent and echoed back), actor (the common name of
// the caller's certificate under mutual TLS, otherwise the unverified `x-actor`) and the
// as-of store a query names (`x-as-of-store`, common/service/as_of.h).
#pragma once

#include <grpcpp/server_context.h>

#include <string>

namespace sales::grpc_util {

struct RequestContext {
  std::string correlation_id;
  std::string actor;         // the verified certificate's common name under mutual TLS, else x-actor
  bool authenticated = false;  // the actor was verified (mutual TLS)
  std::string as_of_store;   // empty: the live store
};

// Reads the metadata and echoes the correlation id in the initial metadata of the response.
RequestContext FromServerContext(::grpc::ServerContext* context);

}  // namespace sales::grpc_util
