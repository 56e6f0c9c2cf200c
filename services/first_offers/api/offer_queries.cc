#include "services/first_offers/api/offer_queries.h"

#include <algorithm>

#include "common/base/hash.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/money/money.h"
#include "common/store/page_token.h"
#include "services/first_offers/projection/offers_projection.h"

namespace sales::first_offers {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
// Rows one listing call reads at most: with a selective filter a page may then come back short (or
// empty) with a token to go on from, instead of one call reading the whole history.
constexpr int kMaxExamined = 5000;

// The filters of a listing, without paging: a token is only valid with the same filters.
template <typename Request>
std::string FilterFingerprint(const Request& r) {
  Request f = r;
  f.clear_page_size();
  f.clear_page_token();
  std::string bytes = Request::descriptor()->full_name();  // a token of one listing only
  f.AppendToString(&bytes);
  return Sha256Hex(bytes).substr(0, 16);
}

void CheckPageSize(int32_t size, std::vector<FieldViolation>& v) {
  if (size < 0 || size > kMaxPageSize) {
    v.push_back({"page_size", StrCat("from 1 to ", kMaxPageSize, " (0: ", kDefaultPageSize, ")")});
  }
}

void CheckId(const char* field, const std::string& id, std::vector<FieldViolation>& v, bool required = true) {
  if (id.empty()) {
    if (required) v.push_back({field, "missing"});
  } else if (id.size() > 64) {
    v.push_back({field, "at most 64 characters"});
  }
}

Status Result(std::vector<FieldViolation> v) { return v.empty() ? absl::OkStatus() : InvalidArgument(std::move(v)); }

bool InRange(const google::protobuf::Timestamp& t, const google::protobuf::Timestamp& from,
             const google::protobuf::Timestamp& to, bool has_from, bool has_to) {
  const absl::Time at = events::FromProto(t);
  if (has_from && at < events::FromProto(from)) return false;
  if (has_to && at >= events::FromProto(to)) return false;
  return true;
}

bool Matches(const OfferState& offer, const api::v1::ListOffersRequest& r) {
  if (r.statuses_size() > 0 &&
      std::find(r.statuses().begin(), r.statuses().end(), static_cast<int>(offer.status())) == r.statuses().end()) {
    return false;
  }
  if (!r.owner_manager_id().empty() && offer.lead().owner_manager_id() != r.owner_manager_id()) return false;
  if (!r.lead_id().empty() && offer.lead().lead_id() != r.lead_id()) return false;
  if (r.has_sent_from() || r.has_sent_to()) {
    if (offer.sent_revision() == 0) return false;
    if (!InRange(offer.sent_at(), r.sent_from(), r.sent_to(), r.has_sent_from(), r.has_sent_to())) return false;
  }
  const auto& total = LatestTerms(offer).total();
  if (r.has_min_total() && (total.currency() != r.min_total().currency() || total.units() < r.min_total().units())) {
    return false;
  }
  if (r.has_max_total() && (total.currency() != r.max_total().currency() || total.units() > r.max_total().units())) {
    return false;
  }
  return true;
}

}  // namespace

api::v1::Offer ToApi(const OfferState& offer, int32_t revision) {
  api::v1::Offer out;
  const int32_t latest = offer.revisions_size() > 0 ? LatestTerms(offer).revision() : 0;
  const events::v1::OfferTerms& terms =
      revision > 0 && revision <= offer.revisions_size() ? offer.revisions(revision - 1) : LatestTerms(offer);
  out.set_offer_id(offer.offer_id());
  out.set_lead_id(offer.lead().lead_id());
  out.set_status(static_cast<api::v1::OfferStatus>(offer.status()));
  out.set_version(offer.version());
  out.set_revision(terms.revision());
  out.set_latest_revision(latest);
  *out.mutable_lead() = offer.lead();
  out.set_owner_manager_id(offer.lead().owner_manager_id());
  out.set_currency(terms.currency());
  *out.mutable_lines() = terms.lines();
  *out.mutable_valid_until() = terms.valid_until();
  out.set_payment_terms(terms.payment_terms());
  out.set_note(terms.note());
  *out.mutable_gross() = terms.gross();
  *out.mutable_discount() = terms.discount();
  *out.mutable_total() = terms.total();
  *out.mutable_created_at() = offer.created_at();
  if (offer.has_sent_at()) *out.mutable_sent_at() = offer.sent_at();
  if (offer.has_closed_at()) *out.mutable_closed_at() = offer.closed_at();
  out.set_sent_revision(offer.sent_revision());
  out.set_rejection_reason(offer.rejection_reason());
  out.set_close_note(offer.close_note());
  out.set_converted_lead(offer.converted_lead());
  return out;
}

