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

DeciderCore::DeciderCore(DeciderOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
                         const Clock* clock, MetricsRegistry* metrics)
    : options_(std::move(options)),
      publisher_(publisher),
      applier_(applier),
      projection_(dynamic_cast<projection::EventProjection*>(applier->projection())),
      clock_(clock),
      metrics_(metrics),
      factory_(options_.producer, clock) {}

DeciderCore::~DeciderCore() {
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
  while (true) {
    std::vector<std::unique_ptr<Job>> chunk;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      if (queue_.empty()) {
        // Idle but in doubt: resync now rather than at the next command, so that health (and with
        // it the traffic a load balancer sends) comes back by itself.
        if (in_doubt_) {
          lock.unlock();
          Resync().IgnoreError();
        }
        continue;
      }
      while (!queue_.empty() && static_cast<int>(chunk.size()) < options_.max_chunk) {
        chunk.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    ProcessChunk(chunk);
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
  for (int round = 0; round < 2 && !unsettled_.empty(); ++round) {
    if (!unsettled_delivery_->Wait(options_.publish_timeout)) {
      return absl::UnavailableError(StrCat("Kafka has not acknowledged the ", unsettled_.size(),
                                           " events of the failed append yet"));
    }
    std::vector<StatusOr<kafka::Position>> results = unsettled_delivery_->Results();
    std::vector<kafka::OutgoingMessage> failed;
    Status failure = absl::OkStatus();
    for (size_t k = 0; k < results.size(); ++k) {
      if (results[k].ok()) continue;
      if (failure.ok()) failure = results[k].status();
      failed.push_back(std::move(unsettled_[k]));
    }
    unsettled_ = std::move(failed);
    if (unsettled_.empty()) break;
    if (round == 1) return absl::UnavailableError(StrCat("re-appending the events of a failed append: ", failure.message()));
    log::Warn("events of a failed append failed for good; appending them again",
              {{"topic", options_.topic}, {"events", unsettled_.size()}, {"error", failure.ToString()}});
    if (metrics_) {
      metrics_->GetCounter("sales_decider_reappended_events_total",
                           "Events of a failed append appended again (a copy in the log is possible).")
          .Inc(static_cast<int64_t>(unsettled_.size()));
    }
    unsettled_delivery_ = publisher_->Send(unsettled_, options_.publish_timeout);
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

void DeciderCore::ProcessChunk(std::vector<std::unique_ptr<Job>>& chunk) {
  if (in_doubt_) {
    // Never decide on a store that may lack events already in the log (duplicates undetected,
    // versions reused): first let the projection catch up with the log.
    if (Status s = Resync(); !s.ok()) {
      for (auto& job : chunk) {
        job->Finish(absl::UnavailableError(
            StrCat("recovering from a failed append (", s.message(), "); retry with the same idempotency key")));
      }
      return;
    }
  }
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

  std::vector<Status> answers(chunk.size(), absl::OkStatus());
  std::vector<events::EventEnvelope> decided;  // in order
  std::vector<projection::Record> records;     // decided, encoded
  uint64_t base_commits = 0;
  std::optional<Batch> made;
  {
    std::unique_lock apply_lock(applier_->mutex());
    phase("wait_for_projection");
    // Made under the lock: a rebuild's switch-over swaps the store's database under it too, and
    // a batch made before would decide on (and commit into) the database switched out.
    Batch& batch = made.emplace(applier_->store()->NewBatch());
    base_commits = applier_->commits();
    for (size_t i = 0; i < chunk.size(); ++i) {
      batch.SetSavePoint();
      const size_t first = decided.size();
      StatusOr<std::vector<events::EventEnvelope>> events = chunk[i]->Decide(batch, factory_);
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
          decided.push_back(std::move(e));
          records.push_back(std::move(record));
        }
      }
      if (!s.ok()) {
        batch.RollbackToSavePoint().IgnoreError();
        decided.resize(first);
        records.resize(first);
        answers[i] = s;
        continue;
      }
      batch.PopSavePoint().IgnoreError();
    }
  }
  phase("decide");

  if (!records.empty()) {
    // Until this chunk is committed (or given up), the runner waits before applying what it
    // polled, so that it confirms these events by their markers rather than applying them first.
    struct AppendInFlight {
      explicit AppendInFlight(projection::Applier* a) : applier(a) { applier->BeginAppend(); }
      ~AppendInFlight() { applier->EndAppend(); }
      projection::Applier* applier;
    } in_flight(applier_);
    std::vector<kafka::OutgoingMessage> messages;
    messages.reserve(records.size());
    for (const auto& r : records) messages.push_back({r.topic, r.key, r.value, r.headers});
    std::shared_ptr<kafka::Delivery> delivery = publisher_->Send(std::move(messages), options_.publish_timeout);
    std::vector<StatusOr<kafka::Position>> positions = kafka::AwaitDelivery(*delivery, options_.publish_timeout);
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
      std::lock_guard apply_lock(applier_->mutex());
      Status s;
      if (applier_->commits() == base_commits) {
        s = applier_->CommitAppended(*made, records);
      } else {
        // The store moved on while we waited for Kafka (the runner applied other events, maybe
        // some of ours): apply the acknowledged events again onto what is there now.
        Batch fresh = applier_->store()->NewBatch();
        std::vector<projection::Record> applied;
        for (size_t k = 0; k < decided.size() && s.ok(); ++k) {
          auto outcome = projection_ ? projection_->ApplyDecoded(decided[k], fresh)
                                     : applier_->projection()->Apply(records[k], fresh);
          if (!outcome.ok()) {
            s = outcome.status();
          } else if (*outcome == projection::Outcome::kApplied) {
            applied.push_back(records[k]);
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
    } else {
      // Some events may be in the log, others not, and later decisions of this chunk may rest on
      // the missing ones: nothing of the batch is committed, every command of the chunk answers
      // UNAVAILABLE (a retry with the same key returns the first answer if it was recorded), and
      // the next chunk waits for the projection to catch up with whatever did reach the log.
      log::Warn("append failed; the chunk is answered UNAVAILABLE",
                {{"events", records.size()}, {"error", failure.ToString()}});
      // Settled by Resync() - which needs a projection to apply them (DeciderOptions::resync); a
      // decider without one (unit tests over a fake publisher) just forgets them.
      if (options_.resync) {
        for (const auto& r : records) unsettled_.push_back({r.topic, r.key, r.value, r.headers});
        unsettled_delivery_ = std::move(delivery);
      }
      for (auto& a : answers) a = absl::UnavailableError(StrCat(failure.message(), "; retry with the same idempotency key"));
      std::lock_guard lock(mu_);
      in_doubt_reason_ = failure.ToString();
      in_doubt_ = true;
    }
  }
  phase("commit");

  for (size_t i = 0; i < chunk.size(); ++i) {
    if (metrics_) {
      metrics_->GetCounter("sales_commands_total", "Commands decided, by command and status code.",
                           {{"command", chunk[i]->name()}, {"code", absl::StatusCodeToString(answers[i].code())}})
          .Inc();
    }
    chunk[i]->Finish(answers[i]);
  }
  if (metrics_) {
    metrics_->GetHistogram("sales_decider_chunk_commands", "Commands decided per Kafka round trip.", {},
                           {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048})
        .Observe(static_cast<double>(chunk.size()));
  }
}

}  // namespace sales::command
