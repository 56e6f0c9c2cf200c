#include "common/unicode/unicode.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::unicode {
namespace {

using ::testing::HasSubstr;

TEST(MatchKey, IgnoresCaseSpacesPunctuationAndAccents) {
  EXPECT_EQ(MatchKey("E-mail Address"), "emailaddress");
  EXPECT_EQ(MatchKey("email_address"), "emailaddress");
  EXPECT_EQ(MatchKey("  EMAIL ADDRESS "), "emailaddress");
  EXPECT_EQ(MatchKey("Επώνυμο"), "επωνυμο");
  EXPECT_EQ(MatchKey("ΕΠΩΝΥΜΟ"), "επωνυμο");
  EXPECT_EQ(MatchKey("Όνομα"), "ονομα");
  EXPECT_EQ(MatchKey("Ονοματεπώνυμο"), "ονοματεπωνυμο");
  EXPECT_EQ(MatchKey("Πηγή"), MatchKey("ΠΗΓΗ"));
  EXPECT_EQ(MatchKey("Τηλέφωνο"), MatchKey("τηλεφωνο"));
  EXPECT_EQ(MatchKey("Ταχυδρομείο ς"), "ταχυδρομειοσ") << "final sigma folds to sigma";
  EXPECT_EQ(MatchKey("Société"), "societe");
  EXPECT_EQ(MatchKey("bad \xff bytes"), "badbytes");
}

TEST(DisplayWidth, GreekPrecomposedAndDecomposedTakeOneColumnPerLetter) {
  EXPECT_EQ(DisplayWidth("Ελένη"), 5);
  EXPECT_EQ(DisplayWidth("\u0395\u03bb\u03b5\u0301\u03bd\u03b7"), 5) << "έ as ε + U+0301";
  EXPECT_EQ(DisplayWidth("ΐ"), 1);
  EXPECT_EQ(DisplayWidth("\u03b9\u0308\u0301"), 1) << "ι + diaeresis + acute: one column";
  EXPECT_EQ(DisplayWidth("Αλεξίου Ξυλεία Α.Ε."), 19);
  EXPECT_EQ(DisplayWidth(""), 0);
  EXPECT_EQ(DisplayWidth("plain ascii"), 11);
}

TEST(DisplayWidth, CombiningMarksAndFormatCharactersTakeNone) {
  EXPECT_EQ(DisplayWidth("e\u0301\u0302\u0323"), 1) << "a letter with three combining marks";
  EXPECT_EQ(DisplayWidth("a\u200db"), 2) << "zero-width joiner";
  EXPECT_EQ(DisplayWidth("x\u20dd"), 1) << "enclosing circle";
}

TEST(DisplayWidth, EastAsianWideAndFullwidthTakeTwo) {
  EXPECT_EQ(DisplayWidth("東京"), 4);
  EXPECT_EQ(DisplayWidth("カタカナ"), 8);
  EXPECT_EQ(DisplayWidth("한국어"), 6);
  EXPECT_EQ(DisplayWidth("\u1100\u1161"), 2) << "conjoining jamo: one syllable after NFC";
  EXPECT_EQ(DisplayWidth("ＡＢ"), 4) << "fullwidth Latin";
  EXPECT_EQ(DisplayWidth("ｶ"), 1) << "halfwidth katakana";
  EXPECT_EQ(DisplayWidth("a東b"), 4);
}

TEST(DisplayWidth, BytesThatAreNotUtf8CountOneEach) {
  EXPECT_EQ(DisplayWidth("a\xff\xfe" "b"), 4);
}

TEST(SingleLine, LineBreaksAndTabsBecomeOneSpace) {
  EXPECT_EQ(SingleLine("Μάρκου\r\nLogistics"), "Μάρκου Logistics");
  EXPECT_EQ(SingleLine("Μάρκου \n  Logistics\tΑ.Ε."), "Μάρκου Logistics Α.Ε.");
  EXPECT_EQ(SingleLine("a\xE2\x80\xA8" "b\xC2\x85" "c"), "a b c");
  EXPECT_EQ(SingleLine("two  spaces stay"), "two  spaces stay");
  EXPECT_EQ(SingleLine("Ελένη"), "Ελένη");
}

TEST(Email, InternationalisedAddressesAreValid) {
  for (const char* e : {"ελένη@example.gr", "josé@example.com", "  JOSÉ@EXAMPLE.COM ", "info@παράδειγμα.ελ",
                        "a.b+tag@xn--hxajbheg2az3al.xn--qxam", "eleni@example.gr", "o'neil@example.ie"}) {
    EXPECT_TRUE(IsValidEmail(e)) << e;
  }
  for (const char* e : {"", "no-at.example.gr", "two@@example.gr", "a@b", "a@localhost", ".a@example.gr",
                        "a..b@example.gr", "a b@example.gr", "a@exa mple.gr", "a@-example.gr", "ελένη\xE2\x80\xAE@example.gr",
                        "bad\xff@example.gr", "a@example.123"}) {
    EXPECT_FALSE(IsValidEmail(e)) << e;
  }
}

TEST(Email, NormalisedWithNfcAndCaseFolding) {
  EXPECT_EQ(NormalizeEmail("  JOSÉ@EXAMPLE.COM "), "josé@example.com");
  EXPECT_EQ(NormalizeEmail("jose\xCC\x81@example.com"), "josé@example.com") << "decomposed é is NFC-composed";
  EXPECT_EQ(NormalizeEmail("ΕΛΈΝΗ@Example.GR"), "ελένη@example.gr");
  EXPECT_EQ(NormalizeEmail("info@xn--hxajbheg2az3al.xn--qxam"), "info@παράδειγμα.ελ");
  EXPECT_EQ(NormalizeEmail("Eleni@Example.GR"), "eleni@example.gr");
}

TEST(Decode, Utf8WithOrWithoutBom) {
  auto d = Decode("\xEF\xBB\xBF" "Όνομα\nΕλένη\n", "UTF-8");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->text, "Όνομα\nΕλένη\n");
  auto bad = Decode("a\nb\nc\xff\n", "utf-8");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("line 3"));
  EXPECT_THAT(bad.status().message(), HasSubstr("0xFF"));
}

