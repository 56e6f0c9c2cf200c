// A CSV reader for real-world exports (RFC 4180 and what spreadsheets actually write): UTF-8 with
// or without a byte-order mark, CRLF or LF line ends, quoted fields holding commas, doubled
// quotes and line breaks. Bytes inside fields are passed through untouched (Greek names come back
// byte for byte). Each record knows the line it starts on, for error messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace sales::salesctl {

struct CsvRecord {
  int64_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

// Parses a whole document. INVALID_ARGUMENT naming the line of an unterminated quoted field or of
// a stray quote inside an unquoted field. Empty lines are skipped.
StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text);

}  // namespace sales::salesctl
