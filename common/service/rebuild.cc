#include "common/service/rebuild.h"

#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/strings.h"

namespace sales::service {
namespace {

namespace fs = std::filesystem;

constexpr char kRebuildingFile[] = "REBUILDING";

std::string ReadPointer(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// Written whole or not at all: a temporary file renamed over the old one.
sales::Status WritePointer(const std::string& file, const std::string& value) {
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << value << "\n";
    out.flush();
    if (!out) return absl::UnavailableError(StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot write ", file, ": ", ec.message()));
  return absl::OkStatus();
}

// The generation number of "<base>.gen-<n>", or -1.
int64_t GenerationOf(const std::string& base, const std::string& path) {
  const std::string prefix = base + ".gen-";
  int64_t n = -1;
  if (path.rfind(prefix, 0) != 0 || !absl::SimpleAtoi(path.substr(prefix.size()), &n)) return -1;
  return n;
}

std::vector<std::string> Generations(const std::string& base) {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path parent = fs::path(base).parent_path().empty() ? fs::path(".") : fs::path(base).parent_path();
  for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string p = (fs::path(base).parent_path() / it->path().filename()).string();
    if (GenerationOf(base, p) >= 0 && it->is_directory()) out.push_back(p);
  }
  return out;
}

// Meta rows that belong to the projection (rebuilt from the topics) rather than to the service's
// other consumers (intakes, feeds), whose positions and counts a switch carries over.
bool ProjectionsOwn(std::string_view key, const std::string& name) {
  for (const std::string& prefix : {StrCat("offset/", name, "/"), StrCat("counter/", name, "/"),
                                    StrCat("ahead/", name, "/"), std::string("redriven/")}) {
    if (key.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

}  // namespace

std::string StoreBase(const std::string& data_dir) {
  std::string dir = data_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

void DescribeProgress(const std::vector<projection::PartitionProgress>& progress,
                      google::protobuf::RepeatedPtrField<api::v1::PartitionStatus>* out, int64_t* done,
                      int64_t* total) {
  for (const auto& p : progress) {
    auto* part = out->Add();
    part->set_topic(p.topic);
    part->set_partition(p.partition);
    part->set_next_offset(p.next_offset);
    part->set_end_offset(p.end_offset);
    part->set_lag(p.end_offset < 0 ? -1 : std::max<int64_t>(0, p.end_offset - p.next_offset));
    *done += p.next_offset;
    *total += std::max(p.next_offset, p.end_offset);
  }
}

std::string ServingStorePath(const std::string& data_dir) {
  const std::string current = ReadPointer(StoreBase(data_dir) + ".current");
  return current.empty() ? data_dir : current;
}

Rebuilder::Rebuilder(RebuildOptions options, Store* serving, projection::Applier* serving_applier,
                     projection::ProjectionRunner* serving_runner, projection::Projection* projection)
    : options_(std::move(options)),
      serving_(serving),
      serving_applier_(serving_applier),
      serving_runner_(serving_runner),
      projection_(projection) {
  previous_path_ = ReadPointer(StoreBase(options_.data_dir) + ".previous");
  std::error_code ec;
  if (!previous_path_.empty() && !fs::exists(previous_path_, ec)) previous_path_.clear();
}

Rebuilder::~Rebuilder() {
  std::lock_guard lock(mu_);
  Close();
}

void Rebuilder::Close() {
  if (runner_) runner_->Stop();
  runner_.reset();
  applier_.reset();
  store_.reset();
}

sales::Status Rebuilder::OpenAndStart(const std::string& path, int64_t generation, absl::Time started) {
  ASSIGN_OR_RETURN(store_, Store::Open({.path = path, .column_families = projection_->column_families()}));
  RETURN_IF_ERROR(projection_->Open(*store_));
  applier_ = std::make_unique<projection::Applier>(store_.get(), projection_);
  runner_ = std::make_unique<projection::ProjectionRunner>(options_.runner, applier_.get(), options_.dead_letters,
                                                           options_.admin, &metrics_);
  if (sales::Status s = runner_->Start(); !s.ok()) {
    Close();
    return s;
  }
  path_ = path;
  generation_ = generation;
  started_ = started;
  resumed_at_ = absl::Now();
  resumed_done_ = -1;  // read at the first status, once the runner has its stored positions
  return absl::OkStatus();
}

sales::Status Rebuilder::ResumeIfAny() {
  std::lock_guard lock(mu_);
  const std::string base = StoreBase(options_.data_dir);
  for (const std::string& path : Generations(base)) {
    std::error_code ec;
    if (!fs::exists(fs::path(path) / kRebuildingFile, ec)) continue;
    absl::Time started = absl::Now();
    std::string err;
    (void)absl::ParseTime(absl::RFC3339_full, ReadPointer((fs::path(path) / kRebuildingFile).string()), &started, &err);
    log::Info("resuming an unfinished rebuild", {{"path", path}});
    return OpenAndStart(path, GenerationOf(base, path), started);
  }
  return absl::OkStatus();
}

api::v1::RebuildStatus Rebuilder::Describe(const std::string& message) {
  api::v1::RebuildStatus out;
  out.set_message(message);
  out.set_serving_path(serving_->path());
  out.set_previous_path(previous_path_);
  if (!runner_) {
    out.set_state(api::v1::RebuildStatus::STATE_IDLE);
    return out;
  }
  out.set_path(path_);
  out.set_generation(generation_);
  *out.mutable_started_at() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(started_));
  int64_t done = 0, total = 0;
  bool all_known = true, caught_up = true;
  const std::vector<projection::PartitionProgress> progress = runner_->Progress();
  DescribeProgress(progress, out.mutable_partitions(), &done, &total);
  for (const auto& p : progress) {
    all_known = all_known && p.end_offset >= 0;
    caught_up = caught_up && p.end_offset >= 0 && p.next_offset >= p.end_offset;
  }
  if (resumed_done_ < 0 && out.partitions_size()) resumed_done_ = done;
  out.set_events_done(done);
  out.set_events_total(total);
  out.set_resumed_at_events(std::max<int64_t>(0, resumed_done_));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - resumed_at_);
  const double rate = seconds > 0 && resumed_done_ >= 0 ? static_cast<double>(done - resumed_done_) / seconds : 0;
  out.set_rate_per_second(rate);
  out.set_eta_seconds(caught_up ? 0 : rate > 0 && all_known ? static_cast<double>(total - done) / rate : -1);
  out.set_state(caught_up && runner_->caught_up() ? api::v1::RebuildStatus::STATE_CAUGHT_UP
                                                  : api::v1::RebuildStatus::STATE_RUNNING);
  return out;
}

StatusOr<api::v1::RebuildStatus> Rebuilder::GetStatus() {
  std::lock_guard lock(mu_);
  return Describe("");
}

StatusOr<api::v1::RebuildStatus> Rebuilder::Start() {
  std::lock_guard lock(mu_);
  if (runner_) {
    return absl::FailedPreconditionError(StrCat("a rebuild is running already (generation ", generation_, ", ", path_,
                                                "): watch it, switch to it or abort it"));
  }
  if (!previous_path_.empty()) {
    return absl::FailedPreconditionError(StrCat("the store switched out by the last rebuild is still kept (",
                                                previous_path_, "): discard it first"));
  }
  const std::string base = StoreBase(options_.data_dir);
  int64_t generation = std::max<int64_t>(0, GenerationOf(base, serving_->path()));
  for (const auto& p : Generations(base)) generation = std::max(generation, GenerationOf(base, p));
  ++generation;
  const std::string path = StrCat(base, ".gen-", generation);
  std::error_code ec;
  fs::remove_all(path, ec);
  fs::create_directories(path, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot create ", path, ": ", ec.message()));
  const absl::Time now = absl::Now();
  {
    std::ofstream marker(fs::path(path) / kRebuildingFile);
    marker << absl::FormatTime(absl::RFC3339_full, now, absl::UTCTimeZone()) << "\n";
    if (!marker) return absl::UnavailableError(StrCat("cannot write ", path, "/", kRebuildingFile));
  }
  if (sales::Status s = OpenAndStart(path, generation, now); !s.ok()) {
    fs::remove_all(path, ec);
    return s;
  }
  log::Info("rebuild started", {{"path", path}, {"generation", generation}});
  return Describe(StrCat("rebuilding into ", path, " from the beginning of the topics; the service keeps serving"));
}

StatusOr<api::v1::RebuildStatus> Rebuilder::Switch(absl::Duration timeout) {
  std::lock_guard lock(mu_);
  if (!runner_) return absl::FailedPreconditionError("no rebuild is running: start one first");
  {
    api::v1::RebuildStatus now = Describe("");
    // Far behind: refuse rather than hold commands while it catches up.
    if (now.events_total() - now.events_done() > 10000 || !runner_->caught_up()) {
      return absl::FailedPreconditionError(StrCat("the new store has not caught up yet: ",
                                                  now.events_total() - now.events_done(),
                                                  " records to go; switch when its state is CAUGHT_UP"));
    }
  }
  const std::string name = projection_->name();
  serving_runner_->Stop();
  std::string old_path;
  sales::Status switched = [&]() -> sales::Status {
    std::lock_guard serving_lock(serving_applier_->mutex());
    // Everything acknowledged so far is below the high watermarks read now: the new store must
    // have applied it before it serves (commands wait on this lock meanwhile; queries do not).
    const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
    for (const auto& p : runner_->Progress()) {
      const absl::Duration left = absl::FromChrono(deadline - std::chrono::steady_clock::now());
      ASSIGN_OR_RETURN(kafka::Watermarks w,
                       options_.admin->QueryWatermarks(p.topic, p.partition, std::max(absl::Milliseconds(1), left)));
      if (w.high == 0) continue;
      if (sales::Status s = runner_->WaitApplied(p.topic, p.partition, w.high - 1, std::max(absl::Milliseconds(1), left));
          !s.ok()) {
        return absl::UnavailableError(StrCat("the new store did not catch up within ", absl::FormatDuration(timeout),
                                             " (", s.message(), "); nothing switched, try again"));
      }
    }
    runner_->Stop();
    const std::string serving_path = serving_->path();
    // The other consumers' positions and counts (intakes, feeds) are not rebuilt from the topics:
    // they are copied once none of them can commit any more (a batch of theirs made before the
    // swap is refused afterwards, and they go on from the copied offsets: nothing lost).
    RETURN_IF_ERROR(serving_->SwapDatabase(*store_, [&]() -> sales::Status {
      Batch carry = store_->NewBatch();
      RETURN_IF_ERROR(serving_->Scan(Store::kMetaFamily, "", "", [&](std::string_view key, std::string_view value) {
        if (!ProjectionsOwn(key, name)) carry.Put(Store::kMetaFamily, key, value);
        return true;
      }));
      return store_->Commit(carry);
    }));
    old_path = serving_path;
    serving_applier_->StoreReplaced();
    // Durable in one step: a restart from here on opens the new store.
    RETURN_IF_ERROR(WritePointer(StoreBase(options_.data_dir) + ".current", path_));
    RETURN_IF_ERROR(WritePointer(StoreBase(options_.data_dir) + ".previous", old_path));
    std::error_code ec;
    fs::remove(fs::path(path_) / kRebuildingFile, ec);
    return absl::OkStatus();
  }();
  if (!switched.ok() && old_path.empty()) {
    // Nothing changed: the serving runner resumes where it was. The rebuild goes on unless it
    // was stopped (then it resumes at its stored offsets).
    if (runner_) {
      runner_->Stop();
      if (sales::Status s = runner_->Start(); !s.ok()) log::Error("rebuild runner restart failed", {{"error", s.ToString()}});
    }
    if (sales::Status s = serving_runner_->Start(); !s.ok()) log::Error("serving runner restart failed", {{"error", s.ToString()}});
    return switched;
  }
  if (sales::Status s = serving_runner_->Start(); !s.ok()) {
    log::Error("serving runner restart after the switch failed", {{"error", s.ToString()}});
    if (switched.ok()) switched = s;
  }
  const std::string new_path = path_;
  Close();  // the old database closes once the reads in flight on it are done
  previous_path_ = old_path;
  if (!switched.ok()) return switched;
  log::Info("switched to the rebuilt store", {{"path", new_path}, {"previous", old_path}});
  return Describe(StrCat("serving from ", new_path, "; the previous store is kept in ", old_path,
                         " until it is discarded"));
}

StatusOr<api::v1::RebuildStatus> Rebuilder::Abort() {
  std::lock_guard lock(mu_);
  if (!runner_) return absl::FailedPreconditionError("no rebuild is running");
  const std::string path = path_;
  Close();
  std::error_code ec;
  fs::remove_all(path, ec);
  log::Info("rebuild aborted", {{"path", path}});
  return Describe(StrCat("aborted; ", path, " deleted"));
}

StatusOr<api::v1::RebuildStatus> Rebuilder::DiscardPrevious() {
  std::lock_guard lock(mu_);
  if (previous_path_.empty()) return absl::FailedPreconditionError("no previous store is kept");
  const std::string path = previous_path_;
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot delete ", path, ": ", ec.message()));
  fs::remove(StoreBase(options_.data_dir) + ".previous", ec);
  previous_path_.clear();
  log::Info("previous store discarded", {{"path", path}});
  return Describe(StrCat(path, " deleted"));
}

}  // namespace sales::service
