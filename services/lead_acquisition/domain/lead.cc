#include "services/lead_acquisition/domain/lead.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/ascii.h"
#include "common/base/ids.h"
#include "common/base/strings.h"
#include "common/base/text.h"
#include "common/events/envelope.h"
#include "common/unicode/unicode.h"
#include "services/lead_acquisition/domain/validation.h"

namespace sales::lead_acquisition {
namespace {

using events::v1::ActivityOutcome;
using events::v1::DisqualificationReason;

constexpr size_t kMaxName = 200;
constexpr char kBadPhone[] = "not a valid phone number (7-15 digits, optional leading +, separators - . ( ) space)";
constexpr size_t kMaxNote = 2000;
constexpr int kMaxProducts = 20;

void CheckProducts(const std::string& field, const google::protobuf::RepeatedPtrField<std::string>& products,
                   Violations& v) {
  if (products.size() > kMaxProducts) v.push_back({field, StrCat("at most ", kMaxProducts, " products")});
  for (int i = 0; i < products.size(); ++i) {
    if (!ValidProductCode(products[i])) {
      v.push_back({StrCat(field, "[", i, "]"), "1-64 characters of a-z, 0-9, '.', '-', '_'"});
    }
  }
}

void CheckExpectedVersion(int64_t expected, Violations& v) {
  if (expected < 0) v.push_back({"expected_version", "must be 0 (any) or a version >= 1"});
}

Status CheckVersion(const Lead& lead, int64_t expected) {
  if (expected != 0 && expected != lead.version()) {
    return absl::AbortedError(StrCat("lead ", lead.lead_id(), " is at version ", lead.version(), ", not ",
                                     expected, "; re-read it and decide again"));
  }
  return absl::OkStatus();
}

Status NotDisqualified(const Lead& lead, std::string_view action) {
  if (lead.status() == Lead::STATUS_MERGED) {
    return absl::FailedPreconditionError(StrCat("lead ", lead.lead_id(), " was merged into lead ",
                                                lead.merged_into_lead_id(), "; it cannot be ", action,
                                                ": use lead ", lead.merged_into_lead_id()));
  }
  if (lead.status() != Lead::STATUS_DISQUALIFIED) return absl::OkStatus();
  return absl::FailedPreconditionError(
      StrCat("lead ", lead.lead_id(), " is disqualified (",
             events::v1::DisqualificationReason_Name(lead.disqualification().reason()), "); it cannot be ", action));
}

Status ActiveManager(const Manager& m, std::string_view action) {
  if (m.active()) return absl::OkStatus();
  return absl::FailedPreconditionError(StrCat("manager ", m.manager_id(), " (", m.name(), ") is inactive; ", action));
}

bool IsPositive(ActivityOutcome o) {
  return o == events::v1::ACTIVITY_OUTCOME_REACHED || o == events::v1::ACTIVITY_OUTCOME_MEETING_BOOKED ||
         o == events::v1::ACTIVITY_OUTCOME_MEETING_HELD;
}

// Product codes once each, in the order first named: ["a","a"] is interest in one product.
void AddUnique(const google::protobuf::RepeatedPtrField<std::string>& products,
               google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const auto& p : products) {
    if (std::find(out->begin(), out->end(), p) == out->end()) out->Add()->assign(p);
  }
}

bool Covers(const Manager& m, const std::string& region) {
  for (const auto& r : m.regions()) {
    if (r == "*" || r == region) return true;
  }
  return false;
}

bool HandlesAny(const Manager& m, const std::vector<std::string>& products) {
  for (const auto& p : m.products()) {
    if (std::find(products.begin(), products.end(), p) != products.end()) return true;
  }
  return false;
}

}  // namespace

std::string EventTypeOf(const LeadEvent& e) {
  switch (e.event_case()) {
    case LeadEvent::kCaptured: return "lead.captured";
    case LeadEvent::kSourceLinked: return "lead.source_linked";
    case LeadEvent::kQualified: return "lead.qualified";
    case LeadEvent::kDisqualified: return "lead.disqualified";
    case LeadEvent::kAssigned: return "lead.assigned";
    case LeadEvent::kActivityLogged: return "lead.activity_logged";
    case LeadEvent::kMerged: return "lead.merged";
    case LeadEvent::kMergedInto: return "lead.merged_into";
    case LeadEvent::EVENT_NOT_SET: break;
  }
  return "lead.unknown";
}

