#include "common/store/store.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <tuple>

#include <unistd.h>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/base/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/file_system.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_manager.h"
#include "rocksdb/table.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

#include <filesystem>

namespace sales {
namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = StrCat("rocksdb ", what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsIOError() || s.IsBusy() || s.IsTryAgain()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

// Sums of Batch::AddSums: element-wise addition of two vectors of int64 (the shorter one padded
// with zeros). Only rows written with AddSums are ever merged; set on every family so that the
// database opens whatever a projection declares.
class SumsOperator final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value, std::string* out,
             rocksdb::Logger*) const override {
    std::optional<std::vector<int64_t>> sums =
        existing == nullptr ? std::optional<std::vector<int64_t>>(std::vector<int64_t>()) : DecodeSums(std::string_view(existing->data(), existing->size()));
    std::optional<std::vector<int64_t>> add = DecodeSums(std::string_view(value.data(), value.size()));
    if (!sums || !add) return false;  // corruption: RocksDB reports it on the read
    if (sums->size() < add->size()) sums->resize(add->size(), 0);
    for (size_t i = 0; i < add->size(); ++i) (*sums)[i] += (*add)[i];
    *out = EncodeSums(*sums);
    return true;
  }
  const char* Name() const override { return "sales.sums"; }
};

void PutVarint64(uint64_t v, std::string& out) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

// One entry of a keyed-sums row (KeyedSumsReader): its sub-key and sums as they were read.
struct KeyedEntry {
  std::string_view sub_key;
  std::string_view sums;
};

// Appends the entry `sub_key` -> `sums` to a keyed-sums row, unless every sum is zero (an entry
// that adds nothing is left out, so that additions in any grouping give the same bytes).
void AppendKeyedEntry(std::string_view sub_key, const std::vector<int64_t>& sums, std::string& row) {
  if (std::all_of(sums.begin(), sums.end(), [](int64_t v) { return v == 0; })) return;
  PutVarint64(sub_key.size(), row);
  row += sub_key;
  PutVarint64(sums.size(), row);
  for (int64_t v : sums) row += EncodeInt64(v);
}

// The keyed-sums rows `rows` added up into one (sub-keys in order, equal ones summed element-wise,
// zero entries left out); false when one is not such a row.
bool MergeKeyedSums(const std::vector<std::string_view>& rows, std::string& out) {
  std::vector<KeyedEntry> entries;
  std::vector<size_t> runs = {0};  // where each row's entries begin, and the end
  for (std::string_view row : rows) {
    KeyedSumsReader reader(row);
    KeyedEntry e;
    while (reader.Next(&e.sub_key, &e.sums)) entries.push_back(e);
    if (reader.corrupt()) return false;
    runs.push_back(entries.size());
  }
  // Each row is in order already: the rows are merged two by two until one is left (n log k, not
  // a sort's n log n; a read merges a long row with a few short ones). Equal sub-keys may end up
  // in any order: they are summed.
  const auto by_sub_key = [](const KeyedEntry& a, const KeyedEntry& b) { return a.sub_key < b.sub_key; };
  while (runs.size() > 2) {
    std::vector<size_t> merged = {0};
    for (size_t r = 0; r + 1 < runs.size(); r += 2) {
      if (r + 2 >= runs.size()) {  // an odd one out, as it is
        merged.push_back(runs[r + 1]);
        continue;
      }
      std::inplace_merge(entries.begin() + static_cast<std::ptrdiff_t>(runs[r]),
                         entries.begin() + static_cast<std::ptrdiff_t>(runs[r + 1]),
                         entries.begin() + static_cast<std::ptrdiff_t>(runs[r + 2]), by_sub_key);
      merged.push_back(runs[r + 2]);
    }
    runs = std::move(merged);
  }
  out.clear();
  std::vector<int64_t> sums;
  for (size_t i = 0; i < entries.size();) {
    sums.assign(entries[i].sums.size() / 8, 0);
    size_t j = i;
    for (; j < entries.size() && entries[j].sub_key == entries[i].sub_key; ++j) {
      if (sums.size() < entries[j].sums.size() / 8) sums.resize(entries[j].sums.size() / 8, 0);
      for (size_t k = 0; k < entries[j].sums.size() / 8; ++k) {
        sums[k] = static_cast<int64_t>(static_cast<uint64_t>(sums[k]) +
                                       static_cast<uint64_t>(*DecodeInt64(entries[j].sums.substr(8 * k, 8))));
      }
    }
    AppendKeyedEntry(entries[i].sub_key, sums, out);
    i = j;
  }
  return true;
}

// Rows of Batch::AddKeyedSums (the families named with kKeyedSumsSuffix).
class KeyedSumsOperator final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    // A single row is already in order, each sub-key once, no zero entry (every row is written
    // so): it is the result as it is, without a copy (a read of a row not yet compacted).
    if (in.existing_value == nullptr && in.operand_list.size() == 1) {
      out->existing_operand = in.operand_list.front();
      return true;
    }
    std::vector<std::string_view> rows;
    rows.reserve(in.operand_list.size() + 1);
    if (in.existing_value != nullptr) rows.emplace_back(in.existing_value->data(), in.existing_value->size());
    for (const rocksdb::Slice& s : in.operand_list) rows.emplace_back(s.data(), s.size());
    return MergeKeyedSums(rows, out->new_value);  // false: corruption, reported on the read
  }
  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands, std::string* out,
                         rocksdb::Logger*) const override {
    std::vector<std::string_view> rows;
    rows.reserve(operands.size());
    for (const rocksdb::Slice& s : operands) rows.emplace_back(s.data(), s.size());
    return MergeKeyedSums(rows, *out);
  }
  const char* Name() const override { return "sales.keyed_sums"; }
};

// Tally rows (Batch::ChangeTally): a protobuf message of int64 counters (varint fields, added
// up) and ascending int64 lists (packed fields), by field number.
struct Tally {
  std::map<int, int64_t> counters;
  std::map<int, std::vector<int64_t>> lists;
};

