#include "common/grpc/malformed_request.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <deque>
#include <mutex>
#include <set>
#include <utility>

#include "common/base/log.h"
#include "common/base/status.h"
#include "common/base/strings.h"
#include "common/grpc/status.h"

namespace sales::grpc_util {
namespace {

namespace pb = google::protobuf;
using ::grpc::experimental::InterceptionHookPoints;

// The full name of the field protobuf last called invalid UTF-8 while parsing on this thread, e.g.
// "sales.api.v1.CaptureLeadRequest.name" (protobuf 3.21 names it only in this log message).
thread_local std::optional<std::string> utf8_complaint;

constexpr std::string_view kUtf8Prefix = "String field '";
constexpr std::string_view kUtf8WhenParsing = "contains invalid UTF-8 data when parsing";

void ProtobufLog(pb::LogLevel level, const char* filename, int line, const std::string& message) {
  log::Level ours = level == pb::LOGLEVEL_INFO      ? log::Level::kInfo
                    : level == pb::LOGLEVEL_WARNING ? log::Level::kWarn
                                                    : log::Level::kError;
  if (message.rfind(kUtf8Prefix, 0) == 0 && message.find(kUtf8WhenParsing) != std::string::npos) {
    const size_t end = message.find('\'', kUtf8Prefix.size());
    if (end != std::string::npos) utf8_complaint = message.substr(kUtf8Prefix.size(), end - kUtf8Prefix.size());
    // Untrusted input, always followed by a refusal that is reported where it matters (the
    // caller's INVALID_ARGUMENT, a dead letter): not an error of this service.
    ours = log::Level::kDebug;
  }
  log::Write(ours, "libprotobuf", {{"detail", message}, {"source", StrCat(filename, ":", line)}});
}

void GrpcCoreLog(gpr_log_func_args* args) {
  const log::Level level = args->severity == GPR_LOG_SEVERITY_ERROR  ? log::Level::kError
                           : args->severity == GPR_LOG_SEVERITY_INFO ? log::Level::kInfo
                                                                     : log::Level::kDebug;
  log::Write(level, "grpc core", {{"detail", args->message}, {"source", StrCat(args->file, ":", args->line)}});
}

const pb::Descriptor* RequestType(const std::string& method) {
  // "/sales.api.v1.LeadAcquisition/CaptureLead" -> "sales.api.v1.LeadAcquisition.CaptureLead"
  if (method.size() < 2 || method[0] != '/') return nullptr;
  std::string name = method.substr(1);
  const size_t slash = name.find('/');
  if (slash == std::string::npos) return nullptr;
  name[slash] = '.';
  const pb::MethodDescriptor* m = pb::DescriptorPool::generated_pool()->FindMethodByName(name);
  return m ? m->input_type() : nullptr;
}

// Per call: notices a request message that failed to parse and replaces the status sent.
class MalformedRequestInterceptor final : public ::grpc::experimental::Interceptor {
 public:
  explicit MalformedRequestInterceptor(::grpc::experimental::ServerRpcInfo* info)
      : method_(info->method()),
        single_request_(info->type() == ::grpc::experimental::ServerRpcInfo::Type::UNARY ||
                        info->type() == ::grpc::experimental::ServerRpcInfo::Type::SERVER_STREAMING) {}

  void Intercept(::grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      // gRPC parses on the thread that runs this hook right after, so the note is this message's.
      std::optional<std::string> complaint = std::exchange(utf8_complaint, std::nullopt);
      if (methods->GetRecvMessage() != nullptr) {
        ++received_;
      } else if (!refusal_) {
        refusal_ = Refusal(complaint);
      }
    }
    if (refusal_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      methods->ModifySendStatus(*refusal_);
    }
    methods->Proceed();
  }

 private:
  // Why the message that did not arrive failed; nullopt when it was the end of a stream.
  std::optional<::grpc::Status> Refusal(const std::optional<std::string>& complaint) const {
    std::optional<std::string> field;
    if (complaint) field = RequestFieldPath(method_, *complaint);
    if (!field && !single_request_) return std::nullopt;
    Status refusal;
    if (!field) {
      const pb::Descriptor* type = RequestType(method_);
      refusal = InvalidField("request", StrCat("not a valid ", type ? type->full_name() : "protobuf", " message"));
    } else if (single_request_) {
      refusal = InvalidField(*field, "not valid UTF-8");
    } else {
      refusal = InvalidField(*field, StrCat("not valid UTF-8 in message ", received_,
                                            " of the stream (counting from 0); the stream ends there"));
    }
    log::Debug("request refused before the handler", {{"method", method_}, {"error", std::string(refusal.message())}});
    return ToGrpcStatus(refusal);
  }

  const std::string method_;
  const bool single_request_;
  int64_t received_ = 0;
  std::optional<::grpc::Status> refusal_;
};

class Factory final : public ::grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ::grpc::experimental::Interceptor* CreateServerInterceptor(::grpc::experimental::ServerRpcInfo* info) override {
    return new MalformedRequestInterceptor(info);
  }
};

}  // namespace

bool RouteLibraryLogs() {
  static std::once_flag once;
  std::call_once(once, [] {
    pb::SetLogHandler(&ProtobufLog);
    gpr_set_log_function(&GrpcCoreLog);
  });
  return true;
}

std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> MalformedRequestInterceptors() {
  std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> out;
  out.push_back(std::make_unique<Factory>());
  return out;
}

std::optional<std::string> RequestFieldPath(const std::string& method, const std::string& field_full_name) {
  const pb::Descriptor* request = RequestType(method);
  if (!request) return std::nullopt;
  // Breadth first, so the shortest path wins when a message type occurs more than once.
  std::deque<std::pair<const pb::Descriptor*, std::string>> queue = {{request, ""}};
  std::set<const pb::Descriptor*> seen;
  while (!queue.empty()) {
    auto [type, prefix] = std::move(queue.front());
    queue.pop_front();
    if (!seen.insert(type).second) continue;
    for (int i = 0; i < type->field_count(); ++i) {
      const pb::FieldDescriptor* f = type->field(i);
      std::string path = prefix.empty() ? f->name() : StrCat(prefix, ".", f->name());
      if (f->full_name() == field_full_name) return path;
      if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) queue.emplace_back(f->message_type(), std::move(path));
    }
  }
  return std::nullopt;
}

}  // namespace sales::grpc_util
