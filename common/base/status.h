// Status helpers used at every module boundary: absl::Status / absl::StatusOr<T> (gRPC already
// brings Abseil), plus the RETURN_IF_ERROR / ASSIGN_OR_RETURN macros and constructors for the
// errors that carry structured detail (which field was invalid, which precondition failed).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/base/strings.h"

namespace sales {

using absl::Status;
using absl::StatusOr;

// One invalid field of a request or record, e.g. {"email", "not a valid e-mail address"}.
struct FieldViolation {
  std::string field;
  std::string description;
};

// INVALID_ARGUMENT naming the fields and reasons. The violations ride along as a payload that
// common/grpc turns into google.rpc.BadRequest details; the message names them too.
Status InvalidArgument(std::vector<FieldViolation> violations);
Status InvalidField(std::string_view field, std::string_view description);

// Reads the violations back (empty when the status carries none).
std::vector<FieldViolation> FieldViolations(const Status& status);

// The payload type URL under which violations are attached.
inline constexpr std::string_view kFieldViolationsPayload = "type.sales.platform/field-violations";

}  // namespace sales

#define SALES_CONCAT_INNER(a, b) a##b
#define SALES_CONCAT(a, b) SALES_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status sales_status_ = (expr);     \
    if (!sales_status_.ok()) return sales_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(SALES_CONCAT(sales_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(*tmp)