bool ReadVarint64(std::string_view& in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

int VarintSize(uint64_t v) { return std::max(1, static_cast<int>(std::bit_width(v) + 6) / 7); }

// Adds the row or operand part `bytes` to `t` (counters added, list values appended); false when
// it is not a tally (a field of another wire type, a cut-off varint).
bool ParseTally(std::string_view bytes, Tally& t) {
  while (!bytes.empty()) {
    uint64_t tag = 0, v = 0;
    if (!ReadVarint64(bytes, &tag) || (tag >> 3) == 0 || (tag >> 3) > (1u << 29)) return false;
    const int field = static_cast<int>(tag >> 3);
    if ((tag & 7) == 0) {
      if (!ReadVarint64(bytes, &v)) return false;
      t.counters[field] = static_cast<int64_t>(static_cast<uint64_t>(t.counters[field]) + v);
      continue;
    }
    uint64_t size = 0;
    if ((tag & 7) != 2 || !ReadVarint64(bytes, &size) || size > bytes.size()) return false;
    std::string_view packed = bytes.substr(0, size);
    bytes.remove_prefix(size);
    std::vector<int64_t>& list = t.lists[field];
    while (!packed.empty()) {
      if (!ReadVarint64(packed, &v)) return false;
      list.push_back(static_cast<int64_t>(v));
    }
  }
  return true;
}

// The row as protobuf serializes such a message: fields in number order, zero counters and empty
// lists left out.
std::string SerializeTally(const Tally& t) {
  std::string out;
  auto counter = t.counters.begin();
  auto list = t.lists.begin();
  while (counter != t.counters.end() || list != t.lists.end()) {
    if (list == t.lists.end() || (counter != t.counters.end() && counter->first <= list->first)) {
      if (counter->second != 0) {
        PutVarint64(static_cast<uint64_t>(counter->first) << 3, out);
        PutVarint64(static_cast<uint64_t>(counter->second), out);
      }
      ++counter;
      continue;
    }
    if (!list->second.empty()) {
      uint64_t size = 0;
      for (int64_t v : list->second) size += VarintSize(static_cast<uint64_t>(v));
      PutVarint64((static_cast<uint64_t>(list->first) << 3) | 2, out);
      PutVarint64(size, out);
      for (int64_t v : list->second) PutVarint64(static_cast<uint64_t>(v), out);
    }
    ++list;
  }
  return out;
}

// `next` made after `sum`, added to it: one change doing both. A value `next` takes out that
// `sum` put in cancels (it is there when `next` comes); any other is taken out of the row before
// `sum`'s values are put in, as it would have been after `sum`'s own were taken out.
void AddTallyChange(const TallyChange& next, TallyChange& sum) {
  for (const auto& [field, delta] : next.add) {
    sum.add[field] = static_cast<int64_t>(static_cast<uint64_t>(sum.add[field]) + static_cast<uint64_t>(delta));
  }
  for (const auto& [field, values] : next.out) {
    std::vector<int64_t>& put = sum.in[field];
    for (int64_t v : values) {
      if (auto at = std::find(put.begin(), put.end(), v); at != put.end()) {
        put.erase(at);
      } else {
        sum.out[field].push_back(v);
      }
    }
  }
  for (const auto& [field, values] : next.in) {
    std::vector<int64_t>& put = sum.in[field];
    put.insert(put.end(), values.begin(), values.end());
  }
}

// The merge operand of `change`: varint(n), n bytes of what it puts in (counters and values, in a
// row's format: lists ascending), then the values it takes out; nullopt when it changes nothing.
std::optional<std::string> TallyOperand(TallyChange& change) {
  Tally put, taken;
  put.counters = std::move(change.add);
  put.lists = std::move(change.in);
  taken.lists = std::move(change.out);
  for (auto* t : {&put, &taken}) {
    for (auto& [field, list] : t->lists) std::sort(list.begin(), list.end());
  }
  const std::string added = SerializeTally(put), removed = SerializeTally(taken);
  if (added.empty() && removed.empty()) return std::nullopt;
  std::string operand;
  PutVarint64(added.size(), operand);
  operand += added;
  operand += removed;
  return operand;
}

// The merge of tally rows: an operand is varint(n), n bytes of what it adds (counters and values
// put in), then the values it takes out. Applied in order, as ChangeTally's doc says; a list's
// changes are gathered per value and the list rebuilt once, not shifted per value.
class TalliesOperator final : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    // A row made of one operand that only puts in (a rebuild's row, its batch's changes in one) is
    // that operand's first part as it is: ChangeTally writes it in a row's format.
    if (in.existing_value == nullptr && in.operand_list.size() == 1) {
      std::string_view bytes(in.operand_list.front().data(), in.operand_list.front().size());
      uint64_t added = 0;
      if (ReadVarint64(bytes, &added) && added == bytes.size()) {
        out->new_value.assign(bytes);
        return true;
      }
    }
    Tally row;
    if (in.existing_value != nullptr &&
        !ParseTally(std::string_view(in.existing_value->data(), in.existing_value->size()), row)) {
      return false;  // corruption: RocksDB reports it on the read
    }
    std::map<int, std::map<int64_t, std::vector<int8_t>>> changes;  // field -> value -> -1 out / +1 in, in order
    for (const rocksdb::Slice& operand : in.operand_list) {
      std::string_view bytes(operand.data(), operand.size());
      uint64_t added = 0;
      if (!ReadVarint64(bytes, &added) || added > bytes.size()) return false;
      Tally put, taken;
      if (!ParseTally(bytes.substr(0, added), put) || !ParseTally(bytes.substr(added), taken)) return false;
      for (const auto& [field, delta] : put.counters) {
        row.counters[field] = static_cast<int64_t>(static_cast<uint64_t>(row.counters[field]) + static_cast<uint64_t>(delta));
      }
      for (const auto& [field, values] : taken.lists) {
        for (int64_t v : values) changes[field][v].push_back(-1);
      }
      for (const auto& [field, values] : put.lists) {
        for (int64_t v : values) changes[field][v].push_back(1);
      }
    }
    for (const auto& [field, by_value] : changes) {
      const std::vector<int64_t>& list = row.lists[field];
      std::vector<int64_t> next;
      next.reserve(list.size() + by_value.size());
      auto from = list.begin();
      for (const auto& [v, steps] : by_value) {
        const auto lo = std::lower_bound(from, list.end(), v), hi = std::upper_bound(lo, list.end(), v);
        next.insert(next.end(), from, lo);
        int64_t count = hi - lo;
        for (int8_t step : steps) count = step > 0 ? count + 1 : std::max<int64_t>(0, count - 1);
        next.insert(next.end(), static_cast<size_t>(count), v);
        from = hi;
      }
      next.insert(next.end(), from, list.end());
      row.lists[field] = std::move(next);
    }
    out->new_value = SerializeTally(row);
    return true;
  }
  // Operands that only put in add up to one (a flush or compaction without the row's value
  // then leaves one operand, which a read takes as it is); one that takes out stays apart, as it
  // needs the row's value to apply.
  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands, std::string* out,
                         rocksdb::Logger*) const override {
    Tally sum;
    for (const rocksdb::Slice& operand : operands) {
      std::string_view bytes(operand.data(), operand.size());
      uint64_t added = 0;
      if (!ReadVarint64(bytes, &added) || added != bytes.size() || !ParseTally(bytes, sum)) return false;
    }
    for (auto& [field, list] : sum.lists) std::sort(list.begin(), list.end());
    const std::string added = SerializeTally(sum);
    out->clear();
    PutVarint64(added.size(), *out);
    *out += added;
    return true;
  }
  const char* Name() const override { return "sales.tallies"; }
};

}  // namespace

