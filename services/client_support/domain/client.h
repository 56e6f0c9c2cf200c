// The client aggregate of client support, and the PBX call records it learns from: pure decision
// logic, no I/O, no clock read (the caller passes `now`). Given the current state and a command,
// decide the event or refuse with the specific error; given an event, evolve the state. The same
// EvolveClient builds the projection rows and the state commands decide on.
//
// Rules (docs/CLIENTS.md; each refusal FAILED_PRECONDITION with a message that says why):
//   a client is opened once, by the first accepted offer of a lead (OfferAccepted.converts_lead);
//   ACTIVE --churn--> CHURNED --reactivate--> ACTIVE; a churned client takes no new ticket, order
//   or renewal (interactions are still logged: win-back calls);
//   ticket: OPEN --respond--> RESPONDED --resolve--> RESOLVED --reopen--> RESPONDED;
//   OPEN --resolve--> RESOLVED (counts as the first response too); a resolved ticket cannot be
//   responded to or resolved again; only a resolved ticket can be reopened;
//   SLA: targets per priority from the SlaTable when the ticket is opened (a reopening sets a fresh
//   resolution target); a breach is a fact (SlaBreached) decided once per ticket and target.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "sales/api/v1/client_support.pb.h"
#include "sales/events/v1/envelope.pb.h"
#include "sales/intake/v1/inbound_call.pb.h"
#include "sales/store/v1/client_support.pb.h"

