#include "services/lead_acquisition/api/lead_queries.h"

#include "absl/strings/escaping.h"
#include "common/base/hash.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "services/lead_acquisition/projection/lead_projection.h"
#include "services/lead_acquisition/domain/validation.h"

namespace sales::lead_acquisition {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;

// The filters of a listing, without paging: a token is only valid with the same filters.
std::string FilterFingerprint(const api::v1::ListLeadsRequest& r) {
  api::v1::ListLeadsRequest f = r;
  f.clear_page_size();
  f.clear_page_token();
  std::string bytes;
  f.SerializeToString(&bytes);
  return Sha256Hex(bytes).substr(0, 16);
}

bool Matches(const Lead& lead, const api::v1::ListLeadsRequest& r) {
  // A merged lead is its survivor now: listed only when asked for (a pair counts as one lead).
  if (r.statuses_size() == 0 && lead.status() == Lead::STATUS_MERGED) return false;
  if (r.statuses_size() > 0 &&
      std::find(r.statuses().begin(), r.statuses().end(), ToApi(lead.status())) == r.statuses().end()) {
    return false;
  }
  if (!r.owner_manager_id().empty()) {
    const std::string want = r.owner_manager_id() == "-" ? "" : r.owner_manager_id();
    if (lead.owner_manager_id() != want) return false;
  }
  if (!r.region().empty() && lead.region() != r.region()) return false;
  if (r.source() != events::v1::LEAD_SOURCE_UNSPECIFIED && lead.source() != r.source()) return false;
  if (r.min_score() > 0 && lead.score() < r.min_score()) return false;
  if (r.max_score() > 0 && lead.score() > r.max_score()) return false;
  return true;
}

}  // namespace

api::v1::LeadStatus ToApi(Lead::Status status) {
  switch (status) {
    case Lead::STATUS_NEW: return api::v1::LEAD_STATUS_NEW;
    case Lead::STATUS_QUALIFIED: return api::v1::LEAD_STATUS_QUALIFIED;
    case Lead::STATUS_DISQUALIFIED: return api::v1::LEAD_STATUS_DISQUALIFIED;
    case Lead::STATUS_MERGED: return api::v1::LEAD_STATUS_MERGED;
    default: return api::v1::LEAD_STATUS_UNSPECIFIED;
  }
}

api::v1::Lead ToApi(const Lead& lead) {
  api::v1::Lead out;
  out.set_lead_id(lead.lead_id());
  out.set_version(lead.version());
  out.set_status(ToApi(lead.status()));
  out.set_name(lead.name());
  out.set_company(lead.company());
  out.set_email(lead.email());
  out.set_phone(lead.phone());
  out.set_source(lead.source());
  out.set_external_id(lead.external_id());
  out.set_region(lead.region());
  *out.mutable_product_interest() = lead.product_interest();
  *out.mutable_captured_at() = lead.captured_at();
  *out.mutable_updated_at() = lead.updated_at();
  out.set_company_size(lead.company_size());
  out.set_owner_manager_id(lead.owner_manager_id());
  if (lead.has_assignment()) *out.mutable_assignment() = lead.assignment();
  out.set_score(lead.score());
  for (const auto& c : lead.score_components()) {
    auto* o = out.add_score_components();
    o->set_factor(c.factor());
    o->set_points(c.points());
    o->set_reason(c.reason());
  }
  out.set_target_client(lead.target_client());
  if (lead.has_qualification()) *out.mutable_qualification() = lead.qualification();
  if (lead.has_disqualification()) *out.mutable_disqualification() = lead.disqualification();
  out.set_activities(lead.activities());
  out.set_positive_activities(lead.positive_activities());
  if (lead.has_last_activity_at()) *out.mutable_last_activity_at() = lead.last_activity_at();
  for (const auto& l : lead.linked_sources()) {
    auto* o = out.add_linked_sources();
    o->set_source(l.source());
    o->set_external_id(l.external_id());
    o->set_matched_on(l.matched_on());
    *o->mutable_linked_at() = l.linked_at();
    o->set_source_label(l.source_label());
    o->set_from_lead_id(l.from_lead_id());
  }
  out.set_source_label(lead.source_label());
  out.set_merged_into_lead_id(lead.merged_into_lead_id());
  *out.mutable_merged_lead_ids() = lead.merged_lead_ids();
  return out;
}

