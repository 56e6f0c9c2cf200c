// The events every service consumes, as a hostile or broken producer could write them: each input
// is a sequence of records ([topic byte][2-byte length][bytes]...), applied in order to each of
// the four projections within one batch (so later records meet the state earlier ones made; the
// batch is never committed, so inputs do not depend on each other). A record may be refused
// (the runner dead-letters it) but nothing may crash. Valid envelopes from tests/fixtures/events
// seed the corpus.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <google/protobuf/stubs/logging.h>

#include "common/events/envelope.h"
#include "common/store/store.h"
#include "services/client_support/projection/clients_projection.h"
#include "services/first_offers/projection/offers_projection.h"
#include "services/lead_acquisition/projection/lead_projection.h"
#include "services/reporting/projection/reporting_projection.h"

namespace {

struct Projected {
  std::unique_ptr<sales::projection::Projection> projection;
  std::unique_ptr<sales::Store> store;
};

std::vector<Projected>& Projections() {
  static auto* all = [] {
    auto* out = new std::vector<Projected>();
    const auto root = std::filesystem::temp_directory_path() / ("sales-events-fuzz-" + std::to_string(getpid()));
    google::protobuf::SetLogHandler(nullptr);  // a malformed string is an expected refusal, not news
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root);
    static std::filesystem::path to_remove = root;
    std::atexit([] { std::filesystem::remove_all(to_remove); });
    std::vector<std::unique_ptr<sales::projection::Projection>> projections;
    projections.push_back(std::make_unique<sales::lead_acquisition::LeadProjection>());
    projections.push_back(std::make_unique<sales::first_offers::OffersProjection>());
    projections.push_back(std::make_unique<sales::client_support::ClientsProjection>());
    projections.push_back(std::make_unique<sales::reporting::ReportingProjection>());
    for (size_t i = 0; i < projections.size(); ++i) {
      auto store = sales::Store::Open({.path = (root / std::to_string(i)).string(),
                                       .column_families = projections[i]->column_families()});
      if (!store.ok()) {
        std::fprintf(stderr, "events_fuzz: %s\n", store.status().ToString().c_str());
        std::abort();
      }
      out->push_back({std::move(projections[i]), std::move(*store)});
    }
    return out;
  }();
  return *all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* kTopics[] = {"sales.leads", "sales.offers", "sales.clients", "sales.plans", "sales.calls"};
  std::vector<sales::projection::Record> records;
  for (size_t at = 0; at + 3 <= size && records.size() < 64;) {
    sales::projection::Record r;
    r.topic = kTopics[data[at] % 5];
    const size_t n = std::min<size_t>((size_t{data[at + 1]} << 8) | data[at + 2], size - at - 3);
    r.value.assign(reinterpret_cast<const char*>(data) + at + 3, n);
    r.partition = 0;
    r.offset = static_cast<int64_t>(records.size());
    if (auto e = sales::events::Decode(r.value); e.ok()) r.key = e->aggregate_id();
    records.push_back(std::move(r));
    at += 3 + n;
  }
  for (auto& p : Projections()) {
    sales::Batch batch = p.store->NewBatch();
    for (const auto& r : records) (void)p.projection->Apply(r, batch);
  }
  return 0;
}
