// Requests gRPC cannot parse, on a real server (port 0): the answer names the field, and the
// libraries' complaints reach the log as JSON.
#include "common/grpc/malformed_request.h"

#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/text.h"
#include "common/grpc/admin_service.h"
#include "common/grpc/server.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "sales/api/v1/lead_acquisition.pb.h"

namespace sales::grpc_util {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct RawCall {
  ::grpc::Status status;
  int responses = 0;
};

// Sends `messages` as they are (bytes, not necessarily a valid message) on `method`, then reads
// every response and the status. Works for unary methods too (one message, then half-close).
RawCall CallRaw(const std::shared_ptr<::grpc::Channel>& channel, const std::string& method,
                const std::vector<std::string>& messages) {
  ::grpc::GenericStub stub(channel);
  ::grpc::CompletionQueue cq;
  ::grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  void* tag;
  bool ok;
  auto next = [&] { return cq.Next(&tag, &ok) && ok; };
  auto call = stub.PrepareCall(&context, method, &cq);
  call->StartCall(nullptr);
  RawCall out;
  if (next()) {
    for (const auto& m : messages) {
      ::grpc::Slice slice(m);
      ::grpc::ByteBuffer buffer(&slice, 1);
      call->Write(buffer, nullptr);
      if (!next()) break;
    }
    call->WritesDone(nullptr);
    next();
    ::grpc::ByteBuffer response;
    while (true) {
      call->Read(&response, nullptr);
      if (!next()) break;
      ++out.responses;
    }
  }
  call->Finish(&out.status, nullptr);
  next();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return out;
}

std::string BadRequestField(const ::grpc::Status& s) {
  google::rpc::Status details;
  google::rpc::BadRequest bad_request;
  if (!details.ParseFromString(s.error_details()) || details.details_size() != 1 ||
      !details.details(0).UnpackTo(&bad_request) || bad_request.field_violations_size() != 1) {
    return "<no BadRequest detail>";
  }
  return bad_request.field_violations(0).field();
}

class MalformedRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = GrpcServer::Start("127.0.0.1:0", {&admin_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                     ::grpc::InsecureChannelCredentials());
  }

  AdminService admin_{{}};
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<::grpc::Channel> channel_;
};

TEST_F(MalformedRequestTest, UnaryRequestThatIsNoMessageIsInvalidArgumentNotInternal) {
  auto refused = CallRaw(channel_, "/sales.api.v1.Admin/GetProjectionStatus", {"\xff\xff\xff\xff"});
  EXPECT_EQ(refused.status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.status.error_message(), "request: not a valid sales.api.v1.GetProjectionStatusRequest message");
  EXPECT_EQ(BadRequestField(refused.status), "request");
  auto fine = CallRaw(channel_, "/sales.api.v1.Admin/GetProjectionStatus", {""});
  EXPECT_TRUE(fine.status.ok()) << fine.status.error_message();
  EXPECT_EQ(fine.responses, 1);
}

// Server reflection (every GrpcServer serves it) is a streaming method with string fields.
TEST_F(MalformedRequestTest, InvalidUtf8InAStreamNamesTheFieldAndTheMessage) {
  const std::string list_services = "\x3a\x01*";        // list_services = "*" (field 7)
  const std::string bad_symbol = "\x22\x02\xff\xfe";     // file_containing_symbol (field 4), not UTF-8
  auto r = CallRaw(channel_, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                   {list_services, bad_symbol, list_services});
  EXPECT_EQ(r.status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(r.status.error_message(),
            "file_containing_symbol: not valid UTF-8 in message 1 of the stream (counting from 0); the stream ends "
            "there");
  EXPECT_EQ(BadRequestField(r.status), "file_containing_symbol");
  EXPECT_EQ(r.responses, 1) << "the message before the bad one was answered";
  auto fine = CallRaw(channel_, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", {list_services});
  EXPECT_TRUE(fine.status.ok()) << fine.status.error_message();
}

TEST(RequestFieldPath, FromTheMethodsRequestType) {
  (void)api::v1::ImportLeadsRequest::descriptor();  // linked in, so the pool knows the service
  EXPECT_EQ(RequestFieldPath("/sales.api.v1.LeadAcquisition/StreamingImportLeads",
                             "sales.api.v1.CaptureLeadRequest.name"),
            "lead.name");
  EXPECT_EQ(RequestFieldPath("/sales.api.v1.LeadAcquisition/CaptureLead", "sales.api.v1.CaptureLeadRequest.name"),
            "name");
  EXPECT_EQ(RequestFieldPath("/sales.api.v1.LeadAcquisition/GetLead", "sales.api.v1.CaptureLeadRequest.name"),
            std::nullopt);
  EXPECT_EQ(RequestFieldPath("/no.Such/Method", "no.Such.field"), std::nullopt);
}

TEST(LibraryLogs, ProtobufComplaintsBecomeJsonLines) {
  char path[] = "/tmp/sales-grpc-log-XXXXXX";
  const int fd = mkstemp(path);
  const int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  log::Init("test", log::Level::kDebug);
  api::v1::CaptureLeadRequest parsed;
  const bool ok = parsed.ParseFromString(std::string("\x12\x02\xff\xfe", 4));  // name (field 2), not UTF-8
  log::Init("test", log::Level::kInfo);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  EXPECT_FALSE(ok);
  const std::string line = text.str();
  EXPECT_THAT(line, StartsWith("{\"ts\":"));
  EXPECT_THAT(line, HasSubstr("\"msg\":\"libprotobuf\""));
  EXPECT_THAT(line, HasSubstr("sales.api.v1.CaptureLeadRequest.name"));
  EXPECT_THAT(line, Not(HasSubstr("[libprotobuf")));
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_TRUE(IsValidUtf8(line));
}

}  // namespace
}  // namespace sales::grpc_util
