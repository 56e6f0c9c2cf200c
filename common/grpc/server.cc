#include "common/grpc/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>

#include <csignal>

#include "common/base/config.h"
#include "common/base/strings.h"
#include "absl/time/clock.h"
#include "common/grpc/malformed_request.h"
#include "grpc/health/v1/health.pb.h"

namespace sales::grpc_util {
namespace {

// Every process that serves gRPC keeps its log JSON from its first line: protobuf may complain
// while the service catches up its topics, before it serves (malformed_request.h).
[[maybe_unused]] const bool kLibraryLogsRouted = RouteLibraryLogs();

}  // namespace

StatusOr<ServerTls> LoadServerTls(const std::string& cert_file, const std::string& key_file,
                                  const std::string& client_ca_file) {
  ServerTls tls;
  if (cert_file.empty() != key_file.empty()) {
    return InvalidField(cert_file.empty() ? "tls-cert" : "tls-key", "TLS needs both --tls-cert and --tls-key");
  }
  if (cert_file.empty() && !client_ca_file.empty()) {
    return InvalidField("tls-client-ca", "verifying client certificates needs TLS: give --tls-cert and --tls-key");
  }
  if (cert_file.empty()) return tls;
  ASSIGN_OR_RETURN(tls.cert_chain, ReadPemFile("tls-cert", cert_file));
  ASSIGN_OR_RETURN(tls.private_key, ReadPemFile("tls-key", key_file));
  if (!client_ca_file.empty()) {
    ASSIGN_OR_RETURN(tls.client_ca, ReadPemFile("tls-client-ca", client_ca_file));
  }
  return tls;
}

bool IsLoopbackHost(const std::string& host) {
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const std::string& address,
                                                        const std::vector<::grpc::Service*>& services,
                                                        int max_threads, const ServerTls& tls) {
  ::grpc::EnableDefaultHealthCheckService(true);
  // gRPC's built-in health service carries no protobuf descriptor; linking ours (wire-identical)
  // lets reflection describe it, so grpcurl can call grpc.health.v1.Health/Check.
  (void)::grpc::health::v1::HealthCheckRequest::descriptor();
  ::grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  ::grpc::ServerBuilder builder;
  std::unique_ptr<GrpcServer> server(new GrpcServer());
  std::shared_ptr<::grpc::ServerCredentials> credentials = ::grpc::InsecureServerCredentials();
  if (tls.enabled()) {
    ::grpc::SslServerCredentialsOptions options(tls.client_ca.empty()
                                                    ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                    : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = tls.client_ca;
    options.pem_key_cert_pairs.push_back({tls.private_key, tls.cert_chain});
    credentials = ::grpc::SslServerCredentials(options);
  }
  builder.AddListeningPort(address, credentials, &server->port_);
  for (auto* s : services) builder.RegisterService(s);
  builder.SetMaxReceiveMessageSize(4 << 20);
  ::grpc::ResourceQuota quota("sales-grpc");
  quota.SetMaxThreads(max_threads);
  builder.SetResourceQuota(quota);
  // Requests that fail to parse: INVALID_ARGUMENT naming the field, not gRPC's empty INTERNAL.
  builder.experimental().SetInterceptorCreators(MalformedRequestInterceptors());
  // Calls block until their command is acknowledged by Kafka; keep enough polling threads around
  // instead of creating and ending one for nearly every call (the default keeps at most 2).
  builder.SetSyncServerOption(::grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(::grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 256);
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return absl::UnavailableError(StrCat("cannot serve gRPC on ", address, " (address in use or invalid?)"));
  }
  server->SetServing(false);
  return server;
}

GrpcServer::~GrpcServer() { Shutdown(absl::Seconds(5)); }

void GrpcServer::SetServing(bool serving) {
  if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(serving);
}

void GrpcServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  SetServing(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace sales::grpc_util
