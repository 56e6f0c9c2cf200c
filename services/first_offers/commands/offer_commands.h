// The write side of first offers: its decisions (domain/offer.h) on the kit's decider
// (common/command/decider.h). One decider thread decides every offer and product command in
// order, reading state through the chunk's batch; the projection's rows are the state.
//
// ExpireOffer is the scheduler's command (not on the API): the offer's valid-until has passed.
// Its idempotency key is "expire:<offer id>" (an offer expires at most once); the decision checks
// the offer again, so a due row fired twice yields one OfferExpired.
// Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "common/command/decider.h"
#include "services/first_offers/domain/offer.h"

namespace sales::first_offers {

using command::Caller;

struct ExpireOffer {
  std::string offer_id;
};

using Command = std::variant<api::v1::DraftOfferRequest, api::v1::ReviseOfferRequest, api::v1::SendOfferRequest,
                             api::v1::AcceptOfferRequest, api::v1::RejectOfferRequest, api::v1::WithdrawOfferRequest,
                             api::v1::UpsertProductRequest, ExpireOffer>;

// What a command did.
struct CommandResult {
  std::string aggregate_id;  // offer id, or product code
  int64_t version = 0;
  bool replayed = false;     // answered from the first call's record
  bool nothing_to_do = false;  // ExpireOffer on an offer no longer due
  // Offers: the offer as it is after the command.
  int32_t revision = 0;
  OfferState::Status status = OfferState::STATUS_UNSPECIFIED;
  bool converts_lead = false;
};

// Idempotency keys starting with this are the service's own (the scheduler's); callers' keys may
// not, or they could collide.
inline constexpr char kReservedKeyPrefix[] = "expire:";

class OfferCommands {
 public:
  // Pointers must outlive this object; `metrics` may be null. `applier` applies with an
  // OffersProjection.
  OfferCommands(command::DeciderOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
                const Clock* clock, MetricsRegistry* metrics);
  ~OfferCommands();

  Status Start();
  StatusOr<CommandResult> Execute(Command command, const Caller& caller);
  std::vector<StatusOr<CommandResult>> ExecuteAll(std::vector<Command> commands, const Caller& caller);
  Status Health() const;

 private:
  class Logic;
  std::unique_ptr<Logic> logic_;
  std::unique_ptr<command::Decider<Command, CommandResult>> decider_;
};

}  // namespace sales::first_offers
