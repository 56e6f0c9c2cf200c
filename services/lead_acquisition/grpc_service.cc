#include "services/lead_acquisition/grpc_service.h"

#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/grpc/call.h"

namespace sales::lead_acquisition {
namespace {

constexpr int kImportChunk = 1000;

// Keys the service makes itself (imports without a key, marketing intake) start with these; a
// caller's key may not, or it could collide with one of them.
Status CheckCallerKey(const std::string& key) {
  for (const char* reserved : {"import:", "intake:"}) {
    if (key.rfind(reserved, 0) == 0) {
      return InvalidField("idempotency_key", StrCat("keys starting with \"", reserved, "\" are reserved for the service"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

LeadAcquisitionService::LeadAcquisitionService(LeadCommands* commands, const LeadQueries* queries,
                                               MetricsRegistry* metrics)
    : commands_(commands), queries_(queries), metrics_(metrics) {}

template <typename Fn>
::grpc::Status LeadAcquisitionService::Observe(::grpc::ServerContext* context, const char* method, Fn&& call) {
  return grpc_util::ObserveCall(context, method, metrics_, std::forward<Fn>(call));
}

::grpc::Status LeadAcquisitionService::CaptureLead(::grpc::ServerContext* context,
                                                   const api::v1::CaptureLeadRequest* request,
                                                   api::v1::CaptureLeadResponse* response) {
  return Observe(context, "CaptureLead", [&](const Caller& caller) -> Status {
    RETURN_IF_ERROR(CheckCallerKey(request->idempotency_key()));
    ASSIGN_OR_RETURN(CommandResult r, commands_->Execute(*request, caller));
    response->set_lead_id(r.aggregate_id);
    response->set_version(r.version);
    response->set_replayed(r.replayed);
    response->set_outcome(r.capture);
    response->set_assigned_manager_id(r.assigned_manager_id);
    return absl::OkStatus();
  });
}

api::v1::ImportResult ToImportResult(int64_t index, const std::string& client_ref,
                                     const StatusOr<CommandResult>& result) {
  api::v1::ImportResult out;
  out.set_index(index);
  out.set_client_ref(client_ref);
  if (!result.ok()) {
    out.set_outcome(api::v1::CAPTURE_OUTCOME_REJECTED);
    out.set_reason(std::string(result.status().message()));
    return out;
  }
  out.set_outcome(result->capture);
  out.set_lead_id(result->aggregate_id);
  out.set_replayed(result->replayed);
  out.set_reason(result->replayed ? "already imported (same record, same idempotency key)" : result->detail);
  return out;
}

::grpc::Status LeadAcquisitionService::ImportLeads(::grpc::ServerContext* context,
                                                   ::grpc::ServerReader<api::v1::ImportLeadsRequest>* reader,
                                                   api::v1::ImportLeadsResponse* response) {
  return Observe(context, "ImportLeads", [&](const Caller& caller) -> Status {
    std::vector<Command> commands;
    std::vector<std::string> refs;
    auto flush = [&]() -> Status {
      std::vector<StatusOr<CommandResult>> results = commands_->ExecuteAll(std::move(commands), caller);
      for (size_t i = 0; i < results.size(); ++i) {
        // Kafka trouble fails the call: nothing after the last acknowledged chunk was recorded,
        // and a retry of the whole import is safe (every record has an idempotency key).
        if (results[i].status().code() == absl::StatusCode::kUnavailable) return results[i].status();
        auto* out = response->add_results();
        *out = ToImportResult(response->results_size() - 1, refs[i], results[i]);
        switch (out->outcome()) {
          case api::v1::CAPTURE_OUTCOME_CREATED:
            out->replayed() ? response->set_duplicates(response->duplicates() + 1)
                            : response->set_created(response->created() + 1);
            break;
          case api::v1::CAPTURE_OUTCOME_DUPLICATE: response->set_duplicates(response->duplicates() + 1); break;
          case api::v1::CAPTURE_OUTCOME_LINKED:
            out->replayed() ? response->set_duplicates(response->duplicates() + 1)
                            : response->set_linked(response->linked() + 1);
            break;
          default: response->set_rejected(response->rejected() + 1); break;
        }
      }
      commands.clear();
      refs.clear();
      return absl::OkStatus();
    };
    api::v1::ImportLeadsRequest record;
    while (reader->Read(&record)) {
      if (response->received() >= kMaxImportRecords) {
        return InvalidField("lead", StrCat("at most ", kMaxImportRecords, " records per ImportLeads call; split the import"));
      }
      response->set_received(response->received() + 1);
      api::v1::CaptureLeadRequest lead = std::move(*record.mutable_lead());
      if (Status s = CheckCallerKey(lead.idempotency_key()); !s.ok()) {
        // Refused like any other invalid record; results stay in stream order.
        RETURN_IF_ERROR(flush());
        auto* out = response->add_results();
        *out = ToImportResult(response->results_size() - 1, record.client_ref(), s);
        response->set_rejected(response->rejected() + 1);
        continue;
      }
      if (lead.idempotency_key().empty()) {
        // Derived from the content: importing the same record again is recognised as a retry.
        lead.set_idempotency_key(StrCat("import:", CommandHash(lead).substr(0, 40)));
      }
      commands.push_back(std::move(lead));
      refs.push_back(record.client_ref());
      if (static_cast<int>(commands.size()) == kImportChunk) RETURN_IF_ERROR(flush());
    }
    if (!commands.empty()) RETURN_IF_ERROR(flush());
    log::Info("leads imported", {{"received", response->received()}, {"created", response->created()},
                                 {"duplicates", response->duplicates()}, {"linked", response->linked()},
                                 {"rejected", response->rejected()}});
    return absl::OkStatus();
  });
}

template <typename Request>
::grpc::Status LeadAcquisitionService::LeadCommand(::grpc::ServerContext* context, const char* method,
                                                   const Request& request, api::v1::LeadCommandResponse* response) {
  return Observe(context, method, [&](const Caller& caller) -> Status {
    ASSIGN_OR_RETURN(CommandResult r, commands_->Execute(request, caller));
    response->set_lead_id(r.aggregate_id);
    response->set_version(r.version);
    response->set_replayed(r.replayed);
    return absl::OkStatus();
  });
}

template <typename Request>
::grpc::Status LeadAcquisitionService::ManagerCommand(::grpc::ServerContext* context, const char* method,
                                                      const Request& request,
                                                      api::v1::ManagerCommandResponse* response) {
  return Observe(context, method, [&](const Caller& caller) -> Status {
    ASSIGN_OR_RETURN(CommandResult r, commands_->Execute(request, caller));
    response->set_manager_id(r.aggregate_id);
    response->set_version(r.version);
    response->set_replayed(r.replayed);
    return absl::OkStatus();
  });
}

::grpc::Status LeadAcquisitionService::QualifyLead(::grpc::ServerContext* c, const api::v1::QualifyLeadRequest* r,
                                                   api::v1::LeadCommandResponse* out) {
  return LeadCommand(c, "QualifyLead", *r, out);
}
::grpc::Status LeadAcquisitionService::DisqualifyLead(::grpc::ServerContext* c,
                                                      const api::v1::DisqualifyLeadRequest* r,
                                                      api::v1::LeadCommandResponse* out) {
  return LeadCommand(c, "DisqualifyLead", *r, out);
}
::grpc::Status LeadAcquisitionService::AssignLead(::grpc::ServerContext* c, const api::v1::AssignLeadRequest* r,
                                                  api::v1::LeadCommandResponse* out) {
  return LeadCommand(c, "AssignLead", *r, out);
}
::grpc::Status LeadAcquisitionService::LogLeadActivity(::grpc::ServerContext* c,
                                                       const api::v1::LogLeadActivityRequest* r,
                                                       api::v1::LeadCommandResponse* out) {
  return LeadCommand(c, "LogLeadActivity", *r, out);
}
::grpc::Status LeadAcquisitionService::RegisterManager(::grpc::ServerContext* c,
                                                       const api::v1::RegisterManagerRequest* r,
                                                       api::v1::ManagerCommandResponse* out) {
  return ManagerCommand(c, "RegisterManager", *r, out);
}
::grpc::Status LeadAcquisitionService::DeactivateManager(::grpc::ServerContext* c,
                                                         const api::v1::DeactivateManagerRequest* r,
                                                         api::v1::ManagerCommandResponse* out) {
  return ManagerCommand(c, "DeactivateManager", *r, out);
}

::grpc::Status LeadAcquisitionService::GetLead(::grpc::ServerContext* c, const api::v1::GetLeadRequest* r,
                                               api::v1::Lead* out) {
  return Observe(c, "GetLead", [&](const Caller&) -> Status {
    ASSIGN_OR_RETURN(*out, queries_->GetLead(*r));
    return absl::OkStatus();
  });
}
::grpc::Status LeadAcquisitionService::ListLeads(::grpc::ServerContext* c, const api::v1::ListLeadsRequest* r,
                                                 api::v1::ListLeadsResponse* out) {
  return Observe(c, "ListLeads", [&](const Caller&) -> Status {
    ASSIGN_OR_RETURN(*out, queries_->ListLeads(*r));
    return absl::OkStatus();
  });
}
::grpc::Status LeadAcquisitionService::GetLeadHistory(::grpc::ServerContext* c,
                                                      const api::v1::GetLeadHistoryRequest* r,
                                                      api::v1::GetLeadHistoryResponse* out) {
  return Observe(c, "GetLeadHistory", [&](const Caller&) -> Status {
    ASSIGN_OR_RETURN(*out, queries_->GetLeadHistory(*r));
    return absl::OkStatus();
  });
}
::grpc::Status LeadAcquisitionService::ListManagers(::grpc::ServerContext* c, const api::v1::ListManagersRequest* r,
                                                    api::v1::ListManagersResponse* out) {
  return Observe(c, "ListManagers", [&](const Caller&) -> Status {
    ASSIGN_OR_RETURN(*out, queries_->ListManagers(*r));
    return absl::OkStatus();
  });
}

}  // namespace sales::lead_acquisition
