// A report table (report_tables.h) as a file: CSV for programs, an Excel workbook (.xlsx) for
// people. docs/REPORTS.md ("Tables and files") is the contract of both.
//
// CSV (RFC 4180): UTF-8, no byte-order mark unless asked (`byte_order_mark`: Excel then opens
// Greek text as UTF-8); CRLF line ends; a header row, then one line per row and nothing else
// (the title, as-of and notes are in the workbook and in the table). A field is quoted when it
// holds a comma, a quote, CR or LF; quotes are doubled. Money is a plain decimal in major units
// ("1234.50", no thousands separator) with the currency in the header ("Actual (EUR)"); ratios
// are decimals (0.341), other numbers the shortest decimal that reads back the same.
//
// XLSX (libxlsxwriter): one sheet named after the report; a title row, an as-of row, the header
// (bold, frozen), the rows, then the notes. Figures are numeric cells: money "#,##0.00" (the
// currency's decimals), ratios "0.0%", counts "#,##0", decimals "#,##0.00"; text is text.
//
// Pure functions, thread-safe. ToXlsx writes through a private temporary folder (libxlsxwriter
// 1.1.4 cannot write to memory) that it always removes.
#pragma once

#include <string>

#include "common/base/status.h"
#include "sales/api/v1/reporting.pb.h"

namespace sales::reporting {

struct CsvOptions {
  bool byte_order_mark = false;
};

// The header of a column in files and on the terminal: "Actual (EUR)" for money, else the name.
std::string ColumnHeader(const api::v1::ReportColumn& column);

std::string ToCsv(const api::v1::ReportTable& table, const CsvOptions& options = {});
// INTERNAL when the workbook cannot be written (temporary folder, libxlsxwriter's error).
[[nodiscard]] StatusOr<std::string> ToXlsx(const api::v1::ReportTable& table);

// "plan-vs-actual-2026-11.csv": the report's name and period, in characters safe in any file system.
std::string ExportFileName(const api::v1::ReportTable& table, api::v1::ExportFormat format);

// The file of `table` in `format`, its name and media type. INVALID_ARGUMENT naming `format`
// when it is unspecified or unknown.
[[nodiscard]] StatusOr<api::v1::ExportReportResponse> Export(const api::v1::ReportTable& table,
                                                             api::v1::ExportFormat format,
                                                             const CsvOptions& csv = {});

}  // namespace sales::reporting
