// As-of stores: "what did we know on date X" (Admin.StartAsOfStore and friends; docs/OPERATIONS.md).
//
//   Start    a read-only store in <data-dir>.asof-<name> (its AS_OF file holds the time), with its
//            own applier and projection runner from the beginning of the topics, through a filter
//            that leaves out every event recorded after the time: such a record moves the offsets
//            like any other and changes nothing. The serving store goes on as before.
//   Ready    once its runner has read the log to its end. A query naming it (gRPC metadata
//            `x-as-of-store: <name>`, grpc_util::ObserveCall) reads it instead of the serving store
//            through a ScopedReadRedirect: the same handlers, the same code, the rows as they were
//            at that time. Commands naming it are refused (the decider), so are writes (Store).
//            The runner keeps reading what is appended later (all of it left out unless it was
//            recorded before the time and appended late).
//   Discard  stops it, waits for the queries still reading it, deletes the folder.
//   A restart reopens every as-of folder and resumes it at its stored offsets.
//
// Records its projection refuses are counted but not parked again: the serving projection parked
// them already (an operator would otherwise see each twice, and re-drive copies into the live
// store).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "common/grpc/admin_service.h"
#include "common/kafka/admin.h"
#include "common/projection/projection.h"
#include "common/projection/runner.h"
#include "common/store/store.h"

namespace sales::service {

struct AsOfOptions {
  std::string data_dir;              // --data-dir as configured
  projection::RunnerOptions runner;  // the serving runner's options
  kafka::Admin* admin = nullptr;
};

class AsOfStores final : public grpc_util::AsOfControl {
 public:
  // Pointers must outlive this. `serving` is the store queries read when they name no as-of store.
  AsOfStores(AsOfOptions options, const Store* serving, projection::Projection* projection);
  ~AsOfStores() override;  // stops the runners (the stores are reopened at the next start)

  // Reopens the as-of stores a previous process kept (one that fails to open is logged and left
  // out: the live service starts regardless).
  [[nodiscard]] Status ResumeAll();

  StatusOr<api::v1::AsOfStore> Start(const std::string& name, absl::Time as_of) override;
  StatusOr<api::v1::ListAsOfStoresResponse> List() override;
  StatusOr<api::v1::AsOfStore> Discard(const std::string& name) override;

  // The redirect of the serving store's reads to the store `name`, for one call on this thread.
  StatusOr<std::unique_ptr<ScopedReadRedirect>> Redirect(const std::string& name);

 private:
  struct Entry;
  Status Open(const std::string& name, absl::Time as_of, const std::string& path);  // under mu_
  api::v1::AsOfStore Describe(const Entry& e) const;
  static bool Ready(const Entry& e);

  AsOfOptions options_;
  const Store* serving_;
  projection::Projection* projection_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // guarded by mu_
};

}  // namespace sales::service
