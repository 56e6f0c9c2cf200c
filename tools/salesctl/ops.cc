#include "tools/salesctl/ops.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/base/strings.h"
#include "common/base/text.h"
#include "common/unicode/unicode.h"
#include "tools/salesctl/channel.h"
#include "tools/salesctl/report.h"

namespace sales::salesctl {
namespace {

using google::protobuf::util::TimeUtil;

// The four services under `make run`, in the pipeline's order.
const std::vector<std::pair<std::string, std::string>> kServices = {{"lead-acquisition", "127.0.0.1:50051"},
                                                                    {"first-offers", "127.0.0.1:50052"},
                                                                    {"client-support", "127.0.0.1:50053"},
                                                                    {"reporting", "127.0.0.1:50054"}};

std::string Safe(const std::string& s) { return EscapeForDisplay(s); }

std::string Thousands(int64_t n) {
  std::string digits = StrCat(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

std::string Json(const google::protobuf::Message& m, bool pretty = true) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixNanos(TimeUtil::TimestampToNanoseconds(t)),
                          absl::UTCTimeZone());
}

// Common to the commands that talk to one service.
struct Target {
  std::string target;
  std::string service;
  bool json = false;

  void AddFlags(CLI::App* app) {
    app->add_option("--target", target, "HOST:PORT of the service (default $SALES_TARGET, else lead acquisition)");
    app->add_option("--service", service, "one of the local services by name: lead-acquisition, first-offers, "
                                          "client-support, reporting (their `make run` ports)");
    app->add_flag("--json", json, "the answer as JSON");
  }
  // The address, or "" after printing why there is none.
  std::string Resolve() const {
    if (!target.empty()) return target;
    if (!service.empty()) {
      for (const auto& [name, address] : kServices) {
        if (name == service) return address;
      }
      std::cerr << "salesctl: --service=" << Safe(service)
                << ": say lead-acquisition, first-offers, client-support or reporting\n";
      return "";
    }
    const char* env = std::getenv("SALES_TARGET");
    return env && *env ? env : kServices.front().second;
  }
};

std::unique_ptr<api::v1::Admin::Stub> Stub(const std::string& target) {
  return api::v1::Admin::NewStub(Connect(target));
}

void Prepare(grpc::ClientContext* ctx, int seconds = 60) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  const char* user = std::getenv("USER");
  ctx->AddMetadata("x-actor", StrCat("salesctl:", user && *user ? user : "operator"));
}

int Failed(const std::string& what, const std::string& target, const grpc::Status& s) {
  std::cerr << "salesctl: " << what << " at " << target << " failed: " << DescribeFailure(s) << "\n";
  return 1;
}

// ---------------------------------------------------------------------------------------------
// status

int Status(const std::vector<std::string>& targets, bool partitions, bool json) {
  std::vector<ServiceStatus> all(targets.size());
  // One thread per service: an unreachable one costs its deadline once, not once per service.
  std::vector<std::thread> threads;
  for (size_t i = 0; i < targets.size(); ++i) {
    threads.emplace_back([&, i] {
      all[i].target = targets[i];
      grpc::ClientContext ctx;
      Prepare(&ctx, 10);
      grpc::Status s = Stub(targets[i])->GetProjectionStatus(&ctx, {}, &all[i].status);
      if (!s.ok()) all[i].error = DescribeFailure(s);
    });
  }
  for (auto& t : threads) t.join();
  bool failed = false;
  for (const auto& s : all) failed = failed || !s.error.empty();
  if (json) {
    std::cout << "[";
    for (size_t i = 0; i < all.size(); ++i) {
      std::cout << (i ? ",\n" : "\n") << "{\"target\":\"" << all[i].target << "\",";
      if (all[i].error.empty()) {
        std::cout << "\"status\":" << Json(all[i].status, false) << "}";
      } else {
        google::protobuf::Value v;
        v.set_string_value(all[i].error);
        std::cout << "\"error\":" << Json(v, false) << "}";
      }
    }
    std::cout << "\n]\n";
  } else {
    std::cout << RenderStatus(all, partitions);
  }
  return failed ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// dead letters

const char* StateName(api::v1::DeadLetterState s) {
  switch (s) {
    case api::v1::DEAD_LETTER_STATE_PENDING: return "pending";
    case api::v1::DEAD_LETTER_STATE_REDRIVEN: return "re-driven";
    case api::v1::DEAD_LETTER_STATE_DISCARDED: return "discarded";
    default: return "?";
  }
}

std::string RefText(const api::v1::DeadLetterRef& r) { return StrCat(r.topic(), "/", r.partition(), "/", r.offset()); }

std::string Cut(const std::string& s, size_t n) {
  if (unicode::DisplayWidth(s) <= static_cast<int>(n)) return s;
  std::string out;
  for (size_t i = 0; i < s.size() && unicode::DisplayWidth(out) < static_cast<int>(n) - 1;) {
    size_t len = 1;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0xf0) len = 4; else if (c >= 0xe0) len = 3; else if (c >= 0xc0) len = 2;
    out += s.substr(i, len);
    i += len;
  }
  return out + "…";
}

std::string DescribeLetter(const api::v1::DeadLetter& d) {
  std::string out = StrCat("Dead letter ", RefText(d.ref()), "  (", StateName(d.state()), ")\n");
  auto line = [&](const std::string& k, const std::string& v) { StrAppend(&out, "  ", k, std::string(12 - k.size(), ' '), v, "\n"); };
  line("reason", Safe(d.reason()));
  line("code", Safe(d.code()));
  line("refused by", Safe(d.consumer()));
  line("origin", StrCat(Safe(d.source_topic()), " partition ", d.source_partition(), " offset ", d.source_offset()));
  line("parked at", Time(d.parked_at()));
  line("key", Safe(d.key()));
  if (!d.event_type().empty()) line("event", StrCat(Safe(d.event_type()), " of ", Safe(d.aggregate_id())));
  if (d.state() != api::v1::DEAD_LETTER_STATE_PENDING) {
    line("decided", StrCat(Time(d.decided_at()), " by ", Safe(d.decided_by()),
                           d.decision_reason().empty() ? "" : ": " + Safe(d.decision_reason())));
  }
  line("re-drivable", d.redrivable() ? "yes" : "no");
  line("payload", StrCat(Thousands(d.payload_bytes()), " bytes"));
  if (!d.payload_json().empty()) StrAppend(&out, Safe(d.payload_json()), "\n");
  if (!d.decode_error().empty()) line("not decoded", Safe(d.decode_error()));
  return out;
}

int DeadLetters(CLI::App& cmd, Target& t, const std::string& action, const std::string& ref_text,
                const std::string& topic, bool all, int limit, bool all_pending, const std::string& note,
                const std::string& reason) {
  (void)cmd;
  const std::string target = t.Resolve();
  if (target.empty()) return 2;
  auto stub = Stub(target);
  api::v1::DeadLetterRef ref;
  const bool needs_ref = action == "show" || action == "discard" || (action == "redrive" && !all_pending);
  if (needs_ref && !ParseDeadLetterRef(ref_text, &ref)) {
    std::cerr << "salesctl: dead-letters " << action << ": name the dead letter as TOPIC/PARTITION/OFFSET "
              << "(as `salesctl dead-letters list` shows it)" << (action == "redrive" ? ", or --all-pending" : "")
              << "\n";
    return 2;
  }
  grpc::ClientContext ctx;
  Prepare(&ctx, 300);
  if (action == "list") {
    api::v1::ListDeadLettersRequest r;
    r.set_topic(topic);
    r.set_include_decided(all);
    r.set_limit(limit);
    api::v1::ListDeadLettersResponse out;
    if (auto s = stub->ListDeadLetters(&ctx, r, &out); !s.ok()) return Failed("ListDeadLetters", target, s);
    if (t.json) {
      std::cout << Json(out) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {{"DEAD LETTER", "STATE", "PARKED", "REFUSED BY", "ORIGIN", "EVENT", "REASON"}};
    for (const auto& d : out.dead_letters()) {
      rows.push_back({RefText(d.ref()), StateName(d.state()), Time(d.parked_at()), Safe(d.consumer()),
                      StrCat(Safe(d.source_topic()), "/", d.source_partition(), "@", d.source_offset()),
                      d.event_type().empty() ? "-" : Safe(d.event_type()), Cut(Safe(d.reason()), 60)});
    }
    std::cout << Thousands(out.pending()) << " pending of " << Thousands(out.total()) << " dead letters";
    if (out.dead_letters_size() < (all ? out.total() : out.pending())) {
      std::cout << " (first " << out.dead_letters_size() << " shown; --limit)";
    }
    std::cout << "\n";
    if (out.dead_letters_size()) std::cout << AlignColumns(rows, {});
    return 0;
  }
  if (action == "show") {
    api::v1::GetDeadLetterRequest r;
    *r.mutable_ref() = ref;
    api::v1::DeadLetter out;
    if (auto s = stub->GetDeadLetter(&ctx, r, &out); !s.ok()) return Failed("GetDeadLetter", target, s);
    std::cout << (t.json ? Json(out) + "\n" : DescribeLetter(out));
    return 0;
  }
  if (action == "redrive") {
    api::v1::RedriveDeadLettersRequest r;
    if (all_pending) {
      r.set_all_pending(true);
      r.set_topic(topic);
    } else {
      *r.mutable_ref() = ref;
    }
    r.set_note(note);
    api::v1::RedriveDeadLettersResponse out;
    if (auto s = stub->RedriveDeadLetters(&ctx, r, &out); !s.ok()) return Failed("RedriveDeadLetters", target, s);
    if (t.json) {
      std::cout << Json(out) << "\n";
    } else {
      static const std::map<int, const char*> kOutcome = {{api::v1::RedriveResult::OUTCOME_APPLIED, "applied"},
                                                          {api::v1::RedriveResult::OUTCOME_DUPLICATE, "already applied"},
                                                          {api::v1::RedriveResult::OUTCOME_STILL_REFUSED, "still refused"},
                                                          {api::v1::RedriveResult::OUTCOME_ALREADY_REDRIVEN, "re-driven before"}};
      std::vector<std::vector<std::string>> rows = {{"DEAD LETTER", "OUTCOME", "MESSAGE"}};
      for (const auto& res : out.results()) {
        rows.push_back({RefText(res.ref()), kOutcome.count(res.outcome()) ? kOutcome.at(res.outcome()) : "?",
                        Safe(res.message())});
      }
      std::cout << "Re-drove " << out.results_size() << ": " << out.applied() << " applied, " << out.still_refused()
                << " still refused\n";
      if (out.results_size()) std::cout << AlignColumns(rows, {});
    }
    return out.still_refused() ? 3 : 0;
  }
  // discard
  api::v1::DiscardDeadLetterRequest r;
  *r.mutable_ref() = ref;
  r.set_reason(reason);
  api::v1::DeadLetter out;
  if (auto s = stub->DiscardDeadLetter(&ctx, r, &out); !s.ok()) return Failed("DiscardDeadLetter", target, s);
  std::cout << (t.json ? Json(out) + "\n" : DescribeLetter(out));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// history, export, snapshot

int History(Target& t, const std::string& aggregate, const std::string& topic, int limit) {
  const std::string target = t.Resolve();
  if (target.empty()) return 2;
  api::v1::GetHistoryRequest r;
  r.set_aggregate_id(aggregate);
  r.set_topic(topic);
  r.set_limit(limit);
  api::v1::GetHistoryResponse out;
  grpc::ClientContext ctx;
  Prepare(&ctx);
  if (auto s = Stub(target)->GetHistory(&ctx, r, &out); !s.ok()) return Failed("GetHistory", target, s);
  if (t.json) {
    std::cout << Json(out) << "\n";
    return 0;
  }
  std::cout << "History of " << Safe(aggregate) << ": " << out.events_size() << " events"
            << (out.truncated() ? " (more: --limit)" : "") << "\n";
  for (const auto& e : out.events()) {
    if (!e.decode_error().empty()) {
      std::cout << "\n  " << e.topic() << "/" << e.partition() << "@" << e.offset() << "  not an event: "
                << Safe(e.decode_error()) << "\n";
      continue;
    }
    std::cout << "\n  v" << e.aggregate_version() << "  " << Safe(e.event_type()) << "  " << Time(e.recorded_at())
              << "  by " << Safe(e.actor()) << "\n"
              << "     occurred " << Time(e.occurred_at()) << "  at " << e.topic() << "/" << e.partition() << "@"
              << e.offset() << "  key " << Safe(e.idempotency_key()) << "\n"
              << "     " << Safe(e.payload_json()) << "\n";
  }
  return 0;
}

bool ParseTimeFlag(const std::string& text, google::protobuf::Timestamp* out) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err) ||
      absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err)) {
    *out = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(t));
    return true;
  }
  return false;
}

