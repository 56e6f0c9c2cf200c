// Reports as tables and files, as a user gets them: the real executables of lead acquisition,
// first offers and reporting on the test run's Kafka broker; a small sale; then GetReportTable and
// ExportReport (CSV and .xlsx, the workbook read back with Python's standard library) must give
// GetPlanVsActual's figures, and so must the real `salesctl report plan-vs-actual` (its aligned
// table, its --csv, its --xlsx).
//
// The fixture is reporting_integration_test.cc's pattern (first offers' fixture plus a reporting
// process), kept here so that file stays as it is.
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_split.h"
#include "common/unicode/unicode.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "sales/api/v1/reporting.grpc.pb.h"
#include "services/first_offers/tests/offers_service_fixture.h"
#include "services/reporting/api/report_tables.h"

namespace sales::reporting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Ran {
  int code = -1;
  std::string out, err;
};

// Runs a command line; stdout and stderr apart.
Ran Command(const std::string& cmd, const std::string& err_file) {
  Ran run;
  FILE* p = popen((cmd + " 2>" + err_file).c_str(), "r");
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) run.out.append(buf, n);
  const int status = pclose(p);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  run.err.assign(std::istreambuf_iterator<char>(in), {});
  return run;
}

// The fields of BadRequest details.
std::vector<std::string> Fields(const ::grpc::Status& s) {
  std::vector<std::string> fields;
  google::rpc::Status details;
  google::rpc::BadRequest bad;
  if (details.ParseFromString(s.error_details()) && details.details_size() == 1 &&
      details.details(0).UnpackTo(&bad)) {
    for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  }
  return fields;
}

class ReportExportIT : public first_offers::FirstOffersIT {
 protected:
  void SetUp() override {
    FirstOffersIT::SetUp();
    testing::ServiceOptions o;
    o.binary = SALES_REPORTING_BIN;
    o.args = CommonArgs("reporting-store");
    o.work_dir = dir_.File("reporting-work");
    std::filesystem::create_directories(o.work_dir);
    auto service = testing::ServiceProcess::Start(o);
    ASSERT_TRUE(service.ok()) << service.status();
    reporting_ = std::move(*service);
    reporting_stub_ = api::v1::Reporting::NewStub(reporting_->Channel());
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    period_ = StrCat(DayString(today - 1), "..", DayString(today + 1));
  }

  void TearDown() override {
    if (HasFailure() && reporting_) std::cerr << "reporting log tail:\n" << reporting_->LogTail(60);
    FirstOffersIT::TearDown();
  }

  std::string Target() const { return StrCat("127.0.0.1:", reporting_->grpc_port()); }

  // An accepted first offer of 10 x crm-pro at 49.90 EUR: 499.00 EUR.
  void Sale(const std::string& key) {
    const std::string lead = QualifiedLead(key);
    api::v1::OfferCommandResponse out;
    ASSERT_TRUE(Draft(key + "-offer", lead, Terms(10, 0), &out).ok());
    ASSERT_TRUE(Send(key + "-send", out.offer_id(), &out).ok());
    ASSERT_TRUE(Accept(key + "-accept", out.offer_id(), &out).ok());
  }

  api::v1::PlanVsActualRequest Request(events::v1::PlanDimension by) const {
    api::v1::PlanVsActualRequest r;
    r.set_period(period_);
    r.set_metric(events::v1::PLAN_METRIC_REVENUE);
    r.set_by(by);
    *r.mutable_as_of() = as_of_;
    return r;
  }

  StatusOr<api::v1::PlanVsActualResponse> PlanVsActual(const api::v1::PlanVsActualRequest& r) {
    api::v1::PlanVsActualResponse out;
    ::grpc::ClientContext ctx;
    auto s = reporting_stub_->GetPlanVsActual(Context(&ctx), r, &out);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    return out;
  }

  ::grpc::Status Export(const api::v1::PlanVsActualRequest& r, api::v1::ExportFormat format,
                        api::v1::ExportReportResponse* out) {
    api::v1::ExportReportRequest e;
    *e.mutable_report()->mutable_plan_vs_actual() = r;
    e.set_format(format);
    ::grpc::ClientContext ctx;
    return reporting_stub_->ExportReport(Context(&ctx), e, out);
  }

