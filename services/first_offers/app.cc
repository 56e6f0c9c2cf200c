#include "services/first_offers/app.h"

#include "common/base/log.h"
#include "common/schedule/scheduler.h"
#include "common/service/service.h"
#include "services/first_offers/api/grpc_service.h"
#include "services/first_offers/projection/offers_projection.h"

namespace sales::first_offers {

int RunService(int argc, char** argv) {
  service::Spec spec{.name = "first-offers",
                     .grpc_port = 50052,
                     .http_port = 9102,
                     .own_topic = service::topics::kOffers,
                     .read_topics = {service::topics::kLeads},
                     .inbound_topics = {},
                     // A rebuild reads past 8 MiB a second (~300-byte events at 28,500/s), and
                     // librdkafka 2.0 refetches a full queue only after a second: 16 MiB lets it
                     // run at 35,000/s, peak RSS ~270 MiB (docs/PERFORMANCE.md, run 21).
                     .projection_prefetch_kbytes = 16384};
  OffersProjection projection;
  return service::Main(argc, argv, spec, &projection, [](service::Kit& kit) -> StatusOr<service::Parts> {
    auto* commands = kit.Own(std::make_unique<OfferCommands>(kit.DeciderOptions(), &kit.publisher(), &kit.applier(),
                                                             &kit.clock(), &kit.metrics()));
    RETURN_IF_ERROR(commands->Start());
    kit.AddHealthCheck([commands] { return commands->Health(); });

    // Expiry: an open offer whose valid-until has passed expires by itself (docs/OFFERS.md).
    auto* expiry = kit.Own(std::make_unique<schedule::Scheduler>(
        schedule::SchedulerOptions{.name = "offer-expiry", .family = kOfferDueFamily}, &kit.store(), &kit.clock(),
        &kit.metrics(), [commands](const std::vector<schedule::DueItem>& due) {
          std::vector<Command> expire;
          for (const auto& item : due) expire.push_back(ExpireOffer{item.id});
          auto results = commands->ExecuteAll(std::move(expire), {"offer-expiry", "system:offer-expiry"});
          for (size_t i = 0; i < results.size(); ++i) {
            if (!results[i].ok()) {
              log::Warn("offer expiry not recorded; retried at the next tick",
                        {{"offer_id", due[i].id}, {"error", results[i].status().ToString()}});
            }
          }
        }));
    expiry->Start();
    kit.OnShutdown([expiry] { expiry->Stop(); });

    auto* queries = kit.Own(std::make_unique<OfferQueries>(&kit.store(), &kit.clock()));
    auto* service = kit.Own(std::make_unique<FirstOffersService>(commands, queries, &kit.metrics()));
    return service::Parts{.services = {service}};
  });
}

}  // namespace sales::first_offers
