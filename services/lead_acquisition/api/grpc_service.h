// gRPC handlers of the lead acquisition API: they only translate protos and statuses; decisions
// live in LeadCommands and the aggregate, reads in LeadQueries.
#pragma once

#include "common/observability/metrics.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "services/lead_acquisition/commands/lead_commands.h"
#include "services/lead_acquisition/api/lead_queries.h"

namespace sales::lead_acquisition {

// Records per StreamingImportLeads call; more is refused (split the import).
inline constexpr int64_t kMaxImportRecords = 100000;
// Records decided together, and answered in one ImportLeadsResponse.
inline constexpr int kImportChunk = 1000;
// A longer client_ref refuses its record (and is cut in the answer), so no answer grows unbounded.
inline constexpr size_t kMaxClientRefBytes = 128;

class LeadAcquisitionService final : public api::v1::LeadAcquisition::Service {
 public:
  LeadAcquisitionService(LeadCommands* commands, const LeadQueries* queries, MetricsRegistry* metrics);

  ::grpc::Status CaptureLead(::grpc::ServerContext* context, const api::v1::CaptureLeadRequest* request,
                             api::v1::CaptureLeadResponse* response) override;
  ::grpc::Status StreamingImportLeads(
      ::grpc::ServerContext* context,
      ::grpc::ServerReaderWriter<api::v1::ImportLeadsResponse, api::v1::ImportLeadsRequest>* stream) override;
  ::grpc::Status QualifyLead(::grpc::ServerContext* context, const api::v1::QualifyLeadRequest* request,
                             api::v1::LeadCommandResponse* response) override;
  ::grpc::Status DisqualifyLead(::grpc::ServerContext* context, const api::v1::DisqualifyLeadRequest* request,
                                api::v1::LeadCommandResponse* response) override;
  ::grpc::Status AssignLead(::grpc::ServerContext* context, const api::v1::AssignLeadRequest* request,
                            api::v1::LeadCommandResponse* response) override;
  ::grpc::Status LogLeadActivity(::grpc::ServerContext* context, const api::v1::LogLeadActivityRequest* request,
                                 api::v1::LeadCommandResponse* response) override;
  ::grpc::Status RegisterManager(::grpc::ServerContext* context, const api::v1::RegisterManagerRequest* request,
                                 api::v1::ManagerCommandResponse* response) override;
  ::grpc::Status DeactivateManager(::grpc::ServerContext* context, const api::v1::DeactivateManagerRequest* request,
                                   api::v1::ManagerCommandResponse* response) override;
  ::grpc::Status SetManagerExtension(::grpc::ServerContext* context, const api::v1::SetManagerExtensionRequest* request,
                                     api::v1::ManagerCommandResponse* response) override;
  ::grpc::Status MergeLeads(::grpc::ServerContext* context, const api::v1::MergeLeadsRequest* request,
                            api::v1::MergeLeadsResponse* response) override;
  ::grpc::Status GetLead(::grpc::ServerContext* context, const api::v1::GetLeadRequest* request,
                         api::v1::Lead* response) override;
  ::grpc::Status ListLeads(::grpc::ServerContext* context, const api::v1::ListLeadsRequest* request,
                           api::v1::ListLeadsResponse* response) override;
  ::grpc::Status GetLeadHistory(::grpc::ServerContext* context, const api::v1::GetLeadHistoryRequest* request,
                                api::v1::GetLeadHistoryResponse* response) override;
  ::grpc::Status ListManagers(::grpc::ServerContext* context, const api::v1::ListManagersRequest* request,
                              api::v1::ListManagersResponse* response) override;

 private:
  // Runs `call` with the caller's context, maps its status, logs failures, records metrics.
  template <typename Fn>
  ::grpc::Status Observe(::grpc::ServerContext* context, const char* method, Fn&& call);
  template <typename Request>
  ::grpc::Status LeadCommand(::grpc::ServerContext* context, const char* method, const Request& request,
                             api::v1::LeadCommandResponse* response);
  template <typename Request>
  ::grpc::Status ManagerCommand(::grpc::ServerContext* context, const char* method, const Request& request,
                                api::v1::ManagerCommandResponse* response);

  LeadCommands* commands_;
  const LeadQueries* queries_;
  MetricsRegistry* metrics_;
};

// The per-record answer of an import, from the command's result.
api::v1::ImportResult ToImportResult(int64_t index, const std::string& client_ref,
                                     const StatusOr<CommandResult>& result);

}  // namespace sales::lead_acquisition
