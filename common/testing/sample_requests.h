// The requests of the whole-platform tests (the fault suite, the Kafka ACL test, the first offers
// fixture): one product, a manager for every region, a qualification and an offer of that product,
// so that every such test sells the same thing and counts the same revenue.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "sales/api/v1/first_offers.pb.h"
#include "sales/api/v1/lead_acquisition.pb.h"

namespace sales::testing {

// "crm-pro" at 49.90 EUR (cost 12.00): an offer of SampleOffer is 499.00 EUR.
inline constexpr int64_t kSampleOfferCents = 49900;
api::v1::UpsertProductRequest SampleProduct(const std::string& idempotency_key);
// A manager taking every region, so that every captured lead gets an owner.
api::v1::RegisterManagerRequest SampleManager(const std::string& idempotency_key, const std::string& email);
api::v1::QualifyLeadRequest SampleQualification(const std::string& idempotency_key, const std::string& lead_id);
// 10 x crm-pro, EUR, net 30, valid until `valid_until`.
api::v1::DraftOfferRequest SampleOffer(const std::string& idempotency_key, const std::string& lead_id,
                                       absl::Time valid_until);

}  // namespace sales::testing
