// What a command handler needs from the gRPC call besides the request: the caller's correlation id
// (metadata `x-correlation-id`, generated when absent and echoed back) and actor (`x-actor`).
#pragma once

#include <grpcpp/server_context.h>

#include <string>

namespace sales::grpc_util {

struct RequestContext {
  std::string correlation_id;
  std::string actor;
};

// Reads the metadata and echoes the correlation id in the initial metadata of the response.
RequestContext FromServerContext(::grpc::ServerContext* context);

}  // namespace sales::grpc_util
