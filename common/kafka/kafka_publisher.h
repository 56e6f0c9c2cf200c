// The real EventPublisher: a librdkafka idempotent producer (enable.idempotence, acks=all), so a
// message is written at most once per partition even when librdkafka retries internally. With an
// infinite delivery timeout a message is never given up: one that was not acknowledged when its
// caller stopped waiting is retried, unchanged, until the broker has it, and its Delivery then
// says so; only a fatal error of the producer (it is recreated) or the publisher's end fails it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/kafka/client_config.h"
#include "common/kafka/publisher.h"

namespace RdKafka {
class Producer;
}

namespace sales::kafka {

struct PublisherOptions {
  ClientSettings client;
  // Upper bound for one message to be acknowledged (librdkafka message.timeout.ms), after which
  // it fails; absl::InfiniteDuration(): never (the decider's appends, see common/command/decider.h).
  absl::Duration delivery_timeout = absl::Seconds(5);
  int linger_ms = 2;
};

class KafkaPublisher final : public EventPublisher {
 public:
  static StatusOr<std::unique_ptr<KafkaPublisher>> Create(const PublisherOptions& options);
  // Flushes what is in flight, for at most the delivery timeout (5 s if longer), then fails the rest.
  ~KafkaPublisher() override;

  std::shared_ptr<Delivery> Send(std::vector<OutgoingMessage> messages, absl::Duration timeout) override;

  // UNAVAILABLE while the current producer has hit a fatal error (the poller thread recreates it
  // within moments).
  Status Health() const;

 private:
  class DeliveryReports;
  explicit KafkaPublisher(const PublisherOptions& options);
  Status Connect();  // (re)creates the producer
  std::shared_ptr<RdKafka::Producer> Current();

  PublisherOptions options_;
  std::mutex mu_;  // guards producer_ and reports_
  std::mutex reconnect_mu_;
  // Declared before producer_: a producer may call back while it is destroyed.
  std::vector<std::unique_ptr<DeliveryReports>> reports_;  // one per producer ever created
  std::shared_ptr<RdKafka::Producer> producer_;
  std::atomic<int64_t> generation_{0};                     // of producer_
  std::atomic<int64_t> fatal_generation_{-1};              // the generation that failed fatally
  std::atomic<bool> stopping_{false};
  std::thread poller_;
};

}  // namespace sales::kafka
