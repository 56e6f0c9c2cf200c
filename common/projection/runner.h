// The projection runner: reads topics from Kafka and applies them to a projection's store.
//
// Contract:
//  - Offsets live in the store, not in Kafka. Each batch of records and the next offsets are
//    committed in one RocksDB write, so a crash (even kill -9) can neither lose nor double-apply
//    an event: on start the runner resumes exactly at the stored offsets.
//  - A record the projection refuses (INVALID_ARGUMENT / FAILED_PRECONDITION) is published to
//    `<topic>.dlq` with the reason and its origin in headers, counted, and stepped over; the
//    offset only moves past it once the dead letter is acknowledged. (A crash between the two can
//    park the same record twice; its origin headers tell the copies apart.)
//  - Any other error (store trouble, dead-letter topic unreachable) abandons the batch and retries
//    it from the stored offsets after a back-off: the projection stalls visibly (lag, logs,
//    metrics, Health()), it never skips.
//  - A poll of many records (a catch-up, a rebuild) is applied and committed in parts of
//    RunnerOptions::write_every, each written while the next is applied (store's CommitPipeline);
//    each part commits with its offsets, so the store always holds a prefix of the poll.
//  - The applier's lock is held only while applying and committing (CPU and RocksDB), never
//    across Kafka I/O: dead letters are published between passes over the batch.
//  - A record the projection does not use (Outcome::kSkipped, e.g. another service's event type)
//    only moves the offset, and is counted.
//  - Several runners may run at once, each into its own store (a rebuild into a fresh store while
//    the serving one goes on).
// Thread-safety: Start/Stop from one thread; the query methods from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/kafka/admin.h"
#include "common/kafka/client_config.h"
#include "common/kafka/publisher.h"
#include "common/observability/metrics.h"
#include "common/projection/projection.h"
#include "common/projection/stored_offset_consumer.h"

namespace sales::projection {

struct RunnerOptions {
  kafka::ClientSettings client;
  std::vector<std::string> topics;  // the first is the service's own
  int max_batch = 2000;                                 // records per poll
  // Records per RocksDB write: a poll of more is written in parts, each while the next is applied.
  int write_every = 500;
  // What the consumer fetches ahead of the projection (librdkafka queued.max.messages.kbytes):
  // in a catch-up the queue stays full, so this is memory held for the whole rebuild. librdkafka
  // 2.0 fetches again only a second after it found the queue full (fetch.queue.backoff.ms came in
  // 2.2), so a catch-up reads at most this many KiB a second: it must hold a second of events.
  int prefetch_kbytes = 8192;
  absl::Duration poll_timeout = absl::Milliseconds(20);  // wait for the first record of a batch
  absl::Duration retry_backoff = absl::Milliseconds(500);
  absl::Duration kafka_timeout = absl::Seconds(10);
  // When set, refused records of every topic but the first (the service's own) are parked here
  // instead of in `<their topic>.dlq`, which belongs to the topic's writer.
  std::string own_dead_letter_topic;
  // Health() turns UNAVAILABLE when batches keep failing for this long (a stalled projection).
  absl::Duration stall_after = absl::Seconds(3);
};

struct PartitionProgress {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;  // first offset not yet applied
  int64_t end_offset = -1;  // high watermark last seen (-1 unknown)
};

class ProjectionRunner {
 public:
  // All pointers must outlive the runner. `dead_letters` publishes to the dead-letter topics.
  ProjectionRunner(RunnerOptions options, Applier* applier, kafka::EventPublisher* dead_letters,
                   kafka::Admin* admin, MetricsRegistry* metrics);
  ~ProjectionRunner();  // Stop()s

  // Assigns every partition of the topics at the stored offsets (the beginning when none) and
  // starts consuming on a background thread. The end of each partition at this moment is the
  // catch-up target.
  Status Start();
  void Stop();

  // True once every partition has been applied up to the catch-up target.
  bool caught_up() const { return caught_up_; }
  // DEADLINE_EXCEEDED if not caught up in time.
  Status WaitCaughtUp(absl::Duration timeout);
  // Waits until the record at (topic, partition, offset) has been applied.
  Status WaitApplied(const std::string& topic, int32_t partition, int64_t offset, absl::Duration timeout);

  std::vector<PartitionProgress> Progress() const;
  // The latest Kafka timestamp (append time) among the records this projection has handled, in
  // any run (kept in the store with the offsets): "the data is as of this event". Unset before
  // the first record. With Progress()'s lag it tells a reader how fresh the projection is.
  std::optional<absl::Time> LastAppliedAt() const;
  // OK, or UNAVAILABLE with the reason when the projection is stalled (its batches have kept
  // failing for RunnerOptions::stall_after: store trouble, dead-letter topic unreachable).
  Status Health() const;
  const std::string& name() const { return name_; }
  // Where refused records of `topic` are parked (see RunnerOptions::own_dead_letter_topic).
  std::string DeadLetterTopicFor(const std::string& topic) const;

 private:
  struct Counters;
  struct Tally {
    int64_t applied = 0, duplicates = 0, skipped = 0, confirmed = 0, dead_lettered = 0;
    int64_t last_timestamp_ms = -1;  // the latest record timestamp committed
    std::map<std::pair<std::string, int32_t>, int64_t> next;  // offsets committed
    void Add(const Tally& later);
  };
  using TopicPartitionOffset = std::tuple<std::string, int32_t, int64_t>;
  Status ProcessBatch(std::vector<Record>& records);
  Status ApplyBatch(std::vector<Record>& records, size_t from, const std::set<TopicPartitionOffset>& parked,
                    std::vector<std::pair<Record, Status>>* refused, size_t* committed, Tally* tally);
  void RecordOutcome(const Status& s);
  Status DeadLetter(const Record& record, const Status& reason);
  void Advance(const std::string& topic, int32_t partition, int64_t next_offset);

  RunnerOptions options_;
  Applier* applier_;
  kafka::EventPublisher* dead_letters_;
  kafka::Admin* admin_;
  MetricsRegistry* metrics_;
  int collector_ = -1;
  std::string name_;
  std::unique_ptr<Counters> counters_;
  StoredOffsetConsumer consumer_;
  CommitPipeline pipeline_;  // the consumer's thread (ProcessBatch) only
  bool retrying_ = false;    // the last batch failed (the consumer's thread only)

  mutable std::mutex mu_;  // guards progress_, failing_since_, last_failure_
  std::optional<std::chrono::steady_clock::time_point> failing_since_;
  Status last_failure_;
  std::condition_variable progress_cv_;
  std::map<std::pair<std::string, int32_t>, PartitionProgress> progress_;
  std::map<std::pair<std::string, int32_t>, int64_t> catch_up_target_;
  std::atomic<bool> caught_up_{false};
  std::atomic<int64_t> last_applied_ms_{-1};  // LastAppliedAt; -1 unknown
};

}  // namespace sales::projection
