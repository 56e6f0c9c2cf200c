// The dashboard's URL parameters -> ReportRequest (the words salesctl takes), and its 400 bodies:
// the parameter named, the query's own field names translated to the URL's.
#include "services/reporting/dashboard/report_params.h"

#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "services/reporting/dashboard/dashboard_http.h"

namespace sales::reporting::dashboard {
namespace {

using ::sales::testing::StatusIs;
using ::testing::HasSubstr;

HttpRequest Query(std::string_view q) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/dashboard/api/report";
  r.query = std::string(q);
  r.params = ParseQuery(q);
  return r;
}

std::string Field(const Status& s) {
  auto v = FieldViolations(s);
  return v.empty() ? "" : v[0].field;
}

TEST(DashboardParams, FillsTheReportsRequestAsSalesctlDoes) {
  auto r = ReportRequestFromParams(Query(
      "name=plan-vs-actual&period=2026&metric=offers-sent&by=manager&dynamics=month&region=GR-ATT&manager=m-1"
      "&product=crm-pro&as_of=2026-11-27T10:00:00.5Z"));
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& p = r->plan_vs_actual();
  EXPECT_EQ(p.period(), "2026");
  EXPECT_EQ(p.metric(), events::v1::PLAN_METRIC_OFFERS_SENT);
  EXPECT_EQ(p.by(), events::v1::PLAN_DIMENSION_MANAGER);
  EXPECT_EQ(p.dynamics(), api::v1::BUCKET_MONTH);
  EXPECT_EQ(p.filters().region(), "GR-ATT");
  EXPECT_EQ(p.filters().manager_id(), "m-1");
  EXPECT_EQ(p.filters().product_code(), "crm-pro");
  EXPECT_EQ(p.as_of().seconds(), 1795773600);
  EXPECT_EQ(p.as_of().nanos(), 500000000);

  auto d = ReportRequestFromParams(Query("name=funnel&period=2026-Q4"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->funnel().by(), events::v1::PLAN_DIMENSION_COMPANY);  // the default
  auto c = ReportRequestFromParams(Query("name=concentration&period=2026-11&client=lead-1"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->concentration().filters().client_id(), "lead-1");
  for (const std::string& name : ReportNames()) {
    EXPECT_TRUE(ReportRequestFromParams(Query("period=2026&name=" + name)).ok()) << name;
  }
}

TEST(DashboardParams, NamesTheBadParameter) {
  EXPECT_EQ(Field(ReportRequestFromParams(Query("period=2026")).status()), "name");
  EXPECT_EQ(Field(ReportRequestFromParams(Query("name=sales&period=2026")).status()), "name");
  EXPECT_EQ(Field(ReportRequestFromParams(Query("name=funnel&period=2026&by=planet")).status()), "by");
  EXPECT_EQ(Field(ReportRequestFromParams(Query("name=products&period=2026&by=manager")).status()), "by");
  EXPECT_EQ(Field(ReportRequestFromParams(Query("name=products&period=2026&metric=revenue")).status()), "metric");
  EXPECT_EQ(Field(ReportRequestFromParams(Query("name=products&period=2026&dynamics=hour")).status()), "dynamics");
  EXPECT_EQ(Field(ReportRequestFromParams(Query("name=products&period=2026&as_of=today")).status()), "as_of");
  Status unknown = ReportRequestFromParams(Query("name=products&period=2026&regoin=GR")).status();
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown parameter")));
  EXPECT_EQ(Field(unknown), "regoin");
  EXPECT_TRUE(ReportRequestFromParams(Query("name=products&period=2026&bom=1"), {"bom"}).ok());
}

TEST(DashboardParams, TranslatesTheQuerysFieldsToParameters) {
  Status s = InvalidArgument({{"plan_vs_actual.period", "not a period"},
                              {"funnel.filters.manager_id", "unknown"},
                              {"pipeline.filters.product_code", "x"},
                              {"concentration.as_of", "y"}});
  auto v = ParamViolations(s);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].field, "period");
  EXPECT_EQ(v[1].field, "manager");
  EXPECT_EQ(v[2].field, "product");
  EXPECT_EQ(v[3].field, "as_of");
  const std::string json = ErrorJson(InvalidField("plan_vs_actual.period", "\"2026-13\" is not a period"));
  EXPECT_THAT(json, HasSubstr("{\"error\":{\"code\":\"INVALID_ARGUMENT\",\"message\":"));
  EXPECT_THAT(json, HasSubstr("\"fields\":[{\"field\":\"period\",\"description\":\"\\\"2026-13\\\" is not a period\"}]}}"));
}

}  // namespace
}  // namespace sales::reporting::dashboard
