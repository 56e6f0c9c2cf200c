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
#include "common/unicode/unicode.h"

namespace sales::salesctl {
namespace {

// The first non-empty value among the columns (trimmed).
std::string Cell(const CsvRecord& record, const ColumnMapping& mapping, Field field) {
  auto it = mapping.columns.find(field);
  if (it == mapping.columns.end()) return "";
  for (size_t c : it->second) {
    if (c >= record.fields.size()) continue;
    std::string v(absl::StripAsciiWhitespace(record.fields[c]));
    if (!v.empty()) return v;
  }
  return "";
}

// Employees as exports write them: "1.200", "1,200", "1 200", "50-199" (the lower bound),
// "1000+". Anything else is unknown (0): a company size is never a reason to refuse a lead.
int32_t ParseCompanySize(const std::string& text) {
  int64_t n = 0;
  bool digits = false;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      n = n * 10 + (c - '0');
      digits = true;
      if (n > 10000000) return 0;
    } else if (digits && (c == '.' || c == ',' || c == ' ' || c == '\'')) {
      continue;  // a thousands separator
    } else {
      break;
    }
  }
  return digits ? static_cast<int32_t>(n) : 0;
}

std::string Quote(const std::string& s) { return StrCat("\"", s, "\""); }

}  // namespace

StatusOr<ReadText> DecodeFile(std::string_view bytes, const ImportOptions& options) {
  std::string encoding = options.encoding;
  if (encoding.empty()) {
    encoding = unicode::DetectEncoding(bytes);
    if (encoding == "utf-8" && bytes.find('\0') != std::string_view::npos) {
      // Zero bytes are valid UTF-8, but no export has them: UTF-16 without a byte-order mark.
      return InvalidField("file", "holds zero bytes: UTF-16 without a byte-order mark? Add --encoding=utf-16le "
                                  "(what Windows writes) or --encoding=utf-16be");
    }
    if (encoding.empty()) {
      auto as_utf8 = unicode::Decode(bytes, "utf-8");
      return InvalidField("file", StrCat("not UTF-8 (", as_utf8.status().message(),
                                         "). If Excel saved it as \"CSV\" on a Greek system, add "
                                         "--encoding=windows-1253 (or --encoding=iso-8859-7); otherwise "
                                         "--encoding=NAME, or save it as \"CSV UTF-8\""));
    }
  }
  auto decoded = unicode::Decode(bytes, encoding);
  if (!decoded.ok()) {
    if (decoded.status().code() == absl::StatusCode::kNotFound) {
      return InvalidField("encoding", StrCat("--encoding=", encoding,
                                             ": not an encoding (e.g. utf-8, utf-16, windows-1253, iso-8859-7)"));
    }
    return InvalidField("file", StrCat("cannot be read as ", encoding, ": ", decoded.status().message(),
                                       options.encoding.empty() ? "; name the encoding with --encoding=NAME"
                                                                : "; is --encoding right?"));
  }
  ReadText out;
  out.encoding = decoded->encoding;
  out.text = std::move(decoded->text);
  out.delimiter = options.delimiter ? options.delimiter : DetectDelimiter(out.text);
  return out;
}

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