std::string EventTypeOf(const ManagerEvent& e) {
  switch (e.event_case()) {
    case ManagerEvent::kRegistered: return "manager.registered";
    case ManagerEvent::kDeactivated: return "manager.deactivated";
    case ManagerEvent::kExtensionChanged: return "manager.extension_changed";
    case ManagerEvent::EVENT_NOT_SET: break;
  }
  return "manager.unknown";
}

// ---------------------------------------------------------------------------------------------
// Validation

Status ValidateCapture(const api::v1::CaptureLeadRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckText("name", r.name(), kMaxName, true, v);
  CheckText("company", r.company(), kMaxName, false, v);
  // Refused only when truly unusable: nothing valid to reach the person by and no id to recognise
  // them again. A malformed e-mail or phone beside something usable is left out of the lead, and
  // the answer says so (LeftOut).
  const std::string email = Trim(r.email()), phone = Trim(r.phone());
  const bool usable = (!email.empty() && ValidEmail(email)) || (!phone.empty() && ValidPhone(phone)) ||
                      !Trim(r.external_id()).empty();
  if (!usable) {
    if (email.empty() && phone.empty()) {
      v.push_back({"email", "an e-mail or a phone number is required (or an external id)"});
    }
    if (!email.empty()) v.push_back({"email", "not a valid e-mail address"});
    if (!phone.empty()) v.push_back({"phone", kBadPhone});
  }
  if (r.source() == events::v1::LEAD_SOURCE_UNSPECIFIED && Trim(r.source_label()).empty()) {
    v.push_back({"source", "must be set (a channel, or the sender's label in source_label)"});
  } else if (!events::v1::LeadSource_IsValid(r.source())) {
    v.push_back({"source", StrCat("unknown value ", static_cast<int>(r.source()))});
  }
  CheckText("source_label", r.source_label(), kMaxName, false, v);
  CheckText("external_id", r.external_id(), 128, false, v);
  if (!r.region().empty() && (r.region() == "*" || !ValidRegion(r.region()))) {
    v.push_back({"region", "1-32 characters of A-Z, a-z, 0-9, '-', '_'"});
  }
  CheckProducts("product_interest", r.product_interest(), v);
  if (r.company_size() < 0 || r.company_size() > 10000000) {
    v.push_back({"company_size", "employees, from 0 (unknown) to 10,000,000"});
  }
  return Result(std::move(v));
}

Status ValidateQualify(const api::v1::QualifyLeadRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("lead_id", r.lead_id(), v);
  CheckExpectedVersion(r.expected_version(), v);
  CheckText("need", r.need(), kMaxNote, true, v);
  CheckText("budget", r.budget(), kMaxNote, false, v);
  CheckText("timeline", r.timeline(), kMaxNote, false, v);
  CheckText("decision_maker", r.decision_maker(), kMaxNote, false, v);
  CheckText("note", r.note(), kMaxNote, false, v);
  return Result(std::move(v));
}

Status ValidateDisqualify(const api::v1::DisqualifyLeadRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("lead_id", r.lead_id(), v);
  CheckExpectedVersion(r.expected_version(), v);
  if (r.reason() == events::v1::DISQUALIFICATION_REASON_UNSPECIFIED) {
    v.push_back({"reason", "must be set (NO_NEED, NO_BUDGET, NO_AUTHORITY, BAD_TIMING, CHOSE_COMPETITOR, "
                           "UNREACHABLE, OUT_OF_TERRITORY, SPAM or OTHER)"});
  } else if (!events::v1::DisqualificationReason_IsValid(r.reason())) {
    v.push_back({"reason", StrCat("unknown value ", static_cast<int>(r.reason()))});
  }
  CheckText("note", r.note(), kMaxNote, r.reason() == events::v1::DISQUALIFICATION_REASON_OTHER, v);
  return Result(std::move(v));
}

Status ValidateAssign(const api::v1::AssignLeadRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("lead_id", r.lead_id(), v);
  CheckExpectedVersion(r.expected_version(), v);
  CheckId("manager_id", r.manager_id(), v);
  return Result(std::move(v));
}

