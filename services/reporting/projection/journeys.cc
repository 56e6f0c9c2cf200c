#include "services/reporting/projection/journeys.h"

#include <algorithm>
#include <set>

#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using events::v1::ClientEvent;
using events::v1::LeadEvent;
using events::v1::OfferEvent;
using google::protobuf::Timestamp;
using store::v1::JourneyOffer;
using store::v1::LeadJourney;
using store::v1::Stamp;

bool IsSet(const Timestamp& t) { return t.seconds() != 0 || t.nanos() != 0; }

// `at` (the event's occurred-at when unset) and the event's recorded-at.
Stamp StampOf(const EventEnvelope& event, const Timestamp& at) {
  Stamp s;
  *s.mutable_at() = IsSet(at) ? at : event.occurred_at();
  *s.mutable_recorded_at() = event.recorded_at();
  return s;
}

// Stages are set once: the first event that reaches a stage is the one that counts.
void SetOnce(Stamp* stamp, const Stamp& value) {
  if (!stamp->has_at()) *stamp = value;
}

Fact NewFact(Fact::Kind kind, const EventEnvelope& event, const Timestamp& occurred_at) {
  Fact f;
  f.set_kind(kind);
  *f.mutable_occurred_at() = IsSet(occurred_at) ? occurred_at : event.occurred_at();
  *f.mutable_recorded_at() = event.recorded_at();
  f.set_event_id(event.event_id());
  return f;
}

Fact WorkFact(const EventEnvelope& event, store::v1::WorkType work, const Timestamp& at, int64_t seconds,
              const std::string& manager_id) {
  Fact f = NewFact(Fact::KIND_WORK, event, at);
  f.set_work(work);
  f.set_duration_seconds(std::max<int64_t>(seconds, 0));
  f.set_manager_id(manager_id);
  return f;
}

StatusOr<LeadJourney> LoadJourney(const Batch& batch, const std::string& lead_id) {
  ASSIGN_OR_RETURN(std::optional<LeadJourney> journey, LoadRow<LeadJourney>(batch, kJourneysFamily, lead_id));
  if (!journey) {
    journey.emplace();
    journey->set_lead_id(lead_id);
  }
  return *journey;
}

google::protobuf::RepeatedField<int64_t>* CycleList(store::v1::CycleCell& cell, int cycle) {
  switch (cycle) {
    case kCapturedToQualified:
      return cell.mutable_captured_to_qualified();
    case kQualifiedToFirstOffer:
      return cell.mutable_qualified_to_first_offer();
    case kSentToAccepted:
      return cell.mutable_sent_to_accepted();
    default:
      return cell.mutable_captured_to_won();
  }
}

// The field of store.v1.CycleCell that holds cycle `c`.
int CycleField(int cycle) {
  switch (cycle) {
    case kCapturedToQualified:
      return store::v1::CycleCell::kCapturedToQualifiedFieldNumber;
    case kQualifiedToFirstOffer:
      return store::v1::CycleCell::kQualifiedToFirstOfferFieldNumber;
    case kSentToAccepted:
      return store::v1::CycleCell::kSentToAcceptedFieldNumber;
    default:
      return store::v1::CycleCell::kCapturedToWonFieldNumber;
  }
}

std::string EncodeCycleCell(const CycleSamples& samples) {
  store::v1::CycleCell cell;
  for (int c = 0; c < kCycles; ++c) CycleList(cell, c)->Add(samples[c].begin(), samples[c].end());
  return cell.SerializeAsString();
}

// The keys whose value differs between `a` and `b` (present in one only included).
template <typename Value>
std::set<std::string> ChangedKeys(const std::map<std::string, Value>& a, const std::map<std::string, Value>& b) {
  std::set<std::string> changed;
  for (const auto* one : {&a, &b}) {
    const auto& other = one == &a ? b : a;
    for (const auto& [key, value] : *one) {
      if (auto it = other.find(key); it == other.end() || it->second != value) changed.insert(key);
    }
  }
  return changed;
}

// What a row's list loses and gains when `old` becomes `now` (multisets: equal values cancel).
void ListChange(std::vector<int64_t> old, std::vector<int64_t> now, int field, TallyChange& change) {
  std::sort(old.begin(), old.end());
  std::sort(now.begin(), now.end());
  std::vector<int64_t> out, in;
  std::set_difference(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(out));
  std::set_difference(now.begin(), now.end(), old.begin(), old.end(), std::back_inserter(in));
  if (!out.empty()) change.out[field] = std::move(out);
  if (!in.empty()) change.in[field] = std::move(in);
}

