// The client support projection: events of `sales.clients` (client and call aggregates, this
// service's own) -> the RocksDB rows the queries, the command path and the schedulers read. Every
// row is derived from this one topic (clients are opened by commands that record the conversion in
// ClientOpened, docs/DESIGN.md), so a rebuild gives the same rows byte for byte.
//
// Column families:
//   clients            client id -> store.v1.ClientState (tickets, revenue entries inside)
//   client_events      <client id>/<version, 8 bytes> -> the event envelope (the timeline)
//   client_order       <client since, 8 bytes><client id> -> ""           (ListClients order)
//   client_by_lead     lead id -> client id
//   client_phones      <phone match key>/<client id> -> ""                (PBX matching)
//   ticket_order       <opened at, 8 bytes><client id>/<ticket id> -> ""  (ListTickets order)
//   sla_due            DueKey(due, "<client id>|<ticket id>|<kind>") -> "" (SLA scheduler)
//   unmatched_calls    <started at, 8 bytes><call id> -> sales.events.v1.PbxCall
//   calls              call id -> version (the call aggregate)
//   client_idempotency idempotency key -> command::IdempotencyRecord
#pragma once

#include <string>

#include "common/projection/projection.h"
#include "services/client_support/domain/client.h"

namespace sales::client_support {

inline constexpr char kClientsFamily[] = "clients";
inline constexpr char kClientEventsFamily[] = "client_events";
inline constexpr char kClientOrderFamily[] = "client_order";
inline constexpr char kClientByLeadFamily[] = "client_by_lead";
inline constexpr char kClientPhonesFamily[] = "client_phones";
inline constexpr char kTicketOrderFamily[] = "ticket_order";
inline constexpr char kSlaDueFamily[] = "sla_due";
inline constexpr char kUnmatchedCallsFamily[] = "unmatched_calls";
inline constexpr char kCallsFamily[] = "calls";
inline constexpr char kIdempotencyFamily[] = "client_idempotency";

class ClientsProjection final : public projection::EventProjection {
 public:
  std::string name() const override { return "clients"; }
  std::vector<std::string> column_families() const override {
    return {kClientsFamily,     kClientEventsFamily, kClientOrderFamily,    kClientByLeadFamily, kClientPhonesFamily,
            kTicketOrderFamily, kSlaDueFamily,       kUnmatchedCallsFamily, kCallsFamily,        kIdempotencyFamily};
  }

 protected:
  bool Uses(const EventEnvelope& event) const override;
  StatusOr<projection::Outcome> ApplyEvent(const EventEnvelope& event, Batch& batch) override;

 private:
  StatusOr<projection::Outcome> ApplyClient(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyCall(const EventEnvelope& event, Batch& batch);
};

// Row keys.
std::string ClientEventKey(const std::string& client_id, int64_t version);
std::string ClientOrderKey(const ClientState& c);
std::string TicketOrderKey(const std::string& client_id, const TicketState& t);
std::string SlaDueId(const std::string& client_id, const std::string& ticket_id, events::v1::SlaKind kind);
// The parts of an SlaDueId; false when malformed.
bool ParseSlaDueId(const std::string& id, std::string* client_id, std::string* ticket_id, events::v1::SlaKind* kind);
std::string UnmatchedCallKey(const PbxCall& call);

// Readers over a Store or a Batch.
template <typename Reader>
StatusOr<std::optional<ClientState>> LoadClient(const Reader& r, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, r.Get(kClientsFamily, id));
  if (!bytes) return std::optional<ClientState>();
  ClientState c;
  if (!c.ParseFromString(*bytes)) return absl::DataLossError(StrCat("stored client ", id, " is corrupt"));
  return std::optional<ClientState>(std::move(c));
}

}  // namespace sales::client_support
