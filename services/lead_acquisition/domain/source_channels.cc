#include "services/lead_acquisition/domain/source_channels.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/base/strings.h"
#include "common/unicode/unicode.h"

namespace sales::lead_acquisition {
namespace {

constexpr std::string_view kBuiltIn = R"(# Built-in source label -> channel table of lead acquisition (docs/INTAKE.md).
# label = channel; case, spaces, punctuation and accents are ignored; "prefix*" matches the start.
# Channels: web_form, marketing_system, inbound_call, manual, referral, event.
* = marketing_system

web = web_form
website = web_form
web form = web_form
contact form = web_form
contact us = web_form
landing page = web_form
form = web_form
φόρμα* = web_form
ιστοσελίδα = web_form

newsletter = marketing_system
email campaign = marketing_system
e-mail marketing = marketing_system
campaign = marketing_system
google ads* = marketing_system
adwords* = marketing_system
facebook* = marketing_system
instagram* = marketing_system
linkedin* = marketing_system
social* = marketing_system
paid search = marketing_system
organic search = marketing_system
seo = marketing_system
ppc = marketing_system
hubspot* = marketing_system
mailchimp* = marketing_system
ενημερωτικό δελτίο = marketing_system
διαφήμιση* = marketing_system

phone = inbound_call
phone call = inbound_call
call = inbound_call
inbound call = inbound_call
call in = inbound_call
τηλέφωνο = inbound_call
τηλεφωνική κλήση = inbound_call
κλήση = inbound_call

manual = manual
walk in = manual
walk-in = manual
cold call = manual
χειροκίνητα = manual

partner = referral
partners = referral
partner referral = referral
referral = referral
recommendation = referral
word of mouth = referral
customer referral = referral
employee referral = referral
σύσταση = referral
συνεργάτης = referral
συνεργάτες = referral

event = event
events = event
trade show = event
tradeshow = event
trade fair = event
exhibition = event
expo* = event
conference = event
seminar = event
webinar = event
workshop = event
έκθεση = event
εκδήλωση = event
συνέδριο = event
σεμινάριο = event
)";

StatusOr<events::v1::LeadSource> ParseChannel(std::string_view name) {
  static const std::pair<const char*, events::v1::LeadSource> kChannels[] = {
      {"web_form", events::v1::LEAD_SOURCE_WEB_FORM},         {"marketing_system", events::v1::LEAD_SOURCE_MARKETING_SYSTEM},
      {"inbound_call", events::v1::LEAD_SOURCE_INBOUND_CALL}, {"manual", events::v1::LEAD_SOURCE_MANUAL},
      {"referral", events::v1::LEAD_SOURCE_REFERRAL},         {"event", events::v1::LEAD_SOURCE_EVENT}};
  const std::string key = unicode::MatchKey(name);
  for (const auto& [n, channel] : kChannels) {
    if (key == unicode::MatchKey(n) || key == unicode::MatchKey(events::v1::LeadSource_Name(channel))) return channel;
  }
  return absl::InvalidArgumentError(StrCat("\"", name, "\" is not a channel (web_form, marketing_system, "
                                           "inbound_call, manual, referral, event)"));
}

}  // namespace

SourceChannels::SourceChannels() { *this = *Parse(kBuiltIn); }

std::string_view SourceChannels::BuiltInText() { return kBuiltIn; }

StatusOr<SourceChannels> SourceChannels::Parse(std::string_view text) {
  SourceChannels table{Empty{}};
  std::vector<std::string> problems;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_number;
    std::string line(raw);
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    line = std::string(absl::StripAsciiWhitespace(line));
    if (line.empty()) continue;
    const size_t eq = line.rfind('=');
    if (eq == std::string::npos) {
      problems.push_back(StrCat("line ", line_number, ": expected \"label = channel\""));
      continue;
    }
    const std::string label(absl::StripAsciiWhitespace(line.substr(0, eq)));
    auto channel = ParseChannel(std::string(absl::StripAsciiWhitespace(line.substr(eq + 1))));
    if (!channel.ok()) {
      problems.push_back(StrCat("line ", line_number, ": ", channel.status().message()));
      continue;
    }
    if (label == "*") {
      table.default_ = *channel;
    } else if (!label.empty() && label.back() == '*') {
      const std::string key = unicode::MatchKey(label.substr(0, label.size() - 1));
      if (key.empty()) problems.push_back(StrCat("line ", line_number, ": a prefix needs a letter or digit"));
      else table.prefixes_.emplace_back(key, *channel);
    } else {
      const std::string key = unicode::MatchKey(label);
      if (key.empty()) problems.push_back(StrCat("line ", line_number, ": the label needs a letter or digit"));
      else table.exact_.emplace_back(key, *channel);
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) StrAppend(&message, message.empty() ? "" : "; ", p);
    return absl::InvalidArgumentError(message);
  }
  std::stable_sort(table.prefixes_.begin(), table.prefixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return table;
}

StatusOr<SourceChannels> SourceChannels::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(StrCat(path, ": cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  auto table = Parse(text.str());
  if (!table.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", table.status().message()));
  return table;
}

events::v1::LeadSource SourceChannels::Channel(std::string_view label) const {
  const std::string key = unicode::MatchKey(label);
  if (key.empty()) return default_;
  for (const auto& [k, channel] : exact_) {
    if (k == key) return channel;
  }
  for (const auto& [prefix, channel] : prefixes_) {
    if (key.rfind(prefix, 0) == 0) return channel;
  }
  if (auto own = ParseChannel(label); own.ok()) return *own;
  return default_;
}

}  // namespace sales::lead_acquisition
