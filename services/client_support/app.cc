#include "services/client_support/app.h"

#include "common/base/log.h"
#include "common/auth/tokens.h"
#include "common/command/command_feed.h"
#include "common/events/envelope.h"
#include "common/kafka/client_config.h"
#include "common/schedule/scheduler.h"
#include "common/service/service.h"
#include "services/client_support/api/attention_http.h"
#include "services/client_support/api/grpc_service.h"
#include "services/client_support/projection/clients_projection.h"

namespace sales::client_support {
namespace {

using Feed = command::CommandFeed<Command, CommandResult>;

// First offers' events: an acceptance that converts a lead opens a client; the rest is not ours.
StatusOr<std::optional<Command>> ConversionOf(const projection::Record& record) {
  StatusOr<EventEnvelope> e = events::DecodeAnyPayload(record.value);
  // A record first offers itself cannot read is its dead letter, not ours: step over it.
  if (!e.ok() || e->payload_case() != EventEnvelope::kOffer || !e->offer().has_accepted() ||
      !e->offer().accepted().converts_lead()) {
    return std::optional<Command>();
  }
  return std::optional<Command>(OpenClient{std::move(*e)});
}

StatusOr<std::optional<Command>> CallOf(const projection::Record& record) {
  ASSIGN_OR_RETURN(PbxCall call, ParseInboundCall(record.value));
  return std::optional<Command>(RecordCall{std::move(call)});
}

}  // namespace

int RunService(int argc, char** argv) {
  std::string sla_spec;
  service::Spec spec{.name = "client-support",
                     .grpc_port = 50053,
                     .http_port = 9103,
                     .own_topic = service::topics::kClients,
                     // Its projection reads lead acquisition's manager roster (PBX extensions) and
                     // first offers' catalogue (unit costs of repeat orders); the rest of those
                     // topics is stepped over.
                     .read_topics = {service::topics::kLeads, service::topics::kOffers},
                     .inbound_topics = {service::topics::kTelephonyCallsInbound},
                     .feed_topics = {service::topics::kOffers},
                     // Its rebuild reads past 8 MiB a second (~300-byte events at 28,000/s), and
                     // librdkafka 2.0 refetches a full queue only after a second: 16 MiB lets it
                     // run at 37,000/s (docs/PERFORMANCE.md, run 21).
                     .projection_prefetch_kbytes = 16384,
                     .declare = [&](Config& c) {
                       c.AddString("sla", "SALES_SLA", "urgent=1h/8h,high=4h/24h,normal=8h/72h,low=24h/168h",
                                   "first-response/resolution targets per ticket priority (docs/CLIENTS.md)",
                                   &sla_spec);
                     }};
  ClientsProjection projection;
  return service::Main(argc, argv, spec, &projection, [&](service::Kit& kit) -> StatusOr<service::Parts> {
    StatusOr<SlaTable> sla = ParseSla(sla_spec);
    if (!sla.ok()) return absl::InvalidArgumentError(StrCat("--sla: ", sla.status().message()));
    auto* commands = kit.Own(std::make_unique<ClientCommands>(kit.DeciderOptions(), *sla, &kit.publisher(),
                                                              &kit.applier(), &kit.clock(), &kit.metrics()));
    RETURN_IF_ERROR(commands->Start());
    kit.AddHealthCheck([commands] { return commands->Health(); });
    auto execute = [commands](std::vector<Command> c, const Caller& caller) {
      return commands->ExecuteAll(std::move(c), caller);
    };

    // Clients open from first offers' conversions; PBX call records become interactions.
    auto* conversions = kit.Own(std::make_unique<Feed>(
        command::CommandFeedOptions{.name = "conversions",
                                    .client = kit.client(),
                                    .topic = kit.Topic(service::topics::kOffers),
                                    .caller = {"", "system:client-opening"},
                                    .dead_letter_topic = kafka::DeadLetterTopic(kit.Topic(service::topics::kClients))},
        ConversionOf, execute, &kit.store(), &kit.dead_letter_publisher(), &kit.admin(), &kit.metrics()));
    auto* pbx = kit.Own(std::make_unique<Feed>(
        command::CommandFeedOptions{.name = "pbx-intake",
                                    .client = kit.client(),
                                    .topic = kit.Topic(service::topics::kTelephonyCallsInbound),
                                    .caller = {"", "pbx-intake"}},
        CallOf, execute, &kit.store(), &kit.dead_letter_publisher(), &kit.admin(), &kit.metrics()));
    for (Feed* feed : {conversions, pbx}) {
      RETURN_IF_ERROR(feed->Start());
      kit.OnShutdown([feed] { feed->Stop(); });
      kit.AddConsumerStatus(feed);  // Admin: position, lag, counts and dead letters beside the projection
    }

    // SLA breaches: a ticket that passed a target without meeting it (docs/CLIENTS.md).
    auto* sla_scheduler = kit.Own(std::make_unique<schedule::Scheduler>(
        schedule::SchedulerOptions{.name = "sla-breach", .family = kSlaDueFamily}, &kit.store(), &kit.clock(),
        &kit.metrics(), [commands](const std::vector<schedule::DueItem>& due) {
          std::vector<Command> breaches;
          for (const auto& item : due) {
            BreachSla b;
            b.due = item.due;
            if (ParseSlaDueId(item.id, &b.client_id, &b.ticket_id, &b.kind)) breaches.push_back(std::move(b));
          }
          for (const auto& r : commands->ExecuteAll(std::move(breaches), {"sla-breach", "system:sla"})) {
            if (!r.ok()) log::Warn("SLA breach not recorded; retried at the next tick", {{"error", r.status().ToString()}});
          }
        }));
    sla_scheduler->Start();
    kit.OnShutdown([sla_scheduler] { sla_scheduler->Stop(); });

    auto* queries = kit.Own(std::make_unique<ClientQueries>(&kit.store(), &kit.clock(), HealthRules()));
    auto* service = kit.Own(std::make_unique<ClientSupportService>(commands, queries, &kit.metrics()));
    // The attention list for the reporting dashboard's clients page (read by the browser), to
    // whoever may list clients.
    kit.AddHttpRoute(kAttentionPath, auth::AllowedRoles(api::v1::ClientSupport::service_full_name(), "ListClients"),
                     [queries](const HttpRequest& r) { return AttentionList(*queries, r); });
    return service::Parts{.services = {service}};
  });
}

}  // namespace sales::client_support