int Export(Target& t, const std::string& topic, const std::vector<std::string>& types, const std::string& aggregate,
           const std::string& from, const std::string& to, int64_t limit, const std::string& output) {
  const std::string target = t.Resolve();
  if (target.empty()) return 2;
  api::v1::ExportEventsRequest r;
  r.set_topic(topic);
  for (const auto& type : types) r.add_event_types(type);
  r.set_aggregate_id(aggregate);
  r.set_limit(limit);
  if (!from.empty() && !ParseTimeFlag(from, r.mutable_from())) {
    std::cerr << "salesctl: export: --from=" << Safe(from) << ": say 2026-11-01 or 2026-11-01T08:00:00Z\n";
    return 2;
  }
  if (!to.empty() && !ParseTimeFlag(to, r.mutable_to())) {
    std::cerr << "salesctl: export: --to=" << Safe(to) << ": say 2026-12-01 or 2026-12-01T08:00:00Z\n";
    return 2;
  }
  std::ofstream file;
  if (!output.empty()) {
    file.open(output, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::cerr << "salesctl: export: cannot write " << output << "\n";
      return 1;
    }
  }
  std::ostream& out = output.empty() ? std::cout : file;
  grpc::ClientContext ctx;
  Prepare(&ctx, 3600);
  auto reader = Stub(target)->ExportEvents(&ctx, r);
  api::v1::ExportEventsResponse chunk;
  int64_t lines = 0, scanned = 0;
  const bool progress = isatty(STDERR_FILENO) && (!output.empty() || !isatty(STDOUT_FILENO));
  while (reader->Read(&chunk)) {
    for (const auto& l : chunk.lines()) out << l << "\n";
    lines += chunk.lines_size();
    scanned = chunk.scanned();
    if (progress) std::fprintf(stderr, "\rexported %s events (%s read)", Thousands(lines).c_str(), Thousands(scanned).c_str());
  }
  if (progress) std::fprintf(stderr, "\n");
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Failed("ExportEvents", target, s);
  if (!output.empty()) std::cerr << "Wrote " << Thousands(lines) << " events to " << output << "\n";
  return 0;
}

