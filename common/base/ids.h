// Identifiers: random UUIDs for events and correlation ids, and name-based UUIDs (RFC 4122 v5) for
// aggregates whose id must come out the same on a retry (e.g. a lead id derived from the idempotency
// key of the command that created it).
#pragma once

#include <string>
#include <string_view>

namespace sales {

// A random (v4) UUID in canonical lower-case form. Thread-safe.
std::string NewUuid();

// A v5 UUID of `name` within `name_space` (any string; it is hashed into the namespace UUID).
// The same inputs always give the same id.
std::string NameUuid(std::string_view name_space, std::string_view name);

// True for a canonical UUID text (36 characters, hex and dashes in the 8-4-4-4-12 layout).
bool IsUuid(std::string_view text);

}  // namespace sales
