// Appending events to Kafka: the interface the command path uses, so that aggregates and command
// handlers can be unit-tested with common/testing's FakePublisher. KafkaPublisher is the real one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"

namespace sales::kafka {

struct OutgoingMessage {
  std::string topic;
  std::string key;  // the aggregate id: one aggregate's events stay ordered in one partition
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Where an acknowledged message landed.
struct Position {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

// Thread-safe.
class EventPublisher {
 public:
  virtual ~EventPublisher() = default;

  // Appends the messages and blocks until each is acknowledged by all in-sync replicas or has
  // failed, for at most `timeout`. One result per message, in order. A failed message is
  // UNAVAILABLE when the broker could not be reached or did not answer in time: it may or may not
  // have been written, so the caller must retry with the same idempotency key.
  virtual std::vector<StatusOr<Position>> Publish(std::vector<OutgoingMessage> messages,
                                                  absl::Duration timeout) = 0;
};

// All positions, or the first failure.
StatusOr<std::vector<Position>> AllDelivered(std::vector<StatusOr<Position>> results);

}  // namespace sales::kafka