int Snapshot(Target& t, const std::string& name) {
  const std::string target = t.Resolve();
  if (target.empty()) return 2;
  api::v1::CreateSnapshotRequest r;
  r.set_name(name);
  api::v1::Snapshot out;
  grpc::ClientContext ctx;
  Prepare(&ctx, 600);
  if (auto s = Stub(target)->CreateSnapshot(&ctx, r, &out); !s.ok()) return Failed("CreateSnapshot", target, s);
  if (t.json) {
    std::cout << Json(out) << "\n";
    return 0;
  }
  std::cout << "Snapshot " << out.name() << " at " << out.path() << " (" << HumanBytes(out.bytes()) << ", "
            << Time(out.created_at()) << ")\n"
            << "Restore: stop the service, move its --data-dir away, start it with --restore-from=" << out.path()
            << "\n";
  std::vector<std::vector<std::string>> rows = {{"CONSUMER:TOPIC", "PARTITION", "NEXT OFFSET"}};
  for (const auto& o : out.offsets()) rows.push_back({o.topic(), StrCat(o.partition()), Thousands(o.next_offset())});
  std::cout << AlignColumns(rows, {false, true, true});
  return 0;
}

// ---------------------------------------------------------------------------------------------
// rebuild

std::string DescribeRebuild(const api::v1::RebuildStatus& r) {
  static const std::map<int, const char*> kState = {{api::v1::RebuildStatus::STATE_IDLE, "no rebuild running"},
                                                    {api::v1::RebuildStatus::STATE_RUNNING, "rebuilding"},
                                                    {api::v1::RebuildStatus::STATE_CAUGHT_UP, "caught up: ready to switch"}};
  std::string out;
  if (!r.message().empty()) StrAppend(&out, Safe(r.message()), "\n");
  StrAppend(&out, "State     ", kState.count(r.state()) ? kState.at(r.state()) : "?", "\n");
  StrAppend(&out, "Serving   ", Safe(r.serving_path()), "\n");
  if (r.state() != api::v1::RebuildStatus::STATE_IDLE) {
    StrAppend(&out, "New store ", Safe(r.path()), " (generation ", r.generation(), ", started ", Time(r.started_at()), ")\n");
    StrAppend(&out, "Progress  ", Thousands(r.events_done()), " of ", Thousands(r.events_total()), " records");
    if (r.rate_per_second() > 0) StrAppend(&out, ", ", Thousands(static_cast<int64_t>(r.rate_per_second())), "/s");
    if (r.eta_seconds() > 0) StrAppend(&out, ", ETA ", HumanSeconds(r.eta_seconds()));
    if (r.resumed_at_events() > 0) StrAppend(&out, " (resumed at ", Thousands(r.resumed_at_events()), ")");
    StrAppend(&out, "\n");
  }
  if (!r.previous_path().empty()) StrAppend(&out, "Previous  ", Safe(r.previous_path()), " (kept until discarded)\n");
  return out;
}

