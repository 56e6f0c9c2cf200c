// Who may call what: bearer tokens (signed JSON Web Tokens, RFC 7519, verified with libjwt) and the
// roles each method allows (the `access` option of every rpc, proto/sales/api/v1/access.proto).
//
// A token is verified against one key: a PEM public key for RS256/RS384/RS512/ES256/ES384/ES512
// (tokens from an identity provider, or signed by `salesctl token` with the private key), or a
// shared secret of at least 32 bytes for HS256/HS384/HS512 (a small installation). The token's
// `alg` must be the configured one (so a token cannot choose "none" or an HMAC keyed with the
// public key), `sub` names the caller (the actor events record), `exp` is required, `nbf`, `iss`
// and `aud` are checked when present or configured, and `roles` is an array of role names.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "sales/api/v1/access.pb.h"

namespace sales::auth {

struct Identity {
  std::string subject;                  // the token's `sub`
  std::vector<api::v1::Role> roles;     // the known names of its `roles` claim
  absl::Time expires = absl::InfinitePast();
};

struct TokenSettings {
  std::string key_file;          // flag --auth-jwt-key: the PEM public key, or the HS* secret
  std::string algorithm = "RS256";
  std::string issuer;            // when set, a token's `iss` must be it
  std::string audience;          // when set, a token's `aud` must be or contain it
  absl::Duration leeway = absl::Seconds(60);  // clock skew allowed on `exp` and `nbf`
};

class TokenVerifier {
 public:
  // INVALID_ARGUMENT naming the flag: an unknown algorithm, an unreadable key, a public key of the
  // wrong kind for the algorithm, a secret shorter than 32 bytes.
  static StatusOr<std::unique_ptr<TokenVerifier>> Create(const TokenSettings& settings);

  // The identity `token` proves at `now`, or UNAUTHENTICATED saying why it does not.
  StatusOr<Identity> Verify(std::string_view token, absl::Time now) const;

 private:
  TokenVerifier(TokenSettings settings, std::string key, int algorithm);
  StatusOr<Identity> Decode(const std::string& token, absl::Time now) const;

  const TokenSettings settings_;
  const std::string key_;
  const int algorithm_;  // jwt_alg_t
  // Tokens already verified (a caller sends the same one with every call): the signature is
  // checked once per token, the times on every use. Cleared when full.
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, Identity> verified_;
};

// The verifier of this process, set once by the kit before serving. None (the default): tokens
// are not checked and every caller may call every method (loopback development, `make run`).
void SetTokenVerifier(std::shared_ptr<const TokenVerifier> verifier);
const TokenVerifier* CurrentTokenVerifier();

// The roles the `access` option of `service`/`method` allows ("sales.api.v1.Admin",
// "GetDeadLetter"); empty for a method without the option or one not in the sales APIs.
const std::vector<api::v1::Role>& AllowedRoles(std::string_view service, std::string_view method);

// The token of an "authorization" value "Bearer <token>" (the scheme in any case); empty when the
// value is not one.
std::string_view BearerToken(std::string_view authorization);
// The identity the "authorization" value (gRPC metadata or HTTP header) proves at `now`, or
// UNAUTHENTICATED saying why it does not (no token, or the token's fault).
StatusOr<Identity> Authenticate(const TokenVerifier& verifier, std::string_view authorization, absl::Time now);
// OK when one of `roles` is among `allowed`; otherwise PERMISSION_DENIED naming `what` (a method,
// a path), the roles it needs and those `who` (the token's subject) has.
Status CheckRoles(const std::vector<api::v1::Role>& roles, const std::vector<api::v1::Role>& allowed,
                  std::string_view what, std::string_view who);

// "sales", "head", "ops", "integration", "readonly"; empty for ROLE_UNSPECIFIED.
std::string RoleName(api::v1::Role role);
// The role a name in a token stands for; ROLE_UNSPECIFIED for an unknown name.
api::v1::Role ParseRole(std::string_view name);

// What `salesctl token` signs.
struct TokenClaims {
  std::string subject;
  std::vector<std::string> roles;
  std::string issuer, audience;  // left out when empty
  absl::Time issued_at;
  absl::Time expires;
};
// A signed token: `key` is the PEM private key for RS*/ES*, the secret for HS*.
StatusOr<std::string> SignToken(const TokenClaims& claims, const std::string& algorithm, const std::string& key);

// The key file's content for `algorithm`: the PEM text, or the secret without trailing whitespace.
StatusOr<std::string> ReadTokenKey(const std::string& flag, const std::string& path, const std::string& algorithm);

}  // namespace sales::auth
