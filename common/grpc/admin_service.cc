#include "common/base/json.h"
#include "common/grpc/admin_service.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/text.h"
#include "common/events/envelope.h"
#include "common/grpc/request_context.h"
#include "common/grpc/status.h"
#include "common/kafka/client_config.h"
#include "common/store/store.h"

namespace sales::grpc_util {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kDecisionHeader[] = "dlq.decision";
constexpr char kRedriven[] = "redriven";
constexpr char kDiscarded[] = "discarded";

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
}

std::string ToJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, options).ok()) return "";
  return out;
}

// The envelope's payload (the member of its oneof that is set) as JSON; "" when none is set.
std::string PayloadJson(const events::EventEnvelope& e) {
  const auto* oneof = e.GetDescriptor()->FindOneofByName("payload");
  const auto* field = oneof ? e.GetReflection()->GetOneofFieldDescriptor(e, oneof) : nullptr;
  if (!field) return "";
  return ToJson(e.GetReflection()->GetMessage(e, field));
}

using Position = std::tuple<std::string, int32_t, int64_t>;

Position PositionOf(const api::v1::DeadLetterRef& ref) { return {ref.topic(), ref.partition(), ref.offset()}; }

std::string RefText(const api::v1::DeadLetterRef& ref) {
  return StrCat(ref.topic(), "/", ref.partition(), "/", ref.offset());
}

bool IsBadRecord(const Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument || s.code() == absl::StatusCode::kFailedPrecondition;
}

// Fills what a dead letter says about itself (headers) and, when asked, its decoded payload.
api::v1::DeadLetter Describe(const kafka::LogMessage& m, bool decode) {
  api::v1::DeadLetter d;
  d.mutable_ref()->set_topic(m.topic);
  d.mutable_ref()->set_partition(m.partition);
  d.mutable_ref()->set_offset(m.offset);
  d.set_reason(m.Header("dlq.reason"));
  d.set_code(m.Header("dlq.code"));
  d.set_consumer(m.Header("dlq.consumer"));
  d.set_source_topic(m.Header("dlq.source.topic"));
  int32_t partition = -1;
  int64_t offset = -1;
  (void)absl::SimpleAtoi(m.Header("dlq.source.partition"), &partition);
  (void)absl::SimpleAtoi(m.Header("dlq.source.offset"), &offset);
  d.set_source_partition(partition);
  d.set_source_offset(offset);
  absl::Time at;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, m.Header("dlq.at"), &at, &err)) {
    *d.mutable_parked_at() = ToProto(at);
  } else if (m.timestamp != absl::InfinitePast()) {
    *d.mutable_parked_at() = ToProto(m.timestamp);
  }
  d.set_key(IsValidUtf8(m.key) ? m.key : EscapeForDisplay(m.key));
  d.set_payload_bytes(static_cast<int64_t>(m.value.size()));
  d.set_state(api::v1::DEAD_LETTER_STATE_PENDING);
  auto envelope = events::DecodeAnyPayload(m.value);
  if (envelope.ok()) {
    d.set_event_type(envelope->event_type());
    d.set_aggregate_id(envelope->aggregate_id());
    if (decode) d.set_payload_json(ToJson(*envelope));
  } else if (decode) {
    google::protobuf::Struct json;
    if (IsValidUtf8(m.value) && ParseJsonMessage(m.value, &json).ok()) {
      d.set_payload_json(m.value);  // an inbound record (JSON), shown as it came
    } else {
      d.set_decode_error(EscapeForDisplay(ToStd(envelope.status().message())));
    }
  }
  if (!m.Header("dlq.truncated").empty()) {
    d.set_decode_error(StrCat("the value was cut to ", m.value.size(), " of ", m.Header("dlq.truncated"),
                              " bytes when it was parked"));
  }
  return d;
}

Status CheckRef(const api::v1::DeadLetterRef& ref, const std::vector<std::string>& topics, const std::string& field) {
  std::vector<FieldViolation> v;
  if (std::find(topics.begin(), topics.end(), ref.topic()) == topics.end()) {
    v.push_back({field + ".topic", StrCat("\"", EscapeForDisplay(ref.topic()),
                                          "\" is not a dead-letter topic of this service (",
                                          absl::StrJoin(topics, ", "), ")")});
  }
  if (ref.partition() < 0) v.push_back({field + ".partition", "must be 0 or more"});
  if (ref.offset() < 0) v.push_back({field + ".offset", "must be 0 or more"});
  if (!v.empty()) return InvalidArgument(std::move(v));
  return absl::OkStatus();
}

}  // namespace

// Every dead letter of some topics with its state, folded from the decision records.
struct AdminService::Listing {
  std::vector<api::v1::DeadLetter> letters;  // topic, partition, offset order
  std::map<Position, std::string> values;    // with keep_payloads
  std::map<Position, std::vector<std::pair<std::string, std::string>>> headers;
};

AdminService::AdminService(AdminOptions options, std::vector<Entry> projections,
                           std::vector<const ConsumerStatusSource*> others)
    : options_(std::move(options)),
      projections_(std::move(projections)),
      others_(std::move(others)),
      reader_(options_.client, options_.kafka_timeout) {
  if (!options_.metrics) return;
  MetricsRegistry* metrics = options_.metrics;
  collector_ = metrics->AddCollector([this, metrics] {
    auto status = Consumers();
    if (!status.ok()) {
      log::Warn("consumer status unavailable for /metrics", {{"error", status.status().ToString()}});
      return;
    }
    for (const auto& c : status->projections()) {
      metrics->GetGauge("sales_dlq_records",
                        "Records a consumer refused and parked in its dead-letter topic (<topic>.dlq); persisted, "
                        "so it survives restarts.",
                        {{"consumer", c.name()}, {"kind", c.kind()}})
          .Set(static_cast<double>(c.dead_lettered()));
    }
    if (options_.store) {
      metrics->GetGauge("sales_store_bytes", "Bytes of the service's RocksDB store on disk.", {})
          .Set(static_cast<double>(options_.store->DiskBytes()));
    }
  });
}

