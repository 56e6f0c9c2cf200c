// Rebuild checks of the integration tests: every row a projection keeps in a store folder, and the
// comparison of a serving store with one rebuilt from the topics.
#pragma once

#include <map>
#include <string>

#include "common/projection/projection.h"

namespace sales::testing {

// Every row of every column family of `projection` in the store folder `path` (the service that
// used it must have stopped), keyed "<family>|<key>". The runner's own family (offsets, counters)
// is not among the projection's families, so it is left out, and so are the rows of zeros of its
// sums_families().
std::map<std::string, std::string> StoreRows(const std::string& path, const projection::Projection& projection);

// Fails the test for every row missing from, added to or different in `rebuilt`; `serving` must
// not be empty (a comparison of nothing proves nothing).
void ExpectSameRows(const std::map<std::string, std::string>& serving,
                    const std::map<std::string, std::string>& rebuilt);

}  // namespace sales::testing
