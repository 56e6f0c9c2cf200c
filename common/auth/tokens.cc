#include "common/base/json.h"
#include "common/auth/tokens.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "common/base/config.h"
#include "common/base/strings.h"

namespace sales::auth {
namespace {

constexpr size_t kMaxTokenBytes = 8192;
constexpr size_t kMaxVerifiedTokens = 4096;
constexpr size_t kMinSecretBytes = 32;

struct JwtDeleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;
struct FreeDeleter {
  void operator()(char* p) const { free(p); }  // NOLINT: libjwt's strings come from malloc
};
using CString = std::unique_ptr<char, FreeDeleter>;

bool IsHmac(jwt_alg_t alg) { return alg == JWT_ALG_HS256 || alg == JWT_ALG_HS384 || alg == JWT_ALG_HS512; }
bool IsRsa(jwt_alg_t alg) { return alg == JWT_ALG_RS256 || alg == JWT_ALG_RS384 || alg == JWT_ALG_RS512; }

StatusOr<jwt_alg_t> ParseAlgorithm(const std::string& flag, const std::string& name) {
  const jwt_alg_t alg = jwt_str_alg(name.c_str());
  if (alg == JWT_ALG_INVAL || alg == JWT_ALG_NONE) {
    return InvalidField(flag, StrCat("\"", name, "\" is not one of HS256, HS384, HS512, RS256, RS384, RS512, ES256, "
                                     "ES384, ES512"));
  }
  return alg;
}

// A JSON array of strings (a claim) as its strings; an error text when it is something else.
StatusOr<std::vector<std::string>> StringArray(const char* json, const char* claim) {
  google::protobuf::ListValue list;
  if (!ParseJsonMessage(json, &list).ok()) {
    return absl::UnauthenticatedError(StrCat("the token's \"", claim, "\" claim is not a string or an array of strings"));
  }
  std::vector<std::string> out;
  for (const auto& v : list.values()) {
    if (v.kind_case() != google::protobuf::Value::kStringValue) {
      return absl::UnauthenticatedError(StrCat("the token's \"", claim, "\" claim holds something other than strings"));
    }
    out.push_back(v.string_value());
  }
  return out;
}

// A string claim or an array of strings, as strings; empty when absent.
StatusOr<std::vector<std::string>> Strings(jwt_t* jwt, const char* claim) {
  if (const char* one = jwt_get_grant(jwt, claim)) return std::vector<std::string>{one};
  CString json(jwt_get_grants_json(jwt, claim));
  if (!json) return std::vector<std::string>{};
  return StringArray(json.get(), claim);
}

// A NumericDate claim (seconds since the epoch): nullopt when absent.
StatusOr<std::optional<absl::Time>> Date(jwt_t* jwt, const char* claim) {
  CString json(jwt_get_grants_json(jwt, claim));
  if (!json) return std::optional<absl::Time>();
  google::protobuf::Value value;
  if (!ParseJsonMessage(json.get(), &value).ok() ||
      value.kind_case() != google::protobuf::Value::kNumberValue || value.number_value() < 0 ||
      value.number_value() > 1e11) {
    return absl::UnauthenticatedError(StrCat("the token's \"", claim, "\" claim is not a number of seconds"));
  }
  return std::optional<absl::Time>(absl::FromUnixSeconds(static_cast<int64_t>(value.number_value())));
}

std::string Timestamp(absl::Time t) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()); }

}  // namespace

StatusOr<std::string> ReadTokenKey(const std::string& flag, const std::string& path, const std::string& algorithm) {
  ASSIGN_OR_RETURN(const jwt_alg_t alg, ParseAlgorithm("--auth-jwt-alg", algorithm));
  if (!IsHmac(alg)) return ReadPemFile(flag, path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidField(flag, StrCat("cannot read the secret file ", path));
  std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!secret.empty() && absl::ascii_isspace(static_cast<unsigned char>(secret.back()))) secret.pop_back();
  if (secret.size() < kMinSecretBytes) {
    return InvalidField(flag, StrCat("the secret in ", path, " has ", secret.size(), " bytes; ", algorithm,
                                     " needs at least ", kMinSecretBytes, " (e.g. openssl rand -base64 48)"));
  }
  return secret;
}

TokenVerifier::TokenVerifier(TokenSettings settings, std::string key, int algorithm)
    : settings_(std::move(settings)), key_(std::move(key)), algorithm_(algorithm) {}