Status ValidateLogActivity(const api::v1::LogLeadActivityRequest& r, absl::Time now) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("lead_id", r.lead_id(), v);
  CheckId("manager_id", r.manager_id(), v);
  if (r.type() == events::v1::ACTIVITY_TYPE_UNSPECIFIED) {
    v.push_back({"type", "must be set (CALL, EMAIL or MEETING)"});
  } else if (!events::v1::ActivityType_IsValid(r.type())) {
    v.push_back({"type", StrCat("unknown value ", static_cast<int>(r.type()), " (CALL, EMAIL or MEETING)")});
  }
  if (r.outcome() == events::v1::ACTIVITY_OUTCOME_UNSPECIFIED) {
    v.push_back({"outcome", "must be set (REACHED, NO_ANSWER, LEFT_MESSAGE, MEETING_BOOKED, MEETING_HELD or "
                            "NOT_INTERESTED)"});
  } else if (!events::v1::ActivityOutcome_IsValid(r.outcome())) {
    v.push_back({"outcome", StrCat("unknown value ", static_cast<int>(r.outcome()))});
  }
  if (r.has_occurred_at()) {
    const auto& t = r.occurred_at();
    if (t.nanos() < 0 || t.nanos() > 999999999 || t.seconds() < 946684800) {
      v.push_back({"occurred_at", "not a valid time after 2000-01-01"});
    } else if (events::FromProto(t) > now + absl::Minutes(5)) {
      v.push_back({"occurred_at", "must not be in the future"});
    }
  }
  if (r.duration_seconds() < 0 || r.duration_seconds() > 24 * 3600) {
    v.push_back({"duration_seconds", "from 0 to 86400"});
  }
  CheckText("note", r.note(), kMaxNote, false, v);
  return Result(std::move(v));
}

Status ValidateRegisterManager(const api::v1::RegisterManagerRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckText("name", r.name(), kMaxName, true, v);
  const std::string email = Trim(r.email());
  if (email.empty()) v.push_back({"email", "must not be empty"});
  else if (!ValidEmail(email)) v.push_back({"email", "not a valid e-mail address"});
  if (r.regions().empty()) v.push_back({"regions", "at least one region (or \"*\" for all)"});
  for (int i = 0; i < r.regions_size(); ++i) {
    if (!ValidRegion(r.regions(i))) v.push_back({StrCat("regions[", i, "]"), "a region code or \"*\""});
  }
  CheckProducts("products", r.products(), v);
  CheckExtension("extension", r.extension(), v);
  return Result(std::move(v));
}

Status ValidateSetManagerExtension(const api::v1::SetManagerExtensionRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("manager_id", r.manager_id(), v);
  CheckExtension("extension", r.extension(), v);
  if (r.expected_version() < 0) v.push_back({"expected_version", "0 (any) or a version"});
  return Result(std::move(v));
}

Status ValidateMerge(const api::v1::MergeLeadsRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("survivor_lead_id", r.survivor_lead_id(), v);
  CheckId("merged_lead_id", r.merged_lead_id(), v);
  if (!r.survivor_lead_id().empty() && r.survivor_lead_id() == r.merged_lead_id()) {
    v.push_back({"merged_lead_id", "is the survivor itself: name two different leads"});
  }
  CheckText("note", r.note(), kMaxNote, false, v);
  return Result(std::move(v));
}

Status ValidateDeactivateManager(const api::v1::DeactivateManagerRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("manager_id", r.manager_id(), v);
  CheckText("reason", r.reason(), kMaxNote, false, v);
  return Result(std::move(v));
}

// ---------------------------------------------------------------------------------------------
// Identity

std::string LeadIdFor(const std::string& idempotency_key) { return NameUuid("sales.lead", idempotency_key); }
std::string ManagerIdFor(const std::string& idempotency_key) { return NameUuid("sales.manager", idempotency_key); }

std::string NormalizeEmail(const std::string& email) { return unicode::NormalizeEmail(email); }

std::string UsableEmail(const api::v1::CaptureLeadRequest& r) {
  return ValidEmail(Trim(r.email())) ? NormalizeEmail(r.email()) : "";
}

std::string UsablePhone(const api::v1::CaptureLeadRequest& r) {
  const std::string phone = Trim(r.phone());
  return ValidPhone(phone) ? phone : "";
}

std::vector<std::string> LeftOut(const api::v1::CaptureLeadRequest& r) {
  std::vector<std::string> out;
  if (const std::string email = Trim(r.email()); !email.empty() && !ValidEmail(email)) {
    out.push_back(StrCat("email \"", EscapeForDisplay(email), "\" left out: not a valid e-mail address"));
  }
  if (const std::string phone = Trim(r.phone()); !phone.empty() && !ValidPhone(phone)) {
    out.push_back(StrCat("phone \"", EscapeForDisplay(phone), "\" left out: ", kBadPhone));
  }
  return out;
}