// One open RocksDB with its family handles. Shared by the Store that serves it and by the batches
// and reads in flight on it, so a swapped-out database closes only when the last of them is done.
struct StoreDb {
  std::string path;
  std::unique_ptr<rocksdb::Env> env;  // only for StoreOptions::test_disk_full_file; outlives db
  std::unique_ptr<rocksdb::DB> db;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> families;

  ~StoreDb() { Close(); }
  void Close() {
    if (!db) return;
    for (auto& [name, handle] : families) db->DestroyColumnFamilyHandle(handle);
    families.clear();
    db->Close().PermitUncheckedError();
    db.reset();
  }
  StatusOr<rocksdb::ColumnFamilyHandle*> Family(std::string_view cf) const {
    auto it = families.find(cf);
    if (it == families.end()) return absl::InternalError(StrCat("column family \"", cf, "\" not declared"));
    return it->second;
  }
};

// The fault suite's full disk: while `flag` exists, creating, appending to and syncing the
// database's files fail with NoSpace, as they would on a full file system.
class DiskFullFileSystem : public rocksdb::FileSystemWrapper {
 public:
  DiskFullFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target, std::string flag)
      : FileSystemWrapper(target), flag_(std::make_shared<const std::string>(std::move(flag))) {}
  const char* Name() const override { return "DiskFullFileSystem"; }

  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> f, std::shared_ptr<const std::string> flag)
        : FSWritableFileOwnerWrapper(std::move(f)), flag_(std::move(flag)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      return Full(*flag_) ? NoSpace() : FSWritableFileOwnerWrapper::Append(d, o, g);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v, rocksdb::IODebugContext* g) override {
      return Full(*flag_) ? NoSpace() : FSWritableFileOwnerWrapper::Append(d, o, v, g);
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t at, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* g) override {
      return Full(*flag_) ? NoSpace() : FSWritableFileOwnerWrapper::PositionedAppend(d, at, o, g);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      return Full(*flag_) ? NoSpace() : FSWritableFileOwnerWrapper::Sync(o, g);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* g) override {
      return Full(*flag_) ? NoSpace() : FSWritableFileOwnerWrapper::Fsync(o, g);
    }

   private:
    std::shared_ptr<const std::string> flag_;
  };

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r, rocksdb::IODebugContext* g) override {
    if (Full(*flag_)) return NoSpace();
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = FileSystemWrapper::NewWritableFile(f, o, &file, g);
    if (s.ok()) *r = std::make_unique<File>(std::move(file), flag_);
    return s;
  }
  // What RocksDB's SstFileManager polls before it resumes writes: nothing while "full".
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o, uint64_t* free,
                                 rocksdb::IODebugContext* g) override {
    if (!Full(*flag_)) return FileSystemWrapper::GetFreeSpace(path, o, free, g);
    *free = 0;
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* g) override {
    if (Full(*flag_)) return NoSpace();
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = FileSystemWrapper::ReopenWritableFile(f, o, &file, g);
    if (s.ok()) *r = std::make_unique<File>(std::move(file), flag_);
    return s;
  }

 private:
  static bool Full(const std::string& flag) { return ::access(flag.c_str(), F_OK) == 0; }
  static rocksdb::IOStatus NoSpace() { return rocksdb::IOStatus::NoSpace("test: the disk is full"); }
  std::shared_ptr<const std::string> flag_;
};

std::string EncodeSums(const std::vector<int64_t>& values) {
  std::string out;
  out.reserve(values.size() * 8);
  for (int64_t v : values) out += EncodeInt64(v);
  return out;
}

std::optional<std::vector<int64_t>> DecodeSums(std::string_view bytes) {
  if (bytes.size() % 8 != 0) return std::nullopt;
  std::vector<int64_t> values;
  values.reserve(bytes.size() / 8);
  for (size_t i = 0; i < bytes.size(); i += 8) values.push_back(*DecodeInt64(bytes.substr(i, 8)));
  return values;
}

bool IsKeyedSumsFamily(std::string_view family) {
  return family.size() >= kKeyedSumsSuffix.size() &&
         family.substr(family.size() - kKeyedSumsSuffix.size()) == kKeyedSumsSuffix;
}

