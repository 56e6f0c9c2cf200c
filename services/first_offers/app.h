// Composition root of the first offers service: its Spec for the service kit (own topic
// sales.offers, reads sales.leads) and the wiring of its parts: the decider, the expiry scheduler,
// the queries and the gRPC handlers.
#pragma once

namespace sales::first_offers {

// Runs the service; returns the process exit code (0 clean stop, 2 bad configuration, 1 failure).
int RunService(int argc, char** argv);

}  // namespace sales::first_offers
