// Every event type of every service has a stored fixture (tests/fixtures/events/v1), decoded by
// every test run: the bytes written by an earlier release must decode to exactly what their
// .textproto says, so a renumbered, retyped or removed field fails here, not on a replay of
// production history. A new event type without a fixture fails too, with the command that makes
// one (tests/fixtures/tool/make_event_fixtures.cc).
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/events/envelope.h"
#include "gtest/gtest.h"

namespace sales::events {
namespace {

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::filesystem::path kDir = std::filesystem::path(SALES_FIXTURES_DIR) / "events" / "v1";

// (payload member, event member) of an envelope, e.g. ("lead", "captured").
std::pair<std::string, std::string> KindOf(const EventEnvelope& e) {
  const auto* payload = e.GetReflection()->GetOneofFieldDescriptor(e, e.GetDescriptor()->FindOneofByName("payload"));
  if (!payload) return {};
  const auto& p = e.GetReflection()->GetMessage(e, payload);
  const auto* event = p.GetReflection()->GetOneofFieldDescriptor(p, p.GetDescriptor()->FindOneofByName("event"));
  return {payload->name(), event ? event->name() : ""};
}

TEST(EventFixtures, EveryStoredEventDecodesToWhatItsTextSays) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    if (entry.path().extension() != ".bin") continue;
    SCOPED_TRACE(entry.path().filename().string());
    auto decoded = Decode(Slurp(entry.path()));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    std::filesystem::path text = entry.path();
    text.replace_extension(".textproto");
    ASSERT_TRUE(std::filesystem::exists(text)) << "each .bin has the .textproto it was made from";
    EventEnvelope expected;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(Slurp(text), &expected));
    std::string diff;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differ.Compare(expected, *decoded)) << diff;
    EXPECT_EQ(decoded->GetReflection()->GetUnknownFields(*decoded).field_count(), 0)
        << "a field of the stored bytes is no longer in the schema";
    ++checked;
  }
  EXPECT_GE(checked, 34) << "fixtures are never removed (34 when every event type got one)";
}

TEST(EventFixtures, EveryEventTypeOfEveryServiceHasOne) {
  std::set<std::pair<std::string, std::string>> covered;
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    if (entry.path().extension() != ".bin") continue;
    EventEnvelope e;
    ASSERT_TRUE(e.ParseFromString(Slurp(entry.path()))) << entry.path();
    covered.insert(KindOf(e));
  }
  const auto* payloads = EventEnvelope::descriptor()->FindOneofByName("payload");
  std::vector<std::string> missing;
  for (int i = 0; i < payloads->field_count(); ++i) {
    const auto* payload = payloads->field(i);
    const auto* events = payload->message_type()->FindOneofByName("event");
    ASSERT_NE(events, nullptr) << payload->message_type()->full_name() << " has no `oneof event`";
    for (int j = 0; j < events->field_count(); ++j) {
      if (!covered.count({payload->name(), events->field(j)->name()})) {
        missing.push_back(payload->name() + "." + events->field(j)->name());
      }
    }
  }
  EXPECT_TRUE(missing.empty()) << "event types without a stored fixture: " << ::testing::PrintToString(missing)
                               << "\nrun build/tests/fixtures/tool/make_event_fixtures tests/fixtures/events/v1 "
                                  "and commit the files it writes";
}

}  // namespace
}  // namespace sales::events
