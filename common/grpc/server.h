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

// TLS for a server: PEM text (not paths). Empty cert and key: plaintext. With `client_ca`, every
// caller must present a certificate it signed (mutual TLS).
struct ServerTls {
  std::string cert_chain;
  std::string private_key;
  std::string client_ca;
  bool enabled() const { return !cert_chain.empty(); }
};

// Reads the PEM files of --tls-cert, --tls-key and --tls-client-ca (INVALID_ARGUMENT naming the
// flag when one is unreadable, or when only one of cert and key is given).
StatusOr<ServerTls> LoadServerTls(const std::string& cert_file, const std::string& key_file,
                                  const std::string& client_ca_file);

// Whether `host` (of a host:port) is a loopback address: 127.0.0.0/8, ::1 or localhost.
bool IsLoopbackHost(const std::string& host);

class GrpcServer {
 public:
  // Binds `address` ("host:port"; port 0 picks a free one) and starts serving. Health reports
  // NOT_SERVING until SetServing(true). The services must outlive the server. At most
  // `max_threads` threads serve calls: beyond, new calls answer RESOURCE_EXHAUSTED instead of
  // growing memory (each sync call holds a thread while its command waits for Kafka).
  static StatusOr<std::unique_ptr<GrpcServer>> Start(const std::string& address,
                                                     const std::vector<::grpc::Service*>& services,
                                                     int max_threads = 512, const ServerTls& tls = {});
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
