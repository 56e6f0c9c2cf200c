#include "tools/salesctl/columns.h"

#include <algorithm>
#include <optional>

#include "common/base/strings.h"
#include "common/unicode/unicode.h"

namespace sales::salesctl {
namespace {

struct FieldSpellings {
  Field field;
  const char* name;
  std::vector<std::string> spellings;  // best first: the first non-empty column of these wins
};

// The header spellings of well-known exports: HubSpot, Salesforce, Zoho, Pipedrive, Dynamics 365,
// Mailchimp, ActiveCampaign, Google and Outlook contacts, and plain spreadsheets, in English and
// Greek. docs/INTAKE.md shows this table; keep the two together.
const std::vector<FieldSpellings>& Table() {
  static const auto* table = new std::vector<FieldSpellings>{
      {Field::kName, "name",
       {"Name", "Full Name", "Contact", "Contact Name", "Contact Full Name", "Person - Name", "Person Name",
        "Lead Name", "Display Name", "Ονοματεπώνυμο", "Ονοματεπώνυμο επαφής", "Πλήρες όνομα", "Όνομα επαφής",
        "Επαφή"}},
      {Field::kFirstName, "first_name",
       {"First Name", "First", "Given Name", "Forename", "Person - First Name", "FNAME", "Όνομα", "Μικρό όνομα"}},
      {Field::kMiddleName, "middle_name", {"Middle Name", "Additional Name", "Middle"}},
      {Field::kLastName, "last_name",
       {"Last Name", "Last", "Surname", "Family Name", "Person - Last Name", "LNAME", "Επώνυμο"}},
      {Field::kCompany, "company",
       {"Company", "Company Name", "Company / Account", "Account Name", "Account", "Organization", "Organisation",
        "Organization Name", "Organisation Name", "Organization - Name", "Organization 1 - Name", "Business Name",
        "Employer", "Εταιρεία", "Εταιρία", "Επωνυμία", "Επωνυμία εταιρείας", "Όνομα εταιρείας", "Επιχείρηση",
        "Οργανισμός"}},
      {Field::kEmail, "email",
       {"Email", "E-mail", "Email Address", "E-mail Address", "Primary Email", "Work Email", "Business Email",
        "Person - Email", "Email 1", "E-mail 1 - Value", "Personal Email", "Email 2", "E-mail 2 Address",
        "E-mail 2 - Value", "Διεύθυνση email", "Ηλεκτρονικό ταχυδρομείο", "Ηλ. ταχυδρομείο", "Ηλεκτρονική διεύθυνση"}},
      {Field::kPhone, "phone",
       {"Phone", "Phone Number", "Telephone", "Tel", "Business Phone", "Work Phone", "Primary Phone",
        "Person - Phone", "Phone 1 - Value", "Mobile", "Mobile Phone", "Mobile Phone Number", "Mobile Number",
        "Cell", "Cell Phone", "Home Phone", "Phone 2 - Value", "Τηλέφωνο", "Τηλ.", "Αριθμός τηλεφώνου",
        "Σταθερό τηλέφωνο", "Τηλέφωνο εργασίας", "Κινητό", "Κινητό τηλέφωνο"}},
      {Field::kSource, "source",
       {"Source", "Lead Source", "Original Source", "Contact Source", "Source Name", "Channel", "Lead Channel",
        "UTM Source", "Πηγή", "Πηγή επαφής", "Προέλευση", "Κανάλι"}},
      {Field::kCampaign, "campaign", {"Campaign", "Campaign Name", "UTM Campaign", "Καμπάνια", "Εκστρατεία"}},
      {Field::kExternalId, "external_id",
       {"External ID", "ID", "Record ID", "Contact ID", "Lead ID", "Person ID", "Person - ID", "Unique ID",
        "Customer ID", "LEID", "Κωδικός", "Κωδικός επαφής", "Αναγνωριστικό"}},
      {Field::kRegion, "region", {"Region", "Region Code", "Κωδικός περιοχής"}},
      {Field::kProducts, "product_interest",
       {"Product Interest", "Products", "Product", "Product Codes", "Interested In", "Προϊόντα", "Προϊόν"}},
      {Field::kCompanySize, "company_size",
       {"Company Size", "Employees", "Number of Employees", "No. of Employees", "Employee Count", "Headcount",
        "Αριθμός εργαζομένων", "Εργαζόμενοι", "Υπάλληλοι", "Μέγεθος εταιρείας"}},
  };
  return *table;
}

struct Known {
  Field field;
  size_t rank;  // position among the field's spellings
};

const std::map<std::string, Known>& ByKey() {
  static const auto* keys = [] {
    auto* m = new std::map<std::string, Known>;
    for (const auto& f : Table()) {
      for (size_t i = 0; i < f.spellings.size(); ++i) m->emplace(unicode::MatchKey(f.spellings[i]), Known{f.field, i});
    }
    return m;
  }();
  return *keys;
}

std::string Quoted(const std::vector<std::string>& headers) {
  std::string out;
  for (const auto& h : headers) StrAppend(&out, out.empty() ? "" : ", ", "\"", h, "\"");
  return out;
}

}  // namespace

const char* FieldName(Field field) {
  for (const auto& f : Table()) {
    if (f.field == field) return f.name;
  }
  return "?";
}

StatusOr<Field> ParseFieldName(const std::string& name) {
  std::string names;
  for (const auto& f : Table()) {
    if (unicode::MatchKey(name) == unicode::MatchKey(f.name)) return f.field;
    StrAppend(&names, names.empty() ? "" : ", ", f.name);
  }
  return InvalidField("map", StrCat("\"", name, "\" is not a field (fields: ", names, ")"));
}

std::optional<Field> GuessField(const std::string& header) {
  auto it = ByKey().find(unicode::MatchKey(header));
  if (it == ByKey().end()) return std::nullopt;
  return it->second.field;
}

std::vector<std::pair<Field, std::vector<std::string>>> KnownSpellings() {
  std::vector<std::pair<Field, std::vector<std::string>>> out;
  for (const auto& f : Table()) out.emplace_back(f.field, f.spellings);
  return out;
}

StatusOr<ColumnMapping> MapColumns(const std::vector<std::string>& headers,
                                   const std::vector<std::pair<std::string, std::string>>& overrides) {
  // Field of each column (guessed, then overridden), with its rank for ordering.
  std::vector<std::optional<Known>> of(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) {
    if (auto it = ByKey().find(unicode::MatchKey(headers[c])); it != ByKey().end()) of[c] = it->second;
  }
  ColumnMapping mapping;
  for (const auto& [field_name, header] : overrides) {
    ASSIGN_OR_RETURN(Field field, ParseFieldName(field_name));
    // The field's guessed columns no longer count for it; the named column is its only one.
    for (auto& k : of) {
      if (k && k->field == field) k.reset();
    }
    mapping.chosen[field] = true;
    if (header.empty()) continue;  // --map phone= : do not import the field
    std::optional<size_t> found;
    for (size_t c = 0; c < headers.size() && !found; ++c) {
      if (headers[c] == header) found = c;
    }
    for (size_t c = 0; c < headers.size() && !found; ++c) {
      if (unicode::MatchKey(headers[c]) == unicode::MatchKey(header) && !unicode::MatchKey(header).empty()) found = c;
    }
    if (!found) {
      return InvalidField("map", StrCat("--map ", field_name, "=", header, ": the file has no column \"", header,
                                        "\" (its columns: ", Quoted(headers), ")"));
    }
    of[*found] = Known{field, 0};
  }
  std::map<Field, std::vector<std::pair<size_t, size_t>>> ranked;  // field -> (rank, column)
  for (size_t c = 0; c < headers.size(); ++c) {
    if (of[c]) {
      ranked[of[c]->field].emplace_back(of[c]->rank, c);
    } else {
      mapping.unknown.push_back(c);
    }
  }
  for (auto& [field, columns] : ranked) {
    std::sort(columns.begin(), columns.end());
    for (const auto& [rank, c] : columns) mapping.columns[field].push_back(c);
  }
  if (!mapping.columns.count(Field::kName) && !mapping.columns.count(Field::kFirstName) &&
      !mapping.columns.count(Field::kLastName)) {
    return InvalidField("header",
                        StrCat("no name column: none of the columns ", Quoted(headers),
                               " is a name (or a first and a last name). Say which holds it: --map name=COLUMN, or "
                               "--map first_name=COLUMN --map last_name=COLUMN (if the first line is not the header, "
                               "or the columns run together, check --delimiter and --encoding)"));
  }
  return mapping;
}

}  // namespace sales::salesctl
