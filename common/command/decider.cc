#include "common/command/decider.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/time/clock.h"
#include "common/base/hash.h"
#include "common/base/log.h"
#include "common/base/strings.h"

namespace sales::command {

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

Status CheckExpectedVersion(int64_t expected, int64_t actual, std::string_view what) {
  if (expected == 0 || expected == actual) return absl::OkStatus();
  return absl::AbortedError(StrCat(what, " is at version ", actual, ", not the expected ", expected,
                                   ": read it again and retry"));
}

events::EventEnvelope EventFactory::New(std::string_view aggregate_type, std::string_view aggregate_id,
                                        int64_t version, std::string_view event_type, uint32_t schema_version,
                                        std::string_view command, const std::string& key, const std::string& hash,
                                        const Caller& caller) {
  events::EventContext context{caller.correlation_id, StrCat(command, ":", key), caller.actor, key, producer_};
  events::EventEnvelope e =
      events::NewEnvelope(aggregate_type, aggregate_id, version, event_type, schema_version, context, *clock_);
  absl::Time at = events::FromProto(e.occurred_at());
  if (at <= last_) at = last_ + absl::Nanoseconds(1);
  last_ = at;
  *e.mutable_occurred_at() = events::ToProto(at);
  *e.mutable_recorded_at() = events::ToProto(at);
  e.set_command_hash(hash);
  return e;
}

namespace {

// Applier::BeginAppend for its life, EndAppend after.
class AppendMark {
 public:
  explicit AppendMark(projection::Applier* applier) : applier_(applier) { applier_->BeginAppend(); }
  ~AppendMark() { applier_->EndAppend(); }
  AppendMark(const AppendMark&) = delete;
  AppendMark& operator=(const AppendMark&) = delete;