void DrawRebuild(const api::v1::RebuildStatus& r) {
  constexpr int kWidth = 30;
  const int64_t total = std::max<int64_t>(1, r.events_total());
  const int filled = static_cast<int>(kWidth * std::min(r.events_done(), total) / total);
  std::fprintf(stderr, "\r[%s%s] %s/%s records  %s/s  ETA %s   ", std::string(filled, '#').c_str(),
               std::string(kWidth - filled, ' ').c_str(), Thousands(r.events_done()).c_str(),
               Thousands(r.events_total()).c_str(), Thousands(static_cast<int64_t>(r.rate_per_second())).c_str(),
               r.eta_seconds() < 0 ? "?" : HumanSeconds(r.eta_seconds()).c_str());
  std::fflush(stderr);
}

int Rebuild(Target& t, const std::string& action, bool watch, int timeout_seconds) {
  const std::string target = t.Resolve();
  if (target.empty()) return 2;
  auto stub = Stub(target);
  api::v1::RebuildStatus out;
  grpc::Status s;
  {
    grpc::ClientContext ctx;
    Prepare(&ctx, 330);
    if (action == "start") {
      s = stub->StartRebuild(&ctx, {}, &out);
    } else if (action == "status") {
      s = stub->GetRebuildStatus(&ctx, {}, &out);
    } else if (action == "switch") {
      api::v1::SwitchRebuildRequest r;
      r.set_timeout_seconds(timeout_seconds);
      s = stub->SwitchRebuild(&ctx, r, &out);
    } else if (action == "abort") {
      s = stub->AbortRebuild(&ctx, {}, &out);
    } else {
      s = stub->DiscardPreviousStore(&ctx, {}, &out);
    }
  }
  if (!s.ok()) return Failed("rebuild " + action, target, s);
  // --watch: a progress bar until it has caught up (or stopped running).
  if (watch && out.state() != api::v1::RebuildStatus::STATE_IDLE) {
    const bool tty = isatty(STDERR_FILENO);
    while (out.state() == api::v1::RebuildStatus::STATE_RUNNING) {
      if (tty) DrawRebuild(out);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      grpc::ClientContext ctx;
      Prepare(&ctx, 30);
      if (auto w = stub->GetRebuildStatus(&ctx, {}, &out); !w.ok()) return Failed("GetRebuildStatus", target, w);
    }
    if (tty) {
      DrawRebuild(out);
      std::fprintf(stderr, "\n");
    }
  }
  std::cout << (t.json ? Json(out) + "\n" : DescribeRebuild(out));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// as-of stores

std::string DescribeAsOf(const api::v1::AsOfStore& a) {
  static const std::map<int, const char*> kState = {{api::v1::AsOfStore::STATE_BUILDING, "building"},
                                                    {api::v1::AsOfStore::STATE_READY, "ready"},
                                                    {api::v1::AsOfStore::STATE_DISCARDED, "discarded"}};
  return StrCat(Safe(a.name()), "  as of ", Time(a.as_of()), "  ",
                kState.count(a.state()) ? kState.at(a.state()) : "?", "  ", Thousands(a.events_done()), " of ",
                Thousands(a.events_total()), " records read, ", Thousands(a.events_applied()), " applied",
                a.dead_lettered() ? StrCat(", ", Thousands(a.dead_lettered()), " refused") : "", "  ",
                HumanBytes(a.disk_bytes()), "  ", Safe(a.path()), "\n");
}

int AsOf(Target& t, const std::string& action, const std::string& name, const std::string& at, bool watch) {
  const std::string target = t.Resolve();
  if (target.empty()) return 2;
  if (action != "list" && name.empty()) {
    std::cerr << "salesctl: asof " << action << ": say which store (its name)\n";
    return 2;
  }
  api::v1::StartAsOfStoreRequest start;
  start.set_name(name);
  if (action == "start" && (at.empty() || !ParseTimeFlag(at, start.mutable_as_of()))) {
    std::cerr << "salesctl: asof start: --at=" << Safe(at) << ": say 2026-11-01 or 2026-11-01T08:00:00Z\n";
    return 2;
  }
  auto stub = Stub(target);
  grpc::ClientContext ctx;
  Prepare(&ctx, 60);
  if (action == "list") {
    api::v1::ListAsOfStoresResponse out;
    if (auto s = stub->ListAsOfStores(&ctx, {}, &out); !s.ok()) return Failed("asof list", target, s);
    if (t.json) {
      std::cout << Json(out) << "\n";
    } else if (out.stores().empty()) {
      std::cout << "no as-of stores\n";
    } else {
      for (const auto& a : out.stores()) std::cout << DescribeAsOf(a);
    }
    return 0;
  }
  api::v1::AsOfStore out;
  grpc::Status s;
  if (action == "start") {
    s = stub->StartAsOfStore(&ctx, start, &out);
  } else {
    api::v1::DiscardAsOfStoreRequest r;
    r.set_name(name);
    s = stub->DiscardAsOfStore(&ctx, r, &out);
  }
  if (!s.ok()) return Failed("asof " + action, target, s);
  // --watch: until it is ready to answer.
  while (watch && out.state() == api::v1::AsOfStore::STATE_BUILDING) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    grpc::ClientContext list_ctx;
    Prepare(&list_ctx, 30);
    api::v1::ListAsOfStoresResponse all;
    if (auto w = stub->ListAsOfStores(&list_ctx, {}, &all); !w.ok()) return Failed("ListAsOfStores", target, w);
    bool found = false;
    for (const auto& a : all.stores()) {
      if (a.name() == name) {
        const std::string message = out.message();
        out = a;
        out.set_message(message);
        found = true;
      }
    }
    if (!found) break;
  }
  if (t.json) {
    std::cout << Json(out) << "\n";
  } else {
    if (!out.message().empty()) std::cout << Safe(out.message()) << "\n";
    std::cout << DescribeAsOf(out);
  }
  return 0;
}

}  // namespace

