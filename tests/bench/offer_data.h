// First offers traffic for the benchmark, built with the services' own code so that every request
// and event has the size and shape of the real thing: qualified leads as lead acquisition appends
// them to `sales.leads` (LeadCaptured, then LeadQualified), the catalogue product and the
// DraftOffer / SendOffer requests a manager sends, and the offer events first offers appends to
// `sales.offers` for them (decided with services/first_offers/domain, enveloped by the kit's
// command::EventFactory as the decider does).
//
// Not thread-safe: one OfferData per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/command/decider.h"
#include "common/kafka/publisher.h"
#include "common/testing/fake_clock.h"
#include "sales/api/v1/first_offers.pb.h"
#include "sales/store/v1/first_offers.pb.h"

namespace sales::bench {

// The one catalogue product every benchmark offer is priced from.
inline constexpr char kBenchProduct[] = "crm-pro";
api::v1::UpsertProductRequest ProductRequest(const std::string& run);

// A DraftOffer for `lead_id`: two lines of the bench product, valid until `valid_until`.
api::v1::DraftOfferRequest DraftRequest(const std::string& run, int64_t i, const std::string& lead_id,
                                        absl::Time valid_until);

class OfferData {
 public:
  // The product is upserted at `start`.
  explicit OfferData(std::string run, absl::Time start = absl::Now());

  // What follows happens at `t` (default: `start`; may go back or forth), and
  // leads captured from now on are assigned to `manager_id` (default: empty, unassigned) as lead
  // acquisition assigns them when that manager alone covers their region.
  void MoveTo(absl::Time t) { clock_.Advance(t - clock_.Now()); }
  void AssignTo(std::string manager_id) { manager_id_ = std::move(manager_id); }

  // The i-th qualified lead of this object (ids differ across runs and objects): its LeadCaptured
  // and LeadQualified messages for `leads_topic`, in this order, appended to `out`. Returns the
  // lead id.
  std::string QualifiedLead(const std::string& leads_topic, int64_t i, std::vector<kafka::OutgoingMessage>* out);

  // The ProductUpserted event of ProductRequest(run) (version 1) for `offers_topic`.
  kafka::OutgoingMessage ProductUpserted(const std::string& offers_topic) const;

  // How far an offer goes: drafted (and left open), withdrawn as a draft, sent (and left open), or
  // sent and then accepted or rejected (for the price).
  enum class OfferEnd { kDrafted, kWithdrawn, kSent, kAccepted, kRejected };

  // The events of one offer for the last lead QualifiedLead() returned, as first offers appends
  // them, up to `end` (the lead's first accepted offer converts it), valid for 30 days from its
  // draft. Appended to `out`; returns how many.
  int Offer(const std::string& offers_topic, int64_t i, OfferEnd end, std::vector<kafka::OutgoingMessage>* out);

 private:
  kafka::OutgoingMessage Message(const std::string& topic, const events::v1::EventEnvelope& e) const;

  std::string run_;
  testing::FakeClock clock_;  // before the factories, which keep its address
  std::string manager_id_;
  command::EventFactory lead_events_;
  command::EventFactory offer_events_;
  events::v1::EventEnvelope product_event_;
  store::v1::ProductState product_;
  std::optional<store::v1::LeadView> lead_;  // the last qualified lead, as first offers sees it
  bool lead_converted_ = false;
};

}  // namespace sales::bench
