// The operator's commands of salesctl, on the Admin API every service serves
// (proto/sales/api/v1/admin.proto; runbook: docs/OPERATIONS.md):
//
//   status                          every consumer of every service, one aligned table (--json)
//   dead-letters list|show|redrive|discard
//   history AGGREGATE_ID            one aggregate's events in order
//   export --topic=T ...            a topic's events as JSON lines
//   snapshot [--name=N]             a checkpoint of a service's store
//   rebuild start|status|switch|abort|discard   a new store beside the serving one, switched in
//                                   without downtime
//
// Flags are parsed with CLI11 (each command has its own). Output is for a terminal (aligned by
// display width, text escaped) unless --json; errors go to stderr with the gRPC code and each
// field violation. Exit codes: 0 done, 1 a service failed or could not be reached, 2 usage.
#pragma once

#include <string>
#include <vector>

#include "sales/api/v1/admin.grpc.pb.h"

namespace sales::salesctl {

// Whether the command word is one of these (status, dead-letters, history, export, snapshot).
bool IsOpsCommand(const std::string& word);

// Runs one: `args` is the whole command line without the program name.
int RunOps(const std::vector<std::string>& args);

// One service's answer to GetProjectionStatus, or why there is none.
struct ServiceStatus {
  std::string target;
  api::v1::GetProjectionStatusResponse status;
  std::string error;  // not empty: unreachable or failed
};

// The status table: one row per consumer of each service (then, with `partitions`, one line per
// partition under it); an unreachable service is a row saying so.
std::string RenderStatus(const std::vector<ServiceStatus>& services, bool partitions);

// A size in bytes for people: "812 B", "4.2 MiB". A duration: "0 s", "42 s", "3 min 12 s", "2 h 5 min".
std::string HumanBytes(int64_t bytes);
std::string HumanSeconds(double seconds);

// Lines laid out in columns by display width; `right[i]` right-aligns column i.
std::string AlignColumns(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right);

// "topic/partition/offset" (the topic may itself hold '/'? no: Kafka topic names cannot).
bool ParseDeadLetterRef(const std::string& text, api::v1::DeadLetterRef* ref);

}  // namespace sales::salesctl
