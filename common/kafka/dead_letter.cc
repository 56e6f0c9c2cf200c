#include "common/kafka/dead_letter.h"

#include "common/base/strings.h"
#include "common/base/text.h"
#include "common/kafka/client_config.h"

namespace sales::kafka {

OutgoingMessage MakeDeadLetter(std::string key, std::string value,
                               std::vector<std::pair<std::string, std::string>> headers, const Status& reason,
                               const DeadLetterOrigin& origin, absl::Time now) {
  OutgoingMessage m{DeadLetterTopic(origin.topic), std::move(key), std::move(value), std::move(headers)};
  if (m.value.size() > kMaxDeadLetterValue) {
    m.headers.emplace_back("dlq.truncated", StrCat(m.value.size()));
    m.value.resize(kDeadLetterKeptBytes);
  }
  // The reason may quote the record (a refused value): never copy raw bytes or line breaks into
  // the header operators read.
  std::string why = EscapeForDisplay(ToStd(reason.message()).substr(0, 4096));
  m.headers.emplace_back("dlq.reason", std::move(why));
  m.headers.emplace_back("dlq.code", absl::StatusCodeToString(reason.code()));
  m.headers.emplace_back("dlq.consumer", origin.consumer);
  m.headers.emplace_back("dlq.source.topic", origin.topic);
  m.headers.emplace_back("dlq.source.partition", StrCat(origin.partition));
  m.headers.emplace_back("dlq.source.offset", StrCat(origin.offset));
  m.headers.emplace_back("dlq.at", absl::FormatTime(absl::RFC3339_full, now, absl::UTCTimeZone()));
  return m;
}

}  // namespace sales::kafka
