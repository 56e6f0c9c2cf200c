#include "tools/salesctl/csv.h"

#include "common/base/strings.h"

namespace sales::salesctl {

StatusOr<std::vector<CsvRecord>> ParseCsv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRecord> out;
  CsvRecord record;
  std::string field;
  int64_t line = 1;
  record.line = 1;
  bool in_quotes = false, quoted = false, field_started = false;
  bool content = false;  // the record has anything at all (a blank line has not)
  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    quoted = field_started = false;
  };
  auto end_record = [&] {
    end_field();
    if (content) out.push_back(std::move(record));
    content = false;
    record = CsvRecord();
    record.line = line;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\r' && c != '\n') content = true;
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    switch (c) {
      case ',':
        end_field();
        break;
      case '\r':
        if (i + 1 < text.size() && text[i + 1] == '\n') break;  // CRLF: the '\n' ends the record
        ++line;
        end_record();
        break;
      case '\n':
        ++line;
        end_record();
        break;
      case '"':
        if (field_started) {
          return InvalidField(StrCat("line ", line), "a quote inside an unquoted field (quote the whole field)");
        }
        in_quotes = quoted = field_started = true;
        break;
      default:
        if (quoted) {
          return InvalidField(StrCat("line ", line), "text after the closing quote of a field");
        }
        field.push_back(c);
        field_started = true;
    }
  }
  if (in_quotes) return InvalidField(StrCat("line ", record.line), "a quoted field is never closed");
  if (content) end_record();
  return out;
}

}  // namespace sales::salesctl
