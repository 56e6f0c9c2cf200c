// salesctl token sign: a bearer token (JWT) for services that check tokens (--auth-jwt-key), signed
// with the installation's key: the RS*/ES* private key whose public half the services hold, or
// the HS* shared secret. For installations without an identity provider; docs/SECURITY.md.
#pragma once

#include <string>
#include <vector>

namespace sales::salesctl {

// `args` is the whole command line without the program name ("token", "sign", flags...). Prints
// the token on stdout. Exit codes: 0 signed, 2 usage or a key that cannot sign.
int RunToken(const std::vector<std::string>& args);

}  // namespace sales::salesctl
