// The write side every service shares: validate -> queue -> decide a chunk -> append -> commit.
//
// Commands are validated in the caller's thread, queued (bounded: a full queue answers
// RESOURCE_EXHAUSTED at once, memory never grows without limit), and decided by ONE decider
// thread that takes whatever is queued (up to a chunk) and, for the lot:
//   1. under the projection's lock (CPU only, no I/O): reads state through a RocksDB batch, so each
//      decision sees the ones before it in the chunk; decides the events with the service's pure
//      aggregate code (DecisionLogic); applies them to the batch;
//   2. without any lock: appends every event of the chunk to Kafka in one round trip and waits for
//      the acknowledgements (the projection runner keeps applying meanwhile);
//   3. under the lock again: commits the batch if nothing was committed to the store since step 1,
//      otherwise re-applies the acknowledged events onto a fresh batch (events the runner applied
//      in between are then recognised as duplicates), and answers the callers.
// One decider makes every decision serial without locks in the domain code; chunking (group
// commit) keeps the throughput of many callers at the cost of one Kafka round trip per chunk.
//
// Pipelined under a backlog: while chunk N waits for its acknowledgement and a whole chunk's worth
// of commands is queued (DeciderOptions::decide_ahead_from), they are decided as chunk N+1 - on a
// batch that reads through N's (Batch::ReadThrough), as if N were committed - and appended; then
// N is committed and answered, then N+1. So two appends are in flight and the decider decides
// during the round trip. With fewer queued, they wait and go in one chunk after N: on a machine
// whose CPU is full, deciding them at once made more, smaller chunks and cost more than the round
// trip it saved (docs/PERFORMANCE.md, run 21). N+1 is answered only after N (a retry answered from N's
// decisions is not answered before they are acknowledged); its batch is committed as decided only
// if N's was and nothing else was committed since, otherwise its events are applied again as
// above; if N's append failed, N+1 fails with it (UNAVAILABLE, settled and resynced as below). A
// decision that reads a row N changes only by a merge waits for N's commit: N+1 is then decided
// again on the store.
//
// Nothing reaches the store unless Kafka acknowledged it. UNAVAILABLE means the outcome is not
// known to the caller: a retry with the same idempotency key returns the first answer if the
// command was recorded after all, and carries it out otherwise. After a chunk whose append failed
// (some of its events may be in the log without being in the store), nothing is decided until
// (1) the outcome of every event of that chunk is settled: the publisher never gives a message up
// (it retries it unchanged, so the broker's idempotence writes it once) and the decider waits
// for its acknowledgement; only one that failed for good (a fatal producer error) is appended
// again, the same envelope, and a copy of it is a duplicate by event id and version; and (2) the
// projection has caught up with the log (DeciderOptions::resync). Health() says so meanwhile;
// an idle decider retries every second. The publisher must be one whose delivery timeout is
// infinite (kafka::PublisherOptions), or the log may hold copies after a broker outage.
//
// Thread-safety: Execute/ExecuteAll/Health from any thread; Start once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/events/envelope.h"
#include "common/kafka/publisher.h"
#include "common/observability/metrics.h"
#include "common/projection/projection.h"

namespace sales::command {

// Who is calling: filled by the gRPC layer from the call's metadata.
struct Caller {
  std::string correlation_id;
  std::string actor;
};

struct DeciderOptions {
  std::string topic;                                  // the service's own topic (with prefix)
  std::string producer;                               // recorded on every envelope
  absl::Duration publish_timeout = absl::Seconds(6);  // bound on waiting for Kafka's ack
  int max_chunk = 2000;                               // commands decided per Kafka round trip
  // Commands that must be queued for the next chunk to be decided while the one before waits for
  // Kafka (pipelining); fewer wait for that chunk to be answered and go in one chunk after it.
  // 0: a full chunk (max_chunk), so pipelining never makes a chunk smaller than group commit would.
  size_t decide_ahead_from = 0;
  size_t max_queue = 100000;                          // commands waiting; beyond: RESOURCE_EXHAUSTED
  // Must wait (at most the given time) until the projection has applied the whole own topic;
  // UNAVAILABLE if it cannot tell (Kafka down). Unset: nothing to wait for (unit tests).
  std::function<Status(absl::Duration)> resync;
};

// Builds the envelopes of a decision: fresh event id, the caller's context, times from the
// injected clock that never go backwards (a clock step back must not reorder events). Decider
// thread only.
class EventFactory {
 public:
  EventFactory(std::string producer, const Clock* clock) : producer_(std::move(producer)), clock_(clock) {}