AdminService::~AdminService() {
  if (options_.metrics) options_.metrics->RemoveCollector(collector_);
}

Status AdminService::Ready(bool needs_publisher) const {
  if (!options_.store || !options_.admin || options_.client.bootstrap_servers.empty() ||
      (needs_publisher && !options_.publisher)) {
    return absl::FailedPreconditionError("this Admin service was built without Kafka or a store");
  }
  return absl::OkStatus();
}

std::string AdminService::Resolve(const std::string& topic, const std::vector<std::string>& known) const {
  if (topic.empty() || std::find(known.begin(), known.end(), topic) != known.end()) return topic;
  const std::string prefixed = options_.topic_prefix + topic;
  return std::find(known.begin(), known.end(), prefixed) != known.end() ? prefixed : topic;
}

api::v1::DeadLetterRef AdminService::Resolve(const api::v1::DeadLetterRef& ref) const {
  api::v1::DeadLetterRef out = ref;
  out.set_topic(Resolve(ref.topic(), DeadLetterTopics()));
  return out;
}

const AdminService::Entry* AdminService::EntryNamed(const std::string& name) const {
  for (const auto& e : projections_) {
    if (e.runner->name() == name) return &e;
  }
  return nullptr;
}

StatusOr<api::v1::GetProjectionStatusResponse> AdminService::Consumers(bool lag_times) const {
  api::v1::GetProjectionStatusResponse response;
  response.set_service(options_.service);
  if (options_.store) {
    response.set_store_bytes(options_.store->DiskBytes());
    response.set_store_path(options_.store->path());
  }
  const absl::Time now = absl::Now();
  for (const auto& [runner, applier] : projections_) {
    Store* store = applier->store();
    auto* p = response.add_projections();
    p->set_name(runner->name());
    p->set_kind("projection");
    std::set<std::string> topics;
    int64_t total_lag = 0;
    double max_lag_seconds = 0;
    for (const auto& progress : runner->Progress()) {
      auto* part = p->add_partitions();
      part->set_topic(progress.topic);
      part->set_partition(progress.partition);
      part->set_next_offset(progress.next_offset);
      part->set_end_offset(progress.end_offset);
      const int64_t lag =
          progress.end_offset < 0 ? -1 : std::max<int64_t>(0, progress.end_offset - progress.next_offset);
      part->set_lag(lag);
      total_lag = lag < 0 || total_lag < 0 ? -1 : total_lag + lag;
      if (lag > 0 && lag_times) {
        // The oldest unapplied event is the one at next_offset: its age is the lag as a time.
        auto oldest = reader_.ReadAt(progress.topic, progress.partition, {progress.next_offset});
        if (oldest.ok() && !oldest->empty() && oldest->front().timestamp != absl::InfinitePast()) {
          part->set_lag_seconds(std::max(0.0, absl::ToDoubleSeconds(now - oldest->front().timestamp)));
        } else {
          part->set_lag_seconds(-1);
        }
        max_lag_seconds = std::max(max_lag_seconds, part->lag_seconds());
      }
      topics.insert(progress.topic);
    }
    p->set_lag(total_lag);
    p->set_lag_seconds(max_lag_seconds);
    std::set<std::string> dead_letter_topics;
    for (const auto& t : topics) dead_letter_topics.insert(runner->DeadLetterTopicFor(t));
    for (const auto& t : dead_letter_topics) p->add_dead_letter_topics(t);
    ASSIGN_OR_RETURN(int64_t applied, store->GetCounter(projection::AppliedCounter(runner->name())));
    ASSIGN_OR_RETURN(int64_t duplicates, store->GetCounter(projection::DuplicateCounter(runner->name())));
    ASSIGN_OR_RETURN(int64_t dead, store->GetCounter(projection::DeadLetterCounter(runner->name())));
    ASSIGN_OR_RETURN(int64_t skipped, store->GetCounter(projection::SkippedCounter(runner->name())));
    ASSIGN_OR_RETURN(int64_t redriven, store->GetCounter(projection::RedrivenCounter(runner->name())));
    p->set_events_applied(applied);
    p->set_duplicates_skipped(duplicates);
    p->set_dead_lettered(dead);
    p->set_caught_up(runner->caught_up());
    p->set_not_used(skipped);
    p->set_dead_letters_redriven(redriven);
    if (Status health = runner->Health(); !health.ok()) p->set_health(std::string(health.message()));
  }
  for (const ConsumerStatusSource* other : others_) {
    ASSIGN_OR_RETURN(api::v1::ProjectionStatus s, other->ConsumerStatus());
    int64_t lag = 0;
    for (const auto& part : s.partitions()) lag = part.lag() < 0 || lag < 0 ? -1 : lag + part.lag();
    s.set_lag(lag);
    *response.add_projections() = std::move(s);
  }
  return response;
}

StatusOr<RequestContext> AdminService::Admit(::grpc::ServerContext* context, const char* method) const {
  RequestContext rc = FromServerContext(context);
  RETURN_IF_ERROR(Authorize(rc, api::v1::Admin::service_full_name(), method));
  return rc;
}

