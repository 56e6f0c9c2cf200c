#include "common/grpc/status.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace sales::grpc_util {
namespace {

TEST(ToGrpcStatus, KeepsCodeAndMessage) {
  auto s = ToGrpcStatus(absl::FailedPreconditionError("lead is disqualified"));
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "lead is disqualified");
  EXPECT_TRUE(s.error_details().empty());
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(), ::grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(absl::AbortedError("x")).error_code(), ::grpc::StatusCode::ABORTED);
}

TEST(ToGrpcStatus, FieldViolationsBecomeBadRequestDetails) {
  auto s = ToGrpcStatus(InvalidArgument({{"email", "not a valid e-mail address"}, {"name", "must not be empty"}}));
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "email: not a valid e-mail address; name: must not be empty");
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest br;
  ASSERT_TRUE(details.details(0).UnpackTo(&br));
  ASSERT_EQ(br.field_violations_size(), 2);
  EXPECT_EQ(br.field_violations(0).field(), "email");
  EXPECT_EQ(br.field_violations(1).description(), "must not be empty");
}

}  // namespace
}  // namespace sales::grpc_util
