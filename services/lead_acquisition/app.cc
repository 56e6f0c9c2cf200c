#include "services/lead_acquisition/app.h"

#include "common/base/log.h"
#include "common/auth/tokens.h"
#include "common/base/strings.h"
#include "common/service/service.h"
#include "services/lead_acquisition/api/grpc_service.h"
#include "services/lead_acquisition/api/roster_http.h"
#include "services/lead_acquisition/intake/intake.h"
#include "services/lead_acquisition/projection/lead_projection.h"

namespace sales::lead_acquisition {

int RunService(int argc, char** argv) {
  std::string channels_file;
  service::Spec spec{.name = "lead-acquisition",
                     .grpc_port = 50051,
                     .http_port = 9101,
                     .own_topic = service::topics::kLeads,
                     .read_topics = {},
                     .inbound_topics = {service::topics::kMarketingLeadsInbound},
                     .declare = [&](Config& c) {
                       c.AddString("source-channels", "SALES_SOURCE_CHANNELS", "",
                                   "file of source label = channel lines (docs/INTAKE.md); empty: the built-in table",
                                   &channels_file);
                     }};
  LeadProjection projection;
  return service::Main(argc, argv, spec, &projection, [&](service::Kit& kit) -> StatusOr<service::Parts> {
    auto* channels = kit.Own(std::make_unique<SourceChannels>());
    if (!channels_file.empty()) {
      StatusOr<SourceChannels> loaded = SourceChannels::Load(channels_file);
      if (!loaded.ok()) return absl::InvalidArgumentError(StrCat("--source-channels: ", loaded.status().message()));
      *channels = std::move(*loaded);
      log::Info("source channels loaded", {{"file", channels_file}});
    }
    auto* commands = kit.Own(std::make_unique<LeadCommands>(kit.DeciderOptions(), &kit.publisher(), &kit.applier(),
                                                            &kit.clock(), &kit.metrics(), channels));
    RETURN_IF_ERROR(commands->Start());
    kit.AddHealthCheck([commands] { return commands->Health(); });

    const std::string intake_topic = kit.Topic(service::topics::kMarketingLeadsInbound);
    log::Info("starting marketing intake", {{"topic", intake_topic}});
    auto* intake = kit.Own(std::make_unique<IntakeConsumer>(IntakeOptions{.client = kit.client(), .topic = intake_topic},
                                                            commands, &kit.store(), &kit.dead_letter_publisher(), &kit.admin(),
                                                            &kit.metrics()));
    RETURN_IF_ERROR(intake->Start());
    kit.OnShutdown([intake] { intake->Stop(); });
    kit.AddConsumerStatus(intake);

    auto* queries = kit.Own(std::make_unique<LeadQueries>(&kit.store()));
    auto* service = kit.Own(std::make_unique<LeadAcquisitionService>(commands, queries, &kit.metrics()));
    // The roster by name for the reporting dashboard's pages (read by the browser), to whoever may
    // list managers.
    kit.AddHttpRoute(kRosterPath, auth::AllowedRoles(api::v1::LeadAcquisition::service_full_name(), "ListManagers"),
                     [queries](const HttpRequest& r) { return ManagerRoster(*queries, r); });
    return service::Parts{.services = {service}};
  });
}

}  // namespace sales::lead_acquisition
