// gRPC server bootstrap shared by every service: the services given, plus the standard health
// checking service (grpc.health.v1) and server reflection, so grpcurl and load balancers work
// without the .proto files. Shutdown is graceful: in-flight calls get a deadline to finish.
// A request that fails to parse is answered INVALID_ARGUMENT naming the field, and protobuf's and
// gRPC's own log messages go to the JSON log, from process start (malformed_request.h).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"

namespace sales::grpc_util {

class GrpcServer {
 public:
  // Binds `address` ("host:port"; port 0 picks a free one) and starts serving. Health reports
  // NOT_SERVING until SetServing(true). The services must outlive the server. At most
  // `max_threads` threads serve calls: beyond, new calls answer RESOURCE_EXHAUSTED instead of
  // growing memory (each sync call holds a thread while its command waits for Kafka).
  static StatusOr<std::unique_ptr<GrpcServer>> Start(const std::string& address,
                                                     const std::vector<::grpc::Service*>& services,
                                                     int max_threads = 512);
  ~GrpcServer();

  int port() const { return port_; }
  void SetServing(bool serving);
  // Stops accepting calls and waits up to `grace` for running ones.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer() = default;
  std::unique_ptr<::grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts afterwards; call
// first thing in main(). WaitForShutdownSignal() then returns the signal number when one arrives.
void BlockShutdownSignals();
int WaitForShutdownSignal();

}  // namespace sales::grpc_util
