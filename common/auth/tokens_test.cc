#include "common/auth/tokens.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <fstream>

#include "absl/strings/escaping.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "sales/api/v1/admin.pb.h"
#include "sales/api/v1/client_support.pb.h"
#include "sales/api/v1/first_offers.pb.h"
#include "sales/api/v1/lead_acquisition.pb.h"
#include "sales/api/v1/reporting.pb.h"

namespace sales::auth {
namespace {

using api::v1::ROLE_HEAD;
using api::v1::ROLE_INTEGRATION;
using api::v1::ROLE_OPS;
using api::v1::ROLE_READONLY;
using api::v1::ROLE_SALES;
using ::sales::testing::IsOk;
using ::sales::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1795000000);  // 2026-11-18
const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";

struct PemPair {
  std::string private_pem, public_pem;
};

PemPair NewKey(bool rsa) {
  EVP_PKEY* key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free), pub(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_PUBKEY(pub.get(), key);
  EVP_PKEY_free(key);
  auto text = [](BIO* b) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<size_t>(n));
  };
  return {text(priv.get()), text(pub.get())};
}

class TokensTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::unique_ptr<TokenVerifier> Verifier(TokenSettings settings) {
    auto v = TokenVerifier::Create(settings);
    EXPECT_THAT(v.status(), IsOk());
    return v.ok() ? std::move(*v) : nullptr;
  }
  std::unique_ptr<TokenVerifier> HmacVerifier(std::string issuer = "", std::string audience = "") {
    return Verifier({.key_file = Write("secret", kSecret + "\n"), .algorithm = "HS256", .issuer = issuer,
                     .audience = audience});
  }
  static TokenClaims Claims(std::vector<std::string> roles = {"sales"}) {
    return {.subject = "maria", .roles = std::move(roles), .issued_at = kNow, .expires = kNow + absl::Hours(1)};
  }
  static std::string Sign(const TokenClaims& claims, const std::string& alg = "HS256", const std::string& key = kSecret) {
    auto t = SignToken(claims, alg, key);
    EXPECT_THAT(t.status(), IsOk());
    return t.ok() ? *t : "";
  }

  testing::TempDir dir_;
};

// A token whose claims are written by hand and signed with HS256 (the cases SignToken never makes).
std::string HandMade(const std::string& header, const std::string& claims, const std::string& key) {
  const std::string signing_input = absl::WebSafeBase64Escape(header) + "." + absl::WebSafeBase64Escape(claims);
  unsigned int n = 0;
  unsigned char mac[EVP_MAX_MD_SIZE];
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &n);
  return signing_input + "." + absl::WebSafeBase64Escape(std::string(reinterpret_cast<char*>(mac), n));
}

TEST_F(TokensTest, AnHmacTokenNamesItsSubjectAndItsKnownRoles) {
  auto v = HmacVerifier();
  auto id = v->Verify(Sign(Claims({"sales", "head"})), kNow);
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->subject, "maria");
  EXPECT_THAT(id->roles, ElementsAre(ROLE_SALES, ROLE_HEAD));
  EXPECT_EQ(id->expires, kNow + absl::Hours(1));
  // Verified once, answered again from memory: still the same identity.
  EXPECT_EQ(v->Verify(Sign(Claims({"sales", "head"})), kNow)->subject, "maria");
  // A role name this version does not know grants nothing (an identity provider may add its own).
  const std::string exp = std::to_string(absl::ToUnixSeconds(kNow + absl::Hours(1)));
  id = v->Verify(HandMade(R"({"alg":"HS256"})", R"({"sub":"x","exp":)" + exp + R"(,"roles":["superuser","ops"]})",
                          kSecret),
                 kNow);
  ASSERT_THAT(id, IsOk());
  EXPECT_THAT(id->roles, ElementsAre(ROLE_OPS));
}

