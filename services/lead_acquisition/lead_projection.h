// The lead projection: events of `sales.leads` -> RocksDB rows the queries and the command path
// read.
//
// Column families:
//   leads              lead id -> sales.api.v1.Lead (the current state, with its version)
//   lead_idempotency   idempotency key -> IdempotencyRecord (what the command produced)
// An event whose version is not above the stored one was applied already (by the command path, or
// before a crash) and is a duplicate; a version gap is refused (dead letter).
#pragma once

#include <optional>
#include <string>

#include "common/projection/projection.h"
#include "services/lead_acquisition/lead.h"

namespace sales::lead_acquisition {

inline constexpr char kLeadsFamily[] = "leads";
inline constexpr char kIdempotencyFamily[] = "lead_idempotency";

// What a command with a given idempotency key produced, for answering its retries.
struct IdempotencyRecord {
  std::string aggregate_id;
  int64_t version = 0;
  std::string command_hash;

  std::string Encode() const;
  static std::optional<IdempotencyRecord> Decode(std::string_view bytes);
};

class LeadProjection final : public projection::EventProjection {
 public:
  std::string name() const override { return "leads"; }
  std::vector<std::string> column_families() const override { return {kLeadsFamily, kIdempotencyFamily}; }

 protected:
  StatusOr<projection::Outcome> ApplyEvent(const EventEnvelope& event, Batch& batch) override;
};

// Readers shared by the queries and the command path.
StatusOr<std::optional<Lead>> LoadLead(const Store& store, const std::string& lead_id);
StatusOr<std::optional<IdempotencyRecord>> LoadIdempotency(const Store& store, const std::string& key);

}  // namespace sales::lead_acquisition
