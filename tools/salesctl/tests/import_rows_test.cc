#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/salesctl/import.h"

namespace sales::salesctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ImportOptions Defaults() { return ImportOptions{}; }

TEST(PrepareRows, MapsHeadersWithAliasesAndKeepsLineNumbers) {
  auto csv = ParseCsv(
      "Full Name,E-mail,Company,Products,Employees,Source,ID,Notes\n"
      "Ελένη Παππά,eleni@example.gr,\"Παππάς, Υιοί\",crm-pro; erp,120,Web Form,hs-1,call back\n"
      "\"Multi\nLine\",x@example.gr,,,,,,\n");
  auto p = PrepareRows(csv, Defaults());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->ignored_columns, ElementsAre("Notes"));
  ASSERT_EQ(p->requests.size(), 2u);
  const auto& first = p->requests[0];
  EXPECT_EQ(first.client_ref(), "2");
  EXPECT_EQ(first.lead().name(), "Ελένη Παππά");
  EXPECT_EQ(first.lead().company(), "Παππάς, Υιοί");
  EXPECT_THAT(first.lead().product_interest(), ElementsAre("crm-pro", "erp"));
  EXPECT_EQ(first.lead().company_size(), 120);
  EXPECT_EQ(first.lead().source_label(), "Web Form") << "kept verbatim; the service maps it to a channel";
  EXPECT_EQ(first.lead().source(), events::v1::LEAD_SOURCE_UNSPECIFIED);
  EXPECT_EQ(first.lead().external_id(), "hs-1");
  EXPECT_TRUE(first.lead().idempotency_key().empty()) << "the service derives it from the content";
  EXPECT_EQ(p->requests[1].client_ref(), "3");
  EXPECT_EQ(p->requests[1].lead().name(), "Multi Line") << "a line break in a one-line field is a space";
  EXPECT_EQ(p->requests[1].lead().source(), events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
}

TEST(PrepareRows, FirstAndLastNameAreJoinedInOrderWhateverTheColumnOrder) {
  auto p = PrepareRows(ParseCsv("Last Name,E-mail Address,First Name,Mobile Phone,Company Name\n"
                                "Παππά,e@example.gr,Ελένη,+30 690 000 0001,Π. Α.Ε.\n"
                                ",x@example.gr,Νίκος,,\n"),
                       Defaults());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->requests[0].lead().name(), "Ελένη Παππά");
  EXPECT_EQ(p->requests[0].lead().phone(), "+30 690 000 0001");
  EXPECT_EQ(p->requests[0].lead().company(), "Π. Α.Ε.");
  EXPECT_EQ(p->requests[1].lead().name(), "Νίκος");
}

TEST(PrepareRows, GreekHeadersCaseAccentsAndUnderscoresIgnored) {
  auto p = PrepareRows(ParseCsv("ΟΝΟΜΑ,επωνυμο,Εταιρεια,τηλεφωνο,e_mail,ΠΗΓΗ,Κινητό\n"
                                "Ελένη,Παππά,Παππάς Α.Ε.,,eleni@example.gr,συνεργάτης,6900000001\n"),
                       Defaults());
  ASSERT_TRUE(p.ok()) << p.status();
  const auto& lead = p->requests[0].lead();
  EXPECT_EQ(lead.name(), "Ελένη Παππά");
  EXPECT_EQ(lead.company(), "Παππάς Α.Ε.");
  EXPECT_EQ(lead.email(), "eleni@example.gr");
  EXPECT_EQ(lead.phone(), "6900000001") << "the mobile, as the phone column is empty";
  EXPECT_EQ(lead.source_label(), "συνεργάτης");
}

TEST(PrepareRows, ExplicitMapWinsAndUnknownColumnsAreListed) {
  ImportOptions options;
  options.map = {{"email", "Mail 2"}, {"name", "Ονοματεπώνυμο πελάτη"}, {"phone", ""}};
  auto p = PrepareRows(ParseCsv("Ονοματεπώνυμο πελάτη,Email,Mail 2,Phone,Σημειώσεις\n"
                                "Ελένη Παππά,old@example.gr,new@example.gr,210 555 0101,VIP\n"),
                       options);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->requests[0].lead().name(), "Ελένη Παππά");
  EXPECT_EQ(p->requests[0].lead().email(), "new@example.gr");
  EXPECT_EQ(p->requests[0].lead().phone(), "") << "--map phone= leaves it out";
  EXPECT_THAT(p->ignored_columns, ElementsAre("Email", "Phone", "Σημειώσεις"));
  const auto mapping = DescribeMapping(*p);
  EXPECT_THAT(mapping, ::testing::Contains(HasSubstr("\"Mail 2\"   (--map)")));

  options.map = {{"email", "Nope"}};
  EXPECT_THAT(PrepareRows(ParseCsv("Name,Email\nA,a@x.gr\n"), options).status().message(),
              HasSubstr("the file has no column \"Nope\""));
  options.map = {{"favourite_colour", "Email"}};
  EXPECT_THAT(PrepareRows(ParseCsv("Name,Email\nA,a@x.gr\n"), options).status().message(),
              HasSubstr("\"favourite_colour\" is not a field"));
}

