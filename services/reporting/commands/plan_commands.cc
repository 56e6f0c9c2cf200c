#include "services/reporting/commands/plan_commands.h"

#include "common/base/strings.h"
#include "common/command/idempotency.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {

using Decision = command::Decision<CommandResult>;
using command::HashWithoutKey;

class PlanCommands::Logic final : public command::DecisionLogic<Command, CommandResult> {
 public:
  explicit Logic(std::string reporting_currency) : currency_(std::move(reporting_currency)) {}

  const char* Name(const Command& command) const override {
    return command.index() == 0 ? "SetTarget" : "SetExchangeRate";
  }

  Status Validate(const Command& command, absl::Time) const override {
    if (const auto* t = std::get_if<api::v1::SetTargetRequest>(&command)) return ValidateSetTarget(*t, currency_);
    return ValidateSetExchangeRate(std::get<api::v1::SetExchangeRateRequest>(command), currency_);
  }

  StatusOr<Decision> Decide(const Command& command, const Caller& caller, Batch& batch,
                            command::EventFactory& events) override {
    const bool target = command.index() == 0;
    const std::string hash = std::visit([](const auto& r) { return HashWithoutKey(r); }, command);
    const std::string& key = std::visit([](const auto& r) -> const std::string& { return r.idempotency_key(); }, command);
    ASSIGN_OR_RETURN(std::optional<command::IdempotencyRecord> earlier,
                     command::CheckRetry(batch, kIdempotencyFamily, key, hash));
    if (earlier) return Decision{{earlier->aggregate_id, earlier->version, true}, {}};

    std::string id;
    PlanEvent event;
    std::optional<PlanState> state;
    if (target) {
      const auto& r = std::get<api::v1::SetTargetRequest>(command);
      ASSIGN_OR_RETURN(Period period, ParsePeriod(r.period()));
      id = TargetIdFor(period, r.metric(), r.dimension(), r.key());
      ASSIGN_OR_RETURN(state, LoadRow<PlanState>(batch, kTargetsFamily, id));
      ASSIGN_OR_RETURN(event, DecideSetTarget(state, r));
    } else {
      const auto& r = std::get<api::v1::SetExchangeRateRequest>(command);
      id = RateIdFor(r.currency(), r.day());
      ASSIGN_OR_RETURN(state, LoadRow<PlanState>(batch, kRatesFamily, id));
      event = DecideSetExchangeRate(r, currency_);
    }
    const int64_t version = (state ? state->version() : 0) + 1;
    Decision d;
    d.events.push_back(events.New(target ? kTargetAggregate : kRateAggregate, id, version,
                                  target ? "plan.target_set" : "plan.exchange_rate_set", kSchemaVersion,
                                  Name(command), key, hash, caller));
    *d.events.back().mutable_plan() = std::move(event);
    d.result = {id, version, false};
    return d;
  }

 private:
  const std::string currency_;
};

PlanCommands::PlanCommands(command::DeciderOptions options, std::string reporting_currency,
                           kafka::EventPublisher* publisher, projection::Applier* applier, const Clock* clock,
                           MetricsRegistry* metrics)
    : logic_(std::make_unique<Logic>(std::move(reporting_currency))) {
  if (options.producer.empty()) options.producer = "reporting";
  decider_ = std::make_unique<command::Decider<Command, CommandResult>>(std::move(options), logic_.get(), publisher,
                                                                       applier, clock, metrics);
}

PlanCommands::~PlanCommands() { decider_.reset(); }

Status PlanCommands::Start() { return decider_->Start(); }

StatusOr<CommandResult> PlanCommands::Execute(Command command, const Caller& caller) {
  return decider_->Execute(std::move(command), caller);
}

Status PlanCommands::Health() const { return decider_->Health(); }

}  // namespace sales::reporting
