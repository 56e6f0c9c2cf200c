// Source labels -> channels. Marketing systems name their sources as they like ("partner",
// "newsletter", "trade-show", "Google Ads - Spring"); a lead keeps that label verbatim and is
// counted in one of the platform's channels (events::v1::LeadSource), looked up here. A label
// nobody listed goes to the default channel: an unknown label never refuses a lead.
//
// The table is configuration (--source-channels=FILE, docs/INTAKE.md has the format and the
// built-in default). Labels are compared by unicode::MatchKey (case, spaces, punctuation and
// accents ignored); an entry ending in '*' matches every label starting with it. Immutable after
// construction, so thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "sales/events/v1/lead.pb.h"

namespace sales::lead_acquisition {

class SourceChannels {
 public:
  // The built-in table (BuiltInText()).
  SourceChannels();

  // Parses a table: one "label = channel" per line; '#' starts a comment; "* = channel" sets the
  // default. Channels: web_form, marketing_system, inbound_call, manual, referral, event (or their
  // enum names). INVALID_ARGUMENT naming the line of every mistake.
  static StatusOr<SourceChannels> Parse(std::string_view text);
  // Parse() of a file's content; the error names the file.
  static StatusOr<SourceChannels> Load(const std::string& path);
  // The text of the built-in table (also what docs/INTAKE.md shows).
  static std::string_view BuiltInText();

  // The channel of `label`: an exact entry, else the longest matching prefix entry, else the
  // channel's own name, else the default.
  events::v1::LeadSource Channel(std::string_view label) const;
  events::v1::LeadSource default_channel() const { return default_; }

 private:
  struct Empty {};
  explicit SourceChannels(Empty) {}

  std::vector<std::pair<std::string, events::v1::LeadSource>> exact_;     // match key -> channel
  std::vector<std::pair<std::string, events::v1::LeadSource>> prefixes_;  // longest first
  events::v1::LeadSource default_ = events::v1::LEAD_SOURCE_MARKETING_SYSTEM;
};

}  // namespace sales::lead_acquisition