  // `command` names the command (causation "<command>:<key>"); `hash` is CommandHash() of it.
  events::EventEnvelope New(std::string_view aggregate_type, std::string_view aggregate_id, int64_t version,
                            std::string_view event_type, uint32_t schema_version, std::string_view command,
                            const std::string& key, const std::string& hash, const Caller& caller);
  absl::Time Now() const { return clock_->Now(); }

 private:
  std::string producer_;
  const Clock* clock_;
  absl::Time last_ = absl::InfinitePast();
};

// The fingerprint stored with an idempotency key: SHA-256 of the request type and its bytes
// (deterministic serialisation). Pass the request without its key (HashWithoutKey does).
std::string CommandHash(const google::protobuf::Message& request_without_key);
template <typename Request>
std::string HashWithoutKey(const Request& r) {
  Request copy = r;
  copy.clear_idempotency_key();
  return CommandHash(copy);
}

// ABORTED unless expected == 0 (any) or expected == actual.
Status CheckExpectedVersion(int64_t expected, int64_t actual, std::string_view what);

// What deciding one command gave: the answer, and the events to append (none when it was answered
// from the store, e.g. a retry).
template <typename Result>
struct Decision {
  Result result;
  std::vector<events::EventEnvelope> events;
};

// A service's decisions. Validate runs in the caller's thread; Start and Decide in the decider's.
template <typename Command, typename Result>
class DecisionLogic {
 public:
  virtual ~DecisionLogic() = default;
  virtual const char* Name(const Command& command) const = 0;
  virtual Status Validate(const Command& command, absl::Time now) const = 0;
  // Loads what the decider keeps in memory, once the projection has caught up.
  virtual Status Start(const Store& /*store*/) { return absl::OkStatus(); }
  // Reads state through `batch` (which already holds this chunk's earlier decisions) and decides.
  // The events must apply to the service's projection (the decider applies them to `batch`).
  virtual StatusOr<Decision<Result>> Decide(const Command& command, const Caller& caller, Batch& batch,
                                            EventFactory& events) = 0;
};

// The non-template machinery behind Decider<Command, Result>.
class DeciderCore {
 public:
  // One queued command, type-erased.
  class Job {
   public:
    virtual ~Job() = default;
    virtual const char* name() const = 0;
    // Decides into `batch`; the events to append. May be called again for the same command (on
    // a fresh batch) when the first decision needed the chunk before it committed.
    virtual StatusOr<std::vector<events::EventEnvelope>> Decide(Batch& batch, EventFactory& events) = 0;
    // Answers the caller: OK delivers what Decide produced, otherwise the error.
    virtual void Finish(Status status) = 0;
  };

  DeciderCore(DeciderOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
              const Clock* clock, MetricsRegistry* metrics);
  ~DeciderCore();  // stops the decider; queued commands are answered UNAVAILABLE

  void Start(std::function<Status(const Store&)> on_start_loaded);
  // Queues the jobs (all or none). RESOURCE_EXHAUSTED when they do not fit in the queue,
  // UNAVAILABLE when stopping; the jobs are then left to the caller.
  Status Submit(std::vector<std::unique_ptr<Job>>& jobs);
  // OK, or why commands cannot be decided now (waiting to resync after a failed append).
  Status Health() const;
  const Clock& clock() const { return *clock_; }
  // Applies a decided event to `batch` with the service's projection, as the decider does after
  // each decision. For jobs that decide several commands themselves (dry runs); decider thread only.
  Status ApplyDecided(const events::EventEnvelope& event, Batch& batch);