TEST(PrepareRows, ValuesAsRealSystemsWriteThem) {
  auto p = PrepareRows(ParseCsv("name,company,company_size,source,campaign,products\n"
                                "A,\"Μάρκου\r\nLogistics\",\"1.200\",,Google Ads - Spring,\"crm-pro, erp\"\n"
                                "B,,50-199,partner,,\n"
                                "C,,many,,,\n"),
                       Defaults());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->requests[0].lead().company(), "Μάρκου Logistics");
  EXPECT_EQ(p->requests[0].lead().company_size(), 1200);
  EXPECT_EQ(p->requests[0].lead().source_label(), "Google Ads - Spring") << "the campaign when there is no source";
  EXPECT_THAT(p->requests[0].lead().product_interest(), ElementsAre("crm-pro", "erp"));
  EXPECT_EQ(p->requests[1].lead().company_size(), 50);
  EXPECT_EQ(p->requests[1].lead().source_label(), "partner");
  EXPECT_EQ(p->requests[2].lead().company_size(), 0) << "unknown, not a reason to refuse the row";
  EXPECT_TRUE(p->rejected.empty());
}

TEST(PrepareRows, RaggedOrBadlyQuotedRowsRefuseTheWholeFileWithLinesAndTheFlag) {
  auto ragged = PrepareRows(ParseCsv("name,email,company_size\nA,a@x.gr,12\nB,b@x.gr\nC,c@x.gr,1,extra\n"), Defaults());
  EXPECT_EQ(ragged.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ragged.status().message(), HasSubstr("line 3: 2 fields where the header has 3"));
  EXPECT_THAT(ragged.status().message(), HasSubstr("line 4: 4 fields"));
  EXPECT_THAT(ragged.status().message(), HasSubstr("Nothing was imported"));
  EXPECT_THAT(ragged.status().message(), HasSubstr("--delimiter"));
  auto quoting = PrepareRows(ParseCsv("name,email\nA,a@x.gr\nB\"x,b@x.gr\nC,c@x.gr\n"), Defaults());
  EXPECT_THAT(quoting.status().message(), HasSubstr("line 3: a quote inside an unquoted field"));
  auto trailing = PrepareRows(ParseCsv("name,email\nA,a@x.gr,,\n"), Defaults());
  ASSERT_TRUE(trailing.ok()) << "empty fields after the last column are what some spreadsheets write";
}

TEST(PrepareRows, HeaderWithoutAnyNameColumnSaysWhichFlag) {
  auto p = PrepareRows(ParseCsv("email,Κάτι\na@x.gr,1\n"), Defaults());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr("no name column"));
  EXPECT_THAT(p.status().message(), HasSubstr("--map name=COLUMN"));
  EXPECT_THAT(PrepareRows(ParseCsv("na\"me\nA\n"), Defaults()).status().message(), HasSubstr("header"));
}

TEST(DecodeFile, SaysWhichEncodingFlagToUse) {
  auto greek = DecodeFile("name;email\n\xC5\xEB\xDD\xED\xE7;e@x.gr\n", Defaults());
  EXPECT_EQ(greek.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(greek.status().message(), HasSubstr("line 2"));
  EXPECT_THAT(greek.status().message(), HasSubstr("--encoding=windows-1253"));
  ImportOptions cp1253;
  cp1253.encoding = "windows-1253";
  auto ok = DecodeFile("name;email\n\xC5\xEB\xDD\xED\xE7;e@x.gr\n", cp1253);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->text, "name;email\nΕλένη;e@x.gr\n");
  EXPECT_EQ(ok->delimiter, ';');
  ImportOptions unknown;
  unknown.encoding = "martian";
  EXPECT_THAT(DecodeFile("x", unknown).status().message(), HasSubstr("not an encoding"));
  EXPECT_THAT(DecodeFile(std::string("n\0a\0m\0e\0", 8), Defaults()).status().message(), HasSubstr("utf-16le"));
}

TEST(RejectionsByReason, MostFrequentFirst) {
  auto groups = RejectionsByReason({{2, "name: must not be empty"}, {5, "email: not a valid e-mail address"},
                                    {9, "email: not a valid e-mail address"}});
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0], std::make_pair(std::string("email: not a valid e-mail address"), int64_t{2}));
}

TEST(ReadFile, SaysWhyAFileCannotBeRead) {
  auto missing = ReadFile("/nonexistent/leads.csv");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "/nonexistent/leads.csv: No such file or directory");
  auto directory = ReadFile("/tmp");
  EXPECT_EQ(directory.status().message(), "/tmp: Is a directory");
  auto self = ReadFile("/proc/self/cmdline");
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_NE(self->find("salesctl_test"), std::string::npos);
}

}  // namespace
}  // namespace sales::salesctl