StatusOr<api::v1::Offer> OfferQueries::GetOffer(const api::v1::GetOfferRequest& r) const {
  std::vector<FieldViolation> v;
  CheckId("offer_id", r.offer_id(), v);
  if (r.revision() < 0) v.push_back({"revision", "0 (the latest) or a revision number"});
  RETURN_IF_ERROR(Result(std::move(v)));
  ASSIGN_OR_RETURN(std::optional<OfferState> offer, LoadOffer(*store_, r.offer_id()));
  if (!offer) return absl::NotFoundError(StrCat("no offer with id ", r.offer_id()));
  if (r.revision() > offer->revisions_size()) {
    return absl::NotFoundError(
        StrCat("offer ", r.offer_id(), " has revisions 1 to ", offer->revisions_size(), ", not ", r.revision()));
  }
  return ToApi(*offer, r.revision());
}

StatusOr<api::v1::ListOffersResponse> OfferQueries::ListOffers(const api::v1::ListOffersRequest& r) const {
  std::vector<FieldViolation> v;
  CheckPageSize(r.page_size(), v);
  for (int i = 0; i < r.statuses_size(); ++i) {
    if (r.statuses(i) == api::v1::OFFER_STATUS_UNSPECIFIED || !api::v1::OfferStatus_IsValid(r.statuses(i))) {
      v.push_back({StrCat("statuses[", i, "]"), "unknown value: not an offer status"});
    }
  }
  CheckId("owner_manager_id", r.owner_manager_id(), v, false);
  CheckId("lead_id", r.lead_id(), v, false);
  for (const auto& [field, money] : {std::pair{"min_total", &r.min_total()}, std::pair{"max_total", &r.max_total()}}) {
    const bool set = field == std::string("min_total") ? r.has_min_total() : r.has_max_total();
    if (!set) continue;
    if (Status s = Money::FromProto(*money, field).status(); !s.ok()) {
      for (auto& fv : FieldViolations(s)) v.push_back(std::move(fv));
    }
  }
  if (r.has_created_from() && r.has_created_to() &&
      events::FromProto(r.created_to()) <= events::FromProto(r.created_from())) {
    v.push_back({"created_to", "must be after created_from"});
  }
  if (r.has_sent_from() && r.has_sent_to() && events::FromProto(r.sent_to()) <= events::FromProto(r.sent_from())) {
    v.push_back({"sent_to", "must be after sent_from"});
  }
  if (r.has_min_total() && r.has_max_total()) {
    if (r.min_total().currency() != r.max_total().currency()) {
      v.push_back({"max_total.currency", "must be min_total's currency"});
    } else if (r.max_total().units() < r.min_total().units()) {
      v.push_back({"max_total", "below min_total"});
    }
  }
  StatusOr<std::string> start_after = DecodePageToken(r.page_token(), FilterFingerprint(r));
  if (!start_after.ok()) {
    for (auto& fv : FieldViolations(start_after.status())) v.push_back(std::move(fv));
  }
  RETURN_IF_ERROR(Result(std::move(v)));
  const int limit = r.page_size() == 0 ? kDefaultPageSize : r.page_size();

  api::v1::ListOffersResponse out;
  Status inner = absl::OkStatus();
  std::string last_key;
  int examined = 0;
  // Offers of one lead come from the lead's index; the rest from the creation order.
  const bool by_lead = !r.lead_id().empty();
  const std::string family = by_lead ? kLeadOffersFamily : kOfferOrderFamily;
  const std::string prefix = by_lead ? r.lead_id() + "/" : "";
  std::string from = prefix;
  if (!start_after->empty()) {
    from = *start_after + std::string(1, '\0');  // just after the last key returned
  } else if (r.has_created_from()) {
    from = prefix + EncodeInt64(absl::ToUnixNanos(events::FromProto(r.created_from())));
  }
  RETURN_IF_ERROR(store_->ScanFrom(family, from, [&](std::string_view key, std::string_view) {
    if (key.substr(0, prefix.size()) != prefix) return false;
    const std::string_view order = key.substr(prefix.size());
    const std::optional<int64_t> created = DecodeInt64(order.substr(0, 8));
    if (!created) {
      inner = absl::DataLossError(StrCat("malformed ", family, " key"));
      return false;
    }
    if (r.has_created_to() && absl::FromUnixNanos(*created) >= events::FromProto(r.created_to())) return false;
    if (r.has_created_from() && absl::FromUnixNanos(*created) < events::FromProto(r.created_from())) return true;
    if (out.offers_size() == limit || ++examined > kMaxExamined) {
      out.set_next_page_token(EncodePageToken(FilterFingerprint(r), last_key));
      return false;
    }
    StatusOr<std::optional<OfferState>> offer = LoadOffer(*store_, std::string(order.substr(8)));
    if (!offer.ok()) {
      inner = offer.status();
      return false;
    }
    last_key = std::string(key);
    if (*offer && Matches(**offer, r)) *out.add_offers() = ToApi(**offer);
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return out;
}

StatusOr<api::v1::GetOfferHistoryResponse> OfferQueries::GetOfferHistory(
    const api::v1::GetOfferHistoryRequest& r) const {
  std::vector<FieldViolation> v;
  CheckId("offer_id", r.offer_id(), v);
  RETURN_IF_ERROR(Result(std::move(v)));
  api::v1::GetOfferHistoryResponse out;
  out.set_offer_id(r.offer_id());
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store_->Scan(kOfferEventsFamily, r.offer_id() + "/", "", [&](std::string_view, std::string_view value) {
    EventEnvelope e;
    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      inner = absl::DataLossError(StrCat("stored event of offer ", r.offer_id(), " is corrupt"));
      return false;
    }
    auto* h = out.add_events();
    h->set_version(e.aggregate_version());
    h->set_event_type(e.event_type());
    h->set_event_id(e.event_id());
    *h->mutable_occurred_at() = e.occurred_at();
    *h->mutable_recorded_at() = e.recorded_at();
    h->set_actor(e.actor());
    h->set_correlation_id(e.correlation_id());
    *h->mutable_event() = e.offer();
    if (e.offer().has_accepted()) h->mutable_event()->mutable_accepted()->clear_costs();  // internal
    return true;
  }));
  RETURN_IF_ERROR(inner);
  if (out.events().empty()) return absl::NotFoundError(StrCat("no offer with id ", r.offer_id()));
  return out;
}

StatusOr<api::v1::Opportunity> OfferQueries::ToOpportunity(const LeadView& lead) const {
  api::v1::Opportunity o;
  o.set_lead_id(lead.lead_id());
  ASSIGN_OR_RETURN(std::optional<std::string> won, store_->Get(kLeadConversionsFamily, lead.lead_id()));
  int32_t offers = 0;
  RETURN_IF_ERROR(store_->Scan(kLeadOffersFamily, lead.lead_id() + "/", "", [&](std::string_view, std::string_view) {
    ++offers;
    return true;
  }));
  if (won) {
    o.set_status(api::v1::OPPORTUNITY_STATUS_WON);
  } else if (lead.status() == LeadView::STATUS_DISQUALIFIED) {
    o.set_status(api::v1::OPPORTUNITY_STATUS_CLOSED);
  } else {
    o.set_status(api::v1::OPPORTUNITY_STATUS_OPEN);
  }
  o.set_owner_manager_id(lead.owner_manager_id());
  o.set_company(lead.contact().company());
  o.set_contact_name(lead.contact().name());
  o.set_email(lead.contact().email());
  o.set_phone(lead.contact().phone());
  o.set_region(lead.region());
  *o.mutable_product_interest() = lead.product_interest();
  *o.mutable_qualified_at() = lead.qualified_at();
  o.set_age_seconds(absl::ToInt64Seconds(clock_->Now() - events::FromProto(lead.qualified_at())));
  o.set_offers(offers);
  o.set_awaiting_first_offer(o.status() == api::v1::OPPORTUNITY_STATUS_OPEN && offers == 0);
  o.set_source(lead.source());
  return o;
}

StatusOr<api::v1::Opportunity> OfferQueries::GetOpportunity(const api::v1::GetOpportunityRequest& r) const {
  std::vector<FieldViolation> v;
  CheckId("lead_id", r.lead_id(), v);
  RETURN_IF_ERROR(Result(std::move(v)));
  ASSIGN_OR_RETURN(std::optional<LeadView> lead, LoadLeadView(*store_, r.lead_id()));
  if (!lead) return absl::NotFoundError(StrCat("lead ", r.lead_id(), " is not known to first offers"));
  if (lead->status() == LeadView::STATUS_NEW || !lead->has_qualified_at()) {
    return absl::NotFoundError(StrCat("lead ", r.lead_id(), " is not qualified: it is not an opportunity yet"));
  }
  return ToOpportunity(*lead);
}

StatusOr<api::v1::ListOpportunitiesResponse> OfferQueries::ListOpportunities(
    const api::v1::ListOpportunitiesRequest& r) const {
  std::vector<FieldViolation> v;
  CheckPageSize(r.page_size(), v);
  CheckId("owner_manager_id", r.owner_manager_id(), v, false);
  StatusOr<std::string> start_after = DecodePageToken(r.page_token(), FilterFingerprint(r));
  if (!start_after.ok()) {
    for (auto& fv : FieldViolations(start_after.status())) v.push_back(std::move(fv));
  }
  RETURN_IF_ERROR(Result(std::move(v)));
  const int limit = r.page_size() == 0 ? kDefaultPageSize : r.page_size();
  const bool by_owner = !r.owner_manager_id().empty();
  const std::string family = by_owner ? kOppsByOwnerFamily : kOppsByAgeFamily;
  const std::string prefix = by_owner ? r.owner_manager_id() + "/" : "";

  api::v1::ListOpportunitiesResponse out;
  Status inner = absl::OkStatus();
  std::string last_key;
  int examined = 0;
  RETURN_IF_ERROR(store_->Scan(family, prefix, *start_after, [&](std::string_view key, std::string_view) {
    if (out.opportunities_size() == limit || ++examined > kMaxExamined) {
      out.set_next_page_token(EncodePageToken(FilterFingerprint(r), last_key));
      return false;
    }
    last_key = std::string(key);
    const std::string lead_id(key.substr(prefix.size() + 8));
    StatusOr<std::optional<LeadView>> lead = LoadLeadView(*store_, lead_id);
    if (!lead.ok() || !*lead) {
      inner = lead.ok() ? absl::DataLossError(StrCat("opportunity index points at missing lead ", lead_id)) : lead.status();
      return false;
    }
    StatusOr<api::v1::Opportunity> o = ToOpportunity(**lead);
    if (!o.ok()) {
      inner = o.status();
      return false;
    }
    if (o->status() == api::v1::OPPORTUNITY_STATUS_OPEN && (r.include_with_offers() || o->awaiting_first_offer())) {
      *out.add_opportunities() = std::move(*o);
    }
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return out;
}

StatusOr<api::v1::ListProductsResponse> OfferQueries::ListProducts(const api::v1::ListProductsRequest& r) const {
  api::v1::ListProductsResponse out;
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store_->Scan(kProductsFamily, "", "", [&](std::string_view, std::string_view value) {
    ProductState p;
    if (!p.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      inner = absl::DataLossError("stored product is corrupt");
      return false;
    }
    if (!p.active() && !r.include_inactive()) return true;
    auto* out_p = out.add_products();
    out_p->set_code(p.code());
    out_p->set_name(p.name());
    *out_p->mutable_list_price() = p.list_price();
    *out_p->mutable_unit_cost() = p.unit_cost();
    out_p->set_active(p.active());
    out_p->set_version(p.version());
    *out_p->mutable_updated_at() = p.updated_at();
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return out;
}

}  // namespace sales::first_offers
