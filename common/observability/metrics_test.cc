#include "common/observability/metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales {
namespace {

using ::testing::HasSubstr;

TEST(Metrics, RendersPrometheusText) {
  MetricsRegistry r;
  r.GetCounter("sales_events_total", "Events.", {{"topic", "t"}}).Inc(3);
  r.GetCounter("sales_events_total", "Events.", {{"topic", "t"}}).Inc();
  r.GetGauge("sales_lag", "Lag.").Set(7);
  auto& h = r.GetHistogram("sales_latency_seconds", "Latency.", {}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("# TYPE sales_events_total counter\nsales_events_total{topic=\"t\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("sales_lag 7\n"));
  EXPECT_THAT(text, HasSubstr("sales_latency_seconds_bucket{le=\"0.1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("sales_latency_seconds_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("sales_latency_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("sales_latency_seconds_count 3\n"));
}

TEST(Metrics, CollectorsRunOnRender) {
  MetricsRegistry r;
  Gauge& g = r.GetGauge("sales_size", "Size.");
  int calls = 0;
  r.AddCollector([&] { g.Set(++calls); });
  EXPECT_THAT(r.Render(), HasSubstr("sales_size 1\n"));
  EXPECT_THAT(r.Render(), HasSubstr("sales_size 2\n"));
}

TEST(Metrics, EscapesLabelValues) {
  MetricsRegistry r;
  r.GetCounter("c", "C.", {{"reason", "bad \"json\"\n"}}).Inc();
  EXPECT_THAT(r.Render(), HasSubstr("c{reason=\"bad \\\"json\\\"\\n\"} 1"));
}

}  // namespace
}  // namespace sales
