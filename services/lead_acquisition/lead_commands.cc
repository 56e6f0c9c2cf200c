#include "services/lead_acquisition/lead_commands.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/time/clock.h"
#include "common/base/hash.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "services/lead_acquisition/lead_projection.h"
#include "services/lead_acquisition/validation.h"

namespace sales::lead_acquisition {

struct LeadCommands::Pending {
  Command command;
  Caller caller;
  std::promise<StatusOr<CommandResult>> promise;
};

// What deciding one command gave: an answer, and (unless it was answered from the store) the
// event to append.
struct LeadCommands::Decision {
  CommandResult result;
  std::optional<EventEnvelope> event;
};

std::string CommandHash(const google::protobuf::Message& request) {
  std::string bytes = request.GetDescriptor()->full_name();
  bytes.push_back('\0');
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return Sha256Hex(bytes);
}

namespace {

template <typename Request>
std::string HashWithoutKey(const Request& r) {
  Request copy = r;
  copy.clear_idempotency_key();
  return CommandHash(copy);
}

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
      },
      command);
}

const char* CommandName(const Command& command) {
  static constexpr const char* kNames[] = {"CaptureLead",    "QualifyLead",     "DisqualifyLead",   "AssignLead",
                                           "LogLeadActivity", "RegisterManager", "DeactivateManager"};
  return kNames[command.index()];
}

// The answer to a retry, from what the first call recorded. Same key, other request: refused.
StatusOr<std::optional<CommandResult>> Replay(Batch& batch, const std::string& key, const std::string& hash) {
  ASSIGN_OR_RETURN(std::optional<IdempotencyRecord> earlier, LoadIdempotency(batch, key));
  if (!earlier) return std::optional<CommandResult>();
  if (earlier->command_hash != hash) {
    return InvalidField("idempotency_key", "already used for a different request; use a new key per command");
  }
  CommandResult r;
  r.aggregate_id = earlier->aggregate_id;
  r.version = earlier->version;
  r.replayed = true;
  if (earlier->event_type == "lead.captured") r.capture = api::v1::CAPTURE_OUTCOME_CREATED;
  if (earlier->event_type == "lead.source_linked") r.capture = api::v1::CAPTURE_OUTCOME_LINKED;
  return std::optional<CommandResult>(std::move(r));
}

}  // namespace

LeadCommands::LeadCommands(CommandOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
                           const Clock* clock, MetricsRegistry* metrics)
    : options_(std::move(options)),
      publisher_(publisher),
      applier_(applier),
      projection_(dynamic_cast<projection::EventProjection*>(applier->projection())),
      clock_(clock),
      metrics_(metrics) {}

LeadCommands::~LeadCommands() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (decider_.joinable()) decider_.join();
  for (Pending* p : queue_) {
    p->promise.set_value(absl::UnavailableError("the service is shutting down; retry with the same key"));
    delete p;
  }
}

Status LeadCommands::Start() {
  RETURN_IF_ERROR(applier_->store()->Scan(kManagersFamily, "", "", [&](std::string_view id, std::string_view) {
    roster_.emplace_back(id);
    return true;
  }));
  decider_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

StatusOr<CommandResult> LeadCommands::Execute(Command command, const Caller& caller) {
  std::vector<Command> one;
  one.push_back(std::move(command));
  return std::move(ExecuteAll(std::move(one), caller).front());
}

std::vector<StatusOr<CommandResult>> LeadCommands::ExecuteAll(std::vector<Command> commands, const Caller& caller) {
  std::vector<StatusOr<CommandResult>> results(commands.size(), absl::UnknownError("not decided"));
  std::vector<std::pair<size_t, std::future<StatusOr<CommandResult>>>> waiting;
  const absl::Time now = clock_->Now();
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < commands.size(); ++i) {
      if (Status s = Validate(commands[i], now); !s.ok()) {
        results[i] = s;
        continue;
      }
      if (stopping_) {
        results[i] = absl::UnavailableError("the service is shutting down; retry with the same key");
        continue;
      }
      auto* p = new Pending{std::move(commands[i]), caller, {}};
      waiting.emplace_back(i, p->promise.get_future());
      queue_.push_back(p);
    }
  }
  cv_.notify_one();
  for (auto& [i, future] : waiting) results[i] = future.get();
  return results;
}

