// The lead acquisition projection: events of `sales.leads` (lead and manager aggregates) -> the
// RocksDB rows the queries and the command path read.
//
// Column families:
//   leads              lead id -> sales.api.v1.Lead (current state, with version and score)
//   managers           manager id -> sales.api.v1.Manager (as registered; without counts)
//   manager_load       manager id -> "<open leads> <leads ever assigned>", kept by lead events apart
//                      from the manager row: lead and manager events sit in different partitions,
//                      so a replay may apply a lead's assignment before its manager's registration
//   lead_idempotency   idempotency key -> IdempotencyRecord (what the command produced)
//   lead_index         "src/<source>/<external id>", "email/<e-mail>", "phone/<phone>" -> lead id
//                      (de-duplication: the first lead to claim a key keeps it)
//   lead_order         <captured-at nanos, 8 bytes big-endian><lead id> -> "" (ListLeads order)
//   lead_events        <lead id>/<version, 8 bytes> -> the event envelope (a lead's history)
//   manager_extension  PBX extension -> <claimed-at nanos, 8 bytes big-endian><manager id>: who holds
//                      it. Manager events of different managers may replay in any order, so a
//                      later claim (by occurred_at, then manager id) wins over an earlier one, and a
//                      release only removes the holder's own claim if it is not newer: the same
//                      rows whatever the interleaving.
// An event whose version is not above the stored one is a duplicate; a version gap is refused
// (dead letter).
#pragma once

#include <optional>
#include <string>

#include "common/command/idempotency.h"
#include "common/projection/projection.h"
#include "services/lead_acquisition/domain/lead.h"

namespace sales::lead_acquisition {

inline constexpr char kLeadsFamily[] = "leads";
inline constexpr char kManagersFamily[] = "managers";
inline constexpr char kManagerLoadFamily[] = "manager_load";
inline constexpr char kIdempotencyFamily[] = "lead_idempotency";
inline constexpr char kIndexFamily[] = "lead_index";
inline constexpr char kOrderFamily[] = "lead_order";
inline constexpr char kEventsFamily[] = "lead_events";
inline constexpr char kExtensionFamily[] = "manager_extension";

// What a command with a given idempotency key produced, for answering its retries.
using command::IdempotencyRecord;

class LeadProjection final : public projection::EventProjection {
 public:
  std::string name() const override { return "leads"; }
  std::vector<std::string> column_families() const override {
    return {kLeadsFamily, kManagersFamily, kManagerLoadFamily, kIdempotencyFamily,
            kIndexFamily, kOrderFamily,    kEventsFamily,      kExtensionFamily};
  }

 protected:
  StatusOr<projection::Outcome> ApplyEvent(const EventEnvelope& event, Batch& batch) override;

 private:
  StatusOr<projection::Outcome> ApplyLead(const EventEnvelope& event, Batch& batch);
  StatusOr<projection::Outcome> ApplyManager(const EventEnvelope& event, Batch& batch);
};

// De-duplication keys of lead_index.
std::string SourceKey(events::v1::LeadSource source, const std::string& external_id);
std::string EmailKey(const std::string& normalized_email);
std::string PhoneKey(const std::string& normalized_phone);
std::string OrderKey(absl::Time captured_at, const std::string& lead_id);
std::string EventKey(const std::string& lead_id, int64_t version);

// Readers over a Store or a Batch (anything with Get(cf, key) -> StatusOr<optional<string>>).
template <typename Reader>
StatusOr<std::optional<Lead>> LoadLead(const Reader& r, const std::string& id);
template <typename Reader>
StatusOr<std::optional<Manager>> LoadManager(const Reader& r, const std::string& id);
template <typename Reader>
StatusOr<std::optional<IdempotencyRecord>> LoadIdempotency(const Reader& r, const std::string& key);
template <typename Reader>
StatusOr<std::optional<std::string>> LookupIndex(const Reader& r, const std::string& key);

// ---- implementation of the readers ----
template <typename Message, typename Reader>
StatusOr<std::optional<Message>> LoadRow(const Reader& r, const char* family, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, r.Get(family, id));
  if (!bytes) return std::optional<Message>();
  Message m;
  if (!m.ParseFromString(*bytes)) return absl::DataLossError(StrCat("stored ", family, " row ", id, " is corrupt"));
  return std::optional<Message>(std::move(m));
}

template <typename Reader>
StatusOr<std::optional<Lead>> LoadLead(const Reader& r, const std::string& id) {
  return LoadRow<Lead>(r, kLeadsFamily, id);
}

// A manager's lead counts: {open, ever assigned}.
std::pair<int32_t, int32_t> DecodeLoad(const std::optional<std::string>& bytes);
std::string EncodeLoad(int32_t open, int32_t assigned);

// The manager with its current lead counts.
template <typename Reader>
StatusOr<std::optional<Manager>> LoadManager(const Reader& r, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<Manager> m, LoadRow<Manager>(r, kManagersFamily, id));
  if (!m) return m;
  ASSIGN_OR_RETURN(std::optional<std::string> load, r.Get(kManagerLoadFamily, id));
  const auto [open, assigned] = DecodeLoad(load);
  m->set_open_leads(open);
  m->set_assigned_total(assigned);
  return m;
}

template <typename Reader>
StatusOr<std::optional<IdempotencyRecord>> LoadIdempotency(const Reader& r, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, r.Get(kIdempotencyFamily, key));
  if (!bytes) return std::optional<IdempotencyRecord>();
  // Records of the first release had no event type: they were all captures.
  auto record = IdempotencyRecord::Decode(*bytes, kLeadCaptured);
  if (!record) return absl::DataLossError(StrCat("stored idempotency record for ", key, " is corrupt"));
  return record;
}

template <typename Reader>
StatusOr<std::optional<std::string>> LookupIndex(const Reader& r, const std::string& key) {
  return r.Get(kIndexFamily, key);
}

// The manager holding a PBX extension (nullopt: nobody).
template <typename Reader>
StatusOr<std::optional<std::string>> ExtensionHolder(const Reader& r, const std::string& extension) {
  ASSIGN_OR_RETURN(std::optional<std::string> claim, r.Get(kExtensionFamily, extension));
  if (!claim || claim->size() <= 8) return std::optional<std::string>();
  return std::optional<std::string>(claim->substr(8));
}

}  // namespace sales::lead_acquisition
