#include "services/first_offers/commands/offer_commands.h"

#include "common/base/strings.h"
#include "common/command/idempotency.h"
#include "services/first_offers/projection/offers_projection.h"

namespace sales::first_offers {

using Decision = command::Decision<CommandResult>;
using command::HashWithoutKey;

namespace {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

constexpr const char* kNames[] = {"DraftOffer",  "ReviseOffer",   "SendOffer",     "AcceptOffer",
                                  "RejectOffer", "WithdrawOffer", "UpsertProduct", "ExpireOffer"};
static_assert(std::size(kNames) == std::variant_size_v<Command>);

Status CheckCallerKey(const std::string& key) {
  if (key.rfind(kReservedKeyPrefix, 0) == 0) {
    return InvalidField("idempotency_key",
                        StrCat("keys starting with \"", kReservedKeyPrefix, "\" are reserved for the service"));
  }
  return absl::OkStatus();
}

// The answer about an offer as it is now (after the command, or for a retry).
CommandResult OfferResult(const OfferState& offer, bool replayed) {
  CommandResult r;
  r.aggregate_id = offer.offer_id();
  r.version = offer.version();
  r.replayed = replayed;
  r.revision = offer.revisions_size() > 0 ? LatestTerms(offer).revision() : 0;
  r.status = offer.status();
  r.converts_lead = offer.converted_lead();
  return r;
}

}  // namespace

class OfferCommands::Logic final : public command::DecisionLogic<Command, CommandResult> {
 public:
  const char* Name(const Command& command) const override { return kNames[command.index()]; }

  Status Validate(const Command& command, absl::Time now) const override {
    return std::visit(
        Overloaded{[&](const api::v1::DraftOfferRequest& r) { return Both(r.idempotency_key(), ValidateDraft(r, now)); },
                   [&](const api::v1::ReviseOfferRequest& r) {
                     return Both(r.idempotency_key(), ValidateRevise(r, now));
                   },
                   [&](const api::v1::SendOfferRequest& r) { return Both(r.idempotency_key(), ValidateSend(r)); },
                   [&](const api::v1::AcceptOfferRequest& r) { return Both(r.idempotency_key(), ValidateAccept(r)); },
                   [&](const api::v1::RejectOfferRequest& r) { return Both(r.idempotency_key(), ValidateReject(r)); },
                   [&](const api::v1::WithdrawOfferRequest& r) {
                     return Both(r.idempotency_key(), ValidateWithdraw(r));
                   },
                   [&](const api::v1::UpsertProductRequest& r) {
                     return Both(r.idempotency_key(), ValidateUpsertProduct(r));
                   },
                   [&](const ExpireOffer& e) {
                     return e.offer_id.empty() ? InvalidField("offer_id", "missing") : absl::OkStatus();
                   }},
        command);
  }