bool IsTalliesFamily(std::string_view family) { return family.ends_with(kTalliesSuffix); }

bool KeyedSumsReader::Varint32(uint32_t* v) {
  *v = 0;
  for (int shift = 0; shift <= 28 && !rest_.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    *v |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return true;
  }
  return false;
}

bool KeyedSumsReader::Next(std::string_view* sub_key, std::string_view* sums) {
  if (rest_.empty() || corrupt_) return false;
  uint32_t key_size = 0, count = 0;
  if (!Varint32(&key_size) || rest_.size() < key_size) return Corrupt();
  *sub_key = rest_.substr(0, key_size);
  rest_.remove_prefix(key_size);
  if (!Varint32(&count) || rest_.size() / 8 < count) return Corrupt();
  *sums = rest_.substr(0, 8 * size_t{count});
  rest_.remove_prefix(8 * size_t{count});
  return true;
}

std::string EncodeInt64(int64_t v) {
  uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);  // order-preserving for negatives too
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
  return out;
}

std::string Store::OffsetKey(std::string_view consumer, std::string_view topic, int32_t partition) {
  return StrCat("offset/", consumer, "/", topic, "/", partition);
}

std::string Store::CounterKey(std::string_view name) { return StrCat("counter/", name); }

StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.max_background_jobs = 2;
  db_options.allow_concurrent_memtable_write = false;  // (max_successive_merges needs it)
  // write_buffer_mb is per column family; a projection has several, so memtables also get one
  // budget for the whole database (flushes start when it is reached), which bounds resident memory.
  db_options.db_write_buffer_size = static_cast<size_t>(options.total_write_buffer_mb) << 20;

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = static_cast<size_t>(options.write_buffer_mb) << 20;
  // Each column family's memtable takes an arena block at once, counted against the shared budget
  // (db_write_buffer_size). At RocksDB's default (an eighth of write_buffer_size) reporting's 27
  // families filled the 64 MiB with near-empty memtables, and writes kept forcing flushes: a flush
  // (a new WAL file) during even a brief full disk stopped RocksDB until the process restarted.
  cf_options.arena_block_size = 256 << 10;
  cf_options.compression = rocksdb::kLZ4Compression;
  // Most reads on the command path are misses (is this idempotency key, e-mail, id already
  // known?): a whole-key bloom filter on the memtable answers those without walking its skiplist.
  // Its bits are allocated with each memtable, however few rows it holds: at 0.05 of a 32 MiB
  // write buffer, 1.7 MiB a memtable; 0.01 gives 2.7 Mbit, about 10 bits a key for a full memtable
  // of small rows. Reporting's ~30 families with one row each then took about 54 MiB of the 64 MiB
  // budget: every write went over it and flushed the oldest (tiny) memtable, 1,407 flushes in 18 s
  // with writes stalled on the L0 files they made (the lead -> report lag's 0.3-2.8 s tail).
  cf_options.memtable_prefix_bloom_size_ratio = 0.01;
  cf_options.memtable_whole_key_filtering = true;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(options.block_cache_mb) << 20);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.merge_operator = std::make_shared<SumsOperator>();
  // A row merged into by every event (today's cells, at 1,000 events a second) would otherwise
  // pile up thousands of operands in the memtable, each read of it merging them all again: after
  // this many, the write reads the row and puts the merged value instead. RocksDB does that read
  // only with memtable inserts made one writer at a time (allow_concurrent_memtable_write, above).
  cf_options.max_successive_merges = 32;

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, std::string(kMetaFamily),
                                    std::string(kEventIndexFamily)};
  for (const auto& cf : options.column_families) {
    if (std::find(names.begin(), names.end(), cf) == names.end()) names.push_back(cf);
  }
  // Families that exist on disk but were not declared are opened too (a newer version may have
  // added them); RocksDB refuses to open otherwise.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, options.path, &existing).ok()) {
    for (const auto& cf : existing) {
      if (std::find(names.begin(), names.end(), cf) == names.end()) names.push_back(cf);
    }
  }
  rocksdb::ColumnFamilyOptions keyed_options = cf_options;
  keyed_options.merge_operator = std::make_shared<KeyedSumsOperator>();
  rocksdb::ColumnFamilyOptions tallies_options = cf_options;
  tallies_options.merge_operator = std::make_shared<TalliesOperator>();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) {
    descriptors.emplace_back(n, IsKeyedSumsFamily(n) ? keyed_options : IsTalliesFamily(n) ? tallies_options : cf_options);
  }

  auto db = std::make_shared<StoreDb>();
  if (!options.test_disk_full_file.empty()) {
    db->env = rocksdb::NewCompositeEnv(
        std::make_shared<DiskFullFileSystem>(rocksdb::FileSystem::Default(), options.test_disk_full_file));
    db_options.env = db->env.get();
  }
  // With an SstFileManager RocksDB recovers from "no space" by itself once there is space again
  // (it polls the free space); without one, a full disk stops writes until the process restarts.
  db_options.sst_file_manager.reset(rocksdb::NewSstFileManager(db_options.env));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw),
                            StrCat("open ", options.path)));
  db->path = options.path;
  db->db.reset(raw);
  for (size_t i = 0; i < names.size(); ++i) db->families[names[i]] = handles[i];
  std::unique_ptr<Store> store(new Store());
  store->db_ = std::move(db);
  store->options_ = options;
  return store;
}

Store::~Store() = default;

namespace {
thread_local const ScopedReadRedirect* t_redirect = nullptr;
}  // namespace

ScopedReadRedirect::ScopedReadRedirect(const Store& serving, std::shared_ptr<const Store> other)
    : serving_(&serving), other_(std::move(other)), outer_(t_redirect) {
  t_redirect = this;
}

ScopedReadRedirect::~ScopedReadRedirect() { t_redirect = outer_; }

bool ScopedReadRedirect::Active() { return t_redirect != nullptr; }

std::string ScopedReadRedirect::ActiveName() { return t_redirect ? t_redirect->name_ : ""; }

