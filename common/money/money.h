// Exact amounts of money: integer minor units of an ISO 4217 currency (cents for EUR, none for JPY,
// thousandths for KWD), never floating point. The wire form is sales.events.v1.Money
// (proto/sales/events/v1/money.proto); this is the arithmetic on it.
//
// Contract: every operation is exact or refused. Mixing currencies, an unknown currency and any
// result outside int64 answer INVALID_ARGUMENT ("currency mismatch", "unknown ISO 4217 currency",
// "amount out of range"); nothing wraps around or rounds silently. The only rounding is in
// ApplyBasisPoints, half away from zero, and it is documented there. A Money is a small immutable
// value: copy it freely; thread-safe as any const object.
//
// Depends on common/base (Status) and the events proto only.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "sales/events/v1/money.pb.h"

namespace sales {

// The minor-unit exponent of an active ISO 4217 currency (2 for EUR, 0 for JPY, 3 for KWD, 4 for
// CLF); nullopt for anything else, including lower-case codes and withdrawn currencies.
[[nodiscard]] std::optional<int> CurrencyExponent(std::string_view code);
// Three upper-case letters naming an active ISO 4217 currency.
[[nodiscard]] bool IsCurrency(std::string_view code);

class Money {
 public:
  // INVALID_ARGUMENT (field "currency") when `currency` is not an active ISO 4217 code.
  [[nodiscard]] static StatusOr<Money> Of(int64_t units, std::string_view currency);
  [[nodiscard]] static StatusOr<Money> Zero(std::string_view currency);
  // From the wire form; errors name `field` (e.g. "terms.lines[0].unit_price.currency: unknown ISO
  // 4217 currency \"EURO\"").
  [[nodiscard]] static StatusOr<Money> FromProto(const events::v1::Money& m, std::string_view field);
  // A decimal amount in major units: "1234.5", "1234.50", "-0.05", "1200" (JPY). At most as many
  // decimals as the currency has (INVALID_ARGUMENT, field "amount", otherwise); no exponent, no
  // thousands separators, no leading '+'.
  [[nodiscard]] static StatusOr<Money> Parse(std::string_view text, std::string_view currency);

  [[nodiscard]] int64_t units() const { return units_; }
  [[nodiscard]] std::string_view currency() const { return currency_; }  // static storage
  [[nodiscard]] int exponent() const { return exponent_; }
  [[nodiscard]] bool negative() const { return units_ < 0; }
  [[nodiscard]] bool zero() const { return units_ == 0; }
  [[nodiscard]] events::v1::Money ToProto() const;

  [[nodiscard]] StatusOr<Money> Add(const Money& other) const;
  [[nodiscard]] StatusOr<Money> Subtract(const Money& other) const;
  [[nodiscard]] StatusOr<Money> Times(int64_t quantity) const;
  // round(units x bp / 10000), rounding half away from zero (0.5 -> 1, -0.5 -> -1), computed
  // exactly in 128 bits; e.g. 5997 at 8750 bp = 5247.375 -> 5247, 1 at 5000 bp -> 1.
  [[nodiscard]] StatusOr<Money> ApplyBasisPoints(int32_t basis_points) const;
  // < 0, 0 or > 0; INVALID_ARGUMENT when the currencies differ (amounts in different currencies
  // have no order).
  [[nodiscard]] StatusOr<int> Compare(const Money& other) const;
  bool operator==(const Money& other) const { return units_ == other.units_ && currency_ == other.currency_; }

  // "1234.50 EUR", "-0.05 EUR", "1200 JPY", "1.250 KWD".
  [[nodiscard]] std::string ToString() const;

 private:
  Money(int64_t units, std::string_view currency, int exponent)
      : units_(units), currency_(currency), exponent_(exponent) {}
  [[nodiscard]] Status SameCurrency(const Money& other) const;

  int64_t units_;
  std::string_view currency_;  // points into the ISO 4217 table
  int exponent_;
};

std::ostream& operator<<(std::ostream& os, const Money& m);  // ToString(), for logs and tests

}  // namespace sales
