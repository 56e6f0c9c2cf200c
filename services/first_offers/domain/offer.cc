#include "services/first_offers/domain/offer.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "common/base/ids.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/money/money.h"

namespace sales::first_offers {
namespace {

using events::v1::OfferLine;
using events::v1::OfferTerms;
using Violations = std::vector<FieldViolation>;

constexpr size_t kMaxId = 64;
constexpr size_t kMaxKey = 128;
constexpr size_t kMaxProductName = 200;
constexpr size_t kMaxDescription = 500;
constexpr size_t kMaxReason = 500;
constexpr size_t kMaxNote = 2000;
constexpr int32_t kFullBasisPoints = 10000;

// ---- field checks: each appends its violations, so a request gets every problem back at once ----

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

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

void CheckText(const std::string& field, const std::string& value, size_t max, bool required, bool multiline,
               Violations& v) {
  const std::string t = Trim(value);
  if (t.empty()) {
    if (required) v.push_back({field, "must not be empty"});
    return;
  }
  const int64_t len = TextLength(t, multiline);
  if (len == -1) {
    v.push_back({field, "not valid UTF-8"});
  } else if (len == -2) {
    v.push_back({field, multiline ? "must not contain control characters other than line breaks and tabs"
                                  : "must not contain control characters"});
  } else if (static_cast<size_t>(len) > max) {
    v.push_back({field, StrCat("at most ", max, " characters")});
  }
}

void CheckIdempotencyKey(const std::string& key, Violations& v) {
  if (key.empty()) {
    v.push_back({"idempotency_key", "must not be empty (any unique string per command, e.g. a UUID)"});
  } else if (key.size() > kMaxKey) {
    v.push_back({"idempotency_key", StrCat("at most ", kMaxKey, " characters")});
  } else if (!std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7e; })) {
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

bool ValidProductCode(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

void CheckProductCode(const std::string& field, const std::string& code, Violations& v) {
  if (!ValidProductCode(code)) v.push_back({field, "1-64 characters of a-z, 0-9, '.', '-', '_'"});
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

void CheckTerms(const api::v1::OfferTermsInput& t, absl::Time now, Violations& v) {
  CheckCurrency("terms.currency", t.currency(), v);
  if (t.lines().empty()) {
    v.push_back({"terms.lines", "at least one line"});
  } else if (t.lines_size() > kMaxLines) {
    // The lines themselves are not checked: one violation is enough to say what is wrong.
    v.push_back({"terms.lines", StrCat("at most ", kMaxLines, " lines, got ", t.lines_size())});
  } else {
    for (int i = 0; i < t.lines_size(); ++i) {
      const auto& line = t.lines(i);
      const std::string f = StrCat("terms.lines[", i, "]");
      CheckProductCode(f + ".product_code", line.product_code(), v);
      if (line.quantity() < 1 || line.quantity() > kMaxQuantity) {
        v.push_back({f + ".quantity", StrCat("from 1 to ", kMaxQuantity)});
      }
      if (line.has_unit_price()) {
        CheckPrice(f + ".unit_price", line.unit_price(), t.currency(), "the offer's currency", v);
      }
      if (line.discount_bp() < 0 || line.discount_bp() > kFullBasisPoints) {
        v.push_back({f + ".discount_bp", "basis points from 0 to 10000 (100 = 1%)"});
      }
      CheckText(f + ".description", line.description(), kMaxDescription, false, false, v);
    }
  }
  if (!t.has_valid_until()) {
    v.push_back({"terms.valid_until", "must be set"});
  } else if (t.valid_until().nanos() < 0 || t.valid_until().nanos() > 999999999) {
    v.push_back({"terms.valid_until", "not a valid time"});
  } else {
    const absl::Time until = events::FromProto(t.valid_until());
    if (until <= now) v.push_back({"terms.valid_until", "must be in the future"});
    else if (until > now + kMaxValidity) v.push_back({"terms.valid_until", "at most 366 days ahead"});
  }
  if (t.payment_terms() == events::v1::PAYMENT_TERMS_UNSPECIFIED) {
    v.push_back({"terms.payment_terms", "must be set (PREPAID, NET_15, NET_30, NET_60 or NET_90)"});
  } else if (!events::v1::PaymentTerms_IsValid(t.payment_terms())) {
    v.push_back({"terms.payment_terms", StrCat("unknown value ", static_cast<int>(t.payment_terms()))});
  }
  CheckText("terms.note", t.note(), kMaxNote, false, true, v);
}

Status Result(Violations v) {
  if (v.empty()) return absl::OkStatus();
  return InvalidArgument(std::move(v));
}

// ---- state ----

std::string StatusName(OfferState::Status s) {
  std::string name = OfferState::Status_Name(s);
  if (name.rfind("STATUS_", 0) == 0) name.erase(0, 7);
  return name;
}

bool IsOpen(const OfferState& o) {
  return o.status() == OfferState::STATUS_DRAFT || o.status() == OfferState::STATUS_SENT;
}

std::string Rfc3339(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone()); }

absl::Time ValidUntil(const OfferState& o) { return events::FromProto(LatestTerms(o).valid_until()); }

// DRAFT or SENT, else FAILED_PRECONDITION naming the final state.
Status Open(const OfferState& o, std::string_view action) {
  if (IsOpen(o)) return absl::OkStatus();
  if (IsFinal(o)) {
    return absl::FailedPreconditionError(
        StrCat("offer ", o.offer_id(), " is ", StatusName(o.status()), " (final): it cannot be ", action));
  }
  return absl::FailedPreconditionError(
      StrCat("offer ", o.offer_id(), " is in state ", StatusName(o.status()), ": it cannot be ", action));
}

// SENT, else FAILED_PRECONDITION saying what to do instead.
Status Sent(const OfferState& o, std::string_view action, std::string_view instead) {
  if (o.status() == OfferState::STATUS_SENT) return absl::OkStatus();
  if (IsFinal(o)) return Open(o, action);
  return absl::FailedPreconditionError(StrCat("only a sent offer can be ", action, "; this one is ",
                                              StatusName(o.status()), ": ", instead));
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

struct PricedLine {
  OfferLine line;
  Money gross, discount, net;
};

StatusOr<PricedLine> PriceLine(const api::v1::OfferLineInput& in, const std::string& currency, const std::string& field,
                               const ProductLookup& products) {
  ASSIGN_OR_RETURN(std::optional<ProductState> product, products(in.product_code()));
  if (!product) {
    return absl::FailedPreconditionError(
        StrCat(field, ": product \"", in.product_code(), "\" is not in the catalogue"));
  }
  if (!product->active()) {
    return absl::FailedPreconditionError(StrCat(field, ": product \"", in.product_code(),
                                                "\" is inactive: it cannot go on new offers or revisions"));
  }
  if (product->list_price().currency() != currency) {
    return absl::FailedPreconditionError(StrCat(field, ": product \"", in.product_code(), "\" is listed in ",
                                                product->list_price().currency(), ", not in the offer's currency ",
                                                currency, " (an offer has one currency)"));
  }
  ASSIGN_OR_RETURN(Money list, Money::FromProto(product->list_price(), StrCat("catalogue.", in.product_code())));
  Money unit = list;
  if (in.has_unit_price()) {
    ASSIGN_OR_RETURN(unit, Money::FromProto(in.unit_price(), field + ".unit_price"));
    if (unit.currency() != list.currency()) {
      return InvalidField(field + ".unit_price.currency",
                          StrCat("must be ", currency, " (the offer's currency), not ", unit.currency()));
    }
  }
  if (unit.negative()) return InvalidField(field + ".unit_price.units", "must not be negative");
  if (list.negative()) {
    return absl::FailedPreconditionError(
        StrCat(field, ": product \"", in.product_code(), "\" has a negative list price"));
  }
  const int64_t quantity = in.quantity();
  ASSIGN_OR_RETURN(Money gross, OnField(list.Times(quantity), field + ".quantity"));
  ASSIGN_OR_RETURN(Money before_discount, OnField(unit.Times(quantity), field + ".quantity"));
  ASSIGN_OR_RETURN(Money net, OnField(before_discount.ApplyBasisPoints(kFullBasisPoints - in.discount_bp()),
                                      field + ".discount_bp"));
  ASSIGN_OR_RETURN(Money discount, OnField(gross.Subtract(net), field));

  OfferLine line;
  line.set_product_code(in.product_code());
  const std::string description = Trim(in.description());
  line.set_description(description.empty() ? product->name() : description);
  line.set_quantity(quantity);
  *line.mutable_list_price() = list.ToProto();
  *line.mutable_unit_price() = unit.ToProto();
  line.set_discount_bp(in.discount_bp());
  *line.mutable_gross() = gross.ToProto();
  *line.mutable_discount() = discount.ToProto();
  *line.mutable_net() = net.ToProto();
  return PricedLine{std::move(line), gross, discount, net};
}

}  // namespace

std::string EventTypeOf(const OfferEvent& e) {
  switch (e.event_case()) {
    case OfferEvent::kDrafted: return "offer.drafted";
    case OfferEvent::kRevised: return "offer.revised";
    case OfferEvent::kSent: return "offer.sent";
    case OfferEvent::kAccepted: return "offer.accepted";
    case OfferEvent::kRejected: return "offer.rejected";
    case OfferEvent::kWithdrawn: return "offer.withdrawn";
    case OfferEvent::kExpired: return "offer.expired";
    case OfferEvent::EVENT_NOT_SET: break;
  }
  return "offer.unknown";
}

std::string EventTypeOf(const ProductEvent& e) {
  switch (e.event_case()) {
    case ProductEvent::kUpserted: return "product.upserted";
    case ProductEvent::EVENT_NOT_SET: break;
  }
  return "product.unknown";
}

std::string OfferIdFor(const std::string& idempotency_key) { return NameUuid("sales.offer", idempotency_key); }

// ---------------------------------------------------------------------------------------------
// Validation

Status ValidateUpsertProduct(const api::v1::UpsertProductRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckProductCode("code", r.code(), v);
  CheckText("name", r.name(), kMaxProductName, true, false, v);
  if (!r.has_list_price()) v.push_back({"list_price", "must be set"});
  else CheckPrice("list_price", r.list_price(), "", "", v);
  if (!r.has_unit_cost()) v.push_back({"unit_cost", "must be set"});
  else CheckPrice("unit_cost", r.unit_cost(), r.list_price().currency(), "the list price's currency", v);
  CheckExpectedVersion(r.expected_version(), v);
  return Result(std::move(v));
}

Status ValidateDraft(const api::v1::DraftOfferRequest& r, absl::Time now) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("lead_id", r.lead_id(), v);
  CheckTerms(r.terms(), now, v);
  return Result(std::move(v));
}

Status ValidateRevise(const api::v1::ReviseOfferRequest& r, absl::Time now) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("offer_id", r.offer_id(), v);
  CheckExpectedVersion(r.expected_version(), v);
  CheckTerms(r.terms(), now, v);
  CheckText("reason", r.reason(), kMaxReason, false, false, v);
  return Result(std::move(v));
}

Status ValidateSend(const api::v1::SendOfferRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("offer_id", r.offer_id(), v);
  CheckExpectedVersion(r.expected_version(), v);
  return Result(std::move(v));
}

Status ValidateAccept(const api::v1::AcceptOfferRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("offer_id", r.offer_id(), v);
  CheckExpectedVersion(r.expected_version(), v);
  CheckText("note", r.note(), kMaxNote, false, true, v);
  return Result(std::move(v));
}

Status ValidateReject(const api::v1::RejectOfferRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("offer_id", r.offer_id(), v);
  CheckExpectedVersion(r.expected_version(), v);
  if (r.reason() == events::v1::REJECTION_REASON_UNSPECIFIED) {
    v.push_back({"reason", "must be set (PRICE, CHOSE_COMPETITOR, NO_BUDGET, NO_NEED, TIMING, PRODUCT_FIT, "
                           "NO_RESPONSE or OTHER)"});
  } else if (!events::v1::RejectionReason_IsValid(r.reason())) {
    v.push_back({"reason", StrCat("unknown value ", static_cast<int>(r.reason()))});
  }
  const bool other = r.reason() == events::v1::REJECTION_REASON_OTHER;
  if (other && Trim(r.note()).empty()) v.push_back({"note", "must say why when the reason is OTHER"});
  else CheckText("note", r.note(), kMaxNote, false, true, v);
  return Result(std::move(v));
}

Status ValidateWithdraw(const api::v1::WithdrawOfferRequest& r) {
  Violations v;
  CheckIdempotencyKey(r.idempotency_key(), v);
  CheckId("offer_id", r.offer_id(), v);
  CheckExpectedVersion(r.expected_version(), v);
  CheckText("reason", r.reason(), kMaxReason, true, false, v);
  return Result(std::move(v));
}

// ---------------------------------------------------------------------------------------------
// Pricing

StatusOr<OfferTerms> PriceTerms(const api::v1::OfferTermsInput& input, int32_t revision,
                                const ProductLookup& products) {
  const std::string& currency = input.currency();
  ASSIGN_OR_RETURN(Money gross, OnField(Money::Zero(currency), "terms.currency"));
  Money discount = gross, total = gross;
  OfferTerms terms;
  terms.set_revision(revision);
  terms.set_currency(currency);
  for (int i = 0; i < input.lines_size(); ++i) {
    const std::string field = StrCat("terms.lines[", i, "]");
    ASSIGN_OR_RETURN(PricedLine priced, PriceLine(input.lines(i), currency, field, products));
    // Each line is exact; only the sums can still overflow.
    ASSIGN_OR_RETURN(gross, OnField(gross.Add(priced.gross), "terms.lines"));
    ASSIGN_OR_RETURN(discount, OnField(discount.Add(priced.discount), "terms.lines"));
    ASSIGN_OR_RETURN(total, OnField(total.Add(priced.net), "terms.lines"));
    *terms.add_lines() = std::move(priced.line);
  }
  *terms.mutable_valid_until() = input.valid_until();
  terms.set_payment_terms(input.payment_terms());
  terms.set_note(Trim(input.note()));
  *terms.mutable_gross() = gross.ToProto();
  *terms.mutable_discount() = discount.ToProto();
  *terms.mutable_total() = total.ToProto();
  return terms;
}

// ---------------------------------------------------------------------------------------------
// Decisions

Status CheckVersion(const OfferState& offer, int64_t expected_version) {
  if (expected_version == 0 || expected_version == offer.version()) return absl::OkStatus();
  return absl::AbortedError(StrCat("offer ", offer.offer_id(), " is at version ", offer.version(), ", not ",
                                   expected_version, "; re-read it and decide again"));
}

StatusOr<OfferEvent> DecideDraft(const std::optional<LeadView>& lead, const api::v1::DraftOfferRequest& r,
                                 const ProductLookup& products) {
  if (!lead) {
    return absl::FailedPreconditionError(StrCat("lead ", r.lead_id(),
                                                " is not known to first offers yet: it has not been captured, or its "
                                                "events have not arrived"));
  }
  switch (lead->status()) {
    case LeadView::STATUS_QUALIFIED: break;
    case LeadView::STATUS_DISQUALIFIED:
      return absl::FailedPreconditionError(
          StrCat("lead ", lead->lead_id(), " was disqualified: a closed lead gets no offer"));
    default:
      return absl::FailedPreconditionError(StrCat("lead ", lead->lead_id(), " is not qualified yet: qualify it first"));
  }
  ASSIGN_OR_RETURN(OfferTerms terms, PriceTerms(r.terms(), 1, products));
  OfferEvent event;
  auto* d = event.mutable_drafted();
  auto* facts = d->mutable_lead();
  facts->set_lead_id(lead->lead_id());
  *facts->mutable_contact() = lead->contact();
  facts->set_region(lead->region());
  facts->set_owner_manager_id(lead->owner_manager_id());
  facts->set_source(lead->source());
  *facts->mutable_product_interest() = lead->product_interest();
  if (lead->has_qualified_at()) *facts->mutable_qualified_at() = lead->qualified_at();
  *d->mutable_terms() = std::move(terms);
  return event;
}

StatusOr<OfferEvent> DecideRevise(const OfferState& offer, const api::v1::ReviseOfferRequest& r,
                                  const ProductLookup& products) {
  RETURN_IF_ERROR(CheckVersion(offer, r.expected_version()));
  RETURN_IF_ERROR(Open(offer, "revised"));
  if (offer.revisions_size() >= kMaxRevisions) {
    return absl::FailedPreconditionError(StrCat("offer ", offer.offer_id(), " has ", offer.revisions_size(),
                                                " revisions, the most an offer may have: withdraw it and draft a "
                                                "new one"));
  }
  const OfferTerms& latest = LatestTerms(offer);
  if (r.terms().currency() != latest.currency()) {
    return absl::FailedPreconditionError(StrCat("offer ", offer.offer_id(), " is in ", latest.currency(),
                                                "; a revision cannot change it to ", r.terms().currency(),
                                                " (withdraw the offer and draft a new one)"));
  }
  ASSIGN_OR_RETURN(OfferTerms terms, PriceTerms(r.terms(), latest.revision() + 1, products));
  OfferEvent event;
  *event.mutable_revised()->mutable_terms() = std::move(terms);
  event.mutable_revised()->set_reason(Trim(r.reason()));
  return event;
}

StatusOr<OfferEvent> DecideSend(const OfferState& offer, absl::Time now) {
  RETURN_IF_ERROR(Open(offer, "sent"));
  const OfferTerms& latest = LatestTerms(offer);
  if (ValidUntil(offer) <= now) {
    return absl::FailedPreconditionError(StrCat("offer ", offer.offer_id(), " revision ", latest.revision(),
                                                " was valid until ", Rfc3339(ValidUntil(offer)),
                                                ", which has passed: it is about to expire (revise it with a new "
                                                "valid-until to send it)"));
  }
  OfferEvent event;
  event.mutable_sent()->set_revision(latest.revision());
  *event.mutable_sent()->mutable_valid_until() = latest.valid_until();
  return event;
}

StatusOr<OfferEvent> DecideAccept(const OfferState& offer, const api::v1::AcceptOfferRequest& r, bool lead_converted,
                                  absl::Time now) {
  RETURN_IF_ERROR(CheckVersion(offer, r.expected_version()));
  RETURN_IF_ERROR(Sent(offer, "accepted", "send it first"));
  const OfferTerms& latest = LatestTerms(offer);
  if (offer.sent_revision() != latest.revision()) {
    // Cannot follow from the events (revising moves a sent offer back to DRAFT); kept as a guard.
    return absl::FailedPreconditionError(StrCat("offer ", offer.offer_id(), " revision ", latest.revision(),
                                                " was not sent (revision ", offer.sent_revision(),
                                                " was): send it first"));
  }
  if (ValidUntil(offer) <= now) {
    return absl::FailedPreconditionError(StrCat("offer ", offer.offer_id(), " was valid until ",
                                                Rfc3339(ValidUntil(offer)),
                                                ": it can no longer be accepted (it is about to expire)"));
  }
  OfferEvent event;
  auto* a = event.mutable_accepted();
  a->set_revision(latest.revision());
  *a->mutable_value() = latest.total();
  a->set_note(Trim(r.note()));
  a->set_converts_lead(!lead_converted);
  if (!lead_converted) {
    const auto& facts = offer.lead();
    auto* c = a->mutable_conversion();
    c->set_lead_id(facts.lead_id());
    *c->mutable_contact() = facts.contact();
    c->set_owner_manager_id(facts.owner_manager_id());
    c->set_region(facts.region());
    for (const auto& line : latest.lines()) {
      if (std::find(c->product_codes().begin(), c->product_codes().end(), line.product_code()) ==
          c->product_codes().end()) {
        c->add_product_codes(line.product_code());
      }
    }
    *c->mutable_value() = latest.total();
    c->set_source(facts.source());
  }
  return event;
}

StatusOr<OfferEvent> DecideReject(const OfferState& offer, const api::v1::RejectOfferRequest& r) {
  RETURN_IF_ERROR(CheckVersion(offer, r.expected_version()));
  RETURN_IF_ERROR(Sent(offer, "rejected", "send it first, or withdraw it"));
  OfferEvent event;
  auto* j = event.mutable_rejected();
  j->set_revision(LatestTerms(offer).revision());
  j->set_reason(r.reason());
  j->set_note(Trim(r.note()));
  return event;
}

StatusOr<OfferEvent> DecideWithdraw(const OfferState& offer, const api::v1::WithdrawOfferRequest& r) {
  RETURN_IF_ERROR(CheckVersion(offer, r.expected_version()));
  RETURN_IF_ERROR(Open(offer, "withdrawn"));
  OfferEvent event;
  event.mutable_withdrawn()->set_reason(Trim(r.reason()));
  return event;
}

std::optional<OfferEvent> DecideExpire(const OfferState& offer, absl::Time now) {
  const std::optional<absl::Time> due = ExpiryDue(offer);
  if (!due || *due > now) return std::nullopt;
  const OfferTerms& latest = LatestTerms(offer);
  OfferEvent event;
  event.mutable_expired()->set_revision(latest.revision());
  *event.mutable_expired()->mutable_valid_until() = latest.valid_until();
  return event;
}

ProductEvent DecideUpsertProduct(const api::v1::UpsertProductRequest& r) {
  ProductEvent event;
  auto* u = event.mutable_upserted();
  u->set_name(Trim(r.name()));
  *u->mutable_list_price() = r.list_price();
  *u->mutable_unit_cost() = r.unit_cost();
  u->set_active(!r.inactive());
  return event;
}

// ---------------------------------------------------------------------------------------------
// Evolution

Status EvolveOffer(std::optional<OfferState>& state, const EventEnvelope& e) {
  if (e.aggregate_type() != kOfferAggregate || e.payload_case() != EventEnvelope::kOffer) {
    return InvalidField("payload", StrCat("not an offer event (aggregate_type \"", e.aggregate_type(), "\")"));
  }
  const OfferEvent& event = e.offer();
  if (event.event_case() == OfferEvent::EVENT_NOT_SET) {
    return InvalidField("payload.offer", "no event set (an offer event type this version does not know?)");
  }
  const std::string& id = e.aggregate_id();
  if (event.event_case() == OfferEvent::kDrafted) {
    if (state) return absl::FailedPreconditionError(StrCat("offer ", id, " drafted twice"));
    const auto& d = event.drafted();
    if (d.terms().revision() != 1) {
      return absl::FailedPreconditionError(
          StrCat("offer ", id, " drafted with revision ", d.terms().revision(), " (the draft is revision 1)"));
    }
    OfferState offer;
    offer.set_offer_id(id);
    offer.set_status(OfferState::STATUS_DRAFT);
    *offer.mutable_lead() = d.lead();
    *offer.add_revisions() = d.terms();
    *offer.mutable_created_at() = e.occurred_at();
    state = std::move(offer);
  } else {
    if (!state) {
      return absl::FailedPreconditionError(
          StrCat("offer ", id, ": ", EventTypeOf(event), " before the offer was drafted"));
    }
    OfferState& offer = *state;
    auto cannot = [&](std::string_view what) {
      return absl::FailedPreconditionError(
          StrCat("offer ", id, ": ", EventTypeOf(event), " while ", StatusName(offer.status()), " (", what, ")"));
    };
    switch (event.event_case()) {
      case OfferEvent::kRevised: {
        if (!IsOpen(offer)) return cannot("only an open offer is revised");
        const int32_t next = LatestTerms(offer).revision() + 1;
        if (event.revised().terms().revision() != next) {
          return cannot(StrCat("revision ", event.revised().terms().revision(), " does not follow ", next - 1));
        }
        *offer.add_revisions() = event.revised().terms();
        offer.set_status(OfferState::STATUS_DRAFT);
        break;
      }
      case OfferEvent::kSent:
        if (!IsOpen(offer)) return cannot("only an open offer is sent");
        if (event.sent().revision() != LatestTerms(offer).revision()) {
          return cannot(StrCat("revision ", event.sent().revision(), " is not the latest"));
        }
        offer.set_status(OfferState::STATUS_SENT);
        offer.set_sent_revision(event.sent().revision());
        *offer.mutable_sent_at() = e.occurred_at();
        break;
      case OfferEvent::kAccepted:
        if (offer.status() != OfferState::STATUS_SENT) return cannot("only a sent offer is accepted");
        offer.set_status(OfferState::STATUS_ACCEPTED);
        offer.set_converted_lead(event.accepted().converts_lead());
        *offer.mutable_accepted_value() = event.accepted().value();
        offer.set_close_note(event.accepted().note());
        *offer.mutable_closed_at() = e.occurred_at();
        break;
      case OfferEvent::kRejected:
        if (offer.status() != OfferState::STATUS_SENT) return cannot("only a sent offer is rejected");
        offer.set_status(OfferState::STATUS_REJECTED);
        offer.set_rejection_reason(event.rejected().reason());
        offer.set_close_note(event.rejected().note());
        *offer.mutable_closed_at() = e.occurred_at();
        break;
      case OfferEvent::kWithdrawn:
        if (!IsOpen(offer)) return cannot("only an open offer is withdrawn");
        offer.set_status(OfferState::STATUS_WITHDRAWN);
        offer.set_close_note(event.withdrawn().reason());
        *offer.mutable_closed_at() = e.occurred_at();
        break;
      case OfferEvent::kExpired:
        if (!IsOpen(offer)) return cannot("only an open offer expires");
        offer.set_status(OfferState::STATUS_EXPIRED);
        *offer.mutable_closed_at() = e.occurred_at();
        break;
      default:
        break;
    }
  }
  state->set_version(e.aggregate_version());
  return absl::OkStatus();
}

Status EvolveProduct(std::optional<ProductState>& state, const EventEnvelope& e) {
  if (e.aggregate_type() != kProductAggregate || e.payload_case() != EventEnvelope::kProduct) {
    return InvalidField("payload", StrCat("not a product event (aggregate_type \"", e.aggregate_type(), "\")"));
  }
  const ProductEvent& event = e.product();
  switch (event.event_case()) {
    case ProductEvent::kUpserted: {
      const auto& u = event.upserted();
      if (!state) {
        state.emplace();
        state->set_code(e.aggregate_id());
      }
      state->set_name(u.name());
      *state->mutable_list_price() = u.list_price();
      *state->mutable_unit_cost() = u.unit_cost();
      state->set_active(u.active());
      *state->mutable_updated_at() = e.occurred_at();
      break;
    }
    case ProductEvent::EVENT_NOT_SET:
      return InvalidField("payload.product", "no event set (a product event type this version does not know?)");
  }
  state->set_version(e.aggregate_version());
  return absl::OkStatus();
}

StatusOr<bool> EvolveLeadView(std::optional<LeadView>& state, const EventEnvelope& e) {
  if (e.aggregate_type() != kLeadAggregate || e.payload_case() != EventEnvelope::kLead) {
    return InvalidField("payload", StrCat("not a lead event (aggregate_type \"", e.aggregate_type(), "\")"));
  }
  if (state && e.aggregate_version() <= state->version()) return false;  // already applied
  if (!state) {
    // Normally the capture; anything else means earlier events are missing: keep what this one says.
    state.emplace();
    state->set_lead_id(e.aggregate_id());
  }
  LeadView& view = *state;
  const events::v1::LeadEvent& event = e.lead();
  switch (event.event_case()) {
    case events::v1::LeadEvent::kCaptured: {
      const auto& c = event.captured();
      if (view.status() == LeadView::STATUS_UNSPECIFIED) view.set_status(LeadView::STATUS_NEW);
      *view.mutable_contact() = c.contact();
      view.set_region(c.region());
      view.set_owner_manager_id(c.assignment().manager_id());
      view.set_source(c.source());
      *view.mutable_product_interest() = c.product_interest();
      *view.mutable_captured_at() = e.occurred_at();
      break;
    }
    case events::v1::LeadEvent::kSourceLinked: {
      const auto& l = event.source_linked();
      auto* contact = view.mutable_contact();
      if (contact->name().empty()) contact->set_name(l.contact().name());
      if (contact->company().empty()) contact->set_company(l.contact().company());
      if (contact->email().empty()) contact->set_email(l.contact().email());
      if (contact->phone().empty()) contact->set_phone(l.contact().phone());
      for (const auto& p : l.product_interest()) {
        if (std::find(view.product_interest().begin(), view.product_interest().end(), p) ==
            view.product_interest().end()) {
          view.add_product_interest(p);
        }
      }
      break;
    }
    case events::v1::LeadEvent::kQualified:
      view.set_status(LeadView::STATUS_QUALIFIED);
      *view.mutable_qualified_at() = e.occurred_at();
      break;
    case events::v1::LeadEvent::kDisqualified:
      view.set_status(LeadView::STATUS_DISQUALIFIED);
      break;
    case events::v1::LeadEvent::kAssigned:
      view.set_owner_manager_id(event.assigned().assignment().manager_id());
      break;
    default:  // activities, and event types newer than this version: only the version moves
      break;
  }
  view.set_version(e.aggregate_version());
  return true;
}

std::optional<absl::Time> ExpiryDue(const OfferState& offer) {
  if (!IsOpen(offer) || offer.revisions().empty()) return std::nullopt;
  return ValidUntil(offer);
}

bool IsFinal(const OfferState& offer) {
  switch (offer.status()) {
    case OfferState::STATUS_ACCEPTED:
    case OfferState::STATUS_REJECTED:
    case OfferState::STATUS_WITHDRAWN:
    case OfferState::STATUS_EXPIRED:
      return true;
    default:
      return false;
  }
}

const events::v1::OfferTerms& LatestTerms(const OfferState& offer) {
  if (offer.revisions().empty()) return events::v1::OfferTerms::default_instance();
  return offer.revisions(offer.revisions_size() - 1);
}

}  // namespace sales::first_offers
