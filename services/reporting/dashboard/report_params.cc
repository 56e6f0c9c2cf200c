#include "services/reporting/dashboard/report_params.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"

namespace sales::reporting::dashboard {
namespace {

using api::v1::ReportRequest;

const std::vector<std::string> kCommon = {"name",    "period",  "metric", "by",     "dynamics", "as_of",
                                          "manager", "region",  "product", "client", "source"};

// A word ("offers-sent", "manager") or the enum's name, as salesctl reads its flags.
template <typename Enum>
StatusOr<Enum> Choice(const std::string& param, const std::string& value, const std::string& enum_prefix,
                      bool (*parse)(const std::string&, Enum*), const std::string& choices) {
  Enum e;
  std::string name = absl::AsciiStrToUpper(absl::StrReplaceAll(value, {{"-", "_"}}));
  if (name.rfind(enum_prefix, 0) != 0) name = enum_prefix + name;
  if (parse(name, &e) && name != enum_prefix + "UNSPECIFIED") return e;
  return InvalidField(param, StrCat("\"", value, "\" is not one of: ", choices));
}

// The fields every report request has.
template <typename Request>
Status SetCommon(const HttpRequest& q, Request* r) {
  r->set_period(q.Param("period"));
  if (const std::string d = q.Param("dynamics"); !d.empty()) {
    ASSIGN_OR_RETURN(api::v1::Bucket b,
                     Choice<api::v1::Bucket>("dynamics", d, "BUCKET_", api::v1::Bucket_Parse, "day, week, month"));
    r->set_dynamics(b);
  }
  if (const std::string a = q.Param("as_of"); !a.empty()) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, a, &t, &err)) {
      return InvalidField("as_of", StrCat("\"", a, "\" is not an RFC 3339 time such as 2026-11-27T10:00:00Z"));
    }
    r->mutable_as_of()->set_seconds(absl::ToUnixSeconds(t));
    r->mutable_as_of()->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(absl::ToUnixSeconds(t))) /
                                                       absl::Nanoseconds(1)));
  }
  api::v1::ReportFilters* f = r->mutable_filters();
  f->set_manager_id(q.Param("manager"));
  f->set_region(q.Param("region"));
  f->set_product_code(q.Param("product"));
  f->set_client_id(q.Param("client"));
  f->set_source(q.Param("source"));
  constexpr char kDimensions[] = "company, manager, region, product, client, source";
  if constexpr (requires { r->set_by(events::v1::PLAN_DIMENSION_COMPANY); }) {
    ASSIGN_OR_RETURN(events::v1::PlanDimension by,
                     Choice<events::v1::PlanDimension>("by", q.Param("by", "company"), "PLAN_DIMENSION_",
                                                       events::v1::PlanDimension_Parse, kDimensions));
    r->set_by(by);
  } else if (!q.Param("by").empty()) {
    return InvalidField("by", StrCat("the report ", q.Param("name"), " is not broken down by a dimension"));
  }
  if constexpr (requires { r->set_metric(events::v1::PLAN_METRIC_REVENUE); }) {
    ASSIGN_OR_RETURN(events::v1::PlanMetric metric,
                     Choice<events::v1::PlanMetric>("metric", q.Param("metric", "revenue"), "PLAN_METRIC_",
                                                    events::v1::PlanMetric_Parse,
                                                    "revenue, margin, new-clients, offers-sent, calls, meetings"));
    r->set_metric(metric);
  } else if (!q.Param("metric").empty()) {
    return InvalidField("metric", "only plan-vs-actual takes a metric");
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& ReportNames() {
  static const std::vector<std::string> names = {"plan-vs-actual", "funnel",        "cycle-times",   "lost-reasons",
                                                 "scorecards",     "products",      "client-revenue", "concentration",
                                                 "inbound-calls",  "pipeline"};
  return names;
}

StatusOr<ReportRequest> ReportRequestFromParams(const HttpRequest& q, const std::vector<std::string>& extra) {
  for (const auto& [name, value] : q.params) {
    if (std::find(kCommon.begin(), kCommon.end(), name) == kCommon.end() &&
        std::find(extra.begin(), extra.end(), name) == extra.end()) {
      std::vector<std::string> known = kCommon;
      known.insert(known.end(), extra.begin(), extra.end());
      return InvalidField(name, StrCat("unknown parameter; the parameters are ", absl::StrJoin(known, ", ")));
    }
  }
  const std::string name = q.Param("name");
  ReportRequest out;
  Status s;
  if (name == "plan-vs-actual") {
    s = SetCommon(q, out.mutable_plan_vs_actual());
  } else if (name == "funnel") {
    s = SetCommon(q, out.mutable_funnel());
  } else if (name == "cycle-times") {
    s = SetCommon(q, out.mutable_cycle_times());
  } else if (name == "lost-reasons") {
    s = SetCommon(q, out.mutable_lost_reasons());
  } else if (name == "scorecards") {
    s = SetCommon(q, out.mutable_scorecards());
  } else if (name == "products") {
    s = SetCommon(q, out.mutable_products());
  } else if (name == "client-revenue") {
    s = SetCommon(q, out.mutable_client_revenue());
  } else if (name == "concentration") {
    s = SetCommon(q, out.mutable_concentration());
  } else if (name == "inbound-calls") {
    s = SetCommon(q, out.mutable_inbound_calls());
  } else if (name == "pipeline") {
    s = SetCommon(q, out.mutable_pipeline());
  } else {
    return InvalidField("name", StrCat(name.empty() ? "required" : StrCat("\"", name, "\" is not a report"),
                                       "; the reports are ", absl::StrJoin(ReportNames(), ", ")));
  }
  RETURN_IF_ERROR(s);
  return out;
}

std::string ParamName(std::string_view field) {
  std::string name(field);
  // "plan_vs_actual.filters.region" -> "filters.region": the report's case is the `name`.
  for (const char* c : {"plan_vs_actual.", "funnel.", "cycle_times.", "lost_reasons.", "scorecards.", "products.",
                        "client_revenue.", "concentration.", "inbound_calls.", "pipeline."}) {
    if (absl::StartsWith(name, c)) {
      name = name.substr(std::string_view(c).size());
      break;
    }
  }
  static const std::vector<std::pair<std::string, std::string>> kFilters = {{"filters.manager_id", "manager"},
                                                                            {"filters.region", "region"},
                                                                            {"filters.product_code", "product"},
                                                                            {"filters.client_id", "client"},
                                                                            {"filters.source", "source"}};
  for (const auto& [f, param] : kFilters) {
    if (name == f) return param;
  }
  return name;
}

std::vector<FieldViolation> ParamViolations(const Status& status) {
  std::vector<FieldViolation> violations = FieldViolations(status);
  if (violations.empty()) return {{"request", std::string(status.message())}};
  for (FieldViolation& v : violations) v.field = ParamName(v.field);
  return violations;
}

}  // namespace sales::reporting::dashboard
