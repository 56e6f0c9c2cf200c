#include "common/base/text.h"

#include "gtest/gtest.h"

namespace sales {
namespace {

TEST(Utf8, DecodesWellFormedAndRefusesTheRest) {
  char32_t cp = 0;
  EXPECT_EQ(DecodeUtf8("A", 0, &cp), 1u);
  EXPECT_EQ(cp, U'A');
  EXPECT_EQ(DecodeUtf8("Ω", 0, &cp), 2u);
  EXPECT_EQ(cp, U'Ω');
  EXPECT_EQ(DecodeUtf8("\u202E", 0, &cp), 3u);
  EXPECT_EQ(cp, U'\u202E');
  EXPECT_EQ(DecodeUtf8("\U0001F600", 0, &cp), 4u);
  EXPECT_EQ(cp, U'\U0001F600');
  EXPECT_EQ(DecodeUtf8("\xff", 0, &cp), 0u);
  EXPECT_EQ(DecodeUtf8("\xc0\xaf", 0, &cp), 0u) << "overlong";
  EXPECT_EQ(DecodeUtf8("\xed\xa0\x80", 0, &cp), 0u) << "surrogate";
  EXPECT_EQ(DecodeUtf8("\xf4\x90\x80\x80", 0, &cp), 0u) << "above U+10FFFF";
  EXPECT_EQ(DecodeUtf8("\xce", 0, &cp), 0u) << "truncated";
  EXPECT_TRUE(IsValidUtf8("Ελένη Παππά"));
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_FALSE(IsValidUtf8("Ελένη\xff"));
}

TEST(Utf8Prefix, CutsBetweenCharacters) {
  EXPECT_EQ(Utf8Prefix("abc", 5), "abc");
  EXPECT_EQ(Utf8Prefix("abc", 2), "ab");
  EXPECT_EQ(Utf8Prefix("αβγ", 3), "α");  // 2 bytes each: not half of β
  EXPECT_EQ(Utf8Prefix("αβγ", 4), "αβ");
  EXPECT_EQ(Utf8Prefix("α", 1), "");
}

TEST(EscapeForDisplay, KeepsTextAndEscapesControlsAndBrokenBytes) {
  EXPECT_EQ(EscapeForDisplay("Ελένη \"Παππά\""), "Ελένη \"Παππά\"");
  EXPECT_EQ(EscapeForDisplay("a\nb\r\tc\x01\x7f"), "a\\nb\\r\\tc\\x01\\x7f");
  EXPECT_EQ(EscapeForDisplay("bad \xff\xfe end"), "bad \\xff\\xfe end");
  EXPECT_EQ(EscapeForDisplay("\xce"), "\\xce");
  EXPECT_EQ(EscapeForDisplay("c1 \xc2\x85"), "c1 \\xc2\\x85");
  EXPECT_TRUE(IsValidUtf8(EscapeForDisplay("\xff\xc0\xaf\xed\xa0\x80 ok")));
}

}  // namespace
}  // namespace sales
