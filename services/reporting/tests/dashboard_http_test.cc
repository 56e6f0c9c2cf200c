// The dashboard's routes that need no store and no Kafka: the redirect, the pages and static
// files (with what is missing answered 503, and no way out of the folder), 404s, and the 400 of a
// bad report parameter (checked before any query runs). The rest runs in the browser test.
#include "services/reporting/dashboard/dashboard_http.h"

#include <fstream>

#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"

namespace sales::reporting::dashboard {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::Contains;

HttpRequest Get(const std::string& target) {
  HttpRequest r;
  r.method = "GET";
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  r.params = ParseQuery(r.query);
  return r;
}

class DashboardHttpTest : public ::testing::Test {
 protected:
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_.File(name)) << text; }
  Dashboard Board() { return Dashboard({}, nullptr, &SystemClock(), {.web_dir = dir_.path()}); }
  testing::TempDir dir_;
};

TEST_F(DashboardHttpTest, ServesThePagesAndItsFilesFromTheFolder) {
  Write("index.html", "<!doctype html>");
  Write("dashboard.js", "'use strict';");
  Write("dashboard.css", "body{}");
  Write("echarts.min.js", "var echarts;");
  Write(".hidden", "secret");
  Dashboard board = Board();
  ASSERT_TRUE(board.CheckFiles().ok());

  HttpResponse redirect = board.Handle(Get("/dashboard?period=2026"));
  EXPECT_EQ(redirect.status, 302);
  EXPECT_THAT(redirect.headers, Contains(Pair("Location", "/dashboard/?period=2026")));
  for (const char* page : {"/dashboard/", "/dashboard/managers", "/dashboard/products", "/dashboard/clients",
                           "/dashboard/lost-reasons", "/dashboard/overview"}) {
    HttpResponse r = board.Handle(Get(page));
    EXPECT_EQ(r.status, 200) << page;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(r.body, "<!doctype html>");
  }
  HttpResponse js = board.Handle(Get("/dashboard/static/echarts.min.js"));
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(js.body, "var echarts;");
  EXPECT_EQ(board.Handle(Get("/dashboard/static/dashboard.css")).content_type, "text/css; charset=utf-8");
  EXPECT_EQ(board.Handle(Get("/dashboard/static/.hidden")).status, 404);
  EXPECT_EQ(board.Handle(Get("/dashboard/static/../index.html")).status, 404);
  EXPECT_EQ(board.Handle(Get("/dashboard/static/nope.js")).status, 404);
  EXPECT_EQ(board.Handle(Get("/dashboard/sales")).status, 404);
  HttpResponse api = board.Handle(Get("/dashboard/api/nope"));
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.content_type, "application/json; charset=utf-8");
}

TEST_F(DashboardHttpTest, AMissingFileIsAnsweredWithWhatToDo) {
  Write("index.html", "<!doctype html>");
  Dashboard board = Board();
  EXPECT_EQ(board.CheckFiles().code(), absl::StatusCode::kFailedPrecondition);
  HttpResponse r = board.Handle(Get("/dashboard/"));
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("make deps"));
}

TEST_F(DashboardHttpTest, ABadParameterIs400NamingIt) {
  Dashboard board = Board();
  for (const char* path : {"/dashboard/api/report", "/dashboard/api/report.csv", "/dashboard/api/report.xlsx"}) {
    HttpResponse r = board.Handle(Get(std::string(path) + "?name=plan-vs-actual&period=2026&by=planet"));
    EXPECT_EQ(r.status, 400) << path;
    EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
    EXPECT_THAT(r.body, HasSubstr("\"code\":\"INVALID_ARGUMENT\""));
    EXPECT_THAT(r.body, HasSubstr("\"fields\":[{\"field\":\"by\",\"description\":"));
  }
  EXPECT_THAT(board.Handle(Get("/dashboard/api/report?period=2026")).body, HasSubstr("{\"field\":\"name\""));
  EXPECT_THAT(board.Handle(Get("/dashboard/api/report.csv?name=products&period=2026&bom=yes")).body,
              HasSubstr("{\"field\":\"bom\""));
  EXPECT_THAT(board.Handle(Get("/dashboard/api/report?name=products&period=2026&bom=1")).body,
              HasSubstr("{\"field\":\"bom\""));  // only the CSV takes it
}

}  // namespace
}  // namespace sales::reporting::dashboard