// The cycle cells whose samples the journey's change changes: its previous samples out, its new
// ones in, as a tally change (a merge: a day's cell is not read and rewritten per event, which
// cost each event the length of the day's lists). The store keeps each list ascending, so that
// the row is the same whatever order the journeys changed in.
void UpdateCycleCells(Batch& batch, const LeadJourney& before, const LeadJourney& journey, absl::TimeZone tz) {
  std::map<std::string, CycleSamples> now = CycleCellsOf(journey, absl::InfiniteFuture(), tz);
  std::map<std::string, CycleSamples> old = CycleCellsOf(before, absl::InfiniteFuture(), tz);
  for (const std::string& key : ChangedKeys(now, old)) {
    TallyChange change;
    for (int c = 0; c < kCycles; ++c) ListChange(old[key][c], now[key][c], CycleField(c), change);
    batch.ChangeTally(kCycleCellsFamily, key, change);
  }
}

std::string EncodeAssignmentCell(const AssignmentSums& sums) {
  store::v1::AssignmentCell cell;
  cell.set_assigned(sums.assigned);
  cell.set_unanswered(sums.unanswered);
  cell.mutable_response_seconds()->Add(sums.response_seconds.begin(), sums.response_seconds.end());
  return cell.SerializeAsString();
}

// The same for the assignment cells.
void UpdateAssignmentCells(Batch& batch, const LeadJourney& before, const LeadJourney& journey, absl::TimeZone tz) {
  std::map<std::string, AssignmentSums> now = AssignmentCellsOf(journey, absl::InfiniteFuture(), tz);
  std::map<std::string, AssignmentSums> old = AssignmentCellsOf(before, absl::InfiniteFuture(), tz);
  for (const std::string& key : ChangedKeys(now, old)) {
    const AssignmentSums& out = old[key];
    const AssignmentSums& in = now[key];
    TallyChange change;
    if (in.assigned != out.assigned) {
      change.add[store::v1::AssignmentCell::kAssignedFieldNumber] = in.assigned - out.assigned;
    }
    if (in.unanswered != out.unanswered) {
      change.add[store::v1::AssignmentCell::kUnansweredFieldNumber] = in.unanswered - out.unanswered;
    }
    ListChange(out.response_seconds, in.response_seconds, store::v1::AssignmentCell::kResponseSecondsFieldNumber,
               change);
    batch.ChangeTally(kAssignmentCellsFamily, key, change);
  }
}

bool SameStamp(const Stamp& a, const Stamp& b) {
  return a.has_at() == b.has_at() && a.has_recorded_at() == b.has_recorded_at() &&
         events::FromProto(a.at()) == events::FromProto(b.at()) &&
         events::FromProto(a.recorded_at()) == events::FromProto(b.recorded_at());
}

bool SameAssignments(const LeadJourney& a, const LeadJourney& b) {
  if (a.assignments_size() != b.assignments_size()) return false;
  for (int i = 0; i < a.assignments_size(); ++i) {
    const auto &x = a.assignments(i), &y = b.assignments(i);
    if (x.manager_id() != y.manager_id() || !SameStamp(x.assigned(), y.assigned()) ||
        !SameStamp(x.first_response(), y.first_response())) {
      return false;
    }
  }
  return true;
}