  StatusOr<Decision> Decide(const Command& command, const Caller& caller, Batch& batch,
                            command::EventFactory& events) override {
    const ProductLookup products = [&batch](const std::string& code) { return LoadProduct(batch, code); };
    const absl::Time now = events.Now();
    return std::visit(
        Overloaded{
            [&](const api::v1::DraftOfferRequest& r) -> StatusOr<Decision> {
              const std::string hash = HashWithoutKey(r);
              ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
              if (replay) return *replay;
              const std::string id = OfferIdFor(r.idempotency_key());
              ASSIGN_OR_RETURN(std::optional<OfferState> existing, LoadOffer(batch, id));
              if (existing) return absl::AlreadyExistsError(StrCat("offer ", id, " already exists"));
              ASSIGN_OR_RETURN(std::optional<LeadView> lead, LoadLeadView(batch, r.lead_id()));
              ASSIGN_OR_RETURN(OfferEvent event, DecideDraft(lead, r, products));
              return Emit(events, std::nullopt, id, std::move(event), "DraftOffer", r.idempotency_key(), hash, caller);
            },
            [&](const api::v1::ReviseOfferRequest& r) -> StatusOr<Decision> {
              return OnOffer(r, "ReviseOffer", events, caller, batch,
                             [&](const OfferState& o) { return DecideRevise(o, r, products); });
            },
            [&](const api::v1::SendOfferRequest& r) -> StatusOr<Decision> {
              return OnOffer(r, "SendOffer", events, caller, batch, [&](const OfferState& o) { return DecideSend(o, now); });
            },
            [&](const api::v1::AcceptOfferRequest& r) -> StatusOr<Decision> {
              return OnOffer(r, "AcceptOffer", events, caller, batch, [&](const OfferState& o) -> StatusOr<OfferEvent> {
                ASSIGN_OR_RETURN(std::optional<std::string> converted,
                                 batch.Get(kLeadConversionsFamily, o.lead().lead_id()));
                ASSIGN_OR_RETURN(OfferEvent event, DecideAccept(o, r, converted.has_value(), now));
                // Margin is a fact of the acceptance: the catalogue's costs as they stand now.
                auto* accepted = event.mutable_accepted();
                for (const auto& line : LatestTerms(o).lines()) {
                  bool seen = false;
                  for (const auto& c : accepted->costs()) seen = seen || c.product_code() == line.product_code();
                  if (seen) continue;
                  ASSIGN_OR_RETURN(std::optional<ProductState> product, products(line.product_code()));
                  if (product && product->unit_cost().currency() == LatestTerms(o).currency()) {
                    auto* cost = accepted->add_costs();
                    cost->set_product_code(line.product_code());
                    *cost->mutable_unit_cost() = product->unit_cost();
                  }
                }
                return event;
              });
            },
            [&](const api::v1::RejectOfferRequest& r) -> StatusOr<Decision> {
              return OnOffer(r, "RejectOffer", events, caller, batch, [&](const OfferState& o) { return DecideReject(o, r); });
            },
            [&](const api::v1::WithdrawOfferRequest& r) -> StatusOr<Decision> {
              return OnOffer(r, "WithdrawOffer", events, caller, batch,
                             [&](const OfferState& o) { return DecideWithdraw(o, r); });
            },
            [&](const api::v1::UpsertProductRequest& r) -> StatusOr<Decision> {
              const std::string hash = HashWithoutKey(r);
              ASSIGN_OR_RETURN(std::optional<command::IdempotencyRecord> earlier,
                               command::CheckRetry(batch, kIdempotencyFamily, r.idempotency_key(), hash));
              if (earlier) return Decision{{earlier->aggregate_id, earlier->version, true}, {}};
              ASSIGN_OR_RETURN(std::optional<ProductState> product, LoadProduct(batch, r.code()));
              const int64_t version = product ? product->version() : 0;
              RETURN_IF_ERROR(command::CheckExpectedVersion(r.expected_version(), version, StrCat("product ", r.code())));
              ProductEvent event = DecideUpsertProduct(r);
              Decision d;
              d.events.push_back(events.New(kProductAggregate, r.code(), version + 1, EventTypeOf(event), kSchemaVersion,
                                            "UpsertProduct", r.idempotency_key(), hash, caller));
              *d.events.back().mutable_product() = std::move(event);
              d.result.aggregate_id = r.code();
              d.result.version = version + 1;
              return d;
            },
            [&](const ExpireOffer& e) -> StatusOr<Decision> {
              ASSIGN_OR_RETURN(std::optional<OfferState> offer, LoadOffer(batch, e.offer_id));
              if (!offer) return absl::NotFoundError(StrCat("no offer with id ", e.offer_id));
              std::optional<OfferEvent> event = DecideExpire(*offer, now);
              if (!event) {
                Decision d{OfferResult(*offer, false), {}};
                d.result.nothing_to_do = true;
                return d;
              }
              const std::string key = StrCat(kReservedKeyPrefix, e.offer_id);
              return Emit(events, std::move(offer), e.offer_id, std::move(*event), "ExpireOffer", key, "expire", caller);
            }},
        command);
  }

 private:
  static Status Both(const std::string& key, Status validation) {
    if (Status s = CheckCallerKey(key); !s.ok()) {
      std::vector<FieldViolation> all = FieldViolations(s);
      for (auto& v : FieldViolations(validation)) all.push_back(std::move(v));
      return InvalidArgument(std::move(all));
    }
    return validation;
  }

