#include "common/service/as_of.h"

#include <google/protobuf/util/time_util.h>

#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/service/rebuild.h"

namespace sales::service {
namespace {

namespace fs = std::filesystem;

constexpr char kAsOfFile[] = "AS_OF";
constexpr char kInfix[] = ".asof-";

Status CheckName(const std::string& name) {
  if (name.empty() || name.size() > 40) return InvalidField("name", "must be 1 to 40 characters");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return InvalidField("name", "may hold only a-z, 0-9 and '-'");
    }
  }
  return absl::OkStatus();
}

// Leaves out the events recorded after `as_of` (moving past them like any record) and hands the
// others to the service's projection. A record whose envelope cannot be read goes to the
// projection too, which refuses it as the serving one did.
class AsOfFilter final : public projection::Projection {
 public:
  AsOfFilter(projection::Projection* inner, absl::Time as_of) : inner_(inner), as_of_(as_of) {}

  std::string name() const override { return inner_->name(); }
  std::vector<std::string> column_families() const override { return inner_->column_families(); }
  std::vector<std::string> sums_families() const override { return inner_->sums_families(); }
  Status Open(Store& store) override { return inner_->Open(store); }

  StatusOr<projection::Outcome> Apply(const projection::Record& record, Batch& batch) override {
    StatusOr<events::EventEnvelope> e = events::DecodeAnyPayload(record.value);
    if (e.ok() && e->has_recorded_at()) {
      const absl::Time recorded =
          absl::FromUnixSeconds(e->recorded_at().seconds()) + absl::Nanoseconds(e->recorded_at().nanos());
      if (recorded > as_of_) return projection::Outcome::kSkipped;
    }
    return inner_->Apply(record, batch);
  }

 private:
  projection::Projection* inner_;
  absl::Time as_of_;
};

// The serving projection parked the records this one refuses already: counted, logged, not
// written to the dead-letter topic a second time.
class NotParkedAgain final : public kafka::EventPublisher {
 public:
  explicit NotParkedAgain(std::string store) : store_(std::move(store)) {}
  std::shared_ptr<kafka::Delivery> Send(std::vector<kafka::OutgoingMessage> messages, absl::Duration) override {
    std::vector<StatusOr<kafka::Position>> out;
    for (const auto& m : messages) {
      log::Warn("as-of store: a record was refused; not parked again (the serving projection parked it)",
                {{"as_of_store", store_}, {"dead_letter_topic", m.topic}});
      out.push_back(kafka::Position{m.topic, -1, -1});
    }
    return std::make_shared<kafka::KnownDelivery>(std::move(out));
  }

 private:
  std::string store_;
};

}  // namespace

struct AsOfStores::Entry {
  Entry(std::string n, absl::Time t, std::string p) : name(std::move(n)), as_of(t), path(std::move(p)), dead_letters(name) {}
  ~Entry() {
    if (runner) runner->Stop();
  }

  std::string name;
  absl::Time as_of;
  std::string path;
  NotParkedAgain dead_letters;
  MetricsRegistry metrics;  // the runner's own (not exported: it would double the serving one's)
  std::shared_ptr<Store> store;
  std::unique_ptr<AsOfFilter> filter;
  std::unique_ptr<projection::Applier> applier;
  std::unique_ptr<projection::ProjectionRunner> runner;
};

// Has read the log to the end seen when it (re)started; a store reopened at its end never sees a
// new record to say so, hence the check against the targets rather than caught_up().
bool AsOfStores::Ready(const Entry& e) { return e.runner->WaitCaughtUp(absl::ZeroDuration()).ok(); }

AsOfStores::AsOfStores(AsOfOptions options, const Store* serving, projection::Projection* projection)
    : options_(std::move(options)), serving_(serving), projection_(projection) {}

AsOfStores::~AsOfStores() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

Status AsOfStores::Open(const std::string& name, absl::Time as_of, const std::string& path) {
  auto e = std::make_shared<Entry>(name, as_of, path);
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                   Store::Open({.path = path, .column_families = projection_->column_families()}));
  e->store = std::move(store);
  e->filter = std::make_unique<AsOfFilter>(projection_, as_of);
  RETURN_IF_ERROR(e->filter->Open(*e->store));
  e->applier = std::make_unique<projection::Applier>(e->store.get(), e->filter.get());
  e->runner = std::make_unique<projection::ProjectionRunner>(options_.runner, e->applier.get(), &e->dead_letters,
                                                             options_.admin, &e->metrics);
  RETURN_IF_ERROR(e->runner->Start());
  entries_[name] = std::move(e);
  return absl::OkStatus();
}