// The journey's row, its funnel cells (the new contribution minus the one of `before`) and its
// place in the recorded-at index under the event's recorded-at.
Status PutJourney(Batch& batch, const LeadJourney& before, const LeadJourney& journey, const EventEnvelope& event,
                  absl::TimeZone tz) {
  batch.Put(kJourneysFamily, journey.lead_id(), journey.SerializeAsString());
  // Most events (an offer's revision, an activity after the first response) change none of what
  // the cells count: the stages, the keys and the assignments. Then the cells stay as they are.
  const bool same_keys = before.region() == journey.region() && before.source() == journey.source() &&
                         std::equal(before.products().begin(), before.products().end(), journey.products().begin(),
                                    journey.products().end());
  const std::optional<LeadStages> was = StagesAsOf(before, absl::InfiniteFuture());
  const std::optional<LeadStages> is = StagesAsOf(journey, absl::InfiniteFuture());
  if (!same_keys || was != is || before.disqualification_reason() != journey.disqualification_reason()) {
    UpdateCycleCells(batch, before, journey, tz);
    AddDifference(batch, kFunnelCellsFamily, FunnelCellsOf(journey, absl::InfiniteFuture(), tz),
                  FunnelCellsOf(before, absl::InfiniteFuture(), tz), kFunnelSums);
    AddDifference(batch, kLostCellsFamily, LostCellsOf(journey, absl::InfiniteFuture(), tz),
                  LostCellsOf(before, absl::InfiniteFuture(), tz), kLostReasons);
  }
  if (!same_keys || was.has_value() != is.has_value() || !SameAssignments(before, journey)) {
    UpdateAssignmentCells(batch, before, journey, tz);
  }
  batch.Put(kJourneysByRecordedFamily,
            EncodeInt64(absl::ToUnixNanos(events::FromProto(event.recorded_at()))) + journey.lead_id(), "");
  return absl::OkStatus();
}

// The first activity of the lead's current owner after the assignment is its first response.
void NoteActivity(LeadJourney& journey, const events::v1::LeadActivityLogged& a, const Stamp& at) {
  if (journey.assignments().empty()) return;
  auto* current = journey.mutable_assignments(journey.assignments_size() - 1);
  if (current->manager_id() == a.manager_id()) SetOnce(current->mutable_first_response(), at);
}

void AddAssignment(LeadJourney& journey, const std::string& manager_id, const Stamp& at) {
  if (manager_id.empty()) return;  // nobody covers the region: no one to measure
  auto* a = journey.add_assignments();
  a->set_manager_id(manager_id);
  *a->mutable_assigned() = at;
}

store::v1::WorkType WorkOf(events::v1::ActivityType type) {
  switch (type) {
    case events::v1::ACTIVITY_TYPE_CALL: return store::v1::WORK_TYPE_CALL;
    case events::v1::ACTIVITY_TYPE_MEETING: return store::v1::WORK_TYPE_MEETING;
    case events::v1::ACTIVITY_TYPE_EMAIL: return store::v1::WORK_TYPE_EMAIL;
    default: return store::v1::WORK_TYPE_UNSPECIFIED;
  }
}

store::v1::WorkType WorkOf(events::v1::InteractionKind kind) {
  switch (kind) {
    case events::v1::INTERACTION_KIND_CALL: return store::v1::WORK_TYPE_CALL;
    case events::v1::INTERACTION_KIND_MEETING:
    case events::v1::INTERACTION_KIND_VISIT: return store::v1::WORK_TYPE_MEETING;
    case events::v1::INTERACTION_KIND_EMAIL: return store::v1::WORK_TYPE_EMAIL;
    default: return store::v1::WORK_TYPE_UNSPECIFIED;
  }
}

// The offer's entry in its lead's journey, created in offer id order.
JourneyOffer* EntryOf(LeadJourney& journey, const std::string& offer_id) {
  auto* offers = journey.mutable_offers();
  auto it = std::lower_bound(offers->begin(), offers->end(), offer_id,
                             [](const JourneyOffer& o, const std::string& id) { return o.offer_id() < id; });
  if (it != offers->end() && it->offer_id() == offer_id) return &*it;
  const int at = static_cast<int>(it - offers->begin());
  offers->Add()->set_offer_id(offer_id);
  for (int i = offers->size() - 1; i > at; --i) offers->SwapElements(i, i - 1);
  return offers->Mutable(at);
}

Fact OfferOutcome(Fact::Kind kind, const EventEnvelope& event, const events::v1::LeadFacts& lead) {
  Fact f = NewFact(kind, event, event.occurred_at());
  f.set_manager_id(lead.owner_manager_id());
  f.set_region(lead.region());
  f.set_source(lead.source());
  f.set_client_id(lead.lead_id());
  f.set_client_label(lead.contact().company().empty() ? lead.contact().name() : lead.contact().company());
  return f;
}

