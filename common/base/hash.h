// Content hashes for fingerprints that must stay the same across builds and machines (stored in
// events), unlike std::hash.
#pragma once

#include <string>
#include <string_view>

namespace sales {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace sales
