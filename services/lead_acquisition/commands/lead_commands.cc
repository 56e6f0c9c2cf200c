#include "services/lead_acquisition/commands/lead_commands.h"

#include "common/base/strings.h"
#include "common/command/idempotency.h"
#include "common/events/envelope.h"
#include "common/unicode/unicode.h"
#include "services/lead_acquisition/projection/lead_projection.h"
#include "services/lead_acquisition/domain/validation.h"

namespace sales::lead_acquisition {

using Decision = command::Decision<CommandResult>;

namespace {

using command::HashWithoutKey;

Status Validate(const Command& command, absl::Time now) {
  return std::visit(
      [&](const auto& r) -> Status {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, api::v1::CaptureLeadRequest>) return ValidateCapture(r);
        if constexpr (std::is_same_v<T, api::v1::QualifyLeadRequest>) return ValidateQualify(r);
        if constexpr (std::is_same_v<T, api::v1::DisqualifyLeadRequest>) return ValidateDisqualify(r);
        if constexpr (std::is_same_v<T, api::v1::AssignLeadRequest>) return ValidateAssign(r);
        if constexpr (std::is_same_v<T, api::v1::LogLeadActivityRequest>) return ValidateLogActivity(r, now);
        if constexpr (std::is_same_v<T, api::v1::RegisterManagerRequest>) return ValidateRegisterManager(r);
        if constexpr (std::is_same_v<T, api::v1::DeactivateManagerRequest>) return ValidateDeactivateManager(r);
        if constexpr (std::is_same_v<T, api::v1::SetManagerExtensionRequest>) return ValidateSetManagerExtension(r);
        if constexpr (std::is_same_v<T, api::v1::MergeLeadsRequest>) return ValidateMerge(r);
      },
      command);
}

const char* CommandName(const Command& command) {
  static constexpr const char* kNames[] = {"CaptureLead",       "QualifyLead",     "DisqualifyLead",
                                           "AssignLead",        "LogLeadActivity", "RegisterManager",
                                           "DeactivateManager", "SetManagerExtension", "MergeLeads"};
  static_assert(std::size(kNames) == std::variant_size_v<Command>);
  return kNames[command.index()];
}

// The answer to a retry, from what the first call recorded. Same key, other request: refused.
StatusOr<std::optional<CommandResult>> Replay(Batch& batch, const std::string& key, const std::string& hash) {
  ASSIGN_OR_RETURN(std::optional<command::IdempotencyRecord> earlier,
                   command::CheckRetry(batch, kIdempotencyFamily, key, hash, kLeadCaptured));
  if (!earlier) return std::optional<CommandResult>();
  CommandResult r;
  r.aggregate_id = earlier->aggregate_id;
  r.version = earlier->version;
  r.replayed = true;
  if (earlier->event_type == "lead.captured") r.capture = api::v1::CAPTURE_OUTCOME_CREATED;
  if (earlier->event_type == "lead.source_linked") r.capture = api::v1::CAPTURE_OUTCOME_LINKED;
  return std::optional<CommandResult>(std::move(r));
}

// Line breaks and tabs in one-line fields are a space (a company name broken over two lines in
// the source system), for every way a capture arrives. Before the idempotency hash, so a retry of
// the same request is recognised.
void NormalizeText(Command& command) {
  if (auto* r = std::get_if<api::v1::CaptureLeadRequest>(&command)) {
    r->set_name(unicode::SingleLine(r->name()));
    r->set_company(unicode::SingleLine(r->company()));
    r->set_external_id(unicode::SingleLine(r->external_id()));
    r->set_source_label(unicode::SingleLine(r->source_label()));
  }
}

}  // namespace

// The decisions of lead acquisition, run by the kit's decider (decider thread only).
class LeadCommands::Logic final : public command::DecisionLogic<Command, CommandResult> {
 public:
  Logic(const Clock* clock, const SourceChannels* channels) : clock_(clock), channels_(channels) {}

  const char* Name(const Command& command) const override { return CommandName(command); }
  Status Validate(const Command& command, absl::Time now) const override {
    return lead_acquisition::Validate(command, now);
  }
  Status Start(const Store& store) override {
    return store.Scan(kManagersFamily, "", "", [&](std::string_view id, std::string_view) {
      roster_.emplace_back(id);
      return true;
    });
  }
  StatusOr<Decision> Decide(const Command& command, const Caller& caller, Batch& batch,
                            command::EventFactory& events) override;

