// `salesctl report`: the command line (names, flags, usage errors), the terminal table (aligned
// by display width with Greek, combining accents and CJK; figures formatted) and how a refused
// request is shown (the BadRequest's fields).
#include "tools/salesctl/report.h"

#include "absl/strings/str_split.h"
#include "common/unicode/unicode.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace sales::salesctl {
namespace {

using api::v1::ReportTable;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- The command line ----

TEST(ReportArgs, PlanVsActualFromFlags) {
  auto a = ParseReportArgs({"plan-vs-actual", "--period=2026-Q4", "--metric=offers-sent", "--by=manager",
                            "--dynamics=month", "--as-of=2026-11-15T09:30:00+02:00", "--region=GR-ATT",
                            "--source=referral", "--manager=m-1", "--product=crm-pro", "--client=lead-1"},
                           "127.0.0.1:50054");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->name, "plan-vs-actual");
  EXPECT_EQ(a->target, "127.0.0.1:50054");
  EXPECT_EQ(a->output, ReportArgs::Output::kTable);
  ASSERT_TRUE(a->request.has_plan_vs_actual());
  const auto& r = a->request.plan_vs_actual();
  EXPECT_EQ(r.period(), "2026-Q4");
  EXPECT_EQ(r.metric(), events::v1::PLAN_METRIC_OFFERS_SENT);
  EXPECT_EQ(r.by(), events::v1::PLAN_DIMENSION_MANAGER);
  EXPECT_EQ(r.dynamics(), api::v1::BUCKET_MONTH);
  EXPECT_EQ(r.as_of().seconds(), 1794727800);  // 2026-11-15T07:30:00Z
  EXPECT_EQ(r.filters().region(), "GR-ATT");
  EXPECT_EQ(r.filters().source(), "LEAD_SOURCE_REFERRAL");
  EXPECT_EQ(r.filters().manager_id(), "m-1");
  EXPECT_EQ(r.filters().product_code(), "crm-pro");
  EXPECT_EQ(r.filters().client_id(), "lead-1");
}

TEST(ReportArgs, DefaultsAndOutputs) {
  auto a = ParseReportArgs({"plan-vs-actual", "--period=2026-11", "--target=host:1", "--csv", "--bom"}, "x:2");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->target, "host:1");
  EXPECT_EQ(a->request.plan_vs_actual().metric(), events::v1::PLAN_METRIC_REVENUE);
  EXPECT_EQ(a->request.plan_vs_actual().by(), events::v1::PLAN_DIMENSION_COMPANY);
  EXPECT_EQ(a->request.plan_vs_actual().dynamics(), api::v1::BUCKET_UNSPECIFIED);
  EXPECT_FALSE(a->request.plan_vs_actual().has_as_of());
  EXPECT_EQ(a->output, ReportArgs::Output::kCsv);
  EXPECT_TRUE(a->byte_order_mark);
  a = ParseReportArgs({"--xlsx=out.xlsx", "plan-vs-actual", "--period=2026-11", "--metric=PLAN_METRIC_MARGIN"}, "x:2");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->output, ReportArgs::Output::kXlsx);
  EXPECT_EQ(a->xlsx_path, "out.xlsx");
  EXPECT_EQ(a->request.plan_vs_actual().metric(), events::v1::PLAN_METRIC_MARGIN);
  a = ParseReportArgs({"plan-vs-actual", "--period=2026-11", "--json"}, "x:2");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->output, ReportArgs::Output::kJson);
}

TEST(ReportArgs, UsageErrorsSayWhatToWrite) {
  const auto error = [](std::vector<std::string> args) {
    auto a = ParseReportArgs(args, "x:1");
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(a.status().message());
  };
  EXPECT_THAT(error({"--period=2026-11"}), HasSubstr("which report? one of: plan-vs-actual"));
  EXPECT_THAT(error({"funnel-of-doom", "--period=2026-11"}), HasSubstr("unknown report \"funnel-of-doom\""));
  EXPECT_THAT(error({"plan-vs-actual"}), HasSubstr("--period is required"));
  EXPECT_THAT(error({"plan-vs-actual", "--period=2026-11", "--metric=profit"}),
              HasSubstr("--metric=profit: say revenue, margin, new-clients"));
  EXPECT_THAT(error({"plan-vs-actual", "--period=2026-11", "--metric=unspecified"}), HasSubstr("--metric"));
  EXPECT_THAT(error({"plan-vs-actual", "--period=2026-11", "--by=team"}), HasSubstr("--by=team"));
  EXPECT_THAT(error({"plan-vs-actual", "--period=2026-11", "--dynamics=hour"}), HasSubstr("day, week or month"));
  EXPECT_THAT(error({"plan-vs-actual", "--period=2026-11", "--as-of=yesterday"}), HasSubstr("RFC 3339"));
  EXPECT_THAT(error({"plan-vs-actual", "--period=2026-11", "--csv", "--json"}), HasSubstr("one of --csv"));
  EXPECT_THAT(error({"plan-vs-actual", "--period=2026-11", "--bom"}), HasSubstr("--bom goes with --csv"));
  EXPECT_THAT(error({"plan-vs-actual", "--period=2026-11", "--colour"}), HasSubstr("unknown flag --colour"));
  EXPECT_THAT(error({"plan-vs-actual", "--period="}), HasSubstr("--period takes a value"));
}

