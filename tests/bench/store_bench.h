// The RocksDB figure: how fast the platform's store (sales::Store, opened exactly as the services
// open it) takes projection rows in atomic batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sales::bench {

// Writes one row per key (values cycled from `values`) into a new store under `dir`, `batch_size`
// rows per Batch/Commit, into the lead projection's column family. Returns rows per second (first
// batch started to last commit returned).
StatusOr<double> StoreBatchRate(const std::string& dir, const std::vector<std::string>& keys,
                                const std::vector<std::string>& values, int batch_size);

}  // namespace sales::bench
