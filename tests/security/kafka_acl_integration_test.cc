// The secured Kafka cluster of deploy/cluster, on one node: the test's own broker rendered from
// server.properties.template (mutual TLS on every listener, the certificate's CN the principal,
// ACLs with nothing allowed by default; kafka.sh with KAFKA_SECURE_DIR), the ACLs of
// deploy/cluster/kafka-acls.sh, and the four real services each with its own certificate through
// --kafka-properties. Shows that those ACLs are enough for the whole flow (a lead captured,
// qualified, offered, accepted; the client opened by client support; the revenue in reporting),
// and that they are not more: a service cannot write another's topic, a marketing system only its
// inbound topic, a service cannot read a topic it does not project, and nobody connects without
// a certificate from the cluster's CA.
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/testing/certificates.h"
#include "common/testing/kafka_env.h"
#include "common/testing/own_broker.h"
#include "common/testing/reporting_reads.h"
#include "common/testing/sample_requests.h"
#include "common/testing/service_process.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "sales/api/v1/client_support.grpc.pb.h"
#include "sales/api/v1/first_offers.grpc.pb.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "sales/api/v1/reporting.grpc.pb.h"

namespace sales {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<std::string> kPrincipals = {"admin", "lead-acquisition", "first-offers", "client-support",
                                              "reporting", "marketing"};

class KafkaAclIT : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::MakeCertificates(dir_).ok());
    for (const std::string& p : kPrincipals) ASSERT_TRUE(testing::MakeClientCertificate(dir_, p).ok());
    WriteClientProperties("admin", dir_.File("admin.properties"));
    {
      // The same admin certificate for the Java tools (kafka-acls.sh): a PEM keystore is the key,
      // then the certificate.
      std::ofstream(dir_.File("admin-keystore.pem")) << ReadText(dir_.File("admin.key"))
                                                      << ReadText(dir_.File("admin.pem"));
      std::ofstream java(dir_.File("admin-java.properties"));
      java << "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=" << dir_.File("ca.pem")
           << "\nssl.keystore.type=PEM\nssl.keystore.location=" << dir_.File("admin-keystore.pem") << "\n";
    }
    const std::map<std::string, std::string> secured = {{"KAFKA_SECURE_DIR", dir_.path()}};
    broker_ = std::make_unique<testing::OwnBroker>(dir_.File("kafka"), secured);
    ASSERT_TRUE(broker_->Start(/*fresh=*/true));
    prefix_ = testing::UniquePrefix();
    int code = 0;
    const std::string out = testing::Shell(StrCat(SALES_KAFKA_ACLS_SCRIPT, " --bootstrap ", broker_->bootstrap(),
                                                  " --command-config ", dir_.File("admin-java.properties"),
                                                  " --topic-prefix ", prefix_),
                                           &code);
    ASSERT_EQ(code, 0) << out;
  }

  void TearDown() override {
    if (!HasFailure()) return;
    for (const auto& [name, p] : services_) std::cerr << name << " log tail:\n" << p->LogTail(30);
  }

  // librdkafka settings of `principal` (what SALES_KAFKA_PROPERTIES points at).
  void WriteClientProperties(const std::string& principal, const std::string& path) {
    std::ofstream(path) << Credentials(principal, "\n");
  }
  // The librdkafka settings with `principal`'s certificate (none for ""), `separator` between them.
  std::string Credentials(const std::string& principal, const std::string& separator) {
    std::string out = StrCat("security.protocol=SSL", separator, "ssl.ca.location=", dir_.File("ca.pem"), separator);
    if (!principal.empty()) {
      absl::StrAppend(&out, "ssl.certificate.location=", dir_.File(principal + ".pem"), separator,
                      "ssl.key.location=", dir_.File(principal + ".key"), separator);
    }
    return out;
  }
  static std::string ReadText(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  void StartService(const std::string& name, const std::string& binary) {
    const std::string properties = dir_.File(name + ".properties");
    WriteClientProperties(name, properties);
    testing::ServiceOptions o;
    o.binary = binary;
    o.args = {"--kafka-bootstrap=" + broker_->bootstrap(), "--kafka-properties=" + properties,
              "--topic-prefix=" + prefix_, "--partitions=1", "--data-dir=" + dir_.File(name + "-store")};
    o.work_dir = dir_.File(name + "-work");
    std::filesystem::create_directories(o.work_dir);
    auto started = testing::ServiceProcess::Start(o);
    ASSERT_TRUE(started.ok()) << name << ": " << started.status();
    services_[name] = std::move(*started);
  }

  // kcat with `principal`'s certificate ("": none), with `args`; its output (the errors librdkafka
  // reports included).
  std::string Kcat(const std::string& principal, const std::string& args, const std::string& input = "") {
    std::string credentials = " -X " + Credentials(principal, " -X ");
    credentials.resize(credentials.size() - 4);  // the last " -X "
    std::ofstream(dir_.File("kcat-input")) << input;
    return testing::Shell(StrCat("timeout 30 kcat -b ", broker_->bootstrap(), credentials, " ", args, " <",
                                 dir_.File("kcat-input")));
  }

  std::shared_ptr<::grpc::Channel> Channel(const std::string& name) { return services_.at(name)->Channel(); }
  static ::grpc::ClientContext* Deadline(::grpc::ClientContext* ctx) {
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
    return ctx;
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::OwnBroker> broker_;
  std::string prefix_;
  std::map<std::string, std::unique_ptr<testing::ServiceProcess>> services_;
};

TEST_F(KafkaAclIT, EachServiceWorksWithItsOwnAclsAndCannotTouchOtherServicesTopics) {
  StartService("lead-acquisition", SALES_LEAD_ACQUISITION_BIN);
  StartService("first-offers", SALES_FIRST_OFFERS_BIN);
  StartService("client-support", SALES_CLIENT_SUPPORT_BIN);
  StartService("reporting", SALES_REPORTING_BIN);

  // The whole flow, across the four services' topics: a product and a manager who takes every
  // region, then a lead captured, qualified, offered (499.00 EUR) and accepted.
  const api::v1::UpsertProductRequest p = testing::SampleProduct("acl-product");
  api::v1::ProductCommandResponse product;
  ::grpc::ClientContext c0;
  ::grpc::Status s = api::v1::FirstOffers::NewStub(Channel("first-offers"))->UpsertProduct(Deadline(&c0), p, &product);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const api::v1::RegisterManagerRequest m = testing::SampleManager("acl-manager", "maria@sales.example.gr");
  api::v1::ManagerCommandResponse manager;
  ::grpc::ClientContext c00;
  s = api::v1::LeadAcquisition::NewStub(Channel("lead-acquisition"))->RegisterManager(Deadline(&c00), m, &manager);
  ASSERT_TRUE(s.ok()) << s.error_message();

  api::v1::CaptureLeadRequest c;
  c.set_idempotency_key("acl-lead");
  c.set_name("Nikos Andreou");
  c.set_company("Andreou Logistics");
  c.set_email("nikos@andreou.example.gr");
  c.set_source(events::v1::LEAD_SOURCE_WEB_FORM);
  c.set_region("GR-MAC");
  c.add_product_interest("crm-pro");
  api::v1::CaptureLeadResponse lead;
  ::grpc::ClientContext c1;
  s = api::v1::LeadAcquisition::NewStub(Channel("lead-acquisition"))->CaptureLead(Deadline(&c1), c, &lead);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const api::v1::QualifyLeadRequest q = testing::SampleQualification("acl-qualify", lead.lead_id());
  api::v1::LeadCommandResponse qualified;
  ::grpc::ClientContext c2;
  s = api::v1::LeadAcquisition::NewStub(Channel("lead-acquisition"))->QualifyLead(Deadline(&c2), q, &qualified);
  ASSERT_TRUE(s.ok()) << s.error_message();

  auto offers = api::v1::FirstOffers::NewStub(Channel("first-offers"));
  const api::v1::DraftOfferRequest d =
      testing::SampleOffer("acl-draft", lead.lead_id(), absl::Now() + absl::Hours(24 * 14));
  api::v1::OfferCommandResponse offer;
  // First offers learns of the qualification from sales.leads (its READ ACL).
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        ::grpc::ClientContext ctx;
        s = offers->DraftOffer(Deadline(&ctx), d, &offer);
        return s.ok();
      },
      absl::Seconds(60)))
      << s.error_message();
  api::v1::SendOfferRequest send;
  send.set_idempotency_key("acl-send");
  send.set_offer_id(offer.offer_id());
  ::grpc::ClientContext c3;
  s = offers->SendOffer(Deadline(&c3), send, &offer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  api::v1::AcceptOfferRequest accept;
  accept.set_idempotency_key("acl-accept");
  accept.set_offer_id(offer.offer_id());
  ::grpc::ClientContext c4;
  s = offers->AcceptOffer(Deadline(&c4), accept, &offer);
  ASSERT_TRUE(s.ok()) << s.error_message();

  // Client support opens the client from sales.offers and writes sales.clients.
  EXPECT_TRUE(testing::WaitUntil(
      [&] {
        api::v1::ListClientsResponse out;
        ::grpc::ClientContext ctx;
        return api::v1::ClientSupport::NewStub(Channel("client-support"))
                   ->ListClients(Deadline(&ctx), api::v1::ListClientsRequest(), &out)
                   .ok() &&
               out.clients_size() == 1;
      },
      absl::Seconds(60)));
  // Reporting reads all three and counts the revenue.
  int64_t revenue = -1;
  EXPECT_TRUE(testing::WaitUntil(
      [&] {
        StatusOr<int64_t> r = testing::RecentRevenueCents(Channel("reporting"));
        revenue = r.ok() ? *r : -1;
        return revenue == testing::kSampleOfferCents;
      },
      absl::Seconds(60)))
      << "revenue " << revenue;

  // Not more than that.
  const std::string offers_topic = prefix_ + "sales.offers";
  const std::string leads_topic = prefix_ + "sales.leads";
  const std::string inbound_topic = prefix_ + "marketing.leads.inbound";
  EXPECT_THAT(Kcat("lead-acquisition", "-P -t " + offers_topic, "forged\n"), HasSubstr("Topic authorization failed"))
      << "lead acquisition writing first offers' topic";
  EXPECT_THAT(Kcat("reporting", "-P -t " + leads_topic, "forged\n"), HasSubstr("Topic authorization failed"))
      << "reporting writing lead acquisition's topic";
  EXPECT_THAT(Kcat("marketing", "-P -t " + leads_topic, "forged\n"), HasSubstr("Topic authorization failed"))
      << "the marketing system writing past its inbound topic";
  EXPECT_THAT(Kcat("lead-acquisition", "-C -e -o beginning -t " + prefix_ + "sales.clients"),
              HasSubstr("Topic authorization failed"))
      << "lead acquisition reading client support's topic";
  // The marketing system may write its inbound topic (a record the intake dead-letters: it is
  // not a lead, which is not what is tested here).
  EXPECT_THAT(Kcat("marketing", "-P -t " + inbound_topic, "{}\n"), Not(HasSubstr("failed")));
  // Without a certificate from the cluster's CA nobody gets in.
  EXPECT_THAT(Kcat("", "-L -m 5"), HasSubstr("Failed to acquire metadata"));
  EXPECT_THAT(Kcat("other", "-L -m 5"), HasSubstr("Failed to acquire metadata"));  // self-signed
}

}  // namespace
}  // namespace sales
