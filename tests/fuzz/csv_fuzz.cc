// salesctl's CSV import: the delimiter guess, the parser, the encoding detection and the mapping of
// columns to lead fields, on any bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tools/salesctl/csv.h"
#include "tools/salesctl/import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sales::salesctl;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ImportOptions options;
  auto text = DecodeFile(bytes, options);
  if (!text.ok()) return 0;
  const CsvDocument document = ParseCsv(text->text, DetectDelimiter(text->text));
  for (const auto& record : document.records) {
    if (record.fields.empty()) __builtin_trap();  // a record always has at least one field
  }
  auto prepared = PrepareRows(document, options);
  (void)prepared;
  return 0;
}
