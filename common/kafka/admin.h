// Topic administration and log positions: creating the platform's topics with the partition count
// and retention it wants (the broker's auto-creation is never relied on), partition counts, and
// watermarks (where a partition's log begins and ends) for lag and catch-up.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "common/kafka/client_config.h"

namespace RdKafka {
class Producer;
}

namespace sales::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 6;
  int replication_factor = 1;
  // Event topics are the system of record: keep everything, forever.
  std::map<std::string, std::string> configs = {{"retention.ms", "-1"}, {"retention.bytes", "-1"}};
};

struct Watermarks {
  int64_t low = 0;   // first offset still in the log
  int64_t high = 0;  // the offset the next message will get
};

// Thread-safe.
class Admin {
 public:
  static StatusOr<std::unique_ptr<Admin>> Create(const ClientSettings& settings);
  ~Admin();

  // Creates the topic if it does not exist. An existing topic is accepted as it is (its partition
  // count is checked by PartitionCount where it matters). UNAVAILABLE when the broker cannot be
  // reached in `timeout`.
  Status EnsureTopic(const TopicSpec& spec, absl::Duration timeout);

  // NOT_FOUND when the topic does not exist.
  StatusOr<int> PartitionCount(const std::string& topic, absl::Duration timeout);

  // The topic's effective configuration (e.g. "retention.ms"). NOT_FOUND when the topic does
  // not exist; UNAVAILABLE when the broker does not answer.
  StatusOr<std::map<std::string, std::string>> TopicConfig(const std::string& topic, absl::Duration timeout);

  // Creates the topic if missing, then checks that it has the spec's partition count and configs;
  // INVALID_ARGUMENT naming the topic, the setting, what it is and what it should be otherwise
  // (a topic created by hand, or by another deployment with other settings).
  Status EnsureTopicAsSpecified(const TopicSpec& spec, absl::Duration timeout);

  StatusOr<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition, absl::Duration timeout);

 private:
  explicit Admin(std::unique_ptr<RdKafka::Producer> handle);
  std::unique_ptr<RdKafka::Producer> handle_;
};

}  // namespace sales::kafka
