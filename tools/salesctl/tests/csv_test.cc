#include "tools/salesctl/csv.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::salesctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Csv, PlainCrlfAndBom) {
  auto doc = ParseCsv("\xEF\xBB\xBFname,email\r\nΕλένη,e@x.gr\r\nNikos,n@x.gr\r\n");
  auto* r = &doc.records;
  EXPECT_TRUE(doc.problems.empty());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_THAT((*r)[0].fields, ElementsAre("name", "email"));
  EXPECT_THAT((*r)[1].fields, ElementsAre("Ελένη", "e@x.gr"));
  EXPECT_EQ((*r)[2].line, 3);
}

TEST(Csv, QuotedCommasQuotesAndLineBreaks) {
  auto doc = ParseCsv("a,b,c\n\"Παππάς, Υιοί & Σια\",\"He said \"\"yes\"\"\",\"line one\r\nline two\"\nlast,,\n");
  auto* r = &doc.records;
  EXPECT_TRUE(doc.problems.empty());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_THAT((*r)[1].fields, ElementsAre("Παππάς, Υιοί & Σια", "He said \"yes\"", "line one\r\nline two"));
  EXPECT_EQ((*r)[1].line, 2);
  EXPECT_EQ((*r)[2].line, 4) << "the record after a two-line field starts on line 4";
  EXPECT_THAT((*r)[2].fields, ElementsAre("last", "", ""));
}

TEST(Csv, NoTrailingNewlineEmptyLinesAndLoneCr) {
  auto doc = ParseCsv("x,y\n\n1,2\r3,4");
  auto* r = &doc.records;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_THAT((*r)[1].fields, ElementsAre("1", "2"));
  EXPECT_EQ((*r)[1].line, 3);
  EXPECT_THAT((*r)[2].fields, ElementsAre("3", "4"));
  EXPECT_THAT(ParseCsv("\"\"\n").records[0].fields, ElementsAre("")) << "a quoted empty field is a record";
}

TEST(Csv, BadQuotingCostsOnlyItsRowWithItsLine) {
  auto doc = ParseCsv("a,b\nok,1\nab\"c,2\n\"ab\"c,3\nx, \"y, z\"\nstill,fine\n");
  ASSERT_EQ(doc.problems.size(), 3u);
  EXPECT_EQ(doc.problems[0].line, 3);
  EXPECT_THAT(doc.problems[0].reason, HasSubstr("a quote inside an unquoted field"));
  EXPECT_EQ(doc.problems[1].line, 4);
  EXPECT_THAT(doc.problems[1].reason, HasSubstr("text after the closing quote"));
  EXPECT_EQ(doc.problems[2].line, 5) << "a space before a quote makes it a stray quote";
  ASSERT_EQ(doc.records.size(), 3u);
  EXPECT_THAT(doc.records[2].fields, ElementsAre("still", "fine"));
  EXPECT_EQ(doc.records[2].line, 6);
}

TEST(Csv, UnclosedQuoteSwallowsTheRestAndSaysWhere) {
  auto doc = ParseCsv("a\nfine\n\"never closed\nmore\n");
  ASSERT_EQ(doc.problems.size(), 1u);
  EXPECT_EQ(doc.problems[0].line, 3);
  EXPECT_THAT(doc.problems[0].reason, HasSubstr("never closed"));
  EXPECT_EQ(doc.records.size(), 2u);
}

TEST(Csv, LoneCrInsideAQuotedFieldCountsAsALine) {
  auto doc = ParseCsv("a,b\n\"x\ry\",1\nnext,2\n");
  ASSERT_EQ(doc.records.size(), 3u);
  EXPECT_EQ(doc.records[2].line, 4);
}

}  // namespace
}  // namespace sales::salesctl