Status PutRejection(const EventEnvelope& event, const store::v1::OfferAttribution& offer, const PutFactFn& put_fact) {
  const auto& r = event.offer().rejected();
  Fact f = OfferOutcome(Fact::KIND_OFFER_REJECTED, event, offer.lead());
  f.set_reason(events::v1::RejectionReason_Name(r.reason()));
  for (const auto& terms : offer.revisions()) {
    if (terms.revision() != r.revision()) continue;
    for (const auto& line : terms.lines()) {
      if (std::find(f.products().begin(), f.products().end(), line.product_code()) == f.products().end()) {
        f.add_products(line.product_code());
      }
    }
  }
  return put_fact(f);
}

}  // namespace

namespace {

void TakeEarliest(std::optional<absl::Time>& earliest, absl::Time t) {
  if (!earliest || t < *earliest) earliest = t;
}

// Lost through its offers: at least one offer known, and every one closed without acceptance (the
// time the last one closed); nullopt while one is open.
std::optional<absl::Time> LostThroughOffers(const LeadJourney& journey, absl::Time as_of) {
  std::optional<absl::Time> last_closed;
  for (const auto& o : journey.offers()) {
    if (!Known(o.drafted(), as_of) && !Known(o.first_sent(), as_of) && !Known(o.closed(), as_of)) continue;
    if (!Known(o.closed(), as_of)) return std::nullopt;
    const absl::Time closed = events::FromProto(o.closed().at());
    if (!last_closed || closed > *last_closed) last_closed = closed;
  }
  return last_closed;
}

}  // namespace

bool Known(const store::v1::Stamp& stamp, absl::Time as_of) {
  return stamp.has_at() && events::FromProto(stamp.recorded_at()) <= as_of;
}

std::optional<LeadStages> StagesAsOf(const LeadJourney& journey, absl::Time as_of) {
  if (!journey.merged_into().empty() || !Known(journey.captured(), as_of)) return std::nullopt;
  LeadStages s;
  s.captured = events::FromProto(journey.captured().at());
  if (Known(journey.qualified(), as_of)) s.qualified = events::FromProto(journey.qualified().at());
  if (Known(journey.disqualified(), as_of)) s.disqualified = events::FromProto(journey.disqualified().at());
  for (const auto& a : journey.assignments()) {
    if (Known(a.assigned(), as_of)) s.owner = a.manager_id();
  }
  for (const auto& o : journey.offers()) {
    if (Known(o.first_sent(), as_of)) TakeEarliest(s.first_offer, events::FromProto(o.first_sent().at()));
    if (!Known(o.accepted(), as_of)) continue;
    const absl::Time accepted = events::FromProto(o.accepted().at());
    if (s.won && *s.won <= accepted) continue;
    s.won = accepted;
    s.won_offer_sent.reset();
    if (Known(o.first_sent(), as_of)) s.won_offer_sent = events::FromProto(o.first_sent().at());
  }
  if (!s.won) s.lost = s.disqualified ? s.disqualified : LostThroughOffers(journey, as_of);
  return s;
}

std::vector<std::string> JourneyKeysBy(const LeadJourney& journey, const LeadStages& stages,
                                       events::v1::PlanDimension by) {
  switch (by) {
    case events::v1::PLAN_DIMENSION_SOURCE: return {events::v1::LeadSource_Name(journey.source())};
    case events::v1::PLAN_DIMENSION_REGION: return {journey.region()};
    case events::v1::PLAN_DIMENSION_MANAGER: return {stages.owner};
    case events::v1::PLAN_DIMENSION_PRODUCT: {
      std::vector<std::string> keys(journey.products().begin(), journey.products().end());
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
      if (keys.empty()) keys = {""};
      return keys;
    }
    default: return {""};
  }
}

void AddDifference(Batch& batch, const char* family, FunnelCellSums now, const FunnelCellSums& before, int width) {
  for (const auto& [key, old] : before) {
    std::vector<int64_t>& s = now[key];
    s.resize(width, 0);
    for (int i = 0; i < width; ++i) s[i] -= old[i];
  }
  for (const auto& [key, s] : now) {
    if (std::any_of(s.begin(), s.end(), [](int64_t v) { return v != 0; })) batch.AddSums(family, key, s);
  }
}

std::string FunnelCellPrefix(events::v1::PlanDimension dimension, absl::CivilDay day) {
  return StrCat(std::string(1, static_cast<char>(dimension)), EncodeInt64(day - absl::CivilDay(1970, 1, 1)));
}

