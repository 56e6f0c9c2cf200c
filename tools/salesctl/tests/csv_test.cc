#include "tools/salesctl/csv.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::salesctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Csv, PlainCrlfAndBom) {
  auto r = ParseCsv("\xEF\xBB\xBFname,email\r\nΕλένη,e@x.gr\r\nNikos,n@x.gr\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_THAT((*r)[0].fields, ElementsAre("name", "email"));
  EXPECT_THAT((*r)[1].fields, ElementsAre("Ελένη", "e@x.gr"));
  EXPECT_EQ((*r)[2].line, 3);
}

TEST(Csv, QuotedCommasQuotesAndLineBreaks) {
  auto r = ParseCsv("a,b,c\n\"Παππάς, Υιοί & Σια\",\"He said \"\"yes\"\"\",\"line one\r\nline two\"\nlast,,\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_THAT((*r)[1].fields, ElementsAre("Παππάς, Υιοί & Σια", "He said \"yes\"", "line one\r\nline two"));
  EXPECT_EQ((*r)[1].line, 2);
  EXPECT_EQ((*r)[2].line, 4) << "the record after a two-line field starts on line 4";
  EXPECT_THAT((*r)[2].fields, ElementsAre("last", "", ""));
}

TEST(Csv, NoTrailingNewlineEmptyLinesAndLoneCr) {
  auto r = ParseCsv("x,y\n\n1,2\r3,4");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_THAT((*r)[1].fields, ElementsAre("1", "2"));
  EXPECT_EQ((*r)[1].line, 3);
  EXPECT_THAT((*r)[2].fields, ElementsAre("3", "4"));
  EXPECT_THAT((*ParseCsv("\"\"\n"))[0].fields, ElementsAre("")) << "a quoted empty field is a record";
}

TEST(Csv, MalformedQuotingNamesTheLine) {
  EXPECT_THAT(ParseCsv("a\n\"never closed\n").status().message(), HasSubstr("line 2: a quoted field is never closed"));
  EXPECT_THAT(ParseCsv("a\nab\"c\n").status().message(), HasSubstr("line 2: a quote inside an unquoted field"));
  EXPECT_THAT(ParseCsv("a\n\"ab\"c\n").status().message(), HasSubstr("text after the closing quote"));
}

}  // namespace
}  // namespace sales::salesctl