 private:
  StatusOr<Decision> DecideCapture(const api::v1::CaptureLeadRequest& request, const Caller& caller, Batch& batch);
  StatusOr<Decision> DecideMergeLeads(const api::v1::MergeLeadsRequest& r, const Caller& caller, Batch& batch);
  // The lead an index entry stands for: itself, or the survivor it was merged into.
  StatusOr<std::optional<std::string>> Survivor(Batch& batch, std::optional<std::string> id);
  template <typename Request, typename Fn>
  StatusOr<Decision> DecideOnLead(const Request& r, const char* command, const Caller& caller, Batch& batch, Fn decide);
  StatusOr<std::vector<Manager>> Candidates(Batch& batch);
  // The active manager other than `manager_id` holding `extension`, if any.
  StatusOr<std::optional<Manager>> HolderOf(Batch& batch, const std::string& extension);
  StatusOr<Decision> DecideManager(const api::v1::RegisterManagerRequest& r, const Caller& caller, Batch& batch);
  StatusOr<Decision> DecideManager(const api::v1::DeactivateManagerRequest& r, const Caller& caller, Batch& batch);
  StatusOr<Decision> DecideManager(const api::v1::SetManagerExtensionRequest& r, const Caller& caller, Batch& batch);
  // A decision with one event (its payload set by the caller), answering `aggregate_id` at `version`.
  Decision Emit(std::string aggregate_type, std::string aggregate_id, int64_t version, const char* command,
                const std::string& key, const std::string& hash, const Caller& caller);
  static EventEnvelope& Event(Decision& d) { return d.events.front(); }

  const Clock* clock_;
  const SourceChannels* channels_;
  command::EventFactory* events_ = nullptr;  // during Decide
  std::vector<std::string> roster_;          // manager ids
};

LeadCommands::LeadCommands(CommandOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
                           const Clock* clock, MetricsRegistry* metrics, const SourceChannels* channels) {
  if (!channels) {
    static const SourceChannels* built_in = new SourceChannels();
    channels = built_in;
  }
  logic_ = std::make_unique<Logic>(clock, channels);
  if (options.producer.empty()) options.producer = "lead-acquisition";
  decider_ = std::make_unique<command::Decider<Command, CommandResult>>(std::move(options), logic_.get(), publisher,
                                                                       applier, clock, metrics);
}

LeadCommands::~LeadCommands() { decider_.reset(); }

Status LeadCommands::Start() { return decider_->Start(); }

StatusOr<CommandResult> LeadCommands::Execute(Command command, const Caller& caller) {
  NormalizeText(command);
  return decider_->Execute(std::move(command), caller);
}

std::vector<StatusOr<CommandResult>> LeadCommands::ExecuteAll(std::vector<Command> commands, const Caller& caller) {
  for (auto& c : commands) NormalizeText(c);
  return decider_->ExecuteAll(std::move(commands), caller);
}

std::vector<StatusOr<CommandResult>> LeadCommands::DryRunAll(std::vector<Command> commands, const Caller& caller) {
  for (auto& c : commands) NormalizeText(c);
  return decider_->DryRunAll(std::move(commands), caller);
}

Status LeadCommands::Health() const { return decider_->Health(); }

Decision LeadCommands::Logic::Emit(std::string aggregate_type, std::string aggregate_id, int64_t version,
                                   const char* command, const std::string& key, const std::string& hash,
                                   const Caller& caller) {
  // Event times never go backwards (the factory sees to it): a clock step back must not put a new
  // lead behind a page token already handed out (ListLeads orders by capture time).
  Decision d;
  d.events.push_back(events_->New(aggregate_type, aggregate_id, version, "", kSchemaVersion, command, key, hash, caller));
  d.result.aggregate_id = std::move(aggregate_id);
  d.result.version = version;
  return d;
}

StatusOr<std::vector<Manager>> LeadCommands::Logic::Candidates(Batch& batch) {
  std::vector<Manager> managers;
  for (const auto& id : roster_) {
    ASSIGN_OR_RETURN(std::optional<Manager> m, LoadManager(batch, id));
    if (m && m->active()) managers.push_back(std::move(*m));
  }
  return managers;
}

