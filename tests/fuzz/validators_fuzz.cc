// The gRPC request validators of every command: the first byte picks the request type, the rest
// is parsed as that message (any bytes protobuf accepts: strings that are not UTF-8 where the
// wire allows it, huge numbers, missing and repeated fields), then validated. The answer is OK
// or INVALID_ARGUMENT; anything else, or a crash, is a bug.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/time/time.h"
#include "services/client_support/domain/client.h"
#include "services/first_offers/domain/offer.h"
#include "services/lead_acquisition/domain/lead.h"
#include "services/reporting/domain/plan.h"

namespace {

using Check = std::function<sales::Status(const uint8_t*, size_t)>;

template <typename Request, typename Validate>
Check Of(Validate validate) {
  return [validate](const uint8_t* data, size_t size) -> sales::Status {
    Request r;
    if (!r.ParseFromArray(data, static_cast<int>(size))) return absl::OkStatus();  // gRPC refuses it first
    return validate(r);
  };
}

const absl::Time kNow = absl::FromUnixSeconds(1795000000);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace api = sales::api::v1;
  namespace la = sales::lead_acquisition;
  namespace fo = sales::first_offers;
  namespace cs = sales::client_support;
  namespace rp = sales::reporting;
  static const std::vector<Check> checks = {
      Of<api::CaptureLeadRequest>([](const auto& r) { return la::ValidateCapture(r); }),
      Of<api::QualifyLeadRequest>([](const auto& r) { return la::ValidateQualify(r); }),
      Of<api::DisqualifyLeadRequest>([](const auto& r) { return la::ValidateDisqualify(r); }),
      Of<api::AssignLeadRequest>([](const auto& r) { return la::ValidateAssign(r); }),
      Of<api::LogLeadActivityRequest>([](const auto& r) { return la::ValidateLogActivity(r, kNow); }),
      Of<api::RegisterManagerRequest>([](const auto& r) { return la::ValidateRegisterManager(r); }),
      Of<api::DeactivateManagerRequest>([](const auto& r) { return la::ValidateDeactivateManager(r); }),
      Of<api::SetManagerExtensionRequest>([](const auto& r) { return la::ValidateSetManagerExtension(r); }),
      Of<api::MergeLeadsRequest>([](const auto& r) { return la::ValidateMerge(r); }),
      Of<api::UpsertProductRequest>([](const auto& r) { return fo::ValidateUpsertProduct(r); }),
      Of<api::DraftOfferRequest>([](const auto& r) { return fo::ValidateDraft(r, kNow); }),
      Of<api::ReviseOfferRequest>([](const auto& r) { return fo::ValidateRevise(r, kNow); }),
      Of<api::SendOfferRequest>([](const auto& r) { return fo::ValidateSend(r); }),
      Of<api::AcceptOfferRequest>([](const auto& r) { return fo::ValidateAccept(r); }),
      Of<api::RejectOfferRequest>([](const auto& r) { return fo::ValidateReject(r); }),
      Of<api::WithdrawOfferRequest>([](const auto& r) { return fo::ValidateWithdraw(r); }),
      Of<api::LogInteractionRequest>([](const auto& r) { return cs::ValidateLogInteraction(r, kNow); }),
      Of<api::OpenTicketRequest>([](const auto& r) { return cs::ValidateOpenTicket(r, kNow); }),
      Of<api::TicketCommandRequest>([](const auto& r) { return cs::ValidateTicketCommand(r, "ResolveTicket", kNow); }),
      Of<api::RecordOrderRequest>([](const auto& r) { return cs::ValidateRecordOrder(r, kNow); }),
      Of<api::RecordRenewalRequest>([](const auto& r) { return cs::ValidateRecordRenewal(r, kNow); }),
      Of<api::ChurnClientRequest>([](const auto& r) { return cs::ValidateChurn(r, kNow); }),
      Of<api::ReactivateClientRequest>([](const auto& r) { return cs::ValidateReactivate(r, kNow); }),
      Of<api::SetTargetRequest>([](const auto& r) { return rp::ValidateSetTarget(r, "EUR"); }),
      Of<api::SetExchangeRateRequest>([](const auto& r) { return rp::ValidateSetExchangeRate(r, "EUR"); }),
  };
  if (size == 0) return 0;
  const sales::Status s = checks[data[0] % checks.size()](data + 1, size - 1);
  if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument) __builtin_trap();
  return 0;
}