::grpc::Status AdminService::GetProjectionStatus(::grpc::ServerContext* context, const api::v1::GetProjectionStatusRequest*,
                                                 api::v1::GetProjectionStatusResponse* response) {
  auto caller = Admit(context, "GetProjectionStatus");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  auto status = Consumers(/*lag_times=*/!options_.client.bootstrap_servers.empty());
  if (!status.ok()) return ToGrpcStatus(status.status());
  *response = std::move(*status);
  return ::grpc::Status::OK;
}

std::vector<std::string> AdminService::DeadLetterTopics() const {
  std::set<std::string> topics;
  auto consumers = Consumers();
  if (consumers.ok()) {
    for (const auto& c : consumers->projections()) topics.insert(c.dead_letter_topics().begin(), c.dead_letter_topics().end());
  }
  return {topics.begin(), topics.end()};
}

std::vector<std::string> AdminService::ProjectedTopics() const {
  std::set<std::string> topics;
  for (const auto& e : projections_) {
    for (const auto& p : e.runner->Progress()) topics.insert(p.topic);
  }
  return {topics.begin(), topics.end()};
}

StatusOr<AdminService::Listing> AdminService::ReadDeadLetters(const std::vector<std::string>& topics,
                                                              bool keep_payloads) const {
  struct Decision {
    std::string kind, reason, actor;
    absl::Time at;
  };
  Listing listing;
  std::map<Position, Decision> decisions;
  for (const std::string& topic : topics) {
    auto partitions = options_.admin->PartitionCount(topic, options_.kafka_timeout);
    if (absl::IsNotFound(partitions.status())) continue;  // nothing was ever parked there
    RETURN_IF_ERROR(partitions.status());
    for (int32_t p = 0; p < *partitions; ++p) {
      ASSIGN_OR_RETURN(kafka::Watermarks w, options_.admin->QueryWatermarks(topic, p, options_.kafka_timeout));
      RETURN_IF_ERROR(reader_.Scan(topic, p, w.low, w.high, [&](const kafka::LogMessage& m) {
        if (const std::string kind = m.Header(kDecisionHeader); !kind.empty()) {
          int32_t partition = -1;
          int64_t offset = -1;
          if (absl::SimpleAtoi(m.Header("dlq.decision.partition"), &partition) &&
              absl::SimpleAtoi(m.Header("dlq.decision.offset"), &offset)) {
            absl::Time at = m.timestamp;
            std::string err;
            (void)absl::ParseTime(absl::RFC3339_full, m.Header("dlq.decision.at"), &at, &err);
            // The first decision stands (a repeated one, e.g. after a retried publish, changes nothing).
            decisions.emplace(Position{topic, partition, offset},
                              Decision{kind, m.Header("dlq.decision.reason"), m.Header("dlq.decision.actor"), at});
          }
          return true;
        }
        listing.letters.push_back(Describe(m, /*decode=*/false));
        if (keep_payloads) {
          const Position pos{m.topic, m.partition, m.offset};
          listing.values[pos] = m.value;
          listing.headers[pos] = m.headers;
        }
        return true;
      }));
    }
  }
  for (auto& d : listing.letters) {
    const Position pos = PositionOf(d.ref());
    auto it = decisions.find(pos);
    bool redriven_here = false;
    if (const Entry* e = EntryNamed(d.consumer())) {
      auto marker = e->applier->store()->Get(Store::kMetaFamily, projection::RedrivenKey(d.ref().topic(),
                                                                                          d.ref().partition(),
                                                                                          d.ref().offset()));
      RETURN_IF_ERROR(marker.status());
      redriven_here = marker->has_value();
    }
    if (it != decisions.end()) {
      d.set_state(it->second.kind == kRedriven ? api::v1::DEAD_LETTER_STATE_REDRIVEN
                                               : api::v1::DEAD_LETTER_STATE_DISCARDED);
      d.set_decision_reason(it->second.reason);
      d.set_decided_by(it->second.actor);
      *d.mutable_decided_at() = ToProto(it->second.at);
    } else if (redriven_here) {
      // Applied, but the decision record was not written (a crash or an outage in between).
      d.set_state(api::v1::DEAD_LETTER_STATE_REDRIVEN);
    }
    const bool whole = d.decode_error().find("was cut") == std::string::npos;
    d.set_redrivable(d.state() == api::v1::DEAD_LETTER_STATE_PENDING && whole && EntryNamed(d.consumer()) != nullptr);
  }
  return listing;
}

::grpc::Status AdminService::ListDeadLetters(::grpc::ServerContext* context, const api::v1::ListDeadLettersRequest* request,
                                             api::v1::ListDeadLettersResponse* response) {
  auto caller = Admit(context, "ListDeadLetters");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (Status s = Ready(); !s.ok()) return ToGrpcStatus(s);
  std::vector<std::string> topics = DeadLetterTopics();
  std::vector<FieldViolation> violations;
  if (!request->topic().empty()) {
    const std::string topic = Resolve(request->topic(), topics);
    if (std::find(topics.begin(), topics.end(), topic) == topics.end()) {
      violations.push_back({"topic", StrCat("\"", EscapeForDisplay(request->topic()),
                                            "\" is not a dead-letter topic of this service (",
                                            absl::StrJoin(topics, ", "), ")")});
    }
    topics = {topic};
  }
  if (request->limit() < 0 || request->limit() > 10000) violations.push_back({"limit", "must be 0 to 10,000"});
  if (!violations.empty()) return ToGrpcStatus(InvalidArgument(std::move(violations)));
  const int limit = request->limit() ? request->limit() : 100;
  auto listing = ReadDeadLetters(topics, /*keep_payloads=*/false);
  if (!listing.ok()) return ToGrpcStatus(listing.status());
  for (auto& d : listing->letters) {
    response->set_total(response->total() + 1);
    const bool pending = d.state() == api::v1::DEAD_LETTER_STATE_PENDING;
    if (pending) response->set_pending(response->pending() + 1);
    if ((pending || request->include_decided()) && response->dead_letters_size() < limit) {
      *response->add_dead_letters() = std::move(d);
    }
  }
  return ::grpc::Status::OK;
}