std::shared_ptr<StoreDb> Store::Own() const {
  std::lock_guard lock(mu_);
  return db_;
}

std::shared_ptr<StoreDb> Store::Current() const {
  for (const ScopedReadRedirect* r = t_redirect; r; r = r->outer_) {
    if (r->serving_ == this) return r->other_->Own();
  }
  return Own();
}

std::string Store::path() const { return Own()->path; }

Status Store::SwapDatabase(Store& other, const std::function<Status()>& first) {
  if (&other == this) return absl::InvalidArgumentError("a store cannot swap its database with itself");
  std::unique_lock no_commits(swap_mu_);
  if (first) RETURN_IF_ERROR(first());  // may commit into `other`, whose commits are still open
  std::unique_lock no_other_commits(other.swap_mu_);
  std::scoped_lock lock(mu_, other.mu_);
  db_.swap(other.db_);
  std::swap(options_, other.options_);  // they describe the database (ReopenAfterFatalError)
  return absl::OkStatus();
}

StatusOr<std::optional<std::string>> Store::Get(std::string_view cf, std::string_view key) const {
  const auto db = Current();
  ASSIGN_OR_RETURN(auto* family, db->Family(cf));
  std::string value;
  rocksdb::Status s = db->db->Get(rocksdb::ReadOptions(), family, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "get"));
  if (value.empty() && IsTalliesFamily(cf)) return std::optional<std::string>();  // a tally gone back to nothing
  return std::optional<std::string>(std::move(value));
}

Status Store::Scan(std::string_view cf, std::string_view prefix, std::string_view start_after,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
  const auto db = Current();
  ASSIGN_OR_RETURN(auto* family, db->Family(cf));
  std::unique_ptr<rocksdb::Iterator> it(db->db->NewIterator(rocksdb::ReadOptions(), family));
  if (start_after.empty()) {
    it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
  } else {
    it->Seek(rocksdb::Slice(start_after.data(), start_after.size()));
    if (it->Valid() && it->key() == rocksdb::Slice(start_after.data(), start_after.size())) it->Next();
  }
  const bool tallies = IsTalliesFamily(cf);
  for (; it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (tallies && it->value().empty()) continue;  // a tally gone back to nothing: no row
    if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), "scan");
}

Status Store::ScanFrom(std::string_view cf, std::string_view from,
                       const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return ScanRange(cf, from, {}, fn);
}

Status Store::ScanRange(std::string_view cf, std::string_view from, std::string_view until,
                        const std::function<bool(std::string_view, std::string_view)>& fn) const {
  const auto db = Current();
  ASSIGN_OR_RETURN(auto* family, db->Family(cf));
  rocksdb::ReadOptions read;
  const rocksdb::Slice bound(until.data(), until.size());
  if (!until.empty()) read.iterate_upper_bound = &bound;
  std::unique_ptr<rocksdb::Iterator> it(db->db->NewIterator(read, family));
  const bool tallies = IsTalliesFamily(cf);
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    if (tallies && it->value().empty()) continue;
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scan");
}

Batch Store::NewBatch() { return Batch(Current()); }

Status Store::Commit(Batch& batch) {
  rocksdb::WriteOptions wo;
  // No fsync per batch: a process crash (kill -9) keeps the WAL, and after a machine crash a lost
  // WAL tail loses rows and their offsets together, so the events are simply consumed again.
  wo.sync = false;
  for (const ScopedReadRedirect* r = t_redirect; r; r = r->outer_) {
    if (r->serving_ == this) {
      return absl::FailedPreconditionError(StrCat("the as-of store ", r->name_.empty() ? "named" : r->name_,
                                                  " is read-only: nothing is written while a call reads it"));
    }
  }
  std::shared_lock no_swap(swap_mu_);
  if (batch.db_ != Own()) {
    return absl::AbortedError(StrCat("the store's database was switched (", path(),
                                     " now) while this batch was built on ", batch.db_->path,
                                     "; nothing written, build it again"));
  }
  batch.MergePendingSums();
  // After a write fails on a full disk, RocksDB refuses writes (nothing of the batch applied)
  // until its SstFileManager sees space again and resumes it; the caller retries meanwhile. Not
  // after an error met while switching memtables (no new WAL file could be made): RocksDB takes
  // that one as fatal, and only a database opened anew writes again. So once the disk has room
  // for the memtables' flush, a failed write asks RocksDB to resume (it answers busy while its own
  // recovery runs) and reopens the folder when it says it cannot. Not before there is room: a
  // resume tried while the disk is still full fails its flush and makes the error fatal.
  rocksdb::WriteBatch writes;
  batch.ForCommit(writes);
  const rocksdb::Status written = batch.db_->db->Write(wo, &writes);
  if (!written.IsIOError()) return FromRocks(written, "write");
  uint64_t free = 0;
  const uint64_t needed = 2 * static_cast<uint64_t>(batch.db_->db->GetDBOptions().db_write_buffer_size);
  if (!batch.db_->db->GetEnv()->GetFreeSpace(batch.db_->path, &free).ok() || free < needed) {
    return FromRocks(written, "write");
  }
  const rocksdb::Status resumed = batch.db_->db->Resume();
  if (resumed.ok() || resumed.IsBusy()) return FromRocks(written, "write");
  no_swap.unlock();
  ReopenAfterFatalError(batch.db_);
  return FromRocks(written, "write");  // the caller retries, with a batch of the database now open
}

