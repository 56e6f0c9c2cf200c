#include "tools/salesctl/token.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/auth/tokens.h"

namespace sales::salesctl {

int RunToken(const std::vector<std::string>& args) {
  CLI::App app{"salesctl token: bearer tokens for services that check them (docs/SECURITY.md)", "salesctl"};
  app.require_subcommand(1);
  std::string key_file, algorithm = "RS256", subject, roles, issuer, audience, ttl = "12h";
  auto* sign = app.add_subcommand("sign", "print a signed token (JWT) for one caller");
  sign->add_option("--key", key_file, "the PEM private key (RS*, ES*) or the secret file (HS*)")->required();
  sign->add_option("--alg", algorithm, "RS256 (default), RS384, RS512, ES256, ES384, ES512, HS256, HS384, HS512");
  sign->add_option("--subject", subject, "who the caller is: the actor events record")->required();
  sign->add_option("--roles", roles, "comma-separated: sales, head, ops, integration, readonly")->required();
  sign->add_option("--ttl", ttl, "how long it is valid: 30m, 12h (default), 720h");
  sign->add_option("--issuer", issuer, "the \"iss\" claim (services with --auth-jwt-issuer check it)");
  sign->add_option("--audience", audience, "the \"aud\" claim (services with --auth-jwt-audience check it)");
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  reversed.pop_back();  // the word "token"
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  absl::Duration lifetime;
  if (!absl::ParseDuration(ttl, &lifetime) || lifetime <= absl::ZeroDuration()) {
    std::cerr << "salesctl: --ttl=" << ttl << ": say how long, e.g. 30m, 12h or 720h\n";
    return 2;
  }
  StatusOr<std::string> key = auth::ReadTokenKey("--key", key_file, algorithm);
  if (key.ok() && key->find("PUBLIC KEY") != std::string::npos) {
    key = InvalidField("--key", "a public key verifies tokens; signing needs the private key");
  }
  const absl::Time now = absl::Now();
  StatusOr<std::string> token =
      key.ok() ? auth::SignToken({.subject = subject,
                                  .roles = absl::StrSplit(roles, ',', absl::SkipWhitespace()),
                                  .issuer = issuer,
                                  .audience = audience,
                                  .issued_at = now,
                                  .expires = now + lifetime},
                                 algorithm, *key)
               : key.status();
  if (!token.ok()) {
    std::cerr << "salesctl: " << token.status().message() << "\n";
    return 2;
  }
  std::cout << *token << "\n";
  return 0;
}

}  // namespace sales::salesctl
