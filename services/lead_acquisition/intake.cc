#include "services/lead_acquisition/intake.h"

#include <google/protobuf/util/json_util.h>
#include <librdkafka/rdkafkacpp.h>

#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/kafka/client_config.h"
#include "sales/intake/v1/inbound_lead.pb.h"

namespace sales::lead_acquisition {
namespace {

constexpr char kConsumerName[] = "intake";

StatusOr<events::v1::LeadSource> SourceFromName(const std::string& name) {
  static const std::pair<const char*, events::v1::LeadSource> kNames[] = {
      {"web_form", events::v1::LEAD_SOURCE_WEB_FORM},     {"marketing_system", events::v1::LEAD_SOURCE_MARKETING_SYSTEM},
      {"inbound_call", events::v1::LEAD_SOURCE_INBOUND_CALL}, {"manual", events::v1::LEAD_SOURCE_MANUAL},
      {"referral", events::v1::LEAD_SOURCE_REFERRAL},     {"event", events::v1::LEAD_SOURCE_EVENT}};
  if (name.empty()) return events::v1::LEAD_SOURCE_MARKETING_SYSTEM;
  for (const auto& [n, s] : kNames) {
    if (name == n) return s;
  }
  return InvalidField("source", StrCat("\"", name, "\" is not one of web_form, marketing_system, inbound_call, "
                                       "manual, referral, event"));
}

}  // namespace

StatusOr<api::v1::CaptureLeadRequest> ParseInboundLead(std::string_view json) {
  if (json.size() > kMaxInboundRecordBytes) {
    return InvalidField("record", StrCat("oversized: ", json.size(), " bytes (at most ", kMaxInboundRecordBytes, ")"));
  }
  if (json.empty()) return InvalidField("record", "empty");
  intake::v1::InboundLead in;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &in, options);
  if (!parsed.ok()) {
    return InvalidField("record", StrCat("not a valid JSON lead record: ", std::string(parsed.message())));
  }
  if (in.schema_version() == 0) return InvalidField("schema_version", "required (this service reads version 1)");
  if (in.schema_version() != 1) {
    return InvalidField("schema_version", StrCat("unsupported version ", in.schema_version(), " (this service reads 1)"));
  }
  if (in.external_id().empty()) return InvalidField("external_id", "required: the record's id in the sending system");
  api::v1::CaptureLeadRequest r;
  ASSIGN_OR_RETURN(events::v1::LeadSource source, SourceFromName(in.source()));
  r.set_source(source);
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
      admin_(admin),
      metrics_(metrics) {}

IntakeConsumer::~IntakeConsumer() { Stop(); }

Status IntakeConsumer::Start() {
  ASSIGN_OR_RETURN(auto conf, kafka::MakeConf(options_.client, {{"group.id", "sales-lead-intake"},
                                                                 {"enable.auto.commit", "false"},
                                                                 {"enable.auto.offset.store", "false"},
                                                                 {"auto.offset.reset", "earliest"},
                                                                 {"fetch.wait.max.ms", "50"},
                                                                 {"reconnect.backoff.max.ms", "1000"}}));
  std::string err;
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer_) return absl::InvalidArgumentError(StrCat("kafka consumer: ", err));
  ASSIGN_OR_RETURN(partitions_, admin_->PartitionCount(options_.topic, options_.kafka_timeout));
  RETURN_IF_ERROR(Assign());
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

Status IntakeConsumer::Assign() {
  std::vector<RdKafka::TopicPartition*> partitions;
  for (int32_t p = 0; p < partitions_; ++p) {
    ASSIGN_OR_RETURN(auto stored, store_->GetOffset(kConsumerName, options_.topic, p));
    partitions.push_back(RdKafka::TopicPartition::create(options_.topic, p,
                                                         stored ? *stored : RdKafka::Topic::OFFSET_BEGINNING));
  }
  RdKafka::ErrorCode code = consumer_->assign(partitions);
  RdKafka::TopicPartition::destroy(partitions);
  if (code != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(StrCat("kafka assign: ", RdKafka::err2str(code)));
  return absl::OkStatus();
}

void IntakeConsumer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (consumer_) {
    consumer_->close();
    consumer_.reset();
  }
}

void IntakeConsumer::Run() {
  log::Info("marketing intake started", {{"topic", options_.topic}});
  while (!stopping_) {
    std::vector<std::unique_ptr<RdKafka::Message>> batch;
    int timeout = static_cast<int>(absl::ToInt64Milliseconds(options_.poll_timeout));
    while (static_cast<int>(batch.size()) < options_.max_batch) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(timeout));
      timeout = 0;
      if (m->err() == RdKafka::ERR_NO_ERROR) {
        batch.push_back(std::move(m));
      } else {
        if (m->err() != RdKafka::ERR__TIMED_OUT && m->err() != RdKafka::ERR__PARTITION_EOF) {
          log::Warn("kafka consume error", {{"consumer", kConsumerName}, {"error", m->errstr()}});
        }
        break;
      }
    }
    if (batch.empty()) continue;
    if (Status s = ProcessBatch(batch); !s.ok()) {
      log::Error("intake batch failed; retrying from the stored offsets", {{"error", s.ToString()}});
      for (absl::Time until = absl::Now() + options_.retry_backoff; !stopping_ && absl::Now() < until;) {
        absl::SleepFor(absl::Milliseconds(20));
      }
      if (Status a = Assign(); !a.ok()) log::Error("re-assign failed", {{"error", a.ToString()}});
    }
  }
  log::Info("marketing intake stopped");
}

