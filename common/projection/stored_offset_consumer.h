// A Kafka consumer whose positions live in a Store, never in Kafka: it assigns every partition of
// its topics at the offsets stored under its name (the beginning when none), hands batches of
// records to a callback on its own thread, and when a batch fails, waits and rewinds to the stored
// offsets. The callback commits each batch's offsets with its effects (Batch::SetOffset), which is
// what makes consumption exactly-once in effect. Used by the projection runner and by consumers
// whose effect is commands (the marketing intake).
//
// Thread-safety: Start/Stop from one thread; HighWatermark from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/kafka/admin.h"
#include "common/kafka/client_config.h"
#include "common/projection/projection.h"
#include "common/store/store.h"

namespace RdKafka {
class KafkaConsumer;
}

namespace sales::projection {

using TopicPartition = std::pair<std::string, int32_t>;

class StoredOffsetConsumer {
 public:
  struct Options {
    kafka::ClientSettings client;
    std::string name;  // owner of the stored offsets (Store::GetOffset's consumer)
    std::vector<std::string> topics;
    std::map<std::string, std::string> properties;  // extra librdkafka consumer settings
    int max_batch = 2000;
    absl::Duration poll_timeout = absl::Milliseconds(20);  // wait for the first record of a batch
    absl::Duration retry_backoff = absl::Milliseconds(500);
    absl::Duration kafka_timeout = absl::Seconds(10);
  };
  struct Callbacks {
    // Applies and commits a batch (with its offsets); an error rewinds to the stored offsets and
    // the batch comes again after the back-off.
    std::function<Status(std::vector<Record>& batch)> process;
    // Every partition's position as stored, at start and after each rewind.
    std::function<void(const std::map<TopicPartition, int64_t>& positions)> on_assign;
    // The end of a partition was reached at `next_offset` (optional).
    std::function<void(const TopicPartition& tp, int64_t next_offset)> on_end;
  };

  StoredOffsetConsumer(Options options, const Store* store, kafka::Admin* admin);

  // The librdkafka consumer settings every StoredOffsetConsumer starts from (Options::properties
  // are applied over them); public so measurements can read a topic the way projections do.
  static std::map<std::string, std::string> DefaultProperties(const std::string& name);
  ~StoredOffsetConsumer();  // Stop()s

  Status Start(Callbacks callbacks);
  void Stop();

  // The end of a partition's log as last seen by this consumer's fetches (-1 unknown).
  int64_t HighWatermark(const TopicPartition& tp) const;

 private:
  // kAssign when the consumer starts; kSeek to rewind the partitions it already fetches.
  enum class Placement { kAssign, kSeek };

  void Run();
  // Places every partition at the offset the store holds for it (the beginning when none).
  Status Assign(Placement placement);

  Options options_;
  const Store* store_;
  kafka::Admin* admin_;
  Callbacks callbacks_;
  std::vector<TopicPartition> partitions_;
  mutable std::mutex mu_;  // guards consumer_ against Stop() while HighWatermark() reads it
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sales::projection
