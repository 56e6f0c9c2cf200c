// Which column of an export holds which field of a lead: the header spellings of well-known CRM and
// marketing tools' exports and of spreadsheets, in English and Greek (docs/INTAKE.md lists them),
// compared by unicode::MatchKey (case, spaces, underscores, punctuation and accents ignored), and
// explicit choices (`--map field=Header`) that win over the guess.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sales::salesctl {

enum class Field {
  kName,         // the whole name
  kFirstName,    // joined as first, middle, last into the name when there is no whole name
  kMiddleName,
  kLastName,
  kCompany,
  kEmail,
  kPhone,
  kSource,       // the sender's label for where the lead came from, kept verbatim
  kCampaign,     // the label when there is no source
  kExternalId,
  kRegion,
  kProducts,
  kCompanySize,
};

// The field's name as `--map` takes it and the dry run shows it ("first_name").
const char* FieldName(Field field);
// The field named `name` (as FieldName, or its MatchKey); INVALID_ARGUMENT listing the names.
StatusOr<Field> ParseFieldName(const std::string& name);
// The field a header means, by its spelling; nullopt when it is not one we know.
std::optional<Field> GuessField(const std::string& header);
// Every spelling recognised, per field (for the documentation and --help).
std::vector<std::pair<Field, std::vector<std::string>>> KnownSpellings();

struct ColumnMapping {
  // Per field, the columns (0-based) that hold it, best first: a row's value is the first
  // non-empty one (an export with "Phone" and "Mobile Phone" gives the phone, else the mobile).
  std::map<Field, std::vector<size_t>> columns;
  std::vector<size_t> unknown;  // columns no field uses: listed, never silently dropped
  std::map<Field, bool> chosen;  // fields set by --map (shown as such)
};

// The mapping of a header row. `overrides` (field name -> header as written, compared by
// MatchKey) replace the guess for their field; a header given to --map that is not in the file,
// or an unknown field name, is INVALID_ARGUMENT saying so. Without a name, or first or last name,
// column: INVALID_ARGUMENT naming the columns found and the flag to use.
StatusOr<ColumnMapping> MapColumns(const std::vector<std::string>& headers,
                                   const std::vector<std::pair<std::string, std::string>>& overrides);

}  // namespace sales::salesctl