std::optional<FunnelCell> DecodeFunnelCellKey(std::string_view key) {
  if (key.size() < 9) return std::nullopt;
  const std::optional<int64_t> day = DecodeInt64(key.substr(1, 8));
  if (!day) return std::nullopt;
  return FunnelCell{absl::CivilDay(1970, 1, 1) + *day, std::string(key.substr(9))};
}

FunnelCellSums FunnelCellsOf(const LeadJourney& journey, absl::Time as_of, absl::TimeZone tz) {
  FunnelCellSums out;
  const std::optional<LeadStages> s = StagesAsOf(journey, as_of);
  if (!s) return out;
  const std::optional<absl::Time> stages[kFunnelStages] = {s->captured, s->qualified, s->first_offer, s->won, s->lost};
  for (events::v1::PlanDimension dimension : kFunnelDimensions) {
    for (const std::string& key : JourneyKeysBy(journey, *s, dimension)) {
      const auto cell = [&](absl::Time t) -> std::vector<int64_t>& {
        std::vector<int64_t>& sums = out[FunnelCellPrefix(dimension, absl::ToCivilDay(t, tz)) + key];
        sums.resize(kFunnelSums, 0);
        return sums;
      };
      std::vector<int64_t>& cohort = cell(s->captured);
      for (int i = 0; i < kFunnelStages; ++i) {
        if (!stages[i]) continue;
        ++cohort[i];
        ++cell(*stages[i])[kFunnelStages + i];
      }
    }
  }
  return out;
}

FunnelCellSums LostCellsOf(const LeadJourney& journey, absl::Time as_of, absl::TimeZone tz) {
  FunnelCellSums out;
  const std::optional<LeadStages> s = StagesAsOf(journey, as_of);
  if (!s || !s->disqualified) return out;
  const int reason = journey.disqualification_reason();
  if (reason < 0 || reason >= kLostReasons) return out;
  const absl::CivilDay day = absl::ToCivilDay(*s->disqualified, tz);
  for (events::v1::PlanDimension dimension : kFunnelDimensions) {
    for (const std::string& key : JourneyKeysBy(journey, *s, dimension)) {
      std::vector<int64_t>& sums = out[FunnelCellPrefix(dimension, day) + key];
      sums.resize(kLostReasons, 0);
      ++sums[reason];
    }
  }
  return out;
}

int64_t SecondsBetween(absl::Time from, absl::Time to) {
  return std::max<int64_t>(absl::ToInt64Seconds(to - from), 0);
}

std::vector<CycleTime> CyclesOf(const LeadStages& s) {
  std::vector<CycleTime> out;
  const auto add = [&](Cycle c, absl::Time from, absl::Time to) { out.push_back({c, to, SecondsBetween(from, to)}); };
  if (s.qualified) add(kCapturedToQualified, s.captured, *s.qualified);
  if (s.qualified && s.first_offer) add(kQualifiedToFirstOffer, *s.qualified, *s.first_offer);
  if (s.won && s.won_offer_sent) add(kSentToAccepted, *s.won_offer_sent, *s.won);
  if (s.won) add(kCapturedToWon, s.captured, *s.won);
  return out;
}

std::map<std::string, CycleSamples> CycleCellsOf(const LeadJourney& journey, absl::Time as_of, absl::TimeZone tz) {
  std::map<std::string, CycleSamples> out;
  const std::optional<LeadStages> s = StagesAsOf(journey, as_of);
  if (!s) return out;
  const std::vector<CycleTime> cycles = CyclesOf(*s);
  if (cycles.empty()) return out;
  for (events::v1::PlanDimension dimension : kFunnelDimensions) {
    for (const std::string& key : JourneyKeysBy(journey, *s, dimension)) {
      for (const CycleTime& c : cycles) {
        std::vector<int64_t>& list = out[FunnelCellPrefix(dimension, absl::ToCivilDay(c.ended, tz)) + key][c.cycle];
        list.insert(std::upper_bound(list.begin(), list.end(), c.seconds), c.seconds);
      }
    }
  }
  return out;
}

