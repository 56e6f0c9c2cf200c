// Field checks shared by the commands of lead acquisition. Each appends violations (field +
// reason) to a list so a request gets every problem back at once.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"

namespace sales::lead_acquisition {

using Violations = std::vector<FieldViolation>;

std::string Trim(const std::string& s);

// 1-128 printable ASCII characters without spaces.
void CheckIdempotencyKey(const std::string& key, Violations& out);
// A UUID naming an aggregate.
void CheckId(const std::string& field, const std::string& id, Violations& out);
// Trimmed text: non-empty when required, at most `max` characters (code points); valid UTF-8
// without control characters or bidirectional controls, with at least one visible character.
void CheckText(const std::string& field, const std::string& value, size_t max, bool required, Violations& out);
// Codes of [A-Za-z0-9_-] (regions) or [a-z0-9._-] (products).
bool ValidRegion(const std::string& s);
bool ValidProductCode(const std::string& s);
bool ValidEmail(const std::string& e);
bool ValidPhone(const std::string& p);
// A telephone exchange extension: empty (none) or 2-8 digits.
void CheckExtension(const std::string& field, const std::string& value, Violations& out);

// OK, or INVALID_ARGUMENT with every violation.
Status Result(Violations violations);

}  // namespace sales::lead_acquisition