bool IsOpsCommand(const std::string& word) {
  return word == "status" || word == "dead-letters" || word == "history" || word == "export" || word == "snapshot" ||
         word == "rebuild" || word == "asof";
}

bool ParseDeadLetterRef(const std::string& text, api::v1::DeadLetterRef* ref) {
  const size_t last = text.rfind('/');
  if (last == std::string::npos || last == 0) return false;
  const size_t middle = text.rfind('/', last - 1);
  if (middle == std::string::npos || middle == 0) return false;
  int32_t partition;
  int64_t offset;
  if (!absl::SimpleAtoi(text.substr(middle + 1, last - middle - 1), &partition) ||
      !absl::SimpleAtoi(text.substr(last + 1), &offset) || partition < 0 || offset < 0) {
    return false;
  }
  ref->set_topic(text.substr(0, middle));
  ref->set_partition(partition);
  ref->set_offset(offset);
  return true;
}

std::string HumanBytes(int64_t bytes) {
  if (bytes < 1024) return StrCat(bytes, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string HumanSeconds(double seconds) {
  if (seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s < 60) return StrCat(s, " s");
  if (s < 3600) return StrCat(s / 60, " min ", s % 60, " s");
  if (s < 86400) return StrCat(s / 3600, " h ", (s % 3600) / 60, " min");
  return StrCat(s / 86400, " d ", (s % 86400) / 3600, " h");
}

std::string AlignColumns(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
  std::vector<int> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], unicode::DisplayWidth(row[i]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(static_cast<size_t>(width[i] - unicode::DisplayWidth(row[i])), ' ');
      const bool r = i < right.size() && right[i];
      if (i) line += "  ";
      line += r ? pad + row[i] : (i + 1 == row.size() ? row[i] : row[i] + pad);
    }
    out += line + "\n";
  }
  return out;
}

