#include "tools/salesctl/import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/base/strings.h"

namespace sales::salesctl {
namespace {

enum class Column { kName, kCompany, kEmail, kPhone, kSource, kExternalId, kRegion, kProducts, kCompanySize };

const std::map<std::string, Column>& Columns() {
  static const auto* columns = new std::map<std::string, Column>{
      {"name", Column::kName},           {"fullname", Column::kName},          {"contact", Column::kName},
      {"contactname", Column::kName},    {"company", Column::kCompany},        {"organisation", Column::kCompany},
      {"organization", Column::kCompany}, {"email", Column::kEmail},           {"e-mail", Column::kEmail},
      {"emailaddress", Column::kEmail},  {"phone", Column::kPhone},            {"telephone", Column::kPhone},
      {"mobile", Column::kPhone},        {"phonenumber", Column::kPhone},      {"source", Column::kSource},
      {"externalid", Column::kExternalId}, {"external_id", Column::kExternalId}, {"id", Column::kExternalId},
      {"region", Column::kRegion},       {"productinterest", Column::kProducts}, {"product_interest", Column::kProducts},
      {"products", Column::kProducts},   {"companysize", Column::kCompanySize}, {"company_size", Column::kCompanySize},
      {"employees", Column::kCompanySize}};
  return *columns;
}

std::string HeaderKey(const std::string& h) {
  std::string out;
  for (char c : absl::AsciiStrToLower(std::string(absl::StripAsciiWhitespace(h)))) {
    if (c != ' ') out.push_back(c);
  }
  return out;
}

StatusOr<events::v1::LeadSource> ParseSource(const std::string& text) {
  static const std::map<std::string, events::v1::LeadSource> kNames = {
      {"web_form", events::v1::LEAD_SOURCE_WEB_FORM},         {"marketing_system", events::v1::LEAD_SOURCE_MARKETING_SYSTEM},
      {"inbound_call", events::v1::LEAD_SOURCE_INBOUND_CALL}, {"manual", events::v1::LEAD_SOURCE_MANUAL},
      {"referral", events::v1::LEAD_SOURCE_REFERRAL},         {"event", events::v1::LEAD_SOURCE_EVENT}};
  std::string key = absl::AsciiStrToLower(std::string(absl::StripAsciiWhitespace(text)));
  std::replace(key.begin(), key.end(), ' ', '_');
  std::replace(key.begin(), key.end(), '-', '_');
  if (auto it = kNames.find(key); it != kNames.end()) return it->second;
  events::v1::LeadSource s;
  if (events::v1::LeadSource_Parse(absl::AsciiStrToUpper(text), &s) && s != events::v1::LEAD_SOURCE_UNSPECIFIED) return s;
  return InvalidField("source", StrCat("\"", text, "\" is not one of web_form, marketing_system, inbound_call, manual, "
                                       "referral, event"));
}

}  // namespace

StatusOr<std::string> ReadFile(const std::string& path) {
  auto failed = [&](int error) {
    const std::string reason = StrCat(path, ": ", std::strerror(error));
    switch (error) {
      case ENOENT: return absl::NotFoundError(reason);
      case EACCES: return absl::PermissionDeniedError(reason);
      default: return absl::FailedPreconditionError(reason);
    }
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failed(errno);
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return failed(EISDIR);
  }
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return failed(error);
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

StatusOr<PreparedImport> PrepareRows(const CsvDocument& document, const std::string& default_source) {
  PreparedImport out;
  const std::vector<CsvRecord>& records = document.records;
  if (records.empty()) return InvalidField("file", "empty: expected a header row and data rows");
  if (!document.problems.empty() && document.problems.front().line <= records.front().line) {
    return InvalidField("header", StrCat("line ", document.problems.front().line, ": ", document.problems.front().reason));
  }
  for (const auto& p : document.problems) out.rejected.push_back({p.line, p.reason});
  ASSIGN_OR_RETURN(const events::v1::LeadSource fallback, ParseSource(default_source));
  std::vector<std::optional<Column>> layout;
  bool has_name = false;
  for (const auto& h : records[0].fields) {
    auto it = Columns().find(HeaderKey(h));
    if (it == Columns().end()) {
      layout.push_back(std::nullopt);
      out.ignored_columns.push_back(h);
    } else {
      layout.push_back(it->second);
      has_name = has_name || it->second == Column::kName;
    }
  }
  if (!has_name) return InvalidField("header", "no name column (expected e.g. name, email, phone, company, source)");

  for (size_t i = 1; i < records.size(); ++i) {
    const CsvRecord& rec = records[i];
    if (rec.fields.size() != layout.size()) {
      out.rejected.push_back({rec.line, StrCat("expected ", layout.size(), " fields like the header, got ",
                                               rec.fields.size())});
      continue;
    }
    api::v1::ImportLeadsRequest req;
    req.set_client_ref(StrCat(rec.line));
    auto* lead = req.mutable_lead();
    lead->set_source(fallback);
    std::string problem;
    for (size_t c = 0; c < layout.size() && problem.empty(); ++c) {
      if (!layout[c]) continue;
      const std::string& v = rec.fields[c];
      switch (*layout[c]) {
        case Column::kName: lead->set_name(v); break;
        case Column::kCompany: lead->set_company(v); break;
        case Column::kEmail: lead->set_email(v); break;
        case Column::kPhone: lead->set_phone(v); break;
        case Column::kExternalId: lead->set_external_id(v); break;
        case Column::kRegion: lead->set_region(std::string(absl::StripAsciiWhitespace(v))); break;
        case Column::kSource:
          if (!absl::StripAsciiWhitespace(v).empty()) {
            auto s = ParseSource(v);
            if (s.ok()) lead->set_source(*s);
            else problem = std::string(s.status().message());
          }
          break;
        case Column::kProducts:
          for (absl::string_view p : absl::StrSplit(v, absl::ByAnyChar(";|"), absl::SkipWhitespace())) {
            lead->add_product_interest(std::string(absl::StripAsciiWhitespace(p)));
          }
          break;
        case Column::kCompanySize: {
          const std::string t(absl::StripAsciiWhitespace(v));
          int32_t n = 0;
          if (!t.empty() && !absl::SimpleAtoi(t, &n)) problem = StrCat("company_size: \"", t, "\" is not a number");
          lead->set_company_size(n);
          break;
        }
      }
    }
    if (!problem.empty()) {
      out.rejected.push_back({rec.line, problem});
      continue;
    }
    out.requests.push_back(std::move(req));
  }
  return out;
}

StatusOr<ImportSummary> RunImport(api::v1::LeadAcquisition::StubInterface& stub, const PreparedImport& prepared,
                                  const std::string& actor, int64_t per_call,
                                  const std::function<void(int64_t, int64_t)>& progress) {
  ImportSummary summary;
  summary.rows = static_cast<int64_t>(prepared.requests.size() + prepared.rejected.size());
  summary.rejected = prepared.rejected;
  const int64_t total = static_cast<int64_t>(prepared.requests.size());
  for (int64_t start = 0; start < total; start += per_call) {
    const int64_t end = std::min(total, start + per_call);
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-actor", actor);
    auto stream = stub.StreamingImportLeads(&ctx);
    // The rows go out on their own thread while the answers come back on this one (the service
    // answers chunk by chunk as it decides).
    std::thread writer([&] {
      for (int64_t i = start; i < end; ++i) {
        if (!stream->Write(prepared.requests[i])) break;  // the server ended the call; Finish says why
      }
      stream->WritesDone();
    });
    int64_t answered = 0;
    api::v1::ImportLeadsResponse response;
    while (stream->Read(&response)) {
      for (const auto& r : response.results()) {
        ++answered;
        int64_t line = 0;
        (void)absl::SimpleAtoi(r.client_ref(), &line);
        // A replayed record (imported before, same content) counts as a duplicate, whatever it was
        // the first time; the service's reason says which.
        if (r.outcome() == api::v1::CAPTURE_OUTCOME_REJECTED || r.outcome() == api::v1::CAPTURE_OUTCOME_UNSPECIFIED) {
          summary.rejected.push_back({line, r.reason()});
        } else if (r.replayed() || r.outcome() == api::v1::CAPTURE_OUTCOME_DUPLICATE) {
          ++summary.duplicates;
          summary.duplicate_rows.push_back(
              {line, r.replayed() ? StrCat(r.reason(), ": lead ", r.lead_id()) : r.reason()});
        } else if (r.outcome() == api::v1::CAPTURE_OUTCOME_LINKED) {
          ++summary.linked;
        } else {
          ++summary.imported;
        }
      }
      if (progress) progress(start + answered, total);
    }
    writer.join();
    grpc::Status s = stream->Finish();
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          StrCat("StreamingImportLeads failed after ", start + answered, " rows were answered: ",
                                 s.error_message()));
    }
    if (answered != end - start) {
      return absl::InternalError(StrCat("StreamingImportLeads answered ", answered, " of the ", end - start,
                                        " rows sent in one call"));
    }
  }
  std::sort(summary.rejected.begin(), summary.rejected.end(),
            [](const RowProblem& a, const RowProblem& b) { return a.line < b.line; });
  return summary;
}

}  // namespace sales::salesctl