StatusOr<api::v1::DeadLetter> AdminService::FindDeadLetter(const api::v1::DeadLetterRef& ref, const std::string& field,
                                                           Listing* listing, std::string* value) const {
  RETURN_IF_ERROR(CheckRef(ref, DeadLetterTopics(), field));
  ASSIGN_OR_RETURN(*listing, ReadDeadLetters({ref.topic()}, /*keep_payloads=*/true));
  for (const auto& d : listing->letters) {
    if (PositionOf(d.ref()) != PositionOf(ref)) continue;
    if (value) *value = listing->values[PositionOf(ref)];
    return d;
  }
  return absl::NotFoundError(StrCat("no dead letter at ", RefText(ref)));
}

::grpc::Status AdminService::GetDeadLetter(::grpc::ServerContext* context, const api::v1::GetDeadLetterRequest* request,
                                           api::v1::DeadLetter* response) {
  auto caller = Admit(context, "GetDeadLetter");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (Status s = Ready(); !s.ok()) return ToGrpcStatus(s);
  const api::v1::DeadLetterRef ref = Resolve(request->ref());
  Listing listing;
  auto found = FindDeadLetter(ref, "ref", &listing, nullptr);
  if (!found.ok()) return ToGrpcStatus(found.status());
  // Decode the payload now that it is the one asked for.
  kafka::LogMessage m;
  m.topic = ref.topic();
  m.partition = ref.partition();
  m.offset = ref.offset();
  m.key = found->key();
  m.value = listing.values[PositionOf(ref)];
  m.headers = listing.headers[PositionOf(ref)];
  api::v1::DeadLetter decoded = Describe(m, /*decode=*/true);
  found->set_payload_json(decoded.payload_json());
  found->set_decode_error(decoded.decode_error());
  *response = std::move(*found);
  return ::grpc::Status::OK;
}

Status AdminService::RecordDecision(const api::v1::DeadLetterRef& ref, const std::string& decision,
                                    const std::string& reason, const std::string& actor) const {
  kafka::OutgoingMessage m;
  m.topic = ref.topic();
  m.key = "dlq.decision";
  m.headers = {{kDecisionHeader, decision},
               {"dlq.decision.partition", StrCat(ref.partition())},
               {"dlq.decision.offset", StrCat(ref.offset())},
               {"dlq.decision.reason", EscapeForDisplay(reason.substr(0, 4096))},
               {"dlq.decision.actor", actor},
               {"dlq.decision.at", absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone())}};
  std::vector<kafka::OutgoingMessage> one;
  one.push_back(std::move(m));
  auto results = options_.publisher->Publish(std::move(one), options_.kafka_timeout);
  RETURN_IF_ERROR(results.front().status());
  log::Info("dead letter decided", {{"dead_letter", RefText(ref)}, {"decision", decision}, {"actor", actor},
                                    {"reason", EscapeForDisplay(reason)}});
  return absl::OkStatus();
}

StatusOr<api::v1::RedriveResult> AdminService::RedriveOne(
    const api::v1::DeadLetter& letter, const std::string& value,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& note,
    const std::string& actor) const {
  api::v1::RedriveResult result;
  *result.mutable_ref() = letter.ref();
  const Entry* entry = EntryNamed(letter.consumer());
  if (!entry) {
    return absl::FailedPreconditionError(
        StrCat("dead letter ", RefText(letter.ref()), " was refused by ", letter.consumer(),
               ", which is not a projection of this service: only projections' dead letters are re-driven; "
               "send a corrected record to its topic and discard this one"));
  }
  if (!letter.redrivable() && letter.state() == api::v1::DEAD_LETTER_STATE_PENDING) {
    return absl::FailedPreconditionError(StrCat("dead letter ", RefText(letter.ref()),
                                                " cannot be re-driven: ", letter.decode_error()));
  }
  // The record as the projection first met it: the origin's position, without the dlq.* headers.
  projection::Record record;
  record.topic = letter.source_topic();
  record.partition = letter.source_partition();
  record.offset = letter.source_offset();
  record.key = letter.key();
  record.value = value;
  for (const auto& [k, v] : headers) {
    if (k.rfind("dlq.", 0) != 0) record.headers.emplace_back(k, v);
  }
  projection::Applier* applier = entry->applier;
  const std::string name = entry->runner->name();
  const std::string marker =
      projection::RedrivenKey(letter.ref().topic(), letter.ref().partition(), letter.ref().offset());
  {
    std::lock_guard lock(applier->mutex());
    Batch batch = applier->store()->NewBatch();
    ASSIGN_OR_RETURN(std::optional<std::string> done, batch.Get(Store::kMetaFamily, marker));
    if (done) {
      result.set_outcome(api::v1::RedriveResult::OUTCOME_ALREADY_REDRIVEN);
      result.set_message("re-driven before; not applied twice");
    } else {
      StatusOr<projection::Outcome> outcome = applier->projection()->Apply(record, batch);
      if (!outcome.ok()) {
        if (!IsBadRecord(outcome.status())) return outcome.status();
        result.set_outcome(api::v1::RedriveResult::OUTCOME_STILL_REFUSED);
        result.set_message(EscapeForDisplay(ToStd(outcome.status().message())));
        return result;  // nothing committed; still pending
      }
      const bool applied = *outcome == projection::Outcome::kApplied;
      batch.Put(Store::kMetaFamily, marker, note);
      RETURN_IF_ERROR(batch.AddToCounter(projection::RedrivenCounter(name), 1));
      RETURN_IF_ERROR(batch.AddToCounter(
          applied ? projection::AppliedCounter(name) : projection::DuplicateCounter(name), 1));
      RETURN_IF_ERROR(applier->Commit(batch, /*changes_rows=*/applied));
      result.set_outcome(applied ? api::v1::RedriveResult::OUTCOME_APPLIED : api::v1::RedriveResult::OUTCOME_DUPLICATE);
      result.set_message(applied ? "applied" : "the projection already had it; nothing changed");
    }
  }
  // Applied (or found applied): record it in the topic. Should this fail, the store's marker still
  // says re-driven, and a repeat writes the record without applying anything again.
  if (Status s = RecordDecision(letter.ref(), kRedriven, note, actor); !s.ok()) {
    return absl::UnavailableError(StrCat("dead letter ", RefText(letter.ref()),
                                         " was applied, but its decision record could not be written (", s.message(),
                                         "); repeat the re-drive: it will not be applied twice"));
  }
  return result;
}