void Store::ReopenAfterFatalError(const std::shared_ptr<StoreDb>& failed) {
  std::unique_lock no_commits(swap_mu_);
  std::unique_lock lock(mu_);  // no new read takes the database meanwhile
  if (db_ != failed) return;   // another commit reopened it already
  // Held by this store and by the failed batch; a read or batch in flight still holds it too: the
  // folder opens once per process, so wait for them a little, else leave it to the next failure.
  const absl::Time give_up = absl::Now() + absl::Seconds(2);
  while (failed.use_count() > 2) {
    if (absl::Now() > give_up) return;
    lock.unlock();
    absl::SleepFor(absl::Milliseconds(5));
    lock.lock();
    if (db_ != failed) return;
  }
  failed->Close();  // the failed batch is refused at its next commit: it was made on this one
  // Readers wait on `mu_` meanwhile, and must not find the closed one: open it again or stop.
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30);; absl::SleepFor(absl::Milliseconds(200))) {
    StoreOptions options = options_;
    options.path = failed->path;  // the same folder, whatever it was opened as
    auto reopened = Open(options);
    if (reopened.ok()) {
      db_ = std::move((*reopened)->db_);
      return;
    }
    if (absl::Now() > deadline) {
      fprintf(stderr, "store %s: closed after a fatal write error and not opened again: %s\n",
              failed->path.c_str(), reopened.status().ToString().c_str());
      std::abort();  // a restart opens it (nothing is lost: the rows and offsets are on disk)
    }
  }
}

StatusOr<std::optional<int64_t>> Store::GetOffset(std::string_view consumer, std::string_view topic,
                                                  int32_t partition) const {
  ASSIGN_OR_RETURN(auto v, Get(kMetaFamily, OffsetKey(consumer, topic, partition)));
  if (!v) return std::optional<int64_t>();
  auto n = DecodeInt64(*v);
  if (!n) return absl::DataLossError(StrCat("corrupt offset for ", topic, "/", partition));
  return std::optional<int64_t>(*n);
}

StatusOr<int64_t> Store::GetCounter(std::string_view name) const {
  ASSIGN_OR_RETURN(auto v, Get(kMetaFamily, CounterKey(name)));
  if (!v) return int64_t{0};
  auto n = DecodeInt64(*v);
  if (!n) return absl::DataLossError(StrCat("corrupt counter ", name));
  return *n;
}

// The rows a batch wrote, before it commits: each (family, key) once, with its last value or its
// deletion, in the order first written, found again by a hash index. Keys and values are kept in
// blocks that live as long as the batch (an overwritten value stays there, unused, as it would in
// a RocksDB WriteBatch). A save point notes how many rows there were; an overwrite made after
// one logs the row's earlier state, and a rollback restores those and drops the newer rows.
//
// Written by hand in place of RocksDB's WriteBatchWithIndex, whose skip list took each write and
// read of a rebuild's batch through ~15 key comparisons (a fifth of the reporting rebuild's CPU);
// a batch only needs its own rows back by key, never in key order.
struct Batch::Rows {
  struct Row {
    rocksdb::ColumnFamilyHandle* family;
    std::string_view key;    // in blocks
    std::string_view value;  // in blocks; empty when deleted
    bool deleted;
  };
  struct RowKey {
    uint32_t family;
    std::string_view key;
    bool operator==(const RowKey& o) const { return family == o.family && key == o.key; }
    template <typename H>
    friend H AbslHashValue(H h, const RowKey& k) {
      return H::combine(std::move(h), k.family, absl::string_view(k.key.data(), k.key.size()));
    }
  };
  struct Undo {  // a row's state before an overwrite
    uint32_t row;
    std::string_view value;
    bool deleted;
  };
  struct SavePoint {
    size_t rows;
    size_t undo;
  };

  std::deque<Row> rows;
  absl::flat_hash_map<RowKey, uint32_t> index;  // -> rows
  std::vector<Undo> undo;
  std::vector<SavePoint> save_points;
  std::vector<std::unique_ptr<char[]>> blocks;
  char* at = nullptr;
  size_t left = 0;  // bytes free from `at` to its block's end
  // The merges of MergePendingSums: family, key, operand.
  std::vector<std::tuple<rocksdb::ColumnFamilyHandle*, std::string, std::string>> merges;

  std::string_view Keep(std::string_view bytes) {
    if (bytes.empty()) return {};
    if (bytes.size() > left) {
      // Blocks from 4 KiB (a command's batch is small) doubling up to 256 KiB (a rebuild's is not).
      const size_t size = std::max(blocks.size() < 6 ? size_t{4096} << blocks.size() : size_t{256} << 10, bytes.size());
      blocks.push_back(std::unique_ptr<char[]>(new char[size]));  // (not zeroed)
      at = blocks.back().get();
      left = size;
    }
    std::memcpy(at, bytes.data(), bytes.size());
    const std::string_view kept(at, bytes.size());
    at += bytes.size();
    left -= bytes.size();
    return kept;
  }

  void Write(rocksdb::ColumnFamilyHandle* family, std::string_view key, std::string_view value, bool deleted) {
    bool added = false;
    auto it = index.lazy_emplace(RowKey{family->GetID(), key}, [&](const auto& construct) {
      added = true;
      const std::string_view kept = Keep(key);
      rows.push_back({family, kept, {}, false});
      construct(RowKey{family->GetID(), kept}, static_cast<uint32_t>(rows.size() - 1));
    });
    Row& row = rows[it->second];
    // (A row first written after the innermost save point goes with its rollback anyway.)
    if (!added && !save_points.empty() && it->second < save_points.back().rows) {
      undo.push_back({it->second, row.value, row.deleted});
    }
    row.value = deleted ? std::string_view() : Keep(value);
    row.deleted = deleted;
  }

  const Row* Find(rocksdb::ColumnFamilyHandle* family, std::string_view key) const {
    auto it = index.find(RowKey{family->GetID(), key});
    return it == index.end() ? nullptr : &rows[it->second];
  }

  void RollBack() {
    const SavePoint point = save_points.back();
    save_points.pop_back();
    for (; undo.size() > point.undo; undo.pop_back()) {
      rows[undo.back().row].value = undo.back().value;
      rows[undo.back().row].deleted = undo.back().deleted;
    }
    for (; rows.size() > point.rows; rows.pop_back()) index.erase(RowKey{rows.back().family->GetID(), rows.back().key});
  }

  void Pop() {
    save_points.pop_back();
    if (save_points.empty()) undo.clear();  // (an outer one still needs them)
  }
};

