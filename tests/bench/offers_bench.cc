#include "tests/bench/offers_bench.h"

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "common/base/strings.h"
#include "sales/api/v1/first_offers.grpc.pb.h"
#include "tests/bench/offer_data.h"

namespace sales::bench {
namespace {

using api::v1::FirstOffers;
using api::v1::OfferCommandResponse;

// One DraftOffer or SendOffer in flight on a completion queue; the queue's tag is the call itself.
struct OfferCall {
  ::grpc::ClientContext context;
  OfferCommandResponse response;
  ::grpc::Status status;
  absl::Time scheduled;  // of the pair
  int64_t pair = 0;
  bool send = false;
  std::unique_ptr<::grpc::ClientAsyncResponseReader<OfferCommandResponse>> reader;
};

std::unique_ptr<OfferCall> NewCall(absl::Time scheduled, int64_t pair, bool send) {
  auto call = std::make_unique<OfferCall>();
  call->scheduled = scheduled;
  call->pair = pair;
  call->send = send;
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  call->context.AddMetadata("x-actor", "sales-bench");
  return call;
}

void Start(std::unique_ptr<OfferCall> call) {
  call->reader->StartCall();
  OfferCall* tag = call.release();  // owned by the completion queue until Next() returns it
  tag->reader->Finish(&tag->response, &tag->status, tag);
}

::grpc::ClientContext* WithDeadline(::grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  context->AddMetadata("x-actor", "sales-bench");
  return context;
}

}  // namespace

Status UpsertBenchProduct(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run) {
  auto stub = FirstOffers::NewStub(channel);
  ::grpc::ClientContext context;
  api::v1::ProductCommandResponse response;
  ::grpc::Status s = stub->UpsertProduct(WithDeadline(&context), ProductRequest(run), &response);
  if (!s.ok()) return absl::UnavailableError(StrCat("UpsertProduct: ", s.error_message()));
  return absl::OkStatus();
}

Status WaitForOpportunity(const std::shared_ptr<::grpc::Channel>& channel, const std::string& lead_id,
                          absl::Duration timeout) {
  auto stub = FirstOffers::NewStub(channel);
  api::v1::GetOpportunityRequest request;
  request.set_lead_id(lead_id);
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no answer";
  while (absl::Now() < deadline) {
    ::grpc::ClientContext context;
    api::v1::Opportunity opportunity;
    ::grpc::Status s = stub->GetOpportunity(WithDeadline(&context), request, &opportunity);
    if (s.ok() && opportunity.status() == api::v1::OPPORTUNITY_STATUS_OPEN) return absl::OkStatus();
    last = s.ok() ? StrCat("status ", api::v1::OpportunityStatus_Name(opportunity.status())) : s.error_message();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(StrCat("lead ", lead_id, " is not an open opportunity after ",
                                            absl::FormatDuration(timeout), ": ", last));
}

StatusOr<LatencySummary> DraftSendOpenLoop(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run,
                                           const std::vector<std::string>& lead_ids, int rate_per_s,
                                           absl::Duration duration) {
  auto stub = FirstOffers::NewStub(channel);
  const int64_t n = static_cast<int64_t>(absl::ToDoubleSeconds(duration) * rate_per_s);
  if (static_cast<int64_t>(lead_ids.size()) < n) {
    return absl::InvalidArgumentError(StrCat(n, " pairs need as many leads; ", lead_ids.size(), " given"));
  }
  const absl::Time valid_until = absl::Now() + absl::Hours(24 * 30);
  std::vector<api::v1::DraftOfferRequest> drafts;
  drafts.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) drafts.push_back(DraftRequest(run, i, lead_ids[static_cast<size_t>(i)], valid_until));

  ::grpc::CompletionQueue cq;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(static_cast<size_t>(n));
  CallCounts pairs;
  // The completion thread issues each pair's SendOffer and ends once every pair has finished
  // (a failed draft finishes its pair), so that no call is started after cq.Shutdown().
  std::thread completions([&] {
    int64_t finished = 0;
    void* tag;
    bool ok;
    while (finished < n && cq.Next(&tag, &ok)) {
      std::unique_ptr<OfferCall> call(static_cast<OfferCall*>(tag));
      const absl::Time done = absl::Now();
      if (!call->send && ok && call->status.ok()) {
        api::v1::SendOfferRequest send;
        send.set_idempotency_key(StrCat("bench-", run, "-send-", call->pair));
        send.set_offer_id(call->response.offer_id());
        send.set_expected_version(call->response.version());
        auto next = NewCall(call->scheduled, call->pair, true);
        next->reader = stub->PrepareAsyncSendOffer(&next->context, send, &cq);
        Start(std::move(next));
        continue;
      }
      Count(&pairs, ok, call->status);
      if (call->send && ok && call->status.ok()) latencies_ms.push_back(absl::ToDoubleMilliseconds(done - call->scheduled));
      ++finished;
    }
  });
  const absl::Duration interval = absl::Seconds(1) / rate_per_s;
  const absl::Time start = absl::Now() + absl::Milliseconds(5);
  for (int64_t i = 0; i < n; ++i) {
    const absl::Time scheduled = start + interval * i;
    const absl::Duration wait = scheduled - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    auto call = NewCall(scheduled, i, false);
    call->reader = stub->PrepareAsyncDraftOffer(&call->context, drafts[static_cast<size_t>(i)], &cq);
    Start(std::move(call));
  }
  completions.join();
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) delete static_cast<OfferCall*>(tag);
  if (pairs.ok == 0) return absl::UnavailableError(StrCat("no DraftOffer + SendOffer pair succeeded: ", pairs.first_error));
  return Summarise(latencies_ms, std::move(pairs));
}

}  // namespace sales::bench
