#include "tools/salesctl/channel.h"

#include <cstdlib>

#include "common/base/config.h"
#include "common/base/strings.h"

namespace sales::salesctl {
namespace {

struct Tls {
  bool on = false;
  grpc::SslCredentialsOptions options;
};

Tls& Settled() {
  static Tls tls;
  return tls;
}

}  // namespace

Status TakeTlsFlags(std::vector<std::string>& args) {
  const auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  bool on = false;
  std::string ca = env("SALES_TLS_CA"), cert = env("SALES_TLS_CERT"), key = env("SALES_TLS_KEY");
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
    } else if (!value("--tls-ca", &ca) && !value("--tls-cert", &cert) && !value("--tls-key", &key)) {
      rest.push_back(a);
    }
  }
  args = std::move(rest);
  if (cert.empty() != key.empty()) {
    return InvalidField(cert.empty() ? "tls-cert" : "tls-key", "a client certificate needs both --tls-cert and --tls-key");
  }
  Tls tls;
  tls.on = on || !ca.empty() || !cert.empty();
  if (!ca.empty()) {
    ASSIGN_OR_RETURN(tls.options.pem_root_certs, ReadPemFile("tls-ca", ca));
  }
  if (!cert.empty()) {
    ASSIGN_OR_RETURN(tls.options.pem_cert_chain, ReadPemFile("tls-cert", cert));
    ASSIGN_OR_RETURN(tls.options.pem_private_key, ReadPemFile("tls-key", key));
  }
  Settled() = std::move(tls);
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> Connect(const std::string& target) {
  const Tls& tls = Settled();
  return grpc::CreateChannel(target, tls.on ? grpc::SslCredentials(tls.options) : grpc::InsecureChannelCredentials());
}

std::string TlsUsage() {
  return "TLS (every command): --tls-ca=FILE verifies the services' certificates with that CA ($SALES_TLS_CA),\n"
         "--tls uses the system's roots instead, --tls-cert=FILE --tls-key=FILE present a client certificate\n"
         "($SALES_TLS_CERT, $SALES_TLS_KEY) to services that require one. Default: plaintext.\n";
}

}  // namespace sales::salesctl
