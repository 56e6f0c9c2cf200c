#include "services/client_support/api/grpc_service.h"

#include "common/grpc/call.h"

namespace sales::client_support {

constexpr const char* kService = api::v1::ClientSupport::service_full_name();

::grpc::Status ClientSupportService::ClientCommand(::grpc::ServerContext* c, const char* method, Command command,
                                                   api::v1::ClientCommandResponse* out) {
  return grpc_util::ObserveCall(c, kService, method, metrics_, [&](const Caller& caller) -> Status {
    ASSIGN_OR_RETURN(CommandResult result, commands_->Execute(std::move(command), caller));
    out->set_client_id(result.client_id);
    out->set_version(result.version);
    out->set_replayed(result.replayed);
    out->set_ticket_id(result.ticket_id);
    out->set_order_id(result.order_id);
    return absl::OkStatus();
  });
}

template <typename Request, typename Response, typename Query>
::grpc::Status ClientSupportService::Read(::grpc::ServerContext* c, const char* method, const Request& r,
                                          Response* out, Query query) {
  // A local, not `this` captured by [&]: under UBSan, GCC 12 reads a garbage `this` in this lambda
  // (a false "member access within null pointer" in every read; the normal build is unaffected).
  const ClientQueries* queries = queries_;
  return grpc_util::ObserveCall(c, kService, method, metrics_, [&](const Caller&) -> Status {
    ASSIGN_OR_RETURN(*out, (queries->*query)(r));
    return absl::OkStatus();
  });
}

::grpc::Status ClientSupportService::LogInteraction(::grpc::ServerContext* c, const api::v1::LogInteractionRequest* r,
                                                    api::v1::ClientCommandResponse* out) {
  return ClientCommand(c, "LogInteraction", *r, out);
}
::grpc::Status ClientSupportService::OpenTicket(::grpc::ServerContext* c, const api::v1::OpenTicketRequest* r,
                                                api::v1::ClientCommandResponse* out) {
  return ClientCommand(c, "OpenTicket", *r, out);
}
::grpc::Status ClientSupportService::RespondToTicket(::grpc::ServerContext* c, const api::v1::TicketCommandRequest* r,
                                                     api::v1::ClientCommandResponse* out) {
  return ClientCommand(c, "RespondToTicket", client_support::RespondToTicket{*r}, out);
}
::grpc::Status ClientSupportService::ResolveTicket(::grpc::ServerContext* c, const api::v1::TicketCommandRequest* r,
                                                   api::v1::ClientCommandResponse* out) {
  return ClientCommand(c, "ResolveTicket", client_support::ResolveTicket{*r}, out);
}
::grpc::Status ClientSupportService::ReopenTicket(::grpc::ServerContext* c, const api::v1::TicketCommandRequest* r,
                                                  api::v1::ClientCommandResponse* out) {
  return ClientCommand(c, "ReopenTicket", client_support::ReopenTicket{*r}, out);
}
::grpc::Status ClientSupportService::RecordOrder(::grpc::ServerContext* c, const api::v1::RecordOrderRequest* r,
                                                 api::v1::ClientCommandResponse* out) {
  return ClientCommand(c, "RecordOrder", *r, out);
}
::grpc::Status ClientSupportService::RecordRenewal(::grpc::ServerContext* c, const api::v1::RecordRenewalRequest* r,
                                                   api::v1::ClientCommandResponse* out) {
  return ClientCommand(c, "RecordRenewal", *r, out);
}
::grpc::Status ClientSupportService::ChurnClient(::grpc::ServerContext* c, const api::v1::ChurnClientRequest* r,
                                                 api::v1::ClientCommandResponse* out) {
  return ClientCommand(c, "ChurnClient", *r, out);
}
::grpc::Status ClientSupportService::ReactivateClient(::grpc::ServerContext* c,
                                                      const api::v1::ReactivateClientRequest* r,
                                                      api::v1::ClientCommandResponse* out) {
  return ClientCommand(c, "ReactivateClient", *r, out);
}

::grpc::Status ClientSupportService::GetClient(::grpc::ServerContext* c, const api::v1::GetClientRequest* r,
                                               api::v1::Client* out) {
  return Read(c, "GetClient", *r, out, &ClientQueries::GetClient);
}
::grpc::Status ClientSupportService::ListClients(::grpc::ServerContext* c, const api::v1::ListClientsRequest* r,
                                                 api::v1::ListClientsResponse* out) {
  return Read(c, "ListClients", *r, out, &ClientQueries::ListClients);
}
::grpc::Status ClientSupportService::GetClientTimeline(::grpc::ServerContext* c,
                                                       const api::v1::GetClientTimelineRequest* r,
                                                       api::v1::GetClientTimelineResponse* out) {
  return Read(c, "GetClientTimeline", *r, out, &ClientQueries::GetClientTimeline);
}
::grpc::Status ClientSupportService::ListTickets(::grpc::ServerContext* c, const api::v1::ListTicketsRequest* r,
                                                 api::v1::ListTicketsResponse* out) {
  return Read(c, "ListTickets", *r, out, &ClientQueries::ListTickets);
}
::grpc::Status ClientSupportService::ListUnmatchedCalls(::grpc::ServerContext* c,
                                                        const api::v1::ListUnmatchedCallsRequest* r,
                                                        api::v1::ListUnmatchedCallsResponse* out) {
  return Read(c, "ListUnmatchedCalls", *r, out, &ClientQueries::ListUnmatchedCalls);
}

}  // namespace sales::client_support