void LeadCommands::Run() {
  while (true) {
    std::vector<Pending*> chunk;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      while (!queue_.empty() && static_cast<int>(chunk.size()) < options_.max_chunk) {
        chunk.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    ProcessChunk(chunk);
    for (Pending* p : chunk) delete p;
  }
}

void LeadCommands::ProcessChunk(std::vector<Pending*>& chunk) {
  if (in_doubt_) {
    // Never decide on a store that may lack events already in the log (duplicates undetected,
    // versions reused): first let the projection catch up with the log.
    Status s = options_.resync ? options_.resync(options_.publish_timeout) : absl::OkStatus();
    if (!s.ok()) {
      for (Pending* p : chunk) {
        p->promise.set_value(absl::UnavailableError(
            StrCat("recovering from a failed append (", s.message(), "); retry with the same idempotency key")));
      }
      return;
    }
    in_doubt_ = false;
  }
  std::vector<std::optional<StatusOr<CommandResult>>> answers(chunk.size());
  std::vector<size_t> appended;  // chunk indexes whose events go to Kafka
  std::vector<projection::Record> records;
  absl::Time phase_start = absl::Now();
  auto phase = [&](const char* name) {
    const absl::Time now = absl::Now();
    if (metrics_) {
      metrics_->GetHistogram("sales_decider_phase_seconds", "Time per chunk in each phase of the decider.",
                             {{"phase", name}})
          .Observe(absl::ToDoubleSeconds(now - phase_start));
    }
    phase_start = now;
  };
  std::unique_lock apply_lock(applier_->mutex());
  phase("wait_for_projection");
  Batch batch = applier_->store()->NewBatch();
  for (size_t i = 0; i < chunk.size(); ++i) {
    batch.SetSavePoint();
    StatusOr<Decision> d = Decide(*chunk[i], batch);
    if (d.ok() && d->event) {
      // Apply now, so the next decisions in this chunk see it.
      projection::Record record{options_.topic, -1, -1, d->event->aggregate_id(), events::Encode(*d->event),
                                {{"event_type", d->event->event_type()}, {"content-type", "application/x-protobuf"}}};
      auto applied = projection_ ? projection_->ApplyDecoded(*d->event, batch)
                                 : applier_->projection()->Apply(record, batch);
      if (!applied.ok() || *applied != projection::Outcome::kApplied) {
        d = absl::InternalError(StrCat("decided event does not apply: ",
                                       applied.ok() ? "seen as a duplicate" : applied.status().ToString()));
      } else {
        appended.push_back(i);
        records.push_back(std::move(record));
      }
    }
    if (!d.ok()) {
      batch.RollbackToSavePoint().IgnoreError();
      answers[i] = d.status();
      continue;
    }
    batch.PopSavePoint().IgnoreError();
    answers[i] = std::move(d->result);
  }

  phase("decide");
  if (!records.empty()) {
    std::vector<kafka::OutgoingMessage> messages;
    for (const auto& r : records) messages.push_back({r.topic, r.key, r.value, r.headers});
    std::vector<StatusOr<kafka::Position>> positions = publisher_->Publish(std::move(messages), options_.publish_timeout);
    phase("append");
    Status failure = absl::OkStatus();
    for (size_t k = 0; k < records.size(); ++k) {
      if (positions[k].ok()) {
        records[k].partition = positions[k]->partition;
        records[k].offset = positions[k]->offset;
      } else if (failure.ok()) {
        failure = positions[k].status();
      }
    }
    if (failure.ok()) {
      if (Status s = applier_->CommitAppended(batch, records); !s.ok()) {
        // The events are durable in Kafka; the projection runner applies them, and no decision is
        // made until it has.
        log::Error("applying appended events failed; the projection runner will apply them", {{"error", s.ToString()}});
        in_doubt_ = true;
      }
    } else {
      // Some events may be in the log, others not, and later decisions of this chunk may rest on
      // the missing ones: nothing of the batch is committed, every command of the chunk answers
      // UNAVAILABLE (a retry with the same key returns the first answer if it was recorded), and
      // the next chunk waits for the projection to catch up with whatever did reach the log.
      log::Warn("append failed; the chunk is answered UNAVAILABLE", {{"events", records.size()},
                                                                      {"error", failure.ToString()}});
      for (auto& a : answers) {
        a = absl::UnavailableError(StrCat(failure.message(), "; retry with the same idempotency key"));
      }
      in_doubt_ = true;
    }
  }
  apply_lock.unlock();
  phase("commit");

  for (size_t i = 0; i < chunk.size(); ++i) {
    if (metrics_) {
      metrics_->GetCounter("sales_commands_total", "Commands decided, by command and status code.",
                           {{"command", CommandName(chunk[i]->command)},
                            {"code", absl::StatusCodeToString(answers[i]->status().code())}})
          .Inc();
    }
    chunk[i]->promise.set_value(std::move(*answers[i]));
  }
  if (metrics_) {
    metrics_->GetHistogram("sales_decider_chunk_commands", "Commands decided per Kafka round trip.", {},
                           {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048})
        .Observe(static_cast<double>(chunk.size()));
  }
}

LeadCommands::Decision LeadCommands::Emit(std::string aggregate_type, std::string aggregate_id, int64_t version,
                                          const char* command, const std::string& key, const std::string& hash,
                                          const Caller& caller) {
  events::EventContext context{caller.correlation_id, StrCat(command, ":", key), caller.actor, key,
                               options_.producer};
  Decision d;
  d.event = events::NewEnvelope(aggregate_type, aggregate_id, version, "", kSchemaVersion, context, *clock_);
  // Event times never go backwards (a clock step back must not put a new lead behind a page token
  // already handed out: ListLeads orders by capture time).
  absl::Time at = events::FromProto(d.event->occurred_at());
  if (at <= last_event_time_) at = last_event_time_ + absl::Nanoseconds(1);
  last_event_time_ = at;
  *d.event->mutable_occurred_at() = events::ToProto(at);
  *d.event->mutable_recorded_at() = events::ToProto(at);
  d.event->set_command_hash(hash);
  d.result.aggregate_id = std::move(aggregate_id);
  d.result.version = version;
  return d;
}

StatusOr<std::vector<Manager>> LeadCommands::Candidates(Batch& batch) {
  std::vector<Manager> managers;
  for (const auto& id : roster_) {
    ASSIGN_OR_RETURN(std::optional<Manager> m, LoadManager(batch, id));
    if (m && m->active()) managers.push_back(std::move(*m));
  }
  return managers;
}

StatusOr<LeadCommands::Decision> LeadCommands::Decide(const Pending& p, Batch& batch) {
  const Caller& caller = p.caller;
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
        } else if constexpr (std::is_same_v<T, api::v1::RegisterManagerRequest>) {
          const std::string hash = HashWithoutKey(r);
          ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
          if (replay) return Decision{std::move(*replay), std::nullopt};
          const std::string id = ManagerIdFor(r.idempotency_key());
          ASSIGN_OR_RETURN(std::optional<Manager> existing, LoadManager(batch, id));
          if (existing) return absl::AlreadyExistsError(StrCat("manager ", id, " already exists"));
          Decision d = Emit(kManagerAggregate, id, 1, "RegisterManager", r.idempotency_key(), hash, caller);
          *d.event->mutable_manager() = DecideRegisterManager(r);
          d.event->set_event_type(EventTypeOf(d.event->manager()));
          if (std::find(roster_.begin(), roster_.end(), id) == roster_.end()) roster_.push_back(id);
          return d;
        } else {
          static_assert(std::is_same_v<T, api::v1::DeactivateManagerRequest>);
          const std::string hash = HashWithoutKey(r);
          ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
          if (replay) return Decision{std::move(*replay), std::nullopt};
          ASSIGN_OR_RETURN(std::optional<Manager> m, LoadManager(batch, r.manager_id()));
          if (!m) return absl::NotFoundError(StrCat("no manager with id ", r.manager_id()));
          ASSIGN_OR_RETURN(ManagerEvent event, DecideDeactivateManager(*m, r));
          Decision d = Emit(kManagerAggregate, r.manager_id(), m->version() + 1, "DeactivateManager",
                            r.idempotency_key(), hash, caller);
          *d.event->mutable_manager() = std::move(event);
          d.event->set_event_type(EventTypeOf(d.event->manager()));
          return d;
        }
      },
      p.command);
}