api::v1::Manager ToApi(const Manager& manager) {
  api::v1::Manager out;
  out.set_manager_id(manager.manager_id());
  out.set_version(manager.version());
  out.set_name(manager.name());
  out.set_email(manager.email());
  *out.mutable_regions() = manager.regions();
  *out.mutable_products() = manager.products();
  out.set_active(manager.active());
  out.set_open_leads(manager.open_leads());
  out.set_assigned_total(manager.assigned_total());
  *out.mutable_registered_at() = manager.registered_at();
  out.set_extension(manager.extension());
  return out;
}

StatusOr<api::v1::Lead> LeadQueries::GetLead(const api::v1::GetLeadRequest& r) const {
  Violations v;
  CheckId("lead_id", r.lead_id(), v);
  RETURN_IF_ERROR(Result(std::move(v)));
  ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(*store_, r.lead_id()));
  if (!lead) return absl::NotFoundError(StrCat("no lead with id ", r.lead_id()));
  return ToApi(*lead);
}

StatusOr<api::v1::ListLeadsResponse> LeadQueries::ListLeads(const api::v1::ListLeadsRequest& r) const {
  Violations v;
  if (r.page_size() < 0 || r.page_size() > kMaxPageSize) {
    v.push_back({"page_size", StrCat("from 1 to ", kMaxPageSize, " (0: ", kDefaultPageSize, ")")});
  }
  if (r.min_score() < 0 || r.min_score() > 100) v.push_back({"min_score", "from 0 to 100"});
  if (r.max_score() < 0 || r.max_score() > 100) v.push_back({"max_score", "from 0 to 100"});
  if (r.max_score() > 0 && r.min_score() > r.max_score()) v.push_back({"max_score", "below min_score"});
  for (int i = 0; i < r.statuses_size(); ++i) {
    if (r.statuses(i) == api::v1::LEAD_STATUS_UNSPECIFIED || !api::v1::LeadStatus_IsValid(r.statuses(i))) {
      v.push_back({StrCat("statuses[", i, "]"), r.statuses(i) == api::v1::LEAD_STATUS_UNSPECIFIED
                                                      ? "not a lead status (NEW, QUALIFIED or DISQUALIFIED)"
                                                      : StrCat("unknown value ", static_cast<int>(r.statuses(i)))});
    }
  }
  if (!events::v1::LeadSource_IsValid(r.source())) {
    v.push_back({"source", StrCat("unknown value ", static_cast<int>(r.source()))});
  }
  if (!r.owner_manager_id().empty() && r.owner_manager_id() != "-") CheckId("owner_manager_id", r.owner_manager_id(), v);
  std::string start_after;
  const std::string fingerprint = FilterFingerprint(r);
  if (!r.page_token().empty()) {
    std::string raw;
    if (!absl::WebSafeBase64Unescape(r.page_token(), &raw) || raw.size() < 17 || raw[16] != '|') {
      v.push_back({"page_token", "not a token this service issued"});
    } else if (raw.substr(0, 16) != fingerprint) {
      v.push_back({"page_token", "issued for other filters; repeat the first request's filters"});
    } else {
      start_after = raw.substr(17);
    }
  }
  RETURN_IF_ERROR(Result(std::move(v)));

  // The order key starts with the capture time: a time range narrows the scan.
  const std::string lower =
      r.has_created_after() ? EncodeInt64(absl::ToUnixNanos(events::FromProto(r.created_after()))) : "";
  const std::string upper =
      r.has_created_before() ? EncodeInt64(absl::ToUnixNanos(events::FromProto(r.created_before()))) : "";
  const int page_size = r.page_size() == 0 ? kDefaultPageSize : r.page_size();

  api::v1::ListLeadsResponse response;
  std::string last_key;
  bool more = false;
  Status inner = absl::OkStatus();
  auto visit = [&](std::string_view key, std::string_view) {
    if (!upper.empty() && key.substr(0, 8) >= upper) return false;
    if (response.leads_size() == page_size) {
      more = true;
      return false;
    }
    last_key = std::string(key);
    auto lead = LoadLead(*store_, std::string(key.substr(8)));
    if (!lead.ok()) {
      inner = lead.status();
      return false;
    }
    if (*lead && Matches(**lead, r)) *response.add_leads() = ToApi(**lead);
    return true;
  };
  RETURN_IF_ERROR(start_after > lower ? store_->Scan(kOrderFamily, "", start_after, visit)
                                      : store_->ScanFrom(kOrderFamily, lower, visit));
  RETURN_IF_ERROR(inner);
  if (more) response.set_next_page_token(absl::WebSafeBase64Escape(fingerprint + "|" + last_key));
  return response;
}

