// Appending events to Kafka: the interface the command path uses, so that aggregates and command
// handlers can be unit-tested with common/testing's FakePublisher. KafkaPublisher is the real one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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

// The result of a message Kafka has not answered yet (Delivery::Results).
inline constexpr char kNotAcknowledgedYet[] = "kafka: not acknowledged yet";

// What became of messages handed to EventPublisher::Send, filled in as Kafka answers.
// Thread-safe.
class Delivery {
 public:
  virtual ~Delivery() = default;
  // Waits, at most `timeout`, until every message has its final result; true if they all have.
  virtual bool Wait(absl::Duration timeout) = 0;
  // One result per message, in order. A message without an answer yet is UNAVAILABLE
  // (kNotAcknowledgedYet).
  virtual std::vector<StatusOr<Position>> Results() const = 0;
  // Calls `done` once every message has its final result: at once, in this thread, if they have;
  // otherwise in the thread that records the last one. `done` must be quick and must not block.
  virtual void OnDone(std::function<void()> done) = 0;
};

// A Delivery known at once: fakes, and messages refused before they were sent.
class KnownDelivery final : public Delivery {
 public:
  explicit KnownDelivery(std::vector<StatusOr<Position>> results) : results_(std::move(results)) {}
  bool Wait(absl::Duration) override { return true; }
  std::vector<StatusOr<Position>> Results() const override { return results_; }
  void OnDone(std::function<void()> done) override { done(); }

 private:
  std::vector<StatusOr<Position>> results_;
};

// Thread-safe.
class EventPublisher {
 public:
  virtual ~EventPublisher() = default;

  // Hands the messages to the producer (waiting at most `timeout` for room in its queue) and
  // returns without waiting for the acknowledgements. A message is acknowledged once every
  // in-sync replica has it.
  virtual std::shared_ptr<Delivery> Send(std::vector<OutgoingMessage> messages, absl::Duration timeout) = 0;

  // Send, then wait at most `timeout` for the acknowledgements. One result per message, in order.
  // A failed message is UNAVAILABLE when the broker could not be reached or did not answer in
  // time: it may or may not have been written, so the caller must retry with the same
  // idempotency key.
  std::vector<StatusOr<Position>> Publish(std::vector<OutgoingMessage> messages, absl::Duration timeout);
};

// Waits at most `timeout` for `delivery`: one result per message, where one not acknowledged by
// then is UNAVAILABLE saying that it may still be written.
std::vector<StatusOr<Position>> AwaitDelivery(Delivery& delivery, absl::Duration timeout);
// The same for a `timeout` that began earlier: waits until `deadline`, its end.
std::vector<StatusOr<Position>> AwaitDelivery(Delivery& delivery, absl::Time deadline, absl::Duration timeout);

// All positions, or the first failure.
StatusOr<std::vector<Position>> AllDelivered(std::vector<StatusOr<Position>> results);

}  // namespace sales::kafka
