#include "common/testing/sample_requests.h"

#include "common/events/envelope.h"

namespace sales::testing {

api::v1::UpsertProductRequest SampleProduct(const std::string& idempotency_key) {
  api::v1::UpsertProductRequest p;
  p.set_idempotency_key(idempotency_key);
  p.set_code("crm-pro");
  p.set_name("CRM Pro");
  p.mutable_list_price()->set_units(4990);
  p.mutable_list_price()->set_currency("EUR");
  p.mutable_unit_cost()->set_units(1200);
  p.mutable_unit_cost()->set_currency("EUR");
  return p;
}

api::v1::RegisterManagerRequest SampleManager(const std::string& idempotency_key, const std::string& email) {
  api::v1::RegisterManagerRequest m;
  m.set_idempotency_key(idempotency_key);
  m.set_name("Μαρία Παπαδάκη");
  m.set_email(email);
  m.add_regions(std::string("*"));  // g++ 12 -O2 warns wrongly (-Wrestrict) on add_regions("*")
  return m;
}

api::v1::QualifyLeadRequest SampleQualification(const std::string& idempotency_key, const std::string& lead_id) {
  api::v1::QualifyLeadRequest q;
  q.set_idempotency_key(idempotency_key);
  q.set_lead_id(lead_id);
  q.set_need("a CRM for 40 sales people");
  q.set_budget("30k EUR");
  q.set_timeline("this quarter");
  q.set_decision_maker("CEO");
  return q;
}

api::v1::DraftOfferRequest SampleOffer(const std::string& idempotency_key, const std::string& lead_id,
                                       absl::Time valid_until) {
  api::v1::DraftOfferRequest d;
  d.set_idempotency_key(idempotency_key);
  d.set_lead_id(lead_id);
  auto* line = d.mutable_terms()->add_lines();
  line->set_product_code("crm-pro");
  line->set_quantity(10);
  d.mutable_terms()->set_currency("EUR");
  *d.mutable_terms()->mutable_valid_until() = events::ToProto(valid_until);
  d.mutable_terms()->set_payment_terms(events::v1::PAYMENT_TERMS_NET_30);
  return d;
}

}  // namespace sales::testing
