// A topic whose records become commands (an inbound integration topic, or another service's
// events a service reacts to): the kit's way to turn a stream into decisions exactly once.
//
// Contract:
//  - Offsets live in the service's store (StoredOffsetConsumer) and move past a batch only after
//    every command of the batch was answered and every refused record was dead-lettered.
//  - Each record's command must carry a deterministic idempotency key (from the record's content
//    or position): a crash or a replay of the topic re-runs commands that answer as retries.
//  - Translate() returning nullopt skips the record (not for this service); an error dead-letters
//    it to `<topic>.dlq` with the reason (and so does a command refused with INVALID_ARGUMENT,
//    FAILED_PRECONDITION, NOT_FOUND or ALREADY_EXISTS). Any other answer (UNAVAILABLE: Kafka down,
//    RESOURCE_EXHAUSTED, INTERNAL) fails the batch, which is retried from the stored offsets.
//  - It reports itself to the Admin API (grpc_util::ConsumerStatusSource, kind "feed"): per
//    partition its stored position, the end of the log and the lag; persisted counts of records
//    that appended an event, were answered as retries, were stepped over, were dead-lettered. A
//    service registers each feed with Kit::AddConsumerStatus.
// Thread-safety: Start/Stop from one thread; ConsumerStatus from any thread.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/base/log.h"
#include "common/command/decider.h"
#include "common/grpc/admin_service.h"
#include "common/kafka/client_config.h"
#include "common/kafka/dead_letter.h"
#include "common/kafka/publisher.h"
#include "common/observability/metrics.h"
#include "common/projection/stored_offset_consumer.h"

