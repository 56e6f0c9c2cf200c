// The client support projection: events of `sales.clients` (client and call aggregates, this
// service's own) -> the RocksDB rows the queries, the command path and the schedulers read; and
// two views of other services' topics that decisions read (and record what they relied on):
// the manager roster with its PBX extensions from `sales.leads` (manager events only) and the
// product catalogue from `sales.offers` (product events only). Lead and offer events are stepped
// over (not used). Every row is derived from one topic and, for the views, from one aggregate's
// events in their order, so a rebuild gives the same rows byte for byte whatever the interleaving
// of topics and partitions (clients are opened by commands that record the conversion in
// ClientOpened, calls and orders record the roster's manager and the catalogue's costs,
// docs/DESIGN.md).
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
//   roster             "mgr/<manager id>" -> store.v1.RosterManager (version, active, extension)
//                      "ext/<extension>/<from, 8 bytes>/<manager id>" -> store.v1.ExtensionHolding
//                      (an interval the manager held the extension; until unset: still held)
//   catalogue          product code -> store.v1.CatalogueEntry (the last ProductUpserted)
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
inline constexpr char kRosterFamily[] = "roster";
inline constexpr char kCatalogueFamily[] = "catalogue";

using store::v1::CatalogueEntry;
using store::v1::ExtensionHolding;
using store::v1::RosterManager;

class ClientsProjection final : public projection::EventProjection {
 public:
  std::string name() const override { return "clients"; }
  std::vector<std::string> column_families() const override {
    return {kClientsFamily,     kClientEventsFamily, kClientOrderFamily,    kClientByLeadFamily, kClientPhonesFamily,
            kTicketOrderFamily, kSlaDueFamily,       kUnmatchedCallsFamily, kCallsFamily,        kIdempotencyFamily,
            kRosterFamily,      kCatalogueFamily};
  }

 protected:
  bool Uses(const EventEnvelope& event) const override;
  StatusOr<projection::Outcome> ApplyEvent(const EventEnvelope& event, Batch& batch) override;

 private:
  StatusOr<projection::Outcome> ApplyClient(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyCall(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyManager(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyProduct(const EventEnvelope& event, Batch& batch);
};

// Row keys.
std::string ClientEventKey(const std::string& client_id, int64_t version);
std::string ClientOrderKey(const ClientState& c);
std::string TicketOrderKey(const std::string& client_id, const TicketState& t);
std::string SlaDueId(const std::string& client_id, const std::string& ticket_id, events::v1::SlaKind kind);
// The parts of an SlaDueId; false when malformed.
bool ParseSlaDueId(const std::string& id, std::string* client_id, std::string* ticket_id, events::v1::SlaKind* kind);
std::string UnmatchedCallKey(const PbxCall& call);
std::string RosterManagerKey(const std::string& manager_id);
std::string ExtensionHoldingKey(const std::string& extension, absl::Time from, const std::string& manager_id);

// The manager who held `extension` at `at` (from <= at < until) as the roster rows in `store`
// say; empty when nobody did (or the extension is empty). Several intervals containing `at` can
// only come from bad data (two managers given one extension): the latest `from` wins, then the
// greatest manager id, so the answer does not depend on the order the rows were written in.
[[nodiscard]] StatusOr<std::string> ExtensionHolderAt(const Store& store, const std::string& extension, absl::Time at);

// Readers over a Store or a Batch.
template <typename Reader>
StatusOr<std::optional<ClientState>> LoadClient(const Reader& r, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, r.Get(kClientsFamily, id));
  if (!bytes) return std::optional<ClientState>();
  ClientState c;
  if (!c.ParseFromString(*bytes)) return absl::DataLossError(StrCat("stored client ", id, " is corrupt"));
  return std::optional<ClientState>(std::move(c));
}

template <typename Reader>
StatusOr<std::optional<CatalogueEntry>> LoadCatalogueEntry(const Reader& r, const std::string& code) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, r.Get(kCatalogueFamily, code));
  if (!bytes) return std::optional<CatalogueEntry>();
  CatalogueEntry p;
  if (!p.ParseFromString(*bytes)) return absl::DataLossError(StrCat("stored catalogue product ", code, " is corrupt"));
  return std::optional<CatalogueEntry>(std::move(p));
}

}  // namespace sales::client_support