 private:
  // A decided chunk handed to Kafka, until it is committed and answered (decider.cc).
  struct InFlight;
  void Run();
  // Decides the chunk on a batch that reads through `below` (the chunk still in flight, or null)
  // and hands its events to Kafka. Null, with the jobs left in `chunk`, when a decision needed a
  // row `below` only merges into: decide them again once `below` is committed.
  std::unique_ptr<InFlight> DecideAndAppend(std::vector<std::unique_ptr<Job>>& chunk, InFlight* below);
  // Waits for Kafka's acknowledgement of the chunk, commits it (or re-applies its events), answers
  // its callers. `next`, decided on it and appended after it, learns how it went.
  void Finish(InFlight& chunk, InFlight* next);
  Status Resync();
  Status Settle();  // waits for the outcome of the failed appends' events
  // Observes the time since `start` as the phase's (sales_decider_phase_seconds); start = now.
  void Phase(const char* name, absl::Time& start);

  DeciderOptions options_;
  kafka::EventPublisher* publisher_;
  projection::Applier* applier_;
  projection::EventProjection* projection_;  // applier_'s, for applying envelopes without decoding
  const Clock* clock_;
  MetricsRegistry* metrics_;
  EventFactory factory_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool stopping_ = false;
  std::thread decider_;
  std::atomic<bool> in_doubt_{false};  // a chunk's append failed; resync before deciding
  // Decider thread only: the messages of failed appends whose fate is not known yet, each with
  // what the publisher has to say about them (Settle()), in the order appended.
  struct Unsettled {
    std::vector<kafka::OutgoingMessage> messages;
    std::shared_ptr<kafka::Delivery> delivery;
  };
  std::deque<Unsettled> unsettled_;
  std::string in_doubt_reason_;         // guarded by mu_
  // Wakes the decider when the chunk in flight is acknowledged (Delivery::OnDone); shared with the
  // deliveries, so that one answered after the decider stopped finds nobody to wake.
  struct Wake;
  std::shared_ptr<Wake> wake_;
  uint64_t appended_ = 0;  // decider thread: chunks handed to Kafka (each one's number)
  uint64_t acked_ = 0;     // guarded by mu_: the number of the last chunk whose delivery is done
};

// The typed front of the decider a service uses.
template <typename Command, typename Result>
class Decider {
 public:
  // Pointers must outlive the decider. `applier` must apply with the service's EventProjection.
  Decider(DeciderOptions options, DecisionLogic<Command, Result>* logic, kafka::EventPublisher* publisher,
          projection::Applier* applier, const Clock* clock, MetricsRegistry* metrics)
      : logic_(logic), core_(std::move(options), publisher, applier, clock, metrics) {}

  // Lets the logic load its in-memory state and starts deciding. Call once the projection has
  // caught up.
  Status Start() {
    std::promise<Status> loaded;
    auto done = loaded.get_future();
    core_.Start([&](const Store& store) {
      Status s = logic_->Start(store);
      loaded.set_value(s);
      return s;
    });
    return done.get();
  }

  StatusOr<Result> Execute(Command command, const Caller& caller) {
    std::vector<Command> one;
    one.push_back(std::move(command));
    return std::move(ExecuteAll(std::move(one), caller).front());
  }

  // Decided together, in order; one result each. Invalid commands are answered at once.
  std::vector<StatusOr<Result>> ExecuteAll(std::vector<Command> commands, const Caller& caller) {
    std::vector<StatusOr<Result>> results(commands.size(), absl::UnknownError("not decided"));
    std::vector<std::unique_ptr<DeciderCore::Job>> jobs;
    std::vector<std::pair<size_t, std::future<StatusOr<Result>>>> waiting;
    const absl::Time now = core_.clock().Now();
    for (size_t i = 0; i < commands.size(); ++i) {
      if (Status s = logic_->Validate(commands[i], now); !s.ok()) {
        results[i] = s;
        continue;
      }
      auto job = std::make_unique<TypedJob>(logic_, std::move(commands[i]), caller);
      waiting.emplace_back(i, job->promise.get_future());
      jobs.push_back(std::move(job));
    }
    if (Status s = core_.Submit(jobs); !s.ok()) {
      for (auto& [i, future] : waiting) results[i] = s;
      return results;
    }
    for (auto& [i, future] : waiting) results[i] = future.get();
    return results;
  }

