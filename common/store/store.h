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

#include <array>
#include <bit>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/base/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace sales {

struct StoreOptions {
  std::string path;                          // folder of the database; created if missing
  std::vector<std::string> column_families;  // besides "meta", which always exists
  int64_t block_cache_mb = 64;
  int64_t write_buffer_mb = 32;        // per column family
  int64_t total_write_buffer_mb = 64;  // all column families together
  // TEST ONLY (the fault suite): while this file exists, every write of the database's files fails
  // with "no space left" (RocksDB's own IOStatus::NoSpace, through a FileSystem wrapper).
  std::string test_disk_full_file;
};

class Store;
class CommitPipeline;
struct StoreDb;  // the open database behind a Store (store.cc)

// A change to a tally row: a protobuf message whose fields are int64 counters and packed repeated
// int64 lists kept ascending (for example reporting's store.v1.CycleCell). Fields are named by
// their numbers; a counter is written as a varint, a list packed, and neither when zero or empty,
// so a row is byte for byte what the message's SerializeAsString() gives.
struct TallyChange {
  std::map<int, int64_t> add;               // counter field -> added to it (may be negative)
  std::map<int, std::vector<int64_t>> out;  // list field -> values taken out, one occurrence each
                                            // (a value not there is left alone)
  std::map<int, std::vector<int64_t>> in;   // list field -> values put in, after those taken out
};

// An atomic unit of writes whose reads see its own pending writes.
class Batch {
 public:
  ~Batch();
  Batch(Batch&&) noexcept;
  Batch& operator=(Batch&&) noexcept;

  void Put(std::string_view cf, std::string_view key, std::string_view value);
  void Delete(std::string_view cf, std::string_view key);
  // Adds `values` element-wise to the row's sums (a RocksDB merge at commit, one per row: no read,
  // and the order of the additions does not change the result). Read the row with DecodeSums. Not
  // seen by this batch's Get before it commits; only for rows written this way (a Put replaces
  // the sums).
  void AddSums(std::string_view cf, std::string_view key, const std::vector<int64_t>& values);
  // The same for the entry `sub_key` of a keyed-sums row (IsKeyedSumsFamily): many small cells in
  // one row, so that a report reads a few long rows instead of a great many short ones. Read the
  // row with KeyedSumsReader.
  void AddKeyedSums(std::string_view cf, std::string_view key, std::string_view sub_key,
                    const std::vector<int64_t>& values);
  // Changes a tally row (IsTalliesFamily): a RocksDB merge at commit, so no read and no rewrite
  // of a row that grows with every event (a day's cycle-time samples). The changes of a row are
  // applied in the order they were made; a batch's changes of one row are made into one merge
  // (a value put in and taken out again in the batch cancels). Not seen by this batch's Get
  // before it commits.
  void ChangeTally(std::string_view cf, std::string_view key, const TallyChange& change);
  // The value as it will be after this batch commits (nullopt when absent).
  StatusOr<std::optional<std::string>> Get(std::string_view cf, std::string_view key) const;

  // Reads of rows this batch has not written go to `below` first, then to the database: a batch
  // not committed yet (the decider's chunk waiting for Kafka's acknowledgement), on which this
  // one is built as if it were committed; commit this one after it (and set nullptr once `below`
  // is committed). `below` must outlive the reads and not change meanwhile. A row `below` changes
  // only by merges (sums, tallies) is in none of its rows: Get answers UNAVAILABLE for it, and
  // missed_below() turns true (build the batch again once `below` is committed).
  void ReadThrough(const Batch* below) { below_ = below; }
  bool missed_below() const { return missed_below_; }

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
  friend class CommitPipeline;
  explicit Batch(std::shared_ptr<StoreDb> db);
  void MergePendingSums();
  // What Commit writes: each row's last put or delete (once, however often the batch wrote it: an
  // aggregate's row rewritten by each of its events in one rebuild batch), then the merges.
  void ForCommit(rocksdb::WriteBatch& out) const;

  struct PendingSums {
    rocksdb::ColumnFamilyHandle* family;
    std::string key;
    std::optional<std::string> sub_key;  // AddKeyedSums
    std::vector<int64_t> values;
  };
  struct Rows;  // the rows written, read back by Get (store.cc)
  std::shared_ptr<StoreDb> db_;  // the database it reads and commits into
  std::unique_ptr<Rows> rows_;
  std::vector<PendingSums> pending_sums_;
  struct PendingTally {
    rocksdb::ColumnFamilyHandle* family;
    std::string key;
    TallyChange change;
  };
  std::vector<PendingTally> pending_tallies_;  // (apart: a sum's entry stays small)
  std::vector<std::pair<size_t, size_t>> pending_at_save_points_;  // pending_sums_, pending_tallies_ sizes
  // A batch of CommitPipeline::NewBatch: its reads see the batch the pipeline is writing.
  CommitPipeline* reads_through_ = nullptr;
  const Batch* below_ = nullptr;  // ReadThrough
  mutable bool missed_below_ = false;
  bool Merges(rocksdb::ColumnFamilyHandle* family, std::string_view key) const;  // a pending merge of the row
};