StatusOr<std::unique_ptr<TokenVerifier>> TokenVerifier::Create(const TokenSettings& settings) {
  ASSIGN_OR_RETURN(const jwt_alg_t alg, ParseAlgorithm("--auth-jwt-alg", settings.algorithm));
  ASSIGN_OR_RETURN(std::string key, ReadTokenKey("--auth-jwt-key", settings.key_file, settings.algorithm));
  if (!IsHmac(alg)) {
    // A public key of the algorithm's kind: a private key here would be a secret on the servers,
    // and an RSA key for ES256 would refuse every token.
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key.data(), static_cast<int>(key.size())), BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                             EVP_PKEY_free);
    if (!pkey) {
      return InvalidField("--auth-jwt-key", StrCat(settings.key_file, " holds no PEM public key (-----BEGIN PUBLIC "
                                                   "KEY-----; openssl pkey -pubout makes one from a private key)"));
    }
    const int want = IsRsa(alg) ? EVP_PKEY_RSA : EVP_PKEY_EC;
    if (EVP_PKEY_get_base_id(pkey.get()) != want) {
      return InvalidField("--auth-jwt-key", StrCat(settings.key_file, " is not ", IsRsa(alg) ? "an RSA" : "an EC",
                                                   " public key, which ", settings.algorithm, " needs"));
    }
  }
  return std::unique_ptr<TokenVerifier>(new TokenVerifier(settings, std::move(key), alg));
}

StatusOr<Identity> TokenVerifier::Verify(std::string_view token, absl::Time now) const {
  if (token.size() > kMaxTokenBytes) {
    return absl::UnauthenticatedError(StrCat("the bearer token has ", token.size(), " bytes, more than ", kMaxTokenBytes));
  }
  const std::string key(token);
  Identity identity;
  bool known = false;
  {
    std::lock_guard lock(mu_);
    if (auto it = verified_.find(key); it != verified_.end()) {
      identity = it->second;
      known = true;
    }
  }
  if (!known) {
    ASSIGN_OR_RETURN(identity, Decode(key, now));
    std::lock_guard lock(mu_);
    if (verified_.size() >= kMaxVerifiedTokens) verified_.clear();
    verified_.emplace(key, identity);
  }
  if (now > identity.expires + settings_.leeway) {
    return absl::UnauthenticatedError(StrCat("the bearer token of ", identity.subject, " expired at ",
                                             Timestamp(identity.expires)));
  }
  return identity;
}

StatusOr<Identity> TokenVerifier::Decode(const std::string& token, absl::Time now) const {
  jwt_t* raw = nullptr;
  const int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key_.data()),
                            static_cast<int>(key_.size()));
  JwtPtr jwt(raw);
  if (rc != 0 || !jwt) {
    return absl::UnauthenticatedError(
        StrCat("the bearer token is not a JSON Web Token signed with this service's key (", std::strerror(rc), ")"));
  }
  // The algorithm is the configured one: libjwt verifies with whatever the token's header names,
  // so "none" (no signature) or HS256 keyed with the public key would otherwise pass.
  if (jwt_get_alg(jwt.get()) != static_cast<jwt_alg_t>(algorithm_)) {
    return absl::UnauthenticatedError(StrCat("the bearer token is signed with ", jwt_alg_str(jwt_get_alg(jwt.get())),
                                             "; this service accepts ", settings_.algorithm, " only"));
  }
  Identity identity;
  const char* sub = jwt_get_grant(jwt.get(), "sub");
  if (sub == nullptr || *sub == '\0') return absl::UnauthenticatedError("the bearer token has no \"sub\" (subject)");
  identity.subject = sub;
  ASSIGN_OR_RETURN(std::optional<absl::Time> exp, Date(jwt.get(), "exp"));
  if (!exp) return absl::UnauthenticatedError("the bearer token has no \"exp\" (expiry time); tokens must expire");
  identity.expires = *exp;
  ASSIGN_OR_RETURN(std::optional<absl::Time> nbf, Date(jwt.get(), "nbf"));
  if (nbf && now + settings_.leeway < *nbf) {
    return absl::UnauthenticatedError(StrCat("the bearer token is not valid before ", Timestamp(*nbf)));
  }
  if (!settings_.issuer.empty()) {
    const char* iss = jwt_get_grant(jwt.get(), "iss");
    if (iss == nullptr || settings_.issuer != iss) {
      return absl::UnauthenticatedError(StrCat("the bearer token's issuer is \"", iss ? iss : "", "\", not \"",
                                               settings_.issuer, "\""));
    }
  }
  if (!settings_.audience.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> aud, Strings(jwt.get(), "aud"));
    if (std::find(aud.begin(), aud.end(), settings_.audience) == aud.end()) {
      return absl::UnauthenticatedError(StrCat("the bearer token is not for audience \"", settings_.audience, "\""));
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> roles, Strings(jwt.get(), "roles"));
  for (const std::string& name : roles) {
    if (const api::v1::Role role = ParseRole(name); role != api::v1::ROLE_UNSPECIFIED) identity.roles.push_back(role);
  }
  return identity;
}