Status AsOfStores::ResumeAll() {
  std::lock_guard lock(mu_);
  const std::string base = StoreBase(options_.data_dir);
  const fs::path parent = fs::path(base).parent_path().empty() ? fs::path(".") : fs::path(base).parent_path();
  const std::string prefix = fs::path(base).filename().string() + kInfix;
  std::error_code ec;
  for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.rfind(prefix, 0) != 0 || !it->is_directory()) continue;
    const std::string name = file.substr(prefix.size());
    const std::string path = (fs::path(base).parent_path() / file).string();
    std::ifstream in(fs::path(path) / kAsOfFile);
    std::string line, err;
    std::getline(in, line);
    absl::Time as_of;
    if (!CheckName(name).ok() || !absl::ParseTime(absl::RFC3339_full, line, &as_of, &err)) {
      log::Warn("not an as-of store (no readable AS_OF file); left alone", {{"path", path}});
      continue;
    }
    log::Info("reopening an as-of store", {{"name", name}, {"path", path}});
    // A broken one must not keep the live service from starting: left out, and said so.
    if (Status s = Open(name, as_of, path); !s.ok()) {
      log::Error("as-of store not reopened; discard its folder or start it again",
                 {{"name", name}, {"path", path}, {"error", s.ToString()}});
    }
  }
  return absl::OkStatus();
}

StatusOr<api::v1::AsOfStore> AsOfStores::Start(const std::string& name, absl::Time as_of) {
  RETURN_IF_ERROR(CheckName(name));
  if (as_of > absl::Now()) return InvalidField("as_of", "is in the future: an as-of store answers for a past time");
  std::lock_guard lock(mu_);
  if (entries_.count(name)) {
    return absl::AlreadyExistsError(StrCat("an as-of store named ", name, " exists (as of ",
                                           absl::FormatTime(absl::RFC3339_sec, entries_[name]->as_of, absl::UTCTimeZone()),
                                           "): discard it first or choose another name"));
  }
  const std::string path = StoreBase(options_.data_dir) + kInfix + name;
  std::error_code ec;
  fs::remove_all(path, ec);  // a folder left by a start that failed half-way
  fs::create_directories(path, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot create ", path, ": ", ec.message()));
  {
    std::ofstream marker(fs::path(path) / kAsOfFile);
    marker << absl::FormatTime(absl::RFC3339_full, as_of, absl::UTCTimeZone()) << "\n";
    if (!marker) return absl::UnavailableError(StrCat("cannot write ", path, "/", kAsOfFile));
  }
  if (Status s = Open(name, as_of, path); !s.ok()) {
    fs::remove_all(path, ec);
    return s;
  }
  log::Info("as-of store started", {{"name", name}, {"path", path}});
  api::v1::AsOfStore out = Describe(*entries_[name]);
  out.set_message(StrCat("building ", path, " from the beginning of the topics; queries may name it (x-as-of-store: ",
                         name, ") once it is ready"));
  return out;
}

api::v1::AsOfStore AsOfStores::Describe(const Entry& e) const {
  api::v1::AsOfStore out;
  out.set_name(e.name);
  *out.mutable_as_of() = google::protobuf::util::TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(e.as_of));
  out.set_path(e.path);
  int64_t done = 0, total = 0;
  DescribeProgress(e.runner->Progress(), out.mutable_partitions(), &done, &total);
  out.set_events_done(done);
  out.set_events_total(total);
  out.set_events_applied(e.store->GetCounter(projection::AppliedCounter(projection_->name())).value_or(0));
  out.set_dead_lettered(e.store->GetCounter(projection::DeadLetterCounter(projection_->name())).value_or(0));
  out.set_disk_bytes(e.store->DiskBytes());
  out.set_state(Ready(e) ? api::v1::AsOfStore::STATE_READY : api::v1::AsOfStore::STATE_BUILDING);
  return out;
}

StatusOr<api::v1::ListAsOfStoresResponse> AsOfStores::List() {
  std::lock_guard lock(mu_);
  api::v1::ListAsOfStoresResponse out;
  for (const auto& [name, e] : entries_) *out.add_stores() = Describe(*e);
  return out;
}

StatusOr<api::v1::AsOfStore> AsOfStores::Discard(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) return absl::NotFoundError(StrCat("no as-of store named ", name));
  std::shared_ptr<Entry> e = std::move(it->second);
  entries_.erase(it);
  api::v1::AsOfStore out = Describe(*e);
  e->runner->Stop();
  // Queries still reading it hold the store; they are short.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (e->store.use_count() > 1 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  if (e->store.use_count() > 1) log::Warn("as-of store discarded while a query still reads it", {{"name", name}});
  const std::string path = e->path;
  e.reset();
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot delete ", path, ": ", ec.message()));
  log::Info("as-of store discarded", {{"name", name}, {"path", path}});
  out.set_state(api::v1::AsOfStore::STATE_DISCARDED);
  out.set_message(StrCat(path, " deleted"));
  return out;
}

StatusOr<std::unique_ptr<ScopedReadRedirect>> AsOfStores::Redirect(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    return absl::NotFoundError(StrCat("no as-of store named ", name, " (x-as-of-store); salesctl asof list"));
  }
  const Entry& e = *it->second;
  if (!Ready(e)) {
    const api::v1::AsOfStore d = Describe(e);
    return absl::FailedPreconditionError(StrCat("the as-of store ", name, " is still building (", d.events_done(),
                                                " of ", d.events_total(), " records read); ask again when it is ready"));
  }
  auto redirect = std::make_unique<ScopedReadRedirect>(*serving_, e.store);
  redirect->set_name(name);
  return redirect;
}

}  // namespace sales::service
