// Money: exact amounts, exponent-aware formatting and parsing, rounding half away from zero, and
// every overflow refused.
#include "common/money/money.h"

#include <cstdint>
#include <limits>

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales {
namespace {

using ::testing::HasSubstr;
using testing::StatusIs;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Money M(int64_t units, std::string_view currency = "EUR") {
  auto m = Money::Of(units, currency);
  EXPECT_TRUE(m.ok()) << m.status();
  return *m;
}

// ---- the table ----

TEST(Currency, ExponentsOfTheActiveCodes) {
  for (const char* two : {"EUR", "USD", "GBP", "CHF", "NOK", "SEK", "DKK", "PLN", "CZK", "HUF", "RON", "BGN", "TRY",
                          "RSD", "ALL", "MKD", "ILS", "AED", "SAR", "CAD", "AUD", "CNY", "INR", "BRL", "MXN", "ZAR",
                          "ARS", "IDR", "RUB"}) {
    EXPECT_EQ(CurrencyExponent(two), 2) << two;
  }
  for (const char* zero : {"JPY", "KRW", "ISK", "CLP", "VND", "XOF", "XAF", "PYG"}) {
    EXPECT_EQ(CurrencyExponent(zero), 0) << zero;
  }
  for (const char* three : {"KWD", "BHD", "JOD", "OMR", "TND", "IQD", "LYD"}) {
    EXPECT_EQ(CurrencyExponent(three), 3) << three;
  }
  EXPECT_EQ(CurrencyExponent("CLF"), 4);
}

TEST(Currency, OnlyUpperCaseActiveCodes) {
  EXPECT_TRUE(IsCurrency("EUR"));
  for (const char* bad : {"eur", "Eur", "EURO", "EU", "", "XXX", "XAU", "HRK", "E1R", "EU "}) {
    EXPECT_FALSE(IsCurrency(bad)) << bad;
    EXPECT_EQ(CurrencyExponent(bad), std::nullopt) << bad;
  }
}

TEST(Money, UnknownCurrencyIsRefusedNamingTheField) {
  EXPECT_THAT(Money::Of(1, "EURO"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown ISO 4217 currency \"EURO\"")));
  EXPECT_THAT(Money::Zero("eur"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("currency: unknown")));
  events::v1::Money wire;
  wire.set_units(100);
  wire.set_currency("EURO");
  auto m = Money::FromProto(wire, "terms.lines[0].unit_price");
  EXPECT_THAT(m, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("terms.lines[0].unit_price.currency: unknown ISO 4217 currency \"EURO\"")));
  ASSERT_EQ(FieldViolations(m.status()).size(), 1u);
  EXPECT_EQ(FieldViolations(m.status())[0].field, "terms.lines[0].unit_price.currency");
  wire.clear_currency();
  EXPECT_THAT(Money::FromProto(wire, "list_price"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                            HasSubstr("list_price.currency: must be set")));
}

TEST(Money, ProtoRoundTrip) {
  events::v1::Money wire;
  wire.set_units(-12345);
  wire.set_currency("KWD");
  auto m = Money::FromProto(wire, "x");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->units(), -12345);
  EXPECT_EQ(m->currency(), "KWD");
  EXPECT_EQ(m->exponent(), 3);
  EXPECT_EQ(m->ToProto().SerializeAsString(), wire.SerializeAsString());
}

// ---- arithmetic ----

TEST(Money, AddSubtractAndCompareInOneCurrency) {
  EXPECT_EQ(*M(1999).Add(M(1)), M(2000));
  EXPECT_EQ(*M(1999).Subtract(M(2000)), M(-1));
  EXPECT_EQ(*M(5).Compare(M(7)), -1);
  EXPECT_EQ(*M(7).Compare(M(7)), 0);
  EXPECT_EQ(*M(-1).Compare(M(-2)), 1);
  EXPECT_NE(M(1, "EUR"), M(1, "USD"));
}

TEST(Money, CurrencyMismatchIsInvalidArgument) {
  EXPECT_THAT(M(1).Add(M(1, "USD")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("currency mismatch: EUR and USD")));
  EXPECT_THAT(M(1).Subtract(M(1, "JPY")), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("currency mismatch")));
  EXPECT_THAT(M(1).Compare(M(1, "GBP")), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("currency mismatch")));
}

