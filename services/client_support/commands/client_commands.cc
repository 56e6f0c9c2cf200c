#include "services/client_support/commands/client_commands.h"

#include "common/base/hash.h"
#include "common/base/strings.h"
#include "common/command/idempotency.h"
#include "common/events/envelope.h"
#include "services/client_support/projection/clients_projection.h"

namespace sales::client_support {

using Decision = command::Decision<CommandResult>;
using command::HashWithoutKey;

namespace {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

constexpr const char* kNames[] = {"LogInteraction", "OpenTicket",    "RespondToTicket",  "ResolveTicket",
                                  "ReopenTicket",   "RecordOrder",   "RecordRenewal",    "ChurnClient",
                                  "ReactivateClient", "OpenClient", "RecordCall",       "BreachSla"};
static_assert(std::size(kNames) == std::variant_size_v<Command>);

// A caller's key may not start like the service's own keys; merged with the request's violations.
Status WithCallerKey(const std::string& key, Status validation) {
  for (const char* reserved : kReservedKeyPrefixes) {
    if (key.rfind(reserved, 0) == 0) {
      std::vector<FieldViolation> all = {
          {"idempotency_key", StrCat("keys starting with \"", reserved, "\" are reserved for the service")}};
      for (auto& v : FieldViolations(validation)) all.push_back(std::move(v));
      return InvalidArgument(std::move(all));
    }
  }
  return validation;
}

}  // namespace

class ClientCommands::Logic final : public command::DecisionLogic<Command, CommandResult> {
 public:
  explicit Logic(SlaTable sla) : sla_(std::move(sla)) {}

  const char* Name(const Command& command) const override { return kNames[command.index()]; }

  Status Validate(const Command& command, absl::Time now) const override {
    return std::visit(
        Overloaded{
            [&](const api::v1::LogInteractionRequest& r) {
              return WithCallerKey(r.idempotency_key(), ValidateLogInteraction(r, now));
            },
            [&](const api::v1::OpenTicketRequest& r) {
              return WithCallerKey(r.idempotency_key(), ValidateOpenTicket(r, now));
            },
            [&](const RespondToTicket& c) {
              return WithCallerKey(c.request.idempotency_key(), ValidateTicketCommand(c.request, "RespondToTicket", now));
            },
            [&](const ResolveTicket& c) {
              return WithCallerKey(c.request.idempotency_key(), ValidateTicketCommand(c.request, "ResolveTicket", now));
            },
            [&](const ReopenTicket& c) {
              return WithCallerKey(c.request.idempotency_key(), ValidateTicketCommand(c.request, "ReopenTicket", now));
            },
            [&](const api::v1::RecordOrderRequest& r) {
              return WithCallerKey(r.idempotency_key(), ValidateRecordOrder(r, now));
            },
            [&](const api::v1::RecordRenewalRequest& r) {
              return WithCallerKey(r.idempotency_key(), ValidateRecordRenewal(r, now));
            },
            [&](const api::v1::ChurnClientRequest& r) { return WithCallerKey(r.idempotency_key(), ValidateChurn(r, now)); },
            [&](const api::v1::ReactivateClientRequest& r) {
              return WithCallerKey(r.idempotency_key(), ValidateReactivate(r, now));
            },
            [&](const OpenClient& c) -> Status {
              const auto& a = c.offer_accepted;
              if (a.payload_case() != EventEnvelope::kOffer || !a.offer().has_accepted() ||
                  !a.offer().accepted().converts_lead()) {
                return InvalidField("offer_accepted", "not an acceptance that converts a lead");
              }
              return absl::OkStatus();
            },
            [&](const RecordCall& c) {
              return c.call.call_id().empty() ? InvalidField("call_id", "missing") : absl::OkStatus();
            },
            [&](const BreachSla& b) {
              return b.client_id.empty() || b.ticket_id.empty() ? InvalidField("ticket_id", "missing") : absl::OkStatus();
            }},
        command);
  }