TEST(ReportArgs, TheProductsClientsCallsAndPipelineReports) {
  auto a = ParseReportArgs({"products", "--period=2026-11", "--dynamics=week", "--region=GR-ATT",
                            "--as-of=2026-11-15T00:00:00Z"},
                           "x:1");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(a->request.has_products());
  EXPECT_EQ(a->request.products().period(), "2026-11");
  EXPECT_EQ(a->request.products().dynamics(), api::v1::BUCKET_WEEK);
  EXPECT_EQ(a->request.products().filters().region(), "GR-ATT");
  EXPECT_EQ(a->request.products().as_of().seconds(), 1794700800);
  a = ParseReportArgs({"client-revenue", "--period=2026", "--by=manager"}, "x:1");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->request.client_revenue().by(), events::v1::PLAN_DIMENSION_MANAGER);
  a = ParseReportArgs({"pipeline", "--period=2026-11"}, "x:1");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->request.pipeline().by(), events::v1::PLAN_DIMENSION_COMPANY);
  for (const char* name : {"concentration", "inbound-calls"}) {
    a = ParseReportArgs({name, "--period=2026-11"}, "x:1");
    EXPECT_TRUE(a.ok()) << name << ": " << a.status();
  }
  EXPECT_THAT(ParseReportArgs({"concentration", "--period=2026-11", "--by=manager"}, "x:1").status().message(),
              HasSubstr("--by does not apply to concentration"));
  EXPECT_THAT(ParseReportArgs({"products", "--period=2026-11", "--metric=revenue"}, "x:1").status().message(),
              HasSubstr("--metric is plan-vs-actual's"));
  EXPECT_THAT(ParseReportArgs({"inbound-calls"}, "x:1").status().message(), HasSubstr("--period is required"));
}

// ---- The terminal table ----

events::v1::Money Eur(int64_t units) {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency("EUR");
  return m;
}

void Column(ReportTable& t, const std::string& name, api::v1::ColumnKind kind, const std::string& currency = "") {
  auto* c = t.add_columns();
  c->set_name(name);
  c->set_kind(kind);
  c->set_currency(currency);
}

// A plan-vs-actual table by client with names in Greek (precomposed and with combining accents),
// Japanese and Latin.
ReportTable Greek() {
  ReportTable t;
  t.set_title("Plan vs actual: revenue, 2026-11, by client");
  t.set_reporting_currency("EUR");
  t.mutable_as_of()->set_seconds(1794700800);
  Column(t, "Client", api::v1::COLUMN_KIND_TEXT);
  Column(t, "Company", api::v1::COLUMN_KIND_TEXT);
  Column(t, "Actual", api::v1::COLUMN_KIND_MONEY, "EUR");
  Column(t, "Target", api::v1::COLUMN_KIND_MONEY, "EUR");
  Column(t, "Attainment", api::v1::COLUMN_KIND_RATIO);
  Column(t, "Offers", api::v1::COLUMN_KIND_COUNT);
  const auto row = [&](const std::string& key, const std::string& company, int64_t actual,
                       std::optional<int64_t> target, double offers) {
    auto* r = t.add_rows();
    r->add_cells()->set_text(key);
    r->add_cells()->set_text(company);
    *r->add_cells()->mutable_money() = Eur(actual);
    if (target) {
      *r->add_cells()->mutable_money() = Eur(*target);
      r->add_cells()->set_number(static_cast<double>(actual) / static_cast<double>(*target));
    } else {
      r->add_cells();
      r->add_cells();
    }
    r->add_cells()->set_number(offers);
  };
  row("lead-1", "Αλεξίου Ξυλεία Α.Ε.", 1000000, 2934783, 3);
  row("lead-2", "Ε\u0301λενα Π\u0301αππα", 123456789, std::nullopt, 1250);  // combining acute accents
  row("lead-3", "東京商事", 0, 100000, 0);
  row("lead-4", "Acme", -5000, 100000, 12);
  t.add_notes("Not converted (no exchange rate on or before the day of the sale): USD 2,000.00; not in the figures.");
  return t;
}

