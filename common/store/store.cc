#include "common/store/store.h"

#include "common/base/strings.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/utilities/write_batch_with_index.h"

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

}  // namespace

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

std::string EncodeInt64(int64_t v) {
  uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);  // order-preserving for negatives too
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
  return out;
}

std::optional<int64_t> DecodeInt64(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  uint64_t u = 0;
  for (unsigned char c : bytes) u = (u << 8) | c;
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
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
  // write_buffer_mb is per column family; a projection has several, so memtables also get one
  // budget for the whole database (flushes start when it is reached), which bounds resident memory.
  db_options.db_write_buffer_size = static_cast<size_t>(options.total_write_buffer_mb) << 20;

  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.write_buffer_size = static_cast<size_t>(options.write_buffer_mb) << 20;
  cf_options.compression = rocksdb::kLZ4Compression;
  // Most reads on the command path are misses (is this idempotency key, e-mail, id already
  // known?): a whole-key bloom filter on the memtable answers those without walking its skiplist.
  cf_options.memtable_prefix_bloom_size_ratio = 0.05;
  cf_options.memtable_whole_key_filtering = true;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(options.block_cache_mb) << 20);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.merge_operator = std::make_shared<SumsOperator>();

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, std::string(kMetaFamily)};
  for (const auto& cf : options.column_families) {
    if (cf != kMetaFamily && cf != rocksdb::kDefaultColumnFamilyName) names.push_back(cf);
  }
  // Families that exist on disk but were not declared are opened too (a newer version may have
  // added them); RocksDB refuses to open otherwise.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, options.path, &existing).ok()) {
    for (const auto& cf : existing) {
      if (std::find(names.begin(), names.end(), cf) == names.end()) names.push_back(cf);
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, cf_options);

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw),
                            StrCat("open ", options.path)));
  std::unique_ptr<Store> store(new Store());
  store->path_ = options.path;
  store->db_.reset(raw);
  for (size_t i = 0; i < names.size(); ++i) store->families_[names[i]] = handles[i];
  return store;
}

Store::~Store() {
  for (auto& [name, handle] : families_) db_->DestroyColumnFamilyHandle(handle);
  families_.clear();
  if (db_) db_->Close().PermitUncheckedError();
}

StatusOr<rocksdb::ColumnFamilyHandle*> Store::Family(std::string_view cf) const {
  auto it = families_.find(cf);
  if (it == families_.end()) return absl::InternalError(StrCat("column family \"", cf, "\" not declared"));
  return it->second;
}

StatusOr<std::optional<std::string>> Store::Get(std::string_view cf, std::string_view key) const {
  ASSIGN_OR_RETURN(auto* family, Family(cf));
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "get"));
  return std::optional<std::string>(std::move(value));
}

Status Store::Scan(std::string_view cf, std::string_view prefix, std::string_view start_after,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
  ASSIGN_OR_RETURN(auto* family, Family(cf));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
  if (start_after.empty()) {
    it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
  } else {
    it->Seek(rocksdb::Slice(start_after.data(), start_after.size()));
    if (it->Valid() && it->key() == rocksdb::Slice(start_after.data(), start_after.size())) it->Next();
  }
  for (; it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), "scan");
}

Status Store::ScanFrom(std::string_view cf, std::string_view from,
                       const std::function<bool(std::string_view, std::string_view)>& fn) const {
  ASSIGN_OR_RETURN(auto* family, Family(cf));
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    if (!fn(std::string_view(it->key().data(), it->key().size()),
            std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scan");
}

Batch Store::NewBatch() { return Batch(this); }

Status Store::Commit(Batch& batch) {
  rocksdb::WriteOptions wo;
  // No fsync per batch: a process crash (kill -9) keeps the WAL, and after a machine crash a lost
  // WAL tail loses rows and their offsets together, so the events are simply consumed again.
  wo.sync = false;
  return FromRocks(db_->Write(wo, batch.wb_->GetWriteBatch()), "write");
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

Batch::Batch(Store* store)
    : store_(store), wb_(std::make_unique<rocksdb::WriteBatchWithIndex>(rocksdb::BytewiseComparator(), 0, true)) {}
Batch::~Batch() = default;
Batch::Batch(Batch&&) noexcept = default;
Batch& Batch::operator=(Batch&&) noexcept = default;

void Batch::Put(std::string_view cf, std::string_view key, std::string_view value) {
  auto family = store_->Family(cf);
  // An undeclared family is a programming error in the projection's wiring, not bad input.
  if (!family.ok()) std::abort();
  wb_->Put(*family, rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()))
      .PermitUncheckedError();
}

void Batch::AddSums(std::string_view cf, std::string_view key, const std::vector<int64_t>& values) {
  auto family = store_->Family(cf);
  if (!family.ok()) std::abort();
  wb_->Merge(*family, rocksdb::Slice(key.data(), key.size()), EncodeSums(values)).PermitUncheckedError();
}

void Batch::Delete(std::string_view cf, std::string_view key) {
  auto family = store_->Family(cf);
  if (!family.ok()) std::abort();
  wb_->Delete(*family, rocksdb::Slice(key.data(), key.size())).PermitUncheckedError();
}

StatusOr<std::optional<std::string>> Batch::Get(std::string_view cf, std::string_view key) const {
  ASSIGN_OR_RETURN(auto* family, store_->Family(cf));
  std::string value;
  rocksdb::Status s = wb_->GetFromBatchAndDB(store_->db_.get(), rocksdb::ReadOptions(), family,
                                             rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(FromRocks(s, "get"));
  return std::optional<std::string>(std::move(value));
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

size_t Batch::size() const { return wb_->GetWriteBatch()->Count(); }

void Batch::SetSavePoint() { wb_->SetSavePoint(); }
Status Batch::RollbackToSavePoint() { return FromRocks(wb_->RollbackToSavePoint(), "rollback"); }
Status Batch::PopSavePoint() { return FromRocks(wb_->PopSavePoint(), "pop save point"); }

}  // namespace sales