 private:
  projection::Applier* applier_;
};

}  // namespace

struct DeciderCore::Wake {
  std::mutex mu;
  DeciderCore* core = nullptr;  // null once the decider is being destroyed
  void Acked(uint64_t number) {
    std::lock_guard lock(mu);
    if (!core) return;
    {
      std::lock_guard core_lock(core->mu_);
      core->acked_ = std::max(core->acked_, number);
    }
    core->cv_.notify_all();
  }
};

// A decided chunk handed to Kafka, until it is committed and answered.
struct DeciderCore::InFlight {
  std::vector<std::unique_ptr<Job>> chunk;
  std::vector<Status> answers;
  std::vector<events::EventEnvelope> decided;  // in order
  std::vector<projection::Record> records;     // decided, encoded
  std::optional<Batch> batch;
  // The applier's commits() at which `batch` still rests on the store's rows: when it was decided,
  // plus the commit of the chunk it reads through.
  uint64_t expected_commits = 0;
  bool on_below = false;        // decided reading through the chunk before it (in flight then)
  bool below_kept = true;       // that chunk committed its batch as decided
  bool below_failed = false;    // that chunk's append failed: this one fails with it
  std::shared_ptr<kafka::Delivery> delivery;
  uint64_t number = 0;          // DeciderCore::appended_ when it was handed to Kafka
  absl::Time deadline;          // for its acknowledgement
  std::optional<AppendMark> append;  // Applier::BeginAppend until committed or given up
};

DeciderCore::DeciderCore(DeciderOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
                         const Clock* clock, MetricsRegistry* metrics)
    : options_(std::move(options)),
      publisher_(publisher),
      applier_(applier),
      projection_(dynamic_cast<projection::EventProjection*>(applier->projection())),
      clock_(clock),
      metrics_(metrics),
      factory_(options_.producer, clock),
      wake_(std::make_shared<Wake>()) {
  wake_->core = this;
}

DeciderCore::~DeciderCore() {
  {
    std::lock_guard lock(wake_->mu);
    wake_->core = nullptr;
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (decider_.joinable()) decider_.join();
  for (auto& job : queue_) job->Finish(absl::UnavailableError("the service is shutting down; retry with the same key"));
}

void DeciderCore::Start(std::function<Status(const Store&)> on_start) {
  decider_ = std::thread([this, on_start = std::move(on_start)] {
    if (on_start && !on_start(*applier_->store()).ok()) return;
    Run();
  });
}

Status DeciderCore::Submit(std::vector<std::unique_ptr<Job>>& jobs) {
  if (jobs.empty()) return absl::OkStatus();
  if (ScopedReadRedirect::Active()) {
    return absl::FailedPreconditionError(StrCat("the call names the as-of store ", ScopedReadRedirect::ActiveName(),
                                                ", which is read-only: send commands without the x-as-of-store "
                                                "header (they are decided on the live store)"));
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) return absl::UnavailableError("the service is shutting down; retry with the same key");
    if (queue_.size() + jobs.size() > options_.max_queue) {
      if (metrics_) {
        metrics_->GetCounter("sales_decider_overload_total", "Commands refused because the decider queue was full.")
            .Inc(static_cast<int64_t>(jobs.size()));
      }
      return absl::ResourceExhaustedError(StrCat("overloaded: ", queue_.size(),
                                                 " commands are waiting to be decided; retry later with the same key"));
    }
    for (auto& job : jobs) queue_.push_back(std::move(job));
    jobs.clear();
  }
  cv_.notify_one();
  return absl::OkStatus();
}

Status DeciderCore::Health() const {
  if (!in_doubt_) return absl::OkStatus();
  std::lock_guard lock(mu_);
  return absl::UnavailableError(StrCat("decider waiting to resync after a failed append: ", in_doubt_reason_));
}

void DeciderCore::Run() {
  std::unique_ptr<InFlight> pending;  // appended, not yet committed nor answered
  while (true) {
    std::vector<std::unique_ptr<Job>> chunk;
    bool stop = false;
    bool finish_first = false;  // the chunk in flight, before taking any command
    {
      std::unique_lock lock(mu_);
      if (!pending) {
        cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !queue_.empty(); });
      } else {
        // With a chunk in flight: once a whole chunk's worth of commands is queued, they are
        // decided (and appended) during its round trip; once it is acknowledged (or its time is
        // up) it is finished first, so that its callers are answered as soon as can be.
        const size_t ahead = options_.decide_ahead_from > 0 ? options_.decide_ahead_from
                                                             : static_cast<size_t>(options_.max_chunk);
        cv_.wait_until(lock, absl::ToChronoTime(pending->deadline),
                       [&] { return stopping_ || queue_.size() >= ahead || acked_ >= pending->number; });
        // Acknowledged, or its time is up with too few commands queued to decide ahead.
        finish_first = acked_ >= pending->number || queue_.size() < ahead;
      }
      stop = stopping_;
      while (!stop && !finish_first && !queue_.empty() && static_cast<int>(chunk.size()) < options_.max_chunk) {
        chunk.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const bool idle = chunk.empty() && !pending;
    if (stop || finish_first || chunk.empty() || in_doubt_) {
      if (pending) Finish(*pending, nullptr);
      pending.reset();
    }
    if (stop) return;
    if (chunk.empty()) {
      // Idle but in doubt: resync now rather than at the next command, so that health (and with
      // it the traffic a load balancer sends) comes back by itself.
      if (idle && in_doubt_) Resync().IgnoreError();
      continue;
    }
    if (in_doubt_) {
      // Never decide on a store that may lack events already in the log (duplicates undetected,
      // versions reused): first let the projection catch up with the log.
      if (Status s = Resync(); !s.ok()) {
        for (auto& job : chunk) {
          job->Finish(absl::UnavailableError(
              StrCat("recovering from a failed append (", s.message(), "); retry with the same idempotency key")));
        }
        continue;
      }
    }
    std::unique_ptr<InFlight> next = DecideAndAppend(chunk, pending.get());
    if (!next) {
      // A decision needed a row the chunk in flight merges into: decide again once it is in.
      if (pending) Finish(*pending, nullptr);
      pending.reset();
      std::lock_guard lock(mu_);
      for (auto it = chunk.rbegin(); it != chunk.rend(); ++it) queue_.push_front(std::move(*it));
      continue;
    }
    if (pending) Finish(*pending, next.get());
    pending.reset();
    if (next->records.empty()) {
      Finish(*next, nullptr);  // nothing to wait for (answered from the store, refusals, dry runs)
    } else {
      pending = std::move(next);
    }
  }
}

Status DeciderCore::Settle() {
  // The producer keeps retrying the unacknowledged messages of a failed append, unchanged (same
  // producer id and sequence numbers: the broker writes each at most once), until the broker has
  // them: wait for that. Only a message that failed for good - its producer was recreated after a
  // fatal error, which may have been after it was written - is appended again, with the same
  // bytes and event id; a copy that also landed is recognised by its event id and version as a
  // duplicate wherever it is read. Without settling, a message that becomes visible only after
  // the resync could meet a retry's new decision at the same version.
  while (!unsettled_.empty()) {
    Unsettled& u = unsettled_.front();
    for (int round = 0; round < 2 && !u.messages.empty(); ++round) {
      if (!u.delivery->Wait(options_.publish_timeout)) {
        return absl::UnavailableError(StrCat("Kafka has not acknowledged the ", u.messages.size(),
                                             " events of the failed append yet"));
      }
      std::vector<StatusOr<kafka::Position>> results = u.delivery->Results();
      std::vector<kafka::OutgoingMessage> failed;
      Status failure = absl::OkStatus();
      for (size_t k = 0; k < results.size(); ++k) {
        if (results[k].ok()) continue;
        if (failure.ok()) failure = results[k].status();
        failed.push_back(std::move(u.messages[k]));
      }
      u.messages = std::move(failed);
      if (u.messages.empty()) break;
      if (round == 1) {
        return absl::UnavailableError(StrCat("re-appending the events of a failed append: ", failure.message()));
      }
      log::Warn("events of a failed append failed for good; appending them again",
                {{"topic", options_.topic}, {"events", u.messages.size()}, {"error", failure.ToString()}});
      if (metrics_) {
        metrics_->GetCounter("sales_decider_reappended_events_total",
                             "Events of a failed append appended again (a copy in the log is possible).")
            .Inc(static_cast<int64_t>(u.messages.size()));
      }
      u.delivery = publisher_->Send(u.messages, options_.publish_timeout);
    }
    unsettled_.pop_front();
  }
  return absl::OkStatus();
}

Status DeciderCore::Resync() {
  RETURN_IF_ERROR(Settle());
  // Then wait until the projection has applied the whole topic, so that every decision rests on
  // every event in the log.
  Status s = options_.resync ? options_.resync(options_.publish_timeout) : absl::OkStatus();
  if (s.ok()) {
    in_doubt_ = false;
    log::Info("decider resynced with the log", {{"topic", options_.topic}});
  }
  return s;
}

Status DeciderCore::ApplyDecided(const events::EventEnvelope& e, Batch& batch) {
  projection::Record record{options_.topic, -1, -1, e.aggregate_id(), events::Encode(e),
                            {{"event_type", e.event_type()}, {"content-type", "application/x-protobuf"}}};
  auto applied = projection_ ? projection_->ApplyDecoded(e, batch) : applier_->projection()->Apply(record, batch);
  if (!applied.ok()) return applied.status();
  if (*applied != projection::Outcome::kApplied) {
    return absl::InternalError(StrCat("decided event ", e.event_type(), " does not apply: seen as a duplicate"));
  }
  return absl::OkStatus();
}

std::unique_ptr<DeciderCore::InFlight> DeciderCore::DecideAndAppend(std::vector<std::unique_ptr<Job>>& chunk,
                                                                     InFlight* below) {
  absl::Time phase_start = absl::Now();
  auto f = std::make_unique<InFlight>();
  f->answers.assign(chunk.size(), absl::OkStatus());
  {
    std::unique_lock apply_lock(applier_->mutex());
    Phase("wait_for_projection", phase_start);
    // Made under the lock: a rebuild's switch-over swaps the store's database under it too, and
    // a batch made before would decide on (and commit into) the database switched out.
    Batch& batch = f->batch.emplace(applier_->store()->NewBatch());
    f->on_below = below != nullptr;
    if (below) batch.ReadThrough(&*below->batch);
    f->expected_commits = applier_->commits() + (below ? 1 : 0);
    for (size_t i = 0; i < chunk.size(); ++i) {
      batch.SetSavePoint();
      const size_t first = f->decided.size();
      StatusOr<std::vector<events::EventEnvelope>> events = chunk[i]->Decide(batch, factory_);
      if (batch.missed_below()) {
        if (metrics_) {
          metrics_->GetCounter("sales_decider_redecided_chunks_total",
                               "Chunks decided again after the chunk in flight before them was committed (a "
                               "decision read a row it merges into).")
              .Inc();
        }
        return nullptr;  // (the jobs stay in `chunk`)
      }
      Status s = events.status();
      if (s.ok()) {
        // Apply now, so the next decisions in this chunk see them.
        for (events::EventEnvelope& e : *events) {
          projection::Record record{options_.topic, -1, -1, e.aggregate_id(), events::Encode(e),
                                    {{"event_type", e.event_type()}, {"content-type", "application/x-protobuf"}}};
          auto applied = projection_ ? projection_->ApplyDecoded(e, batch) : applier_->projection()->Apply(record, batch);
          if (!applied.ok() || *applied != projection::Outcome::kApplied) {
            s = absl::InternalError(StrCat("decided event ", e.event_type(), " does not apply: ",
                                           applied.ok() ? "seen as a duplicate" : applied.status().ToString()));
            break;
          }
          f->decided.push_back(std::move(e));
          f->records.push_back(std::move(record));
        }
      }
      if (!s.ok()) {
        batch.RollbackToSavePoint().IgnoreError();
        f->decided.resize(first);
        f->records.resize(first);
        f->answers[i] = s;
        continue;
      }
      batch.PopSavePoint().IgnoreError();
    }
    // Until this chunk is committed (or given up), the runner waits before applying what it
    // polled, so that it confirms these events by their markers rather than applying them first.
    if (!f->records.empty()) f->append.emplace(applier_);
  }
  Phase("decide", phase_start);
  if (below && metrics_) {
    metrics_->GetCounter("sales_decider_decided_ahead_chunks_total",
                         "Chunks decided and appended while the chunk before waited for Kafka (a backlog).")
        .Inc();
  }
  f->chunk = std::move(chunk);
  if (!f->records.empty()) {
    std::vector<kafka::OutgoingMessage> messages;
    messages.reserve(f->records.size());
    for (const auto& r : f->records) messages.push_back({r.topic, r.key, r.value, r.headers});
    f->deadline = absl::Now() + options_.publish_timeout;
    f->delivery = publisher_->Send(std::move(messages), options_.publish_timeout);
    f->number = ++appended_;
    f->delivery->OnDone([wake = wake_, number = f->number] { wake->Acked(number); });
  }
  return f;
}

void DeciderCore::Finish(InFlight& f, InFlight* next) {
  absl::Time phase_start = absl::Now();
  bool kept = false;  // the batch committed as decided
  Status failure = absl::OkStatus();
  if (!f.records.empty()) {
    std::vector<StatusOr<kafka::Position>> positions =
        kafka::AwaitDelivery(*f.delivery, f.deadline, options_.publish_timeout);
    Phase("append", phase_start);
    for (size_t k = 0; k < f.records.size(); ++k) {
      if (positions[k].ok()) {
        f.records[k].partition = positions[k]->partition;
        f.records[k].offset = positions[k]->offset;
      } else if (failure.ok()) {
        failure = positions[k].status();
      }
    }
  }
  // Decided on the events of a chunk whose append failed: some may be in the log, others not.
  if (failure.ok() && f.below_failed) failure = absl::UnavailableError("the append of the commands before failed");
  if (failure.ok() && !f.records.empty() && !in_doubt_) {
    std::lock_guard apply_lock(applier_->mutex());
    Status s;
    if (applier_->commits() == f.expected_commits && (!f.on_below || f.below_kept)) {
      s = applier_->CommitAppended(*f.batch, f.records);
      kept = s.ok();
    } else {
      // The store moved on while we waited for Kafka (the runner applied other events, maybe
      // some of ours), or the chunk this one was decided on was applied again: apply the
      // acknowledged events again onto what is there now.
      Batch fresh = applier_->store()->NewBatch();
      std::vector<projection::Record> applied;
      for (size_t k = 0; k < f.decided.size() && s.ok(); ++k) {
        auto outcome = projection_ ? projection_->ApplyDecoded(f.decided[k], fresh)
                                   : applier_->projection()->Apply(f.records[k], fresh);
        if (!outcome.ok()) {
          s = outcome.status();
        } else if (*outcome == projection::Outcome::kApplied) {
          applied.push_back(f.records[k]);
        }
      }
      if (s.ok()) s = applier_->CommitAppended(fresh, applied);
      if (metrics_) {
        metrics_->GetCounter("sales_decider_reapplied_chunks_total",
                             "Chunks re-applied because the store changed during their append.")
            .Inc();
      }
    }
    if (!s.ok()) {
      // The events are durable in Kafka; the projection runner applies them, and no decision is
      // made until it has.
      log::Error("applying appended events failed; the projection runner will apply them", {{"error", s.ToString()}});
      std::lock_guard lock(mu_);
      in_doubt_reason_ = s.ToString();
      in_doubt_ = true;
    }
  } else if (!failure.ok()) {
    // Some events may be in the log, others not, and later decisions of this chunk may rest on
    // the missing ones: nothing of the batch is committed, every command of the chunk answers
    // UNAVAILABLE (a retry with the same key returns the first answer if it was recorded), and
    // the next chunk waits for the projection to catch up with whatever did reach the log.
    if (!f.records.empty()) {
      log::Warn("append failed; the chunk is answered UNAVAILABLE",
                {{"events", f.records.size()}, {"error", failure.ToString()}});
      // Settled by Resync() - which needs a projection to apply them (DeciderOptions::resync); a
      // decider without one (unit tests over a fake publisher) just forgets them.
      if (options_.resync) {
        Unsettled& u = unsettled_.emplace_back();
        for (const auto& r : f.records) u.messages.push_back({r.topic, r.key, r.value, r.headers});
        u.delivery = f.delivery;
      }
    }
    for (auto& a : f.answers) a = absl::UnavailableError(StrCat(failure.message(), "; retry with the same idempotency key"));
    std::lock_guard lock(mu_);
    in_doubt_reason_ = failure.ToString();
    in_doubt_ = true;
  }
  // (Appended but not committed because the decider is in doubt: the runner applies the events.)
  if (next) {
    next->below_kept = kept;
    next->below_failed = !failure.ok();
    next->batch->ReadThrough(nullptr);  // committed now, or `next` is applied again or fails
  }
  f.append.reset();
  Phase("commit", phase_start);

  for (size_t i = 0; i < f.chunk.size(); ++i) {
    if (metrics_) {
      metrics_->GetCounter("sales_commands_total", "Commands decided, by command and status code.",
                           {{"command", f.chunk[i]->name()}, {"code", absl::StatusCodeToString(f.answers[i].code())}})
          .Inc();
    }
    f.chunk[i]->Finish(f.answers[i]);
  }
  if (metrics_) {
    metrics_->GetHistogram("sales_decider_chunk_commands", "Commands decided per Kafka round trip.", {},
                           {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048})
        .Observe(static_cast<double>(f.chunk.size()));
  }
}

void DeciderCore::Phase(const char* name, absl::Time& start) {
  const absl::Time now = absl::Now();
  if (metrics_) {
    metrics_->GetHistogram("sales_decider_phase_seconds", "Time per chunk in each phase of the decider.",
                           {{"phase", name}})
        .Observe(absl::ToDoubleSeconds(now - start));
  }
  start = now;
}

}  // namespace sales::command
