#include "tools/salesctl/channel.h"

#include <grpcpp/support/client_interceptor.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "common/base/config.h"
#include "common/base/strings.h"

namespace sales::salesctl {
namespace {

struct Connection {
  bool tls = false;
  grpc::SslCredentialsOptions options;
  std::string token;  // sent as "authorization: Bearer <token>" on every call
};

Connection& Settled() {
  static Connection connection;
  return connection;
}

// Adds the bearer token to the metadata of every call (on plaintext loopback channels too, where
// gRPC's call credentials are not allowed).
class BearerToken : public grpc::experimental::Interceptor {
 public:
  explicit BearerToken(const std::string* token) : token_(token) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", "Bearer " + *token_});
    }
    methods->Proceed();
  }

 private:
  const std::string* token_;
};

class BearerTokenFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(const std::string* token) : token_(token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new BearerToken(token_);
  }

 private:
  const std::string* token_;
};

}  // namespace

Status TakeConnectionFlags(std::vector<std::string>& args) {
  const auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  bool on = false;
  std::string ca = env("SALES_TLS_CA"), cert = env("SALES_TLS_CERT"), key = env("SALES_TLS_KEY");
  std::string token = env("SALES_TOKEN"), token_file = env("SALES_TOKEN_FILE");
  std::vector<std::string> rest;
  for (const std::string& a : args) {
    const auto value = [&](const char* flag, std::string* out) {
      const std::string prefix = std::string(flag) + "=";
      if (a.rfind(prefix, 0) != 0) return false;
      *out = a.substr(prefix.size());
      return true;
    };
    if (a == "--tls") {
      on = true;
    } else if (!value("--tls-ca", &ca) && !value("--tls-cert", &cert) && !value("--tls-key", &key) &&
               !value("--token", &token) && !value("--token-file", &token_file)) {
      rest.push_back(a);
    }
  }
  args = std::move(rest);
  if (cert.empty() != key.empty()) {
    return InvalidField(cert.empty() ? "tls-cert" : "tls-key", "a client certificate needs both --tls-cert and --tls-key");
  }
  Connection c;
  c.tls = on || !ca.empty() || !cert.empty();
  if (!ca.empty()) {
    ASSIGN_OR_RETURN(c.options.pem_root_certs, ReadPemFile("tls-ca", ca));
  }
  if (!cert.empty()) {
    ASSIGN_OR_RETURN(c.options.pem_cert_chain, ReadPemFile("tls-cert", cert));
    ASSIGN_OR_RETURN(c.options.pem_private_key, ReadPemFile("tls-key", key));
  }
  if (token.empty() && !token_file.empty()) {
    std::ifstream in(token_file, std::ios::binary);
    if (!in) return InvalidField("token-file", StrCat("cannot read ", token_file));
    token.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidField("token", "a bearer token has no spaces or line breaks");
  }
  c.token = std::move(token);
  Settled() = std::move(c);
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> Connect(const std::string& target) {
  const Connection& c = Settled();
  auto credentials = c.tls ? grpc::SslCredentials(c.options) : grpc::InsecureChannelCredentials();
  if (c.token.empty()) return grpc::CreateChannel(target, credentials);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerTokenFactory>(&c.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, credentials, grpc::ChannelArguments(),
                                                                 std::move(interceptors));
}

std::string ConnectionUsage() {
  return "TLS (every command): --tls-ca=FILE verifies the services' certificates with that CA ($SALES_TLS_CA),\n"
         "--tls uses the system's roots instead, --tls-cert=FILE --tls-key=FILE present a client certificate\n"
         "($SALES_TLS_CERT, $SALES_TLS_KEY) to services that require one. Default: plaintext.\n"
         "Tokens (every command): --token=JWT or --token-file=FILE ($SALES_TOKEN, $SALES_TOKEN_FILE) is sent as\n"
         "the bearer token services that check tokens require (salesctl token sign makes one).\n";
}

}  // namespace sales::salesctl
