#include "services/first_offers/api/grpc_service.h"

#include "common/grpc/call.h"

namespace sales::first_offers {

constexpr const char* kService = api::v1::FirstOffers::service_full_name();

template <typename Request>
::grpc::Status FirstOffersService::OfferCommand(::grpc::ServerContext* c, const char* method, const Request& r,
                                                api::v1::OfferCommandResponse* out) {
  return grpc_util::ObserveCall(c, kService, method, metrics_, [&](const Caller& caller) -> Status {
    ASSIGN_OR_RETURN(CommandResult result, commands_->Execute(r, caller));
    out->set_offer_id(result.aggregate_id);
    out->set_version(result.version);
    out->set_revision(result.revision);
    out->set_status(static_cast<api::v1::OfferStatus>(result.status));
    out->set_replayed(result.replayed);
    out->set_converts_lead(result.converts_lead);
    return absl::OkStatus();
  });
}

template <typename Request, typename Response, typename Query>
::grpc::Status FirstOffersService::Read(::grpc::ServerContext* c, const char* method, const Request& r,
                                        Response* out, Query query) {
  // A local, not `this` captured by [&]: under UBSan, GCC 12 reads a garbage `this` in this lambda
  // (a false "member access within null pointer" in every read; the normal build is unaffected).
  const OfferQueries* queries = queries_;
  return grpc_util::ObserveCall(c, kService, method, metrics_, [&](const Caller&) -> Status {
    ASSIGN_OR_RETURN(*out, (queries->*query)(r));
    return absl::OkStatus();
  });
}

::grpc::Status FirstOffersService::UpsertProduct(::grpc::ServerContext* c, const api::v1::UpsertProductRequest* r,
                                                 api::v1::ProductCommandResponse* out) {
  return grpc_util::ObserveCall(c, kService, "UpsertProduct", metrics_, [&](const Caller& caller) -> Status {
    ASSIGN_OR_RETURN(CommandResult result, commands_->Execute(*r, caller));
    out->set_code(result.aggregate_id);
    out->set_version(result.version);
    out->set_replayed(result.replayed);
    return absl::OkStatus();
  });
}

::grpc::Status FirstOffersService::DraftOffer(::grpc::ServerContext* c, const api::v1::DraftOfferRequest* r,
                                              api::v1::OfferCommandResponse* out) {
  return OfferCommand(c, "DraftOffer", *r, out);
}
::grpc::Status FirstOffersService::ReviseOffer(::grpc::ServerContext* c, const api::v1::ReviseOfferRequest* r,
                                               api::v1::OfferCommandResponse* out) {
  return OfferCommand(c, "ReviseOffer", *r, out);
}
::grpc::Status FirstOffersService::SendOffer(::grpc::ServerContext* c, const api::v1::SendOfferRequest* r,
                                             api::v1::OfferCommandResponse* out) {
  return OfferCommand(c, "SendOffer", *r, out);
}
::grpc::Status FirstOffersService::AcceptOffer(::grpc::ServerContext* c, const api::v1::AcceptOfferRequest* r,
                                               api::v1::OfferCommandResponse* out) {
  return OfferCommand(c, "AcceptOffer", *r, out);
}
::grpc::Status FirstOffersService::RejectOffer(::grpc::ServerContext* c, const api::v1::RejectOfferRequest* r,
                                               api::v1::OfferCommandResponse* out) {
  return OfferCommand(c, "RejectOffer", *r, out);
}
::grpc::Status FirstOffersService::WithdrawOffer(::grpc::ServerContext* c, const api::v1::WithdrawOfferRequest* r,
                                                 api::v1::OfferCommandResponse* out) {
  return OfferCommand(c, "WithdrawOffer", *r, out);
}

::grpc::Status FirstOffersService::ListProducts(::grpc::ServerContext* c, const api::v1::ListProductsRequest* r,
                                                api::v1::ListProductsResponse* out) {
  return Read(c, "ListProducts", *r, out, &OfferQueries::ListProducts);
}
::grpc::Status FirstOffersService::ListOpportunities(::grpc::ServerContext* c,
                                                     const api::v1::ListOpportunitiesRequest* r,
                                                     api::v1::ListOpportunitiesResponse* out) {
  return Read(c, "ListOpportunities", *r, out, &OfferQueries::ListOpportunities);
}
::grpc::Status FirstOffersService::GetOpportunity(::grpc::ServerContext* c, const api::v1::GetOpportunityRequest* r,
                                                  api::v1::Opportunity* out) {
  return Read(c, "GetOpportunity", *r, out, &OfferQueries::GetOpportunity);
}
::grpc::Status FirstOffersService::GetOffer(::grpc::ServerContext* c, const api::v1::GetOfferRequest* r,
                                            api::v1::Offer* out) {
  return Read(c, "GetOffer", *r, out, &OfferQueries::GetOffer);
}
::grpc::Status FirstOffersService::ListOffers(::grpc::ServerContext* c, const api::v1::ListOffersRequest* r,
                                              api::v1::ListOffersResponse* out) {
  return Read(c, "ListOffers", *r, out, &OfferQueries::ListOffers);
}
::grpc::Status FirstOffersService::GetOfferHistory(::grpc::ServerContext* c,
                                                   const api::v1::GetOfferHistoryRequest* r,
                                                   api::v1::GetOfferHistoryResponse* out) {
  return Read(c, "GetOfferHistory", *r, out, &OfferQueries::GetOfferHistory);
}

}  // namespace sales::first_offers