std::string NormalizePhone(const std::string& phone) {
  const std::string p = Trim(phone);
  std::string digits;
  for (char c : p) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  if (digits.empty()) return "";
  if (!p.empty() && p[0] == '+') return "+" + digits;
  if (digits.rfind("00", 0) == 0) return "+" + digits.substr(2);
  return digits;
}

// ---------------------------------------------------------------------------------------------
// Decisions

LeadEvent DecideCapture(const api::v1::CaptureLeadRequest& r, events::v1::Assignment assignment) {
  LeadEvent event;
  auto* c = event.mutable_captured();
  c->mutable_contact()->set_name(Trim(r.name()));
  c->mutable_contact()->set_company(Trim(r.company()));
  c->mutable_contact()->set_email(UsableEmail(r));
  c->mutable_contact()->set_phone(UsablePhone(r));
  c->set_source(r.source());
  c->set_source_label(Trim(r.source_label()));
  c->set_external_id(Trim(r.external_id()));
  c->set_region(r.region());
  AddUnique(r.product_interest(), c->mutable_product_interest());
  c->set_company_size(r.company_size());
  *c->mutable_assignment() = std::move(assignment);
  return event;
}

LeadEvent DecideLink(const api::v1::CaptureLeadRequest& r, const std::string& matched_on) {
  LeadEvent event;
  auto* l = event.mutable_source_linked();
  l->set_source(r.source());
  l->set_source_label(Trim(r.source_label()));
  l->set_external_id(Trim(r.external_id()));
  l->mutable_contact()->set_name(Trim(r.name()));
  l->mutable_contact()->set_company(Trim(r.company()));
  l->mutable_contact()->set_email(UsableEmail(r));
  l->mutable_contact()->set_phone(UsablePhone(r));
  l->set_matched_on(matched_on);
  AddUnique(r.product_interest(), l->mutable_product_interest());
  return event;
}

StatusOr<LeadEvent> DecideQualify(const Lead& lead, const api::v1::QualifyLeadRequest& r) {
  RETURN_IF_ERROR(CheckVersion(lead, r.expected_version()));
  RETURN_IF_ERROR(NotDisqualified(lead, "qualified"));
  if (lead.status() == Lead::STATUS_QUALIFIED) {
    return absl::FailedPreconditionError(StrCat("lead ", lead.lead_id(), " is already qualified"));
  }
  LeadEvent event;
  auto* q = event.mutable_qualified();
  q->set_need(Trim(r.need()));
  q->set_budget(Trim(r.budget()));
  q->set_timeline(Trim(r.timeline()));
  q->set_decision_maker(Trim(r.decision_maker()));
  q->set_note(Trim(r.note()));
  return event;
}

StatusOr<LeadEvent> DecideDisqualify(const Lead& lead, const api::v1::DisqualifyLeadRequest& r) {
  RETURN_IF_ERROR(CheckVersion(lead, r.expected_version()));
  RETURN_IF_ERROR(NotDisqualified(lead, "disqualified again"));
  LeadEvent event;
  event.mutable_disqualified()->set_reason(r.reason());
  event.mutable_disqualified()->set_note(Trim(r.note()));
  return event;
}

StatusOr<LeadEvent> DecideAssign(const Lead& lead, const Manager& manager, const api::v1::AssignLeadRequest& r) {
  RETURN_IF_ERROR(CheckVersion(lead, r.expected_version()));
  RETURN_IF_ERROR(NotDisqualified(lead, "assigned"));
  RETURN_IF_ERROR(ActiveManager(manager, "leads cannot be assigned to an inactive manager"));
  if (lead.owner_manager_id() == manager.manager_id()) {
    return absl::FailedPreconditionError(
        StrCat("lead ", lead.lead_id(), " is already assigned to manager ", manager.manager_id()));
  }
  LeadEvent event;
  auto* a = event.mutable_assigned();
  a->mutable_assignment()->set_manager_id(manager.manager_id());
  a->mutable_assignment()->set_rule("manual");
  a->mutable_assignment()->set_reason(StrCat("assigned to ", manager.name()));
  a->set_previous_manager_id(lead.owner_manager_id());
  return event;
}