std::string RenderStatus(const std::vector<ServiceStatus>& services, bool partitions) {
  std::vector<std::vector<std::string>> rows = {
      {"SERVICE", "CONSUMER", "KIND", "STATE", "LAG", "LAG TIME", "APPLIED", "REDELIVERED", "DEAD LETTERS", "STORE"}};
  for (const auto& s : services) {
    if (!s.error.empty()) {
      rows.push_back({Safe(s.target), "-", "-", StrCat("unreachable: ", Cut(Safe(s.error), 60)), "", "", "", "", "", ""});
      continue;
    }
    bool first = true;
    for (const auto& p : s.status.projections()) {
      const std::string kind = p.kind().empty() ? "projection" : p.kind();
      std::string state = !p.health().empty() ? StrCat("STALLED: ", Cut(Safe(p.health()), 50))
                          : p.caught_up()     ? "caught up"
                                              : "catching up";
      const bool lag_known = p.lag() >= 0;
      std::string dead = Thousands(p.dead_lettered());
      if (p.dead_letters_redriven()) StrAppend(&dead, " (", Thousands(p.dead_letters_redriven()), " re-driven)");
      rows.push_back({first ? Safe(s.status.service().empty() ? s.target : s.status.service()) : "", Safe(p.name()),
                      kind, state, lag_known ? Thousands(p.lag()) : "?",
                      p.lag() == 0 ? "-" : HumanSeconds(p.lag_seconds()), Thousands(p.events_applied()),
                      Thousands(p.duplicates_skipped()), dead, first ? HumanBytes(s.status.store_bytes()) : ""});
      first = false;
      if (!partitions) continue;
      for (const auto& part : p.partitions()) {
        rows.push_back({"", StrCat("  ", part.topic(), "/", part.partition()), "", StrCat("next ", part.next_offset(), " end ", part.end_offset()),
                        Thousands(part.lag()), part.lag() == 0 ? "-" : HumanSeconds(part.lag_seconds()), "", "", "", ""});
      }
    }
  }
  return AlignColumns(rows, {false, false, false, false, true, true, true, true, true, true});
}