Status IntakeConsumer::ProcessBatch(std::vector<std::unique_ptr<RdKafka::Message>>& messages) {
  std::vector<Command> commands;
  std::vector<size_t> command_of;  // message index of each command
  std::vector<std::pair<size_t, Status>> rejected;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = *messages[i];
    auto parsed = ParseInboundLead(std::string_view(static_cast<const char*>(m.payload()), m.len()));
    if (!parsed.ok()) {
      rejected.emplace_back(i, parsed.status());
      continue;
    }
    parsed->set_idempotency_key(StrCat("intake:", m.partition(), ":", m.offset()));
    commands.push_back(std::move(*parsed));
    command_of.push_back(i);
  }
  Caller caller{"", "marketing-intake"};
  std::vector<StatusOr<CommandResult>> results = commands_->ExecuteAll(std::move(commands), caller);
  std::map<std::string, int64_t> outcomes;
  for (size_t k = 0; k < results.size(); ++k) {
    const Status& s = results[k].status();
    if (s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kInternal ||
        s.code() == absl::StatusCode::kDataLoss) {
      return s;  // retried from the stored offsets; the commands answer as retries then
    }
    if (!s.ok()) {
      rejected.emplace_back(command_of[k], s);
      continue;
    }
    const auto o = results[k]->capture;
    outcomes[o == api::v1::CAPTURE_OUTCOME_CREATED && !results[k]->replayed ? "created"
             : o == api::v1::CAPTURE_OUTCOME_LINKED && !results[k]->replayed ? "linked"
                                                                             : "duplicate"]++;
  }
  // Dead letters are acknowledged before the offsets move past them.
  if (!rejected.empty()) {
    std::vector<kafka::OutgoingMessage> parked;
    for (const auto& [i, reason] : rejected) {
      const auto& m = *messages[i];
      kafka::OutgoingMessage d{kafka::DeadLetterTopic(options_.topic), m.key() ? *m.key() : "",
                               std::string(static_cast<const char*>(m.payload()), m.len()), {}};
      d.headers = {{"dlq.reason", std::string(reason.message())},
                   {"dlq.code", absl::StatusCodeToString(reason.code())},
                   {"dlq.consumer", "lead-acquisition/intake"},
                   {"dlq.source.topic", options_.topic},
                   {"dlq.source.partition", StrCat(m.partition())},
                   {"dlq.source.offset", StrCat(m.offset())}};
      parked.push_back(std::move(d));
      log::Warn("inbound lead rejected", {{"partition", m.partition()}, {"offset", m.offset()},
                                           {"reason", std::string(reason.message())}});
    }
    RETURN_IF_ERROR(kafka::AllDelivered(dead_letters_->Publish(std::move(parked), options_.kafka_timeout)).status());
    outcomes["rejected"] += static_cast<int64_t>(rejected.size());
  }
  Batch batch = store_->NewBatch();
  for (const auto& m : messages) batch.SetOffset(kConsumerName, options_.topic, m->partition(), m->offset() + 1);
  for (const auto& [outcome, n] : outcomes) RETURN_IF_ERROR(batch.AddToCounter(StrCat("intake/", outcome), n));
  RETURN_IF_ERROR(store_->Commit(batch));
  for (const auto& [outcome, n] : outcomes) {
    metrics_->GetCounter("sales_intake_records_total", "Inbound marketing records by outcome.", {{"outcome", outcome}})
        .Inc(n);
  }
  return absl::OkStatus();
}

}  // namespace sales::lead_acquisition