namespace {
std::mutex verifier_mu;
std::shared_ptr<const TokenVerifier> verifier;
}  // namespace

void SetTokenVerifier(std::shared_ptr<const TokenVerifier> v) {
  std::lock_guard lock(verifier_mu);
  verifier = std::move(v);
}

const TokenVerifier* CurrentTokenVerifier() {
  std::lock_guard lock(verifier_mu);
  return verifier.get();
}

const std::vector<api::v1::Role>& AllowedRoles(std::string_view service, std::string_view method) {
  static std::mutex mu;
  static auto* known = new std::map<std::string, std::vector<api::v1::Role>, std::less<>>();
  const std::string name = StrCat(service, ".", method);
  std::lock_guard lock(mu);
  if (auto it = known->find(name); it != known->end()) return it->second;
  std::vector<api::v1::Role> roles;
  if (const auto* m = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name)) {
    for (int r : m->options().GetExtension(api::v1::access).allow()) roles.push_back(static_cast<api::v1::Role>(r));
  }
  return known->emplace(name, std::move(roles)).first->second;
}

std::string RoleName(api::v1::Role role) {
  if (role == api::v1::ROLE_UNSPECIFIED) return "";
  return absl::AsciiStrToLower(api::v1::Role_Name(role).substr(5));  // without "ROLE_"
}

api::v1::Role ParseRole(std::string_view name) {
  api::v1::Role role = api::v1::ROLE_UNSPECIFIED;
  if (name.empty() || !api::v1::Role_Parse(StrCat("ROLE_", absl::AsciiStrToUpper(std::string(name))), &role)) {
    return api::v1::ROLE_UNSPECIFIED;
  }
  return role;
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return {};
  }
  return authorization.substr(kScheme.size());
}

StatusOr<Identity> Authenticate(const TokenVerifier& verifier, std::string_view authorization, absl::Time now) {
  const std::string_view token = BearerToken(authorization);
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "no bearer token: send the header \"authorization: Bearer <token>\" (salesctl --token)");
  }
  return verifier.Verify(token, now);
}

Status CheckRoles(const std::vector<api::v1::Role>& roles, const std::vector<api::v1::Role>& allowed,
                  std::string_view what, std::string_view who) {
  for (api::v1::Role role : roles) {
    if (std::find(allowed.begin(), allowed.end(), role) != allowed.end()) return absl::OkStatus();
  }
  auto names = [](const std::vector<api::v1::Role>& list) {
    std::vector<std::string> out;
    for (api::v1::Role r : list) out.push_back(RoleName(r));
    return out.empty() ? std::string("none") : absl::StrJoin(out, ", ");
  };
  return absl::PermissionDeniedError(
      StrCat(what, " needs one of the roles ", names(allowed), "; the token of ", who, " has ", names(roles)));
}

StatusOr<std::string> SignToken(const TokenClaims& claims, const std::string& algorithm, const std::string& key) {
  ASSIGN_OR_RETURN(const jwt_alg_t alg, ParseAlgorithm("--alg", algorithm));
  if (claims.subject.empty()) return InvalidField("--subject", "missing: who the token is for");
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("libjwt could not allocate a token");
  JwtPtr jwt(raw);
  if (jwt_set_alg(jwt.get(), alg, reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size())) !=
      0) {
    return InvalidField("--key", StrCat("libjwt refuses this key for ", algorithm));
  }
  google::protobuf::Struct grants;
  auto& fields = *grants.mutable_fields();
  fields["sub"].set_string_value(claims.subject);
  if (!claims.issuer.empty()) fields["iss"].set_string_value(claims.issuer);
  if (!claims.audience.empty()) fields["aud"].set_string_value(claims.audience);
  fields["iat"].set_number_value(static_cast<double>(absl::ToUnixSeconds(claims.issued_at)));
  fields["exp"].set_number_value(static_cast<double>(absl::ToUnixSeconds(claims.expires)));
  for (const std::string& role : claims.roles) {
    if (ParseRole(role) == api::v1::ROLE_UNSPECIFIED) {
      return InvalidField("--roles", StrCat("\"", role, "\" is not one of sales, head, ops, integration, readonly"));
    }
    fields["roles"].mutable_list_value()->add_values()->set_string_value(role);
  }
  if (claims.roles.empty()) fields["roles"].mutable_list_value();
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(grants, &json).ok() ||
      jwt_add_grants_json(jwt.get(), json.c_str()) != 0) {
    return absl::InternalError("libjwt could not take the token's claims");
  }
  CString token(jwt_encode_str(jwt.get()));
  if (!token) return InvalidField("--key", StrCat("libjwt could not sign with this key for ", algorithm));
  return std::string(token.get());
}

}  // namespace sales::auth