Batch::Batch(std::shared_ptr<StoreDb> db) : db_(std::move(db)), rows_(std::make_unique<Rows>()) {}
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

void Batch::Put(std::string_view cf, std::string_view key, std::string_view value) {
  auto family = db_->Family(cf);
  // An undeclared family is a programming error in the projection's wiring, not bad input.
  if (!family.ok()) std::abort();
  rows_->Write(*family, key, value, false);
}

void Batch::AddSums(std::string_view cf, std::string_view key, const std::vector<int64_t>& values) {
  auto family = db_->Family(cf);
  // A family of the other kind of sums would merge these as garbage: a wiring error.
  if (!family.ok() || IsKeyedSumsFamily(cf)) std::abort();
  pending_sums_.push_back({*family, std::string(key), std::nullopt, values});
}

void Batch::ChangeTally(std::string_view cf, std::string_view key, const TallyChange& change) {
  auto family = db_->Family(cf);
  if (!family.ok() || !IsTalliesFamily(cf)) std::abort();
  pending_tallies_.push_back({*family, std::string(key), change});
}

void Batch::AddKeyedSums(std::string_view cf, std::string_view key, std::string_view sub_key,
                         const std::vector<int64_t>& values) {
  auto family = db_->Family(cf);
  if (!family.ok() || !IsKeyedSumsFamily(cf)) std::abort();
  pending_sums_.push_back({*family, std::string(key), std::string(sub_key), values});
}

// One merge per row for the whole batch: a row added to by every event (a day's company cell)
// takes one operand, not one per event.
void Batch::MergePendingSums() {
  const auto add = [](std::vector<int64_t>& sums, const std::vector<int64_t>& values) {
    if (sums.size() < values.size()) sums.resize(values.size(), 0);
    for (size_t i = 0; i < values.size(); ++i) sums[i] += values[i];
  };
  using Row = std::pair<uint32_t, std::string_view>;
  std::map<Row, std::pair<rocksdb::ColumnFamilyHandle*, std::vector<int64_t>>> rows;
  std::map<Row, std::pair<rocksdb::ColumnFamilyHandle*, std::map<std::string_view, std::vector<int64_t>>>> keyed;
  std::map<Row, std::pair<rocksdb::ColumnFamilyHandle*, TallyChange>> tallies;
  for (const PendingTally& p : pending_tallies_) {
    auto& [family, change] = tallies[{p.family->GetID(), p.key}];
    family = p.family;
    AddTallyChange(p.change, change);
  }
  for (const PendingSums& p : pending_sums_) {
    if (p.sub_key) {
      auto& [family, entries] = keyed[{p.family->GetID(), p.key}];
      family = p.family;
      add(entries[*p.sub_key], p.values);
      continue;
    }
    auto& [family, sums] = rows[{p.family->GetID(), p.key}];
    family = p.family;
    add(sums, p.values);
  }
  for (const auto& [key, row] : rows) rows_->merges.emplace_back(row.first, key.second, EncodeSums(row.second));
  for (auto& [key, row] : tallies) {
    if (std::optional<std::string> operand = TallyOperand(row.second)) {
      rows_->merges.emplace_back(row.first, key.second, std::move(*operand));
    }
  }
  std::string encoded;
  for (const auto& [key, row] : keyed) {
    encoded.clear();
    for (const auto& [sub_key, sums] : row.second) AppendKeyedEntry(sub_key, sums, encoded);
    if (encoded.empty()) continue;  // every entry added up to zero
    rows_->merges.emplace_back(row.first, key.second, encoded);
  }
  pending_sums_.clear();
  pending_tallies_.clear();
}

// In key order within each family: the memtable's skip list then finds each key's place from
// where the one before went in (its remembered splice) instead of from its top, which for a
// rebuild's batch of random ids was most of the time the write took. (Each row is once in a batch,
// merges included, so the order of the entries changes nothing else. The merges are in that order
// already: MergePendingSums makes them from maps by family and key, a kind of merge at a time.)
void Batch::ForCommit(rocksdb::WriteBatch& out) const {
  const auto slice = [](std::string_view s) { return rocksdb::Slice(s.data(), s.size()); };
  std::vector<const Rows::Row*> rows;
  rows.reserve(rows_->rows.size());
  for (const Rows::Row& row : rows_->rows) rows.push_back(&row);
  std::sort(rows.begin(), rows.end(), [](const Rows::Row* a, const Rows::Row* b) {
    const uint32_t fa = a->family->GetID(), fb = b->family->GetID();
    return fa != fb ? fa < fb : a->key < b->key;
  });
  for (const Rows::Row* row : rows) {
    const rocksdb::Status s = row->deleted ? out.Delete(row->family, slice(row->key))
                                           : out.Put(row->family, slice(row->key), slice(row->value));
    s.PermitUncheckedError();  // (a WriteBatch refuses only entries over 4 GiB)
  }
  for (const auto& [family, key, value] : rows_->merges) out.Merge(family, key, value).PermitUncheckedError();
}

void Batch::Delete(std::string_view cf, std::string_view key) {
  auto family = db_->Family(cf);
  if (!family.ok()) std::abort();
  rows_->Write(*family, key, {}, true);
}

StatusOr<std::optional<std::string>> Batch::Get(std::string_view cf, std::string_view key) const {
  ASSIGN_OR_RETURN(auto* family, db_->Family(cf));
  if (const Rows::Row* row = rows_->Find(family, key)) {
    return row->deleted ? std::optional<std::string>() : std::optional<std::string>(std::string(row->value));
  }
  if (reads_through_) {
    if (std::optional<std::optional<std::string>> row = reads_through_->Find(family, key)) return std::move(*row);
  }
  if (below_) {
    if (const Rows::Row* row = below_->rows_->Find(family, key)) {
      return row->deleted ? std::optional<std::string>() : std::optional<std::string>(std::string(row->value));
    }
    if (below_->Merges(family, key)) {
      missed_below_ = true;
      return absl::UnavailableError(StrCat("row ", key, " of ", cf,
                                           " is merged into by a batch not committed yet; read it once it is"));
    }
  }
  std::string value;
  rocksdb::Status s =
      db_->db->Get(rocksdb::ReadOptions(), family, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "get"));
  if (value.empty() && IsTalliesFamily(cf)) return std::optional<std::string>();
  return std::optional<std::string>(std::move(value));
}