  // The answer to a retry, from what the first call recorded; nullopt for a new key.
  static StatusOr<std::optional<Decision>> Replay(Batch& batch, const std::string& key, const std::string& hash) {
    ASSIGN_OR_RETURN(std::optional<command::IdempotencyRecord> earlier,
                     command::CheckRetry(batch, kIdempotencyFamily, key, hash));
    if (!earlier) return std::optional<Decision>();
    // The first answer: the offer as that command left it, evolved from its stored events up to
    // the version it produced (an offer has a handful of events).
    std::optional<OfferState> offer;
    for (int64_t v = 1; v <= earlier->version; ++v) {
      ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                       batch.Get(kOfferEventsFamily, OfferEventKey(earlier->aggregate_id, v)));
      EventEnvelope e;
      if (!bytes || !e.ParseFromString(*bytes)) {
        return absl::DataLossError(StrCat("event ", v, " of offer ", earlier->aggregate_id, " is missing or corrupt"));
      }
      RETURN_IF_ERROR(EvolveOffer(offer, e));
    }
    if (!offer) return absl::InternalError(StrCat("idempotency record points at missing offer ", earlier->aggregate_id));
    return std::optional<Decision>(Decision{OfferResult(*offer, true), {}});
  }

  // A command on an existing offer: retry check, load, expected version, decide.
  template <typename Request, typename Fn>
  StatusOr<Decision> OnOffer(const Request& r, const char* name, command::EventFactory& events, const Caller& caller,
                             Batch& batch, Fn decide) {
    const std::string hash = HashWithoutKey(r);
    ASSIGN_OR_RETURN(auto replay, Replay(batch, r.idempotency_key(), hash));
    if (replay) return *replay;
    ASSIGN_OR_RETURN(std::optional<OfferState> offer, LoadOffer(batch, r.offer_id()));
    if (!offer) return absl::NotFoundError(StrCat("no offer with id ", r.offer_id()));
    RETURN_IF_ERROR(command::CheckExpectedVersion(r.expected_version(), offer->version(), StrCat("offer ", r.offer_id())));
    ASSIGN_OR_RETURN(OfferEvent event, decide(*offer));
    return Emit(events, std::move(offer), r.offer_id(), std::move(event), name, r.idempotency_key(), hash, caller);
  }

  // One event on the offer; the answer is the offer as the event leaves it.
  static StatusOr<Decision> Emit(command::EventFactory& events, std::optional<OfferState> offer, const std::string& id,
                                 OfferEvent event, const char* name, const std::string& key, const std::string& hash,
                                 const Caller& caller) {
    const int64_t version = offer ? offer->version() + 1 : 1;
    Decision d;
    d.events.push_back(
        events.New(kOfferAggregate, id, version, EventTypeOf(event), kSchemaVersion, name, key, hash, caller));
    *d.events.back().mutable_offer() = std::move(event);
    RETURN_IF_ERROR(EvolveOffer(offer, d.events.back()));
    d.result = OfferResult(*offer, false);
    return d;
  }
};

OfferCommands::OfferCommands(command::DeciderOptions options, kafka::EventPublisher* publisher,
                             projection::Applier* applier, const Clock* clock, MetricsRegistry* metrics)
    : logic_(std::make_unique<Logic>()) {
  if (options.producer.empty()) options.producer = "first-offers";
  decider_ = std::make_unique<command::Decider<Command, CommandResult>>(std::move(options), logic_.get(), publisher,
                                                                       applier, clock, metrics);
}

OfferCommands::~OfferCommands() { decider_.reset(); }

Status OfferCommands::Start() { return decider_->Start(); }

StatusOr<CommandResult> OfferCommands::Execute(Command command, const Caller& caller) {
  return decider_->Execute(std::move(command), caller);
}

std::vector<StatusOr<CommandResult>> OfferCommands::ExecuteAll(std::vector<Command> commands, const Caller& caller) {
  return decider_->ExecuteAll(std::move(commands), caller);
}

Status OfferCommands::Health() const { return decider_->Health(); }

}  // namespace sales::first_offers