::grpc::Status AdminService::RedriveDeadLetters(::grpc::ServerContext* context,
                                                const api::v1::RedriveDeadLettersRequest* request,
                                                api::v1::RedriveDeadLettersResponse* response) {
  auto caller = Admit(context, "RedriveDeadLetters");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (Status s = Ready(/*needs_publisher=*/true); !s.ok()) return ToGrpcStatus(s);
  const std::string actor = caller->actor;
  const std::vector<std::string> topics = DeadLetterTopics();
  std::vector<FieldViolation> violations;
  if (request->all_pending() == request->has_ref()) {
    violations.push_back({"ref", "name one dead letter (ref) or ask for all_pending, not both"});
  }
  const std::string topic = Resolve(request->topic(), topics);
  if (!topic.empty() && std::find(topics.begin(), topics.end(), topic) == topics.end()) {
    violations.push_back({"topic", StrCat("\"", EscapeForDisplay(request->topic()),
                                          "\" is not a dead-letter topic of this service")});
  }
  if (!IsValidUtf8(request->note())) violations.push_back({"note", "not valid UTF-8"});
  if (!violations.empty()) return ToGrpcStatus(InvalidArgument(std::move(violations)));

  auto add = [&](const api::v1::RedriveResult& r) {
    if (r.outcome() == api::v1::RedriveResult::OUTCOME_APPLIED) response->set_applied(response->applied() + 1);
    if (r.outcome() == api::v1::RedriveResult::OUTCOME_STILL_REFUSED) {
      response->set_still_refused(response->still_refused() + 1);
    }
    *response->add_results() = r;
  };
  if (request->has_ref()) {
    const api::v1::DeadLetterRef ref = Resolve(request->ref());
    Listing listing;
    std::string value;
    auto letter = FindDeadLetter(ref, "ref", &listing, &value);
    if (!letter.ok()) return ToGrpcStatus(letter.status());
    if (letter->state() == api::v1::DEAD_LETTER_STATE_DISCARDED) {
      return ToGrpcStatus(absl::FailedPreconditionError(
          StrCat("dead letter ", RefText(ref), " was discarded by ", letter->decided_by(), ": ",
                 letter->decision_reason())));
    }
    auto r = RedriveOne(*letter, value, listing.headers[PositionOf(ref)], request->note(), actor);
    if (!r.ok()) return ToGrpcStatus(r.status());
    add(*r);
    return ::grpc::Status::OK;
  }
  auto listing = ReadDeadLetters(topic.empty() ? topics : std::vector<std::string>{topic},
                                 /*keep_payloads=*/true);
  if (!listing.ok()) return ToGrpcStatus(listing.status());
  for (const auto& letter : listing->letters) {
    if (!letter.redrivable() || context->IsCancelled()) continue;
    const Position pos = PositionOf(letter.ref());
    auto r = RedriveOne(letter, listing->values[pos], listing->headers[pos], request->note(), actor);
    if (!r.ok()) return ToGrpcStatus(r.status());  // what was done so far stays done (markers)
    add(*r);
  }
  return ::grpc::Status::OK;
}

::grpc::Status AdminService::DiscardDeadLetter(::grpc::ServerContext* context,
                                               const api::v1::DiscardDeadLetterRequest* request,
                                               api::v1::DeadLetter* response) {
  auto caller = Admit(context, "DiscardDeadLetter");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (Status s = Ready(/*needs_publisher=*/true); !s.ok()) return ToGrpcStatus(s);
  const api::v1::DeadLetterRef ref = Resolve(request->ref());
  std::vector<FieldViolation> violations;
  if (Status s = CheckRef(ref, DeadLetterTopics(), "ref"); !s.ok()) {
    for (auto& v : FieldViolations(s)) violations.push_back(std::move(v));
  }
  if (request->reason().find_first_not_of(" \t\r\n") == std::string::npos) {
    violations.push_back({"reason", "required: say why this dead letter can be left"});
  } else if (!IsValidUtf8(request->reason())) {
    violations.push_back({"reason", "not valid UTF-8"});
  }
  if (!violations.empty()) return ToGrpcStatus(InvalidArgument(std::move(violations)));
  Listing listing;
  auto letter = FindDeadLetter(ref, "ref", &listing, nullptr);
  if (!letter.ok()) return ToGrpcStatus(letter.status());
  if (letter->state() != api::v1::DEAD_LETTER_STATE_PENDING) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        StrCat("dead letter ", RefText(ref), " is already ",
               letter->state() == api::v1::DEAD_LETTER_STATE_REDRIVEN ? "re-driven" : "discarded")));
  }
  const std::string actor = caller->actor;
  if (Status s = RecordDecision(ref, kDiscarded, request->reason(), actor); !s.ok()) {
    return ToGrpcStatus(s);
  }
  letter->set_state(api::v1::DEAD_LETTER_STATE_DISCARDED);
  letter->set_decision_reason(EscapeForDisplay(request->reason()));
  letter->set_decided_by(actor);
  *letter->mutable_decided_at() = ToProto(absl::Now());
  letter->set_redrivable(false);
  *response = std::move(*letter);
  return ::grpc::Status::OK;
}

