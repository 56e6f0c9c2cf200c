#include "tests/bench/store_bench.h"

#include "absl/time/clock.h"
#include "common/store/store.h"
#include "services/lead_acquisition/projection/lead_projection.h"

namespace sales::bench {

StatusOr<double> StoreBatchRate(const std::string& dir, const std::vector<std::string>& keys,
                                const std::vector<std::string>& values, int batch_size) {
  const int64_t rows = static_cast<int64_t>(keys.size());
  if (values.empty() || rows == 0 || batch_size <= 0) return absl::InvalidArgumentError("nothing to write");
  lead_acquisition::LeadProjection projection;
  // The options LeadAcquisition's app.cc opens its store with (StoreOptions defaults).
  ASSIGN_OR_RETURN(auto store, Store::Open({.path = dir, .column_families = projection.column_families()}));

  const absl::Time start = absl::Now();
  for (int64_t done = 0; done < rows;) {
    Batch batch = store->NewBatch();
    const int64_t end = std::min(rows, done + batch_size);
    for (; done < end; ++done) {
      batch.Put(lead_acquisition::kLeadsFamily, keys[static_cast<size_t>(done)],
                values[static_cast<size_t>(done) % values.size()]);
    }
    RETURN_IF_ERROR(store->Commit(batch));
  }
  return static_cast<double>(rows) / absl::ToDoubleSeconds(absl::Now() - start);
}

}  // namespace sales::bench