class Store {
 public:
  static constexpr std::string_view kMetaFamily = "meta";
  // The runner's index of the events it read, by aggregate (common/projection/projection.h,
  // HistoryIndexKey): offsets only, so that one aggregate's history is read from Kafka without
  // scanning a topic. Every store has it.
  static constexpr std::string_view kEventIndexFamily = "event_index";

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
  // The same for the keys in [from, until): RocksDB reads nothing at or past `until` (a merged
  // row there is not merged for nothing).
  Status ScanRange(std::string_view cf, std::string_view from, std::string_view until,
                   const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  Batch NewBatch();
  // Commits the batch, which must have been made on the database this store holds now: a batch
  // made before SwapDatabase is refused with ABORTED and nothing is written (its reads rest on the
  // other database; build it again).
  Status Commit(Batch& batch);

  // Offsets and counters as last committed.
  StatusOr<std::optional<int64_t>> GetOffset(std::string_view consumer, std::string_view topic,
                                             int32_t partition) const;
  StatusOr<int64_t> GetCounter(std::string_view name) const;

  // The folder of the database this store reads now.
  std::string path() const;

  // Exchanges the databases behind two stores (the switch-over of a rebuild without downtime):
  // afterwards this store reads and writes what `other` did, and the other way round, while every
  // pointer and reference to either Store stays valid. A read in flight finishes on the database
  // it began on (kept open until then); a commit in flight finishes before the swap, and a batch
  // made before it can no longer be committed (Commit). Writers that decide on what they read
  // (the projection's applier and the command path) serialise with the swap by its lock.
  // `first` runs once no commit can reach this store any more and before the swap (a switch-over
  // copies the rows of the consumers it does not rebuild): what it reads of this store is final.
  // When it fails nothing is swapped. It must not commit into this store.
  [[nodiscard]] Status SwapDatabase(Store& other, const std::function<Status()>& first = {});

  // Bytes of the store's files on disk (tables, write-ahead log, manifest); 0 when unreadable.
  int64_t DiskBytes() const;

  // A consistent copy of the whole database - rows, offsets and counters as of one moment - in the
  // new folder `dir` (RocksDB checkpoint: hard links where the file system allows, so it is cheap
  // and the live store goes on). `dir` must not exist. The copy opens as a store of its own.
  [[nodiscard]] Status Checkpoint(const std::string& dir) const;

  // Key layout of offsets and counters inside `meta` (exposed for tests and tools).
  static std::string OffsetKey(std::string_view consumer, std::string_view topic, int32_t partition);
  static std::string CounterKey(std::string_view name);

 private:
  friend class Batch;
  friend class ScopedReadRedirect;
  Store() = default;
  // The database reads go to: this store's, or the one a ScopedReadRedirect on this thread names.
  std::shared_ptr<StoreDb> Current() const;
  std::shared_ptr<StoreDb> Own() const;  // this store's, whatever the thread
  // After a write failed on a full disk with an error RocksDB does not resume from (one met while
  // switching memtables), once there is space again: closes `failed` and opens the folder anew
  // (Store::Commit). Gives up (for the next failed commit to try) while reads still hold it.
  void ReopenAfterFatalError(const std::shared_ptr<StoreDb>& failed);

  mutable std::mutex mu_;       // guards db_ (the pointer, not the database)
  std::shared_ptr<StoreDb> db_;
  std::shared_mutex swap_mu_;  // commits share it; SwapDatabase takes it alone
  StoreOptions options_;       // what db_ was opened with (swapped with it; ReopenAfterFatalError)
};

// Commits one builder's batches in order on a thread of its own, so that the next batch is built
// while the one before is written (its merges, the RocksDB write batch, the WAL, the memtables:
// a third of a rebuild's applier). A batch made by NewBatch reads as if the batch being written
// were committed already: its own rows, then that batch's rows, then the database. A row that
// batch changes only by merges (sums, tallies; never in a batch's rows) is read from the database
// once the write is done. At most one batch is being written: Commit waits for the one before.
// Batches commit in the order handed over, each atomically; once one fails, those after it are
// dropped, not committed, until Finish.
//
// Whoever builds batches on the rows they read must keep other writers of the store out until
// Finish (the projection's applier lock), as for any batch. Thread-safety: one builder thread
// calls NewBatch, Commit and Finish, and holds one batch of NewBatch at a time.
class CommitPipeline {
 public:
  // `store` must outlive the pipeline.
  explicit CommitPipeline(Store* store) : store_(store) {}
  ~CommitPipeline();  // waits for the write in flight
  CommitPipeline(const CommitPipeline&) = delete;
  CommitPipeline& operator=(const CommitPipeline&) = delete;