StatusOr<LeadEvent> DecideLogActivity(const Lead& lead, const Manager& manager,
                                      const api::v1::LogLeadActivityRequest& r, absl::Time now) {
  RETURN_IF_ERROR(NotDisqualified(lead, "worked on (no activities)"));
  RETURN_IF_ERROR(ActiveManager(manager, "inactive managers cannot log activities"));
  LeadEvent event;
  auto* a = event.mutable_activity_logged();
  a->set_type(r.type());
  a->set_outcome(r.outcome());
  a->set_manager_id(r.manager_id());
  *a->mutable_occurred_at() = r.has_occurred_at() ? r.occurred_at() : events::ToProto(now);
  a->set_duration_seconds(r.duration_seconds());
  a->set_note(Trim(r.note()));
  return event;
}

StatusOr<MergeEvents> DecideMerge(const Lead& survivor, const Lead& merged, const api::v1::MergeLeadsRequest& r) {
  if (survivor.status() == Lead::STATUS_MERGED) {
    return absl::FailedPreconditionError(StrCat("lead ", survivor.lead_id(), " was itself merged into lead ",
                                                survivor.merged_into_lead_id(), ": merge into that lead instead"));
  }
  if (merged.status() == Lead::STATUS_MERGED) {
    return absl::FailedPreconditionError(StrCat("lead ", merged.lead_id(), " is already merged into lead ",
                                                merged.merged_into_lead_id()));
  }
  events::v1::LeadsMerged m;
  m.set_survivor_lead_id(survivor.lead_id());
  m.set_merged_lead_id(merged.lead_id());
  m.set_note(Trim(r.note()));
  auto* contact = m.mutable_merged_contact();
  contact->set_name(merged.name());
  contact->set_company(merged.company());
  contact->set_email(merged.email());
  contact->set_phone(merged.phone());
  auto* first = m.add_merged_sources();
  first->set_source(merged.source());
  first->set_source_label(merged.source_label());
  first->set_external_id(merged.external_id());
  first->set_matched_on("capture");
  *first->mutable_at() = merged.captured_at();
  for (const auto& l : merged.linked_sources()) {
    auto* s = m.add_merged_sources();
    s->set_source(l.source());
    s->set_source_label(l.source_label());
    s->set_external_id(l.external_id());
    s->set_matched_on(l.matched_on());
    *s->mutable_at() = l.linked_at();
  }
  *m.mutable_merged_product_interest() = merged.product_interest();
  m.set_merged_activities(merged.activities());
  m.set_merged_positive_activities(merged.positive_activities());
  m.set_merged_company_size(merged.company_size());
  MergeEvents out;
  *out.survivor.mutable_merged() = m;
  *out.merged.mutable_merged_into() = std::move(m);
  return out;
}

ManagerEvent DecideRegisterManager(const api::v1::RegisterManagerRequest& r) {
  ManagerEvent event;
  auto* m = event.mutable_registered();
  m->set_name(Trim(r.name()));
  m->set_email(NormalizeEmail(r.email()));
  std::vector<std::string> regions(r.regions().begin(), r.regions().end());
  std::sort(regions.begin(), regions.end());
  regions.erase(std::unique(regions.begin(), regions.end()), regions.end());
  for (auto& region : regions) m->add_regions(region);
  std::vector<std::string> products(r.products().begin(), r.products().end());
  std::sort(products.begin(), products.end());
  products.erase(std::unique(products.begin(), products.end()), products.end());
  for (auto& p : products) m->add_products(p);
  m->set_extension(Trim(r.extension()));
  return event;
}

Status ExtensionFree(const std::string& manager_id, const std::string& extension, const Manager* holder) {
  if (extension.empty() || holder == nullptr || holder->manager_id() == manager_id || !holder->active() ||
      holder->extension() != extension) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(StrCat("extension ", extension, " belongs to ", holder->name(), " (manager ",
                                              holder->manager_id(), "); clear it there first (SetManagerExtension)"));
}

StatusOr<std::optional<ManagerEvent>> DecideSetManagerExtension(const Manager& manager,
                                                                const api::v1::SetManagerExtensionRequest& r,
                                                                const Manager* holder) {
  if (!manager.active()) {
    return absl::FailedPreconditionError(
        StrCat("manager ", manager.manager_id(), " is inactive: an inactive manager holds no extension"));
  }
  if (r.expected_version() != 0 && r.expected_version() != manager.version()) {
    return absl::AbortedError(StrCat("manager ", manager.manager_id(), " is at version ", manager.version(),
                                     ", not ", r.expected_version()));
  }
  const std::string extension = Trim(r.extension());
  if (extension == manager.extension()) return std::optional<ManagerEvent>();  // already so: nothing to record
  RETURN_IF_ERROR(ExtensionFree(manager.manager_id(), extension, holder));
  ManagerEvent event;
  event.mutable_extension_changed()->set_extension(extension);
  return std::optional<ManagerEvent>(std::move(event));
}