  // Decides the commands in order exactly as ExecuteAll would - each seeing the decisions before
  // it, also across what ExecuteAll would split into chunks - and then throws every decision away:
  // nothing is appended to Kafka or written to the store. What an import would do, without doing
  // it. One job for the decider: it holds the projection's lock while it decides the whole list
  // (CPU and store reads, no I/O).
  std::vector<StatusOr<Result>> DryRunAll(std::vector<Command> commands, const Caller& caller) {
    std::vector<StatusOr<Result>> results(commands.size(), absl::UnknownError("not decided"));
    auto job = std::make_unique<DryRunJob>(logic_, &core_, caller);
    std::vector<size_t> index;  // position of each of the job's commands
    const absl::Time now = core_.clock().Now();
    for (size_t i = 0; i < commands.size(); ++i) {
      if (Status s = logic_->Validate(commands[i], now); !s.ok()) {
        results[i] = s;
        continue;
      }
      index.push_back(i);
      job->commands.push_back(std::move(commands[i]));
    }
    if (index.empty()) return results;
    auto future = job->promise.get_future();
    std::vector<std::unique_ptr<DeciderCore::Job>> jobs;
    jobs.push_back(std::move(job));
    if (Status s = core_.Submit(jobs); !s.ok()) {
      for (size_t i : index) results[i] = s;
      return results;
    }
    StatusOr<std::vector<StatusOr<Result>>> decided = future.get();
    for (size_t k = 0; k < index.size(); ++k) results[index[k]] = decided.ok() ? (*decided)[k] : decided.status();
    return results;
  }

  Status Health() const { return core_.Health(); }

 private:
  struct DryRunJob final : DeciderCore::Job {
    DryRunJob(DecisionLogic<Command, Result>* l, DeciderCore* c, Caller who)
        : logic(l), core(c), caller(std::move(who)) {}
    const char* name() const override { return "DryRun"; }
    StatusOr<std::vector<events::EventEnvelope>> Decide(Batch& batch, EventFactory& events) override {
      results.clear();       // (decided again when the first try needed the chunk before committed)
      batch.SetSavePoint();  // everything below is rolled back to here
      for (const Command& command : commands) {
        batch.SetSavePoint();
        StatusOr<Decision<Result>> d = logic->Decide(command, caller, batch, events);
        Status s = d.status();
        for (size_t k = 0; s.ok() && k < d->events.size(); ++k) s = core->ApplyDecided(d->events[k], batch);
        if (s.ok()) {
          batch.PopSavePoint().IgnoreError();
          results.push_back(std::move(d->result));
        } else {
          batch.RollbackToSavePoint().IgnoreError();
          results.push_back(s);
        }
      }
      batch.RollbackToSavePoint().IgnoreError();
      return std::vector<events::EventEnvelope>{};
    }
    void Finish(Status status) override {
      if (status.ok()) {
        promise.set_value(std::move(results));
      } else {
        promise.set_value(std::move(status));
      }
    }
    DecisionLogic<Command, Result>* logic;
    DeciderCore* core;
    Caller caller;
    std::vector<Command> commands;
    std::vector<StatusOr<Result>> results;
    std::promise<StatusOr<std::vector<StatusOr<Result>>>> promise;
  };

  struct TypedJob final : DeciderCore::Job {
    TypedJob(DecisionLogic<Command, Result>* l, Command c, Caller who)
        : logic(l), command(std::move(c)), caller(std::move(who)) {}
    const char* name() const override { return logic->Name(command); }
    StatusOr<std::vector<events::EventEnvelope>> Decide(Batch& batch, EventFactory& events) override {
      ASSIGN_OR_RETURN(Decision<Result> d, logic->Decide(command, caller, batch, events));
      result = std::move(d.result);
      return std::move(d.events);
    }
    void Finish(Status status) override {
      if (status.ok()) {
        promise.set_value(std::move(result));
      } else {
        promise.set_value(std::move(status));
      }
    }
    DecisionLogic<Command, Result>* logic;
    Command command;
    Caller caller;
    Result result{};
    std::promise<StatusOr<Result>> promise;
  };

  DecisionLogic<Command, Result>* logic_;
  DeciderCore core_;
};

}  // namespace sales::command