// Defined before Decide, which instantiates it with lambdas (clang wants the definition first).
template <typename Request, typename Fn>
StatusOr<Decision> LeadCommands::Logic::DecideOnLead(const Request& r, const char* command, const Caller& caller,
                                                     Batch& batch, Fn decide) {
  const std::string hash = HashWithoutKey(r);
  ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
  if (replay) return Decision{std::move(*replay), {}};
  ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(batch, r.lead_id()));
  if (!lead) return absl::NotFoundError(StrCat("no lead with id ", r.lead_id()));
  ASSIGN_OR_RETURN(LeadEvent event, decide(*lead));
  Decision d = Emit(kLeadAggregate, r.lead_id(), lead->version() + 1, command, r.idempotency_key(), hash, caller);
  Event(d).set_event_type(EventTypeOf(event));
  *Event(d).mutable_lead() = std::move(event);
  return d;
}

StatusOr<Decision> LeadCommands::Logic::Decide(const Command& command, const Caller& caller, Batch& batch,
                                               command::EventFactory& events) {
  events_ = &events;
  return std::visit(
      [&](const auto& r) -> StatusOr<Decision> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, api::v1::CaptureLeadRequest>) {
          return DecideCapture(r, caller, batch);
        } else if constexpr (std::is_same_v<T, api::v1::QualifyLeadRequest>) {
          return DecideOnLead(r, "QualifyLead", caller, batch, [&](const Lead& lead) { return DecideQualify(lead, r); });
        } else if constexpr (std::is_same_v<T, api::v1::DisqualifyLeadRequest>) {
          return DecideOnLead(r, "DisqualifyLead", caller, batch,
                              [&](const Lead& lead) { return DecideDisqualify(lead, r); });
        } else if constexpr (std::is_same_v<T, api::v1::AssignLeadRequest> ||
                             std::is_same_v<T, api::v1::LogLeadActivityRequest>) {
          constexpr bool kAssign = std::is_same_v<T, api::v1::AssignLeadRequest>;
          return DecideOnLead(r, kAssign ? "AssignLead" : "LogLeadActivity", caller, batch,
                              [&](const Lead& lead) -> StatusOr<LeadEvent> {
                                ASSIGN_OR_RETURN(std::optional<Manager> m, LoadManager(batch, r.manager_id()));
                                if (!m) return absl::NotFoundError(StrCat("no manager with id ", r.manager_id()));
                                if constexpr (kAssign) {
                                  return DecideAssign(lead, *m, r);
                                } else {
                                  return DecideLogActivity(lead, *m, r, clock_->Now());
                                }
                              });
        } else if constexpr (std::is_same_v<T, api::v1::MergeLeadsRequest>) {
          return DecideMergeLeads(r, caller, batch);
        } else {
          return DecideManager(r, caller, batch);
        }
      },
      command);
}

StatusOr<std::optional<Manager>> LeadCommands::Logic::HolderOf(Batch& batch, const std::string& extension) {
  if (extension.empty()) return std::optional<Manager>();
  ASSIGN_OR_RETURN(std::optional<std::string> id, ExtensionHolder(batch, extension));
  if (!id) return std::optional<Manager>();
  return LoadManager(batch, *id);
}

StatusOr<Decision> LeadCommands::Logic::DecideManager(const api::v1::RegisterManagerRequest& r, const Caller& caller,
                                                      Batch& batch) {
  const std::string hash = HashWithoutKey(r);
  ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
  if (replay) return Decision{std::move(*replay), {}};
  const std::string id = ManagerIdFor(r.idempotency_key());
  ASSIGN_OR_RETURN(std::optional<Manager> existing, LoadManager(batch, id));
  if (existing) return absl::AlreadyExistsError(StrCat("manager ", id, " already exists"));
  ManagerEvent event = DecideRegisterManager(r);
  ASSIGN_OR_RETURN(std::optional<Manager> holder, HolderOf(batch, event.registered().extension()));
  RETURN_IF_ERROR(ExtensionFree(id, event.registered().extension(), holder ? &*holder : nullptr));
  Decision d = Emit(kManagerAggregate, id, 1, "RegisterManager", r.idempotency_key(), hash, caller);
  Event(d).set_event_type(EventTypeOf(event));
  *Event(d).mutable_manager() = std::move(event);
  if (std::find(roster_.begin(), roster_.end(), id) == roster_.end()) roster_.push_back(id);
  return d;
}

