#include "common/base/json.h"

#include <google/protobuf/struct.pb.h>

#include "gtest/gtest.h"

namespace sales {
namespace {

TEST(ParseJsonMessage, ParsesJsonAndRefusesWhatIsNot) {
  google::protobuf::Struct s;
  ASSERT_TRUE(ParseJsonMessage(R"({"callId": "pbx-7781", "answered": true})", &s).ok());
  EXPECT_EQ(s.fields().at("callId").string_value(), "pbx-7781");
  EXPECT_EQ(ParseJsonMessage("{\"a\":", &s).code(), absl::StatusCode::kInvalidArgument);
}

// The record the fuzz targets found: protobuf 3.21's parser fails a CHECK on it (a thrown
// FatalException) when its buffers happen to lie where the check looks. Whatever the allocator
// does, the answer is a refusal, never an exception.
TEST(ParseJsonMessage, ARecordThatTripsTheParsersCheckIsRefused) {
  const std::string record =
      R"(\{"schemaVersion":1,"callId":"pbx-7781","from":"+30 2310 555 123","to":"204",)"
      R"("direction":"Inbou~d",\startedAt":"2026-11-26T07:15:00.250Z","durationSeconds":42,"answered":true})";
  for (int i = 0; i < 100; ++i) {
    google::protobuf::Struct s;
    Status parsed = absl::OkStatus();
    EXPECT_NO_THROW(parsed = ParseJsonMessage(record, &s));
    EXPECT_EQ(parsed.code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace sales