  Ran Salesctl(const std::string& args) {
    return Command(StrCat(SALES_SALESCTL_BIN, " report plan-vs-actual --target=", Target(), " --period=", period_,
                          " --as-of=", absl::FormatTime(absl::RFC3339_full, events::FromProto(as_of_), absl::UTCTimeZone()),
                          " ", args),
                   dir_.File("salesctl.err"));
  }

  // The cells of a workbook, by reference ("A5" -> "n\t499"), read by tests/xlsx_cells.py.
  std::map<std::string, std::pair<std::string, std::string>> Cells(const std::string& path) {
    const Ran r = Command(StrCat(SALES_PYTHON3, " ", SALES_XLSX_CELLS, " ", path), dir_.File("python.err"));
    EXPECT_EQ(r.code, 0) << r.err;
    std::map<std::string, std::pair<std::string, std::string>> cells;
    for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
      std::vector<std::string> f = absl::StrSplit(line, '\t');
      if (f[0] == "cell" && f.size() == 6) cells[f[1]] = {f[2], f[3]};
    }
    return cells;
  }

  std::string period_;
  google::protobuf::Timestamp as_of_;
  std::unique_ptr<testing::ServiceProcess> reporting_;
  std::unique_ptr<api::v1::Reporting::Stub> reporting_stub_;
};

std::string Major(const events::v1::Money& m) { return table::MajorUnits(m, false); }
double AsDouble(const events::v1::Money& m) { return static_cast<double>(m.units()) / 100; }

