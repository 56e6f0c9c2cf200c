// Time as a dependency: production code asks a Clock, tests inject a FakeClock
// (common/testing/fake_clock.h) so that nothing depends on the wall clock.
#pragma once

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

}  // namespace sales