bool Batch::Merges(rocksdb::ColumnFamilyHandle* family, std::string_view key) const {
  for (const PendingSums& p : pending_sums_) {
    if (p.family == family && p.key == key) return true;
  }
  for (const PendingTally& p : pending_tallies_) {
    if (p.family == family && p.key == key) return true;
  }
  for (const auto& [f, k, operand] : rows_->merges) {  // (made by a commit attempt)
    if (f == family && k == key) return true;
  }
  return false;
}

void Batch::SetOffset(std::string_view consumer, std::string_view topic, int32_t partition, int64_t next_offset) {
  Put(Store::kMetaFamily, Store::OffsetKey(consumer, topic, partition), EncodeInt64(next_offset));
}

Status Batch::AddToCounter(std::string_view name, int64_t delta) {
  const std::string key = Store::CounterKey(name);
  ASSIGN_OR_RETURN(auto current, Get(Store::kMetaFamily, key));
  int64_t value = 0;
  if (current) {
    auto n = DecodeInt64(*current);
    if (!n) return absl::DataLossError(StrCat("corrupt counter ", name));
    value = *n;
  }
  Put(Store::kMetaFamily, key, EncodeInt64(value + delta));
  return absl::OkStatus();
}

size_t Batch::size() const {
  return rows_->rows.size() + rows_->merges.size() + pending_sums_.size() + pending_tallies_.size();
}

void Batch::SetSavePoint() {
  rows_->save_points.push_back({rows_->rows.size(), rows_->undo.size()});
  pending_at_save_points_.emplace_back(pending_sums_.size(), pending_tallies_.size());
}
Status Batch::RollbackToSavePoint() {
  if (rows_->save_points.empty()) return absl::FailedPreconditionError("rollback: no save point");
  rows_->RollBack();
  pending_sums_.resize(pending_at_save_points_.back().first);
  pending_tallies_.resize(pending_at_save_points_.back().second);
  pending_at_save_points_.pop_back();
  return absl::OkStatus();
}
Status Batch::PopSavePoint() {
  if (rows_->save_points.empty()) return absl::FailedPreconditionError("pop save point: no save point");
  rows_->Pop();
  pending_at_save_points_.pop_back();
  return absl::OkStatus();
}

}  // namespace sales

namespace sales {

int64_t Store::DiskBytes() const { return DirectoryBytes(path()); }

int64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  int64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const auto size = it->file_size(size_ec);
      if (!size_ec) total += static_cast<int64_t>(size);
    }
  }
  return total;
}

Status Store::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  const auto db = Current();
  RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db->db.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: memtables are flushed first, so the copy needs no log replay.
  return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0), StrCat("checkpoint into ", dir));
}

}  // namespace sales

namespace sales {

CommitPipeline::~CommitPipeline() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

Batch CommitPipeline::NewBatch() {
  Batch batch = store_->NewBatch();
  batch.reads_through_ = this;
  return batch;
}

void CommitPipeline::Commit(Batch batch, std::function<Status(Batch&)> commit) {
  WaitWritten();
  batch.reads_through_ = nullptr;
  std::vector<uint64_t> merges;  // (hashes: the writer clears the keys; a collision only waits)
  for (const Batch::PendingSums& p : batch.pending_sums_) merges.push_back(RowHash(p.family->GetID(), p.key));
  for (const Batch::PendingTally& p : batch.pending_tallies_) merges.push_back(RowHash(p.family->GetID(), p.key));
  std::sort(merges.begin(), merges.end());
  merges.erase(std::unique(merges.begin(), merges.end()), merges.end());
  {
    std::lock_guard lock(mu_);
    writing_ = std::make_unique<Batch>(std::move(batch));
    writing_merges_ = std::move(merges);
    commit_ = std::move(commit);
    pending_ = true;
    if (!writer_.joinable()) writer_ = std::thread([this] { Run(); });
  }
  cv_.notify_all();
}

CommitPipeline::Outcome CommitPipeline::Finish() {
  WaitWritten();
  std::lock_guard lock(mu_);
  writing_.reset();
  writing_merges_.clear();
  return std::exchange(outcome_, Outcome());
}

std::optional<std::optional<std::string>> CommitPipeline::Find(rocksdb::ColumnFamilyHandle* family,
                                                               std::string_view key) {
  if (!writing_) return std::nullopt;
  if (const Batch::Rows::Row* row = writing_->rows_->Find(family, key)) {
    return row->deleted ? std::optional<std::string>() : std::optional<std::string>(std::string(row->value));
  }
  // A merged row is in no batch's rows: read it once the merge is in the database.
  if (std::binary_search(writing_merges_.begin(), writing_merges_.end(), RowHash(family->GetID(), key))) {
    WaitWritten();
  }
  return std::nullopt;
}

uint64_t CommitPipeline::RowHash(uint32_t family, std::string_view key) {
  return absl::HashOf(family, absl::string_view(key.data(), key.size()));
}

void CommitPipeline::WaitWritten() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !pending_; });
}

void CommitPipeline::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || pending_; });
    if (!pending_) return;  // stopping, nothing left to write
    Batch* batch = writing_.get();
    const bool failed_before = !outcome_.status.ok();
    lock.unlock();
    const Status s = failed_before ? absl::OkStatus() : commit_(*batch);
    lock.lock();
    if (!failed_before) {
      if (s.ok()) {
        ++outcome_.committed;
      } else {
        outcome_.status = s;
      }
    }
    pending_ = false;
    cv_.notify_all();
  }
}

}  // namespace sales