StatusOr<ManagerEvent> DecideDeactivateManager(const Manager& manager, const api::v1::DeactivateManagerRequest& r) {
  if (!manager.active()) {
    return absl::FailedPreconditionError(StrCat("manager ", manager.manager_id(), " is already inactive"));
  }
  ManagerEvent event;
  event.mutable_deactivated()->set_reason(Trim(r.reason()));
  return event;
}

events::v1::Assignment ChooseManager(const std::string& region, const std::vector<std::string>& products,
                                     const std::vector<Manager>& managers) {
  events::v1::Assignment a;
  a.set_rule("least_loaded");
  if (region.empty()) {
    a.set_reason("no region: left unassigned");
    return a;
  }
  std::vector<const Manager*> covering;
  for (const auto& m : managers) {
    if (m.active() && Covers(m, region)) covering.push_back(&m);
  }
  if (covering.empty()) {
    a.set_reason(StrCat("no active manager covers ", region, ": left unassigned"));
    return a;
  }
  std::vector<const Manager*> pool;
  for (const auto* m : covering) {
    if (HandlesAny(*m, products)) pool.push_back(m);
  }
  const bool by_product = !pool.empty();
  if (!by_product) pool = covering;
  const Manager* best = *std::min_element(pool.begin(), pool.end(), [](const Manager* x, const Manager* y) {
    return std::make_tuple(x->open_leads(), x->assigned_total(), x->manager_id()) <
           std::make_tuple(y->open_leads(), y->assigned_total(), y->manager_id());
  });
  a.set_manager_id(best->manager_id());
  a.set_reason(StrCat("fewest open leads (", best->open_leads(), ") among ", pool.size(), " active manager",
                      pool.size() == 1 ? "" : "s", " covering ", region, by_product ? " and handling the product" : ""));
  return a;
}

// ---------------------------------------------------------------------------------------------
// Evolution

bool IsOpen(const Lead& lead) {
  return lead.status() == Lead::STATUS_NEW || lead.status() == Lead::STATUS_QUALIFIED;
}

void Rescore(Lead& lead) {
  lead.clear_score_components();
  auto add = [&](const char* factor, int points, std::string reason) {
    auto* c = lead.add_score_components();
    c->set_factor(factor);
    c->set_points(points);
    c->set_reason(std::move(reason));
  };
  switch (lead.source()) {
    case events::v1::LEAD_SOURCE_REFERRAL: add("source", 25, "referral: introduced by someone who knows us"); break;
    case events::v1::LEAD_SOURCE_INBOUND_CALL: add("source", 20, "inbound call: the lead reached out"); break;
    case events::v1::LEAD_SOURCE_EVENT: add("source", 20, "met at an event"); break;
    case events::v1::LEAD_SOURCE_WEB_FORM: add("source", 15, "web form: the lead asked to be contacted"); break;
    case events::v1::LEAD_SOURCE_MARKETING_SYSTEM: add("source", 10, "marketing system: campaign response"); break;
    default: add("source", 10, "manual entry"); break;
  }
  int contact = 0;
  std::vector<std::string> have;
  for (const auto& [value, label] : {std::pair{&lead.email(), "e-mail"}, std::pair{&lead.phone(), "phone"},
                                      std::pair{&lead.company(), "company"}}) {
    if (value->empty()) continue;
    contact += 5;
    have.push_back(label);
  }
  std::string contact_reason = have.empty() ? "no contact details" : "has";
  for (size_t i = 0; i < have.size(); ++i) StrAppend(&contact_reason, i ? ", " : " ", have[i]);
  add("contact", contact, contact_reason);
  const int size = lead.company_size();
  if (size >= 1000) add("company_size", 20, StrCat(size, " employees (1000+)"));
  else if (size >= 200) add("company_size", 15, StrCat(size, " employees (200-999)"));
  else if (size >= 50) add("company_size", 10, StrCat(size, " employees (50-199)"));
  else if (size >= 10) add("company_size", 5, StrCat(size, " employees (10-49)"));
  else add("company_size", 0, size > 0 ? StrCat(size, " employees (under 10)") : "company size unknown");
  const int products = lead.product_interest_size();
  add("product_interest", std::min(15, 5 * products),
      products ? StrCat("interested in ", products, " product", products == 1 ? "" : "s") : "no product named");
  const int positive = lead.positive_activities();
  add("activity", std::min(20, 5 * positive),
      StrCat(positive, " positive contact", positive == 1 ? "" : "s", " of ", lead.activities(), " activities"));
  if (lead.status() == Lead::STATUS_QUALIFIED || lead.has_qualification()) {
    add("qualification", 15, "qualified: need confirmed");
  } else {
    add("qualification", 0, "not qualified yet");
  }
  int total = 0;
  for (const auto& c : lead.score_components()) total += c.points();
  lead.set_score(std::min(100, total));
  lead.set_target_client(lead.score() >= kTargetClientScore && lead.status() != Lead::STATUS_DISQUALIFIED &&
                         lead.status() != Lead::STATUS_MERGED);
}

