// Field checks every command request shares. Each appends violations (field + reason) so that a
// request gets every problem back at once; Result() makes them one INVALID_ARGUMENT.
//
// Lead acquisition, first offers and client support still carry their own copies of these (from
// before this file); new services use this one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sales::command {

using Violations = std::vector<FieldViolation>;

// 1-128 printable ASCII characters without spaces.
void CheckIdempotencyKey(const std::string& key, Violations& v);
// 0 (any) or a version >= 1.
void CheckExpectedVersion(int64_t expected, Violations& v);
// Text, trimmed of spaces: non-empty when required, at most `max` code points, valid UTF-8
// without control characters (line breaks and tabs allowed when `multiline`).
void CheckText(const std::string& field, const std::string& value, size_t max, bool required, bool multiline,
               Violations& v);
// OK, or INVALID_ARGUMENT with every violation.
Status Result(Violations v);

}  // namespace sales::command
