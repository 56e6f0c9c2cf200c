#include "common/base/clock.h"

#include <fstream>

#include "absl/time/clock.h"

namespace sales {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

Clock& SystemClock() {
  static auto* clock = new RealClock();
  return *clock;
}

absl::Time TestOffsetClock::Now() const {
  const absl::Time now = absl::Now();
  std::lock_guard lock(mu_);
  if (now - read_at_ > absl::Milliseconds(50)) {
    std::ifstream in(path_);
    int64_t seconds = 0;
    if (!(in >> seconds)) seconds = 0;
    offset_ = absl::Seconds(seconds);
    read_at_ = now;
  }
  return now + offset_;
}

}  // namespace sales
