// Composition root of the lead acquisition service: reads the configuration, builds every
// component in dependency order (logging each step), catches up the service's own topic before it
// accepts commands, serves until SIGINT/SIGTERM, and shuts down in reverse order.
#pragma once

#include <cstdint>
#include <string>

namespace sales::lead_acquisition {

// Runs the service; returns the process exit code (0 clean stop, 2 bad configuration, 1 failure).
int RunService(int argc, char** argv);

}  // namespace sales::lead_acquisition