  StatusOr<Decision> Decide(const Command& command, const Caller& caller, Batch& batch,
                            command::EventFactory& events) override {
    const absl::Time now = events.Now();
    return std::visit(
        Overloaded{
            [&](const api::v1::LogInteractionRequest& r) -> StatusOr<Decision> {
              return OnClient(r, "LogInteraction", events, caller, batch, [&](const ClientState& c) {
                return DecideLogInteraction(c, r, now);
              });
            },
            [&](const api::v1::OpenTicketRequest& r) -> StatusOr<Decision> {
              const std::string ticket = TicketIdFor(r.idempotency_key());
              ASSIGN_OR_RETURN(Decision d, OnClient(r, "OpenTicket", events, caller, batch, [&](const ClientState& c) {
                                 return DecideOpenTicket(c, r, ticket, sla_, now);
                               }));
              d.result.ticket_id = ticket;
              return d;
            },
            [&](const RespondToTicket& t) -> StatusOr<Decision> {
              return OnClient(t.request, "RespondToTicket", events, caller, batch,
                              [&](const ClientState& c) { return DecideRespond(c, t.request, now); });
            },
            [&](const ResolveTicket& t) -> StatusOr<Decision> {
              return OnClient(t.request, "ResolveTicket", events, caller, batch,
                              [&](const ClientState& c) { return DecideResolve(c, t.request, now); });
            },
            [&](const ReopenTicket& t) -> StatusOr<Decision> {
              return OnClient(t.request, "ReopenTicket", events, caller, batch,
                              [&](const ClientState& c) { return DecideReopen(c, t.request, sla_, now); });
            },
            [&](const api::v1::RecordOrderRequest& r) -> StatusOr<Decision> {
              const std::string order = OrderIdFor(r.idempotency_key());
              // The catalogue as this service knows it now (first offers' products on sales.offers);
              // the order records the costs it took.
              const CatalogueLookup catalogue = [&](const std::string& code) { return LoadCatalogueEntry(batch, code); };
              ASSIGN_OR_RETURN(Decision d, OnClient(r, "RecordOrder", events, caller, batch, [&](const ClientState& c) {
                                 return DecideRecordOrder(c, r, order, catalogue, now);
                               }));
              d.result.order_id = order;
              return d;
            },
            [&](const api::v1::RecordRenewalRequest& r) -> StatusOr<Decision> {
              return OnClient(r, "RecordRenewal", events, caller, batch, [&](const ClientState& c) {
                return DecideRecordRenewal(c, r, RenewalIdFor(r.idempotency_key()), now);
              });
            },
            [&](const api::v1::ChurnClientRequest& r) -> StatusOr<Decision> {
              return OnClient(r, "ChurnClient", events, caller, batch,
                              [&](const ClientState& c) { return DecideChurn(c, r); });
            },
            [&](const api::v1::ReactivateClientRequest& r) -> StatusOr<Decision> {
              return OnClient(r, "ReactivateClient", events, caller, batch,
                              [&](const ClientState& c) { return DecideReactivate(c, r); });
            },
            [&](const OpenClient& o) -> StatusOr<Decision> {
              const auto& conversion = o.offer_accepted.offer().accepted().conversion();
              const std::string key = StrCat("open:", conversion.lead_id());
              const std::string hash = Sha256Hex(StrCat("open:", o.offer_accepted.event_id()));
              ASSIGN_OR_RETURN(auto replay, Replay(batch, key, hash));
              if (replay) return *replay;
              const std::string id = ClientIdFor(conversion.lead_id());
              ASSIGN_OR_RETURN(std::optional<ClientState> state, LoadClient(batch, id));
              ASSIGN_OR_RETURN(ClientEvent event, DecideOpen(state, o.offer_accepted));
              return Emit(events, std::nullopt, id, std::move(event), "OpenClient", key, hash, caller,
                          o.offer_accepted.occurred_at());
            },
            [&](const RecordCall& c) -> StatusOr<Decision> { return DecideCall(c.call, caller, batch, events); },
            [&](const BreachSla& b) -> StatusOr<Decision> {
              ASSIGN_OR_RETURN(std::optional<ClientState> state, LoadClient(batch, b.client_id));
              if (!state) return absl::NotFoundError(StrCat("no client with id ", b.client_id));
              std::optional<ClientEvent> event = DecideSlaBreach(*state, b.ticket_id, b.kind, now);
              if (!event) {
                Decision d{{b.client_id, state->version()}, {}};
                d.result.nothing_to_do = true;
                return d;
              }
              const std::string key = StrCat("sla:", b.ticket_id, ":", static_cast<int>(b.kind), ":",
                                             absl::ToUnixNanos(b.due));
              return Emit(events, std::move(state), b.client_id, std::move(*event), "BreachSla", key, "sla", caller,
                          events::ToProto(b.due));
            }},
        command);
  }

 private:
  // The answer to a retry, from what the first call recorded; nullopt for a new key.
  static StatusOr<std::optional<Decision>> Replay(Batch& batch, const std::string& key, const std::string& hash) {
    ASSIGN_OR_RETURN(std::optional<command::IdempotencyRecord> earlier,
                     command::CheckRetry(batch, kIdempotencyFamily, key, hash));
    if (!earlier) return std::optional<Decision>();
    Decision d;
    d.result.client_id = earlier->aggregate_id;
    d.result.version = earlier->version;
    d.result.replayed = true;
    d.result.matched = earlier->event_type != "call.unmatched";
    return std::optional<Decision>(std::move(d));
  }

  // A command on an existing client: retry check, load, expected version, decide; the event's
  // occurred-at is the request's when given (historical imports).
  template <typename Request, typename Fn>
  StatusOr<Decision> OnClient(const Request& r, const char* name, command::EventFactory& events, const Caller& caller,
                              Batch& batch, Fn decide) {
    const std::string hash = HashWithoutKey(r);
    ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
    if (replay) {
      if constexpr (std::is_same_v<Request, api::v1::OpenTicketRequest>) {
        replay->result.ticket_id = TicketIdFor(r.idempotency_key());
      }
      return *replay;
    }
    ASSIGN_OR_RETURN(std::optional<ClientState> client, LoadClient(batch, r.client_id()));
    if (!client) return absl::NotFoundError(StrCat("no client with id ", r.client_id()));
    RETURN_IF_ERROR(
        command::CheckExpectedVersion(r.expected_version(), client->version(), StrCat("client ", r.client_id())));
    ASSIGN_OR_RETURN(ClientEvent event, decide(*client));
    return Emit(events, std::move(client), r.client_id(), std::move(event), name, r.idempotency_key(), hash, caller,
                r.has_occurred_at() ? std::optional(r.occurred_at()) : std::nullopt);
  }

