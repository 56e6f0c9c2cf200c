#include "tests/bench/support_data.h"

#include <cstdio>
#include <cstdlib>
#include <optional>

#include "absl/time/clock.h"
#include "common/base/clock.h"
#include "common/base/hash.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "services/client_support/domain/client.h"
#include "tests/bench/offer_data.h"

namespace sales::bench {
namespace {

namespace cs = client_support;

// The benchmark builds events from requests it made valid itself: a refusal is a bug here.
template <typename T>
T OrDie(StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "sales_bench: building %s: %s\n", what, v.status().ToString().c_str());
    std::abort();
  }
  return std::move(*v);
}
void OrDie(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "sales_bench: building %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

events::v1::Money Eur(int64_t cents) {
  events::v1::Money m;
  m.set_units(cents);
  m.set_currency("EUR");
  return m;
}

// The catalogue the orders are costed from: the offers benchmark's product (ProductRequest).
StatusOr<std::optional<store::v1::CatalogueEntry>> BenchCatalogue(const std::string& code) {
  if (code != kBenchProduct) return std::optional<store::v1::CatalogueEntry>();
  store::v1::CatalogueEntry p;
  p.set_product_code(code);
  p.set_version(1);
  p.mutable_product()->set_name("CRM Pro, annual licence per seat");
  *p.mutable_product()->mutable_list_price() = Eur(199000);
  *p.mutable_product()->mutable_unit_cost() = Eur(41000);
  p.mutable_product()->set_active(true);
  return std::optional<store::v1::CatalogueEntry>(std::move(p));
}

std::string NationalPhone(int64_t i) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%08lld", static_cast<long long>(i));
  return StrCat("21", digits);
}

}  // namespace

SupportData::SupportData(std::string run)
    : run_(std::move(run)),
      lead_events_("lead-acquisition", &SystemClock()),
      offer_events_("first-offers", &SystemClock()),
      client_events_("client-support", &SystemClock()) {}

std::string SupportData::ManagerId(const std::string& run, int64_t m) { return StrCat("bench-", run, "-manager-", m); }
std::string SupportData::Extension(int64_t m) { return StrCat(200 + m); }
std::string SupportData::Phone(int64_t i) { return StrCat("+30 ", NationalPhone(i)); }

kafka::OutgoingMessage SupportData::Message(const std::string& topic, const events::v1::EventEnvelope& e) const {
  return {topic, e.aggregate_id(), events::Encode(e),
          {{"event_type", e.event_type()}, {"content-type", "application/x-protobuf"}}};
}

int SupportData::Manager(const std::string& leads_topic, int64_t m, std::vector<kafka::OutgoingMessage>* out) {
  const std::string id = ManagerId(run_, m);
  const command::Caller caller{StrCat("bench-manager-", m), "sales-bench"};
  int version = 0;
  auto append = [&](events::v1::ManagerEvent payload, const char* type) {
    const std::string key = StrCat("bench-", run_, "-manager-", m, "-", version + 1);
    events::v1::EventEnvelope e = lead_events_.New("manager", id, ++version, type, 1, "RegisterManager", key,
                                                   Sha256Hex(key), caller);
    *e.mutable_manager() = std::move(payload);
    out->push_back(Message(leads_topic, e));
  };
  events::v1::ManagerEvent registered;
  registered.mutable_registered()->set_name(StrCat("Manager ", m));
  registered.mutable_registered()->set_email(StrCat("manager-", m, "@sales.example.com"));
  registered.mutable_registered()->add_regions("*");
  registered.mutable_registered()->add_products(kBenchProduct);
  registered.mutable_registered()->set_extension(Extension(m));
  append(registered, "manager.registered");
  if (m % 2 == 1) {
    events::v1::ManagerEvent moved, back;
    moved.mutable_extension_changed()->set_extension(StrCat("99", Extension(m)));
    back.mutable_extension_changed()->set_extension(Extension(m));
    append(moved, "manager.extension_changed");
    append(back, "manager.extension_changed");
  }
  return version;
}

