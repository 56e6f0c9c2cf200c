#include "common/base/status.h"

#include "common/base/strings.h"
#include "absl/strings/str_split.h"

namespace sales {
namespace {

// Payload encoding: one "field\x1Fdescription" per line ('\x1E'-separated). Internal only: the gRPC
// layer re-encodes it as google.rpc.BadRequest.
constexpr char kFieldSep = '\x1F';
constexpr char kRecordSep = '\x1E';

}  // namespace

Status InvalidArgument(std::vector<FieldViolation> violations) {
  std::string message;
  std::string payload;
  for (const auto& v : violations) {
    if (!message.empty()) StrAppend(&message, "; ");
    StrAppend(&message, v.field, ": ", v.description);
    if (!payload.empty()) payload.push_back(kRecordSep);
    StrAppend(&payload, v.field, std::string(1, kFieldSep), v.description);
  }
  Status status = absl::InvalidArgumentError(message);
  status.SetPayload(std::string(kFieldViolationsPayload), absl::Cord(payload));
  return status;
}

Status InvalidField(std::string_view field, std::string_view description) {
  return InvalidArgument({{std::string(field), std::string(description)}});
}

std::vector<FieldViolation> FieldViolations(const Status& status) {
  std::vector<FieldViolation> out;
  auto payload = status.GetPayload(std::string(kFieldViolationsPayload));
  if (!payload) return out;
  const std::string text(*payload);
  for (absl::string_view record : absl::StrSplit(text, kRecordSep)) {
    std::pair<std::string, std::string> parts = absl::StrSplit(record, absl::MaxSplits(kFieldSep, 1));
    out.push_back({parts.first, parts.second});
  }
  return out;
}

}  // namespace sales
