// The write side of lead acquisition.
//
// Commands are validated in the caller's thread, then decided by ONE decider thread that takes
// whatever is queued (up to a chunk) and, for the lot: reads state through a RocksDB batch (so
// each decision sees the ones before it in the chunk), decides the events with the pure aggregate
// code (lead.h), applies them to the batch, appends them all to Kafka in one round trip, and
// commits the batch once Kafka acknowledged. One decider makes every decision serial per aggregate
// (and automatic assignment deterministic) without locks; chunking (group commit) keeps the
// throughput of many callers at the cost of one Kafka round trip per chunk.
//
// Nothing reaches the store unless Kafka acknowledged it. UNAVAILABLE means the outcome is not
// known to the caller: a retry with the same idempotency key returns the first answer if the
// command was recorded after all, and carries it out otherwise. After a failed append, nothing is
// decided until the projection has caught up with the log (CommandOptions::resync). Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/kafka/publisher.h"
#include "common/observability/metrics.h"
#include "common/projection/projection.h"
#include "services/lead_acquisition/lead.h"

namespace sales::lead_acquisition {

struct CommandOptions {
  std::string topic;                                  // the leads topic (with prefix)
  std::string producer = "lead-acquisition";          // recorded on every envelope
  absl::Duration publish_timeout = absl::Seconds(5);  // bound on waiting for Kafka's ack
  int max_chunk = 2000;                               // commands decided per Kafka round trip
  // After a chunk whose append failed in part, some of its events may be in the log without being
  // in the store. Before deciding anything else the decider calls this, which must wait (at most
  // the given time) until the projection has applied the whole topic; UNAVAILABLE if it cannot
  // tell (Kafka down). Unset: nothing to wait for (unit tests with a fake publisher).
  std::function<Status(absl::Duration)> resync;
};

// Who is calling: filled by the gRPC layer from the call's metadata.
struct Caller {
  std::string correlation_id;
  std::string actor;
};

using Command = std::variant<api::v1::CaptureLeadRequest, api::v1::QualifyLeadRequest, api::v1::DisqualifyLeadRequest,
                             api::v1::AssignLeadRequest, api::v1::LogLeadActivityRequest,
                             api::v1::RegisterManagerRequest, api::v1::DeactivateManagerRequest>;

// What a command did.
struct CommandResult {
  std::string aggregate_id;
  int64_t version = 0;
  bool replayed = false;
  api::v1::CaptureOutcome capture = api::v1::CAPTURE_OUTCOME_UNSPECIFIED;  // captures only
  std::string assigned_manager_id;                                         // captures only
  std::string detail;  // e.g. what a duplicate duplicates
};

class LeadCommands {
 public:
  // Pointers must outlive this object. `metrics` may be null.
  // `applier` must apply with a LeadProjection.
  LeadCommands(CommandOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
               const Clock* clock, MetricsRegistry* metrics);
  ~LeadCommands();  // stops the decider; queued commands are answered UNAVAILABLE

  // Loads the manager roster and starts the decider. Call once the projection has caught up.
  Status Start();

  StatusOr<CommandResult> Execute(Command command, const Caller& caller);
  // Decided together, in order; one result each.
  std::vector<StatusOr<CommandResult>> ExecuteAll(std::vector<Command> commands, const Caller& caller);

 private:
  struct Pending;
  struct Decision;
  void Run();
  void ProcessChunk(std::vector<Pending*>& chunk);
  StatusOr<Decision> Decide(const Pending& p, Batch& batch);
  StatusOr<Decision> DecideCapture(const api::v1::CaptureLeadRequest& r, const Caller& caller, Batch& batch);
  template <typename Request, typename Fn>
  StatusOr<Decision> DecideOnLead(const Request& r, const char* command, const Caller& caller, Batch& batch, Fn decide);
  StatusOr<std::vector<Manager>> Candidates(Batch& batch);
  Decision Emit(std::string aggregate_type, std::string aggregate_id, int64_t version, const char* command,
                const std::string& key, const std::string& hash, const Caller& caller);

  CommandOptions options_;
  kafka::EventPublisher* publisher_;
  projection::Applier* applier_;
  projection::EventProjection* projection_;  // applier_'s, for applying envelopes without decoding
  const Clock* clock_;
  MetricsRegistry* metrics_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  std::thread decider_;
  bool in_doubt_ = false;            // decider thread only: a chunk's append failed; resync first
  absl::Time last_event_time_;       // decider thread only: event times never go backwards
  std::vector<std::string> roster_;  // manager ids; decider thread only (after Start)
};

// The fingerprint stored with an idempotency key: SHA-256 of the request type and its bytes
// (deterministic serialisation) without the key.
std::string CommandHash(const google::protobuf::Message& request_without_key);

}  // namespace sales::lead_acquisition
