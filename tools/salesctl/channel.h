// How salesctl reaches the services: plaintext by default (loopback under `make run`), or TLS when
// --tls-ca=FILE (or $SALES_TLS_CA) names the CA that signed the services' certificates; --tls alone
// uses the system's trusted roots. --tls-cert and --tls-key (or $SALES_TLS_CERT, $SALES_TLS_KEY)
// present a client certificate, for services that verify their callers (mutual TLS). --token=JWT
// or --token-file=FILE ($SALES_TOKEN, $SALES_TOKEN_FILE) is sent as the bearer token of every call.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sales::salesctl {

// Takes the TLS and token flags out of `args` (wherever they are) and reads the environment;
// afterwards Connect() uses them. INVALID_ARGUMENT naming the flag for an unreadable file, a
// certificate without its key or a token with spaces in it.
[[nodiscard]] Status TakeConnectionFlags(std::vector<std::string>& args);

// A channel to `target` with the credentials and token TakeConnectionFlags settled (plaintext
// and no token when none).
std::shared_ptr<grpc::Channel> Connect(const std::string& target);

// The usage lines of the TLS and token flags.
std::string ConnectionUsage();

}  // namespace sales::salesctl
