#include "services/lead_acquisition/lead.h"

#include "absl/strings/ascii.h"
#include "common/base/strings.h"
#include "common/base/ids.h"
#include "common/events/envelope.h"

namespace sales::lead_acquisition {
namespace {

constexpr size_t kMaxNameChars = 200;
constexpr size_t kMaxKey = 128;
constexpr size_t kMaxExternalId = 128;
constexpr size_t kMaxRegion = 32;
constexpr size_t kMaxProducts = 20;
constexpr size_t kMaxProductCode = 64;

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

// Counts code points of valid UTF-8 (protobuf has already rejected invalid UTF-8 in strings);
// -1 when a control character is present.
int64_t TextLength(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return -1;
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

void CheckText(const std::string& field, const std::string& value, size_t max, bool required,
               std::vector<FieldViolation>& out) {
  const std::string v = Trim(value);
  if (v.empty()) {
    if (required) out.push_back({field, "must not be empty"});
    return;
  }
  const int64_t len = TextLength(v);
  if (len < 0) out.push_back({field, "must not contain control characters"});
  else if (static_cast<size_t>(len) > max) out.push_back({field, StrCat("at most ", max, " characters")});
}

bool IsAtext(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos;
}

// A practical subset of RFC 5322 addr-spec: dot-atom local part, DNS host name with a TLD.
bool ValidEmail(const std::string& e) {
  if (e.size() > 254) return false;
  const size_t at = e.find('@');
  if (at == std::string::npos || at == 0 || at > 64 || e.find('@', at + 1) != std::string::npos) return false;
  const std::string local = e.substr(0, at), domain = e.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string::npos) return false;
  for (char c : local) {
    if (c != '.' && !IsAtext(c)) return false;
  }
  if (domain.size() < 4 || domain.find('.') == std::string::npos) return false;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == std::string::npos) dot = domain.size();
    const std::string label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == domain.size()) {
      if (label.size() < 2) return false;
      for (char c : label) {
        if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
      }
    }
    start = dot + 1;
  }
  return true;
}

// International format: optional leading '+', digits and the usual separators, 7-15 digits (E.164).
bool ValidPhone(const std::string& p) {
  int digits = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) ++digits;
    else if (c == '+' && i == 0) continue;
    else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.') return false;
  }
  return digits >= 7 && digits <= 15;
}

bool ValidCode(const std::string& s, size_t max, bool lower_only) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool ok = absl::ascii_isdigit(u) || c == '-' || c == '_' || (lower_only ? (absl::ascii_islower(u) || c == '.')
                                                                                  : absl::ascii_isalpha(u));
    if (!ok) return false;
  }
  return true;
}

std::string NormaliseEmail(const std::string& e) {
  const std::string t = Trim(e);
  const size_t at = t.find('@');
  if (at == std::string::npos) return t;
  // The local part may be case-sensitive (RFC 5321); the domain is not.
  return t.substr(0, at + 1) + absl::AsciiStrToLower(t.substr(at + 1));
}

}  // namespace

