// gRPC handlers of the client support API: they only translate protos and statuses; decisions
// live in ClientCommands and the aggregate, reads in ClientQueries.
#pragma once

#include "common/observability/metrics.h"
#include "sales/api/v1/client_support.grpc.pb.h"
#include "services/client_support/api/client_queries.h"
#include "services/client_support/commands/client_commands.h"

namespace sales::client_support {

class ClientSupportService final : public api::v1::ClientSupport::Service {
 public:
  // Pointers must outlive the service.
  ClientSupportService(ClientCommands* commands, const ClientQueries* queries, MetricsRegistry* metrics)
      : commands_(commands), queries_(queries), metrics_(metrics) {}

  ::grpc::Status LogInteraction(::grpc::ServerContext* c, const api::v1::LogInteractionRequest* r,
                                api::v1::ClientCommandResponse* out) override;
  ::grpc::Status OpenTicket(::grpc::ServerContext* c, const api::v1::OpenTicketRequest* r,
                            api::v1::ClientCommandResponse* out) override;
  ::grpc::Status RespondToTicket(::grpc::ServerContext* c, const api::v1::TicketCommandRequest* r,
                                 api::v1::ClientCommandResponse* out) override;
  ::grpc::Status ResolveTicket(::grpc::ServerContext* c, const api::v1::TicketCommandRequest* r,
                               api::v1::ClientCommandResponse* out) override;
  ::grpc::Status ReopenTicket(::grpc::ServerContext* c, const api::v1::TicketCommandRequest* r,
                              api::v1::ClientCommandResponse* out) override;
  ::grpc::Status RecordOrder(::grpc::ServerContext* c, const api::v1::RecordOrderRequest* r,
                             api::v1::ClientCommandResponse* out) override;
  ::grpc::Status RecordRenewal(::grpc::ServerContext* c, const api::v1::RecordRenewalRequest* r,
                               api::v1::ClientCommandResponse* out) override;
  ::grpc::Status ChurnClient(::grpc::ServerContext* c, const api::v1::ChurnClientRequest* r,
                             api::v1::ClientCommandResponse* out) override;
  ::grpc::Status ReactivateClient(::grpc::ServerContext* c, const api::v1::ReactivateClientRequest* r,
                                  api::v1::ClientCommandResponse* out) override;
  ::grpc::Status GetClient(::grpc::ServerContext* c, const api::v1::GetClientRequest* r, api::v1::Client* out) override;
  ::grpc::Status ListClients(::grpc::ServerContext* c, const api::v1::ListClientsRequest* r,
                             api::v1::ListClientsResponse* out) override;
  ::grpc::Status GetClientTimeline(::grpc::ServerContext* c, const api::v1::GetClientTimelineRequest* r,
                                   api::v1::GetClientTimelineResponse* out) override;
  ::grpc::Status ListTickets(::grpc::ServerContext* c, const api::v1::ListTicketsRequest* r,
                             api::v1::ListTicketsResponse* out) override;
  ::grpc::Status ListUnmatchedCalls(::grpc::ServerContext* c, const api::v1::ListUnmatchedCallsRequest* r,
                                    api::v1::ListUnmatchedCallsResponse* out) override;

 private:
  ::grpc::Status ClientCommand(::grpc::ServerContext* c, const char* method, Command command,
                               api::v1::ClientCommandResponse* out);
  template <typename Request, typename Response, typename Query>
  ::grpc::Status Read(::grpc::ServerContext* c, const char* method, const Request& r, Response* out, Query query);

  ClientCommands* commands_;
  const ClientQueries* queries_;
  MetricsRegistry* metrics_;
};

}  // namespace sales::client_support
