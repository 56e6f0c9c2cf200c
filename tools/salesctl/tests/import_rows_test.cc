#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/salesctl/import.h"

namespace sales::salesctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(PrepareRows, MapsHeadersWithAliasesAndKeepsLineNumbers) {
  auto csv = ParseCsv(
      "Full Name,E-mail,Company,Products,Employees,Source,ID,Notes\n"
      "Ελένη Παππά,eleni@example.gr,\"Παππάς, Υιοί\",crm-pro; erp,120,Web Form,hs-1,call back\n"
      "\"Multi\nLine\",x@example.gr,,,,,,\n");
  auto p = PrepareRows(csv, "marketing_system");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->ignored_columns, ElementsAre("Notes"));
  ASSERT_EQ(p->requests.size(), 2u);
  const auto& first = p->requests[0];
  EXPECT_EQ(first.client_ref(), "2");
  EXPECT_EQ(first.lead().name(), "Ελένη Παππά");
  EXPECT_EQ(first.lead().company(), "Παππάς, Υιοί");
  EXPECT_THAT(first.lead().product_interest(), ElementsAre("crm-pro", "erp"));
  EXPECT_EQ(first.lead().company_size(), 120);
  EXPECT_EQ(first.lead().source(), events::v1::LEAD_SOURCE_WEB_FORM);
  EXPECT_EQ(first.lead().external_id(), "hs-1");
  EXPECT_TRUE(first.lead().idempotency_key().empty()) << "the service derives it from the content";
  EXPECT_EQ(p->requests[1].client_ref(), "3");
  EXPECT_EQ(p->requests[1].lead().source(), events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
}

TEST(PrepareRows, RejectsRowsThatCannotBeRequestsWithTheirLine) {
  auto csv = ParseCsv("name,email,company_size,source\nA,a@x.gr,12\nB,b@x.gr,many,\nC,c@x.gr,,fax\nD,d@x.gr,,\n");
  auto p = PrepareRows(csv, "manual");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->rejected.size(), 3u);
  EXPECT_EQ(p->rejected[0].line, 2);
  EXPECT_THAT(p->rejected[0].reason, HasSubstr("expected 4 fields"));
  EXPECT_EQ(p->rejected[1].line, 3);
  EXPECT_THAT(p->rejected[1].reason, HasSubstr("\"many\" is not a number"));
  EXPECT_THAT(p->rejected[2].reason, HasSubstr("\"fax\""));
  ASSERT_EQ(p->requests.size(), 1u);
  EXPECT_EQ(p->requests[0].lead().source(), events::v1::LEAD_SOURCE_MANUAL);
}

TEST(PrepareRows, UnreadableRowsAreRejectedWithTheirLine) {
  auto p = PrepareRows(ParseCsv("name,email\nA,a@x.gr\nB\"x,b@x.gr\nC,c@x.gr\n"), "manual");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->rejected.size(), 1u);
  EXPECT_EQ(p->rejected[0].line, 3);
  EXPECT_EQ(p->requests.size(), 2u);
}

TEST(PrepareRows, HeaderWithoutNameOrUnknownDefaultSourceIsUsageError) {
  auto csv = ParseCsv("email\na@x.gr\n");
  EXPECT_THAT(PrepareRows(csv, "manual").status().message(), HasSubstr("no name column"));
  auto ok = ParseCsv("name\nA\n");
  EXPECT_EQ(PrepareRows(ok, "carrier-pigeon").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(PrepareRows(ParseCsv("na\"me\nA\n"), "manual").status().message(), HasSubstr("header"));
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
