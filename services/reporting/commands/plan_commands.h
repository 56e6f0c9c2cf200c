// The write side of reporting: targets and exchange rates (domain/plan.h) on the kit's decider
// (common/command/decider.h: bounded queue, group commit, append without holding the projection's
// lock, resync after a failed append). Each SetTarget / SetExchangeRate appends one revision of
// its aggregate; a retry with the same idempotency key answers the first call. Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/command/decider.h"
#include "services/reporting/domain/plan.h"

namespace sales::reporting {

using command::Caller;

using Command = std::variant<api::v1::SetTargetRequest, api::v1::SetExchangeRateRequest>;

struct CommandResult {
  std::string aggregate_id;
  int64_t version = 0;
  bool replayed = false;
};

class PlanCommands {
 public:
  // Pointers must outlive this object; `metrics` may be null. `applier` applies with a
  // ReportingProjection. Targets and rates are in `reporting_currency`.
  PlanCommands(command::DeciderOptions options, std::string reporting_currency, kafka::EventPublisher* publisher,
               projection::Applier* applier, const Clock* clock, MetricsRegistry* metrics);
  ~PlanCommands();

  Status Start();
  StatusOr<CommandResult> Execute(Command command, const Caller& caller);
  Status Health() const;

 private:
  class Logic;
  std::unique_ptr<Logic> logic_;
  std::unique_ptr<command::Decider<Command, CommandResult>> decider_;
};

}  // namespace sales::reporting
