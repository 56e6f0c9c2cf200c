#include "tools/salesctl/ops.h"

#include "absl/strings/str_split.h"
#include "common/unicode/unicode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::salesctl {
namespace {

using ::testing::HasSubstr;

TEST(OpsStatus, OneAlignedRowPerConsumerAndUnreachableServicesSaySo) {
  ServiceStatus lead;
  lead.target = "127.0.0.1:50051";
  lead.status.set_service("lead-acquisition");
  lead.status.set_store_bytes(5 * 1024 * 1024);
  auto* p = lead.status.add_projections();
  p->set_name("leads");
  p->set_kind("projection");
  p->set_caught_up(true);
  p->set_lag(1234);
  p->set_lag_seconds(75);
  p->set_events_applied(1234567);
  p->set_duplicates_skipped(3);
  p->set_dead_lettered(2);
  p->set_dead_letters_redriven(1);
  auto* part = p->add_partitions();
  part->set_topic("sales.leads");
  part->set_partition(0);
  part->set_next_offset(10);
  part->set_end_offset(1244);
  part->set_lag(1234);
  part->set_lag_seconds(75);
  auto* intake = lead.status.add_projections();
  intake->set_name("lead-acquisition/intake");
  intake->set_kind("intake");
  intake->set_health("Kafka unreachable");
  ServiceStatus down;
  down.target = "127.0.0.1:50052";
  down.error = "UNAVAILABLE: failed to connect";

  const std::string table = RenderStatus({lead, down}, /*partitions=*/true);
  std::vector<std::string> lines = absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u) << table;  // header, 2 consumers, 1 partition, 1 unreachable
  EXPECT_THAT(lines[0], HasSubstr("LAG TIME"));
  EXPECT_THAT(lines[1], HasSubstr("lead-acquisition"));
  EXPECT_THAT(lines[1], HasSubstr("1 min 15 s"));
  EXPECT_THAT(lines[1], HasSubstr("1,234,567"));
  EXPECT_THAT(lines[1], HasSubstr("2 (1 re-driven)"));
  EXPECT_THAT(lines[1], HasSubstr("5.0 MiB"));
  EXPECT_THAT(lines[2], HasSubstr("sales.leads/0"));
  EXPECT_THAT(lines[3], HasSubstr("STALLED: Kafka unreachable"));
  EXPECT_THAT(lines[4], HasSubstr("unreachable: UNAVAILABLE"));
  // Right-aligned figures: the LAG column ends at the same display column on every row.
  const size_t lag_end = lines[0].find("LAG") + 3;
  EXPECT_EQ(lines[1].substr(lag_end - 5, 5), "1,234");
}

TEST(OpsStatus, ColumnsAlignByDisplayWidth) {
  const std::string out = AlignColumns({{"όνομα", "x"}, {"ab", "y"}}, {});
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(unicode::DisplayWidth(lines[0]), unicode::DisplayWidth(lines[1]));
}

TEST(OpsFormat, BytesAndDurationsForPeople) {
  EXPECT_EQ(HumanBytes(812), "812 B");
  EXPECT_EQ(HumanBytes(4404019), "4.2 MiB");
  EXPECT_EQ(HumanSeconds(0), "0 s");
  EXPECT_EQ(HumanSeconds(192), "3 min 12 s");
  EXPECT_EQ(HumanSeconds(7500), "2 h 5 min");
  EXPECT_EQ(HumanSeconds(-1), "?");
}

TEST(OpsDeadLetters, ReferencesAreTopicPartitionOffset) {
  api::v1::DeadLetterRef ref;
  ASSERT_TRUE(ParseDeadLetterRef("t1.sales.leads.dlq/2/17", &ref));
  EXPECT_EQ(ref.topic(), "t1.sales.leads.dlq");
  EXPECT_EQ(ref.partition(), 2);
  EXPECT_EQ(ref.offset(), 17);
  EXPECT_FALSE(ParseDeadLetterRef("sales.leads.dlq/2", &ref));
  EXPECT_FALSE(ParseDeadLetterRef("sales.leads.dlq/x/1", &ref));
  EXPECT_FALSE(ParseDeadLetterRef("sales.leads.dlq/1/-3", &ref));
  EXPECT_FALSE(ParseDeadLetterRef("/1/3", &ref));
}

}  // namespace
}  // namespace sales::salesctl
