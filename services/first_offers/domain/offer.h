// The offer and product aggregates of first offers, and the lead view offers are drafted from:
// pure decision logic, no I/O, no clock read (the caller passes `now`). Given the current state
// and a command, decide the event or refuse with the specific error; given an event, evolve the
// state. The same Evolve functions build the projection rows and the state commands decide on.
//
// Lifecycle (docs/OFFERS.md; each refusal FAILED_PRECONDITION with a message that says why):
//   DRAFT --revise--> DRAFT;  SENT --revise--> DRAFT (a new revision must be sent again)
//   DRAFT --send--> SENT;     SENT --send--> SENT (re-sent, e.g. after the client lost it)
//   SENT --accept--> ACCEPTED;  SENT --reject--> REJECTED
//   DRAFT or SENT --withdraw--> WITHDRAWN;  DRAFT or SENT --expire (valid-until passed)--> EXPIRED
//   ACCEPTED, REJECTED, WITHDRAWN and EXPIRED are final.
// Only a qualified lead (LeadView STATUS_QUALIFIED) gets an offer. The first accepted offer of a
// lead converts it: OfferAccepted.converts_lead with the ClientConversion.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "sales/api/v1/first_offers.pb.h"
#include "sales/events/v1/envelope.pb.h"
#include "sales/store/v1/first_offers.pb.h"

namespace sales::first_offers {

using events::v1::EventEnvelope;
using events::v1::OfferEvent;
using events::v1::ProductEvent;
using store::v1::LeadView;
using store::v1::OfferState;
using store::v1::ProductState;

inline constexpr char kOfferAggregate[] = "offer";
inline constexpr char kProductAggregate[] = "product";
inline constexpr char kLeadAggregate[] = "lead";  // read from sales.leads
inline constexpr uint32_t kSchemaVersion = 1;

// Limits (validation answers INVALID_ARGUMENT beyond them).
inline constexpr int kMaxLines = 100;
inline constexpr int64_t kMaxQuantity = 1000000;
inline constexpr int kMaxRevisions = 50;                      // FAILED_PRECONDITION beyond
inline constexpr absl::Duration kMaxValidity = absl::Hours(24 * 366);

// The event type name of a payload ("offer.drafted", ..., "product.upserted").
std::string EventTypeOf(const OfferEvent& event);
std::string EventTypeOf(const ProductEvent& event);

// Offer ids derive from the DraftOffer idempotency key: the same on every retry.
std::string OfferIdFor(const std::string& idempotency_key);

// ---- Validation of requests: every field, all violations at once (INVALID_ARGUMENT). ----
// Field names are the request's (e.g. "terms.lines[2].quantity"). `now` bounds valid_until.
[[nodiscard]] Status ValidateUpsertProduct(const api::v1::UpsertProductRequest& r);
[[nodiscard]] Status ValidateDraft(const api::v1::DraftOfferRequest& r, absl::Time now);
[[nodiscard]] Status ValidateRevise(const api::v1::ReviseOfferRequest& r, absl::Time now);
[[nodiscard]] Status ValidateSend(const api::v1::SendOfferRequest& r);
[[nodiscard]] Status ValidateAccept(const api::v1::AcceptOfferRequest& r);
[[nodiscard]] Status ValidateReject(const api::v1::RejectOfferRequest& r);
[[nodiscard]] Status ValidateWithdraw(const api::v1::WithdrawOfferRequest& r);

// Catalogue lookup for pricing: nullopt when the product does not exist.
using ProductLookup = std::function<StatusOr<std::optional<ProductState>>(const std::string& code)>;

// Prices terms from the catalogue (see OfferLine in proto/sales/events/v1/offer.proto for the
// formulas). FAILED_PRECONDITION for an unknown or inactive product, or a product listed in
// another currency than the offer's; INVALID_ARGUMENT (field named) when an amount overflows.
[[nodiscard]] StatusOr<events::v1::OfferTerms> PriceTerms(const api::v1::OfferTermsInput& input,
                                                          int32_t revision, const ProductLookup& products);

// ---- Decisions. ----
// The decisions on an existing offer expect it drafted (>= 1 revision). Those that take the request
// check its expected_version too (ABORTED), for callers other than the service's command path,
// which checks every command's with command::CheckExpectedVersion before deciding.
// ABORTED when `expected_version` is neither 0 (any) nor the offer's version.
[[nodiscard]] Status CheckVersion(const OfferState& offer, int64_t expected_version);
[[nodiscard]] StatusOr<OfferEvent> DecideDraft(const std::optional<LeadView>& lead,
                                               const api::v1::DraftOfferRequest& r, const ProductLookup& products);
[[nodiscard]] StatusOr<OfferEvent> DecideRevise(const OfferState& offer, const api::v1::ReviseOfferRequest& r,
                                                const ProductLookup& products);
// FAILED_PRECONDITION when valid_until has passed (the offer is about to expire).
[[nodiscard]] StatusOr<OfferEvent> DecideSend(const OfferState& offer, absl::Time now);
// `lead_converted`: an earlier offer of the same lead was already accepted (this one does not
// convert the lead again).
[[nodiscard]] StatusOr<OfferEvent> DecideAccept(const OfferState& offer, const api::v1::AcceptOfferRequest& r,
                                                bool lead_converted, absl::Time now);
[[nodiscard]] StatusOr<OfferEvent> DecideReject(const OfferState& offer, const api::v1::RejectOfferRequest& r);
[[nodiscard]] StatusOr<OfferEvent> DecideWithdraw(const OfferState& offer, const api::v1::WithdrawOfferRequest& r);
// The scheduler's question: nullopt when the offer is final or not yet due (valid_until > now).
std::optional<OfferEvent> DecideExpire(const OfferState& offer, absl::Time now);
ProductEvent DecideUpsertProduct(const api::v1::UpsertProductRequest& r);

// ---- Evolution. ----
// FAILED_PRECONDITION when the event cannot follow the state (e.g. sent before drafted);
// INVALID_ARGUMENT when it is not an event of this aggregate. The envelope's version and times
// are recorded on the state.
[[nodiscard]] Status EvolveOffer(std::optional<OfferState>& state, const EventEnvelope& event);
[[nodiscard]] Status EvolveProduct(std::optional<ProductState>& state, const EventEnvelope& event);
// Lead events from `sales.leads` (captured, source_linked, qualified, disqualified, assigned;
// others only move the version). Lenient on purpose: another service's stream is not ours to
// refuse, so an event whose version is not above the view's is reported as false (already
// applied) and any other is applied.
[[nodiscard]] StatusOr<bool> EvolveLeadView(std::optional<LeadView>& state, const EventEnvelope& event);

// When an open offer is due to expire (the latest revision's valid_until); nullopt when final.
std::optional<absl::Time> ExpiryDue(const OfferState& offer);
bool IsFinal(const OfferState& offer);
const events::v1::OfferTerms& LatestTerms(const OfferState& offer);  // offer has >= 1 revision

}  // namespace sales::first_offers