int RunOps(const std::vector<std::string>& args) {
  CLI::App app{"salesctl: operations on every service's Admin API (docs/OPERATIONS.md)", "salesctl"};
  app.require_subcommand(1);
  Target t;
  // --target, --service and --json may come before the command word or after it.
  t.AddFlags(&app);

  std::string targets_flag;
  bool partitions = false;
  auto* status = app.add_subcommand("status", "where every consumer of every service stands: lag as a count and as a "
                                              "time, applied, redelivered, dead letters, store size");
  status->add_option("--targets", targets_flag, "HOST:PORT,... (default $SALES_TARGETS, else the four `make run` ports)");
  status->add_flag("--partitions", partitions, "a line per topic partition under each consumer");

  std::string action, ref, topic, note, reason;
  bool all = false, all_pending = false;
  int limit = 0;
  auto* dl = app.add_subcommand("dead-letters", "list, show, re-drive or discard the records a service refused");
  dl->add_option("action", action, "list | show | redrive | discard")->required()
      ->check(CLI::IsMember({"list", "show", "redrive", "discard"}));
  dl->add_option("ref", ref, "the dead letter: TOPIC/PARTITION/OFFSET (show, redrive, discard)");
  dl->add_option("--topic", topic, "one dead-letter topic (list, redrive --all-pending)");
  dl->add_flag("--all", all, "list: also the re-driven and discarded ones");
  dl->add_option("--limit", limit, "list: at most this many (default 100)");
  dl->add_flag("--all-pending", all_pending, "redrive: every pending re-drivable one");
  dl->add_option("--note", note, "redrive: a note recorded with it");
  dl->add_option("--reason", reason, "discard: why it can be left (required)");

  std::string aggregate;
  int history_limit = 0;
  auto* history = app.add_subcommand("history", "the events of one aggregate in order (who, when, what)");
  history->add_option("aggregate_id", aggregate, "the aggregate's id (lead, offer, client, ...)")->required();
  history->add_option("--topic", topic, "only this topic");
  history->add_option("--limit", history_limit, "at most this many events (default 1,000)");

  std::vector<std::string> types;
  std::string from, to, output;
  int64_t export_limit = 0;
  auto* exp = app.add_subcommand("export", "a topic's events as JSON lines, for data teams");
  exp->add_option("--topic", topic, "the topic (required)")->required();
  exp->add_option("--type", types, "only this event type, e.g. lead.captured (repeatable)");
  exp->add_option("--aggregate", aggregate, "only this aggregate's events");
  exp->add_option("--from", from, "recorded at or after: 2026-11-01 or 2026-11-01T08:00:00Z");
  exp->add_option("--to", to, "recorded before");
  exp->add_option("--limit", export_limit, "at most this many events");
  exp->add_option("--output,-o", output, "write to this file instead of stdout");

  std::string snapshot_name;
  auto* snap = app.add_subcommand("snapshot", "a consistent checkpoint of a service's store with its offsets");
  snap->add_option("--name", snapshot_name, "the snapshot's folder name (default: the UTC time)");

  std::string rebuild_action;
  bool watch = false;
  int switch_timeout = 0;
  auto* rebuild = app.add_subcommand("rebuild", "rebuild the store without downtime: start, status, switch, abort, "
                                                "discard (the previous store, after a switch)");
  rebuild->add_option("action", rebuild_action, "start | status | switch | abort | discard")->required()
      ->check(CLI::IsMember({"start", "status", "switch", "abort", "discard"}));
  rebuild->add_flag("--watch", watch, "start, status: a progress bar with the ETA until it has caught up");
  rebuild->add_option("--timeout", switch_timeout, "switch: seconds commands may wait for the last events (default 30)");

  std::string asof_action, asof_name, asof_at;
  bool asof_watch = false;
  auto* asof = app.add_subcommand("asof", "read-only stores as of a past time, which queries name with the "
                                          "metadata x-as-of-store: start, list, discard");
  asof->add_option("action", asof_action, "start | list | discard")->required()
      ->check(CLI::IsMember({"start", "list", "discard"}));
  asof->add_option("name", asof_name, "the store's name (start, discard): a-z, 0-9 and '-'");
  asof->add_option("--at", asof_at, "start: the time, e.g. 2026-10-01 or 2026-10-01T08:00:00Z (UTC)");
  asof->add_flag("--watch", asof_watch, "start: wait until it is ready to answer");

  for (CLI::App* sub : app.get_subcommands({})) sub->fallthrough();
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (status->parsed()) {
    std::vector<std::string> targets;
    const char* env = std::getenv("SALES_TARGETS");
    const std::string list = !t.target.empty() ? t.target : !targets_flag.empty() ? targets_flag : env && *env ? env : "";
    if (list.empty()) {
      for (const auto& [name, address] : kServices) targets.push_back(address);
    } else {
      for (auto part : absl::StrSplit(list, ',', absl::SkipWhitespace())) targets.emplace_back(part);
    }
    return Status(targets, partitions, t.json);
  }
  if (dl->parsed()) {
    if (action == "discard" && reason.empty()) {
      std::cerr << "salesctl: dead-letters discard: --reason is required (it is recorded with the decision)\n";
      return 2;
    }
    return DeadLetters(*dl, t, action, ref, topic, all, limit, all_pending, note, reason);
  }
  if (history->parsed()) return History(t, aggregate, topic, history_limit);
  if (exp->parsed()) return Export(t, topic, types, aggregate, from, to, export_limit, output);
  if (rebuild->parsed()) return Rebuild(t, rebuild_action, watch, switch_timeout);
  if (asof->parsed()) return AsOf(t, asof_action, asof_name, asof_at, asof_watch);
  return Snapshot(t, snapshot_name);
}

}  // namespace sales::salesctl