StatusOr<Decision> LeadCommands::Logic::DecideManager(const api::v1::DeactivateManagerRequest& r, const Caller& caller,
                                                      Batch& batch) {
  const std::string hash = HashWithoutKey(r);
  ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
  if (replay) return Decision{std::move(*replay), {}};
  ASSIGN_OR_RETURN(std::optional<Manager> m, LoadManager(batch, r.manager_id()));
  if (!m) return absl::NotFoundError(StrCat("no manager with id ", r.manager_id()));
  ASSIGN_OR_RETURN(ManagerEvent event, DecideDeactivateManager(*m, r));
  Decision d = Emit(kManagerAggregate, r.manager_id(), m->version() + 1, "DeactivateManager", r.idempotency_key(),
                    hash, caller);
  Event(d).set_event_type(EventTypeOf(event));
  *Event(d).mutable_manager() = std::move(event);
  return d;
}

StatusOr<Decision> LeadCommands::Logic::DecideManager(const api::v1::SetManagerExtensionRequest& r,
                                                      const Caller& caller, Batch& batch) {
  const std::string hash = HashWithoutKey(r);
  ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
  if (replay) return Decision{std::move(*replay), {}};
  ASSIGN_OR_RETURN(std::optional<Manager> m, LoadManager(batch, r.manager_id()));
  if (!m) return absl::NotFoundError(StrCat("no manager with id ", r.manager_id()));
  ASSIGN_OR_RETURN(std::optional<Manager> holder, HolderOf(batch, Trim(r.extension())));
  ASSIGN_OR_RETURN(std::optional<ManagerEvent> event, DecideSetManagerExtension(*m, r, holder ? &*holder : nullptr));
  if (!event) return Decision{CommandResult{r.manager_id(), m->version()}, {}};  // already so
  Decision d = Emit(kManagerAggregate, r.manager_id(), m->version() + 1, "SetManagerExtension", r.idempotency_key(),
                    hash, caller);
  Event(d).set_event_type(EventTypeOf(*event));
  *Event(d).mutable_manager() = std::move(*event);
  return d;
}

StatusOr<std::optional<std::string>> LeadCommands::Logic::Survivor(Batch& batch, std::optional<std::string> id) {
  for (int hops = 0; id && hops < 64; ++hops) {
    ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(batch, *id));
    if (!lead || lead->status() != Lead::STATUS_MERGED) return id;
    id = lead->merged_into_lead_id();
  }
  return id;
}

StatusOr<Decision> LeadCommands::Logic::DecideMergeLeads(const api::v1::MergeLeadsRequest& r, const Caller& caller,
                                                         Batch& batch) {
  const std::string hash = HashWithoutKey(r);
  ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
  if (replay) return Decision{std::move(*replay), {}};
  ASSIGN_OR_RETURN(std::optional<Lead> survivor, LoadLead(batch, r.survivor_lead_id()));
  if (!survivor) return absl::NotFoundError(StrCat("no lead with id ", r.survivor_lead_id()));
  ASSIGN_OR_RETURN(std::optional<Lead> merged, LoadLead(batch, r.merged_lead_id()));
  if (!merged) return absl::NotFoundError(StrCat("no lead with id ", r.merged_lead_id()));
  if (merged->status() == Lead::STATUS_MERGED && merged->merged_into_lead_id() == survivor->lead_id()) {
    // Merged before (another key, another manager): the same answer, nothing appended.
    Decision d;
    d.result.aggregate_id = survivor->lead_id();
    d.result.version = survivor->version();
    d.result.replayed = true;
    return d;
  }
  ASSIGN_OR_RETURN(MergeEvents events, DecideMerge(*survivor, *merged, r));
  // Two events, one per lead, so each lead's row is built from its own events. Only the
  // survivor's carries the idempotency key: a retry answers with the survivor, whichever order a
  // rebuild applies the two in.
  Decision d = Emit(kLeadAggregate, survivor->lead_id(), survivor->version() + 1, "MergeLeads", r.idempotency_key(),
                    hash, caller);
  *Event(d).mutable_lead() = std::move(events.survivor);
  Event(d).set_event_type(EventTypeOf(Event(d).lead()));
  d.events.push_back(events_->New(kLeadAggregate, merged->lead_id(), merged->version() + 1, "", kSchemaVersion,
                                  "MergeLeads", r.idempotency_key(), hash, caller));
  d.events.back().clear_idempotency_key();
  *d.events.back().mutable_lead() = std::move(events.merged);
  d.events.back().set_event_type(EventTypeOf(d.events.back().lead()));
  return d;
}