Status EvolveLead(std::optional<Lead>& state, const EventEnvelope& e) {
  if (e.aggregate_type() != kLeadAggregate || e.payload_case() != EventEnvelope::kLead) {
    return InvalidField("payload", StrCat("not a lead event (aggregate_type \"", e.aggregate_type(), "\")"));
  }
  const LeadEvent& event = e.lead();
  if (event.event_case() == LeadEvent::EVENT_NOT_SET) {
    return InvalidField("payload.lead", "no event set (a lead event type this version does not know?)");
  }
  if (event.event_case() == LeadEvent::kCaptured) {
    if (state) return absl::FailedPreconditionError(StrCat("lead ", e.aggregate_id(), " captured twice"));
    const auto& c = event.captured();
    if (c.contact().name().empty()) return InvalidField("lead.captured.contact.name", "missing");
    Lead lead;
    lead.set_lead_id(e.aggregate_id());
    lead.set_status(Lead::STATUS_NEW);
    lead.set_name(c.contact().name());
    lead.set_company(c.contact().company());
    lead.set_email(c.contact().email());
    lead.set_phone(c.contact().phone());
    lead.set_source(c.source());
    lead.set_source_label(c.source_label());
    lead.set_external_id(c.external_id());
    lead.set_region(c.region());
    AddUnique(c.product_interest(), lead.mutable_product_interest());  // events before de-duplication
    lead.set_company_size(c.company_size());
    *lead.mutable_captured_at() = e.occurred_at();
    if (c.has_assignment()) {
      *lead.mutable_assignment() = c.assignment();
      lead.set_owner_manager_id(c.assignment().manager_id());
    }
    state = std::move(lead);
  } else {
    if (!state) {
      return absl::FailedPreconditionError(
          StrCat("lead ", e.aggregate_id(), ": ", EventTypeOf(event), " before the lead was captured"));
    }
    Lead& lead = *state;
    switch (event.event_case()) {
      case LeadEvent::kSourceLinked: {
        const auto& l = event.source_linked();
        auto* s = lead.add_linked_sources();
        s->set_source(l.source());
        s->set_source_label(l.source_label());
        s->set_external_id(l.external_id());
        s->set_matched_on(l.matched_on());
        *s->mutable_linked_at() = e.occurred_at();
        // The new source may bring contact details the lead lacked, and more interest.
        if (lead.email().empty()) lead.set_email(l.contact().email());
        if (lead.phone().empty()) lead.set_phone(l.contact().phone());
        if (lead.company().empty()) lead.set_company(l.contact().company());
        for (const auto& p : l.product_interest()) {
          if (std::find(lead.product_interest().begin(), lead.product_interest().end(), p) ==
                  lead.product_interest().end() &&
              lead.product_interest_size() < kMaxProducts) {
            lead.add_product_interest(p);
          }
        }
        break;
      }
      case LeadEvent::kQualified:
        if (lead.status() != Lead::STATUS_NEW) {
          return absl::FailedPreconditionError(StrCat("lead ", lead.lead_id(), " qualified while ",
                                                      Lead::Status_Name(lead.status())));
        }
        lead.set_status(Lead::STATUS_QUALIFIED);
        *lead.mutable_qualification() = event.qualified();
        break;
      case LeadEvent::kDisqualified:
        if (lead.status() == Lead::STATUS_DISQUALIFIED) {
          return absl::FailedPreconditionError(StrCat("lead ", lead.lead_id(), " disqualified twice"));
        }
        lead.set_status(Lead::STATUS_DISQUALIFIED);
        *lead.mutable_disqualification() = event.disqualified();
        break;
      case LeadEvent::kAssigned:
        *lead.mutable_assignment() = event.assigned().assignment();
        lead.set_owner_manager_id(event.assigned().assignment().manager_id());
        break;
      case LeadEvent::kActivityLogged: {
        const auto& a = event.activity_logged();
        lead.set_activities(lead.activities() + 1);
        if (IsPositive(a.outcome())) lead.set_positive_activities(lead.positive_activities() + 1);
        if (!lead.has_last_activity_at() || events::FromProto(a.occurred_at()) > events::FromProto(lead.last_activity_at())) {
          *lead.mutable_last_activity_at() = a.occurred_at();
        }
        break;
      }
      case LeadEvent::kMerged: {
        // The survivor takes over the other lead's sources, contact details it lacks, interest
        // and activity; the other lead's history stays under its own id (GetLeadHistory joins them).
        const auto& m = event.merged();
        lead.add_merged_lead_ids(m.merged_lead_id());
        for (const auto& from : m.merged_sources()) {
          auto* s = lead.add_linked_sources();
          s->set_source(from.source());
          s->set_source_label(from.source_label());
          s->set_external_id(from.external_id());
          s->set_matched_on(from.matched_on());
          *s->mutable_linked_at() = from.at();
          s->set_from_lead_id(m.merged_lead_id());
        }
        if (lead.email().empty()) lead.set_email(m.merged_contact().email());
        if (lead.phone().empty()) lead.set_phone(m.merged_contact().phone());
        if (lead.company().empty()) lead.set_company(m.merged_contact().company());
        if (lead.company_size() == 0) lead.set_company_size(m.merged_company_size());
        for (const auto& p : m.merged_product_interest()) {
          if (std::find(lead.product_interest().begin(), lead.product_interest().end(), p) ==
                  lead.product_interest().end() &&
              lead.product_interest_size() < kMaxProducts) {
            lead.add_product_interest(p);
          }
        }
        lead.set_activities(lead.activities() + m.merged_activities());
        lead.set_positive_activities(lead.positive_activities() + m.merged_positive_activities());
        break;
      }
      case LeadEvent::kMergedInto:
        if (lead.status() == Lead::STATUS_MERGED) {
          return absl::FailedPreconditionError(StrCat("lead ", lead.lead_id(), " merged twice"));
        }
        lead.set_status(Lead::STATUS_MERGED);
        lead.set_merged_into_lead_id(event.merged_into().survivor_lead_id());
        break;
      default:
        break;
    }
  }
  state->set_version(e.aggregate_version());
  *state->mutable_updated_at() = e.recorded_at();
  Rescore(*state);
  return absl::OkStatus();
}

