#include "services/reporting/api/export.h"

#include <stdlib.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "common/events/envelope.h"
#include "common/money/money.h"
#include "services/reporting/api/report_tables.h"

namespace sales::reporting {
namespace {

using api::v1::ColumnKind;
using api::v1::ReportCell;
using api::v1::ReportColumn;
using api::v1::ReportTable;

constexpr char kCsvType[] = "text/csv; charset=utf-8";
constexpr char kXlsxType[] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// The shortest decimal that reads back as `v`, never in exponent form ("0.341", "2", "29.35").
std::string Decimal(double v) {
  if (!std::isfinite(v)) return "";
  char buf[400];  // the longest fixed form of a double is ~330 characters
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) return "";
  return std::string(buf, end);
}

// A money cell in a file: major units; the currency only when it is not the column's.
std::string MoneyField(const events::v1::Money& m, const ReportColumn& column) {
  std::string out = table::MajorUnits(m, /*thousands=*/false);
  if (m.currency() != column.currency()) StrAppend(&out, " ", m.currency());
  return out;
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string CellText(const ReportCell& cell, const ReportColumn& column) {
  switch (cell.value_case()) {
    case ReportCell::kText: return cell.text();
    case ReportCell::kNumber: return Decimal(cell.number());
    case ReportCell::kMoney: return MoneyField(cell.money(), column);
    case ReportCell::VALUE_NOT_SET: return "";
  }
  return "";
}

// ---- XLSX ----

// Removes a folder and what is in it when it goes.
class PrivateTempDir {
 public:
  static StatusOr<std::unique_ptr<PrivateTempDir>> Make() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = StrCat(base && *base ? base : "/tmp", "/sales-export.XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {  // mode 0700: only this user reads what is written there
      return absl::InternalError(StrCat("cannot make a temporary folder from ", pattern, ": ", std::strerror(errno)));
    }
    return std::unique_ptr<PrivateTempDir>(new PrivateTempDir(std::move(pattern)));
  }
  ~PrivateTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit PrivateTempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Excel's rules for a sheet name: at most 31 characters, none of []:*?/\, not starting or ending
// with an apostrophe.
std::string SheetName(const std::string& wanted) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < wanted.size() && chars < 31;) {
    const unsigned char c = static_cast<unsigned char>(wanted[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    std::string ch = wanted.substr(i, n);
    if (ch.size() == 1 && (std::string_view("[]:*?/\\").find(ch[0]) != std::string_view::npos || c < 0x20)) ch = " ";
    out += ch;
    i += n;
    ++chars;
  }
  while (!out.empty() && (out.front() == '\'' || out.front() == ' ')) out.erase(out.begin());
  while (!out.empty() && (out.back() == '\'' || out.back() == ' ')) out.pop_back();
  return out.empty() ? "Report" : out;
}

// Characters of UTF-8 text (code points): a column's width in Excel's units is about that.
size_t Chars(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string MoneyFormat(const std::string& currency) {
  const int exponent = CurrencyExponent(currency).value_or(2);
  return exponent == 0 ? "#,##0" : StrCat("#,##0.", std::string(exponent, '0'));
}

class Workbook {
 public:
  explicit Workbook(lxw_workbook* wb) : wb_(wb) {}
  Workbook(const Workbook&) = delete;
  Workbook& operator=(const Workbook&) = delete;
  ~Workbook() {
    if (wb_ != nullptr) workbook_close(wb_);  // an error path: the file is discarded with the folder
  }
  lxw_workbook* get() const { return wb_; }
  // Writes the file; the workbook is gone after this, whatever the outcome.
  lxw_error Close() {
    lxw_error e = workbook_close(wb_);
    wb_ = nullptr;
    return e;
  }

 private:
  lxw_workbook* wb_;
};

Status Check(lxw_error e, std::string_view what) {
  if (e == LXW_NO_ERROR) return absl::OkStatus();
  return absl::InternalError(StrCat("xlsx: ", what, ": ", lxw_strerror(e)));
}

Status WriteSheet(lxw_workbook* wb, const ReportTable& t) {
  lxw_worksheet* ws = workbook_add_worksheet(wb, SheetName(t.sheet_name()).c_str());
  if (ws == nullptr) return absl::InternalError("xlsx: cannot add the worksheet");
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  lxw_format* title = workbook_add_format(wb);
  format_set_bold(title);
  format_set_font_size(title, 13);
  lxw_format* ratio = workbook_add_format(wb);
  format_set_num_format(ratio, "0.0%");
  lxw_format* count = workbook_add_format(wb);
  format_set_num_format(count, "#,##0");
  lxw_format* decimal = workbook_add_format(wb);
  format_set_num_format(decimal, "#,##0.00");
  std::map<std::string, lxw_format*> money;  // per number format (the currency's decimals)
  const auto money_format = [&](const std::string& currency) {
    const std::string f = MoneyFormat(currency);
    auto& slot = money[f];
    if (slot == nullptr) {
      slot = workbook_add_format(wb);
      format_set_num_format(slot, f.c_str());
    }
    return slot;
  };
  const auto number_format = [&](const ReportColumn& c) -> lxw_format* {
    switch (c.kind()) {
      case api::v1::COLUMN_KIND_RATIO: return ratio;
      case api::v1::COLUMN_KIND_COUNT: return count;
      case api::v1::COLUMN_KIND_MONEY: return money_format(c.currency());
      case api::v1::COLUMN_KIND_DECIMAL: return decimal;
      default: return nullptr;
    }
  };

  lxw_row_t row = 0;
  RETURN_IF_ERROR(Check(worksheet_write_string(ws, row++, 0, t.title().c_str(), title), "title"));
  std::string as_of = "As of ";
  if (t.has_as_of()) StrAppend(&as_of, absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", events::FromProto(t.as_of()), absl::UTCTimeZone()));
  if (!t.reporting_currency().empty()) StrAppend(&as_of, t.has_as_of() ? "; " : "", "figures in ", t.reporting_currency());
  RETURN_IF_ERROR(Check(worksheet_write_string(ws, row++, 0, as_of.c_str(), nullptr), "as of"));
  ++row;  // a blank row before the header

  std::vector<size_t> widths(t.columns_size(), 0);
  const lxw_row_t header = row++;
  for (int c = 0; c < t.columns_size(); ++c) {
    const std::string h = ColumnHeader(t.columns(c));
    widths[c] = Chars(h);
    RETURN_IF_ERROR(Check(worksheet_write_string(ws, header, static_cast<lxw_col_t>(c), h.c_str(), bold), "header"));
  }
  worksheet_freeze_panes(ws, header + 1, 0);

  for (const auto& r : t.rows()) {
    for (int c = 0; c < r.cells_size() && c < t.columns_size(); ++c) {
      const ReportCell& cell = r.cells(c);
      const ReportColumn& column = t.columns(c);
      const auto col = static_cast<lxw_col_t>(c);
      lxw_error e = LXW_NO_ERROR;
      std::string shown;  // about what Excel shows, for the column's width
      switch (cell.value_case()) {
        case ReportCell::kText:
          shown = cell.text();
          e = worksheet_write_string(ws, row, col, cell.text().c_str(), nullptr);
          break;
        case ReportCell::kNumber:
          if (!std::isfinite(cell.number())) break;  // no figure: an empty cell
          shown = Decimal(std::round(cell.number()));
          shown.append(shown.size() / 3 + 3, '0');  // thousands separators and decimals
          e = worksheet_write_number(ws, row, col, cell.number(), number_format(column));
          break;
        case ReportCell::kMoney: {
          const int exponent = CurrencyExponent(cell.money().currency()).value_or(2);
          shown = table::MajorUnits(cell.money(), /*thousands=*/true);
          if (cell.money().currency() != column.currency()) {
            // Another currency than the column's: text, so that it is not summed with the others.
            shown = table::MoneyWords(cell.money());
            e = worksheet_write_string(ws, row, col, shown.c_str(), nullptr);
          } else {
            e = worksheet_write_number(ws, row, col,
                                       static_cast<double>(cell.money().units()) / std::pow(10.0, exponent),
                                       money_format(cell.money().currency()));
          }
          break;
        }
        case ReportCell::VALUE_NOT_SET:
          break;
      }
      RETURN_IF_ERROR(Check(e, StrCat("row ", row + 1, " column ", c + 1)));
      widths[c] = std::max(widths[c], Chars(shown));
    }
    ++row;
  }
  for (size_t c = 0; c < widths.size(); ++c) {
    const double width = static_cast<double>(std::clamp<size_t>(widths[c] + 2, 8, 60));
    RETURN_IF_ERROR(Check(worksheet_set_column(ws, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c), width, nullptr),
                          "column width"));
  }

  if (t.notes_size() > 0) ++row;
  for (const auto& note : t.notes()) {
    RETURN_IF_ERROR(Check(worksheet_write_string(ws, row++, 0, note.c_str(), nullptr), "note"));
  }
  return absl::OkStatus();
}

// A file name part: letters, digits, '-', '_' and '.'; anything else becomes '-'.
std::string FileSafe(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out.push_back(ok ? c : '-');
  }
  while (!out.empty() && (out.front() == '.' || out.front() == '-')) out.erase(out.begin());
  return out;
}

}  // namespace

std::string ColumnHeader(const ReportColumn& column) {
  if (column.kind() == api::v1::COLUMN_KIND_MONEY && !column.currency().empty()) {
    return StrCat(column.name(), " (", column.currency(), ")");
  }
  return column.name();
}

std::string ToCsv(const ReportTable& t, const CsvOptions& options) {
  std::string out = options.byte_order_mark ? "\xEF\xBB\xBF" : "";
  for (int c = 0; c < t.columns_size(); ++c) StrAppend(&out, c ? "," : "", CsvField(ColumnHeader(t.columns(c))));
  out += "\r\n";
  for (const auto& r : t.rows()) {
    for (int c = 0; c < t.columns_size(); ++c) {
      if (c) out.push_back(',');
      if (c < r.cells_size()) out += CsvField(CellText(r.cells(c), t.columns(c)));
    }
    out += "\r\n";
  }
  return out;
}

StatusOr<std::string> ToXlsx(const ReportTable& t) {
  ASSIGN_OR_RETURN(std::unique_ptr<PrivateTempDir> dir, PrivateTempDir::Make());
  const std::string path = dir->path() + "/report.xlsx";
  lxw_workbook_options options{};
  options.tmpdir = const_cast<char*>(dir->path().c_str());  // libxlsxwriter's own temporary files too
  Workbook wb(workbook_new_opt(path.c_str(), &options));
  if (wb.get() == nullptr) return absl::InternalError("xlsx: cannot create the workbook");
  RETURN_IF_ERROR(WriteSheet(wb.get(), t));
  RETURN_IF_ERROR(Check(wb.Close(), "writing the workbook"));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (!in) return absl::InternalError(StrCat("xlsx: cannot read back ", path));
  return bytes.str();
}

std::string ExportFileName(const ReportTable& t, api::v1::ExportFormat format) {
  std::string stem = FileSafe(t.report().empty() ? "report" : t.report());
  if (!t.period().empty()) StrAppend(&stem, "-", FileSafe(t.period()));
  return StrCat(stem, format == api::v1::EXPORT_FORMAT_XLSX ? ".xlsx" : ".csv");
}

StatusOr<api::v1::ExportReportResponse> Export(const ReportTable& t, api::v1::ExportFormat format,
                                               const CsvOptions& csv) {
  api::v1::ExportReportResponse out;
  switch (format) {
    case api::v1::EXPORT_FORMAT_CSV:
      out.set_content(ToCsv(t, csv));
      out.set_media_type(kCsvType);
      break;
    case api::v1::EXPORT_FORMAT_XLSX: {
      ASSIGN_OR_RETURN(*out.mutable_content(), ToXlsx(t));
      out.set_media_type(kXlsxType);
      break;
    }
    default:
      return InvalidField("format", "EXPORT_FORMAT_CSV or EXPORT_FORMAT_XLSX");
  }
  out.set_file_name(ExportFileName(t, format));
  return out;
}

}  // namespace sales::reporting