StatusOr<PreparedImport> PrepareRows(const CsvDocument& document, const ImportOptions& options) {
  PreparedImport out;
  const std::vector<CsvRecord>& records = document.records;
  if (records.empty()) return InvalidField("file", "empty: expected a header row and data rows");
  if (!document.problems.empty() && document.problems.front().line <= records.front().line) {
    return InvalidField("header", StrCat("line ", document.problems.front().line, ": ", document.problems.front().reason));
  }
  out.headers = records[0].fields;
  ASSIGN_OR_RETURN(out.mapping, MapColumns(out.headers, options.map));
  for (size_t c : out.mapping.unknown) out.ignored_columns.push_back(out.headers[c]);

  // A row with another number of fields than the header cannot be read safely (a value would go
  // into another column): the whole file is refused, with the lines, before anything is sent.
  std::vector<RowProblem> unreadable;
  for (const auto& p : document.problems) unreadable.push_back({p.line, p.reason});
  const size_t width = out.headers.size();
  for (size_t i = 1; i < records.size(); ++i) {
    const auto& fields = records[i].fields;
    const bool extra_empty = fields.size() > width && std::all_of(fields.begin() + width, fields.end(), [](const auto& f) {
                               return absl::StripAsciiWhitespace(f).empty();
                             });
    if (fields.size() != width && !extra_empty) {
      unreadable.push_back({records[i].line, StrCat(fields.size(), " field", fields.size() == 1 ? "" : "s",
                                                    " where the header has ", width)});
    }
  }
  if (!unreadable.empty()) {
    std::sort(unreadable.begin(), unreadable.end(), [](const RowProblem& a, const RowProblem& b) { return a.line < b.line; });
    std::string lines;
    for (size_t i = 0; i < unreadable.size() && i < 5; ++i) {
      StrAppend(&lines, i ? "; " : "", "line ", unreadable[i].line, ": ", unreadable[i].reason);
    }
    if (unreadable.size() > 5) StrAppend(&lines, "; and ", unreadable.size() - 5, " more");
    return InvalidField("file", StrCat("cannot be read as a table (", lines,
                                       "). Nothing was imported. If every row looks wrong, the delimiter is: try "
                                       "--delimiter=';' or --delimiter=',' or --delimiter=tab; otherwise fix those lines "
                                       "(a field holding the delimiter or a line break must be in double quotes)"));
  }

  for (size_t i = 1; i < records.size(); ++i) {
    const CsvRecord& rec = records[i];
    api::v1::ImportLeadsRequest req;
    req.set_client_ref(StrCat(rec.line));
    auto* lead = req.mutable_lead();
    auto cell = [&](Field f) { return unicode::SingleLine(Cell(rec, out.mapping, f)); };
    std::string name = cell(Field::kName);
    if (name.empty()) {
      for (Field part : {Field::kFirstName, Field::kMiddleName, Field::kLastName}) {
        const std::string p = cell(part);
        if (!p.empty()) StrAppend(&name, name.empty() ? "" : " ", p);
      }
    }
    lead->set_name(name);
    lead->set_company(cell(Field::kCompany));
    lead->set_email(cell(Field::kEmail));
    lead->set_phone(cell(Field::kPhone));
    lead->set_external_id(cell(Field::kExternalId));
    lead->set_region(cell(Field::kRegion));
    std::string label = cell(Field::kSource);
    if (label.empty()) label = cell(Field::kCampaign);
    if (label.empty()) label = options.default_source;
    if (label.empty()) {
      lead->set_source(events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
    } else {
      lead->set_source_label(label);  // the service maps it to a channel
    }
    for (absl::string_view p : absl::StrSplit(Cell(rec, out.mapping, Field::kProducts), absl::ByAnyChar(";|,"),
                                              absl::SkipWhitespace())) {
      lead->add_product_interest(std::string(absl::StripAsciiWhitespace(p)));
    }
    lead->set_company_size(ParseCompanySize(Cell(rec, out.mapping, Field::kCompanySize)));
    out.requests.push_back(std::move(req));
  }
  return out;
}

std::vector<std::string> DescribeMapping(const PreparedImport& prepared) {
  std::vector<std::string> lines;
  for (const auto& [field, spellings] : KnownSpellings()) {
    auto it = prepared.mapping.columns.find(field);
    if (it == prepared.mapping.columns.end()) continue;
    std::string columns;
    for (size_t c : it->second) StrAppend(&columns, columns.empty() ? "" : " or ", Quote(prepared.headers[c]));
    std::string line = StrCat(FieldName(field), std::string(std::max<size_t>(1, 18 - std::string(FieldName(field)).size()), ' '),
                              "<- ", columns);
    if (prepared.mapping.chosen.count(field)) StrAppend(&line, "   (--map)");
    if (it->second.size() > 1) StrAppend(&line, "   (the first non-empty)");
    lines.push_back(std::move(line));
  }
  const bool whole = prepared.mapping.columns.count(Field::kName);
  const bool parts = prepared.mapping.columns.count(Field::kFirstName) || prepared.mapping.columns.count(Field::kLastName);
  if (parts) {
    lines.push_back(whole ? "name is the whole-name column, else first, middle and last name joined"
                          : "name is first, middle and last name joined in that order");
  }
  if (!prepared.ignored_columns.empty()) {
    std::string ignored;
    for (const auto& h : prepared.ignored_columns) StrAppend(&ignored, ignored.empty() ? "" : ", ", Quote(h));
    lines.push_back(StrCat("not imported: ", ignored, " (no lead field; --map FIELD=COLUMN to use one)"));
  }
  return lines;
}

std::string DescribeRow(const api::v1::CaptureLeadRequest& lead) {
  std::string out = StrCat("name ", Quote(lead.name()));
  auto add = [&](const char* field, const std::string& v) {
    if (!v.empty()) StrAppend(&out, ", ", field, " ", Quote(v));
  };
  add("company", lead.company());
  add("email", lead.email());
  add("phone", lead.phone());
  if (!lead.source_label().empty()) {
    add("source", lead.source_label());
  } else if (lead.source() != events::v1::LEAD_SOURCE_UNSPECIFIED) {
    // No label: the channel itself ("marketing_system").
    StrAppend(&out, ", channel ", absl::AsciiStrToLower(events::v1::LeadSource_Name(lead.source()).substr(12)));
  }
  add("external_id", lead.external_id());
  add("region", lead.region());
  std::string products;
  for (const auto& p : lead.product_interest()) StrAppend(&products, products.empty() ? "" : ";", p);
  add("product_interest", products);
  if (lead.company_size() > 0) StrAppend(&out, ", company_size ", lead.company_size());
  return out;
}

std::vector<std::pair<std::string, int64_t>> RejectionsByReason(const std::vector<RowProblem>& rejected) {
  std::map<std::string, int64_t> counts;
  for (const auto& r : rejected) ++counts[r.reason];
  std::vector<std::pair<std::string, int64_t>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

StatusOr<ImportSummary> RunImport(api::v1::LeadAcquisition::StubInterface& stub, const PreparedImport& prepared,
                                  const std::string& actor, int64_t per_call,
                                  const std::function<void(int64_t, int64_t)>& progress, bool dry_run) {
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
        bool written;
        if (dry_run && i == start) {
          api::v1::ImportLeadsRequest first = prepared.requests[i];
          first.set_dry_run(true);  // the call's first record says it for the whole call
          written = stream->Write(first);
        } else {
          written = stream->Write(prepared.requests[i]);
        }
        if (!written) break;  // the server ended the call; Finish says why
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
        for (const auto& v : r.left_out()) summary.left_out.push_back({line, v});
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
