#include "common/grpc/request_context.h"

#include "common/base/ids.h"

namespace sales::grpc_util {
namespace {

std::string Metadata(::grpc::ServerContext* context, const char* key) {
  const auto& md = context->client_metadata();
  auto it = md.find(key);
  if (it == md.end()) return "";
  std::string value(it->second.data(), it->second.size());
  // Untrusted text that ends up in logs, events (protobuf strings must be UTF-8) and the response
  // metadata (gRPC refuses to send non-ASCII header values): keep it short and printable ASCII.
  if (value.size() > 128) value.resize(128);
  for (char& c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) c = '?';
  }
  return value;
}

}  // namespace

RequestContext FromServerContext(::grpc::ServerContext* context) {
  RequestContext r;
  r.correlation_id = Metadata(context, "x-correlation-id");
  if (r.correlation_id.empty()) r.correlation_id = NewUuid();
  r.actor = Metadata(context, "x-actor");
  if (r.actor.empty()) r.actor = "anonymous";
  r.as_of_store = Metadata(context, "x-as-of-store");
  context->AddInitialMetadata("x-correlation-id", r.correlation_id);
  return r;
}

}  // namespace sales::grpc_util
