// Client support traffic for the benchmark, built with the services' own code so that every event
// and record has the size and shape of the real thing: managers with PBX extensions as lead
// acquisition appends them to `sales.leads`, clients with their history as client support
// appends it to `sales.clients` (decided with services/client_support/domain, enveloped by the
// kit's command::EventFactory as the decider does), and PBX call records (JSON) as a telephone
// exchange writes them to `telephony.calls.inbound`.
//
// Not thread-safe: one SupportData per thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/command/decider.h"
#include "common/kafka/publisher.h"

namespace sales::bench {

// Events each client of SupportData::Client() has on sales.clients (opened, three PBX calls, a
// ticket opened, responded and resolved, a repeat order, a meeting) plus one unmatched call.
inline constexpr int kSupportEventsPerClient = 10;
// One manager per this many clients.
inline constexpr int kClientsPerManager = 50;

class SupportData {
 public:
  explicit SupportData(std::string run);

  // Manager `m`'s events for `leads_topic`: registered with extension Extension(m) (and, for every
  // other manager, then moved to another extension and back). Appended to `out`; returns how many.
  int Manager(const std::string& leads_topic, int64_t m, std::vector<kafka::OutgoingMessage>* out);
  static std::string ManagerId(const std::string& run, int64_t m);
  static std::string Extension(int64_t m);

  // The events of client `i` for `clients_topic` (kSupportEventsPerClient of them), its calls on
  // its manager's extension (manager i / kClientsPerManager). Appended to `out`.
  void Client(const std::string& clients_topic, int64_t i, std::vector<kafka::OutgoingMessage>* out);
  // Client i's phone number as its contact wrote it; unique below 10^8 clients.
  static std::string Phone(int64_t i);

  // PBX record `call` (JSON) from client `client`'s number (written nationally) to the manager's
  // extension, answered, started a minute before now.
  std::string CallRecord(int64_t call, int64_t client) const;

 private:
  kafka::OutgoingMessage Message(const std::string& topic, const events::v1::EventEnvelope& e) const;

  std::string run_;
  command::EventFactory lead_events_;
  command::EventFactory offer_events_;
  command::EventFactory client_events_;
};

}  // namespace sales::bench
