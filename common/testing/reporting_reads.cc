#include "common/testing/reporting_reads.h"

#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "sales/api/v1/reporting.grpc.pb.h"

namespace sales::testing {

StatusOr<int64_t> RecentRevenueCents(const std::shared_ptr<::grpc::Channel>& reporting) {
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  api::v1::PlanVsActualRequest r;
  r.set_period(absl::FormatCivilTime(today - 1) + ".." + absl::FormatCivilTime(today + 1));
  r.set_metric(events::v1::PLAN_METRIC_REVENUE);
  r.set_by(events::v1::PLAN_DIMENSION_COMPANY);
  api::v1::PlanVsActualResponse out;
  ::grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  const ::grpc::Status s = api::v1::Reporting::NewStub(reporting)->GetPlanVsActual(&ctx, r, &out);
  if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  return out.total().rows_size() ? out.total().rows(0).actual_amount().units() : 0;
}

}  // namespace sales::testing