Status ValidateCapture(const api::v1::CaptureLeadRequest& r) {
  std::vector<FieldViolation> v;
  const std::string& key = r.idempotency_key();
  if (key.empty()) {
    v.push_back({"idempotency_key", "must not be empty (any unique string per command, e.g. a UUID)"});
  } else if (key.size() > kMaxKey) {
    v.push_back({"idempotency_key", StrCat("at most ", kMaxKey, " characters")});
  } else {
    for (char c : key) {
      if (c < 0x21 || c > 0x7e) {
        v.push_back({"idempotency_key", "only printable ASCII without spaces"});
        break;
      }
    }
  }
  CheckText("name", r.name(), kMaxNameChars, true, v);
  CheckText("company", r.company(), kMaxNameChars, false, v);
  const std::string email = Trim(r.email()), phone = Trim(r.phone());
  if (email.empty() && phone.empty()) {
    v.push_back({"email", "an e-mail or a phone number is required"});
  }
  if (!email.empty() && !ValidEmail(email)) v.push_back({"email", "not a valid e-mail address"});
  if (!phone.empty() && !ValidPhone(phone)) {
    v.push_back({"phone", "not a valid phone number (7-15 digits, optional leading +, separators - . ( ) space)"});
  }
  if (r.source() == events::v1::LEAD_SOURCE_UNSPECIFIED) {
    v.push_back({"source", "must be set"});
  } else if (!events::v1::LeadSource_IsValid(r.source())) {
    v.push_back({"source", StrCat("unknown value ", static_cast<int>(r.source()))});
  }
  CheckText("external_id", r.external_id(), kMaxExternalId, false, v);
  if (!r.region().empty() && !ValidCode(r.region(), kMaxRegion, false)) {
    v.push_back({"region", StrCat("1-", kMaxRegion, " characters of A-Z, a-z, 0-9, '-', '_'")});
  }
  if (static_cast<size_t>(r.product_interest_size()) > kMaxProducts) {
    v.push_back({"product_interest", StrCat("at most ", kMaxProducts, " products")});
  }
  for (int i = 0; i < r.product_interest_size(); ++i) {
    if (!ValidCode(r.product_interest(i), kMaxProductCode, true)) {
      v.push_back({StrCat("product_interest[", i, "]"),
                   StrCat("1-", kMaxProductCode, " characters of a-z, 0-9, '.', '-', '_'")});
    }
  }
  if (v.empty()) return absl::OkStatus();
  return InvalidArgument(std::move(v));
}

std::string LeadIdFor(const std::string& idempotency_key) { return NameUuid("sales.lead", idempotency_key); }

StatusOr<LeadEvent> DecideCapture(const std::optional<Lead>& state, const api::v1::CaptureLeadRequest& r) {
  if (state) return absl::AlreadyExistsError(StrCat("lead ", state->lead_id(), " already exists"));
  LeadEvent event;
  auto* c = event.mutable_captured();
  c->mutable_contact()->set_name(Trim(r.name()));
  c->mutable_contact()->set_company(Trim(r.company()));
  c->mutable_contact()->set_email(NormaliseEmail(r.email()));
  c->mutable_contact()->set_phone(Trim(r.phone()));
  c->set_source(r.source());
  c->set_external_id(Trim(r.external_id()));
  c->set_region(r.region());
  for (const auto& p : r.product_interest()) c->add_product_interest(p);
  return event;
}

Status Evolve(std::optional<Lead>& state, const EventEnvelope& e) {
  if (e.aggregate_type() != kAggregateType || e.payload_case() != EventEnvelope::kLead) {
    return InvalidField("payload", StrCat("not a lead event (aggregate_type \"", e.aggregate_type(), "\")"));
  }
  const LeadEvent& event = e.lead();
  switch (event.event_case()) {
    case LeadEvent::kCaptured: {
      if (state) return absl::FailedPreconditionError(StrCat("lead ", e.aggregate_id(), " captured twice"));
      const auto& c = event.captured();
      if (c.contact().name().empty()) return InvalidField("lead.captured.contact.name", "missing");
      Lead lead;
      lead.set_lead_id(e.aggregate_id());
      lead.set_status(api::v1::LEAD_STATUS_NEW);
      lead.set_name(c.contact().name());
      lead.set_company(c.contact().company());
      lead.set_email(c.contact().email());
      lead.set_phone(c.contact().phone());
      lead.set_source(c.source());
      lead.set_external_id(c.external_id());
      lead.set_region(c.region());
      *lead.mutable_product_interest() = c.product_interest();
      *lead.mutable_captured_at() = e.occurred_at();
      state = std::move(lead);
      break;
    }
    case LeadEvent::EVENT_NOT_SET:
      return InvalidField("payload.lead", "no event set (a lead event type this version does not know?)");
  }
  state->set_version(e.aggregate_version());
  *state->mutable_updated_at() = e.recorded_at();
  return absl::OkStatus();
}

}  // namespace sales::lead_acquisition
