#include "common/base/clock.h"

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

}  // namespace sales