TEST_F(ReportExportIT, TablesFilesAndSalesctlGiveThePlanAgainstActualsFigures) {
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  RegisterManager("exp-mgr");
  {
    api::v1::SetTargetRequest t;
    t.set_idempotency_key("exp-target");
    t.set_period(period_);
    t.set_metric(events::v1::PLAN_METRIC_REVENUE);
    t.set_dimension(events::v1::PLAN_DIMENSION_COMPANY);
    t.mutable_amount()->set_units(200000);  // 2,000.00 EUR
    t.mutable_amount()->set_currency("EUR");
    api::v1::PlanCommandResponse out;
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(reporting_stub_->SetTarget(Context(&ctx), t, &out).ok());
  }
  Sale("exp-sale-1");
  Sale("exp-sale-2");
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        as_of_ = events::ToProto(absl::Now());
        auto r = PlanVsActual(Request(events::v1::PLAN_DIMENSION_COMPANY));
        return r.ok() && r->total().rows_size() == 1 && r->total().rows(0).actual_amount().units() == 99800;
      },
      absl::Seconds(30)))
      << "the sales never reached the report";
  // From here on every call asks as of the same time: the same figures, forecast included.
  auto expected = PlanVsActual(Request(events::v1::PLAN_DIMENSION_COMPANY));
  ASSERT_TRUE(expected.ok()) << expected.status();
  const auto& row = expected->total().rows(0);
  ASSERT_EQ(row.target_amount().units(), 200000);

  // GetReportTable: the same figures, typed.
  api::v1::ReportRequest request;
  *request.mutable_plan_vs_actual() = Request(events::v1::PLAN_DIMENSION_COMPANY);
  api::v1::ReportTable table;
  {
    ::grpc::ClientContext ctx;
    auto s = reporting_stub_->GetReportTable(Context(&ctx), request, &table);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_THAT(table.title(), HasSubstr("Plan vs actual: revenue, " + period_));
  ASSERT_EQ(table.columns_size(), 5);
  ASSERT_EQ(table.rows_size(), 1);
  const auto& cells = table.rows(0).cells();
  EXPECT_EQ(cells[0].money().units(), row.actual_amount().units());
  EXPECT_EQ(cells[1].money().units(), row.target_amount().units());
  EXPECT_DOUBLE_EQ(cells[2].number(), row.attainment());
  EXPECT_EQ(cells[3].money().units(), row.forecast_amount().units());
  // Both offers were accepted: nothing open, the weighted forecast is the actual.
  ASSERT_TRUE(row.has_weighted_forecast_amount());
  EXPECT_EQ(row.weighted_forecast_amount().units(), row.actual_amount().units());
  EXPECT_EQ(cells[4].money().units(), row.weighted_forecast_amount().units());
  EXPECT_EQ(table.reporting_currency(), "EUR");

  // CSV: a header and the row, money in major units.
  api::v1::ExportReportResponse csv;
  ASSERT_TRUE(Export(Request(events::v1::PLAN_DIMENSION_COMPANY), api::v1::EXPORT_FORMAT_CSV, &csv).ok());
  EXPECT_EQ(csv.media_type(), "text/csv; charset=utf-8");
  EXPECT_EQ(csv.file_name(), "plan-vs-actual-" + period_ + ".csv");
  const std::string csv_row = StrCat(Major(row.actual_amount()), ",", Major(row.target_amount()), ",",
                                     absl::StrCat(row.attainment()), ",", Major(row.forecast_amount()), ",",
                                     Major(row.weighted_forecast_amount()));
  EXPECT_EQ(csv.content(), StrCat("Actual (EUR),Target (EUR),Attainment,Forecast (EUR),Weighted forecast (EUR)\r\n",
                                  csv_row, "\r\n"));
  EXPECT_THAT(csv_row, ::testing::StartsWith("998.00,2000.00,0.499,"));

  // XLSX: numbers in numeric cells, equal to the figures.
  api::v1::ExportReportResponse xlsx;
  ASSERT_TRUE(Export(Request(events::v1::PLAN_DIMENSION_COMPANY), api::v1::EXPORT_FORMAT_XLSX, &xlsx).ok());
  EXPECT_EQ(xlsx.file_name(), "plan-vs-actual-" + period_ + ".xlsx");
  std::ofstream(dir_.File("served.xlsx"), std::ios::binary) << xlsx.content();
  auto book = Cells(dir_.File("served.xlsx"));
  EXPECT_EQ(book["A4"].second, "Actual (EUR)");
  for (const char* ref : {"A5", "B5", "C5", "D5", "E5"}) EXPECT_EQ(book[ref].first, "n") << ref << " is not a number";
  EXPECT_DOUBLE_EQ(std::stod(book["A5"].second), AsDouble(row.actual_amount()));
  EXPECT_DOUBLE_EQ(std::stod(book["B5"].second), AsDouble(row.target_amount()));
  EXPECT_DOUBLE_EQ(std::stod(book["C5"].second), row.attainment());
  EXPECT_DOUBLE_EQ(std::stod(book["D5"].second), AsDouble(row.forecast_amount()));
  EXPECT_DOUBLE_EQ(std::stod(book["E5"].second), AsDouble(row.weighted_forecast_amount()));

  // By client: a Greek company name beside each lead id, in the table and in the workbook.
  auto by_client = PlanVsActual(Request(events::v1::PLAN_DIMENSION_CLIENT));
  ASSERT_TRUE(by_client.ok());
  ASSERT_EQ(by_client->total().rows_size(), 2);
  ASSERT_TRUE(Export(Request(events::v1::PLAN_DIMENSION_CLIENT), api::v1::EXPORT_FORMAT_XLSX, &xlsx).ok());
  std::ofstream(dir_.File("clients.xlsx"), std::ios::binary) << xlsx.content();
  book = Cells(dir_.File("clients.xlsx"));
  EXPECT_EQ(book["A4"].second, "Client");
  EXPECT_EQ(book["B4"].second, "Company");
  EXPECT_EQ(book["A5"].second, by_client->total().rows(0).key());
  EXPECT_EQ(book["B5"].second, "Αλεξίου Ξυλεία Α.Ε.");
  EXPECT_EQ(book["C5"].first, "n");
  EXPECT_DOUBLE_EQ(std::stod(book["C5"].second), 499.0);

  // salesctl: the aligned table, with the figures as a person reads them.
  Ran run = Salesctl("");
  ASSERT_EQ(run.code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("Plan vs actual: revenue, " + period_ + ", company"));
  std::vector<std::string> lines = absl::StrSplit(run.out, '\n');
  ASSERT_GE(lines.size(), 6u) << run.out;
  EXPECT_EQ(lines[3], " Actual (EUR) | Target (EUR) | Attainment | Forecast (EUR) | Weighted forecast (EUR)");
  EXPECT_THAT(lines[5], ::testing::StartsWith("       998.00 |     2,000.00 |     49.9 % |")) << run.out;
  run = Salesctl("--by=client");
  ASSERT_EQ(run.code, 0) << run.err;
  lines = absl::StrSplit(run.out, '\n');
  ASSERT_GE(lines.size(), 7u) << run.out;
  const auto bars = [](const std::string& line) {
    std::vector<int> at;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '|' || line[i] == '+') at.push_back(unicode::DisplayWidth(line.substr(0, i)));
    }
    return at;
  };
  for (size_t i = 4; i <= 6; ++i) EXPECT_EQ(bars(lines[i]), bars(lines[3])) << run.out;
  EXPECT_THAT(lines[5], HasSubstr("Αλεξίου Ξυλεία Α.Ε. |")) << run.out;
  EXPECT_THAT(lines[5], HasSubstr("499.00"));

  // salesctl --csv: the service's CSV, which parses to the same figures.
  run = Salesctl("--csv");
  ASSERT_EQ(run.code, 0) << run.err;
  std::vector<std::string> records = absl::StrSplit(run.out, "\r\n");
  ASSERT_EQ(records.size(), 3u) << run.out;  // header, row, and the empty string after the last CRLF
  EXPECT_THAT(std::vector<std::string>(absl::StrSplit(records[0], ',')),
              ElementsAre("Actual (EUR)", "Target (EUR)", "Attainment", "Forecast (EUR)", "Weighted forecast (EUR)"));
  std::vector<std::string> fields = absl::StrSplit(records[1], ',');
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(std::stod(fields[0]), AsDouble(row.actual_amount()));
  EXPECT_EQ(std::stod(fields[1]), AsDouble(row.target_amount()));
  EXPECT_DOUBLE_EQ(std::stod(fields[2]), row.attainment());
  EXPECT_EQ(std::stod(fields[3]), AsDouble(row.forecast_amount()));
  EXPECT_EQ(std::stod(fields[4]), AsDouble(row.weighted_forecast_amount()));

  // salesctl --xlsx=FILE writes the workbook.
  run = Salesctl("--xlsx=" + dir_.File("salesctl.xlsx"));
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("Wrote " + dir_.File("salesctl.xlsx")));
  book = Cells(dir_.File("salesctl.xlsx"));
  EXPECT_EQ(book["A5"].first, "n");
  EXPECT_DOUBLE_EQ(std::stod(book["A5"].second), AsDouble(row.actual_amount()));

  // salesctl --json: the ReportTable.
  run = Salesctl("--json");
  ASSERT_EQ(run.code, 0) << run.err;
  api::v1::ReportTable parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &parsed).ok()) << run.out;
  EXPECT_EQ(parsed.rows(0).cells(0).money().units(), row.actual_amount().units());
}

