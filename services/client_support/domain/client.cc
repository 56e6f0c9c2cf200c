#include "services/client_support/domain/client.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/base/json.h"
#include "common/base/ids.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/money/money.h"

namespace sales::client_support {
namespace {

using events::v1::OfferLine;
using store::v1::DatedAmount;
using Violations = std::vector<FieldViolation>;

constexpr size_t kMaxId = 64;
constexpr size_t kMaxKey = 128;
constexpr size_t kMaxSubject = 200;
constexpr size_t kMaxDescription = 500;
constexpr size_t kMaxNote = 2000;
constexpr size_t kMaxNumber = 64;     // a phone number as the PBX wrote it
constexpr size_t kMaxExtension = 64;
constexpr int kMaxLines = 100;
constexpr int64_t kMaxQuantity = 1000000;
constexpr int32_t kFullBasisPoints = 10000;
constexpr int32_t kMaxDurationSeconds = 86400;
constexpr absl::Duration kMaxRenewalPeriod = absl::Hours(24 * 3653);  // 10 years, leap days included
constexpr absl::Duration kDay = absl::Hours(24);
constexpr absl::Duration kRevenueWindow = absl::Hours(24 * 365);  // "the last 12 months"
constexpr absl::Duration kBreachWindow = absl::Hours(24 * 90);
// google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
constexpr int64_t kMinTimestampSeconds = -62135596800;
constexpr int64_t kMaxTimestampSeconds = 253402300799;

// ---- field checks: each appends its violations, so a request gets every problem back at once ----

std::string Trim(std::string_view s) {
  return std::string(absl::StripAsciiWhitespace(absl::string_view(s.data(), s.size())));
}

// Code points of `s`; -1 when it is not valid UTF-8 (overlong forms, surrogates and code points
// beyond U+10FFFF included); -2 when it holds a control character (tab and line breaks are allowed
// in multi-line text only).
int64_t TextLength(std::string_view s, bool multiline) {
  int64_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if ((c < 0x20 && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) || c == 0x7f) return -2;
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return -1;
    }
    if (i + len > s.size()) return -1;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return -1;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMinOf[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinOf[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    if (cp >= 0x80 && cp <= 0x9F) return -2;  // C1 controls
    i += len;
  }
  return n;
}

// True when `value` (already trimmed) is acceptable text; otherwise appends why. The reason never
// quotes the value: it may be bytes nobody should copy into a log or a dead-letter header.
bool CheckTextValue(const std::string& field, const std::string& value, size_t max, bool multiline, Violations& v) {
  const int64_t len = TextLength(value, multiline);
  if (len == -1) {
    v.push_back({field, "not valid UTF-8"});
  } else if (len == -2) {
    v.push_back({field, multiline ? "must not contain control characters other than line breaks and tabs"
                                  : "must not contain control characters"});
  } else if (static_cast<size_t>(len) > max) {
    v.push_back({field, StrCat("at most ", max, " characters")});
  } else {
    return true;
  }
  return false;
}

void CheckText(const std::string& field, const std::string& value, size_t max, bool required, bool multiline,
               Violations& v) {
  const std::string t = Trim(value);
  if (t.empty()) {
    if (required) v.push_back({field, "must not be empty"});
    return;
  }
  CheckTextValue(field, t, max, multiline, v);
}

bool PrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x21 && c <= 0x7e; });
}

void CheckIdempotencyKey(const std::string& key, Violations& v) {
  if (key.empty()) {
    v.push_back({"idempotency_key", "must not be empty (any unique string per command, e.g. a UUID)"});
  } else if (key.size() > kMaxKey) {
    v.push_back({"idempotency_key", StrCat("at most ", kMaxKey, " characters")});
  } else if (!PrintableAscii(key)) {
    v.push_back({"idempotency_key", "only printable ASCII without spaces"});
  }
}

void CheckId(const std::string& field, const std::string& id, Violations& v) {
  if (id.empty()) v.push_back({field, "must not be empty"});
  else if (id.size() > kMaxId) v.push_back({field, StrCat("at most ", kMaxId, " characters")});
}

void CheckExpectedVersion(int64_t expected, Violations& v) {
  if (expected < 0) v.push_back({"expected_version", "must be 0 (any) or a version >= 1"});
}

bool ValidTimestamp(const google::protobuf::Timestamp& t) {
  return t.nanos() >= 0 && t.nanos() <= 999999999 && t.seconds() >= kMinTimestampSeconds &&
         t.seconds() <= kMaxTimestampSeconds;
}

// The fact's own time: at most kMaxBackdate before `now`, at most kMaxFutureSkew after it.
template <typename Request>
void CheckOccurredAt(const Request& r, absl::Time now, Violations& v) {
  if (!r.has_occurred_at()) return;
  if (!ValidTimestamp(r.occurred_at())) {
    v.push_back({"occurred_at", "not a valid time"});
    return;
  }
  const absl::Time at = events::FromProto(r.occurred_at());
  if (at < now - kMaxBackdate) {
    v.push_back({"occurred_at", "at most 5 years in the past (back-dated imports)"});
  } else if (at > now + kMaxFutureSkew) {
    v.push_back({"occurred_at", "at most 5 minutes in the future"});
  }
}

// The fields every command on a client has, in the requests' field order.
template <typename Request>
void CheckCommon(const Request& r, absl::Time now, Violations& v) {
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("client_id", r.client_id(), v);
  CheckExpectedVersion(r.expected_version(), v);
  CheckOccurredAt(r, now, v);
}

// A required enum: set, and a value this build knows.
template <typename Enum>
void CheckEnum(const std::string& field, Enum value, bool (*is_valid)(int), std::string_view names, Violations& v) {
  const int n = static_cast<int>(value);
  if (n == 0) v.push_back({field, StrCat("must be set (", names, ")")});
  else if (!is_valid(n)) v.push_back({field, StrCat("unknown value ", n)});
}

void CheckRequiredTime(const std::string& field, bool has, const google::protobuf::Timestamp& t, Violations& v) {
  if (!has) v.push_back({field, "must be set"});
  else if (!ValidTimestamp(t)) v.push_back({field, "not a valid time"});
}

