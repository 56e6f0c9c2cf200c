#include "common/money/money.h"

#include <algorithm>
#include <array>
#include <limits>
#include <ostream>

#include "common/base/strings.h"

namespace sales {
namespace {

struct Currency {
  std::string_view code;
  int exponent;
};

// Active ISO 4217 currencies (list one, as published by the maintenance agency SIX) and their
// minor-unit exponents, sorted by code. Left out: precious metals, SDR and test codes (no minor
// unit), and withdrawn codes (HRK, SLL, CUC, ZWL, ...), which no new offer may be priced in. BGN
// stays while Bulgaria's changeover to EUR (2026) can still meet it in old catalogues.
constexpr std::array kCurrencies = std::to_array<Currency>({
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2}, {"AWG", 2},
    {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2},
    {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2},
    {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
    {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2},
    {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2},
    {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2},
    {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2},
    {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2},
    {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2},
    {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3},
    {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2},
    {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2},
    {"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2},
    {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2},
    {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2},
    {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0},
    {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
});
static_assert(std::is_sorted(kCurrencies.begin(), kCurrencies.end(),
                             [](const Currency& a, const Currency& b) { return a.code < b.code; }),
              "kCurrencies must stay sorted: lookups are binary searches");

const Currency* Find(std::string_view code) {
  if (code.size() != 3) return nullptr;
  for (char c : code) {
    if (c < 'A' || c > 'Z') return nullptr;
  }
  auto it = std::lower_bound(kCurrencies.begin(), kCurrencies.end(), code,
                             [](const Currency& c, std::string_view x) { return c.code < x; });
  return it != kCurrencies.end() && it->code == code ? &*it : nullptr;
}

std::string UnknownCurrency(std::string_view code) {
  if (code.empty()) return "must be set (an ISO 4217 code, e.g. EUR)";
  return StrCat("unknown ISO 4217 currency \"", code, "\"");
}

constexpr int64_t kPow10[] = {1, 10, 100, 1000, 10000};

Status OutOfRange(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("amount out of range: ", what, " does not fit in 64-bit minor units"));
}

}  // namespace

std::optional<int> CurrencyExponent(std::string_view code) {
  const Currency* c = Find(code);
  if (c == nullptr) return std::nullopt;
  return c->exponent;
}

bool IsCurrency(std::string_view code) { return Find(code) != nullptr; }

StatusOr<Money> Money::Of(int64_t units, std::string_view currency) {
  const Currency* c = Find(currency);
  if (c == nullptr) return InvalidField("currency", UnknownCurrency(currency));
  return Money(units, c->code, c->exponent);
}

StatusOr<Money> Money::Zero(std::string_view currency) { return Of(0, currency); }

StatusOr<Money> Money::FromProto(const events::v1::Money& m, std::string_view field) {
  const Currency* c = Find(m.currency());
  if (c == nullptr) return InvalidField(StrCat(field, ".currency"), UnknownCurrency(m.currency()));
  return Money(m.units(), c->code, c->exponent);
}

StatusOr<Money> Money::Parse(std::string_view text, std::string_view currency) {
  const Currency* c = Find(currency);
  if (c == nullptr) return InvalidField("currency", UnknownCurrency(currency));
  auto bad = [&](std::string_view why) {
    return InvalidField("amount", StrCat("\"", text, "\" is not an amount of ", currency, ": ", why));
  };
  std::string_view s = text;
  const bool minus = !s.empty() && s.front() == '-';
  if (minus) s.remove_prefix(1);
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  };
  if (whole.empty() || !digits(whole) || !digits(fraction) || (dot != std::string_view::npos && fraction.empty())) {
    return bad("expected digits with an optional '.' and decimals, e.g. 1234.50");
  }
  if (fraction.size() > static_cast<size_t>(c->exponent)) {
    return bad(c->exponent == 0 ? std::string("the currency has no minor unit")
                                : StrCat("at most ", c->exponent, " decimal", c->exponent == 1 ? "" : "s"));
  }
  // Accumulate negatively so that INT64_MIN itself parses.
  int64_t units = 0;
  auto push = [&](char ch) {
    return !__builtin_mul_overflow(units, 10, &units) && !__builtin_sub_overflow(units, ch - '0', &units);
  };
  for (char ch : whole) {
    if (!push(ch)) return OutOfRange(StrCat(text, " ", currency));
  }
  for (int i = 0; i < c->exponent; ++i) {
    if (!push(i < static_cast<int>(fraction.size()) ? fraction[i] : '0')) {
      return OutOfRange(StrCat(text, " ", currency));
    }
  }
  if (!minus && __builtin_sub_overflow(int64_t{0}, units, &units)) return OutOfRange(StrCat(text, " ", currency));
  return Money(units, c->code, c->exponent);
}

events::v1::Money Money::ToProto() const {
  events::v1::Money m;
  m.set_units(units_);
  m.set_currency(std::string(currency_));
  return m;
}

Status Money::SameCurrency(const Money& other) const {
  if (currency_ == other.currency_) return absl::OkStatus();
  return absl::InvalidArgumentError(StrCat("currency mismatch: ", currency_, " and ", other.currency_));
}

StatusOr<Money> Money::Add(const Money& other) const {
  RETURN_IF_ERROR(SameCurrency(other));
  int64_t out;
  if (__builtin_add_overflow(units_, other.units_, &out)) {
    return OutOfRange(StrCat(ToString(), " + ", other.ToString()));
  }
  return Money(out, currency_, exponent_);
}

StatusOr<Money> Money::Subtract(const Money& other) const {
  RETURN_IF_ERROR(SameCurrency(other));
  int64_t out;
  if (__builtin_sub_overflow(units_, other.units_, &out)) {
    return OutOfRange(StrCat(ToString(), " - ", other.ToString()));
  }
  return Money(out, currency_, exponent_);
}

StatusOr<Money> Money::Times(int64_t quantity) const {
  int64_t out;
  if (__builtin_mul_overflow(units_, quantity, &out)) return OutOfRange(StrCat(ToString(), " x ", quantity));
  return Money(out, currency_, exponent_);
}

StatusOr<Money> Money::ApplyBasisPoints(int32_t basis_points) const {
  // |units x bp| < 2^63 x 2^31: exact in 128 bits.
  const __int128 product = static_cast<__int128>(units_) * basis_points;
  __int128 quotient = product / 10000;  // truncates toward zero
  const __int128 remainder = product % 10000;  // same sign as product
  if (remainder >= 5000) ++quotient;
  if (remainder <= -5000) --quotient;
  if (quotient > std::numeric_limits<int64_t>::max() || quotient < std::numeric_limits<int64_t>::min()) {
    return OutOfRange(StrCat(ToString(), " x ", basis_points, " bp"));
  }
  return Money(static_cast<int64_t>(quotient), currency_, exponent_);
}

StatusOr<int> Money::Compare(const Money& other) const {
  RETURN_IF_ERROR(SameCurrency(other));
  return units_ < other.units_ ? -1 : (units_ > other.units_ ? 1 : 0);
}

std::string Money::ToString() const {
  // The magnitude as unsigned, so that INT64_MIN prints too.
  const uint64_t magnitude = units_ < 0 ? uint64_t{0} - static_cast<uint64_t>(units_) : static_cast<uint64_t>(units_);
  const uint64_t scale = static_cast<uint64_t>(kPow10[exponent_]);
  std::string out = units_ < 0 ? "-" : "";
  StrAppend(&out, magnitude / scale);
  if (exponent_ > 0) {
    std::string minor = StrCat(magnitude % scale);
    out.push_back('.');
    out.append(static_cast<size_t>(exponent_) - minor.size(), '0');
    out.append(minor);
  }
  StrAppend(&out, " ", currency_);
  return out;
}

std::ostream& operator<<(std::ostream& os, const Money& m) { return os << m.ToString(); }

}  // namespace sales