StatusOr<std::vector<api::v1::AggregateEvent>> AdminService::History(const std::string& aggregate_id,
                                                                    const std::string& topic, int limit,
                                                                    bool* truncated) const {
  // Positions from the index (one prefix scan of the store), then one read per partition.
  std::map<std::pair<std::string, int32_t>, std::vector<int64_t>> positions;
  int found = 0;
  *truncated = false;
  RETURN_IF_ERROR(options_.store->Scan(
      Store::kEventIndexFamily, projection::HistoryIndexPrefix(aggregate_id, topic), "",
      [&](std::string_view key, std::string_view) {
        auto p = projection::ParseHistoryIndexKey(key);
        if (!p) return true;
        if (found == limit) {
          *truncated = true;
          return false;
        }
        ++found;
        positions[{p->topic, p->partition}].push_back(p->offset);
        return true;
      }));
  std::vector<api::v1::AggregateEvent> out;
  for (const auto& [tp, offsets] : positions) {
    ASSIGN_OR_RETURN(std::vector<kafka::LogMessage> messages, reader_.ReadAt(tp.first, tp.second, offsets));
    for (const auto& m : messages) {
      api::v1::AggregateEvent h;
      h.set_topic(m.topic);
      h.set_partition(m.partition);
      h.set_offset(m.offset);
      auto e = events::DecodeAnyPayload(m.value);
      if (!e.ok()) {
        h.set_decode_error(EscapeForDisplay(ToStd(e.status().message())));
      } else {
        h.set_event_type(e->event_type());
        h.set_aggregate_type(e->aggregate_type());
        h.set_aggregate_version(e->aggregate_version());
        h.set_actor(e->actor());
        *h.mutable_occurred_at() = e->occurred_at();
        *h.mutable_recorded_at() = e->recorded_at();
        h.set_correlation_id(e->correlation_id());
        h.set_idempotency_key(e->idempotency_key());
        h.set_event_id(e->event_id());
        h.set_payload_json(PayloadJson(*e));
      }
      out.push_back(std::move(h));
    }
  }
  // One aggregate's events are in one partition in order; across topics, by the time recorded.
  std::stable_sort(out.begin(), out.end(), [](const api::v1::AggregateEvent& a, const api::v1::AggregateEvent& b) {
    if (a.topic() == b.topic()) return a.offset() < b.offset();
    return TimeUtil::TimestampToNanoseconds(a.recorded_at()) < TimeUtil::TimestampToNanoseconds(b.recorded_at());
  });
  return out;
}

::grpc::Status AdminService::GetHistory(::grpc::ServerContext* context, const api::v1::GetHistoryRequest* request,
                                        api::v1::GetHistoryResponse* response) {
  auto caller = Admit(context, "GetHistory");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (Status s = Ready(); !s.ok()) return ToGrpcStatus(s);
  std::vector<FieldViolation> violations;
  if (request->aggregate_id().empty()) {
    violations.push_back({"aggregate_id", "required"});
  } else if (request->aggregate_id().find('\0') != std::string::npos || request->aggregate_id().size() > 256) {
    violations.push_back({"aggregate_id", "not an aggregate id (NUL byte, or over 256 bytes)"});
  }
  const std::vector<std::string> topics = ProjectedTopics();
  const std::string topic = Resolve(request->topic(), topics);
  if (!topic.empty() && std::find(topics.begin(), topics.end(), topic) == topics.end()) {
    violations.push_back({"topic", StrCat("\"", EscapeForDisplay(request->topic()),
                                          "\" is not a topic this service reads (", absl::StrJoin(topics, ", "), ")")});
  }
  if (request->limit() < 0 || request->limit() > 100000) violations.push_back({"limit", "must be 0 to 100,000"});
  if (!violations.empty()) return ToGrpcStatus(InvalidArgument(std::move(violations)));
  bool truncated = false;
  auto events = History(request->aggregate_id(), topic, request->limit() ? request->limit() : 1000,
                        &truncated);
  if (!events.ok()) return ToGrpcStatus(events.status());
  if (events->empty()) {
    return ToGrpcStatus(absl::NotFoundError(StrCat("no events of aggregate \"", EscapeForDisplay(request->aggregate_id()),
                                                   "\" in this service's index")));
  }
  for (auto& e : *events) *response->add_events() = std::move(e);
  response->set_truncated(truncated);
  return ::grpc::Status::OK;
}