bool ValidProductCode(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

void CheckCurrency(const std::string& field, const std::string& code, Violations& v) {
  if (code.empty()) v.push_back({field, "must be set (an ISO 4217 code, e.g. EUR)"});
  else if (!IsCurrency(code)) v.push_back({field, StrCat("unknown ISO 4217 currency \"", code, "\"")});
}

// A price: a known currency, the same as `currency` (`whose` it is) when that is a known one, and
// not negative.
void CheckPrice(const std::string& field, const events::v1::Money& m, const std::string& currency,
                std::string_view whose, Violations& v) {
  if (!IsCurrency(m.currency())) {
    CheckCurrency(field + ".currency", m.currency(), v);
  } else if (IsCurrency(currency) && m.currency() != currency) {
    v.push_back({field + ".currency", StrCat("must be ", currency, " (", whose, "), not ", m.currency())});
  }
  if (m.units() < 0) v.push_back({field + ".units", "must not be negative"});
}

Status Result(Violations v) {
  if (v.empty()) return absl::OkStatus();
  return InvalidArgument(std::move(v));
}

// An amount that does not fit: INVALID_ARGUMENT on the request field it came from.
Status OnField(const Status& s, const std::string& field) {
  if (s.ok() || s.code() != absl::StatusCode::kInvalidArgument || !FieldViolations(s).empty()) return s;
  return InvalidField(field, ToStd(s.message()));
}

template <typename T>
StatusOr<T> OnField(StatusOr<T> s, const std::string& field) {
  if (s.ok()) return s;
  return OnField(s.status(), field);
}

// `text` fit for a log line or a dead-letter header: its first line, bytes outside printable ASCII
// escaped as \xNN, at most 200 characters.
std::string Printable(std::string_view text) {
  constexpr size_t kMax = 200;
  std::string out;
  for (char ch : text) {
    if (ch == '\n') break;
    if (out.size() >= kMax) return out + "...";
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7e) {
      out.push_back(ch);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 0xF]};
    }
  }
  return out;
}

// ---- state ----

std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone()); }

std::string StatusName(ClientState::Status s) {
  std::string name = ClientState::Status_Name(s);
  if (name.rfind("STATUS_", 0) == 0) name.erase(0, 7);
  return name;
}

std::string StatusName(TicketState::Status s) {
  std::string name = TicketState::Status_Name(s);
  if (name.rfind("STATUS_", 0) == 0) name.erase(0, 7);
  return name;
}

bool Resolved(const TicketState& t) { return t.status() == TicketState::STATUS_RESOLVED; }

// The fact's time: the request's occurred_at when given (validated before), else `now`.
template <typename Request>
absl::Time FactTime(const Request& r, absl::Time now) {
  return r.has_occurred_at() ? events::FromProto(r.occurred_at()) : now;
}

// A churned client takes no new ticket, order or renewal.
Status Active(const ClientState& c, std::string_view what) {
  if (c.status() != ClientState::STATUS_CHURNED) return absl::OkStatus();
  return absl::FailedPreconditionError(
      StrCat("client ", c.client_id(), " is CHURNED: it takes no new ", what, " (reactivate it first)"));
}

StatusOr<const TicketState*> FindTicket(const ClientState& c, const std::string& ticket_id) {
  for (const auto& t : c.tickets()) {
    if (t.ticket_id() == ticket_id) return &t;
  }
  return absl::NotFoundError(StrCat("client ", c.client_id(), " has no ticket ", ticket_id));
}

TicketState* FindTicket(ClientState& c, const std::string& ticket_id) {
  for (auto& t : *c.mutable_tickets()) {
    if (t.ticket_id() == ticket_id) return &t;
  }
  return nullptr;
}

bool HasRevenue(const ClientState& c, const std::string& id) {
  return std::any_of(c.revenue().begin(), c.revenue().end(), [&](const DatedAmount& a) { return a.id() == id; });
}

// When the ticket's resolution clock started: the opening, or the latest reopening (whose fresh
// resolution target was computed from it).
absl::Time ResolutionClockStart(const TicketState& t) {
  if (t.reopened() > 0 && t.sla().has_resolution_due()) {
    return events::FromProto(t.sla().resolution_due()) - absl::Seconds(t.sla().resolution_seconds());
  }
  return events::FromProto(t.opened_at());
}

// One SLA target of a ticket as it stands.
struct Target {
  bool exists = false;  // the ticket has a due time of this kind
  absl::Time due;
  bool met = false;  // responded / resolved at or before due
  bool breached = false;
};

Target TargetOf(const TicketState& t, events::v1::SlaKind kind) {
  Target target;
  if (kind == events::v1::SLA_KIND_FIRST_RESPONSE && t.sla().has_first_response_due()) {
    target.exists = true;
    target.due = events::FromProto(t.sla().first_response_due());
    target.met = t.has_first_response_at() && events::FromProto(t.first_response_at()) <= target.due;
    target.breached = t.first_response_breached();
  } else if (kind == events::v1::SLA_KIND_RESOLUTION && t.sla().has_resolution_due()) {
    target.exists = true;
    target.due = events::FromProto(t.sla().resolution_due());
    target.met = t.has_resolved_at() && events::FromProto(t.resolved_at()) <= target.due;
    target.breached = t.resolution_breached();
  }
  return target;
}

// Keeps `revenue` oldest first: a back-dated entry lands at its own time (after entries of the
// same time).
void AddRevenue(ClientState& c, DatedAmount amount) {
  auto* list = c.mutable_revenue();
  const absl::Time at = events::FromProto(amount.at());
  int pos = list->size();
  while (pos > 0 && events::FromProto(list->Get(pos - 1).at()) > at) --pos;
  *list->Add() = std::move(amount);
  for (int i = list->size() - 1; i > pos; --i) list->SwapElements(i, i - 1);
}

// "1 day", "41 days".
std::string Count(int64_t n, std::string_view one, std::string_view many) {
  return StrCat(n, " ", n == 1 ? one : many);
}