StatusOr<Decision> LeadCommands::Logic::DecideCapture(const api::v1::CaptureLeadRequest& request, const Caller& caller,
                                                      Batch& batch) {
  const std::string hash = HashWithoutKey(request);
  // The channel of the sender's label, from the table as it is now (the events record it, so a
  // rebuild never looks it up again). After the hash: a retry is the same request.
  api::v1::CaptureLeadRequest r = request;
  if (r.source() == events::v1::LEAD_SOURCE_UNSPECIFIED) r.set_source(channels_->Channel(r.source_label()));
  ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
  if (replay) {
    ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(batch, replay->aggregate_id));
    if (lead) replay->assigned_manager_id = lead->owner_manager_id();
    return Decision{std::move(*replay), {}};
  }

  // De-duplication (docs/LEADS.md): the same (source, external id) is the same lead; the same
  // e-mail or phone from elsewhere is the same person, linked to the existing lead.
  auto existing_by = [&](const std::string& key) { return LookupIndex(batch, key); };
  const std::string external_id = Trim(r.external_id());
  if (!external_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> id, existing_by(SourceKey(r.source(), external_id)));
    ASSIGN_OR_RETURN(id, Survivor(batch, std::move(id)));
    if (id) {
      ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(batch, *id));
      Decision d;
      d.result = {*id, lead ? lead->version() : 0, false, api::v1::CAPTURE_OUTCOME_DUPLICATE,
                  lead ? lead->owner_manager_id() : "",
                  StrCat("same source and external id \"", external_id, "\" as lead ", *id)};
      return d;
    }
  }
  std::optional<std::string> match;
  std::string matched_on;
  if (const std::string email = UsableEmail(r); !email.empty()) {
    ASSIGN_OR_RETURN(match, existing_by(EmailKey(email)));
    ASSIGN_OR_RETURN(match, Survivor(batch, std::move(match)));
    if (match) matched_on = "email";
  }
  if (const std::string phone = NormalizePhone(UsablePhone(r)); !match && !phone.empty()) {
    ASSIGN_OR_RETURN(match, existing_by(PhoneKey(phone)));
    ASSIGN_OR_RETURN(match, Survivor(batch, std::move(match)));
    if (match) matched_on = "phone";
  }
  if (match) {
    ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(batch, *match));
    if (!lead) return absl::InternalError(StrCat("index points at missing lead ", *match));
    Decision d = Emit(kLeadAggregate, *match, lead->version() + 1, "CaptureLead", r.idempotency_key(), hash, caller);
    *Event(d).mutable_lead() = DecideLink(r, matched_on);
    Event(d).set_event_type(EventTypeOf(Event(d).lead()));
    d.result.capture = api::v1::CAPTURE_OUTCOME_LINKED;
    d.result.assigned_manager_id = lead->owner_manager_id();
    d.result.left_out = LeftOut(r);
    d.result.detail = StrCat("same ", matched_on == "email" ? "e-mail" : "phone", " as lead ", *match);
    return d;
  }

  const std::string id = LeadIdFor(r.idempotency_key());
  ASSIGN_OR_RETURN(std::optional<Lead> existing, LoadLead(batch, id));
  if (existing) return absl::AlreadyExistsError(StrCat("lead ", id, " already exists"));
  ASSIGN_OR_RETURN(std::vector<Manager> managers, Candidates(batch));
  events::v1::Assignment assignment =
      ChooseManager(r.region(), {r.product_interest().begin(), r.product_interest().end()}, managers);
  Decision d = Emit(kLeadAggregate, id, 1, "CaptureLead", r.idempotency_key(), hash, caller);
  d.result.capture = api::v1::CAPTURE_OUTCOME_CREATED;
  d.result.assigned_manager_id = assignment.manager_id();
  d.result.left_out = LeftOut(r);
  *Event(d).mutable_lead() = lead_acquisition::DecideCapture(r, std::move(assignment));
  Event(d).set_event_type(EventTypeOf(Event(d).lead()));
  return d;
}

}  // namespace sales::lead_acquisition
