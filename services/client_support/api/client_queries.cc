#include "services/client_support/api/client_queries.h"

#include <algorithm>

#include "common/base/hash.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/store/page_token.h"
#include "services/client_support/projection/clients_projection.h"

namespace sales::client_support {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
// Rows one listing call reads at most: with a selective filter a page may then come back short (or
// empty) with a token to go on from, instead of one call reading the whole history.
constexpr int kMaxExamined = 5000;

template <typename Request>
std::string FilterFingerprint(const Request& r) {
  Request f = r;
  f.clear_page_size();
  f.clear_page_token();
  std::string bytes = Request::descriptor()->full_name();  // a token of one listing only
  f.AppendToString(&bytes);
  return Sha256Hex(bytes).substr(0, 16);
}

// Page size and token checks shared by the listings; the key to start after.
template <typename Request>
StatusOr<std::string> Paging(const Request& r, std::vector<FieldViolation>& v) {
  if (r.page_size() < 0 || r.page_size() > kMaxPageSize) {
    v.push_back({"page_size", StrCat("from 1 to ", kMaxPageSize, " (0: ", kDefaultPageSize, ")")});
  }
  StatusOr<std::string> start_after = DecodePageToken(r.page_token(), FilterFingerprint(r));
  if (!start_after.ok()) {
    for (auto& fv : FieldViolations(start_after.status())) v.push_back(std::move(fv));
    return std::string();
  }
  return start_after;
}

Status Result(std::vector<FieldViolation> v) { return v.empty() ? absl::OkStatus() : InvalidArgument(std::move(v)); }

std::optional<int64_t> UnitsIn(const google::protobuf::RepeatedPtrField<events::v1::Money>& amounts,
                               const std::string& currency) {
  for (const auto& m : amounts) {
    if (m.currency() == currency) return m.units();
  }
  return std::nullopt;
}

}  // namespace

api::v1::Ticket ToApi(const ClientState& c, const TicketState& t, absl::Time now) {
  api::v1::Ticket out;
  out.set_ticket_id(t.ticket_id());
  out.set_client_id(c.client_id());
  out.set_company(c.conversion().contact().company());
  out.set_owner_manager_id(c.conversion().owner_manager_id());
  out.set_category(t.category());
  out.set_priority(t.priority());
  out.set_subject(t.subject());
  out.set_status(static_cast<api::v1::TicketStatus>(t.status()));
  *out.mutable_opened_at() = t.opened_at();
  if (t.has_first_response_at()) *out.mutable_first_response_at() = t.first_response_at();
  if (t.has_resolved_at()) *out.mutable_resolved_at() = t.resolved_at();
  *out.mutable_sla() = t.sla();
  out.set_first_response_breached(t.first_response_breached());
  out.set_resolution_breached(t.resolution_breached());
  out.set_reopened(t.reopened());
  if (t.status() != TicketState::STATUS_RESOLVED) {
    const bool responded = t.has_first_response_at();
    const auto& due = responded ? t.sla().resolution_due() : t.sla().first_response_due();
    out.set_next_target(responded ? events::v1::SLA_KIND_RESOLUTION : events::v1::SLA_KIND_FIRST_RESPONSE);
    out.set_seconds_to_target(absl::ToInt64Seconds(events::FromProto(due) - now));
  }
  return out;
}

api::v1::Client ToApi(const ClientState& c, absl::Time now, const HealthRules& rules) {
  api::v1::Client out;
  const auto& conv = c.conversion();
  out.set_client_id(c.client_id());
  out.set_version(c.version());
  out.set_status(static_cast<api::v1::ClientStatus>(c.status()));
  out.set_lead_id(c.lead_id());
  out.set_company(conv.contact().company());
  out.set_contact_name(conv.contact().name());
  out.set_email(conv.contact().email());
  out.set_phone(conv.contact().phone());
  out.set_owner_manager_id(conv.owner_manager_id());
  out.set_region(conv.region());
  *out.mutable_products() = conv.product_codes();
  *out.mutable_first_deal_value() = conv.value();
  *out.mutable_client_since() = c.client_since();
  const Health h = ComputeHealth(c, now, rules);
  if (h.last_contact) *out.mutable_last_contact_at() = events::ToProto(*h.last_contact);
  out.set_days_since_contact(h.days_since_contact);
  out.set_open_tickets(h.open_tickets);
  out.set_sla_breaches_90d(h.sla_breaches_90d);
  for (const auto& m : h.revenue_to_date) *out.add_revenue_to_date() = m;
  for (const auto& m : h.revenue_12m) *out.add_revenue_12m() = m;
  out.set_orders(h.orders);
  out.set_orders_12m(h.orders_12m);
  out.set_renewals_12m(h.renewals_12m);
  out.set_regular(h.regular);
  out.set_needs_attention(h.needs_attention);
  for (const auto& reason : h.attention_reasons) out.add_attention_reasons(reason);
  out.set_churn_reason(c.churn_reason());
  return out;
}