std::map<std::string, AssignmentSums> AssignmentCellsOf(const LeadJourney& journey, absl::Time as_of,
                                                        absl::TimeZone tz) {
  std::map<std::string, AssignmentSums> out;
  const std::optional<LeadStages> s = StagesAsOf(journey, as_of);
  if (!s) return out;
  for (const auto& a : journey.assignments()) {
    if (!Known(a.assigned(), as_of)) continue;
    const absl::Time assigned = events::FromProto(a.assigned().at());
    const absl::CivilDay day = absl::ToCivilDay(assigned, tz);
    const bool responded = Known(a.first_response(), as_of);
    const int64_t seconds = responded ? SecondsBetween(assigned, events::FromProto(a.first_response().at())) : 0;
    for (events::v1::PlanDimension dimension : kAssignmentDimensions) {
      for (const std::string& key : JourneyKeysBy(journey, *s, dimension)) {
        AssignmentSums& cell = out[StrCat(FunnelCellPrefix(dimension, day), key, std::string(1, '\0'), a.manager_id())];
        ++cell.assigned;
        if (responded) {
          std::vector<int64_t>& list = cell.response_seconds;
          list.insert(std::upper_bound(list.begin(), list.end(), seconds), seconds);
        } else {
          ++cell.unanswered;
        }
      }
    }
  }
  return out;
}

StatusOr<AssignmentSums> DecodeAssignmentCell(std::string_view value) {
  store::v1::AssignmentCell cell;
  if (!cell.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError("stored assignment cell is corrupt");
  }
  return AssignmentSums{cell.assigned(), cell.unanswered(),
                        std::vector<int64_t>(cell.response_seconds().begin(), cell.response_seconds().end())};
}

std::array<std::span<const int64_t>, kCycles> CycleLists(const store::v1::CycleCell& cell) {
  const auto span = [](const google::protobuf::RepeatedField<int64_t>& list) {
    return std::span<const int64_t>(list.data(), static_cast<size_t>(list.size()));
  };
  std::array<std::span<const int64_t>, kCycles> out;
  out[kCapturedToQualified] = span(cell.captured_to_qualified());
  out[kQualifiedToFirstOffer] = span(cell.qualified_to_first_offer());
  out[kSentToAccepted] = span(cell.sent_to_accepted());
  out[kCapturedToWon] = span(cell.captured_to_won());
  return out;
}

StatusOr<CycleSamples> DecodeCycleCell(std::string_view value) {
  store::v1::CycleCell cell;
  if (!cell.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError("stored cycle cell is corrupt");
  }
  CycleSamples out;
  for (int c = 0; c < kCycles; ++c) {
    const auto* list = CycleList(cell, c);
    out[c].assign(list->begin(), list->end());
  }
  return out;
}

Status ForEachJourney(const Store& store, const std::function<void(const LeadJourney&)>& fn) {
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store.Scan(kJourneysFamily, "", "", [&](std::string_view key, std::string_view value) {
    LeadJourney journey;
    if (!journey.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      inner = absl::DataLossError(StrCat("stored journey ", key, " is corrupt"));
      return false;
    }
    fn(journey);
    return true;
  }));
  return inner;
}

Status FillFunnelCells(Store& store, absl::TimeZone tz) {
  ASSIGN_OR_RETURN(std::optional<std::string> done, store.Get(kSettingsFamily, kFunnelCellsSetting));
  if (done) return absl::OkStatus();
  Batch batch = store.NewBatch();
  RETURN_IF_ERROR(ForEachJourney(store, [&](const LeadJourney& journey) {
    for (const auto& [cell, sums] : FunnelCellsOf(journey, absl::InfiniteFuture(), tz)) {
      batch.AddSums(kFunnelCellsFamily, cell, sums);
    }
    // Under its latest recorded-at: as-of before it looks at the whole journey again.
    absl::Time latest = absl::InfinitePast();
    const auto note = [&](const Stamp& stamp) {
      if (stamp.has_recorded_at()) latest = std::max(latest, events::FromProto(stamp.recorded_at()));
    };
    for (const Stamp* stamp : {&journey.captured(), &journey.qualified(), &journey.disqualified()}) note(*stamp);
    for (const auto& a : journey.assignments()) note(a.assigned()), note(a.first_response());
    for (const auto& o : journey.offers()) note(o.drafted()), note(o.first_sent()), note(o.accepted()), note(o.closed());
    if (latest > absl::InfinitePast()) {
      batch.Put(kJourneysByRecordedFamily, EncodeInt64(absl::ToUnixNanos(latest)) + journey.lead_id(), "");
    }
  }));
  batch.Put(kSettingsFamily, kFunnelCellsSetting, "complete");
  return store.Commit(batch);
}

