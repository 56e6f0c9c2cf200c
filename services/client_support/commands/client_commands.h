// The write side of client support: its decisions (domain/client.h) on the kit's decider. One
// decider thread decides every client command in order, reading state through the chunk's batch.
//
// Besides the API's commands, three come from the service itself, each with a deterministic
// idempotency key, so that a replay of their source re-runs them as retries:
//   OpenClient  from first offers' OfferAccepted (converts_lead) on sales.offers: "open:<lead id>"
//   RecordCall  from a PBX record on telephony.calls.inbound: "pbx:<call id>"
//   BreachSla   from the SLA scheduler: "sla:<ticket id>:<kind>:<due, unix nanos>"
// Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/command/decider.h"
#include "services/client_support/domain/client.h"

namespace sales::client_support {

using command::Caller;

struct RespondToTicket {
  api::v1::TicketCommandRequest request;
};
struct ResolveTicket {
  api::v1::TicketCommandRequest request;
};
struct ReopenTicket {
  api::v1::TicketCommandRequest request;
};
struct OpenClient {
  EventEnvelope offer_accepted;  // from sales.offers, with converts_lead
};
struct RecordCall {
  PbxCall call;  // parsed and normalised; matched to a client when deciding
};
struct BreachSla {
  std::string client_id;
  std::string ticket_id;
  events::v1::SlaKind kind = events::v1::SLA_KIND_UNSPECIFIED;
  absl::Time due;
};

using Command = std::variant<api::v1::LogInteractionRequest, api::v1::OpenTicketRequest, RespondToTicket, ResolveTicket,
                             ReopenTicket, api::v1::RecordOrderRequest, api::v1::RecordRenewalRequest,
                             api::v1::ChurnClientRequest, api::v1::ReactivateClientRequest, OpenClient, RecordCall,
                             BreachSla>;

struct CommandResult {
  std::string client_id;  // or the call id of an unmatched call
  int64_t version = 0;
  bool replayed = false;
  bool nothing_to_do = false;  // BreachSla on a target met or not yet due
  bool matched = false;        // RecordCall: the call matched a client
  std::string ticket_id;       // OpenTicket
  std::string order_id;        // RecordOrder
};

// Idempotency keys starting with these are the service's own; callers' keys may not.
inline constexpr const char* kReservedKeyPrefixes[] = {"open:", "pbx:", "sla:"};

class ClientCommands {
 public:
  // Pointers must outlive this object; `metrics` may be null. `applier` applies with a
  // ClientsProjection.
  ClientCommands(command::DeciderOptions options, SlaTable sla, kafka::EventPublisher* publisher,
                 projection::Applier* applier, const Clock* clock, MetricsRegistry* metrics);
  ~ClientCommands();

  Status Start();
  StatusOr<CommandResult> Execute(Command command, const Caller& caller);
  std::vector<StatusOr<CommandResult>> ExecuteAll(std::vector<Command> commands, const Caller& caller);
  Status Health() const;

 private:
  class Logic;
  std::unique_ptr<Logic> logic_;
  std::unique_ptr<command::Decider<Command, CommandResult>> decider_;
};

}  // namespace sales::client_support
