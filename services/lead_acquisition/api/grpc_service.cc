#include "services/lead_acquisition/api/grpc_service.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/base/text.h"
#include "common/grpc/call.h"

namespace sales::lead_acquisition {

constexpr const char* kService = api::v1::LeadAcquisition::service_full_name();
namespace {

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

// Adds one record's outcome to an import's counts; a replayed record counts as a duplicate.
void Tally(const api::v1::ImportResult& result, api::v1::ImportLeadsResponse* totals) {
  switch (result.outcome()) {
    case api::v1::CAPTURE_OUTCOME_CREATED:
      result.replayed() ? totals->set_duplicates(totals->duplicates() + 1) : totals->set_created(totals->created() + 1);
      break;
    case api::v1::CAPTURE_OUTCOME_DUPLICATE: totals->set_duplicates(totals->duplicates() + 1); break;
    case api::v1::CAPTURE_OUTCOME_LINKED:
      result.replayed() ? totals->set_duplicates(totals->duplicates() + 1) : totals->set_linked(totals->linked() + 1);
      break;
    default: totals->set_rejected(totals->rejected() + 1); break;
  }
}

// Writes an import's responses on a thread of its own, so that the handler keeps reading and
// deciding while a client that sends everything before it reads has not started reading yet
// (writing on the handler's thread, each side would wait for the other: flow control).
class ImportResponseWriter {
 public:
  explicit ImportResponseWriter(
      ::grpc::ServerReaderWriter<api::v1::ImportLeadsResponse, api::v1::ImportLeadsRequest>* stream)
      : stream_(stream), thread_([this] { Run(); }) {}
  // Returns once every response sent is written, or the client has gone.
  ~ImportResponseWriter() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void Send(api::v1::ImportLeadsResponse response) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(response));
    }
    cv_.notify_all();
  }

 private:
  void Run() {
    bool broken = false;  // the client went away: drop the rest
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return done_ || !queue_.empty(); });
      if (queue_.empty()) return;
      api::v1::ImportLeadsResponse next = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      broken = broken || !stream_->Write(next);
      lock.lock();
    }
  }

  ::grpc::ServerReaderWriter<api::v1::ImportLeadsResponse, api::v1::ImportLeadsRequest>* stream_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<api::v1::ImportLeadsResponse> queue_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

LeadAcquisitionService::LeadAcquisitionService(LeadCommands* commands, const LeadQueries* queries,
                                               MetricsRegistry* metrics)
    : commands_(commands), queries_(queries), metrics_(metrics) {}

template <typename Fn>
::grpc::Status LeadAcquisitionService::Observe(::grpc::ServerContext* context, const char* method, Fn&& call) {
  return grpc_util::ObserveCall(context, kService, method, metrics_, std::forward<Fn>(call));
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
    for (auto& v : r.left_out) response->add_left_out(std::move(v));
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
  for (const auto& v : result->left_out) out.add_left_out(v);
  return out;
}

