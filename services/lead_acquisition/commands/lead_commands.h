// The write side of lead acquisition: its decisions (lead.h) on the kit's decider
// (common/command/decider.h: bounded queue, group commit, append without holding the projection's
// lock, resync after a failed append). All decisions go through ONE decider thread, which makes
// every decision serial per aggregate and the automatic assignment deterministic without locks.
//
// Nothing reaches the store unless Kafka acknowledged it. UNAVAILABLE means the outcome is not
// known to the caller: a retry with the same idempotency key returns the first answer if the
// command was recorded after all, and carries it out otherwise. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/command/decider.h"
#include "common/kafka/publisher.h"
#include "common/observability/metrics.h"
#include "common/projection/projection.h"
#include "services/lead_acquisition/domain/lead.h"
#include "services/lead_acquisition/domain/source_channels.h"

namespace sales::lead_acquisition {

// The leads topic (with prefix), timeouts, resync: see command::DeciderOptions. An empty producer
// is recorded as "lead-acquisition".
using CommandOptions = command::DeciderOptions;
using command::Caller;
using command::CommandHash;

using Command = std::variant<api::v1::CaptureLeadRequest, api::v1::QualifyLeadRequest, api::v1::DisqualifyLeadRequest,
                             api::v1::AssignLeadRequest, api::v1::LogLeadActivityRequest,
                             api::v1::RegisterManagerRequest, api::v1::DeactivateManagerRequest,
                             api::v1::SetManagerExtensionRequest, api::v1::MergeLeadsRequest>;

// What a command did.
struct CommandResult {
  std::string aggregate_id;
  int64_t version = 0;
  bool replayed = false;
  api::v1::CaptureOutcome capture = api::v1::CAPTURE_OUTCOME_UNSPECIFIED;  // captures only
  std::string assigned_manager_id;                                         // captures only
  std::string detail;  // e.g. what a duplicate duplicates
  std::vector<std::string> left_out;  // captures: malformed values left out of a usable lead
};

class LeadCommands {
 public:
  // Pointers must outlive this object. `metrics` may be null.
  // `applier` must apply with a LeadProjection. `channels`: the source label table (null: the
  // built-in one).
  LeadCommands(CommandOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
               const Clock* clock, MetricsRegistry* metrics, const SourceChannels* channels = nullptr);
  ~LeadCommands();  // stops the decider; queued commands are answered UNAVAILABLE

  // Loads the manager roster and starts the decider. Call once the projection has caught up.
  Status Start();

  StatusOr<CommandResult> Execute(Command command, const Caller& caller);
  // Decided together, in order; one result each.
  std::vector<StatusOr<CommandResult>> ExecuteAll(std::vector<Command> commands, const Caller& caller);
  // What ExecuteAll would answer, deciding every command in order on one batch, with nothing
  // appended or stored (an import's dry run; command::Decider::DryRunAll).
  std::vector<StatusOr<CommandResult>> DryRunAll(std::vector<Command> commands, const Caller& caller);

  // OK, or why commands cannot be decided now.
  Status Health() const;

 private:
  class Logic;
  std::unique_ptr<Logic> logic_;
  std::unique_ptr<command::Decider<Command, CommandResult>> decider_;
};

}  // namespace sales::lead_acquisition