::grpc::Status AdminService::ExportEvents(::grpc::ServerContext* context, const api::v1::ExportEventsRequest* request,
                                          ::grpc::ServerWriter<api::v1::ExportEventsResponse>* writer) {
  auto caller = Admit(context, "ExportEvents");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (Status s = Ready(); !s.ok()) return ToGrpcStatus(s);
  const std::vector<std::string> topics = ProjectedTopics();
  const std::string topic = Resolve(request->topic(), topics);
  std::vector<FieldViolation> violations;
  if (topic.empty()) {
    violations.push_back({"topic", StrCat("required: one of ", absl::StrJoin(topics, ", "))});
  } else if (std::find(topics.begin(), topics.end(), topic) == topics.end()) {
    violations.push_back({"topic", StrCat("\"", EscapeForDisplay(request->topic()),
                                          "\" is not a topic this service reads (", absl::StrJoin(topics, ", "), ")")});
  }
  const int64_t from = request->has_from() ? TimeUtil::TimestampToNanoseconds(request->from()) : INT64_MIN;
  const int64_t to = request->has_to() ? TimeUtil::TimestampToNanoseconds(request->to()) : INT64_MAX;
  if (request->has_from() && request->has_to() && from >= to) violations.push_back({"to", "must be after from"});
  if (request->limit() < 0) violations.push_back({"limit", "must be 0 (no limit) or more"});
  for (int i = 0; i < request->event_types_size(); ++i) {
    if (request->event_types(i).empty()) violations.push_back({StrCat("event_types[", i, "]"), "empty"});
  }
  if (!violations.empty()) return ToGrpcStatus(InvalidArgument(std::move(violations)));
  const std::set<std::string> types(request->event_types().begin(), request->event_types().end());

  api::v1::ExportEventsResponse chunk;
  int64_t written = 0, scanned = 0;
  bool stop = false;
  auto flush = [&] {
    chunk.set_scanned(scanned);
    if (chunk.lines_size() && !writer->Write(chunk)) stop = true;
    chunk.Clear();
  };
  auto take = [&](const kafka::LogMessage& m) {
    ++scanned;
    if (request->limit() && written >= request->limit()) return false;
    if (!request->aggregate_id().empty() && m.key != request->aggregate_id()) return true;
    auto e = events::DecodeAnyPayload(m.value);
    std::string line = StrCat("{\"topic\":\"", m.topic, "\",\"partition\":", m.partition, ",\"offset\":", m.offset);
    if (!e.ok()) {
      if (!types.empty() || request->has_from() || request->has_to()) return true;  // cannot match a filter
      google::protobuf::Value key, why;
      key.set_string_value(EscapeForDisplay(m.key));
      why.set_string_value(EscapeForDisplay(ToStd(e.status().message())));
      StrAppend(&line, ",\"key\":", ToJson(key), ",\"decode_error\":", ToJson(why), "}");
    } else {
      if (!types.empty() && !types.count(e->event_type())) return true;
      const int64_t recorded = TimeUtil::TimestampToNanoseconds(e->recorded_at());
      if (recorded < from || recorded >= to) return true;
      StrAppend(&line, ",\"event\":", ToJson(*e), "}");
    }
    *chunk.add_lines() = std::move(line);
    ++written;
    if (chunk.lines_size() >= 500) flush();
    return !stop && !context->IsCancelled();
  };
  if (!request->aggregate_id().empty()) {
    // The index knows where the aggregate's events are: no scan of the topic.
    bool truncated = false;
    std::map<std::pair<std::string, int32_t>, std::vector<int64_t>> positions;
    Status s = options_.store->Scan(Store::kEventIndexFamily,
                                    projection::HistoryIndexPrefix(request->aggregate_id(), topic), "",
                                    [&](std::string_view key, std::string_view) {
                                      if (auto p = projection::ParseHistoryIndexKey(key)) {
                                        positions[{p->topic, p->partition}].push_back(p->offset);
                                      }
                                      return true;
                                    });
    (void)truncated;
    if (!s.ok()) return ToGrpcStatus(s);
    for (const auto& [tp, offsets] : positions) {
      auto messages = reader_.ReadAt(tp.first, tp.second, offsets);
      if (!messages.ok()) return ToGrpcStatus(messages.status());
      for (const auto& m : *messages) {
        if (!take(m)) break;
      }
    }
  } else {
    auto partitions = options_.admin->PartitionCount(topic, options_.kafka_timeout);
    if (!partitions.ok()) return ToGrpcStatus(partitions.status());
    for (int32_t p = 0; p < *partitions && !stop; ++p) {
      auto w = options_.admin->QueryWatermarks(topic, p, options_.kafka_timeout);
      if (!w.ok()) return ToGrpcStatus(w.status());
      if (Status s = reader_.Scan(topic, p, w->low, w->high, take); !s.ok()) return ToGrpcStatus(s);
      if (request->limit() && written >= request->limit()) break;
    }
  }
  if (context->IsCancelled()) return ::grpc::Status(::grpc::StatusCode::CANCELLED, "cancelled by the caller");
  chunk.set_scanned(scanned);
  writer->Write(chunk);  // the last: the count of records read, possibly with no line
  return ::grpc::Status::OK;
}

