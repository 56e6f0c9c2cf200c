// The lead and manager aggregates: pure decision logic, no I/O. Given the current state and a
// command, decide the event or refuse with the specific error; given an event, evolve the state.
// The same Evolve functions build the projection rows and the state commands decide on, so the
// write side and the read side cannot disagree.
//
// Rules (enforced with FAILED_PRECONDITION and a message that says why):
//   NEW -> QUALIFIED -> (offers, later);  NEW or QUALIFIED -> DISQUALIFIED (final)
//   a disqualified lead cannot be qualified, assigned or get activities; a lead is qualified once;
//   leads are assigned only to active managers, activities logged only by active managers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "sales/api/v1/lead_acquisition.pb.h"
#include "sales/events/v1/envelope.pb.h"
#include "sales/store/v1/lead_acquisition.pb.h"

namespace sales::lead_acquisition {

// The aggregates' state: the service's own store types (the API maps from them in api/).
using Lead = store::v1::LeadState;
using Manager = store::v1::ManagerState;
using events::v1::EventEnvelope;
using events::v1::LeadEvent;
using events::v1::ManagerEvent;

inline constexpr char kLeadAggregate[] = "lead";
inline constexpr char kManagerAggregate[] = "manager";
inline constexpr uint32_t kSchemaVersion = 1;
inline constexpr char kLeadCaptured[] = "lead.captured";

// The event type name of a payload ("lead.captured", "manager.registered", ...).
std::string EventTypeOf(const LeadEvent& event);
std::string EventTypeOf(const ManagerEvent& event);

// ---- Validation: every field, all violations at once (INVALID_ARGUMENT). ----
Status ValidateCapture(const api::v1::CaptureLeadRequest& r);
Status ValidateQualify(const api::v1::QualifyLeadRequest& r);
Status ValidateDisqualify(const api::v1::DisqualifyLeadRequest& r);
Status ValidateAssign(const api::v1::AssignLeadRequest& r);
Status ValidateLogActivity(const api::v1::LogLeadActivityRequest& r, absl::Time now);
Status ValidateRegisterManager(const api::v1::RegisterManagerRequest& r);
Status ValidateDeactivateManager(const api::v1::DeactivateManagerRequest& r);
Status ValidateSetManagerExtension(const api::v1::SetManagerExtensionRequest& r);
Status ValidateMerge(const api::v1::MergeLeadsRequest& r);

// ---- Identity and de-duplication keys. ----
// Ids derived from the idempotency key of the creating command: the same on every retry.
std::string LeadIdFor(const std::string& idempotency_key);
std::string ManagerIdFor(const std::string& idempotency_key);
// E-mail: trimmed, NFC, case folded, the domain in Unicode form (unicode::NormalizeEmail). Phone: digits with a leading '+' for international numbers
// ("00" prefix read as '+'); national numbers keep their digits. Empty when absent.
std::string NormalizeEmail(const std::string& email);
// The request's e-mail (normalised) and phone (trimmed) when valid, else empty: a malformed value
// beside a usable one is left out of the lead (ValidateCapture refuses a lead with nothing usable).
std::string UsableEmail(const api::v1::CaptureLeadRequest& r);
std::string UsablePhone(const api::v1::CaptureLeadRequest& r);
// What a capture leaves out, one line each ("email \"x@\" left out: not a valid e-mail address").
std::vector<std::string> LeftOut(const api::v1::CaptureLeadRequest& r);
std::string NormalizePhone(const std::string& phone);

// ---- Decisions. ----
// The LeadCaptured payload, normalised, with the automatic assignment.
LeadEvent DecideCapture(const api::v1::CaptureLeadRequest& r, events::v1::Assignment assignment);
// The same person arrived from another source: recorded on the existing lead.
LeadEvent DecideLink(const api::v1::CaptureLeadRequest& r, const std::string& matched_on);
StatusOr<LeadEvent> DecideQualify(const Lead& lead, const api::v1::QualifyLeadRequest& r);
StatusOr<LeadEvent> DecideDisqualify(const Lead& lead, const api::v1::DisqualifyLeadRequest& r);
StatusOr<LeadEvent> DecideAssign(const Lead& lead, const Manager& manager, const api::v1::AssignLeadRequest& r);
StatusOr<LeadEvent> DecideLogActivity(const Lead& lead, const Manager& manager,
                                      const api::v1::LogLeadActivityRequest& r, absl::Time now);
// Two leads are one person: the event for the survivor (`merged`, carrying what it takes over)
// and the one for the other lead (`merged_into`). FAILED_PRECONDITION when either is already
// merged into another lead.
struct MergeEvents {
  LeadEvent survivor;
  LeadEvent merged;
};
StatusOr<MergeEvents> DecideMerge(const Lead& survivor, const Lead& merged, const api::v1::MergeLeadsRequest& r);
ManagerEvent DecideRegisterManager(const api::v1::RegisterManagerRequest& r);
StatusOr<ManagerEvent> DecideDeactivateManager(const Manager& manager, const api::v1::DeactivateManagerRequest& r);
// A telephone (PBX) extension belongs to at most one active manager: `holder` is the manager the
// extension index names for it (null: nobody). FAILED_PRECONDITION naming the holder otherwise.
Status ExtensionFree(const std::string& manager_id, const std::string& extension, const Manager* holder);
// Nothing (no event) when the manager already has this extension.
StatusOr<std::optional<ManagerEvent>> DecideSetManagerExtension(const Manager& manager,
                                                                const api::v1::SetManagerExtensionRequest& r,
                                                                const Manager* holder);

// Automatic assignment, deterministic and fair: among the active managers covering the region
// (listing it, or "*"), prefer those handling one of the products of interest (if any does), then
// the fewest open leads, then the fewest leads ever assigned, then the smallest manager id.
// No region, or nobody covering it: unassigned (empty manager id), with the reason.
events::v1::Assignment ChooseManager(const std::string& region, const std::vector<std::string>& products,
                                     const std::vector<Manager>& managers);

// ---- Evolution. ----
// FAILED_PRECONDITION when the event cannot follow the state; INVALID_ARGUMENT when it is not an
// event of this aggregate.
Status EvolveLead(std::optional<Lead>& state, const EventEnvelope& event);
Status EvolveManager(std::optional<Manager>& state, const EventEnvelope& event);

// The documented score of a lead (see docs/LEADS.md): components with reasons, total capped at 100.
void Rescore(Lead& lead);
inline constexpr int kTargetClientScore = 60;

bool IsOpen(const Lead& lead);  // NEW or QUALIFIED (a merged lead is not open: its survivor is)

}  // namespace sales::lead_acquisition
