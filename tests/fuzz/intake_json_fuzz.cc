// The JSON records integrations send: inbound leads (marketing systems, lead acquisition's intake
// topic) and inbound calls (the PBX, client support). First byte: which parser; the rest: the JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "services/client_support/domain/client.h"
#include "services/lead_acquisition/domain/lead.h"
#include "services/lead_acquisition/intake/intake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view json(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    auto lead = sales::lead_acquisition::ParseInboundLead(json);
    // What the intake parses is then validated as any CaptureLead is; neither may crash.
    if (lead.ok()) (void)sales::lead_acquisition::ValidateCapture(*lead);
  } else {
    (void)sales::client_support::ParseInboundCall(json);
  }
  return 0;
}