template <typename Request, typename Fn>
StatusOr<LeadCommands::Decision> LeadCommands::DecideOnLead(const Request& r, const char* command, const Caller& caller,
                                                            Batch& batch, Fn decide) {
  const std::string hash = HashWithoutKey(r);
  ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
  if (replay) return Decision{std::move(*replay), std::nullopt};
  ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(batch, r.lead_id()));
  if (!lead) return absl::NotFoundError(StrCat("no lead with id ", r.lead_id()));
  ASSIGN_OR_RETURN(LeadEvent event, decide(*lead));
  Decision d = Emit(kLeadAggregate, r.lead_id(), lead->version() + 1, command, r.idempotency_key(), hash, caller);
  d.event->set_event_type(EventTypeOf(event));
  *d.event->mutable_lead() = std::move(event);
  return d;
}

StatusOr<LeadCommands::Decision> LeadCommands::DecideCapture(const api::v1::CaptureLeadRequest& r,
                                                             const Caller& caller, Batch& batch) {
  const std::string hash = HashWithoutKey(r);
  ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
  if (replay) {
    ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(batch, replay->aggregate_id));
    if (lead) replay->assigned_manager_id = lead->owner_manager_id();
    return Decision{std::move(*replay), std::nullopt};
  }

  // De-duplication (docs/LEADS.md): the same (source, external id) is the same lead; the same
  // e-mail or phone from elsewhere is the same person, linked to the existing lead.
  auto existing_by = [&](const std::string& key) { return LookupIndex(batch, key); };
  const std::string external_id = Trim(r.external_id());
  if (!external_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> id, existing_by(SourceKey(r.source(), external_id)));
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
  if (const std::string email = NormalizeEmail(r.email()); !email.empty()) {
    ASSIGN_OR_RETURN(match, existing_by(EmailKey(email)));
    if (match) matched_on = "email";
  }
  if (const std::string phone = NormalizePhone(r.phone()); !match && !phone.empty()) {
    ASSIGN_OR_RETURN(match, existing_by(PhoneKey(phone)));
    if (match) matched_on = "phone";
  }
  if (match) {
    ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(batch, *match));
    if (!lead) return absl::InternalError(StrCat("index points at missing lead ", *match));
    Decision d = Emit(kLeadAggregate, *match, lead->version() + 1, "CaptureLead", r.idempotency_key(), hash, caller);
    *d.event->mutable_lead() = DecideLink(r, matched_on);
    d.event->set_event_type(EventTypeOf(d.event->lead()));
    d.result.capture = api::v1::CAPTURE_OUTCOME_LINKED;
    d.result.assigned_manager_id = lead->owner_manager_id();
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
  *d.event->mutable_lead() = lead_acquisition::DecideCapture(r, std::move(assignment));
  d.event->set_event_type(EventTypeOf(d.event->lead()));
  return d;
}

}  // namespace sales::lead_acquisition
