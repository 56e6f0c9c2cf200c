// Time as a dependency: production code asks a Clock, tests inject a FakeClock
// (common/testing/fake_clock.h) so that nothing depends on the wall clock.
#pragma once

#include <mutex>
#include <string>

#include "absl/time/time.h"

namespace sales {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The process-wide real clock; never destroyed.
Clock& SystemClock();

// TEST ONLY: the real clock shifted by a number of seconds read from a file, so that an
// integration test can move a real service process through time (an offer's expiry, an SLA) while
// it runs. The file holds one integer (seconds, may be negative; missing or empty file: 0) and is
// read again at most every 50 ms. Services use it only when started with --test-clock-offset-file.
class TestOffsetClock final : public Clock {
 public:
  explicit TestOffsetClock(std::string path) : path_(std::move(path)) {}
  absl::Time Now() const override;

 private:
  std::string path_;
  mutable std::mutex mu_;
  mutable absl::Time read_at_ = absl::InfinitePast();
  mutable absl::Duration offset_;
};

}  // namespace sales
