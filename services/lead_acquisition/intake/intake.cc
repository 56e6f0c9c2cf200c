#include "services/lead_acquisition/intake/intake.h"

#include "common/base/json.h"
#include "common/command/command_feed.h"

#include <google/protobuf/util/json_util.h>

#include "absl/time/clock.h"
#include "common/base/hash.h"
#include "common/base/log.h"
#include "common/kafka/dead_letter.h"
#include "common/base/strings.h"
#include "common/base/text.h"
#include "common/kafka/client_config.h"
#include "sales/intake/v1/inbound_lead.pb.h"

namespace sales::lead_acquisition {
namespace {

constexpr char kConsumerName[] = "intake";  // owner of the stored offsets and counters
// How operators see it: in dead letters' `dlq.consumer` header and in the Admin status.
constexpr char kShownName[] = "lead-acquisition/intake";

}  // namespace

StatusOr<api::v1::CaptureLeadRequest> ParseInboundLead(std::string_view json) {
  if (json.size() > kMaxInboundRecordBytes) {
    return InvalidField("record", StrCat("oversized: ", json.size(), " bytes (at most ", kMaxInboundRecordBytes, ")"));
  }
  if (json.empty()) return InvalidField("record", "empty");
  intake::v1::InboundLead in;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const Status parsed = ParseJsonMessage(json, &in, options);
  if (!parsed.ok()) {
    // The parser's first line says what is wrong; the lines after it quote the record raw (the
    // dead letter keeps the record itself).
    const std::string why(parsed.message());
    return InvalidField("record",
                        StrCat("not a valid JSON lead record: ", EscapeForDisplay(why.substr(0, why.find('\n')))));
  }
  if (in.schema_version() == 0) return InvalidField("schema_version", "required (this service reads version 1)");
  if (in.schema_version() != 1) {
    return InvalidField("schema_version", StrCat("unsupported version ", in.schema_version(), " (this service reads 1)"));
  }
  if (in.external_id().empty()) return InvalidField("external_id", "required: the record's id in the sending system");
  api::v1::CaptureLeadRequest r;
  // The sender's label, verbatim (the campaign when there is no source); the decider maps it to a
  // channel with the service's table, and an unknown label goes to the default channel.
  const std::string label = !in.source().empty() ? in.source() : in.campaign();
  if (label.empty()) {
    r.set_source(events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
  } else {
    r.set_source_label(label);
  }
  r.set_external_id(in.external_id());
  r.set_name(in.name());
  r.set_company(in.company());
  r.set_email(in.email());
  r.set_phone(in.phone());
  r.set_region(in.region());
  *r.mutable_product_interest() = in.product_interest();
  r.set_company_size(in.company_size());
  return r;
}

IntakeConsumer::IntakeConsumer(IntakeOptions options, LeadCommands* commands, Store* store,
                               kafka::EventPublisher* dead_letters, kafka::Admin* admin, MetricsRegistry* metrics)
    : options_(std::move(options)),
      commands_(commands),
      store_(store),
      dead_letters_(dead_letters),
      metrics_(metrics),
      topic_tag_(Sha256Hex(options_.topic).substr(0, 12)),
      consumer_({.client = options_.client,
                 .name = kConsumerName,
                 .topics = {options_.topic},
                 .properties = {{"group.id", "sales-lead-intake"}, {"fetch.wait.max.ms", "50"}},
                 .max_batch = 1000,
                 .poll_timeout = absl::Milliseconds(50),
                 .retry_backoff = absl::Seconds(1),
                 .kafka_timeout = options_.kafka_timeout},
                store, admin) {}

IntakeConsumer::~IntakeConsumer() { Stop(); }

Status IntakeConsumer::Start() {
  return consumer_.Start({.process = [this](std::vector<projection::Record>& batch) { return ProcessBatch(batch); },
                          .on_assign =
                              [this](const std::map<projection::TopicPartition, int64_t>& positions) {
                                std::lock_guard lock(mu_);
                                partitions_.clear();
                                for (const auto& [tp, next] : positions) partitions_.push_back(tp.second);
                              }});
}

StatusOr<api::v1::ProjectionStatus> IntakeConsumer::ConsumerStatus() const {
  api::v1::ProjectionStatus s;
  s.set_name(kShownName);
  s.set_kind("intake");
  s.add_dead_letter_topics(kafka::DeadLetterTopic(options_.topic));
  std::vector<int32_t> partitions;
  {
    std::lock_guard lock(mu_);
    partitions = partitions_;
  }
  bool caught_up = !partitions.empty();
  for (int32_t p : partitions) {
    ASSIGN_OR_RETURN(std::optional<int64_t> stored, store_->GetOffset(kConsumerName, options_.topic, p));
    const int64_t next = stored.value_or(0);
    const int64_t end = std::max<int64_t>(-1, consumer_.HighWatermark({options_.topic, p}));  // -1: not known yet
    auto* part = s.add_partitions();
    part->set_topic(options_.topic);
    part->set_partition(p);
    part->set_next_offset(next);
    part->set_end_offset(end);
    part->set_lag(end < 0 ? -1 : std::max<int64_t>(0, end - next));
    caught_up = caught_up && part->lag() == 0;
  }
  s.set_caught_up(caught_up);
  int64_t counts[4];
  const char* names[4] = {"created", "linked", "duplicate", "rejected"};
  for (int i = 0; i < 4; ++i) {
    ASSIGN_OR_RETURN(counts[i], store_->GetCounter(StrCat("intake/", names[i])));
  }
  s.set_events_applied(counts[0] + counts[1]);
  s.set_duplicates_skipped(counts[2]);
  s.set_dead_lettered(counts[3]);
  return s;
}

Status IntakeConsumer::ProcessBatch(std::vector<projection::Record>& messages) {
  std::vector<Command> commands;
  std::vector<size_t> command_of;  // message index of each command
  std::vector<std::pair<size_t, Status>> rejected;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    auto parsed = ParseInboundLead(m.value);
    if (!parsed.ok()) {
      rejected.emplace_back(i, parsed.status());
      continue;
    }
    // The record's position (topic fingerprint, partition, offset): the same record always makes
    // the same command, whatever else is sent, however often the topic is replayed.
    parsed->set_idempotency_key(StrCat("intake:", topic_tag_, ":", m.partition, ":", m.offset));
    commands.push_back(std::move(*parsed));
    command_of.push_back(i);
  }
  Caller caller{"", "marketing-intake"};
  std::vector<StatusOr<CommandResult>> results = commands_->ExecuteAll(std::move(commands), caller);
  std::map<std::string, int64_t> outcomes;
  for (size_t k = 0; k < results.size(); ++k) {
    const Status& s = results[k].status();
    if (!s.ok() && !command::RefusedForGood(s)) {
      // Kafka down, the decider's queue full, store trouble: retried from the stored offsets; the
      // commands answer as retries then. Only a refusal for good dead-letters the record.
      return s;
    }
    if (!s.ok()) {
      rejected.emplace_back(command_of[k], s);
      continue;
    }
    const auto o = results[k]->capture;
    if (!results[k]->left_out.empty()) {
      // The record became a lead without a malformed value: said where operators look.
      std::string left_out;
      for (const auto& v : results[k]->left_out) StrAppend(&left_out, left_out.empty() ? "" : "; ", v);
      const auto& m = messages[command_of[k]];
      log::Warn("inbound lead: value left out", {{"partition", m.partition}, {"offset", m.offset},
                                                 {"lead_id", results[k]->aggregate_id}, {"left_out", left_out}});
    }
    outcomes[o == api::v1::CAPTURE_OUTCOME_CREATED && !results[k]->replayed ? "created"
             : o == api::v1::CAPTURE_OUTCOME_LINKED && !results[k]->replayed ? "linked"
                                                                             : "duplicate"]++;
  }
  // Dead letters are acknowledged before the offsets move past them.
  if (!rejected.empty()) {
    std::vector<kafka::OutgoingMessage> parked;
    for (const auto& [i, reason] : rejected) {
      const auto& m = messages[i];
      kafka::OutgoingMessage d = kafka::MakeDeadLetter(m.key, m.value, m.headers, reason,
                                                       {kShownName, m.topic, m.partition, m.offset},
                                                       absl::Now());
      parked.push_back(std::move(d));
      log::Warn("inbound lead rejected", {{"partition", m.partition}, {"offset", m.offset},
                                           {"reason", std::string(reason.message())}});
    }
    RETURN_IF_ERROR(kafka::AllDelivered(dead_letters_->Publish(std::move(parked), options_.kafka_timeout)).status());
    outcomes["rejected"] += static_cast<int64_t>(rejected.size());
  }
  Batch batch = store_->NewBatch();
  for (const auto& m : messages) batch.SetOffset(kConsumerName, options_.topic, m.partition, m.offset + 1);
  for (const auto& [outcome, n] : outcomes) RETURN_IF_ERROR(batch.AddToCounter(StrCat("intake/", outcome), n));
  RETURN_IF_ERROR(store_->Commit(batch));
  for (const auto& [outcome, n] : outcomes) {
    metrics_->GetCounter("sales_intake_records_total", "Inbound marketing records by outcome.", {{"outcome", outcome}})
        .Inc(n);
  }
  return absl::OkStatus();
}

}  // namespace sales::lead_acquisition