void SupportData::Client(const std::string& clients_topic, int64_t i, std::vector<kafka::OutgoingMessage>* out) {
  const absl::Time now = absl::Now();
  const std::string lead_id = StrCat("bench-", run_, "-lead-", i);
  const std::string manager = ManagerId(run_, i / kClientsPerManager);
  const command::Caller caller{StrCat("bench-client-", i), "sales-bench"};

  // First offers' converting acceptance, as client support's conversion feed reads it.
  const std::string accept_key = StrCat("bench-", run_, "-accept-", i);
  events::v1::EventEnvelope accepted = offer_events_.New(cs::kOfferAggregate, StrCat("bench-", run_, "-offer-", i), 3,
                                                         "offer.accepted", 1, "AcceptOffer", accept_key,
                                                         Sha256Hex(accept_key), caller);
  auto* a = accepted.mutable_offer()->mutable_accepted();
  a->set_revision(1);
  *a->mutable_value() = Eur(4975000);
  a->set_converts_lead(true);
  auto* conversion = a->mutable_conversion();
  conversion->set_lead_id(lead_id);
  conversion->mutable_contact()->set_name(StrCat("Contact ", i));
  conversion->mutable_contact()->set_company(StrCat("Client Company ", i, " Ltd"));
  conversion->mutable_contact()->set_email(StrCat("contact-", i, "@client.example.com"));
  conversion->mutable_contact()->set_phone(Phone(i));
  conversion->set_owner_manager_id(manager);
  conversion->set_region("GR-ATT");
  conversion->add_product_codes(kBenchProduct);
  *conversion->mutable_value() = Eur(4975000);
  conversion->set_source(events::v1::LEAD_SOURCE_WEB_FORM);

  const std::string client_id = cs::ClientIdFor(lead_id);
  std::optional<cs::ClientState> client;
  auto append = [&](cs::ClientEvent event, const char* command, const std::string& key,
                    std::optional<google::protobuf::Timestamp> occurred_at = std::nullopt) {
    events::v1::EventEnvelope e =
        client_events_.New(cs::kClientAggregate, client_id, client ? client->version() + 1 : 1,
                           cs::EventTypeOf(event), cs::kSchemaVersion, command, key, Sha256Hex(key), caller);
    if (occurred_at) *e.mutable_occurred_at() = *occurred_at;
    *e.mutable_client() = std::move(event);
    OrDie(cs::EvolveClient(client, e), "a client event");
    out->push_back(Message(clients_topic, e));
  };
  append(OrDie(cs::DecideOpen(std::nullopt, accepted), "an opening"), "OpenClient", StrCat("open:", lead_id),
         accepted.occurred_at());

  // Three PBX calls on the manager's extension, as the PBX intake decides them.
  for (int c = 0; c < 3; ++c) {
    cs::PbxCall call;
    call.set_call_id(StrCat("bench-", run_, "-call-", i, "-", c));
    call.set_from(NationalPhone(i));
    call.set_to("2109999000");
    call.set_direction(events::v1::CALL_DIRECTION_INBOUND);
    *call.mutable_started_at() = events::ToProto(now - absl::Hours(3 - c));
    call.set_duration_seconds(120 + c);
    call.set_answered(c != 1);
    call.set_extension(Extension(i / kClientsPerManager));
    call.set_manager_id(manager);
    call.set_matched_phone(cs::PhoneMatchKey(call.from()));
    append(cs::CallInteraction(call), "RecordCall", StrCat("pbx:", call.call_id()), call.started_at());
  }

  // A ticket opened, answered and resolved.
  api::v1::OpenTicketRequest open;
  open.set_idempotency_key(StrCat("bench-", run_, "-ticket-", i));
  open.set_client_id(client_id);
  open.set_category(events::v1::TICKET_CATEGORY_QUESTION);
  open.set_priority(events::v1::TICKET_PRIORITY_NORMAL);
  open.set_subject("Export of the contact list to the accounting system");
  const std::string ticket_id = cs::TicketIdFor(open.idempotency_key());
  append(OrDie(cs::DecideOpenTicket(*client, open, ticket_id, cs::DefaultSla(), now), "a ticket"), "OpenTicket",
         open.idempotency_key());
  api::v1::TicketCommandRequest respond;
  respond.set_idempotency_key(StrCat("bench-", run_, "-respond-", i));
  respond.set_client_id(client_id);
  respond.set_ticket_id(ticket_id);
  respond.set_manager_id(manager);
  respond.set_note("Looking into it: the export runs nightly, checking last night's log.");
  append(OrDie(cs::DecideRespond(*client, respond, now), "a response"), "RespondToTicket", respond.idempotency_key());
  api::v1::TicketCommandRequest resolve = respond;
  resolve.set_idempotency_key(StrCat("bench-", run_, "-resolve-", i));
  resolve.set_note("The export user's password had expired; renewed, export re-run.");
  append(OrDie(cs::DecideResolve(*client, resolve, now), "a resolution"), "ResolveTicket", resolve.idempotency_key());

  // A repeat order of two lines, costed from the catalogue.
  api::v1::RecordOrderRequest order;
  order.set_idempotency_key(StrCat("bench-", run_, "-order-", i));
  order.set_client_id(client_id);
  order.set_currency("EUR");
  auto* seats = order.add_lines();
  seats->set_product_code(kBenchProduct);
  seats->set_quantity(10);
  *seats->mutable_unit_price() = Eur(199000);
  seats->set_discount_bp(1000);
  auto* extra = order.add_lines();
  extra->set_product_code(kBenchProduct);
  extra->set_description("CRM Pro, seats for the new branch office");
  extra->set_quantity(2);
  *extra->mutable_unit_price() = Eur(149000);
  append(OrDie(cs::DecideRecordOrder(*client, order, cs::OrderIdFor(order.idempotency_key()), BenchCatalogue, now),
               "an order"),
         "RecordOrder", order.idempotency_key());

  // A meeting the manager logged.
  api::v1::LogInteractionRequest meeting;
  meeting.set_idempotency_key(StrCat("bench-", run_, "-meeting-", i));
  meeting.set_client_id(client_id);
  meeting.set_kind(events::v1::INTERACTION_KIND_MEETING);
  meeting.set_outcome(events::v1::INTERACTION_OUTCOME_FOLLOW_UP);
  meeting.set_manager_id(manager);
  meeting.set_duration_seconds(3600);
  meeting.set_note("Quarterly review; they plan a second office next spring.");
  append(OrDie(cs::DecideLogInteraction(*client, meeting, now), "a meeting"), "LogInteraction",
         meeting.idempotency_key());

  // And a call from a number no client has, on the same extension.
  cs::PbxCall stranger;
  stranger.set_call_id(StrCat("bench-", run_, "-unmatched-", i));
  stranger.set_from(StrCat("+44 20 ", NationalPhone(i)));
  stranger.set_to("2109999000");
  stranger.set_direction(events::v1::CALL_DIRECTION_INBOUND);
  *stranger.mutable_started_at() = events::ToProto(now - absl::Minutes(10));
  stranger.set_extension(Extension(i / kClientsPerManager));
  stranger.set_manager_id(manager);
  const std::string key = StrCat("pbx:", stranger.call_id());
  events::v1::EventEnvelope unmatched = client_events_.New(
      cs::kCallAggregate, stranger.call_id(), 1, "call.unmatched", cs::kSchemaVersion, "RecordCall", key,
      Sha256Hex(key), caller);
  *unmatched.mutable_occurred_at() = stranger.started_at();
  *unmatched.mutable_call() = cs::UnmatchedCall(stranger);
  out->push_back(Message(clients_topic, unmatched));
}

std::string SupportData::CallRecord(int64_t call, int64_t client) const {
  const absl::Time started = absl::Now() - absl::Minutes(1);
  return StrCat(R"({"schema_version":1,"call_id":"bench-)", run_, "-pbx-", call, R"(","from":")", NationalPhone(client),
                R"(","to":"210 9999000","direction":"inbound","started_at":")",
                absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", started, absl::UTCTimeZone()),
                R"(","duration_seconds":95,"answered":true,"extension":")", Extension(client / kClientsPerManager),
                R"("})");
}

}  // namespace sales::bench
