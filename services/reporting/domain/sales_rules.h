// The pure rules of the products, clients, inbound calls and pipeline reports (docs/REPORTS.md):
// the preceding period growth compares with, the concentration window and its index, the stage
// probabilities' configuration. No I/O, no clock.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "services/reporting/domain/plan.h"

namespace sales::reporting {

using store::v1::PipelineStage;

// ---- Growth ----
// The period growth compares `p` with: a period of whole calendar months -> the same number of
// months just before it; any other -> the same number of days just before it.
Period PrecedingPeriod(const Period& p);
// this / previous - 1; nullopt when previous is not above 0.
std::optional<double> Growth(double current, double previous);

// ---- Concentration ----
// The trailing 12 months ending with `last`: from the same day a year before `last + 1`.
Period TrailingYear(absl::CivilDay last);

struct ConcentrationIndex {
  double largest_share = 0;
  double top5_share = 0;
  double hhi = 0;  // sum of (100 x share)^2: 0-10,000
};
// The index of revenues per client (non-positive revenues are left out); all zero when none.
ConcentrationIndex Concentrate(const std::vector<__int128>& revenues);
// The same from the sums of the clients' revenues above zero, their squares and the (up to) five
// largest, descending (zeros for fewer).
ConcentrationIndex ConcentrationOfSums(__int128 total, __int128 squares, const std::array<__int128, 5>& largest);

// ---- Pipeline ----
// The open stages an offer goes through, in order (DRAFT, SENT).
const std::vector<PipelineStage>& OpenStages();
bool IsOpenStage(PipelineStage s);
// "DRAFT", "SENT".
std::string StageName(PipelineStage s);

// `--stage-probabilities`: "DRAFT=0.1,SENT=0.3" (each open stage at most once, 0 to 1; empty: none
// configured). INVALID_ARGUMENT naming the flag and the problem otherwise.
StatusOr<std::map<PipelineStage, double>> ParseStageProbabilities(const std::string& text);

// The settings of these reports (service flags, docs/REPORTS.md).
struct SalesReportRules {
  std::map<PipelineStage, double> stage_probabilities = {{store::v1::PIPELINE_STAGE_DRAFT, 0.1},
                                                         {store::v1::PIPELINE_STAGE_SENT, 0.3}};
  int64_t concentration_threshold = 1800;  // HHI
  int64_t call_return_hours = 4;
};

}  // namespace sales::reporting
