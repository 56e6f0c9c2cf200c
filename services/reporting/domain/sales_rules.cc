#include "services/reporting/domain/sales_rules.h"

#include <algorithm>
#include <array>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/base/strings.h"

namespace sales::reporting {

namespace {

bool WholeMonths(const Period& p) {
  return p.first == absl::CivilDay(absl::CivilMonth(p.first)) &&
         p.last == absl::CivilDay(absl::CivilMonth(p.last) + 1) - 1;
}

// "2026-10" for one whole month, else the days.
std::string Label(absl::CivilDay first, absl::CivilDay last) {
  const absl::CivilMonth m(first);
  if (first == absl::CivilDay(m) && last == absl::CivilDay(m + 1) - 1) return absl::FormatCivilTime(m);
  return StrCat(DayString(first), "..", DayString(last));
}

}  // namespace

Period PrecedingPeriod(const Period& p) {
  if (WholeMonths(p)) {
    const auto months = absl::CivilMonth(p.last) - absl::CivilMonth(p.first) + 1;
    const absl::CivilDay first(absl::CivilMonth(p.first) - months);
    return Period{Label(first, p.first - 1), first, p.first - 1};
  }
  return Period{Label(p.first - p.days(), p.first - 1), p.first - p.days(), p.first - 1};
}

std::optional<double> Growth(double current, double previous) {
  if (previous <= 0) return std::nullopt;
  return current / previous - 1;
}

Period TrailingYear(absl::CivilDay last) {
  const absl::CivilDay next = last + 1;
  // CivilDay normalises 29 February of a common year to 1 March.
  const absl::CivilDay first(next.year() - 1, next.month(), next.day());
  return Period{StrCat(DayString(first), "..", DayString(last)), first, last};
}

ConcentrationIndex Concentrate(const std::vector<__int128>& revenues) {
  // Whole numbers until the three divisions at the end: the same figures in any order of the
  // clients, and no sort of every client (a year may have a hundred thousand).
  __int128 total = 0, squares = 0;
  std::array<__int128, 5> top{};  // the five largest, descending (0: none)
  for (__int128 r : revenues) {
    if (r <= 0) continue;
    total += r;
    squares += r * r;  // up to ~1e12 minor units a client: far from __int128's limit
    if (r <= top.back()) continue;
    top.back() = r;
    for (size_t i = top.size() - 1; i > 0 && top[i] > top[i - 1]; --i) std::swap(top[i], top[i - 1]);
  }
  return ConcentrationOfSums(total, squares, top);
}

ConcentrationIndex ConcentrationOfSums(__int128 total, __int128 squares, const std::array<__int128, 5>& top) {
  ConcentrationIndex out;
  if (total == 0) return out;
  __int128 top5 = 0;
  for (__int128 r : top) top5 += r;
  const auto t = static_cast<double>(total);
  out.largest_share = static_cast<double>(top[0]) / t;
  out.top5_share = static_cast<double>(top5) / t;
  out.hhi = 10000 * (static_cast<double>(squares) / (t * t));
  return out;
}

const std::vector<PipelineStage>& OpenStages() {
  static const std::vector<PipelineStage> stages = {store::v1::PIPELINE_STAGE_DRAFT, store::v1::PIPELINE_STAGE_SENT};
  return stages;
}

bool IsOpenStage(PipelineStage s) {
  return s == store::v1::PIPELINE_STAGE_DRAFT || s == store::v1::PIPELINE_STAGE_SENT;
}

std::string StageName(PipelineStage s) {
  std::string name = store::v1::PipelineStage_Name(s);
  absl::string_view rest(name);
  absl::ConsumePrefix(&rest, "PIPELINE_STAGE_");
  return std::string(rest);
}

StatusOr<std::map<PipelineStage, double>> ParseStageProbabilities(const std::string& text) {
  std::map<PipelineStage, double> out;
  const auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        StrCat("--stage-probabilities: ", why, " (e.g. DRAFT=0.1,SENT=0.3; empty: measured from history)"));
  };
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::vector<std::string> kv = absl::StrSplit(absl::StripAsciiWhitespace(part), '=');
    std::optional<PipelineStage> stage;
    for (PipelineStage s : OpenStages()) {
      if (kv.size() == 2 && StageName(s) == kv[0]) stage = s;
    }
    if (!stage) return bad(StrCat("\"", part, "\" is not STAGE=probability with a stage DRAFT or SENT"));
    double p = 0;
    if (!absl::SimpleAtod(kv[1], &p) || !(p >= 0 && p <= 1)) {
      return bad(StrCat(kv[0], ": \"", kv[1], "\" is not a probability from 0 to 1"));
    }
    if (!out.emplace(*stage, p).second) return bad(StrCat(kv[0], " is given twice"));
  }
  return out;
}

}  // namespace sales::reporting