TEST(Decode, Utf16WithBom) {
  const std::string le("\xFF\xFE\xA0\x03\x0A\x00", 6);  // BOM, Π, LF
  auto d = Decode(le, "utf-16");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->text, "Π\n");
  EXPECT_EQ(d->encoding, "utf-16le");
  const std::string be("\xFE\xFF\x03\xA0", 4);
  EXPECT_EQ(Decode(be, "UTF-16")->text, "Π");
  EXPECT_THAT(Decode(std::string("\xA0\x03", 2), "utf-16").status().message(), HasSubstr("byte-order mark"));
  const std::string lone_surrogate("\xFF\xFE" "a\x00\x0A\x00\x00\xD8" "b\x00", 10);
  EXPECT_THAT(Decode(lone_surrogate, "utf-16").status().message(), HasSubstr("line 2"));
}

TEST(Decode, GreekCodePages) {
  // "Ελένη Άννα" in Windows-1253 (Ά is 0xA2) and in ISO-8859-7 (Ά is 0xB6).
  auto w = Decode("\xC5\xEB\xDD\xED\xE7 \xA2\xED\xED\xE1", "windows-1253");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->text, "Ελένη Άννα");
  auto i = Decode("\xC5\xEB\xDD\xED\xE7 \xB6\xED\xED\xE1", "ISO-8859-7");
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_EQ(i->text, "Ελένη Άννα");
  auto undefined = Decode("ok\n\xC5\xFF\n", "windows-1253");  // 0xFF has no character in 1253
  EXPECT_EQ(undefined.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(undefined.status().message(), HasSubstr("line 2: bytes 0xFF cannot be read as windows-1253"));
  EXPECT_EQ(Decode("x", "klingon-8").status().code(), absl::StatusCode::kNotFound);
}

TEST(DetectEncoding, OnlyWhatIsSafe) {
  EXPECT_EQ(DetectEncoding("\xEF\xBB\xBFx"), "utf-8");
  EXPECT_EQ(DetectEncoding("Ελένη"), "utf-8");
  EXPECT_EQ(DetectEncoding("\xFF\xFEx\x00"), "utf-16le");
  EXPECT_EQ(DetectEncoding("\xFE\xFF\x00x"), "utf-16be");
  EXPECT_EQ(DetectEncoding("\xC5\xEB\xDD\xED\xE7"), "") << "an 8-bit code page is never guessed";
}

}  // namespace
}  // namespace sales::unicode
