// Composition root of the reporting service: its Spec for the service kit (own topic sales.plans,
// reads sales.leads, sales.offers and sales.clients) and the wiring of its parts: the decider of
// plans, the report queries and the gRPC handlers.
#pragma once

namespace sales::reporting {

// Runs the service; returns the process exit code (0 clean stop, 2 bad configuration, 1 failure).
int RunService(int argc, char** argv);

}  // namespace sales::reporting