namespace sales::command {

struct CommandFeedOptions {
  std::string name;   // owner of the stored offsets and the metrics label, e.g. "pbx-intake"
  kafka::ClientSettings client;
  std::string topic;  // with prefix
  Caller caller;      // recorded on the events, e.g. {"", "pbx-intake"}
  // Where refused records go; empty: `<topic>.dlq`. A feed over another service's topic parks
  // them in the service's own dead-letter topic instead (it never writes others' topics).
  std::string dead_letter_topic;
  int max_batch = 1000;
  absl::Duration kafka_timeout = absl::Seconds(10);
};

// Whether a command's refusal is the record's fault (dead-letter it) rather than the moment's.
inline bool RefusedForGood(const Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

// Whether a command's answer was a retry answered from the store (a Result with a `replayed` flag).
template <typename Result>
bool AnsweredAsRetry(const Result& r) {
  if constexpr (requires { r.replayed; }) {
    return r.replayed;
  } else {
    return false;
  }
}

template <typename Command, typename Result>
class CommandFeed final : public grpc_util::ConsumerStatusSource {
 public:
  using Translate = std::function<StatusOr<std::optional<Command>>(const projection::Record&)>;
  using Execute = std::function<std::vector<StatusOr<Result>>(std::vector<Command>, const Caller&)>;

  // Pointers must outlive the feed.
  CommandFeed(CommandFeedOptions options, Translate translate, Execute execute, Store* store,
              kafka::EventPublisher* dead_letters, kafka::Admin* admin, MetricsRegistry* metrics)
      : options_(std::move(options)),
        translate_(std::move(translate)),
        execute_(std::move(execute)),
        store_(store),
        dead_letters_(dead_letters),
        metrics_(metrics),
        consumer_({.client = options_.client,
                   .name = options_.name,
                   .topics = {options_.topic},
                   .properties = {{"group.id", "sales-" + options_.name}, {"fetch.wait.max.ms", "50"}},
                   .max_batch = options_.max_batch,
                   .poll_timeout = absl::Milliseconds(50),
                   .retry_backoff = absl::Seconds(1),
                   .kafka_timeout = options_.kafka_timeout},
                  store, admin) {}
  ~CommandFeed() override { Stop(); }

  Status Start() {
    return consumer_.Start({.process = [this](std::vector<projection::Record>& batch) { return Process(batch); },
                            .on_assign =
                                [this](const std::map<projection::TopicPartition, int64_t>& positions) {
                                  std::lock_guard lock(mu_);
                                  partitions_.clear();
                                  for (const auto& [tp, next] : positions) partitions_.push_back(tp.second);
                                }});
  }
  void Stop() { consumer_.Stop(); }

  // Named as the feed (its stored offsets' owner), kind "feed". events_applied = records whose
  // command appended an event, duplicates_skipped = records answered as retries (read again after
  // a crash or a rebuild), not_used = records that were not for this service, dead_lettered =
  // records refused; all persisted with the offsets. Caught up when every partition's lag is 0.
  StatusOr<api::v1::ProjectionStatus> ConsumerStatus() const override {
    api::v1::ProjectionStatus s;
    s.set_name(options_.name);
    s.set_kind("feed");
    s.add_dead_letter_topics(DeadLetterTopic());
    std::vector<int32_t> partitions;
    {
      std::lock_guard lock(mu_);
      partitions = partitions_;
    }
    bool caught_up = !partitions.empty();
    for (int32_t p : partitions) {
      ASSIGN_OR_RETURN(std::optional<int64_t> stored, store_->GetOffset(options_.name, options_.topic, p));
      const int64_t next = stored.value_or(0);
      const int64_t end = std::max<int64_t>(-1, consumer_.HighWatermark({options_.topic, p}));  // -1: not known yet
      auto* part = s.add_partitions();
      part->set_topic(options_.topic);
      part->set_partition(p);
      part->set_next_offset(next);
      part->set_end_offset(end);
      part->set_lag(end < 0 ? -1 : std::max<int64_t>(0, end - next));
      caught_up = caught_up && part->lag() == 0;
    }
    s.set_caught_up(caught_up);
    ASSIGN_OR_RETURN(int64_t accepted, store_->GetCounter(Counter("accepted")));
    ASSIGN_OR_RETURN(int64_t replayed, store_->GetCounter(Counter("replayed")));
    ASSIGN_OR_RETURN(int64_t skipped, store_->GetCounter(Counter("skipped")));
    ASSIGN_OR_RETURN(int64_t dead, store_->GetCounter(Counter("dead_lettered")));
    s.set_events_applied(accepted);
    s.set_duplicates_skipped(replayed);
    s.set_not_used(skipped);
    s.set_dead_lettered(dead);
    return s;
  }

 private:
  Status Process(std::vector<projection::Record>& records) {
    std::vector<Command> commands;
    std::vector<size_t> record_of;  // record index of each command
    std::vector<std::pair<size_t, Status>> rejected;
    std::map<std::string, int64_t> outcomes;
    for (size_t i = 0; i < records.size(); ++i) {
      StatusOr<std::optional<Command>> c = translate_(records[i]);
      if (!c.ok()) {
        rejected.emplace_back(i, c.status());
      } else if (!*c) {
        outcomes["skipped"]++;
      } else {
        commands.push_back(std::move(**c));
        record_of.push_back(i);
      }
    }
    std::vector<StatusOr<Result>> results = execute_(std::move(commands), options_.caller);
    for (size_t k = 0; k < results.size(); ++k) {
      const Status& s = results[k].status();
      if (s.ok()) {
        outcomes[AnsweredAsRetry(*results[k]) ? "replayed" : "accepted"]++;
      } else if (RefusedForGood(s)) {
        rejected.emplace_back(record_of[k], s);
      } else {
        return s;  // retried from the stored offsets; the commands answer as retries then
      }
    }
    if (!rejected.empty()) {
      std::vector<kafka::OutgoingMessage> parked;
      for (const auto& [i, reason] : rejected) {
        const auto& m = records[i];
        parked.push_back(kafka::MakeDeadLetter(m.key, m.value, m.headers, reason,
                                               {options_.name, m.topic, m.partition, m.offset}, absl::Now()));
        parked.back().topic = DeadLetterTopic();
        log::Warn("inbound record dead-lettered", {{"feed", options_.name},
                                                    {"partition", m.partition},
                                                    {"offset", m.offset},
                                                    {"reason", std::string(reason.message())}});
      }
      RETURN_IF_ERROR(kafka::AllDelivered(dead_letters_->Publish(std::move(parked), options_.kafka_timeout)).status());
      outcomes["dead_lettered"] += static_cast<int64_t>(rejected.size());
    }
    Batch batch = store_->NewBatch();
    for (const auto& m : records) batch.SetOffset(options_.name, options_.topic, m.partition, m.offset + 1);
    for (const auto& [outcome, n] : outcomes) {
      RETURN_IF_ERROR(batch.AddToCounter(Counter(outcome), n));
    }
    RETURN_IF_ERROR(store_->Commit(batch));
    for (const auto& [outcome, n] : outcomes) {
      metrics_->GetCounter("sales_feed_records_total",
                           "Records of a command feed by outcome (accepted, replayed, skipped, dead_lettered = dlq).",
                           {{"feed", options_.name}, {"outcome", outcome}})
          .Inc(n);
    }
    return absl::OkStatus();
  }

  std::string Counter(std::string_view outcome) const { return StrCat(options_.name, "/", outcome); }
  std::string DeadLetterTopic() const {
    return options_.dead_letter_topic.empty() ? kafka::DeadLetterTopic(options_.topic) : options_.dead_letter_topic;
  }

  CommandFeedOptions options_;
  Translate translate_;
  Execute execute_;
  Store* store_;
  kafka::EventPublisher* dead_letters_;
  MetricsRegistry* metrics_;
  projection::StoredOffsetConsumer consumer_;
  mutable std::mutex mu_;
  std::vector<int32_t> partitions_;  // guarded by mu_: assigned at start
};

}  // namespace sales::command