StatusOr<api::v1::Client> ClientQueries::GetClient(const api::v1::GetClientRequest& r) const {
  if (r.client_id().empty() == r.lead_id().empty()) {
    return InvalidField("client_id", "give either client_id or lead_id");
  }
  std::string id = r.client_id();
  if (id.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> by_lead, store_->Get(kClientByLeadFamily, r.lead_id()));
    if (!by_lead) return absl::NotFoundError(StrCat("lead ", r.lead_id(), " is not a client (no accepted offer yet)"));
    id = *by_lead;
  }
  ASSIGN_OR_RETURN(std::optional<ClientState> c, LoadClient(*store_, id));
  if (!c) return absl::NotFoundError(StrCat("no client with id ", id));
  return ToApi(*c, clock_->Now(), rules_);
}

StatusOr<api::v1::ListClientsResponse> ClientQueries::ListClients(const api::v1::ListClientsRequest& r) const {
  std::vector<FieldViolation> v;
  StatusOr<std::string> start_after = Paging(r, v);
  for (const auto* m : {&r.min_revenue_12m(), &r.max_revenue_12m()}) {
    if (m->ByteSizeLong() > 0 && m->currency().size() != 3) {
      v.push_back({m == &r.min_revenue_12m() ? "min_revenue_12m.currency" : "max_revenue_12m.currency",
                   "an ISO 4217 code"});
    }
  }
  RETURN_IF_ERROR(Result(std::move(v)));
  const int limit = r.page_size() == 0 ? kDefaultPageSize : r.page_size();
  const absl::Time now = clock_->Now();
  api::v1::ListClientsResponse out;
  Status inner = absl::OkStatus();
  std::string last_key;
  int examined = 0;
  RETURN_IF_ERROR(store_->Scan(kClientOrderFamily, "", *start_after, [&](std::string_view key, std::string_view) {
    if (out.clients_size() == limit || ++examined > kMaxExamined) {
      out.set_next_page_token(EncodePageToken(FilterFingerprint(r), last_key));
      return false;
    }
    last_key = std::string(key);
    StatusOr<std::optional<ClientState>> c = LoadClient(*store_, std::string(key.substr(8)));
    if (!c.ok() || !*c) {
      inner = c.ok() ? absl::DataLossError("client index points at a missing client") : c.status();
      return false;
    }
    const ClientState& state = **c;
    if (!r.owner_manager_id().empty() && state.conversion().owner_manager_id() != r.owner_manager_id()) return true;
    if (!r.region().empty() && state.conversion().region() != r.region()) return true;
    api::v1::Client client = ToApi(state, now, rules_);
    if (r.only_regular() && !client.regular()) return true;
    if (r.only_needing_attention() && !client.needs_attention()) return true;
    if (r.min_revenue_12m().ByteSizeLong() > 0) {
      auto units = UnitsIn(client.revenue_12m(), r.min_revenue_12m().currency());
      if (!units || *units < r.min_revenue_12m().units()) return true;
    }
    if (r.max_revenue_12m().ByteSizeLong() > 0) {
      auto units = UnitsIn(client.revenue_12m(), r.max_revenue_12m().currency());
      if (units && *units > r.max_revenue_12m().units()) return true;
    }
    *out.add_clients() = std::move(client);
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return out;
}

StatusOr<api::v1::GetClientTimelineResponse> ClientQueries::GetClientTimeline(
    const api::v1::GetClientTimelineRequest& r) const {
  if (r.client_id().empty()) return InvalidField("client_id", "missing");
  api::v1::GetClientTimelineResponse out;
  out.set_client_id(r.client_id());
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store_->Scan(kClientEventsFamily, r.client_id() + "/", "", [&](std::string_view, std::string_view value) {
    EventEnvelope e;
    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      inner = absl::DataLossError(StrCat("stored event of client ", r.client_id(), " is corrupt"));
      return false;
    }
    auto* entry = out.add_entries();
    entry->set_version(e.aggregate_version());
    entry->set_event_type(e.event_type());
    *entry->mutable_occurred_at() = e.occurred_at();
    *entry->mutable_recorded_at() = e.recorded_at();
    entry->set_actor(e.actor());
    *entry->mutable_event() = e.client();
    // Unit costs are internal (for reporting's margin), as on offers: never shown on a timeline.
    if (e.client().has_order_recorded()) entry->mutable_event()->mutable_order_recorded()->clear_costs();
    return true;
  }));
  RETURN_IF_ERROR(inner);
  if (out.entries().empty()) return absl::NotFoundError(StrCat("no client with id ", r.client_id()));
  // In business order: a back-dated order appears where it happened.
  std::stable_sort(out.mutable_entries()->begin(), out.mutable_entries()->end(), [](const auto& a, const auto& b) {
    return events::FromProto(a.occurred_at()) < events::FromProto(b.occurred_at());
  });
  return out;
}

StatusOr<api::v1::ListTicketsResponse> ClientQueries::ListTickets(const api::v1::ListTicketsRequest& r) const {
  std::vector<FieldViolation> v;
  StatusOr<std::string> start_after = Paging(r, v);
  for (int i = 0; i < r.statuses_size(); ++i) {
    if (r.statuses(i) == api::v1::TICKET_STATUS_UNSPECIFIED || !api::v1::TicketStatus_IsValid(r.statuses(i))) {
      v.push_back({StrCat("statuses[", i, "]"), "unknown value: not a ticket status"});
    }
  }
  for (int i = 0; i < r.priorities_size(); ++i) {
    if (r.priorities(i) == events::v1::TICKET_PRIORITY_UNSPECIFIED ||
        !events::v1::TicketPriority_IsValid(r.priorities(i))) {
      v.push_back({StrCat("priorities[", i, "]"), "unknown value: not a ticket priority"});
    }
  }
  RETURN_IF_ERROR(Result(std::move(v)));
  const int limit = r.page_size() == 0 ? kDefaultPageSize : r.page_size();
  const absl::Time now = clock_->Now();
  api::v1::ListTicketsResponse out;
  Status inner = absl::OkStatus();
  std::string last_key;
  int examined = 0;
  RETURN_IF_ERROR(store_->Scan(kTicketOrderFamily, "", *start_after, [&](std::string_view key, std::string_view) {
    if (out.tickets_size() == limit || ++examined > kMaxExamined) {
      out.set_next_page_token(EncodePageToken(FilterFingerprint(r), last_key));
      return false;
    }
    last_key = std::string(key);
    const std::string_view rest = key.substr(8);
    const size_t slash = rest.find('/');
    const std::string client_id(rest.substr(0, slash));
    const std::string ticket_id(rest.substr(slash + 1));
    if (!r.client_id().empty() && client_id != r.client_id()) return true;
    StatusOr<std::optional<ClientState>> c = LoadClient(*store_, client_id);
    if (!c.ok() || !*c) {
      inner = c.ok() ? absl::DataLossError("ticket index points at a missing client") : c.status();
      return false;
    }
    if (!r.owner_manager_id().empty() && (*c)->conversion().owner_manager_id() != r.owner_manager_id()) return true;
    for (const auto& t : (*c)->tickets()) {
      if (t.ticket_id() != ticket_id) continue;
      api::v1::Ticket ticket = ToApi(**c, t, now);
      const bool status_ok = r.statuses().empty() || std::find(r.statuses().begin(), r.statuses().end(),
                                                                static_cast<int>(ticket.status())) != r.statuses().end();
      const bool priority_ok = r.priorities().empty() || std::find(r.priorities().begin(), r.priorities().end(),
                                                                    static_cast<int>(ticket.priority())) !=
                                                              r.priorities().end();
      const bool breach_ok = !r.only_breached() || ticket.first_response_breached() || ticket.resolution_breached();
      if (status_ok && priority_ok && breach_ok) *out.add_tickets() = std::move(ticket);
    }
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return out;
}

StatusOr<api::v1::ListUnmatchedCallsResponse> ClientQueries::ListUnmatchedCalls(
    const api::v1::ListUnmatchedCallsRequest& r) const {
  std::vector<FieldViolation> v;
  StatusOr<std::string> start_after = Paging(r, v);
  RETURN_IF_ERROR(Result(std::move(v)));
  const int limit = r.page_size() == 0 ? kDefaultPageSize : r.page_size();
  api::v1::ListUnmatchedCallsResponse out;
  Status inner = absl::OkStatus();
  std::string last_key;
  int examined = 0;
  RETURN_IF_ERROR(store_->Scan(kUnmatchedCallsFamily, "", *start_after, [&](std::string_view key, std::string_view value) {
    if (out.calls_size() == limit || ++examined > kMaxExamined) {
      out.set_next_page_token(EncodePageToken(FilterFingerprint(r), last_key));
      return false;
    }
    last_key = std::string(key);
    PbxCall call;
    if (!call.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      inner = absl::DataLossError("stored unmatched call is corrupt");
      return false;
    }
    if (r.manager_id().empty() || call.manager_id() == r.manager_id()) *out.add_calls() = std::move(call);
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return out;
}

}  // namespace sales::client_support
