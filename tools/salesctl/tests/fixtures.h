// Exports of the same three leads in every shape `salesctl import` reads, generated (not stored),
// for the unit and integration tests. Header-only: used by tools/ and services/ tests.
#pragma once

#include <unicode/ucnv.h>
#include <unicode/ustring.h>

#include <string>
#include <vector>

namespace sales::salesctl::testing {

inline constexpr size_t kFixtureLeads = 3;

struct ExportShape {
  std::string name;           // e.g. "hubspot-utf8-bom-comma"
  std::string bytes;          // the file
  std::string encoding_flag;  // what --encoding must say ("" when detected)
  char delimiter;
};

// `utf8` re-encoded with ICU (`encoding` as ICU names it).
inline std::string Encode(const std::string& utf8, const char* encoding) {
  UErrorCode ec = U_ZERO_ERROR;
  std::u16string u(utf8.size() + 1, u'\0');
  int32_t n = 0;
  u_strFromUTF8(reinterpret_cast<UChar*>(u.data()), static_cast<int32_t>(u.size()), &n, utf8.data(),
                static_cast<int32_t>(utf8.size()), &ec);
  std::string out(4 * utf8.size() + 8, '\0');
  UConverter* conv = ucnv_open(encoding, &ec);
  const int32_t len = ucnv_fromUChars(conv, out.data(), static_cast<int32_t>(out.size()),
                                      reinterpret_cast<const UChar*>(u.data()), n, &ec);
  ucnv_close(conv);
  out.resize(U_SUCCESS(ec) ? len : 0);
  return out;
}

// The three leads: Eleni (partner, a phone), Giorgos (a campaign label, an upper-case e-mail, his
// company broken over two lines in some shapes), Christina (trade show, phone only, 40 employees
// in some shapes is not compared: only fields every shape carries are).
inline std::vector<ExportShape> ExportShapes() {
  std::vector<ExportShape> shapes;
  // 1. A CRM export (HubSpot-like): UTF-8 with BOM, comma, CRLF, first/last name split.
  shapes.push_back({"crm-utf8-bom-comma-crlf",
                    "\xEF\xBB\xBF"
                    "Record ID,First Name,Last Name,E-mail Address,Phone Number,Company Name,Original Source,Notes\r\n"
                    "crm-1001,Ελένη,Παππά,eleni.pappa@example.gr,+30 210 555 0101,\"Παππάς & Υιοί Α.Ε.\",partner,\r\n"
                    "crm-1002,Γιώργος,Άνθιμος,ΓΙΩΡΓΟΣ@EXAMPLE.GR,,\"Άνθιμος\r\nΤεχνική Ο.Ε.\",Google Ads - Άνοιξη,"
                    "\"called, no answer\"\r\n"
                    "crm-1003,Χριστίνα,Βλάχου,,+30 2310 555 0303,,trade-show,\r\n",
                    "", ','});
  // 2. A Greek spreadsheet: UTF-8 without BOM, semicolon, Greek headers, columns in another order.
  const std::string greek =
      "Επώνυμο;Όνομα;Εταιρεία;Τηλέφωνο;Email;Πηγή;Κωδικός\n"
      "Παππά;Ελένη;Παππάς & Υιοί Α.Ε.;+30 210 555 0101;eleni.pappa@example.gr;partner;crm-1001\n"
      "Άνθιμος;Γιώργος;Άνθιμος Τεχνική Ο.Ε.;;ΓΙΩΡΓΟΣ@EXAMPLE.GR;Google Ads - Άνοιξη;crm-1002\n"
      "Βλάχου;Χριστίνα;;+30 2310 555 0303;;trade-show;crm-1003\n";
  shapes.push_back({"greek-utf8-semicolon", greek, "", ';'});
  // 3. and 4. The same sheet as Greek Excel writes "CSV": Windows-1253, and ISO-8859-7.
  shapes.push_back({"greek-excel-windows-1253", Encode(greek, "windows-1253"), "windows-1253", ';'});
  shapes.push_back({"greek-iso-8859-7", Encode(greek, "ISO-8859-7"), "iso-8859-7", ';'});
  // 5. Excel's "Unicode text": UTF-16 LE with BOM, tab-separated, whole names, a mobile column.
  const std::string tabbed =
      "Full Name\tCompany\tEmail\tMobile Phone\tLead Source\tLead ID\n"
      "Ελένη Παππά\tΠαππάς & Υιοί Α.Ε.\teleni.pappa@example.gr\t+30 210 555 0101\tpartner\tcrm-1001\n"
      "Γιώργος Άνθιμος\t\"Άνθιμος\nΤεχνική Ο.Ε.\"\tΓΙΩΡΓΟΣ@EXAMPLE.GR\t\tGoogle Ads - Άνοιξη\tcrm-1002\n"
      "Χριστίνα Βλάχου\t\t\t+30 2310 555 0303\ttrade-show\tcrm-1003\n";
  shapes.push_back({"excel-unicode-text-utf16", "\xFF\xFE" + Encode(tabbed, "UTF-16LE"), "utf-16", '\t'});
  // 6. A marketing tool: UTF-8, comma, name parts and the label in a campaign column.
  shapes.push_back({"marketing-utf8-campaign",
                    "Email Address,FNAME,LNAME,Phone,Organization,Campaign,Contact ID,Member Rating\n"
                    "eleni.pappa@example.gr,Ελένη,Παππά,+30 210 555 0101,Παππάς & Υιοί Α.Ε.,partner,crm-1001,4\n"
                    "ΓΙΩΡΓΟΣ@EXAMPLE.GR,Γιώργος,Άνθιμος,,\"Άνθιμος\tΤεχνική Ο.Ε.\",Google Ads - Άνοιξη,crm-1002,2\n"
                    ",Χριστίνα,Βλάχου,+30 2310 555 0303,,trade-show,crm-1003,1\n",
                    "", ','});
  return shapes;
}

}  // namespace sales::salesctl::testing
