// gRPC handlers of the first offers API: they only translate protos and statuses; decisions live
// in OfferCommands and the aggregate, reads in OfferQueries.
#pragma once

#include "common/observability/metrics.h"
#include "sales/api/v1/first_offers.grpc.pb.h"
#include "services/first_offers/api/offer_queries.h"
#include "services/first_offers/commands/offer_commands.h"

namespace sales::first_offers {

class FirstOffersService final : public api::v1::FirstOffers::Service {
 public:
  // Pointers must outlive the service.
  FirstOffersService(OfferCommands* commands, const OfferQueries* queries, MetricsRegistry* metrics)
      : commands_(commands), queries_(queries), metrics_(metrics) {}

  ::grpc::Status UpsertProduct(::grpc::ServerContext* c, const api::v1::UpsertProductRequest* r,
                               api::v1::ProductCommandResponse* out) override;
  ::grpc::Status ListProducts(::grpc::ServerContext* c, const api::v1::ListProductsRequest* r,
                              api::v1::ListProductsResponse* out) override;
  ::grpc::Status ListOpportunities(::grpc::ServerContext* c, const api::v1::ListOpportunitiesRequest* r,
                                   api::v1::ListOpportunitiesResponse* out) override;
  ::grpc::Status GetOpportunity(::grpc::ServerContext* c, const api::v1::GetOpportunityRequest* r,
                                api::v1::Opportunity* out) override;
  ::grpc::Status DraftOffer(::grpc::ServerContext* c, const api::v1::DraftOfferRequest* r,
                            api::v1::OfferCommandResponse* out) override;
  ::grpc::Status ReviseOffer(::grpc::ServerContext* c, const api::v1::ReviseOfferRequest* r,
                             api::v1::OfferCommandResponse* out) override;
  ::grpc::Status SendOffer(::grpc::ServerContext* c, const api::v1::SendOfferRequest* r,
                           api::v1::OfferCommandResponse* out) override;
  ::grpc::Status AcceptOffer(::grpc::ServerContext* c, const api::v1::AcceptOfferRequest* r,
                             api::v1::OfferCommandResponse* out) override;
  ::grpc::Status RejectOffer(::grpc::ServerContext* c, const api::v1::RejectOfferRequest* r,
                             api::v1::OfferCommandResponse* out) override;
  ::grpc::Status WithdrawOffer(::grpc::ServerContext* c, const api::v1::WithdrawOfferRequest* r,
                               api::v1::OfferCommandResponse* out) override;
  ::grpc::Status GetOffer(::grpc::ServerContext* c, const api::v1::GetOfferRequest* r, api::v1::Offer* out) override;
  ::grpc::Status ListOffers(::grpc::ServerContext* c, const api::v1::ListOffersRequest* r,
                            api::v1::ListOffersResponse* out) override;
  ::grpc::Status GetOfferHistory(::grpc::ServerContext* c, const api::v1::GetOfferHistoryRequest* r,
                                 api::v1::GetOfferHistoryResponse* out) override;

 private:
  template <typename Request>
  ::grpc::Status OfferCommand(::grpc::ServerContext* c, const char* method, const Request& r,
                              api::v1::OfferCommandResponse* out);
  template <typename Request, typename Response, typename Query>
  ::grpc::Status Read(::grpc::ServerContext* c, const char* method, const Request& r, Response* out, Query query);

  OfferCommands* commands_;
  const OfferQueries* queries_;
  MetricsRegistry* metrics_;
};

}  // namespace sales::first_offers
