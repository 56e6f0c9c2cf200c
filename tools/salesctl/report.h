// `salesctl report NAME ...`: any report of the reporting service as an aligned table on the
// terminal, as CSV on stdout, as an .xlsx file, or as the ReportTable in JSON.
//
// The report names are one table (kReports in report.cc): a name, the ReportRequest case it fills
// and a line of help. Adding a report is one line there and one function that fills its request
// from the common flags.
//
// The terminal table is laid out by display width (unicode::DisplayWidth): Greek with accents,
// precomposed or combining, and CJK line up. Text is left-aligned, figures right-aligned; money
// with thousands separators and the currency's decimals (the currency in the header), ratios as
// "34.1 %", no figure as "-". Text from the service is shown escaped (no control characters
// reach the terminal).
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "sales/api/v1/reporting.grpc.pb.h"

namespace sales::salesctl {

struct ReportArgs {
  enum class Output { kTable, kCsv, kXlsx, kJson };
  std::string name;    // "plan-vs-actual"
  std::string target;  // HOST:PORT of the reporting service
  api::v1::ReportRequest request;
  Output output = Output::kTable;
  std::string xlsx_path;  // kXlsx: where to write; empty: the file name the service gives, here
  bool byte_order_mark = false;
  std::string as_of_store;  // --as-of-store: the metadata x-as-of-store (empty: the live store)
};

// The command line after `report` (NAME and its flags; --target too). INVALID_ARGUMENT with what
// to write instead for a usage error (unknown report or flag, a value that is not one of the
// choices, a missing --period, more than one output).
[[nodiscard]] StatusOr<ReportArgs> ParseReportArgs(const std::vector<std::string>& args,
                                                   const std::string& default_target);

// The usage lines of `salesctl report` (for salesctl's usage text).
std::string ReportUsage();

// The table as the terminal shows it: the title, the as-of line, the table, then the notes.
std::string RenderTable(const api::v1::ReportTable& table);

// A failed call as salesctl prints it: the code, then each field violation (BadRequest details)
// with its reason, or the message when there are none.
std::string DescribeFailure(const ::grpc::Status& status);

// Runs the report against the service: writes the output to stdout (or the .xlsx file) and
// errors to stderr. Exit code 0 done, 1 the service failed or the file could not be written.
int RunReport(const ReportArgs& args, api::v1::Reporting::StubInterface& stub);

}  // namespace sales::salesctl
