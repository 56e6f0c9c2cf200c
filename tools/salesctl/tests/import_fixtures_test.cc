// The same leads exported in every shape the import takes - UTF-8 with and without a byte-order
// mark, UTF-16 "Unicode text" (tab-separated), Greek Excel's Windows-1253 and ISO-8859-7 with
// semicolons, CRLF, English and Greek headers of different tools, columns in other orders - each
// read into the same requests. The files are generated here (fixtures.h), so the test shows what
// each shape looks like; the integration test imports them through the real service.
#include "tools/salesctl/tests/fixtures.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/base/strings.h"
#include "tools/salesctl/import.h"

namespace sales::salesctl {
namespace {

// The fields that must come out the same, as one line per lead.
std::vector<std::string> Leads(const PreparedImport& p) {
  std::vector<std::string> out;
  for (const auto& r : p.requests) out.push_back(DescribeRow(r.lead()));
  return out;
}

TEST(ImportFixtures, EveryShapeReadsToTheSameLeads) {
  std::vector<std::string> expected;
  for (const auto& shape : testing::ExportShapes()) {
    SCOPED_TRACE(shape.name);
    ImportOptions options;
    options.encoding = shape.encoding_flag;
    auto text = DecodeFile(shape.bytes, options);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(text->delimiter, shape.delimiter);
    auto prepared = PrepareRows(ParseCsv(text->text, text->delimiter), options);
    ASSERT_TRUE(prepared.ok()) << prepared.status();
    EXPECT_TRUE(prepared->rejected.empty());
    if (expected.empty()) {
      expected = Leads(*prepared);
      ASSERT_EQ(expected.size(), testing::kFixtureLeads);
      EXPECT_EQ(expected[0],
                "name \"Ελένη Παππά\", company \"Παππάς & Υιοί Α.Ε.\", email \"eleni.pappa@example.gr\", phone "
                "\"+30 210 555 0101\", source \"partner\", external_id \"crm-1001\"");
      EXPECT_EQ(expected[1],
                "name \"Γιώργος Άνθιμος\", company \"Άνθιμος Τεχνική Ο.Ε.\", email \"ΓΙΩΡΓΟΣ@EXAMPLE.GR\", source "
                "\"Google Ads - Άνοιξη\", external_id \"crm-1002\"");
    } else {
      EXPECT_EQ(Leads(*prepared), expected);
    }
  }
}

TEST(ImportFixtures, Greek8BitShapesNeedTheirEncodingAndSaySo) {
  for (const auto& shape : testing::ExportShapes()) {
    if (shape.encoding_flag.empty()) continue;
    if (shape.encoding_flag == "utf-16") continue;  // has a byte-order mark: detected
    auto guessed = DecodeFile(shape.bytes, ImportOptions{});
    EXPECT_THAT(guessed.status().message(), ::testing::HasSubstr("--encoding=windows-1253")) << shape.name;
  }
}

}  // namespace
}  // namespace sales::salesctl

namespace sales::salesctl {
namespace {

TEST(ColumnTable, NoSpellingMeansTwoFieldsAndTheDocsListEveryOne) {
  std::map<std::string, std::string> seen;  // match key -> field
  auto docs = ReadFile(std::string(SALES_SOURCE_DIR) + "/docs/INTAKE.md");
  ASSERT_TRUE(docs.ok()) << docs.status();
  for (const auto& [field, spellings] : KnownSpellings()) {
    const std::string row = StrCat("| `", FieldName(field), "` | ");
    const size_t at = docs->find(row, docs->find("| field | header spellings recognised"));
    ASSERT_NE(at, std::string::npos) << FieldName(field) << " is not in docs/INTAKE.md's table";
    const std::string line = docs->substr(at, docs->find('\n', at) - at);
    for (const auto& s : spellings) {
      EXPECT_EQ(GuessField(s), field) << s;
      EXPECT_NE(line.find(s), std::string::npos) << s << " is missing from docs/INTAKE.md";
    }
  }
}

}  // namespace
}  // namespace sales::salesctl