TEST(Money, OverflowAtTheInt64LimitsIsRefused) {
  EXPECT_EQ(*M(kMax - 1).Add(M(1)), M(kMax));
  EXPECT_THAT(M(kMax).Add(M(1)), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
  EXPECT_THAT(M(kMin).Add(M(-1)), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
  EXPECT_EQ(*M(kMin + 1).Subtract(M(1)), M(kMin));
  EXPECT_THAT(M(kMin).Subtract(M(1)), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
  EXPECT_THAT(M(0).Subtract(M(kMin)), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));

  EXPECT_EQ(*M(kMax / 2).Times(2), M(kMax - 1));
  EXPECT_THAT(M(kMax / 2 + 1).Times(2), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
  EXPECT_THAT(M(9223372036854776).Times(1000000), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("x 1000000")));
  EXPECT_EQ(*M(9223372036854).Times(1000000), M(9223372036854000000));
  EXPECT_THAT(M(kMin).Times(-1), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
  EXPECT_EQ(*M(kMax).Times(-1), M(-kMax));

  // Basis points: exact in 128 bits, so only a result beyond int64 is refused.
  EXPECT_EQ(*M(kMax).ApplyBasisPoints(10000), M(kMax));
  EXPECT_EQ(*M(kMin).ApplyBasisPoints(10000), M(kMin));
  EXPECT_EQ(*M(kMax).ApplyBasisPoints(5000), M(kMax / 2 + 1)) << "4611686018427387903.5 rounds away from zero";
  EXPECT_THAT(M(kMax).ApplyBasisPoints(10001),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
  EXPECT_THAT(M(kMin).ApplyBasisPoints(-10000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
}

TEST(Money, BasisPointsRoundHalfAwayFromZero) {
  // 3 x 19.99 at 12.5% off: 5997 x 8750 / 10000 = 5247.375 -> 5247 (52.47 EUR).
  EXPECT_EQ(*M(1999).Times(3)->ApplyBasisPoints(8750), M(5247));
  EXPECT_EQ(*M(1).ApplyBasisPoints(5000), M(1)) << "0.5 -> 1";
  EXPECT_EQ(*M(-1).ApplyBasisPoints(5000), M(-1)) << "-0.5 -> -1";
  EXPECT_EQ(*M(3).ApplyBasisPoints(5000), M(2)) << "1.5 -> 2";
  EXPECT_EQ(*M(5).ApplyBasisPoints(5000), M(3)) << "2.5 -> 3 (not to even)";
  EXPECT_EQ(*M(-5).ApplyBasisPoints(5000), M(-3)) << "-2.5 -> -3";
  EXPECT_EQ(*M(1).ApplyBasisPoints(4999), M(0)) << "0.4999 -> 0";
  EXPECT_EQ(*M(-1).ApplyBasisPoints(4999), M(0)) << "-0.4999 -> 0";
  EXPECT_EQ(*M(1).ApplyBasisPoints(5001), M(1));
  EXPECT_EQ(*M(-1).ApplyBasisPoints(5001), M(-1));
  EXPECT_EQ(*M(1).ApplyBasisPoints(-5000), M(-1)) << "a negative rate rounds the same way";
  EXPECT_EQ(*M(12345).ApplyBasisPoints(0), M(0));
  EXPECT_EQ(*M(12345).ApplyBasisPoints(10000), M(12345));
  EXPECT_EQ(*M(250, "JPY").ApplyBasisPoints(9950), M(249, "JPY")) << "248.75 JPY -> 249";
  EXPECT_EQ(M(250, "JPY").ApplyBasisPoints(9950)->currency(), "JPY");
}

// ---- text ----

TEST(Money, ToStringByExponent) {
  EXPECT_EQ(M(123450).ToString(), "1234.50 EUR");
  EXPECT_EQ(M(0).ToString(), "0.00 EUR");
  EXPECT_EQ(M(-5).ToString(), "-0.05 EUR");
  EXPECT_EQ(M(-100).ToString(), "-1.00 EUR");
  EXPECT_EQ(M(1200, "JPY").ToString(), "1200 JPY");
  EXPECT_EQ(M(-7, "JPY").ToString(), "-7 JPY");
  EXPECT_EQ(M(1250, "KWD").ToString(), "1.250 KWD");
  EXPECT_EQ(M(-5, "KWD").ToString(), "-0.005 KWD");
  EXPECT_EQ(M(12345, "CLF").ToString(), "1.2345 CLF");
  EXPECT_EQ(M(kMax).ToString(), "92233720368547758.07 EUR");
  EXPECT_EQ(M(kMin).ToString(), "-92233720368547758.08 EUR");
}

TEST(Money, ParseRoundTrips) {
  EXPECT_EQ(*Money::Parse("1234.5", "EUR"), M(123450));
  EXPECT_EQ(*Money::Parse("1234.50", "EUR"), M(123450));
  EXPECT_EQ(*Money::Parse("1234", "EUR"), M(123400));
  EXPECT_EQ(*Money::Parse("-0.05", "EUR"), M(-5));
  EXPECT_EQ(*Money::Parse("1200", "JPY"), M(1200, "JPY"));
  EXPECT_EQ(*Money::Parse("1.25", "KWD"), M(1250, "KWD"));
  EXPECT_EQ(*Money::Parse("92233720368547758.07", "EUR"), M(kMax));
  EXPECT_EQ(*Money::Parse("-92233720368547758.08", "EUR"), M(kMin));
  for (int64_t units : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{99}, int64_t{-1050}, int64_t{123456789}, kMax,
                        kMin}) {
    for (const char* currency : {"EUR", "JPY", "KWD", "CLF"}) {
      const Money m = M(units, currency);
      const std::string text = m.ToString();
      auto back = Money::Parse(text.substr(0, text.size() - 4), currency);
      ASSERT_TRUE(back.ok()) << text << ": " << back.status();
      EXPECT_EQ(*back, m) << text;
    }
  }
}

TEST(Money, ParseRefusesWhatIsNotAnExactAmount) {
  EXPECT_THAT(Money::Parse("1.005", "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 2 decimals")));
  EXPECT_THAT(Money::Parse("1.5", "JPY"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has no minor unit")));
  EXPECT_THAT(Money::Parse("1.2345", "KWD"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 3 decimals")));
  for (const char* bad : {"", "-", ".5", "1.", "1,50", "+1", "1e3", " 1", "1 ", "--1", "1.-5", "0x10", "1.2.3"}) {
    EXPECT_THAT(Money::Parse(bad, "EUR"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount: "))) << bad;
  }
  EXPECT_THAT(Money::Parse("92233720368547758.08", "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
  EXPECT_THAT(Money::Parse("-92233720368547758.09", "EUR"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
  EXPECT_THAT(Money::Parse("99999999999999999999999", "JPY"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("amount out of range")));
  EXPECT_THAT(Money::Parse("1", "EURO"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown ISO 4217 currency")));
}

}  // namespace
}  // namespace sales
