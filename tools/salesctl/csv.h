// A CSV reader for real-world exports (RFC 4180 and what spreadsheets actually write): UTF-8 with
// or without a byte-order mark, CRLF or LF line ends, quoted fields holding the delimiter, doubled
// quotes and line breaks; comma, semicolon (Excel where the comma is the decimal separator, as in
// Greece) or tab between fields. Other encodings are decoded first (unicode::Decode). Bytes inside fields are passed through untouched (Greek names come back
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

// A record that could not be read (bad quoting): its line and why. Reading goes on at the next
// line, so one bad row does not cost the whole file.
struct CsvProblem {
  int64_t line = 0;
  std::string reason;
};

struct CsvDocument {
  std::vector<CsvRecord> records;
  std::vector<CsvProblem> problems;
};

// Parses a whole document. Empty lines are skipped. A quote inside an unquoted field, or text
// after a closing quote, makes that record a problem; a quoted field never closed makes the rest of
// the file one problem.
CsvDocument ParseCsv(std::string_view text, char delimiter = ',');

// The delimiter of a file, from its first record (the header): whichever of ',', ';' and tab
// occurs most often outside quotes; ',' when none does.
char DetectDelimiter(std::string_view text);

}  // namespace sales::salesctl