namespace sales::client_support {

using events::v1::CallEvent;
using events::v1::ClientEvent;
using events::v1::EventEnvelope;
using events::v1::PbxCall;
using store::v1::ClientState;
using store::v1::TicketState;

inline constexpr char kClientAggregate[] = "client";
inline constexpr char kCallAggregate[] = "call";
inline constexpr char kOfferAggregate[] = "offer";      // read from sales.offers (conversions)
inline constexpr char kProductAggregate[] = "product";  // read from sales.offers (the catalogue)
inline constexpr char kManagerAggregate[] = "manager";  // read from sales.leads (the roster)
inline constexpr uint32_t kSchemaVersion = 1;

// Limits and bounds (validation answers INVALID_ARGUMENT beyond them).
inline constexpr absl::Duration kMaxBackdate = absl::Hours(24 * 365 * 5);
inline constexpr absl::Duration kMaxFutureSkew = absl::Minutes(5);
inline constexpr size_t kMaxInboundCallBytes = 64 * 1024;  // a PBX record (JSON)

// First-response and resolution targets per ticket priority.
struct SlaTable {
  struct Targets {
    absl::Duration first_response;
    absl::Duration resolution;
  };
  Targets low, normal, high, urgent;
  const Targets& For(events::v1::TicketPriority p) const;  // UNSPECIFIED (refused by validation) reads as NORMAL
};
// The documented default (docs/CLIENTS.md): urgent 1h/8h, high 4h/24h, normal 8h/72h, low 24h/168h.
SlaTable DefaultSla();
// "urgent=1h/8h,high=4h/24h,normal=8h/72h,low=24h/168h" (every priority, durations as absl parses
// them, response below resolution); INVALID_ARGUMENT naming the flag's problem otherwise.
[[nodiscard]] StatusOr<SlaTable> ParseSla(std::string_view spec);

// The documented health rules (docs/CLIENTS.md).
struct HealthRules {
  int regular_min_orders = 2;                           // orders in the window, or
  int regular_min_renewals = 1;                         // renewals in the window
  absl::Duration regular_window = absl::Hours(24 * 365);
  absl::Duration no_contact = absl::Hours(24 * 30);     // a regular client without contact this long
  absl::Duration long_open_ticket = absl::Hours(24 * 7);
  double rhythm_factor = 2.0;  // no order for rhythm_factor x the average gap between orders
};

// The event type name of a payload ("client.opened", ..., "call.unmatched").
std::string EventTypeOf(const ClientEvent& event);
std::string EventTypeOf(const CallEvent& event);

// Ids: the client's derives from the lead's (opening is idempotent under replay); tickets,
// orders and renewals from the idempotency key of the command that creates them.
std::string ClientIdFor(const std::string& lead_id);
std::string TicketIdFor(const std::string& idempotency_key);
std::string OrderIdFor(const std::string& idempotency_key);
std::string RenewalIdFor(const std::string& idempotency_key);

// The phone key clients are matched on: the last 10 digits of the normalised number (fewer when
// it has fewer; empty below 7 digits), so "+30 2310 555 123", "0030 2310555123" and "2310555123"
// match. Documented in docs/CLIENTS.md.
std::string PhoneMatchKey(const std::string& phone);
// The normalised form of a number: its digits, with a leading '+' when it is international (written
// with '+' or with the "00" prefix): "+30 2310-555 123" and "0030 2310555123" -> "+302310555123",
// "(2310) 555 123" -> "2310555123"; empty when it has no digit.
std::string NormalizePhone(const std::string& phone);

// ---- Validation of requests: every field, all violations at once (INVALID_ARGUMENT). ----
// `now` bounds occurred_at (kMaxBackdate back, kMaxFutureSkew ahead).
[[nodiscard]] Status ValidateLogInteraction(const api::v1::LogInteractionRequest& r, absl::Time now);
[[nodiscard]] Status ValidateOpenTicket(const api::v1::OpenTicketRequest& r, absl::Time now);
// `command`: "RespondToTicket" (manager_id required), "ResolveTicket" or "ReopenTicket" (note required).
[[nodiscard]] Status ValidateTicketCommand(const api::v1::TicketCommandRequest& r, std::string_view command,
                                           absl::Time now);
[[nodiscard]] Status ValidateRecordOrder(const api::v1::RecordOrderRequest& r, absl::Time now);
[[nodiscard]] Status ValidateRecordRenewal(const api::v1::RecordRenewalRequest& r, absl::Time now);
[[nodiscard]] Status ValidateChurn(const api::v1::ChurnClientRequest& r, absl::Time now);
[[nodiscard]] Status ValidateReactivate(const api::v1::ReactivateClientRequest& r, absl::Time now);

// A PBX record (JSON, schema proto/sales/intake/v1/inbound_call.proto) -> the call, normalised.
// INVALID_ARGUMENT with the reason (fit for a dead-letter header: no raw bytes copied) otherwise.
[[nodiscard]] StatusOr<PbxCall> ParseInboundCall(std::string_view json);

// ---- Decisions. `now` is the server's time; a request's occurred_at (when set) is the fact's. ----
// The opening from first offers' event (an OfferAccepted with converts_lead): FAILED_PRECONDITION
// when `state` exists already (opened once), INVALID_ARGUMENT when the event is not such an
// acceptance.
[[nodiscard]] StatusOr<ClientEvent> DecideOpen(const std::optional<ClientState>& state,
                                               const EventEnvelope& offer_accepted);
[[nodiscard]] StatusOr<ClientEvent> DecideLogInteraction(const ClientState& c, const api::v1::LogInteractionRequest& r,
                                                         absl::Time now);
[[nodiscard]] StatusOr<ClientEvent> DecideOpenTicket(const ClientState& c, const api::v1::OpenTicketRequest& r,
                                                     const std::string& ticket_id, const SlaTable& sla, absl::Time now);
[[nodiscard]] StatusOr<ClientEvent> DecideRespond(const ClientState& c, const api::v1::TicketCommandRequest& r,
                                                  absl::Time now);
[[nodiscard]] StatusOr<ClientEvent> DecideResolve(const ClientState& c, const api::v1::TicketCommandRequest& r,
                                                  absl::Time now);
[[nodiscard]] StatusOr<ClientEvent> DecideReopen(const ClientState& c, const api::v1::TicketCommandRequest& r,
                                                 const SlaTable& sla, absl::Time now);
// First offers' catalogue as client support knows it: nullopt for a product it never listed.
using CatalogueLookup = std::function<StatusOr<std::optional<store::v1::CatalogueEntry>>(const std::string& code)>;
// INVALID_ARGUMENT naming the field when an amount overflows. Each product's unit cost is taken
// from the catalogue and recorded on the event (OrderRecorded.costs): FAILED_PRECONDITION naming
// the line and the product when the catalogue does not list it, or lists its cost in another
// currency than the order's (a margin needs both in one currency). An inactive product is still
// taken: existing clients may reorder what is no longer offered to new ones.
[[nodiscard]] StatusOr<ClientEvent> DecideRecordOrder(const ClientState& c, const api::v1::RecordOrderRequest& r,
                                                      const std::string& order_id, const CatalogueLookup& catalogue,
                                                      absl::Time now);
[[nodiscard]] StatusOr<ClientEvent> DecideRecordRenewal(const ClientState& c, const api::v1::RecordRenewalRequest& r,
                                                        const std::string& renewal_id, absl::Time now);
[[nodiscard]] StatusOr<ClientEvent> DecideChurn(const ClientState& c, const api::v1::ChurnClientRequest& r);
[[nodiscard]] StatusOr<ClientEvent> DecideReactivate(const ClientState& c, const api::v1::ReactivateClientRequest& r);
// The scheduler's question: nullopt when the target was met, already breached, or is not due yet.
std::optional<ClientEvent> DecideSlaBreach(const ClientState& c, const std::string& ticket_id,
                                           events::v1::SlaKind kind, absl::Time now);
// A matched PBX call becomes an interaction of the client (kind CALL, outcome REACHED when
// answered, NO_ANSWER otherwise, occurred_at = started_at).
ClientEvent CallInteraction(const PbxCall& call);
CallEvent UnmatchedCall(const PbxCall& call);

// ---- Evolution. ----
// FAILED_PRECONDITION when the event cannot follow the state; INVALID_ARGUMENT when it is not an
// event of this aggregate. Records the envelope's version.
[[nodiscard]] Status EvolveClient(std::optional<ClientState>& state, const EventEnvelope& event);

// The SLA targets still open on the client's tickets: (ticket id, kind, due), for the scheduler's
// due rows. A target is open while not met and not breached.
struct OpenTarget {
  std::string ticket_id;
  events::v1::SlaKind kind;
  absl::Time due;
};
std::vector<OpenTarget> OpenSlaTargets(const ClientState& c);

// ---- Health (docs/CLIENTS.md), as of `now`. ----
struct Health {
  std::optional<absl::Time> last_contact;
  int64_t days_since_contact = -1;
  int open_tickets = 0;
  int sla_breaches_90d = 0;
  std::vector<events::v1::Money> revenue_to_date;  // per currency, sorted by currency
  std::vector<events::v1::Money> revenue_12m;
  int orders = 0;
  int orders_12m = 0;
  int renewals_12m = 0;
  bool regular = false;
  bool needs_attention = false;
  std::vector<std::string> attention_reasons;  // e.g. "no contact for 41 days"
};
Health ComputeHealth(const ClientState& c, absl::Time now, const HealthRules& rules);

}  // namespace sales::client_support
