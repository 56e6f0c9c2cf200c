// The lead aggregate: pure decision logic, no I/O. Given the current state of a lead (if any) and
// a command, decide the events or refuse with the specific error; given an event, evolve the
// state. The same Evolve() builds the projection rows and the state commands decide on, so the
// write side and the read side cannot disagree.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "sales/api/v1/lead_acquisition.pb.h"
#include "sales/events/v1/envelope.pb.h"

namespace sales::lead_acquisition {

using api::v1::Lead;
using events::v1::EventEnvelope;
using events::v1::LeadEvent;

inline constexpr char kAggregateType[] = "lead";
inline constexpr char kLeadCaptured[] = "lead.captured";
inline constexpr uint32_t kSchemaVersion = 1;

// Every field checked; all violations reported at once (INVALID_ARGUMENT with field names).
Status ValidateCapture(const api::v1::CaptureLeadRequest& request);

// The id a CaptureLead with this idempotency key creates: the same on every retry.
std::string LeadIdFor(const std::string& idempotency_key);

// ALREADY_EXISTS when the lead exists. Otherwise the LeadCaptured payload, normalised (trimmed
// text, lower-case e-mail domain).
StatusOr<LeadEvent> DecideCapture(const std::optional<Lead>& state, const api::v1::CaptureLeadRequest& request);

// Applies one event to the state. FAILED_PRECONDITION when the event cannot follow the state
// (e.g. a second "captured"); INVALID_ARGUMENT when the event is not a lead event.
Status Evolve(std::optional<Lead>& state, const EventEnvelope& event);

}  // namespace sales::lead_acquisition
