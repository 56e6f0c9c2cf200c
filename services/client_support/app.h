// Composition root of the client support service: its Spec for the service kit (own topic
// sales.clients, PBX intake telephony.calls.inbound, reacts to sales.offers, projects the roster
// from sales.leads and the catalogue from sales.offers) and the wiring of its parts: the decider,
// the conversion and PBX feeds (both in the Admin status), the SLA scheduler, queries and handlers.
#pragma once

namespace sales::client_support {

// Runs the service; returns the process exit code (0 clean stop, 2 bad configuration, 1 failure).
int RunService(int argc, char** argv);

}  // namespace sales::client_support