TEST_F(TokensTest, AnExpiredTokenIsRefusedAfterTheLeeway) {
  auto v = HmacVerifier();
  const std::string token = Sign(Claims());
  EXPECT_THAT(v->Verify(token, kNow + absl::Hours(1) + absl::Seconds(59)), IsOk());  // within the leeway
  EXPECT_THAT(v->Verify(token, kNow + absl::Hours(2)).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired at 2026-11-18T")));
  EXPECT_THAT(v->Verify("", kNow).status(), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TokensTest, ClaimsAreChecked) {
  auto v = HmacVerifier("https://id.example.com", "sales-platform");
  const std::string hs = R"({"alg":"HS256","typ":"JWT"})";
  const std::string exp = std::to_string(absl::ToUnixSeconds(kNow + absl::Hours(1)));
  auto verify = [&](const std::string& claims) { return v->Verify(HandMade(hs, claims, kSecret), kNow).status(); };
  const std::string good = R"("iss":"https://id.example.com","aud":["other","sales-platform"],"roles":["ops"])";
  EXPECT_THAT(verify(R"({"sub":"ops-bot","exp":)" + exp + "," + good + "}"), IsOk());
  EXPECT_THAT(verify(R"({"exp":)" + exp + "," + good + "}"), StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("sub")));
  EXPECT_THAT(verify(R"({"sub":"a",)" + good + "}"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("tokens must expire")));
  EXPECT_THAT(verify(R"({"sub":"a","exp":"tomorrow",)" + good + "}"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("\"exp\" claim is not a number")));
  EXPECT_THAT(verify(R"({"sub":"a","exp":)" + exp + R"(,"nbf":)" + exp + "," + good + "}"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not valid before")));
  EXPECT_THAT(verify(R"({"sub":"a","exp":)" + exp +
                     R"(,"iss":"https://evil.example.com","aud":"sales-platform","roles":[]})"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("issuer")));
  EXPECT_THAT(verify(R"({"sub":"a","exp":)" + exp + R"(,"iss":"https://id.example.com","aud":"crm","roles":[]})"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("audience \"sales-platform\"")));
  EXPECT_THAT(verify(R"({"sub":"a","exp":)" + exp +
                     R"(,"iss":"https://id.example.com","aud":"sales-platform","roles":[1,2]})"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("\"roles\"")));
  // Signed with another secret; tampered claims.
  EXPECT_THAT(v->Verify(HandMade(hs, R"({"sub":"a","exp":)" + exp + "}", kSecret + "x"), kNow).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not a JSON Web Token signed with")));
  EXPECT_THAT(v->Verify(std::string(8193, 'a'), kNow).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("more than 8192")));
}

TEST_F(TokensTest, ATokenCannotChooseItsAlgorithm) {
  const PemPair rsa = NewKey(/*rsa=*/true);
  auto v = Verifier({.key_file = Write("rsa.pub", rsa.public_pem), .algorithm = "RS256"});
  EXPECT_THAT(v->Verify(Sign(Claims(), "RS256", rsa.private_pem), kNow).status(), IsOk());
  const std::string exp = std::to_string(absl::ToUnixSeconds(kNow + absl::Hours(1)));
  const std::string claims = R"({"sub":"mallory","exp":)" + exp + R"(,"roles":["ops"]})";
  // "none": no signature at all.
  const std::string unsigned_token =
      absl::WebSafeBase64Escape(R"({"alg":"none"})") + "." + absl::WebSafeBase64Escape(claims) + ".";
  EXPECT_THAT(v->Verify(unsigned_token, kNow).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  // HS256 keyed with the public key, which every holder of the public key could make.
  EXPECT_THAT(v->Verify(HandMade(R"({"alg":"HS256","typ":"JWT"})", claims, rsa.public_pem), kNow).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("accepts RS256 only")));
  // Another RSA key.
  EXPECT_THAT(v->Verify(Sign(Claims(), "RS256", NewKey(true).private_pem), kNow).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(TokensTest, EllipticCurveTokens) {
  const PemPair ec = NewKey(/*rsa=*/false);
  auto v = Verifier({.key_file = Write("ec.pub", ec.public_pem), .algorithm = "ES256"});
  auto id = v->Verify(Sign(Claims({"integration"}), "ES256", ec.private_pem), kNow);
  ASSERT_THAT(id.status(), IsOk());
  EXPECT_THAT(id->roles, ElementsAre(ROLE_INTEGRATION));
}

TEST_F(TokensTest, KeysThatCannotWorkAreRefusedAtStart) {
  const PemPair rsa = NewKey(true);
  auto refused = [&](TokenSettings s, const std::string& why) {
    EXPECT_THAT(TokenVerifier::Create(s).status(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why)))
        << s.algorithm;
  };
  refused({.key_file = Write("short", "too short\n"), .algorithm = "HS256"}, "at least 32");
  refused({.key_file = dir_.path() + "/missing", .algorithm = "HS256"}, "cannot read");
  refused({.key_file = Write("rsa.pub", rsa.public_pem), .algorithm = "ES256"}, "not an EC public key");
  refused({.key_file = Write("rsa.key", rsa.private_pem), .algorithm = "RS256"}, "holds no PEM public key");
  refused({.key_file = Write("rsa.pub", rsa.public_pem), .algorithm = "none"}, "is not one of");
  EXPECT_THAT(SignToken(Claims({"root"}), "HS256", kSecret).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"root\" is not one of")));
}

TEST(RolesTest, NamesRoundTrip) {
  for (api::v1::Role r : {ROLE_SALES, ROLE_HEAD, ROLE_OPS, ROLE_INTEGRATION, ROLE_READONLY}) {
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  }
  EXPECT_EQ(RoleName(ROLE_READONLY), "readonly");
  EXPECT_EQ(ParseRole("Head"), ROLE_HEAD);
  EXPECT_EQ(ParseRole("root"), api::v1::ROLE_UNSPECIFIED);
  EXPECT_EQ(ParseRole("unspecified"), api::v1::ROLE_UNSPECIFIED);
}

// Every method of every sales API names who may call it: a method added without the option would
// refuse every caller once tokens are checked.
TEST(RolesTest, EveryMethodOfEverySalesApiAllowsSomeRole) {
  // Linked in (and so in the generated pool) through one message of each API.
  for (const auto* d : {api::v1::CaptureLeadRequest::descriptor(), api::v1::DraftOfferRequest::descriptor(),
                        api::v1::RecordOrderRequest::descriptor(), api::v1::SetTargetRequest::descriptor(),
                        api::v1::StartRebuildRequest::descriptor()}) {
    ASSERT_NE(d, nullptr);
  }
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  int methods = 0;
  for (const char* name : {"sales.api.v1.LeadAcquisition", "sales.api.v1.FirstOffers", "sales.api.v1.ClientSupport",
                           "sales.api.v1.Reporting", "sales.api.v1.Admin"}) {
    const auto* service = pool->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i, ++methods) {
      EXPECT_THAT(AllowedRoles(name, service->method(i)->name()), ::testing::Not(IsEmpty()))
          << service->method(i)->full_name();
    }
  }
  EXPECT_EQ(methods, 73);
  EXPECT_THAT(AllowedRoles("sales.api.v1.Admin", "StartRebuild"), ElementsAre(ROLE_OPS));
  EXPECT_THAT(AllowedRoles("sales.api.v1.LeadAcquisition", "CaptureLead"),
              ElementsAre(ROLE_SALES, ROLE_HEAD, ROLE_INTEGRATION));
  EXPECT_THAT(AllowedRoles("sales.api.v1.LeadAcquisition", "NoSuchMethod"), IsEmpty());
}

}  // namespace
}  // namespace sales::auth
