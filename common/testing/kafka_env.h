// Integration-test access to the real Kafka broker the test run starts (tests/CMakeLists.txt runs
// deploy/kafka/kafka.sh as a CTest fixture). Each test isolates itself with a unique topic prefix.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "common/kafka/publisher.h"

namespace sales::testing {

// SALES_TEST_KAFKA_BOOTSTRAP, default 127.0.0.1:19092 (deploy/kafka/kafka.sh's default).
std::string TestBootstrap();

// "t<pid>-<random>." - a topic prefix no other test uses.
std::string UniquePrefix();

// Stops / starts the shared broker (for tests of broker outages). The test must hold the
// `kafka_broker_control` CTest resource lock, which every integration test takes.
Status StopBroker();
Status StartBroker();

// One consumed message, with its headers.
struct ConsumedMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(const std::string& name) const;
};

// Everything in `topic` from the beginning up to its current end, every partition.
StatusOr<std::vector<ConsumedMessage>> ReadTopic(const std::string& topic, absl::Duration timeout = absl::Seconds(30));

// Writes arbitrary bytes straight to a topic (bypassing every service), e.g. malformed events.
class RawProducer {
 public:
  RawProducer();
  ~RawProducer();
  // Waits for the ack.
  StatusOr<kafka::Position> Send(const std::string& topic, const std::string& key, const std::string& value,
                                 std::vector<std::pair<std::string, std::string>> headers = {});
  // Sends many without waiting for each ack; returns once all are acknowledged.
  Status SendAll(const std::vector<kafka::OutgoingMessage>& messages);

 private:
  std::unique_ptr<kafka::EventPublisher> publisher_;
};

// Polls `condition` every 20 ms until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout);

}  // namespace sales::testing