TEST_F(ReportExportIT, BadRequestsNameTheFieldAndSalesctlShowsIt) {
  api::v1::ExportReportResponse out;
  auto s = Export(Request(events::v1::PLAN_DIMENSION_COMPANY), api::v1::EXPORT_FORMAT_UNSPECIFIED, &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(Fields(s), ElementsAre("format"));
  auto bad = Request(events::v1::PLAN_DIMENSION_COMPANY);
  bad.set_period("2026-13");
  s = Export(bad, api::v1::EXPORT_FORMAT_CSV, &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(Fields(s), ElementsAre("report.plan_vs_actual.period"));
  api::v1::ReportTable table;
  {
    ::grpc::ClientContext ctx;
    s = reporting_stub_->GetReportTable(Context(&ctx), api::v1::ReportRequest{}, &table);
  }
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(Fields(s), ElementsAre("report"));

  // salesctl: the service's refusal with the field and the flag (exit 1); a usage error (exit 2).
  Ran run = Command(StrCat(SALES_SALESCTL_BIN, " report plan-vs-actual --target=", Target(), " --period=2026-13"),
                    dir_.File("salesctl.err"));
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(run.err, HasSubstr("plan_vs_actual.period (--period): "));
  EXPECT_EQ(run.out, "");
  run = Command(StrCat(SALES_SALESCTL_BIN, " report plan-vs-actual --target=", Target(), " --period=2026-11 --metric=profit"),
                dir_.File("salesctl.err"));
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("--metric=profit"));
}

}  // namespace
}  // namespace sales::reporting
