// Report files: CSV byte for byte (quoting, numbers, Greek, the byte-order mark), and .xlsx
// workbooks read back by an independent reader (tests/xlsx_cells.py: Python's zipfile and XML
// parser) to check that figures are numeric cells with the right values and formats and that
// Greek text comes back as written.
#include "services/reporting/api/export.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_split.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reporting/api/report_tables.h"

namespace sales::reporting {
namespace {

using api::v1::ReportTable;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::StatusIs;

events::v1::Money Eur(int64_t units) {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency("EUR");
  return m;
}

// Columns of every kind, Greek and CJK text, text that needs quoting, empty cells.
ReportTable Sample() {
  ReportTable t;
  t.set_title("Πωλήσεις: revenue, 2026-11, by manager");
  t.set_report("plan-vs-actual");
  t.set_period("2026-11");
  t.set_sheet_name("Plan vs actual");
  t.set_reporting_currency("EUR");
  t.mutable_as_of()->set_seconds(1794700800);  // 2026-11-15T00:00:00Z
  table::AddColumn(t, "Period", api::v1::COLUMN_KIND_DAY);
  table::AddColumn(t, "Manager", api::v1::COLUMN_KIND_TEXT);
  table::AddColumn(t, "Actual", api::v1::COLUMN_KIND_MONEY, "EUR");
  table::AddColumn(t, "Target", api::v1::COLUMN_KIND_MONEY, "EUR");
  table::AddColumn(t, "Attainment", api::v1::COLUMN_KIND_RATIO);
  table::AddColumn(t, "Calls", api::v1::COLUMN_KIND_COUNT);
  table::AddColumn(t, "Forecast", api::v1::COLUMN_KIND_DECIMAL);
  auto* r = t.add_rows();
  *r->add_cells() = table::Text("2026-11");
  *r->add_cells() = table::Text("Ελένη Παππά");
  *r->add_cells() = table::Amount(Eur(123456789));
  *r->add_cells() = table::Empty();
  *r->add_cells() = table::Number(0.341);
  *r->add_cells() = table::Number(2);
  *r->add_cells() = table::Number(29.35);
  r = t.add_rows();
  *r->add_cells() = table::Text("2026-12");
  *r->add_cells() = table::Text("東京, \"Παππάς & Υιοί\"\nline two");
  *r->add_cells() = table::Amount(Eur(-5));
  *r->add_cells() = table::Amount(Eur(10000));
  *r->add_cells() = table::Empty();
  *r->add_cells() = table::Number(0);
  *r->add_cells() = table::Number(0.5);
  t.add_notes("Not converted (no exchange rate): USD 2,000.00; not in the figures.");
  return t;
}

TEST(Csv, HeaderThenRowsQuotedAsRfc4180WithPlainNumbers) {
  EXPECT_EQ(ToCsv(Sample()),
            "Period,Manager,Actual (EUR),Target (EUR),Attainment,Calls,Forecast\r\n"
            "2026-11,Ελένη Παππά,1234567.89,,0.341,2,29.35\r\n"
            "2026-12,\"東京, \"\"Παππάς & Υιοί\"\"\nline two\",-0.05,100.00,,0,0.5\r\n");
}

TEST(Csv, QuotesOnlyWhatNeedsIt) {
  ReportTable t;
  table::AddColumn(t, "Name, full", api::v1::COLUMN_KIND_TEXT);
  for (const char* text : {"plain", "a,b", "say \"hi\"", "cr\rhere", "lf\nhere", "Ωμέγα; semicolon", " spaced "}) {
    *t.add_rows()->add_cells() = table::Text(text);
  }
  EXPECT_EQ(ToCsv(t),
            "\"Name, full\"\r\nplain\r\n\"a,b\"\r\n\"say \"\"hi\"\"\"\r\n\"cr\rhere\"\r\n\"lf\nhere\"\r\n"
            "Ωμέγα; semicolon\r\n spaced \r\n");
}

TEST(Csv, ByteOrderMarkOnlyWhenAsked) {
  EXPECT_THAT(ToCsv(Sample()), StartsWith("Period,"));
  EXPECT_THAT(ToCsv(Sample(), {.byte_order_mark = true}), StartsWith("\xEF\xBB\xBFPeriod,"));
}

TEST(Csv, NumbersNeverInExponentFormNorWithSeparators) {
  ReportTable t;
  table::AddColumn(t, "x", api::v1::COLUMN_KIND_DECIMAL);
  table::AddColumn(t, "Amount", api::v1::COLUMN_KIND_MONEY, "JPY");
  auto* r = t.add_rows();
  *r->add_cells() = table::Number(12345678901.5);
  events::v1::Money yen;
  yen.set_units(1234567);
  yen.set_currency("JPY");
  *r->add_cells() = table::Amount(yen);
  r = t.add_rows();
  *r->add_cells() = table::Number(0.000125);
  events::v1::Money other = Eur(150);  // not the column's currency: it says which
  *r->add_cells() = table::Amount(other);
  EXPECT_EQ(ToCsv(t), "x,Amount (JPY)\r\n12345678901.5,1234567\r\n0.000125,1.50 EUR\r\n");
}

TEST(Export, FileNamesAndMediaTypes) {
  auto csv = Export(Sample(), api::v1::EXPORT_FORMAT_CSV);
  ASSERT_THAT(csv, testing::IsOk());
  EXPECT_EQ(csv->file_name(), "plan-vs-actual-2026-11.csv");
  EXPECT_EQ(csv->media_type(), "text/csv; charset=utf-8");
  auto xlsx = Export(Sample(), api::v1::EXPORT_FORMAT_XLSX);
  ASSERT_THAT(xlsx, testing::IsOk());
  EXPECT_EQ(xlsx->file_name(), "plan-vs-actual-2026-11.xlsx");
  EXPECT_EQ(xlsx->media_type(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  EXPECT_THAT(xlsx->content(), StartsWith("PK\x03\x04")) << "a zip file";
  auto bad = Export(Sample(), api::v1::EXPORT_FORMAT_UNSPECIFIED);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("format")));
  ASSERT_EQ(FieldViolations(bad.status()).size(), 1u);
  EXPECT_EQ(FieldViolations(bad.status())[0].field, "format");
  ReportTable odd = Sample();
  odd.set_period("2026-10-01..2026-12-31");
  odd.set_report("../x y");
  EXPECT_EQ(ExportFileName(odd, api::v1::EXPORT_FORMAT_CSV), "x-y-2026-10-01..2026-12-31.csv");
}

// ---- .xlsx, read back with Python's standard library ----

struct Cell {
  std::string type, value, format, bold;
};
struct Workbook {
  std::vector<std::string> sheets;
  std::vector<std::string> panes;
  int columns_with_width = 0;
  std::map<std::string, Cell> cells;  // by reference, "C5"
};

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      const char c = s[++i];
      out.push_back(c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Workbook ReadBack(const std::string& bytes) {
  testing::TempDir dir;
  const std::string path = dir.File("report.xlsx");
  std::ofstream(path, std::ios::binary) << bytes;
  const std::string cmd = StrCat(SALES_PYTHON3, " ", SALES_XLSX_CELLS, " ", path, " 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd << ":\n" << out;
  Workbook wb;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f[0] == "sheet") wb.sheets.push_back(Unescape(f[1]));
    if (f[0] == "pane") wb.panes.push_back(StrCat(f[1], " ", f[2], " ", f[3]));
    if (f[0] == "col" && std::stod(f[3]) > 0) ++wb.columns_with_width;
    if (f[0] == "cell" && f.size() == 6) wb.cells[f[1]] = Cell{f[2], Unescape(f[3]), f[4], f[5]};
  }
  return wb;
}

TEST(Xlsx, FiguresAreNumbersWithFormatsAndGreekTextRoundTrips) {
  auto bytes = ToXlsx(Sample());
  ASSERT_THAT(bytes, testing::IsOk());
  const Workbook wb = ReadBack(*bytes);
  EXPECT_THAT(wb.sheets, ::testing::ElementsAre("Plan vs actual"));
  const auto cell = [&](const std::string& ref) {
    auto it = wb.cells.find(ref);
    EXPECT_NE(it, wb.cells.end()) << "no cell " << ref;
    return it == wb.cells.end() ? Cell{"missing", "", "", ""} : it->second;
  };
  // Title, as-of, a blank row, the header (bold) on row 4, the rows from row 5.
  EXPECT_EQ(cell("A1").value, "Πωλήσεις: revenue, 2026-11, by manager");
  EXPECT_EQ(cell("A2").value, "As of 2026-11-15 00:00:00 UTC; figures in EUR");
  EXPECT_EQ(cell("C4").value, "Actual (EUR)");
  EXPECT_EQ(cell("C4").bold, "bold");
  EXPECT_EQ(cell("G4").value, "Forecast");
  EXPECT_THAT(wb.panes, ::testing::ElementsAre("A5 4 frozen")) << "the header stays in view";
  EXPECT_EQ(wb.columns_with_width, 7);

  // Figures: <c> without t="s"/"str" (numbers), the values, the formats.
  const auto number = [&](const std::string& ref, double value, const std::string& format) {
    const Cell c = cell(ref);
    EXPECT_EQ(c.type, "n") << ref << " is not a number cell";
    EXPECT_DOUBLE_EQ(std::stod(c.value.empty() ? "nan" : c.value), value) << ref;
    EXPECT_EQ(c.format, format) << ref;
  };
  number("C5", 1234567.89, "#,##0.00");
  number("E5", 0.341, "0.0%");
  number("F5", 2, "#,##0");
  number("G5", 29.35, "#,##0.00");
  number("C6", -0.05, "#,##0.00");
  number("D6", 100, "#,##0.00");
  number("F6", 0, "#,##0");
  EXPECT_EQ(wb.cells.count("D5"), 0u) << "no target: no cell";
  EXPECT_EQ(wb.cells.count("E6"), 0u) << "no attainment: no cell";

  // Text is text, and comes back as written.
  EXPECT_EQ(cell("A5").type, "s");
  EXPECT_EQ(cell("A5").value, "2026-11");
  EXPECT_EQ(cell("B5").type, "s");
  EXPECT_EQ(cell("B5").value, "Ελένη Παππά");
  EXPECT_EQ(cell("B6").value, "東京, \"Παππάς & Υιοί\"\nline two");
  // The notes after a blank row.
  EXPECT_EQ(cell("A8").value, "Not converted (no exchange rate): USD 2,000.00; not in the figures.");
}

TEST(Xlsx, SheetNamesFollowExcelsRulesAndNoTemporaryFileIsLeft) {
  ReportTable t = Sample();
  t.set_sheet_name("Q4: [draft]/v2 *? and a name far longer than thirty-one characters");
  testing::TempDir own;
  setenv("TMPDIR", own.path().c_str(), 1);
  auto bytes = ToXlsx(t);
  unsetenv("TMPDIR");
  ASSERT_THAT(bytes, testing::IsOk());
  EXPECT_TRUE(std::filesystem::is_empty(own.path())) << "ToXlsx left files in TMPDIR";
  const Workbook wb = ReadBack(*bytes);
  ASSERT_EQ(wb.sheets.size(), 1u);
  EXPECT_EQ(wb.sheets[0], "Q4   draft  v2    and a name fa");
  t.set_sheet_name("Πωλήσεις ανά μήνα και ανά πωλητή");  // 32 characters (64 bytes): cut at 31 characters
  bytes = ToXlsx(t);
  ASSERT_THAT(bytes, testing::IsOk());
  EXPECT_THAT(ReadBack(*bytes).sheets, ::testing::ElementsAre("Πωλήσεις ανά μήνα και ανά πωλητ"));
}

}  // namespace
}  // namespace sales::reporting
