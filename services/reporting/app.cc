#include "services/reporting/app.h"

#include "common/base/log.h"
#include "common/auth/tokens.h"
#include "common/money/money.h"
#include "common/service/service.h"
#include "services/reporting/api/grpc_service.h"
#include "services/reporting/dashboard/dashboard_http.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {

int RunService(int argc, char** argv) {
  std::string currency, time_zone, stage_probabilities, dashboard_dir, client_support_url,
      lead_acquisition_url;
  int64_t concentration_threshold = 0, call_return_hours = 0;
  ReportSettings settings;
  ReportingProjection projection;
  service::Spec spec{.name = "reporting",
                     .grpc_port = 50054,
                     .http_port = 9104,
                     .own_topic = service::topics::kPlans,
                     .read_topics = {service::topics::kLeads, service::topics::kOffers, service::topics::kClients},
                     .inbound_topics = {},
                     .declare = [&](Config& c) {
                       c.AddString("reporting-currency", "SALES_REPORTING_CURRENCY", "EUR",
                                   "the currency every report answers in (ISO 4217; docs/REPORTS.md)", &currency);
                       c.AddString("time-zone", "SALES_TIME_ZONE", "UTC",
                                   "the time zone of report periods, e.g. Europe/Athens (IANA name; a store is "
                                   "built for one: another needs a rebuild)",
                                   &time_zone);
                       c.AddString("stage-probabilities", "SALES_STAGE_PROBABILITIES", "DRAFT=0.1,SENT=0.3",
                                   "win probability of an open offer's stage for the weighted pipeline; a stage "
                                   "left out (or an empty value) uses the rate measured from history",
                                   &stage_probabilities);
                       c.AddInt("concentration-threshold", "SALES_CONCENTRATION_THRESHOLD", 1800, 0, 10000,
                                "the HHI of client revenue above which concentration is flagged", &concentration_threshold);
                       c.AddInt("call-return-hours", "SALES_CALL_RETURN_HOURS", 4, 1, 720,
                                "hours within which a missed inbound call counts as returned", &call_return_hours);
                       c.AddString("dashboard-dir", "SALES_DASHBOARD_DIR", SALES_DASHBOARD_DEFAULT_DIR,
                                   "folder of the dashboard's page, script and charting library (served at "
                                   "/dashboard/ on the HTTP port; the build fills it)",
                                   &dashboard_dir);
                       c.AddString("client-support-url", "SALES_CLIENT_SUPPORT_URL", "http://127.0.0.1:9103",
                                   "client support's HTTP address, from which the dashboard's page reads the "
                                   "clients needing attention (in the browser: the services stay apart)",
                                   &client_support_url);
                       c.AddString("lead-acquisition-url", "SALES_LEAD_ACQUISITION_URL", "http://127.0.0.1:9101",
                                   "lead acquisition's HTTP address, from which the dashboard's page reads the "
                                   "managers' names",
                                   &lead_acquisition_url);
                     },
                     .configure = [&]() -> Status {
                       if (!IsCurrency(currency)) {
                         return absl::InvalidArgumentError(
                             StrCat("--reporting-currency: \"", currency, "\" is not an ISO 4217 code"));
                       }
                       settings.currency = currency;
                       if (!absl::LoadTimeZone(time_zone, &settings.time_zone)) {
                         return absl::InvalidArgumentError(
                             StrCat("--time-zone: \"", time_zone, "\" is not a known time zone"));
                       }
                       projection.set_time_zone(settings.time_zone);
                       ASSIGN_OR_RETURN(settings.sales.stage_probabilities, ParseStageProbabilities(stage_probabilities));
                       settings.sales.concentration_threshold = concentration_threshold;
                       settings.sales.call_return_hours = call_return_hours;
                       return absl::OkStatus();
                     }};
  return service::Main(argc, argv, spec, &projection, [&](service::Kit& kit) -> StatusOr<service::Parts> {
    auto* commands = kit.Own(std::make_unique<PlanCommands>(kit.DeciderOptions(), currency, &kit.publisher(),
                                                            &kit.applier(), &kit.clock(), &kit.metrics()));
    RETURN_IF_ERROR(commands->Start());
    kit.AddHealthCheck([commands] { return commands->Health(); });
    auto* queries = kit.Own(std::make_unique<ReportQueries>(&kit.store(), &kit.clock(), settings));
    auto* funnel = kit.Own(std::make_unique<FunnelReports>(&kit.store(), &kit.clock(), settings));
    auto* scorecards = kit.Own(std::make_unique<Scorecards>(&kit.store(), &kit.clock(), settings));
    auto* service =
        kit.Own(std::make_unique<ReportingService>(commands, queries, funnel, scorecards, &kit.metrics()));
    // The dashboard: the same reports as web pages on the HTTP port (services/reporting/web/).
    auto* board = kit.Own(std::make_unique<dashboard::Dashboard>(
        Reports{queries, funnel, scorecards}, &kit.runner(), &kit.clock(),
        dashboard::DashboardOptions{.web_dir = dashboard_dir, .reporting_currency = currency,
                                     .time_zone = time_zone,
                                     .concentration_threshold = concentration_threshold,
                                     .client_support_url = client_support_url,
                                     .lead_acquisition_url = lead_acquisition_url}));
    if (Status s = board->CheckFiles(); !s.ok()) {
      log::Warn("the dashboard cannot be shown", {{"reason", std::string(s.message())}});
    }
    // The page and its files are open; its data (/dashboard/api) to whoever may read reports.
    kit.AddHttpRoute("/dashboard", {}, [board](const HttpRequest& r) { return board->Handle(r); });
    kit.AddHttpRoute("/dashboard/api", auth::AllowedRoles(api::v1::Reporting::service_full_name(), "GetReportTable"),
                     [board](const HttpRequest& r) { return board->Handle(r); });
    return service::Parts{.services = {service}};
  });
}

}  // namespace sales::reporting
