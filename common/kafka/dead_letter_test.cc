#include "common/kafka/dead_letter.h"

#include "common/base/text.h"
#include "gtest/gtest.h"

namespace sales::kafka {
namespace {

std::string Header(const OutgoingMessage& m, const std::string& name) {
  for (const auto& [k, v] : m.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(MakeDeadLetter, KeepsTheRecordAndEscapesTheReason) {
  const std::string value = "{\"name\":\"\xff\xfe\"}";
  const auto m = MakeDeadLetter("k", value, {{"origin", "kcat"}},
                                InvalidField("source", "\"web\nform\xff\" is not one of ..."),
                                {"lead-acquisition/intake", "marketing.leads.inbound", 2, 41}, absl::UnixEpoch());
  EXPECT_EQ(m.topic, "marketing.leads.inbound.dlq");
  EXPECT_EQ(m.value, value) << "the record itself is parked unchanged";
  EXPECT_EQ(Header(m, "origin"), "kcat");
  EXPECT_EQ(Header(m, "dlq.reason"), "source: \"web\\nform\\xff\" is not one of ...");
  EXPECT_TRUE(IsValidUtf8(Header(m, "dlq.reason")));
  EXPECT_EQ(Header(m, "dlq.code"), "INVALID_ARGUMENT");
  EXPECT_EQ(Header(m, "dlq.source.offset"), "41");
}

}  // namespace
}  // namespace sales::kafka
