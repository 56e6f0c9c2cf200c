// `salesctl import FILE.csv`: turns a CSV export into StreamingImportLeads calls and sums up the
// answers.
//
// Columns are found by header name (case and spaces ignored; common aliases accepted, see
// kColumns in import.cc); `name` is required, unknown columns are ignored. A row that cannot even
// be turned into a request (wrong number of fields, a company size that is not a number) is
// rejected here with its line number; every other check is the service's.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "tools/salesctl/csv.h"

namespace sales::salesctl {

struct RowProblem {
  int64_t line = 0;
  std::string reason;
};

struct PreparedImport {
  std::vector<api::v1::ImportLeadsRequest> requests;  // client_ref = the row's line number
  std::vector<RowProblem> rejected;                   // rows refused before sending
  std::vector<std::string> ignored_columns;
};

// The whole file; the error says why it cannot be read ("leads.csv: No such file or directory").
StatusOr<std::string> ReadFile(const std::string& path);

// INVALID_ARGUMENT when the header lacks a name column or a source is unknown. The document's
// unreadable records are rejected rows.
StatusOr<PreparedImport> PrepareRows(const CsvDocument& document, const std::string& default_source);

struct ImportSummary {
  int64_t rows = 0;
  int64_t imported = 0;
  int64_t duplicates = 0;  // same lead already known (or the same row imported before)
  int64_t linked = 0;      // same person as an existing lead: recorded on it
  std::vector<RowProblem> rejected;
  std::vector<RowProblem> duplicate_rows;  // line and what it duplicates
};

// Streams the requests (at most `per_call` per StreamingImportLeads call). `progress(answered, total)` is
// called as the service's answers come back. The rows rejected by PrepareRows are included in the
// summary. An error when a call fails or does not answer every row it was sent.
StatusOr<ImportSummary> RunImport(api::v1::LeadAcquisition::StubInterface& stub, const PreparedImport& prepared,
                                  const std::string& actor, int64_t per_call,
                                  const std::function<void(int64_t, int64_t)>& progress);

}  // namespace sales::salesctl