Status FillLostCells(Store& store, absl::TimeZone tz) {
  ASSIGN_OR_RETURN(std::optional<std::string> done, store.Get(kSettingsFamily, kLostCellsSetting));
  if (done) return absl::OkStatus();
  Batch batch = store.NewBatch();
  RETURN_IF_ERROR(ForEachJourney(store, [&](const LeadJourney& journey) {
    for (const auto& [cell, sums] : LostCellsOf(journey, absl::InfiniteFuture(), tz)) {
      batch.AddSums(kLostCellsFamily, cell, sums);
    }
  }));
  batch.Put(kSettingsFamily, kLostCellsSetting, "complete");
  return store.Commit(batch);
}

Status FillCycleCells(Store& store, absl::TimeZone tz) {
  ASSIGN_OR_RETURN(std::optional<std::string> done, store.Get(kSettingsFamily, kCycleCellsSetting));
  if (done) return absl::OkStatus();
  std::map<std::string, CycleSamples> cells;
  RETURN_IF_ERROR(ForEachJourney(store, [&](const LeadJourney& journey) {
    for (const auto& [key, samples] : CycleCellsOf(journey, absl::InfiniteFuture(), tz)) {
      CycleSamples& cell = cells[key];
      for (int c = 0; c < kCycles; ++c) cell[c].insert(cell[c].end(), samples[c].begin(), samples[c].end());
    }
  }));
  Batch batch = store.NewBatch();
  for (auto& [key, cell] : cells) {
    for (auto& list : cell) std::sort(list.begin(), list.end());
    batch.Put(kCycleCellsFamily, key, EncodeCycleCell(cell));
  }
  batch.Put(kSettingsFamily, kCycleCellsSetting, "complete");
  return store.Commit(batch);
}

Status FillAssignmentCells(Store& store, absl::TimeZone tz) {
  ASSIGN_OR_RETURN(std::optional<std::string> done, store.Get(kSettingsFamily, kAssignmentCellsSetting));
  if (done) return absl::OkStatus();
  std::map<std::string, AssignmentSums> cells;
  RETURN_IF_ERROR(ForEachJourney(store, [&](const LeadJourney& journey) {
    for (const auto& [key, sums] : AssignmentCellsOf(journey, absl::InfiniteFuture(), tz)) {
      AssignmentSums& cell = cells[key];
      cell.assigned += sums.assigned;
      cell.unanswered += sums.unanswered;
      cell.response_seconds.insert(cell.response_seconds.end(), sums.response_seconds.begin(),
                                   sums.response_seconds.end());
    }
  }));
  Batch batch = store.NewBatch();
  for (auto& [key, cell] : cells) {
    std::sort(cell.response_seconds.begin(), cell.response_seconds.end());
    batch.Put(kAssignmentCellsFamily, key, EncodeAssignmentCell(cell));
  }
  batch.Put(kSettingsFamily, kAssignmentCellsSetting, "complete");
  return store.Commit(batch);
}

Status RecordLeadEvent(const EventEnvelope& event, const store::v1::LeadAttribution& lead, Batch& batch,
                       const PutFactFn& put_fact, absl::TimeZone tz) {
  const LeadEvent& e = event.lead();
  ASSIGN_OR_RETURN(LeadJourney journey, LoadJourney(batch, event.aggregate_id()));
  const LeadJourney before = journey;
  const Stamp now = StampOf(event, event.occurred_at());
  switch (e.event_case()) {
    case LeadEvent::kCaptured:
      SetOnce(journey.mutable_captured(), now);
      journey.set_region(e.captured().region());
      journey.set_source(e.captured().source());
      journey.mutable_products()->CopyFrom(e.captured().product_interest());
      AddAssignment(journey, e.captured().assignment().manager_id(), now);
      break;
    case LeadEvent::kAssigned:
      AddAssignment(journey, e.assigned().assignment().manager_id(), now);
      break;
    case LeadEvent::kActivityLogged: {
      const auto& a = e.activity_logged();
      const Stamp at = StampOf(event, a.occurred_at());
      NoteActivity(journey, a, at);
      if (WorkOf(a.type()) != store::v1::WORK_TYPE_UNSPECIFIED) {
        Fact f = WorkFact(event, WorkOf(a.type()), at.at(), a.duration_seconds(), a.manager_id());
        f.set_region(lead.region());
        f.set_source(lead.source());
        f.set_client_id(event.aggregate_id());
        RETURN_IF_ERROR(put_fact(f));
      }
      break;
    }
    case LeadEvent::kQualified:
      SetOnce(journey.mutable_qualified(), now);
      break;
    case LeadEvent::kDisqualified:
      SetOnce(journey.mutable_disqualified(), now);
      journey.set_disqualification_reason(e.disqualified().reason());
      break;
    case LeadEvent::kMergedInto:
      journey.set_merged_into(e.merged_into().survivor_lead_id());
      break;
    default:
      return absl::OkStatus();  // linked sources, merges on the survivor, types added later
  }
  RETURN_IF_ERROR(PutJourney(batch, before, journey, event, tz));
  return absl::OkStatus();
}

