// `salesctl import FILE`: turns an export of leads (CSV, or tab-separated "Unicode text") into
// StreamingImportLeads calls and sums up the answers.
//
// The file is decoded (unicode::Decode: UTF-8 with or without BOM, UTF-16 with BOM, or the
// encoding given), its delimiter detected from the header (or given), its columns mapped to lead
// fields (columns.h: known spellings, `--map` wins). A file that cannot be read as a whole - bytes
// that do not decode, no name column, rows with another number of fields than the header, a
// quoted field never closed - is refused with what to do, and nothing is sent. Values are sent as
// they are, apart from making one-line fields one line; every check of a value is the service's,
// so a row is refused for the same reasons as CaptureLead.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "tools/salesctl/columns.h"
#include "tools/salesctl/csv.h"

namespace sales::salesctl {

struct RowProblem {
  int64_t line = 0;
  std::string reason;
};

struct ImportOptions {
  std::string encoding;   // empty: detect (UTF-8 or a byte-order mark); else any unicode::Decode name
  char delimiter = 0;     // 0: detect from the header
  std::string default_source;  // the label of rows without one; empty: the marketing_system channel
  std::vector<std::pair<std::string, std::string>> map;  // --map field=Header, in order
};

// The file's text in UTF-8, and how it was read.
struct ReadText {
  std::string text;
  std::string encoding;
  char delimiter = ',';
};

// Decodes the file's bytes. INVALID_ARGUMENT saying which line and which flag when they cannot be
// read (e.g. Greek Excel's "CSV" needs --encoding=windows-1253).
StatusOr<ReadText> DecodeFile(std::string_view bytes, const ImportOptions& options);

struct PreparedImport {
  std::vector<api::v1::ImportLeadsRequest> requests;  // client_ref = the row's line number
  std::vector<std::string> headers;
  ColumnMapping mapping;
  std::vector<std::string> ignored_columns;  // headers of the unknown columns
  std::vector<RowProblem> rejected;          // rows refused before sending (none today; kept for the summary)
};

// The whole file; the error says why it cannot be read ("leads.csv: No such file or directory").
StatusOr<std::string> ReadFile(const std::string& path);

// The rows as requests. INVALID_ARGUMENT (nothing to send) when the header has no usable name
// column, a --map names a column or field that is not there, or a row cannot be read (bad quoting,
// another number of fields than the header): the message names the lines and the flag to check.
StatusOr<PreparedImport> PrepareRows(const CsvDocument& document, const ImportOptions& options);

// What the dry run and the summary show of the mapping: one line per field ("name <- "Όνομα" +
// "Επώνυμο""), then the columns not imported.
std::vector<std::string> DescribeMapping(const PreparedImport& prepared);
// One request as a line ("name "Ελένη Παππά", email "...", ...").
std::string DescribeRow(const api::v1::CaptureLeadRequest& lead);

struct ImportSummary {
  int64_t rows = 0;
  int64_t imported = 0;
  int64_t duplicates = 0;  // same lead already known (or the same row imported before)
  int64_t linked = 0;      // same person as an existing lead: recorded on it
  std::vector<RowProblem> rejected;
  std::vector<RowProblem> duplicate_rows;  // line and what it duplicates
  std::vector<RowProblem> left_out;        // imported rows with a malformed value left out, and which
};

// Rejections grouped by reason, most frequent first: (reason, count).
std::vector<std::pair<std::string, int64_t>> RejectionsByReason(const std::vector<RowProblem>& rejected);

// Streams the requests (at most `per_call` per StreamingImportLeads call). `progress(answered, total)` is
// called as the service's answers come back. The rows rejected by PrepareRows are included in the
// summary. An error when a call fails or does not answer every row it was sent. `dry_run`: the
// service decides every row as it would and writes nothing (StreamingImportLeads' dry_run); the
// summary is what the import would produce.
StatusOr<ImportSummary> RunImport(api::v1::LeadAcquisition::StubInterface& stub, const PreparedImport& prepared,
                                  const std::string& actor, int64_t per_call,
                                  const std::function<void(int64_t, int64_t)>& progress, bool dry_run = false);

}  // namespace sales::salesctl
