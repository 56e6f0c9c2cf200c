#include "tests/bench/offer_data.h"

#include <cstdlib>

#include "absl/time/clock.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "services/first_offers/domain/offer.h"
#include "services/lead_acquisition/domain/lead.h"
#include "tests/bench/lead_data.h"

namespace sales::bench {
namespace {

namespace fo = first_offers;
namespace la = lead_acquisition;

// The benchmark builds events from requests it made valid itself: a refusal is a bug here.
template <typename T>
T OrDie(StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "sales_bench: building %s: %s\n", what, v.status().ToString().c_str());
    std::abort();
  }
  return std::move(*v);
}
void OrDie(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "sales_bench: building %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

events::v1::Money Eur(int64_t cents) {
  events::v1::Money m;
  m.set_units(cents);
  m.set_currency("EUR");
  return m;
}

}  // namespace

api::v1::UpsertProductRequest ProductRequest(const std::string& run) {
  api::v1::UpsertProductRequest r;
  r.set_idempotency_key(StrCat("bench-", run, "-product"));
  r.set_code(kBenchProduct);
  r.set_name("CRM Pro, annual licence per seat");
  *r.mutable_list_price() = Eur(199000);
  *r.mutable_unit_cost() = Eur(41000);
  return r;
}

api::v1::DraftOfferRequest DraftRequest(const std::string& run, int64_t i, const std::string& lead_id,
                                        absl::Time valid_until) {
  api::v1::DraftOfferRequest r;
  r.set_idempotency_key(StrCat("bench-", run, "-draft-", i));
  r.set_lead_id(lead_id);
  auto* terms = r.mutable_terms();
  terms->set_currency("EUR");
  auto* seats = terms->add_lines();
  seats->set_product_code(kBenchProduct);
  seats->set_quantity(25);
  seats->set_discount_bp(1250);
  auto* extra = terms->add_lines();
  extra->set_product_code(kBenchProduct);
  extra->set_quantity(5);
  *extra->mutable_unit_price() = Eur(149000);
  extra->set_description("CRM Pro, additional seats for the branch office");
  *terms->mutable_valid_until() = events::ToProto(valid_until);
  terms->set_payment_terms(events::v1::PAYMENT_TERMS_NET_30);
  terms->set_note("Prices include onboarding for up to 30 users.");
  return r;
}

OfferData::OfferData(std::string run, absl::Time start)
    : run_(std::move(run)),
      clock_(start),
      lead_events_("lead-acquisition", &clock_),
      offer_events_("first-offers", &clock_) {
  const api::v1::UpsertProductRequest r = ProductRequest(run_);
  product_event_ = offer_events_.New(fo::kProductAggregate, r.code(), 1, "", fo::kSchemaVersion, "UpsertProduct",
                                     r.idempotency_key(), command::HashWithoutKey(r), {"bench", "sales-bench"});
  *product_event_.mutable_product() = fo::DecideUpsertProduct(r);
  product_event_.set_event_type(fo::EventTypeOf(product_event_.product()));
  std::optional<store::v1::ProductState> product;
  OrDie(fo::EvolveProduct(product, product_event_), "the product");
  product_ = std::move(*product);
}

kafka::OutgoingMessage OfferData::Message(const std::string& topic, const events::v1::EventEnvelope& e) const {
  return {topic, e.aggregate_id(), events::Encode(e),
          {{"event_type", e.event_type()}, {"content-type", "application/x-protobuf"}}};
}

kafka::OutgoingMessage OfferData::ProductUpserted(const std::string& offers_topic) const {
  return Message(offers_topic, product_event_);
}

std::string OfferData::QualifiedLead(const std::string& leads_topic, int64_t i,
                                     std::vector<kafka::OutgoingMessage>* out) {
  // Captured as lead_data.cc builds it (what CaptureLead appends), then qualified as QualifyLead
  // decides it on that lead.
  std::vector<store::v1::ManagerState> managers;
  if (!manager_id_.empty()) {
    store::v1::ManagerState& m = managers.emplace_back();
    m.set_manager_id(manager_id_);
    m.set_active(true);
    m.add_regions(std::string(1, '*'));  // not the literal: g++ 12 warns falsely (-Wrestrict)
  }
  kafka::OutgoingMessage captured_message = CapturedMessage(leads_topic, CaptureRequest(run_, i), clock_, managers);
  const events::v1::EventEnvelope captured = OrDie(events::Decode(captured_message.value), "a captured lead");
  std::optional<la::Lead> lead;
  OrDie(la::EvolveLead(lead, captured), "a captured lead");
  api::v1::QualifyLeadRequest q;
  q.set_idempotency_key(StrCat("bench-", run_, "-qualify-", i));
  q.set_lead_id(lead->lead_id());
  q.set_need("CRM for 30 sales people in two offices");
  q.set_budget("50k EUR a year");
  q.set_timeline("this quarter");
  q.set_decision_maker("Head of sales");
  events::v1::LeadEvent event = OrDie(la::DecideQualify(*lead, q), "a qualification");
  events::v1::EventEnvelope qualified =
      lead_events_.New(la::kLeadAggregate, lead->lead_id(), lead->version() + 1, la::EventTypeOf(event),
                       la::kSchemaVersion, "QualifyLead", q.idempotency_key(), command::HashWithoutKey(q),
                       {StrCat("bench-", i), "sales-bench"});
  *qualified.mutable_lead() = std::move(event);

  lead_.reset();
  OrDie(fo::EvolveLeadView(lead_, captured).status(), "a lead view");
  OrDie(fo::EvolveLeadView(lead_, qualified).status(), "a lead view");
  lead_converted_ = false;
  out->push_back(std::move(captured_message));
  out->push_back(Message(leads_topic, qualified));
  return lead->lead_id();
}

