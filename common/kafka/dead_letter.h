// The one shape of a dead letter: a record a consumer refused, parked in `<topic>.dlq` unchanged
// (key, value, headers) with why and where it came from in `dlq.*` headers. Shared by every
// consumer so operators (and salesctl) read them all the same way. The `dlq.reason` header is
// printable UTF-8 on one line (EscapeForDisplay), whatever the refused record held.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "common/kafka/publisher.h"

namespace sales::kafka {

// Values above this are cut to their first kDeadLetterKeptBytes (header dlq.truncated holds the
// original size), so that the dead letter itself always fits in a Kafka message.
inline constexpr size_t kMaxDeadLetterValue = 512 * 1024;
inline constexpr size_t kDeadLetterKeptBytes = 64 * 1024;

struct DeadLetterOrigin {
  std::string consumer;  // e.g. "leads" (a projection) or "lead-acquisition/intake"
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

OutgoingMessage MakeDeadLetter(std::string key, std::string value,
                               std::vector<std::pair<std::string, std::string>> headers, const Status& reason,
                               const DeadLetterOrigin& origin, absl::Time now);

}  // namespace sales::kafka