Status RecordOfferEvent(const EventEnvelope& event, const store::v1::OfferAttribution& offer, Batch& batch,
                        const PutFactFn& put_fact, absl::TimeZone tz) {
  const std::string& lead_id = offer.lead().lead_id();
  if (lead_id.empty()) return absl::OkStatus();  // the draft never reached us: no lead to follow
  const OfferEvent& e = event.offer();
  ASSIGN_OR_RETURN(LeadJourney journey, LoadJourney(batch, lead_id));
  const LeadJourney before = journey;
  JourneyOffer* entry = EntryOf(journey, event.aggregate_id());
  const Stamp now = StampOf(event, event.occurred_at());
  switch (e.event_case()) {
    case OfferEvent::kDrafted:
      SetOnce(entry->mutable_drafted(), now);
      break;
    case OfferEvent::kSent:
      SetOnce(entry->mutable_first_sent(), now);
      break;
    case OfferEvent::kAccepted: {
      SetOnce(entry->mutable_accepted(), now);
      Fact f = OfferOutcome(Fact::KIND_OFFER_ACCEPTED, event, offer.lead());
      *f.mutable_amount() = e.accepted().value();
      RETURN_IF_ERROR(put_fact(f));
      break;
    }
    case OfferEvent::kRejected:
      SetOnce(entry->mutable_closed(), now);
      RETURN_IF_ERROR(PutRejection(event, offer, put_fact));
      break;
    case OfferEvent::kWithdrawn:
      SetOnce(entry->mutable_closed(), now);
      break;
    case OfferEvent::kExpired:
      SetOnce(entry->mutable_closed(), now);
      RETURN_IF_ERROR(put_fact(OfferOutcome(Fact::KIND_OFFER_EXPIRED, event, offer.lead())));
      break;
    default:
      break;  // a revision changes no stage; event types added later are stepped over
  }
  RETURN_IF_ERROR(PutJourney(batch, before, journey, event, tz));
  return absl::OkStatus();
}

Status RecordClientEvent(const EventEnvelope& event, const store::v1::ClientAttribution& client,
                         const PutFactFn& put_fact) {
  if (event.client().event_case() != ClientEvent::kInteractionLogged) return absl::OkStatus();
  const auto& i = event.client().interaction_logged();
  const store::v1::WorkType work = WorkOf(i.kind());
  if (work == store::v1::WORK_TYPE_UNSPECIFIED) return absl::OkStatus();
  // The interaction is the manager's who had it, not necessarily the client's owner's.
  Fact f = WorkFact(event, work, i.has_call() ? i.call().started_at() : i.occurred_at(),
                    i.duration_seconds() > 0 ? i.duration_seconds() : i.call().duration_seconds(),
                    !i.manager_id().empty() ? i.manager_id() : i.call().manager_id());
  f.set_from_pbx(i.has_call());
  f.set_region(client.region());
  f.set_source(client.source());
  f.set_client_id(client.lead_id());
  f.set_client_label(client.company());
  return put_fact(f);
}

Status RecordCallEvent(const EventEnvelope& event, const PutFactFn& put_fact) {
  const auto& call = event.call().unmatched().call();
  Fact f = WorkFact(event, store::v1::WORK_TYPE_CALL, call.started_at(), call.duration_seconds(), call.manager_id());
  f.set_from_pbx(true);
  return put_fact(f);
}

}  // namespace sales::reporting
