// An in-memory EventPublisher for unit tests of command handling: records what was appended,
// assigns offsets per topic (one partition), and can be told to fail like an unreachable broker.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "common/kafka/publisher.h"

namespace sales::testing {

class FakePublisher final : public kafka::EventPublisher {
 public:
  // Known at once: appended, or failed as told.
  std::shared_ptr<kafka::Delivery> Send(std::vector<kafka::OutgoingMessage> messages, absl::Duration timeout) override;

  // Every following Publish fails with `status` (OK to heal).
  void FailWith(Status status);
  // The next `acknowledged` messages succeed, the ones after fail with `status` (a partial failure).
  void FailAfter(int acknowledged, Status status);
  std::vector<kafka::OutgoingMessage> published() const;

 private:
  mutable std::mutex mu_;
  Status failure_;
  int fail_after_ = -1;
  Status pending_failure_;
  std::map<std::string, int64_t> next_offset_;
  std::vector<kafka::OutgoingMessage> published_;
};

}  // namespace sales::testing