// The display columns at which each '|' (or '+' on the rule) of a line stands.
std::vector<int> SeparatorColumns(const std::string& line) {
  std::vector<int> out;
  for (size_t i = 0; i < line.size();) {
    size_t n = 1;
    while (i + n < line.size() && (static_cast<unsigned char>(line[i + n]) & 0xC0) == 0x80) ++n;
    // Combining marks join the character before them: measure the text so far as a whole.
    if (line[i] == '|' || line[i] == '+') out.push_back(unicode::DisplayWidth(line.substr(0, i)));
    i += n;
  }
  return out;
}

TEST(RenderTable, ColumnsLineUpWithGreekAccentsAndCjk) {
  const std::string out = RenderTable(Greek());
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  ASSERT_GE(lines.size(), 10u) << out;
  EXPECT_EQ(lines[0], "Plan vs actual: revenue, 2026-11, by client");
  EXPECT_EQ(lines[1], "As of 2026-11-15 00:00:00 UTC; figures in EUR");
  EXPECT_EQ(lines[2], "");
  // Header, rule, 4 rows: every '|' and '+' at the same display columns.
  const std::vector<int> expected = SeparatorColumns(lines[3]);
  ASSERT_EQ(expected.size(), 5u) << lines[3];
  for (size_t i = 3; i <= 8; ++i) EXPECT_EQ(SeparatorColumns(lines[i]), expected) << "line " << i << ":\n" << out;
  // And every row ends where the header does (the last column is a figure: right-aligned).
  const int width = unicode::DisplayWidth(lines[3]);
  for (size_t i = 5; i <= 8; ++i) EXPECT_EQ(unicode::DisplayWidth(lines[i]), width) << lines[i];

  // The snapshot: text left, figures right, money with thousands separators, ratios in %.
  EXPECT_EQ(lines[3], " Client | Company             | Actual (EUR) | Target (EUR) | Attainment | Offers");
  EXPECT_EQ(lines[4], "--------+---------------------+--------------+--------------+------------+--------");
  EXPECT_EQ(lines[5], " lead-1 | Αλεξίου Ξυλεία Α.Ε. |    10,000.00 |    29,347.83 |     34.1 % |      3");
  EXPECT_EQ(lines[6], " lead-2 | Ε\u0301λενα Π\u0301αππα         | 1,234,567.89 |            - |          - |  1,250");
  EXPECT_EQ(lines[7], " lead-3 | 東京商事            |         0.00 |     1,000.00 |      0.0 % |      0");
  EXPECT_EQ(lines[8], " lead-4 | Acme                |       -50.00 |     1,000.00 |     -5.0 % |     12");
  EXPECT_EQ(lines[9], "");
  EXPECT_EQ(lines[10],
            "Note: Not converted (no exchange rate on or before the day of the sale): USD 2,000.00; not in the figures.");
}

TEST(RenderTable, ControlCharactersFromTheServiceNeverReachTheTerminal) {
  ReportTable t = Greek();
  t.mutable_rows(0)->mutable_cells(1)->set_text("Evil\x1b[2JCorp\nNext line");
  const std::string out = RenderTable(t);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_THAT(out, HasSubstr("Evil\\x1b[2JCorp Next line"));
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  for (size_t i = 4; i <= 8; ++i) EXPECT_EQ(SeparatorColumns(lines[i]), SeparatorColumns(lines[3])) << out;
}

TEST(RenderTable, NoRowsSaysSo) {
  ReportTable t;
  t.set_title("Plan vs actual: calls, 2026-11, by region");
  Column(t, "Region", api::v1::COLUMN_KIND_TEXT);
  Column(t, "Actual", api::v1::COLUMN_KIND_COUNT);
  EXPECT_EQ(RenderTable(t),
            "Plan vs actual: calls, 2026-11, by region\n\n Region | Actual\n--------+--------\n(no rows)\n");
}

// ---- Failures ----

TEST(DescribeFailure, FieldViolationsOneALineWithTheirFlags) {
  google::rpc::BadRequest bad;
  auto* v = bad.add_field_violations();
  v->set_field("plan_vs_actual.period");
  v->set_description("\"2026-13\" is not a period");
  v = bad.add_field_violations();
  v->set_field("plan_vs_actual.metric");
  v->set_description("one of REVENUE, ...");
  google::rpc::Status details;
  details.set_code(3);
  details.add_details()->PackFrom(bad);
  const ::grpc::Status s(::grpc::StatusCode::INVALID_ARGUMENT, "period: ...; metric: ...", details.SerializeAsString());
  EXPECT_EQ(DescribeFailure(s),
            "INVALID_ARGUMENT\n"
            "  plan_vs_actual.period (--period): \"2026-13\" is not a period\n"
            "  plan_vs_actual.metric (--metric): one of REVENUE, ...");
  EXPECT_EQ(DescribeFailure(::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "failed to connect")),
            "UNAVAILABLE: failed to connect");
}

}  // namespace
}  // namespace sales::salesctl