::grpc::Status AdminService::CreateSnapshot(::grpc::ServerContext* context, const api::v1::CreateSnapshotRequest* request,
                                            api::v1::Snapshot* response) {
  auto caller = Admit(context, "CreateSnapshot");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!options_.store || options_.snapshot_dir.empty()) {
    return ToGrpcStatus(absl::FailedPreconditionError("this Admin service has no store to snapshot"));
  }
  std::string name = request->name();
  if (name.empty()) name = absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone());
  if (name.size() > 100 || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") !=
                               std::string::npos ||
      name[0] == '.') {
    return ToGrpcStatus(InvalidField("name", "letters, digits, '.', '_' and '-' only (not first '.'), at most 100"));
  }
  const std::string path = (std::filesystem::path(options_.snapshot_dir) / name).string();
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    return ToGrpcStatus(absl::AlreadyExistsError(StrCat("snapshot \"", name, "\" exists: ", path)));
  }
  std::filesystem::create_directories(options_.snapshot_dir, ec);
  if (ec) {
    return ToGrpcStatus(absl::UnavailableError(StrCat("cannot create ", options_.snapshot_dir, ": ", ec.message())));
  }
  const absl::Time now = absl::Now();
  if (Status s = options_.store->Checkpoint(path); !s.ok()) return ToGrpcStatus(s);
  // The offsets inside the checkpoint are the ones it is consistent with: read them from the copy.
  auto copy = Store::Open({.path = path, .column_families = {}});
  if (!copy.ok()) return ToGrpcStatus(copy.status());
  Status scanned = (*copy)->Scan(Store::kMetaFamily, "offset/", "", [&](std::string_view key, std::string_view value) {
    // offset/<consumer>/<topic>/<partition>
    const std::string k(key);
    const size_t last = k.rfind('/');
    const size_t consumer_end = k.find('/', 7);
    int32_t partition = 0;
    auto next = DecodeInt64(value);
    if (last == std::string::npos || consumer_end == std::string::npos || consumer_end >= last || !next ||
        !absl::SimpleAtoi(k.substr(last + 1), &partition)) {
      return true;
    }
    auto* o = response->add_offsets();
    o->set_topic(StrCat(k.substr(7, consumer_end - 7), ":", k.substr(consumer_end + 1, last - consumer_end - 1)));
    o->set_partition(partition);
    o->set_next_offset(*next);
    return true;
  });
  copy->reset();
  if (!scanned.ok()) return ToGrpcStatus(scanned);
  response->set_path(path);
  response->set_name(name);
  *response->mutable_created_at() = ToProto(now);
  const int64_t bytes = DirectoryBytes(path);
  response->set_bytes(bytes);
  {
    std::ofstream manifest(path + "/SNAPSHOT.json");
    manifest << ToJson(*response) << "\n";
  }
  log::Info("snapshot created", {{"path", path}, {"bytes", bytes}});
  return ::grpc::Status::OK;
}

namespace {

template <typename Message>
::grpc::Status Answer(const StatusOr<Message>& status, Message* response) {
  if (!status.ok()) return ToGrpcStatus(status.status());
  *response = *status;
  return ::grpc::Status::OK;
}

::grpc::Status NoRebuild() {
  return ::grpc::Status(::grpc::StatusCode::UNIMPLEMENTED, "this service was built without rebuilds");
}

::grpc::Status NoAsOf() {
  return ::grpc::Status(::grpc::StatusCode::UNIMPLEMENTED, "this service was built without as-of stores");
}

}  // namespace

::grpc::Status AdminService::StartRebuild(::grpc::ServerContext* context, const api::v1::StartRebuildRequest*,
                                          api::v1::RebuildStatus* response) {
  auto caller = Admit(context, "StartRebuild");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!options_.rebuild) return NoRebuild();
  return Answer(options_.rebuild->Start(), response);
}

::grpc::Status AdminService::GetRebuildStatus(::grpc::ServerContext* context, const api::v1::GetRebuildStatusRequest*,
                                              api::v1::RebuildStatus* response) {
  auto caller = Admit(context, "GetRebuildStatus");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!options_.rebuild) return NoRebuild();
  return Answer(options_.rebuild->GetStatus(), response);
}

::grpc::Status AdminService::SwitchRebuild(::grpc::ServerContext* context, const api::v1::SwitchRebuildRequest* request,
                                           api::v1::RebuildStatus* response) {
  auto caller = Admit(context, "SwitchRebuild");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!options_.rebuild) return NoRebuild();
  if (request->timeout_seconds() < 0 || request->timeout_seconds() > 300) {
    return ToGrpcStatus(InvalidField("timeout_seconds", "must be 0 (30 s) to 300"));
  }
  const absl::Duration timeout = absl::Seconds(request->timeout_seconds() ? request->timeout_seconds() : 30);
  return Answer(options_.rebuild->Switch(timeout), response);
}

::grpc::Status AdminService::AbortRebuild(::grpc::ServerContext* context, const api::v1::AbortRebuildRequest*,
                                          api::v1::RebuildStatus* response) {
  auto caller = Admit(context, "AbortRebuild");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!options_.rebuild) return NoRebuild();
  return Answer(options_.rebuild->Abort(), response);
}

::grpc::Status AdminService::DiscardPreviousStore(::grpc::ServerContext* context, const api::v1::DiscardPreviousStoreRequest*,
                                                  api::v1::RebuildStatus* response) {
  auto caller = Admit(context, "DiscardPreviousStore");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!options_.rebuild) return NoRebuild();
  return Answer(options_.rebuild->DiscardPrevious(), response);
}

::grpc::Status AdminService::StartAsOfStore(::grpc::ServerContext* context, const api::v1::StartAsOfStoreRequest* request,
                                            api::v1::AsOfStore* response) {
  auto caller = Admit(context, "StartAsOfStore");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!options_.as_of) return NoAsOf();
  if (!request->has_as_of()) return ToGrpcStatus(InvalidField("as_of", "missing: the time the store is as of"));
  const absl::Time as_of = absl::FromUnixSeconds(request->as_of().seconds()) + absl::Nanoseconds(request->as_of().nanos());
  return Answer(options_.as_of->Start(request->name(), as_of), response);
}

::grpc::Status AdminService::ListAsOfStores(::grpc::ServerContext* context, const api::v1::ListAsOfStoresRequest*,
                                            api::v1::ListAsOfStoresResponse* response) {
  auto caller = Admit(context, "ListAsOfStores");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!options_.as_of) return NoAsOf();
  return Answer(options_.as_of->List(), response);
}

::grpc::Status AdminService::DiscardAsOfStore(::grpc::ServerContext* context, const api::v1::DiscardAsOfStoreRequest* request,
                                              api::v1::AsOfStore* response) {
  auto caller = Admit(context, "DiscardAsOfStore");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (!options_.as_of) return NoAsOf();
  return Answer(options_.as_of->Discard(request->name()), response);
}

}  // namespace sales::grpc_util
