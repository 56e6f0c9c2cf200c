// Reading a topic's log at chosen places, for operators rather than projections: the record at an
// offset (history through an index, the oldest unapplied event for lag as a time, one dead
// letter), a range of a partition (export, dead-letter listings), the first offset at a time.
//
// Each call makes its own short-lived librdkafka consumer with manual assignment (no consumer
// group, nothing committed), so a reader never disturbs a projection and calls may run on any
// thread at once. A call costs a connection and one fetch per contiguous run of offsets: cheap for
// an operator's request, not for a hot path.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "common/kafka/client_config.h"

namespace sales::kafka {

struct LogMessage {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  absl::Time timestamp = absl::InfinitePast();  // the broker's timestamp (create time)

  // The first header of that name, or "".
  std::string Header(std::string_view name) const;
};

class LogReader {
 public:
  explicit LogReader(ClientSettings client, absl::Duration timeout = absl::Seconds(10))
      : client_(std::move(client)), timeout_(timeout) {}

  // The records at `offsets` of one partition (any order, duplicates ignored), in offset order.
  // An offset that is no longer or not yet in the log is left out.
  [[nodiscard]] StatusOr<std::vector<LogMessage>> ReadAt(const std::string& topic, int32_t partition,
                                                         std::vector<int64_t> offsets) const;

  // Calls fn for each record of [from, to) of a partition, in order, until fn returns false.
  // `to` is exclusive; pass the high watermark for "to the end as of now".
  [[nodiscard]] Status Scan(const std::string& topic, int32_t partition, int64_t from, int64_t to,
                            const std::function<bool(const LogMessage&)>& fn) const;

  // The first offset whose timestamp is at or after `t`; the partition's end when none is.
  [[nodiscard]] StatusOr<int64_t> OffsetAt(const std::string& topic, int32_t partition, absl::Time t) const;

 private:
  ClientSettings client_;
  absl::Duration timeout_;
};

}  // namespace sales::kafka