::grpc::Status LeadAcquisitionService::StreamingImportLeads(
    ::grpc::ServerContext* context,
    ::grpc::ServerReaderWriter<api::v1::ImportLeadsResponse, api::v1::ImportLeadsRequest>* stream) {
  ImportResponseWriter writer(stream);  // its destructor waits until every response is written
  return Observe(context, "StreamingImportLeads", [&](const Caller& caller) -> Status {
    api::v1::ImportLeadsResponse totals;  // running counts, no results
    int64_t responses = 0;
    struct Record {
      int64_t index;
      std::string client_ref;
      std::optional<Status> refused;  // refused before deciding (reserved key); else the next command
    };
    std::vector<Record> chunk;
    std::vector<Command> commands;
    // A dry run (the first record says so) decides every record of the call together, as the
    // import would, and writes nothing; its results are sent in the same chunks.
    bool dry_run = false;
    // Decides the chunk and sends its results. A record whose command answered UNAVAILABLE has no
    // result (it may or may not have been recorded), and the call then fails UNAVAILABLE.
    auto flush = [&]() -> Status {
      std::vector<StatusOr<CommandResult>> results = dry_run ? commands_->DryRunAll(std::move(commands), caller)
                                                             : commands_->ExecuteAll(std::move(commands), caller);
      commands.clear();
      api::v1::ImportLeadsResponse response;
      bool sent = false;
      auto send = [&] {
        response.set_received(totals.received());
        response.set_created(totals.created());
        response.set_duplicates(totals.duplicates());
        response.set_linked(totals.linked());
        response.set_rejected(totals.rejected());
        writer.Send(std::move(response));
        response = api::v1::ImportLeadsResponse();
        ++responses;
        sent = true;
      };
      Status unavailable = absl::OkStatus();
      int64_t unknown = 0;
      size_t next = 0;
      for (Record& record : chunk) {
        StatusOr<CommandResult> result = record.refused ? StatusOr<CommandResult>(*record.refused) : results[next++];
        if (result.status().code() == absl::StatusCode::kUnavailable) {
          if (unknown++ == 0) unavailable = result.status();
          continue;
        }
        api::v1::ImportResult* out = response.add_results();
        *out = ToImportResult(record.index, record.client_ref, result);
        Tally(*out, &totals);
        if (response.results_size() == kImportChunk) send();
      }
      chunk.clear();
      if (response.results_size() > 0 || !sent) send();
      if (unknown > 0) {
        // Nothing after the last acknowledged events was recorded for sure, and a retry of every
        // record without a result is safe (each has an idempotency key).
        return absl::UnavailableError(StrCat(unavailable.message(), "; ", unknown,
                                             " record(s) got no result and may or may not have been recorded: "
                                             "send them again"));
      }
      return absl::OkStatus();
    };

    api::v1::ImportLeadsRequest request;
    while (stream->Read(&request)) {
      if (totals.received() == kMaxImportRecords) {
        if (!chunk.empty()) RETURN_IF_ERROR(flush());
        return InvalidField("lead", StrCat("at most ", kMaxImportRecords, " records per call: the first ",
                                           kMaxImportRecords, " were decided and answered, record ", kMaxImportRecords,
                                           " and those after it were not read; send them in another call"));
      }
      if (totals.received() == 0) dry_run = request.dry_run();
      Record record{totals.received(), std::move(*request.mutable_client_ref()), std::nullopt};
      totals.set_received(totals.received() + 1);
      api::v1::CaptureLeadRequest lead = std::move(*request.mutable_lead());
      if (record.client_ref.size() > kMaxClientRefBytes) {
        record.client_ref = std::string(Utf8Prefix(record.client_ref, kMaxClientRefBytes));
        record.refused = InvalidField("client_ref", StrCat("at most ", kMaxClientRefBytes, " bytes"));
      } else if (Status s = CheckCallerKey(lead.idempotency_key()); !s.ok()) {
        record.refused = s;
      } else {
        if (lead.idempotency_key().empty()) {
          // Derived from the content: importing the same record again is recognised as a retry.
          lead.set_idempotency_key(StrCat("import:", CommandHash(lead).substr(0, 40)));
        }
        commands.push_back(std::move(lead));
      }
      chunk.push_back(std::move(record));
      if (!dry_run && static_cast<int>(chunk.size()) == kImportChunk) RETURN_IF_ERROR(flush());
    }
    if (!chunk.empty() || responses == 0) RETURN_IF_ERROR(flush());
    log::Info(dry_run ? "leads import dry run" : "leads imported", {{"received", totals.received()}, {"created", totals.created()},
                                 {"duplicates", totals.duplicates()}, {"linked", totals.linked()},
                                 {"rejected", totals.rejected()}});
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

::grpc::Status LeadAcquisitionService::SetManagerExtension(::grpc::ServerContext* c,
                                                           const api::v1::SetManagerExtensionRequest* r,
                                                           api::v1::ManagerCommandResponse* out) {
  return ManagerCommand(c, "SetManagerExtension", *r, out);
}

::grpc::Status LeadAcquisitionService::MergeLeads(::grpc::ServerContext* c, const api::v1::MergeLeadsRequest* r,
                                                  api::v1::MergeLeadsResponse* out) {
  return Observe(c, "MergeLeads", [&](const Caller& caller) -> Status {
    ASSIGN_OR_RETURN(CommandResult result, commands_->Execute(*r, caller));
    out->set_survivor_lead_id(result.aggregate_id);
    out->set_survivor_version(result.version);
    out->set_merged_lead_id(r->merged_lead_id());
    out->set_replayed(result.replayed);
    return absl::OkStatus();
  });
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
