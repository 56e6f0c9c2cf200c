#include "common/testing/fake_publisher.h"

namespace sales::testing {

std::shared_ptr<kafka::Delivery> FakePublisher::Send(std::vector<kafka::OutgoingMessage> messages, absl::Duration) {
  std::lock_guard lock(mu_);
  std::vector<StatusOr<kafka::Position>> out;
  for (auto& m : messages) {
    if (fail_after_ == 0) {
      fail_after_ = -1;
      failure_ = pending_failure_;
    } else if (fail_after_ > 0) {
      --fail_after_;
    }
    if (!failure_.ok()) {
      out.push_back(failure_);
      continue;
    }
    out.push_back(kafka::Position{m.topic, 0, next_offset_[m.topic]++});
    published_.push_back(std::move(m));
  }
  return std::make_shared<kafka::KnownDelivery>(std::move(out));
}

void FakePublisher::FailWith(Status status) {
  std::lock_guard lock(mu_);
  failure_ = std::move(status);
  fail_after_ = -1;
}

void FakePublisher::FailAfter(int acknowledged, Status status) {
  std::lock_guard lock(mu_);
  fail_after_ = acknowledged;
  pending_failure_ = std::move(status);
}

std::vector<kafka::OutgoingMessage> FakePublisher::published() const {
  std::lock_guard lock(mu_);
  return published_;
}

}  // namespace sales::testing