  // A PBX call: an interaction of the client whose number it is, or an unmatched call.
  StatusOr<Decision> DecideCall(const PbxCall& parsed, const Caller& caller, Batch& batch,
                                command::EventFactory& events) {
    const std::string key = StrCat("pbx:", parsed.call_id());
    const std::string hash = command::CommandHash(parsed);
    ASSIGN_OR_RETURN(auto replay, Replay(batch, key, hash));
    if (replay) return *replay;
    PbxCall call = parsed;
    // The extension's manager at the call's start, from the roster as it stands now (lead
    // acquisition's events on sales.leads), recorded on the event: a rebuild reads it from there
    // and never resolves again, so a roster that lagged behind the call keeps what was known when
    // the call was decided (docs/CLIENTS.md). Unknown extension: no manager, the extension is kept.
    ASSIGN_OR_RETURN(std::string manager, ExtensionHolderAt(*batch_store_, call.extension(),
                                                            events::FromProto(call.started_at())));
    call.set_manager_id(manager);
    const std::string& number = call.direction() == events::v1::CALL_DIRECTION_OUTBOUND ? call.to() : call.from();
    const std::string match = PhoneMatchKey(number);
    std::string client_id;
    if (!match.empty()) {
      // The oldest client id with that number wins (deterministic; shared numbers are rare).
      RETURN_IF_ERROR(batch_store_->Scan(kClientPhonesFamily, match + "/", "", [&](std::string_view k, std::string_view) {
        client_id = std::string(k.substr(match.size() + 1));
        return false;
      }));
    }
    if (!client_id.empty()) {
      ASSIGN_OR_RETURN(std::optional<ClientState> client, LoadClient(batch, client_id));
      if (client) {
        call.set_matched_phone(match);
        ClientEvent event = CallInteraction(call);
        ASSIGN_OR_RETURN(Decision d, Emit(events, std::move(client), client_id, std::move(event), "RecordCall", key,
                                          hash, caller, call.started_at()));
        d.result.matched = true;
        return d;
      }
    }
    CallEvent event = UnmatchedCall(call);
    Decision d;
    d.events.push_back(events.New(kCallAggregate, call.call_id(), 1, EventTypeOf(event), kSchemaVersion, "RecordCall",
                                  key, hash, caller));
    *d.events.back().mutable_occurred_at() = call.started_at();
    *d.events.back().mutable_call() = std::move(event);
    d.result.client_id = call.call_id();
    d.result.version = 1;
    return d;
  }

  static StatusOr<Decision> Emit(command::EventFactory& events, std::optional<ClientState> client,
                                 const std::string& id, ClientEvent event, const char* name, const std::string& key,
                                 const std::string& hash, const Caller& caller,
                                 std::optional<google::protobuf::Timestamp> occurred_at) {
    const int64_t version = client ? client->version() + 1 : 1;
    Decision d;
    d.events.push_back(
        events.New(kClientAggregate, id, version, EventTypeOf(event), kSchemaVersion, name, key, hash, caller));
    // The business time of the fact when it is not now (back-dated imports, a call's start);
    // recorded-at stays the server's.
    if (occurred_at) *d.events.back().mutable_occurred_at() = *occurred_at;
    *d.events.back().mutable_client() = std::move(event);
    RETURN_IF_ERROR(EvolveClient(client, d.events.back()));
    d.result.client_id = id;
    d.result.version = version;
    return d;
  }

 public:
  const Store* batch_store_ = nullptr;  // for prefix scans (set at Start)
  Status Start(const Store& store) override {
    batch_store_ = &store;
    return absl::OkStatus();
  }

 private:
  SlaTable sla_;
};

ClientCommands::ClientCommands(command::DeciderOptions options, SlaTable sla, kafka::EventPublisher* publisher,
                               projection::Applier* applier, const Clock* clock, MetricsRegistry* metrics)
    : logic_(std::make_unique<Logic>(std::move(sla))) {
  if (options.producer.empty()) options.producer = "client-support";
  decider_ = std::make_unique<command::Decider<Command, CommandResult>>(std::move(options), logic_.get(), publisher,
                                                                       applier, clock, metrics);
}

ClientCommands::~ClientCommands() { decider_.reset(); }

Status ClientCommands::Start() { return decider_->Start(); }

StatusOr<CommandResult> ClientCommands::Execute(Command command, const Caller& caller) {
  return decider_->Execute(std::move(command), caller);
}

std::vector<StatusOr<CommandResult>> ClientCommands::ExecuteAll(std::vector<Command> commands, const Caller& caller) {
  return decider_->ExecuteAll(std::move(commands), caller);
}

Status ClientCommands::Health() const { return decider_->Health(); }

}  // namespace sales::client_support
