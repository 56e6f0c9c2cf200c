#include "services/reporting/api/journey_reads.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "services/reporting/api/report_basics.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
std::vector<std::string> JourneyKeys(const LeadJourney& journey, const LeadStages& stages, PlanDimension by,
                                     const api::v1::ReportFilters& filters) {
  std::vector<std::string> keys = JourneyKeysBy(journey, stages, by);
  const std::string only = FilterOn(by, filters);
  if (!only.empty()) std::erase_if(keys, [&](const std::string& k) { return k != only; });
  return keys;
}

bool JourneyMatches(const LeadJourney& journey, const LeadStages& stages, const api::v1::ReportFilters& filters) {
  const auto& products = journey.products();
  return (filters.manager_id().empty() || stages.owner == filters.manager_id()) &&
         (filters.region().empty() || journey.region() == filters.region()) &&
         (filters.product_code().empty() ||
          std::find(products.begin(), products.end(), filters.product_code()) != products.end()) &&
         (filters.client_id().empty() || journey.lead_id() == filters.client_id()) &&
         (filters.source().empty() || events::v1::LeadSource_Name(journey.source()) == filters.source());
}

StatusOr<std::optional<std::set<std::string>>> LateJourneys(const Store& store, absl::Time as_of) {
  std::set<std::string> late;
  int late_rows = 0;
  RETURN_IF_ERROR(store.ScanFrom(kJourneysByRecordedFamily, EncodeInt64(absl::ToUnixNanos(as_of) + 1),
                                 [&](std::string_view key, std::string_view) {
                                   if (++late_rows > kMaxLateJourneys) return false;
                                   if (key.size() > 8) late.emplace(key.substr(8));
                                   return true;
                                 }));
  if (late_rows > kMaxLateJourneys) return std::nullopt;
  return late;
}

void TakeOutSamples(std::vector<int64_t>& samples, std::vector<int64_t>& removed) {
  if (removed.empty()) return;
  std::sort(samples.begin(), samples.end());
  std::sort(removed.begin(), removed.end());
  std::vector<int64_t> kept;
  std::set_difference(samples.begin(), samples.end(), removed.begin(), removed.end(), std::back_inserter(kept));
  samples = std::move(kept);
}

std::optional<int64_t> NearestRank(std::vector<int64_t>& values, double p) {
  return NearestRanks(values, 0, p);
}

namespace {

// The index of rank ceil(p x n), at least the first.
size_t RankIndex(size_t n, double p) {
  return std::clamp<size_t>(static_cast<size_t>(std::ceil(p * static_cast<double>(n))), 1, n) - 1;
}

}  // namespace

std::optional<int64_t> NearestRanks(std::vector<int64_t>& values, double below, double p) {
  if (values.empty()) return std::nullopt;
  // After a selection at `below`'s rank, nothing before it is larger: the next rank lies after.
  const auto from = values.begin() + static_cast<std::ptrdiff_t>(below > 0 ? RankIndex(values.size(), below) : 0);
  const auto at = values.begin() + static_cast<std::ptrdiff_t>(RankIndex(values.size(), p));
  std::nth_element(from, at, values.end());
  return *at;
}

std::optional<Period> CheckPeriod(const std::string& period, command::Violations& v) {
  StatusOr<Period> parsed = ParsePeriod(period);
  if (parsed.ok()) return *parsed;
  for (auto& f : FieldViolations(parsed.status())) v.push_back(std::move(f));
  return std::nullopt;
}

void CheckDynamics(api::v1::Bucket dynamics, command::Violations& v) {
  if (!api::v1::Bucket_IsValid(dynamics)) v.push_back({"dynamics", "DAY, WEEK or MONTH (or none)"});
}

void CheckLeadDimension(PlanDimension by, command::Violations& v) {
  switch (by) {
    case events::v1::PLAN_DIMENSION_UNSPECIFIED:
    case events::v1::PLAN_DIMENSION_COMPANY:
    case events::v1::PLAN_DIMENSION_SOURCE:
    case events::v1::PLAN_DIMENSION_REGION:
    case events::v1::PLAN_DIMENSION_PRODUCT:
    case events::v1::PLAN_DIMENSION_MANAGER: return;
    default: v.push_back({"by", "COMPANY, SOURCE, REGION, PRODUCT or MANAGER"});
  }
}

PlanDimension OrCompany(PlanDimension by) {
  return by == events::v1::PLAN_DIMENSION_UNSPECIFIED ? events::v1::PLAN_DIMENSION_COMPANY : by;
}

}  // namespace sales::reporting
