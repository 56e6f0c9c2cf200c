// Requests gRPC cannot parse, and the libraries' own log lines.
//
// gRPC's synchronous server parses a request before any handler runs; when protobuf refuses it
// (a proto3 string that is not valid UTF-8, or bytes that are no message at all), gRPC answers
// INTERNAL with an empty message, and protobuf writes a plain-text "[libprotobuf ERROR ...]" line
// to stderr. This file makes every service built on GrpcServer answer INVALID_ARGUMENT instead,
// naming the field (message `name: not valid UTF-8`, plus google.rpc.BadRequest), and keeps every
// log line JSON:
//
//  - RouteLibraryLogs() sends protobuf's and gRPC core's log messages to common/base/log. It also
//    remembers, per thread, the field of protobuf's last "invalid UTF-8 when parsing" complaint.
//  - MalformedRequestInterceptors() (installed by GrpcServer::Start) read that note when a request
//    message failed to parse on the same thread, and replace the status sent to the client.
//    Unary calls: any parse failure becomes INVALID_ARGUMENT (the field when protobuf named one).
//    Streaming calls: a message that fails to parse ends the stream as if the client had finished
//    (gRPC's Read() returns false); when it was invalid UTF-8 the call ends INVALID_ARGUMENT
//    naming the field and the message's position in the stream, whatever the handler returned.
//    (Other malformed bytes in a stream cannot be told apart from its end; a client checks the
//    answer covers everything it sent.)
//
// Thread-safety: RouteLibraryLogs() is called once, at static initialisation of server.cc (before
// main, so also the log lines of start-up); the rest is thread-safe.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sales::grpc_util {

// Idempotent. Returns true (for use in a static initialiser).
bool RouteLibraryLogs();

std::vector<std::unique_ptr<::grpc::experimental::ServerInterceptorFactoryInterface>> MalformedRequestInterceptors();

// The request field (a path such as "lead.name") whose full protobuf name is `field_full_name`,
// searched from the request type of `method` ("/package.Service/Method"); nullopt when the method
// or the field is unknown to the generated descriptor pool. Exposed for tests.
std::optional<std::string> RequestFieldPath(const std::string& method, const std::string& field_full_name);

}  // namespace sales::grpc_util
