#include "tools/salesctl/csv.h"

#include "common/base/strings.h"

namespace sales::salesctl {

CsvDocument ParseCsv(std::string_view text, char delimiter) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  CsvDocument doc;
  std::vector<CsvRecord>& out = doc.records;
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
  // Drops the record being read and skips to the end of this physical line.
  auto give_up = [&](size_t& i, std::string reason) {
    doc.problems.push_back({record.line, std::move(reason)});
    while (i < text.size() && text[i] != '\n' && text[i] != '\r') ++i;
    if (i + 1 < text.size() && text[i] == '\r' && text[i + 1] == '\n') ++i;
    ++line;
    record = CsvRecord();
    record.line = line;
    field.clear();
    quoted = field_started = content = false;
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
        if (c == '\n' || (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == delimiter) {
      end_field();
      continue;
    }
    switch (c) {
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
          give_up(i, "a quote inside an unquoted field (quote the whole field, doubling quotes inside)");
          break;
        }
        in_quotes = quoted = field_started = true;
        break;
      default:
        if (quoted) {
          give_up(i, "text after the closing quote of a field");
          break;
        }
        field.push_back(c);
        field_started = true;
    }
  }
  if (in_quotes) {
    doc.problems.push_back({record.line, "a quoted field is never closed (the rest of the file was read into it)"});
  } else if (content) {
    end_record();
  }
  return doc;
}

char DetectDelimiter(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  int commas = 0, semicolons = 0, tabs = 0;
  bool in_quotes = false;
  for (char c : text) {
    if (c == '"') in_quotes = !in_quotes;
    if (in_quotes) continue;
    if (c == '\n' || c == '\r') break;
    commas += c == ',';
    semicolons += c == ';';
    tabs += c == '\t';
  }
  if (tabs > commas && tabs >= semicolons) return '\t';
  if (semicolons > commas) return ';';
  return ',';
}

}  // namespace sales::salesctl
