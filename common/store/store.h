// The RocksDB store behind a service's projections.
//
// One RocksDB database per store folder, one column family per kind of row (declared by the
// projections), plus the `meta` family holding consumer offsets and persistent counters. All
// writes go through a Batch that is committed atomically: a projection writes its rows *and* the
// offsets they came from in the same batch, which is what makes a crash unable to lose or
// double-apply an event.
//
// Thread-safety: Get/Scan/Commit may be called from any thread. A Batch is used by one thread.
// Batches whose reads feed their writes (read-modify-write) must be built and committed under the
// caller's own lock; the projection layer owns that lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatchWithIndex;
}  // namespace rocksdb

namespace sales {

struct StoreOptions {
  std::string path;                          // folder of the database; created if missing
  std::vector<std::string> column_families;  // besides "meta", which always exists
  int64_t block_cache_mb = 64;
  int64_t write_buffer_mb = 32;        // per column family
  int64_t total_write_buffer_mb = 64;  // all column families together
};

class Store;

// An atomic unit of writes whose reads see its own pending writes.
class Batch {
 public:
  ~Batch();
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;

  void Put(std::string_view cf, std::string_view key, std::string_view value);
  void Delete(std::string_view cf, std::string_view key);
  // Adds `values` element-wise to the row's sums (a RocksDB merge: no read, and the order of the
  // additions does not change the result). Read the row with DecodeSums. Only for rows written
  // this way; a Put replaces the sums.
  void AddSums(std::string_view cf, std::string_view key, const std::vector<int64_t>& values);
  // The value as it will be after this batch commits (nullopt when absent).
  StatusOr<std::optional<std::string>> Get(std::string_view cf, std::string_view key) const;

  // The next offset to consume for (consumer, topic, partition).
  void SetOffset(std::string_view consumer, std::string_view topic, int32_t partition, int64_t next_offset);
  // Adds to a persistent counter (kept in `meta`, committed with the rest of the batch).
  Status AddToCounter(std::string_view name, int64_t delta);

  size_t size() const;  // number of pending writes

  // Marks a point to roll back to, dropping the writes made after it (e.g. those of one record
  // that turned out to be bad). Save points nest.
  void SetSavePoint();
  Status RollbackToSavePoint();
  Status PopSavePoint();

 private:
  friend class Store;
  explicit Batch(Store* store);
  Store* store_;
  std::unique_ptr<rocksdb::WriteBatchWithIndex> wb_;
};

class Store {
 public:
  static constexpr std::string_view kMetaFamily = "meta";

  // Opens (creating if needed) the database at options.path with the declared column families.
  static StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  StatusOr<std::optional<std::string>> Get(std::string_view cf, std::string_view key) const;
  // Calls fn for each key starting with `prefix` in key order, from `start_after` (exclusive,
  // empty = from the beginning) until fn returns false.
  Status Scan(std::string_view cf, std::string_view prefix, std::string_view start_after,
              const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  // Calls fn for each key >= `from` in key order until fn returns false.
  Status ScanFrom(std::string_view cf, std::string_view from,
                  const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  Batch NewBatch();
  Status Commit(Batch& batch);

  // Offsets and counters as last committed.
  StatusOr<std::optional<int64_t>> GetOffset(std::string_view consumer, std::string_view topic,
                                             int32_t partition) const;
  StatusOr<int64_t> GetCounter(std::string_view name) const;

  const std::string& path() const { return path_; }

  // Key layout of offsets and counters inside `meta` (exposed for tests and tools).
  static std::string OffsetKey(std::string_view consumer, std::string_view topic, int32_t partition);
  static std::string CounterKey(std::string_view name);

 private:
  friend class Batch;
  Store() = default;
  StatusOr<rocksdb::ColumnFamilyHandle*> Family(std::string_view cf) const;

  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> families_;
};

// Fixed-width big-endian encoding, so numeric keys sort in numeric order and values are portable.
std::string EncodeInt64(int64_t v);
std::optional<int64_t> DecodeInt64(std::string_view bytes);
// A row of Batch::AddSums: int64 values, each as EncodeInt64.
std::string EncodeSums(const std::vector<int64_t>& values);
std::optional<std::vector<int64_t>> DecodeSums(std::string_view bytes);

}  // namespace sales