// Whole days (floor) when at least a day, else whole hours: "41 days", "6 hours".
std::string Elapsed(absl::Duration d) {
  if (d >= kDay) return Count(d / kDay, "day", "days");
  return Count(std::max<int64_t>(0, d / absl::Hours(1)), "hour", "hours");
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

std::vector<events::v1::Money> Sums(const std::map<std::string, int64_t>& by_currency) {
  std::vector<events::v1::Money> out;
  for (const auto& [currency, units] : by_currency) {
    events::v1::Money m;
    m.set_currency(currency);
    m.set_units(units);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Names, ids, configuration

std::string EventTypeOf(const ClientEvent& e) {
  switch (e.event_case()) {
    case ClientEvent::kOpened: return "client.opened";
    case ClientEvent::kInteractionLogged: return "client.interaction_logged";
    case ClientEvent::kTicketOpened: return "client.ticket_opened";
    case ClientEvent::kTicketResponded: return "client.ticket_responded";
    case ClientEvent::kTicketResolved: return "client.ticket_resolved";
    case ClientEvent::kTicketReopened: return "client.ticket_reopened";
    case ClientEvent::kSlaBreached: return "client.sla_breached";
    case ClientEvent::kOrderRecorded: return "client.order_recorded";
    case ClientEvent::kRenewalRecorded: return "client.renewal_recorded";
    case ClientEvent::kChurned: return "client.churned";
    case ClientEvent::kReactivated: return "client.reactivated";
    case ClientEvent::EVENT_NOT_SET: break;
  }
  return "client.unknown";
}

std::string EventTypeOf(const CallEvent& e) {
  switch (e.event_case()) {
    case CallEvent::kUnmatched: return "call.unmatched";
    case CallEvent::EVENT_NOT_SET: break;
  }
  return "call.unknown";
}

// Each kind of id has its own namespace: the same key never names a ticket and an order alike.
std::string ClientIdFor(const std::string& lead_id) { return NameUuid("sales.client", lead_id); }
std::string TicketIdFor(const std::string& idempotency_key) { return NameUuid("sales.ticket", idempotency_key); }
std::string OrderIdFor(const std::string& idempotency_key) { return NameUuid("sales.order", idempotency_key); }
std::string RenewalIdFor(const std::string& idempotency_key) { return NameUuid("sales.renewal", idempotency_key); }

const SlaTable::Targets& SlaTable::For(events::v1::TicketPriority p) const {
  switch (p) {
    case events::v1::TICKET_PRIORITY_LOW: return low;
    case events::v1::TICKET_PRIORITY_HIGH: return high;
    case events::v1::TICKET_PRIORITY_URGENT: return urgent;
    default: return normal;  // validation refuses UNSPECIFIED; NORMAL is the safe reading
  }
}

SlaTable DefaultSla() {
  SlaTable t;
  t.urgent = {absl::Hours(1), absl::Hours(8)};
  t.high = {absl::Hours(4), absl::Hours(24)};
  t.normal = {absl::Hours(8), absl::Hours(72)};
  t.low = {absl::Hours(24), absl::Hours(168)};
  return t;
}

StatusOr<SlaTable> ParseSla(std::string_view spec) {
  constexpr char kExample[] = "e.g. \"urgent=1h/8h,high=4h/24h,normal=8h/72h,low=24h/168h\"";
  auto bad = [](std::string_view why) { return InvalidField("sla", why); };
  if (Trim(spec).empty()) return bad(StrCat("empty: give the targets of every priority, ", kExample));
  SlaTable table;
  std::map<std::string, SlaTable::Targets*> slots = {
      {"urgent", &table.urgent}, {"high", &table.high}, {"normal", &table.normal}, {"low", &table.low}};
  std::map<std::string, bool> seen;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(spec.data(), spec.size()), ',')) {
    const std::string part = Trim(ToStd(raw));
    const std::vector<std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    if (kv.size() != 2) return bad(StrCat("\"", Printable(part), "\" is not priority=response/resolution, ", kExample));
    const std::string name = absl::AsciiStrToLower(Trim(kv[0]));
    auto slot = slots.find(name);
    if (slot == slots.end()) {
      return bad(StrCat("unknown priority \"", Printable(name), "\" (urgent, high, normal or low)"));
    }
    if (seen[name]) return bad(StrCat("priority ", name, " given twice"));
    seen[name] = true;
    const std::vector<std::string> durations = absl::StrSplit(kv[1], '/');
    if (durations.size() != 2) {
      return bad(StrCat(name, ": \"", Printable(kv[1]), "\" is not response/resolution (e.g. 4h/24h)"));
    }
    absl::Duration d[2];
    for (int i = 0; i < 2; ++i) {
      const std::string text = Trim(durations[i]);
      if (!absl::ParseDuration(text, &d[i]) || d[i] == absl::InfiniteDuration()) {
        return bad(StrCat(name, ": \"", Printable(text), "\" is not a duration (e.g. 30m, 4h, 168h)"));
      }
      if (d[i] <= absl::ZeroDuration()) return bad(StrCat(name, ": durations must be positive"));
    }
    if (d[0] >= d[1]) {
      return bad(StrCat(name, ": the first response (", absl::FormatDuration(d[0]),
                        ") must be due before the resolution (", absl::FormatDuration(d[1]), ")"));
    }
    *slot->second = {d[0], d[1]};
  }
  std::string missing;
  for (const char* name : {"urgent", "high", "normal", "low"}) {
    if (!seen[name]) StrAppend(&missing, missing.empty() ? "" : ", ", name);
  }
  if (!missing.empty()) return bad(StrCat("missing priorities: ", missing, " (every priority needs targets)"));
  return table;
}

std::string NormalizePhone(const std::string& phone) {
  const std::string p = Trim(phone);
  std::string digits;
  for (char c : p) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  if (digits.empty()) return "";
  if (p[0] == '+') return "+" + digits;
  if (digits.rfind("00", 0) == 0) return digits.size() > 2 ? "+" + digits.substr(2) : "";
  return digits;
}

std::string PhoneMatchKey(const std::string& phone) {
  std::string digits = NormalizePhone(phone);
  if (!digits.empty() && digits[0] == '+') digits.erase(0, 1);
  if (digits.size() < 7) return "";
  return digits.size() > 10 ? digits.substr(digits.size() - 10) : digits;
}

// ---------------------------------------------------------------------------------------------
// Validation

Status ValidateLogInteraction(const api::v1::LogInteractionRequest& r, absl::Time now) {
  Violations v;
  CheckCommon(r, now, v);
  CheckEnum("kind", r.kind(), events::v1::InteractionKind_IsValid, "CALL, MEETING, EMAIL or VISIT", v);
  CheckEnum("outcome", r.outcome(), events::v1::InteractionOutcome_IsValid,
            "REACHED, NO_ANSWER, LEFT_MESSAGE, FOLLOW_UP, ISSUE_RAISED or ORDER_DISCUSSED", v);
  CheckId("manager_id", r.manager_id(), v);
  if (r.duration_seconds() < 0 || r.duration_seconds() > kMaxDurationSeconds) {
    v.push_back({"duration_seconds", "from 0 to 86400 (a day)"});
  }
  CheckText("note", r.note(), kMaxNote, false, true, v);
  return Result(std::move(v));
}

Status ValidateOpenTicket(const api::v1::OpenTicketRequest& r, absl::Time now) {
  Violations v;
  CheckCommon(r, now, v);
  CheckEnum("category", r.category(), events::v1::TicketCategory_IsValid,
            "QUESTION, INCIDENT, BILLING, CHANGE_REQUEST or COMPLAINT", v);
  CheckEnum("priority", r.priority(), events::v1::TicketPriority_IsValid, "LOW, NORMAL, HIGH or URGENT", v);
  CheckText("subject", r.subject(), kMaxSubject, true, false, v);
  return Result(std::move(v));
}

Status ValidateTicketCommand(const api::v1::TicketCommandRequest& r, std::string_view command, absl::Time now) {
  const bool respond = command == "RespondToTicket", resolve = command == "ResolveTicket",
             reopen = command == "ReopenTicket";
  if (!respond && !resolve && !reopen) {
    return absl::InternalError(StrCat("ValidateTicketCommand: unknown command \"", command, "\""));
  }
  Violations v;
  CheckCommon(r, now, v);
  CheckId("ticket_id", r.ticket_id(), v);
  if (respond || !r.manager_id().empty()) CheckId("manager_id", r.manager_id(), v);
  if (!respond && Trim(r.note()).empty()) {
    v.push_back({"note", resolve ? "must say how the ticket was resolved" : "must say why the ticket is reopened"});
  } else {
    CheckText("note", r.note(), kMaxNote, false, true, v);
  }
  return Result(std::move(v));
}

Status ValidateRecordOrder(const api::v1::RecordOrderRequest& r, absl::Time now) {
  Violations v;
  CheckCommon(r, now, v);
  CheckCurrency("currency", r.currency(), v);
  if (r.lines().empty()) {
    v.push_back({"lines", "at least one line"});
  } else if (r.lines_size() > kMaxLines) {
    // The lines themselves are not checked: one violation is enough to say what is wrong.
    v.push_back({"lines", StrCat("at most ", kMaxLines, " lines, got ", r.lines_size())});
  } else {
    for (int i = 0; i < r.lines_size(); ++i) {
      const auto& line = r.lines(i);
      const std::string f = StrCat("lines[", i, "]");
      if (!ValidProductCode(line.product_code())) {
        v.push_back({f + ".product_code", "1-64 characters of a-z, 0-9, '.', '-', '_'"});
      }
      CheckText(f + ".description", line.description(), kMaxDescription, false, false, v);
      if (line.quantity() < 1 || line.quantity() > kMaxQuantity) {
        v.push_back({f + ".quantity", StrCat("from 1 to ", kMaxQuantity)});
      }
      if (!line.has_unit_price()) {
        v.push_back({f + ".unit_price", "must be set (the price of one unit, in the order's currency)"});
      } else {
        CheckPrice(f + ".unit_price", line.unit_price(), r.currency(), "the order's currency", v);
      }
      if (line.discount_bp() < 0 || line.discount_bp() > kFullBasisPoints) {
        v.push_back({f + ".discount_bp", "basis points from 0 to 10000 (100 = 1%)"});
      }
    }
  }
  CheckText("note", r.note(), kMaxNote, false, true, v);
  return Result(std::move(v));
}

Status ValidateRecordRenewal(const api::v1::RecordRenewalRequest& r, absl::Time now) {
  Violations v;
  CheckCommon(r, now, v);
  CheckRequiredTime("period_start", r.has_period_start(), r.period_start(), v);
  CheckRequiredTime("period_end", r.has_period_end(), r.period_end(), v);
  if (r.has_period_start() && r.has_period_end() && ValidTimestamp(r.period_start()) &&
      ValidTimestamp(r.period_end())) {
    const absl::Time start = events::FromProto(r.period_start()), end = events::FromProto(r.period_end());
    if (end <= start) v.push_back({"period_end", "must be after period_start"});
    else if (end - start > kMaxRenewalPeriod) v.push_back({"period_end", "at most 10 years after period_start"});
  }
  if (!r.has_value()) v.push_back({"value", "must be set (what the renewal is worth)"});
  else CheckPrice("value", r.value(), "", "", v);
  CheckText("note", r.note(), kMaxNote, false, true, v);
  return Result(std::move(v));
}

Status ValidateChurn(const api::v1::ChurnClientRequest& r, absl::Time now) {
  Violations v;
  CheckCommon(r, now, v);
  CheckEnum("reason", r.reason(), events::v1::ChurnReason_IsValid,
            "PRICE, COMPETITOR, SERVICE_QUALITY, NO_LONGER_NEEDED, BUSINESS_CLOSED, NON_PAYMENT or OTHER", v);
  if (r.reason() == events::v1::CHURN_REASON_OTHER && Trim(r.note()).empty()) {
    v.push_back({"note", "must say why when the reason is OTHER"});
  } else {
    CheckText("note", r.note(), kMaxNote, false, true, v);
  }
  return Result(std::move(v));
}

Status ValidateReactivate(const api::v1::ReactivateClientRequest& r, absl::Time now) {
  Violations v;
  CheckCommon(r, now, v);
  CheckText("note", r.note(), kMaxNote, false, true, v);
  return Result(std::move(v));
}

// ---------------------------------------------------------------------------------------------
// Telephony intake

StatusOr<PbxCall> ParseInboundCall(std::string_view json) {
  if (json.size() > kMaxInboundCallBytes) {
    return InvalidField("record", StrCat("oversized: ", json.size(), " bytes (at most ", kMaxInboundCallBytes, ")"));
  }
  if (Trim(json).empty()) return InvalidField("record", "empty");
  intake::v1::InboundCall in;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const Status parsed = ParseJsonMessage(json, &in, options);
  if (!parsed.ok()) {
    // The parser's message may quote the record; Printable() escapes what it quotes. A value of the
    // wrong type comes as "(duration_seconds): invalid value ...": that names the field.
    const std::string message = Printable(std::string_view(parsed.message().data(), parsed.message().size()));
    const size_t close = message.find("): ");
    if (message.size() > 1 && message[0] == '(' && close != std::string::npos && close > 1 &&
        std::all_of(message.begin() + 1, message.begin() + close,
                    [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
      return InvalidField(message.substr(1, close - 1), StrCat("wrong type: ", message.substr(close + 3)));
    }
    return InvalidField("record", StrCat("not a valid JSON call record: ", message));
  }
  if (in.schema_version() == 0) return InvalidField("schema_version", "required (this service reads version 1)");
  if (in.schema_version() != 1) {
    return InvalidField("schema_version",
                        StrCat("unsupported version ", in.schema_version(), " (this service reads 1)"));
  }

  Violations v;
  PbxCall call;
  if (in.call_id().empty()) {
    v.push_back({"call_id", "required: the PBX's unique id of the call"});
  } else if (in.call_id().size() > kMaxKey) {
    v.push_back({"call_id", StrCat("at most ", kMaxKey, " characters")});
  } else if (!PrintableAscii(in.call_id())) {
    v.push_back({"call_id", "only printable ASCII without spaces"});
  }
  call.set_call_id(in.call_id());

  const std::pair<const char*, const std::string*> numbers[] = {{"from", &in.from()}, {"to", &in.to()}};
  for (const auto& [field, value] : numbers) {
    const std::string number = Trim(*value);
    if (number.empty()) {
      v.push_back({field, StrCat("required: the ", field == std::string_view("from") ? "calling" : "called",
                                 " number")});
    } else {
      CheckTextValue(field, number, kMaxNumber, false, v);
    }
    (field == std::string_view("from") ? call.mutable_from() : call.mutable_to())->assign(number);
  }

  const std::string direction = Trim(in.direction());
  if (direction.empty()) {
    v.push_back({"direction", "required: \"inbound\" or \"outbound\""});
  } else if (CheckTextValue("direction", direction, kMaxNumber, false, v)) {
    const std::string lower = absl::AsciiStrToLower(direction);
    if (lower == "inbound") call.set_direction(events::v1::CALL_DIRECTION_INBOUND);
    else if (lower == "outbound") call.set_direction(events::v1::CALL_DIRECTION_OUTBOUND);
    else v.push_back({"direction", StrCat("must be \"inbound\" or \"outbound\", not \"", Printable(direction), "\"")});
  }

  const std::string started = Trim(in.started_at());
  if (started.empty()) {
    v.push_back({"started_at", "required: an RFC 3339 time, e.g. \"2026-11-26T09:15:00+02:00\""});
  } else if (CheckTextValue("started_at", started, kMaxNumber, false, v)) {
    absl::Time t;
    std::string error;
    // ToProto() counts nanoseconds in 64 bits: years 1970-2199 are far inside what it represents.
    static const absl::Time kEarliest = absl::UnixEpoch();
    static const absl::Time kLatest = absl::FromCivil(absl::CivilSecond(2200, 1, 1), absl::UTCTimeZone());
    if (!absl::ParseTime(absl::RFC3339_full, started, &t, &error) || t == absl::InfiniteFuture() ||
        t == absl::InfinitePast()) {
      v.push_back({"started_at", "not an RFC 3339 time with an offset, e.g. \"2026-11-26T09:15:00+02:00\""});
    } else if (t < kEarliest || t >= kLatest) {
      v.push_back({"started_at", "out of range (a call from 1970 to 2199)"});
    } else {
      *call.mutable_started_at() = events::ToProto(t);
    }
  }

  if (in.duration_seconds() < 0 || in.duration_seconds() > kMaxDurationSeconds) {
    v.push_back({"duration_seconds", "from 0 to 86400 (0 for a missed call)"});
  }
  call.set_duration_seconds(in.duration_seconds());
  call.set_answered(in.answered());

  const std::string extension = Trim(in.extension());
  if (!extension.empty()) CheckTextValue("extension", extension, kMaxExtension, false, v);
  call.set_extension(extension);

  if (!v.empty()) return InvalidArgument(std::move(v));
  return call;
}

// ---------------------------------------------------------------------------------------------
// Decisions

StatusOr<ClientEvent> DecideOpen(const std::optional<ClientState>& state, const EventEnvelope& e) {
  if (e.aggregate_type() != kOfferAggregate || e.payload_case() != EventEnvelope::kOffer ||
      e.offer().event_case() != events::v1::OfferEvent::kAccepted) {
    return InvalidField("payload", StrCat("not an offer acceptance (aggregate_type \"", Printable(e.aggregate_type()),
                                          "\", event_type \"", Printable(e.event_type()), "\")"));
  }
  const auto& accepted = e.offer().accepted();
  if (!accepted.converts_lead()) {
    return InvalidField("offer.accepted.converts_lead",
                        "this acceptance does not convert a lead (the lead was converted by an earlier offer)");
  }
  if (accepted.conversion().lead_id().empty()) {
    return InvalidField("offer.accepted.conversion.lead_id", "missing: the acceptance names no lead");
  }
  if (e.aggregate_id().empty()) return InvalidField("aggregate_id", "missing: the accepted offer's id");
  if (!e.has_occurred_at()) return InvalidField("occurred_at", "missing: when the offer was accepted");
  const std::string& lead_id = accepted.conversion().lead_id();
  if (state) {
    return absl::FailedPreconditionError(StrCat("client ", state->client_id(), " of lead ", lead_id,
                                                " was opened already (by offer ", state->offer_id(),
                                                "): a lead becomes a client once"));
  }
  ClientEvent event;
  auto* o = event.mutable_opened();
  o->set_lead_id(lead_id);
  o->set_offer_id(e.aggregate_id());
  *o->mutable_conversion() = accepted.conversion();
  *o->mutable_won_at() = e.occurred_at();
  return event;
}

StatusOr<ClientEvent> DecideLogInteraction(const ClientState&, const api::v1::LogInteractionRequest& r,
                                           absl::Time now) {
  // Any client, churned ones too: win-back calls are interactions.
  ClientEvent event;
  auto* i = event.mutable_interaction_logged();
  i->set_kind(r.kind());
  i->set_outcome(r.outcome());
  i->set_manager_id(r.manager_id());
  *i->mutable_occurred_at() = events::ToProto(FactTime(r, now));
  i->set_duration_seconds(r.duration_seconds());
  i->set_note(Trim(r.note()));
  return event;
}

StatusOr<ClientEvent> DecideOpenTicket(const ClientState& c, const api::v1::OpenTicketRequest& r,
                                       const std::string& ticket_id, const SlaTable& sla, absl::Time now) {
  RETURN_IF_ERROR(Active(c, "ticket"));
  if (FindTicket(c, ticket_id).ok()) {
    return absl::FailedPreconditionError(StrCat("client ", c.client_id(), " has a ticket ", ticket_id, " already"));
  }
  const absl::Time opened = FactTime(r, now);
  const SlaTable::Targets& targets = sla.For(r.priority());
  ClientEvent event;
  auto* t = event.mutable_ticket_opened();
  t->set_ticket_id(ticket_id);
  t->set_category(r.category());
  t->set_priority(r.priority());
  t->set_subject(Trim(r.subject()));
  *t->mutable_opened_at() = events::ToProto(opened);
  auto* s = t->mutable_sla();
  s->set_first_response_seconds(absl::ToInt64Seconds(targets.first_response));
  s->set_resolution_seconds(absl::ToInt64Seconds(targets.resolution));
  *s->mutable_first_response_due() = events::ToProto(opened + targets.first_response);
  *s->mutable_resolution_due() = events::ToProto(opened + targets.resolution);
  return event;
}

StatusOr<ClientEvent> DecideRespond(const ClientState& c, const api::v1::TicketCommandRequest& r, absl::Time now) {
  ASSIGN_OR_RETURN(const TicketState* t, FindTicket(c, r.ticket_id()));
  if (Resolved(*t)) {
    return absl::FailedPreconditionError(
        StrCat("ticket ", t->ticket_id(), " is RESOLVED: it cannot be responded to (reopen it first)"));
  }
  const absl::Time at = FactTime(r, now);
  if (at < events::FromProto(t->opened_at())) {
    return absl::FailedPreconditionError(StrCat("ticket ", t->ticket_id(), " was opened at ",
                                                Rfc3339(events::FromProto(t->opened_at())),
                                                ": it cannot be responded to before that"));
  }
  ClientEvent event;
  auto* e = event.mutable_ticket_responded();
  e->set_ticket_id(t->ticket_id());
  e->set_manager_id(r.manager_id());
  e->set_note(Trim(r.note()));
  *e->mutable_responded_at() = events::ToProto(at);
  return event;
}

StatusOr<ClientEvent> DecideResolve(const ClientState& c, const api::v1::TicketCommandRequest& r, absl::Time now) {
  ASSIGN_OR_RETURN(const TicketState* t, FindTicket(c, r.ticket_id()));
  if (Resolved(*t)) {
    return absl::FailedPreconditionError(
        StrCat("ticket ", t->ticket_id(), " is RESOLVED already: it cannot be resolved again"));
  }
  const absl::Time at = FactTime(r, now);
  const absl::Time start = ResolutionClockStart(*t);
  if (at < start) {
    return absl::FailedPreconditionError(StrCat("ticket ", t->ticket_id(), " was ",
                                                t->reopened() > 0 ? "reopened" : "opened", " at ", Rfc3339(start),
                                                ": it cannot be resolved before that"));
  }
  ClientEvent event;
  auto* e = event.mutable_ticket_resolved();
  e->set_ticket_id(t->ticket_id());
  e->set_resolution(Trim(r.note()));
  *e->mutable_resolved_at() = events::ToProto(at);
  return event;
}

StatusOr<ClientEvent> DecideReopen(const ClientState& c, const api::v1::TicketCommandRequest& r, const SlaTable& sla,
                                   absl::Time now) {
  ASSIGN_OR_RETURN(const TicketState* t, FindTicket(c, r.ticket_id()));
  if (!Resolved(*t)) {
    return absl::FailedPreconditionError(StrCat("ticket ", t->ticket_id(), " is ", StatusName(t->status()),
                                                ": only a resolved ticket can be reopened"));
  }
  const absl::Time at = FactTime(r, now);
  if (at < events::FromProto(t->resolved_at())) {
    return absl::FailedPreconditionError(StrCat("ticket ", t->ticket_id(), " was resolved at ",
                                                Rfc3339(events::FromProto(t->resolved_at())),
                                                ": it cannot be reopened before that"));
  }
  const absl::Duration resolution = sla.For(t->priority()).resolution;
  ClientEvent event;
  auto* e = event.mutable_ticket_reopened();
  e->set_ticket_id(t->ticket_id());
  e->set_reason(Trim(r.note()));
  *e->mutable_reopened_at() = events::ToProto(at);
  // The first-response target stays what it was (it was met or breached once); the resolution
  // clock starts again.
  *e->mutable_sla() = t->sla();
  e->mutable_sla()->set_resolution_seconds(absl::ToInt64Seconds(resolution));
  *e->mutable_sla()->mutable_resolution_due() = events::ToProto(at + resolution);
  return event;
}

StatusOr<ClientEvent> DecideRecordOrder(const ClientState& c, const api::v1::RecordOrderRequest& r,
                                        const std::string& order_id, const CatalogueLookup& catalogue,
                                        absl::Time now) {
  RETURN_IF_ERROR(Active(c, "order"));
  if (HasRevenue(c, order_id)) {
    return absl::FailedPreconditionError(StrCat("order ", order_id, " is recorded already"));
  }
  const std::string& currency = r.currency();
  ASSIGN_OR_RETURN(Money total, OnField(Money::Zero(currency), "currency"));
  ClientEvent event;
  auto* o = event.mutable_order_recorded();
  for (int i = 0; i < r.lines_size(); ++i) {
    const auto& in = r.lines(i);
    const std::string field = StrCat("lines[", i, "]");
    // Priced as an offer line whose list price is the given unit price (an order has no catalogue
    // lookup): gross = unit x quantity, net = round(gross x (10000 - discount_bp) / 10000).
    ASSIGN_OR_RETURN(Money unit, Money::FromProto(in.unit_price(), field + ".unit_price"));
    if (unit.currency() != total.currency()) {
      return InvalidField(field + ".unit_price.currency",
                          StrCat("must be ", currency, " (the order's currency), not ", unit.currency()));
    }
    if (unit.negative()) return InvalidField(field + ".unit_price.units", "must not be negative");
    ASSIGN_OR_RETURN(Money gross, OnField(unit.Times(in.quantity()), field + ".quantity"));
    ASSIGN_OR_RETURN(Money net, OnField(gross.ApplyBasisPoints(kFullBasisPoints - in.discount_bp()),
                                        field + ".discount_bp"));
    ASSIGN_OR_RETURN(Money discount, OnField(gross.Subtract(net), field));
    ASSIGN_OR_RETURN(total, OnField(total.Add(net), "lines"));  // each line is exact; the sum can overflow
    OfferLine* line = o->add_lines();
    line->set_product_code(in.product_code());
    line->set_description(Trim(in.description()));
    line->set_quantity(in.quantity());
    *line->mutable_list_price() = unit.ToProto();
    *line->mutable_unit_price() = unit.ToProto();
    line->set_discount_bp(in.discount_bp());
    *line->mutable_gross() = gross.ToProto();
    *line->mutable_discount() = discount.ToProto();
    *line->mutable_net() = net.ToProto();
    // Margin is a fact of the order: the catalogue's unit cost as it stands now, once per product.
    // Refused rather than recorded without a cost: an order line without one would show in
    // reporting as pure margin, and a product code the catalogue does not know is most often a typo.
    bool seen = false;
    for (const auto& cost : o->costs()) seen = seen || cost.product_code() == in.product_code();
    if (seen) continue;
    ASSIGN_OR_RETURN(std::optional<store::v1::CatalogueEntry> product, catalogue(in.product_code()));
    if (!product) {
      return absl::FailedPreconditionError(
          StrCat(field, ".product_code: product ", in.product_code(),
                 " is not in the catalogue (first offers' products): an order needs its unit cost for the margin"));
    }
    const events::v1::Money& unit_cost = product->product().unit_cost();
    if (unit_cost.currency() != currency) {
      return absl::FailedPreconditionError(StrCat(field, ".product_code: product ", in.product_code(),
                                                  " has its unit cost in ", unit_cost.currency(),
                                                  ", the order is in ", currency,
                                                  ": a margin needs both in one currency"));
    }
    auto* cost = o->add_costs();
    cost->set_product_code(in.product_code());
    *cost->mutable_unit_cost() = unit_cost;
  }
  o->set_order_id(order_id);
  o->set_currency(currency);
  *o->mutable_total() = total.ToProto();
  *o->mutable_ordered_at() = events::ToProto(FactTime(r, now));
  o->set_note(Trim(r.note()));
  return event;
}

StatusOr<ClientEvent> DecideRecordRenewal(const ClientState& c, const api::v1::RecordRenewalRequest& r,
                                          const std::string& renewal_id, absl::Time now) {
  RETURN_IF_ERROR(Active(c, "renewal"));
  if (HasRevenue(c, renewal_id)) {
    return absl::FailedPreconditionError(StrCat("renewal ", renewal_id, " is recorded already"));
  }
  ClientEvent event;
  auto* n = event.mutable_renewal_recorded();
  n->set_renewal_id(renewal_id);
  *n->mutable_period_start() = r.period_start();
  *n->mutable_period_end() = r.period_end();
  *n->mutable_value() = r.value();
  *n->mutable_renewed_at() = events::ToProto(FactTime(r, now));
  n->set_note(Trim(r.note()));
  return event;
}

StatusOr<ClientEvent> DecideChurn(const ClientState& c, const api::v1::ChurnClientRequest& r) {
  if (c.status() == ClientState::STATUS_CHURNED) {
    return absl::FailedPreconditionError(StrCat("client ", c.client_id(), " is CHURNED already"));
  }
  ClientEvent event;
  event.mutable_churned()->set_reason(r.reason());
  event.mutable_churned()->set_note(Trim(r.note()));
  return event;
}

StatusOr<ClientEvent> DecideReactivate(const ClientState& c, const api::v1::ReactivateClientRequest& r) {
  if (c.status() != ClientState::STATUS_CHURNED) {
    return absl::FailedPreconditionError(StrCat("client ", c.client_id(), " is ", StatusName(c.status()),
                                                ": only a churned client can be reactivated"));
  }
  ClientEvent event;
  event.mutable_reactivated()->set_note(Trim(r.note()));
  return event;
}

std::optional<ClientEvent> DecideSlaBreach(const ClientState& c, const std::string& ticket_id,
                                           events::v1::SlaKind kind, absl::Time now) {
  auto ticket = FindTicket(c, ticket_id);
  if (!ticket.ok()) return std::nullopt;
  const Target target = TargetOf(**ticket, kind);
  if (!target.exists || target.met || target.breached || target.due > now) return std::nullopt;
  ClientEvent event;
  auto* b = event.mutable_sla_breached();
  b->set_ticket_id(ticket_id);
  b->set_kind(kind);
  *b->mutable_due() = events::ToProto(target.due);
  return event;
}

ClientEvent CallInteraction(const PbxCall& call) {
  ClientEvent event;
  auto* i = event.mutable_interaction_logged();
  i->set_kind(events::v1::INTERACTION_KIND_CALL);
  i->set_outcome(call.answered() ? events::v1::INTERACTION_OUTCOME_REACHED : events::v1::INTERACTION_OUTCOME_NO_ANSWER);
  i->set_manager_id(call.manager_id());
  *i->mutable_occurred_at() = call.started_at();
  i->set_duration_seconds(call.duration_seconds());
  *i->mutable_call() = call;
  return event;
}

CallEvent UnmatchedCall(const PbxCall& call) {
  CallEvent event;
  *event.mutable_unmatched()->mutable_call() = call;
  return event;
}

// ---------------------------------------------------------------------------------------------
// Evolution

Status EvolveClient(std::optional<ClientState>& state, const EventEnvelope& e) {
  if (e.aggregate_type() != kClientAggregate || e.payload_case() != EventEnvelope::kClient) {
    return InvalidField("payload", StrCat("not a client event (aggregate_type \"", e.aggregate_type(), "\")"));
  }
  const ClientEvent& event = e.client();
  if (event.event_case() == ClientEvent::EVENT_NOT_SET) {
    return InvalidField("payload.client", "no event set (a client event type this version does not know?)");
  }
  const std::string& id = e.aggregate_id();
  if (event.event_case() == ClientEvent::kOpened) {
    if (state) return absl::FailedPreconditionError(StrCat("client ", id, " opened twice"));
    const auto& o = event.opened();
    ClientState c;
    c.set_client_id(id);
    c.set_status(ClientState::STATUS_ACTIVE);
    c.set_lead_id(o.lead_id());
    c.set_offer_id(o.offer_id());
    *c.mutable_conversion() = o.conversion();
    *c.mutable_client_since() = o.has_won_at() ? o.won_at() : e.occurred_at();
    if (o.conversion().has_value() && !o.conversion().value().currency().empty()) {
      DatedAmount first;
      first.set_id(o.offer_id());
      *first.mutable_at() = c.client_since();
      *first.mutable_amount() = o.conversion().value();
      AddRevenue(c, std::move(first));
    }
    state = std::move(c);
    state->set_version(e.aggregate_version());
    return absl::OkStatus();
  }
  if (!state) {
    return absl::FailedPreconditionError(
        StrCat("client ", id, ": ", EventTypeOf(event), " before the client was opened"));
  }
  ClientState& c = *state;
  auto cannot = [&](std::string_view what) {
    return absl::FailedPreconditionError(
        StrCat("client ", id, ": ", EventTypeOf(event), " while ", StatusName(c.status()), " (", what, ")"));
  };
  // The ticket an event is about, or why the event cannot follow.
  auto ticket = [&](const std::string& ticket_id) -> StatusOr<TicketState*> {
    TicketState* t = FindTicket(c, ticket_id);
    if (!t) {
      return absl::FailedPreconditionError(
          StrCat("client ", id, ": ", EventTypeOf(event), " for ticket ", ticket_id, ", which was never opened"));
    }
    return t;
  };
  auto ticket_cannot = [&](const TicketState& t, std::string_view what) {
    return absl::FailedPreconditionError(StrCat("client ", id, ": ", EventTypeOf(event), " on ticket ", t.ticket_id(),
                                                " while ", StatusName(t.status()), " (", what, ")"));
  };
  switch (event.event_case()) {
    case ClientEvent::kInteractionLogged: {
      const auto& i = event.interaction_logged();
      const auto at = i.has_occurred_at() ? i.occurred_at() : e.occurred_at();
      c.set_interactions(c.interactions() + 1);
      // Back-dated interactions may arrive after later ones: the latest contact is the maximum.
      if (!c.has_last_contact_at() || events::FromProto(at) > events::FromProto(c.last_contact_at())) {
        *c.mutable_last_contact_at() = at;
      }
      break;
    }
    case ClientEvent::kTicketOpened: {
      const auto& o = event.ticket_opened();
      if (c.status() == ClientState::STATUS_CHURNED) return cannot("a churned client takes no new ticket");
      if (FindTicket(c, o.ticket_id())) {
        return absl::FailedPreconditionError(StrCat("client ", id, ": ticket ", o.ticket_id(), " opened twice"));
      }
      TicketState* t = c.add_tickets();
      t->set_ticket_id(o.ticket_id());
      t->set_category(o.category());
      t->set_priority(o.priority());
      t->set_subject(o.subject());
      t->set_status(TicketState::STATUS_OPEN);
      *t->mutable_opened_at() = o.has_opened_at() ? o.opened_at() : e.occurred_at();
      *t->mutable_sla() = o.sla();
      break;
    }
    case ClientEvent::kTicketResponded: {
      const auto& r = event.ticket_responded();
      ASSIGN_OR_RETURN(TicketState * t, ticket(r.ticket_id()));
      if (Resolved(*t)) return ticket_cannot(*t, "a resolved ticket is not responded to");
      t->set_status(TicketState::STATUS_RESPONDED);
      if (!t->has_first_response_at()) {
        *t->mutable_first_response_at() = r.has_responded_at() ? r.responded_at() : e.occurred_at();
      }
      break;
    }
    case ClientEvent::kTicketResolved: {
      const auto& r = event.ticket_resolved();
      ASSIGN_OR_RETURN(TicketState * t, ticket(r.ticket_id()));
      if (Resolved(*t)) return ticket_cannot(*t, "resolved twice");
      const auto at = r.has_resolved_at() ? r.resolved_at() : e.occurred_at();
      t->set_status(TicketState::STATUS_RESOLVED);
      *t->mutable_resolved_at() = at;
      if (!t->has_first_response_at()) *t->mutable_first_response_at() = at;  // resolving answers too
      break;
    }
    case ClientEvent::kTicketReopened: {
      const auto& r = event.ticket_reopened();
      ASSIGN_OR_RETURN(TicketState * t, ticket(r.ticket_id()));
      if (!Resolved(*t)) return ticket_cannot(*t, "only a resolved ticket is reopened");
      t->set_status(TicketState::STATUS_RESPONDED);
      t->clear_resolved_at();
      t->set_reopened(t->reopened() + 1);
      *t->mutable_sla() = r.sla();
      t->set_resolution_breached(false);  // "the current resolution target was breached"; history in breached_at
      break;
    }
    case ClientEvent::kSlaBreached: {
      const auto& b = event.sla_breached();
      ASSIGN_OR_RETURN(TicketState * t, ticket(b.ticket_id()));
      const Target target = TargetOf(*t, b.kind());
      const std::string kind = events::v1::SlaKind_Name(b.kind());
      if (!target.exists) return ticket_cannot(*t, StrCat("the ticket has no ", kind, " target"));
      if (target.breached) return ticket_cannot(*t, StrCat(kind, " breached twice"));
      if (target.met) return ticket_cannot(*t, StrCat(kind, " target was met"));
      if (!b.has_due() || events::FromProto(b.due()) != target.due) {
        return ticket_cannot(*t, StrCat(kind, " due at ", Rfc3339(events::FromProto(b.due())), ", the target is ",
                                        Rfc3339(target.due)));
      }
      if (b.kind() == events::v1::SLA_KIND_FIRST_RESPONSE) t->set_first_response_breached(true);
      else t->set_resolution_breached(true);
      *t->add_breached_at() = b.due();
      break;
    }
    case ClientEvent::kOrderRecorded: {
      const auto& o = event.order_recorded();
      if (c.status() == ClientState::STATUS_CHURNED) return cannot("a churned client takes no new order");
      if (HasRevenue(c, o.order_id())) {
        return absl::FailedPreconditionError(StrCat("client ", id, ": order ", o.order_id(), " recorded twice"));
      }
      DatedAmount a;
      a.set_id(o.order_id());
      *a.mutable_at() = o.has_ordered_at() ? o.ordered_at() : e.occurred_at();
      *a.mutable_amount() = o.total();
      AddRevenue(c, std::move(a));
      break;
    }
    case ClientEvent::kRenewalRecorded: {
      const auto& n = event.renewal_recorded();
      if (c.status() == ClientState::STATUS_CHURNED) return cannot("a churned client takes no new renewal");
      if (HasRevenue(c, n.renewal_id())) {
        return absl::FailedPreconditionError(StrCat("client ", id, ": renewal ", n.renewal_id(), " recorded twice"));
      }
      DatedAmount a;
      a.set_id(n.renewal_id());
      *a.mutable_at() = n.has_renewed_at() ? n.renewed_at() : e.occurred_at();
      *a.mutable_amount() = n.value();
      a.set_renewal(true);
      AddRevenue(c, std::move(a));
      break;
    }
    case ClientEvent::kChurned:
      if (c.status() == ClientState::STATUS_CHURNED) return cannot("churned twice");
      c.set_status(ClientState::STATUS_CHURNED);
      c.set_churn_reason(event.churned().reason());
      c.set_churn_note(event.churned().note());
      break;
    case ClientEvent::kReactivated:
      if (c.status() != ClientState::STATUS_CHURNED) return cannot("only a churned client is reactivated");
      c.set_status(ClientState::STATUS_ACTIVE);
      c.clear_churn_reason();
      c.clear_churn_note();
      break;
    default:
      break;
  }
  c.set_version(e.aggregate_version());
  return absl::OkStatus();
}

std::vector<OpenTarget> OpenSlaTargets(const ClientState& c) {
  std::vector<OpenTarget> out;
  for (const auto& t : c.tickets()) {
    for (const auto kind : {events::v1::SLA_KIND_FIRST_RESPONSE, events::v1::SLA_KIND_RESOLUTION}) {
      const Target target = TargetOf(t, kind);
      // Also when answered late: the target was missed and its breach is still to be recorded.
      if (target.exists && !target.met && !target.breached) out.push_back({t.ticket_id(), kind, target.due});
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Health

Health ComputeHealth(const ClientState& c, absl::Time now, const HealthRules& rules) {
  Health h;
  if (c.has_last_contact_at()) {
    h.last_contact = events::FromProto(c.last_contact_at());
    h.days_since_contact = std::max<int64_t>(0, (now - *h.last_contact) / kDay);
  }

  int unresolved_breached = 0, long_open = 0;
  for (const auto& t : c.tickets()) {
    for (const auto& at : t.breached_at()) {
      if (events::FromProto(at) > now - kBreachWindow) ++h.sla_breaches_90d;
    }
    if (Resolved(t)) continue;
    ++h.open_tickets;
    // A breached target that is still not answered: no response yet, or no resolution yet.
    if ((t.first_response_breached() && !t.has_first_response_at()) || t.resolution_breached()) {
      ++unresolved_breached;
    }
    if (now - events::FromProto(t.opened_at()) > rules.long_open_ticket) ++long_open;
  }

  std::map<std::string, int64_t> to_date, last_12m;
  std::vector<absl::Time> orders;  // oldest first, as the revenue list is
  int orders_in_window = 0, renewals_in_window = 0;
  for (const auto& a : c.revenue()) {
    const absl::Time at = events::FromProto(a.at());
    const bool in_12m = at > now - kRevenueWindow;
    const bool in_window = at > now - rules.regular_window;
    to_date[a.amount().currency()] = SaturatingAdd(to_date[a.amount().currency()], a.amount().units());
    if (in_12m) last_12m[a.amount().currency()] = SaturatingAdd(last_12m[a.amount().currency()], a.amount().units());
    if (a.renewal()) {
      if (in_12m) ++h.renewals_12m;
      if (in_window) ++renewals_in_window;
    } else if (a.id() != c.offer_id()) {  // the first deal is revenue, not a (repeat) order
      orders.push_back(at);
      ++h.orders;
      if (in_12m) ++h.orders_12m;
      if (in_window) ++orders_in_window;
    }
  }
  h.revenue_to_date = Sums(to_date);
  h.revenue_12m = Sums(last_12m);

  // A churned client is history: never regular, never in need of attention.
  if (c.status() == ClientState::STATUS_CHURNED) return h;
  h.regular = orders_in_window >= rules.regular_min_orders || renewals_in_window >= rules.regular_min_renewals;

  if (h.regular) {
    const absl::Time since = h.last_contact ? *h.last_contact : events::FromProto(c.client_since());
    if (now - since > rules.no_contact) {
      h.attention_reasons.push_back(h.last_contact ? StrCat("no contact for ", Elapsed(now - since))
                                                   : StrCat("no contact since becoming a client ",
                                                            Elapsed(now - since), " ago"));
    }
  }
  if (unresolved_breached > 0) {
    h.attention_reasons.push_back(StrCat(Count(unresolved_breached, "ticket", "tickets"),
                                         " past an SLA target and still not answered"));
  }
  if (long_open > 0) {
    h.attention_reasons.push_back(
        StrCat(Count(long_open, "ticket", "tickets"), " open for more than ", Elapsed(rules.long_open_ticket)));
  }
  if (orders.size() >= 3) {
    const absl::Duration average = (orders.back() - orders.front()) / static_cast<int64_t>(orders.size() - 1);
    const absl::Duration since_last = now - orders.back();
    // Orders all at one instant (a bulk import) have no rhythm to miss.
    if (average > absl::ZeroDuration() && since_last > average * rules.rhythm_factor) {
      h.attention_reasons.push_back(
          StrCat("no order for ", Elapsed(since_last), " (usually one every ", Elapsed(average), ")"));
    }
  }
  h.needs_attention = !h.attention_reasons.empty();
  return h;
}

}  // namespace sales::client_support