int OfferData::Offer(const std::string& offers_topic, int64_t i, OfferEnd end,
                     std::vector<kafka::OutgoingMessage>* out) {
  const fo::ProductLookup products = [this](const std::string& code) -> StatusOr<std::optional<fo::ProductState>> {
    if (code != product_.code()) return std::optional<fo::ProductState>();
    return std::optional<fo::ProductState>(product_);
  };
  const command::Caller caller{StrCat("bench-", i), "sales-bench"};
  const api::v1::DraftOfferRequest draft = DraftRequest(run_, i, lead_->lead_id(), clock_.Now() + absl::Hours(24 * 30));
  const std::string id = fo::OfferIdFor(draft.idempotency_key());
  std::optional<fo::OfferState> offer;
  int count = 0;
  auto append = [&](fo::OfferEvent event, const char* command, const std::string& key, const std::string& hash) {
    events::v1::EventEnvelope e = offer_events_.New(fo::kOfferAggregate, id, offer ? offer->version() + 1 : 1,
                                                    fo::EventTypeOf(event), fo::kSchemaVersion, command, key, hash,
                                                    caller);
    *e.mutable_offer() = std::move(event);
    OrDie(fo::EvolveOffer(offer, e), "an offer");
    out->push_back(Message(offers_topic, e));
    ++count;
  };
  append(OrDie(fo::DecideDraft(lead_, draft, products), "a draft"), "DraftOffer", draft.idempotency_key(),
         command::HashWithoutKey(draft));
  if (end == OfferEnd::kWithdrawn) {
    api::v1::WithdrawOfferRequest withdraw;
    withdraw.set_idempotency_key(StrCat("bench-", run_, "-withdraw-", i));
    withdraw.set_offer_id(id);
    withdraw.set_expected_version(offer->version());
    withdraw.set_reason("The client asked for a different bundle.");
    append(OrDie(fo::DecideWithdraw(*offer, withdraw), "a withdrawal"), "WithdrawOffer", withdraw.idempotency_key(),
           command::HashWithoutKey(withdraw));
  }
  if (end == OfferEnd::kSent || end == OfferEnd::kAccepted || end == OfferEnd::kRejected) {
    api::v1::SendOfferRequest send;
    send.set_idempotency_key(StrCat("bench-", run_, "-send-", i));
    send.set_offer_id(id);
    send.set_expected_version(offer->version());
    append(OrDie(fo::DecideSend(*offer, clock_.Now()), "a send"), "SendOffer", send.idempotency_key(),
           command::HashWithoutKey(send));
  }
  if (end == OfferEnd::kRejected) {
    api::v1::RejectOfferRequest reject;
    reject.set_idempotency_key(StrCat("bench-", run_, "-reject-", i));
    reject.set_offer_id(id);
    reject.set_expected_version(offer->version());
    reject.set_reason(events::v1::REJECTION_REASON_PRICE);
    append(OrDie(fo::DecideReject(*offer, reject), "a rejection"), "RejectOffer", reject.idempotency_key(),
           command::HashWithoutKey(reject));
  }
  if (end == OfferEnd::kAccepted) {
    api::v1::AcceptOfferRequest accept;
    accept.set_idempotency_key(StrCat("bench-", run_, "-accept-", i));
    accept.set_offer_id(id);
    accept.set_expected_version(offer->version());
    accept.set_note("Signed order form received.");
    append(OrDie(fo::DecideAccept(*offer, accept, lead_converted_, clock_.Now()), "an acceptance"), "AcceptOffer",
           accept.idempotency_key(), command::HashWithoutKey(accept));
    lead_converted_ = true;
  }
  return count;
}

}  // namespace sales::bench