Status EvolveManager(std::optional<Manager>& state, const EventEnvelope& e) {
  if (e.aggregate_type() != kManagerAggregate || e.payload_case() != EventEnvelope::kManager) {
    return InvalidField("payload", StrCat("not a manager event (aggregate_type \"", e.aggregate_type(), "\")"));
  }
  const ManagerEvent& event = e.manager();
  switch (event.event_case()) {
    case ManagerEvent::kRegistered: {
      if (state) return absl::FailedPreconditionError(StrCat("manager ", e.aggregate_id(), " registered twice"));
      const auto& r = event.registered();
      Manager m;
      m.set_manager_id(e.aggregate_id());
      m.set_name(r.name());
      m.set_email(r.email());
      *m.mutable_regions() = r.regions();
      *m.mutable_products() = r.products();
      m.set_extension(r.extension());
      m.set_active(true);
      *m.mutable_registered_at() = e.occurred_at();
      state = std::move(m);
      break;
    }
    case ManagerEvent::kDeactivated:
      if (!state) return absl::FailedPreconditionError(StrCat("manager ", e.aggregate_id(), " deactivated unregistered"));
      state->set_active(false);
      state->clear_extension();  // an inactive manager answers no calls: the extension is free
      break;
    case ManagerEvent::kExtensionChanged:
      if (!state) return absl::FailedPreconditionError(StrCat("manager ", e.aggregate_id(), " changed extension unregistered"));
      state->set_extension(event.extension_changed().extension());
      break;
    case ManagerEvent::EVENT_NOT_SET:
      return InvalidField("payload.manager", "no event set (a manager event type this version does not know?)");
  }
  state->set_version(e.aggregate_version());
  return absl::OkStatus();
}

}  // namespace sales::lead_acquisition