  Batch NewBatch();
  // Hands the batch over: once the batch before it is written, `commit` writes it (e.g.
  // Store::Commit) on the pipeline's thread. Dropped when a batch before it failed.
  void Commit(Batch batch, std::function<Status(Batch&)> commit);
  struct Outcome {
    size_t committed = 0;  // batches committed since the last Finish, the first ones handed over
    Status status;         // the first failure; the batches after it were dropped
  };
  // Waits for the write in flight; the pipeline is then empty, and ready for the next batches.
  Outcome Finish();

 private:
  friend class Batch;
  // Batch::Get of a row not in the reading batch: the row in the batch being written (nullopt
  // inside when deleted there), or nullopt when that batch does not hold it.
  std::optional<std::optional<std::string>> Find(rocksdb::ColumnFamilyHandle* family, std::string_view key);
  void WaitWritten();  // until the batch handed over last is written (or dropped)
  static uint64_t RowHash(uint32_t family, std::string_view key);
  void Run();

  Store* store_;
  std::thread writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Set by the builder (under mu_) and only read while it is being written: the builder reads its
  // rows, the writer commits it.
  std::unique_ptr<Batch> writing_;
  std::vector<uint64_t> writing_merges_;     // RowHash of each row writing_ merges into (sorted)
  std::function<Status(Batch&)> commit_;     // writing_'s
  bool pending_ = false;                     // writing_ waits to be (or is being) written; mu_
  bool stopping_ = false;                    // mu_
  Outcome outcome_;                          // mu_
};

// For the life of this object, reads of `serving` made on this thread go to the database of
// `other` (a query that names an as-of store: common/service/as_of.h), and commits into `serving`
// on this thread are refused (FAILED_PRECONDITION: that store is read-only). `other` is kept alive
// meanwhile. Nests (the innermost wins); must be destroyed on the thread that made it.
class ScopedReadRedirect {
 public:
  ScopedReadRedirect(const Store& serving, std::shared_ptr<const Store> other);
  ~ScopedReadRedirect();
  ScopedReadRedirect(const ScopedReadRedirect&) = delete;
  ScopedReadRedirect& operator=(const ScopedReadRedirect&) = delete;

  // Whether one is in force on this thread (a command must not be decided then).
  static bool Active();
  // The name the redirect was made for (for messages), or "" when none is active.
  static std::string ActiveName();
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  friend class Store;
  const Store* serving_;
  std::shared_ptr<const Store> other_;
  std::string name_;
  const ScopedReadRedirect* outer_;
};

// Bytes of the regular files under the folder `dir`, its subfolders included (0 when unreadable).
int64_t DirectoryBytes(const std::string& dir);

// Fixed-width big-endian encoding, so numeric keys sort in numeric order and values are portable.
std::string EncodeInt64(int64_t v);
// Inline: reports decode millions of these.
inline std::optional<int64_t> DecodeInt64(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t u;  // big-endian on disk: one load and a byte swap
  std::memcpy(&u, bytes.data(), 8);
  if constexpr (std::endian::native == std::endian::little) u = __builtin_bswap64(u);
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}
// A row of Batch::AddSums: int64 values, each as EncodeInt64.
std::string EncodeSums(const std::vector<int64_t>& values);
std::optional<std::vector<int64_t>> DecodeSums(std::string_view bytes);
// Keyed sums (Batch::AddKeyedSums) live in the families whose name ends with this: the store picks
// their merge by the name, so any build that opens the database merges them right.
inline constexpr std::string_view kKeyedSumsSuffix = ".keyed_sums";
bool IsKeyedSumsFamily(std::string_view family);
// Tally rows (Batch::ChangeTally) live in the families whose name ends with this. A row whose
// counters and lists all went back to zero and empty stays in RocksDB as an empty value (a merge
// cannot delete it); the store's reads (Get, Scan, ScanRange, Batch::Get) leave it out, as if it
// had been deleted, so rows do not depend on the order the changes came in.
inline constexpr std::string_view kTalliesSuffix = ".tallies";
bool IsTalliesFamily(std::string_view family);

// The entries of a keyed-sums row in sub-key order (each sub-key once; entries whose sums are all
// zero are left out). `sums` holds sums.size() / 8 values, each as EncodeInt64.
class KeyedSumsReader {
 public:
  explicit KeyedSumsReader(std::string_view row) : rest_(row) {}
  // The next entry; false at the end of the row, or when it is not a keyed-sums row (corrupt()).
  bool Next(std::string_view* sub_key, std::string_view* sums);
  bool corrupt() const { return corrupt_; }

 private:
  bool Varint32(uint32_t* v);
  bool Corrupt() {
    corrupt_ = true;
    return false;
  }
  std::string_view rest_;
  bool corrupt_ = false;
};

// The same for a row of exactly N sums, without allocating (nullopt: not such a row).
template <size_t N>
std::optional<std::array<int64_t, N>> DecodeSumsOf(std::string_view bytes) {
  if (bytes.size() != 8 * N) return std::nullopt;
  std::array<int64_t, N> out;
  for (size_t i = 0; i < N; ++i) out[i] = *DecodeInt64(bytes.substr(8 * i, 8));
  return out;
}

}  // namespace sales