StatusOr<api::v1::GetLeadHistoryResponse> LeadQueries::GetLeadHistory(const api::v1::GetLeadHistoryRequest& r) const {
  Violations v;
  CheckId("lead_id", r.lead_id(), v);
  RETURN_IF_ERROR(Result(std::move(v)));
  api::v1::GetLeadHistoryResponse response;
  Status inner = absl::OkStatus();
  // The lead's own events, then those of the leads merged into it (and into them), in the order
  // they were recorded; each names its lead.
  std::vector<std::string> ids = {r.lead_id()};
  for (size_t next = 0; next < ids.size() && next < 1000; ++next) {
    const std::string id = ids[next];
    RETURN_IF_ERROR(store_->Scan(kEventsFamily, id + "/", "", [&](std::string_view, std::string_view value) {
      EventEnvelope e;
      if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
        inner = absl::DataLossError(StrCat("stored event of lead ", id, " is corrupt"));
        return false;
      }
      auto* h = response.add_events();
      h->set_version(e.aggregate_version());
      h->set_event_type(e.event_type());
      h->set_event_id(e.event_id());
      *h->mutable_occurred_at() = e.occurred_at();
      *h->mutable_recorded_at() = e.recorded_at();
      h->set_actor(e.actor());
      h->set_correlation_id(e.correlation_id());
      h->set_lead_id(id);
      if (e.lead().has_merged()) ids.push_back(e.lead().merged().merged_lead_id());
      *h->mutable_event() = std::move(*e.mutable_lead());
      return true;
    }));
    RETURN_IF_ERROR(inner);
  }
  if (response.events().empty()) return absl::NotFoundError(StrCat("no lead with id ", r.lead_id()));
  if (ids.size() > 1) {
    std::stable_sort(response.mutable_events()->begin(), response.mutable_events()->end(),
                     [](const api::v1::HistoryEvent& a, const api::v1::HistoryEvent& b) {
                       return events::FromProto(a.recorded_at()) < events::FromProto(b.recorded_at());
                     });
  }
  return response;
}

StatusOr<api::v1::ListManagersResponse> LeadQueries::ListManagers(const api::v1::ListManagersRequest& r) const {
  api::v1::ListManagersResponse response;
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store_->Scan(kManagersFamily, "", "", [&](std::string_view id, std::string_view) {
    auto m = LoadManager(*store_, std::string(id));
    if (!m.ok() || !*m) {
      inner = m.ok() ? absl::DataLossError("stored manager vanished") : m.status();
      return false;
    }
    if ((*m)->active() || r.include_inactive()) *response.add_managers() = ToApi(**m);
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return response;
}

}  // namespace sales::lead_acquisition
