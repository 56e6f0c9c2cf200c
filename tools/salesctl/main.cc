// salesctl: the platform's command-line tool for operators and integrators.
//
//   salesctl [--target=HOST:PORT] import FILE.csv [--source=NAME] [--actor=NAME]
//   salesctl [--target=HOST:PORT] status
//
// The target defaults to $SALES_TARGET or 127.0.0.1:50051 (lead acquisition under `make run`).
// Exit codes: 0 done; 1 failed (service unreachable, file unreadable); 2 usage; 3 import done
// with rejected rows.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <iostream>

#include "common/base/strings.h"
#include "sales/api/v1/admin.grpc.pb.h"
#include "tools/salesctl/csv.h"
#include "tools/salesctl/import.h"

namespace sales::salesctl {
namespace {

constexpr char kUsage[] =
    "usage: salesctl [--target=HOST:PORT] COMMAND\n"
    "\n"
    "commands:\n"
    "  import FILE.csv [--source=NAME] [--actor=NAME]\n"
    "      Streams a CSV export of leads through StreamingImportLeads. Header names: name (required),\n"
    "      company, email, phone, source, external_id, region, product_interest (';'-separated),\n"
    "      company_size.\n"
    "      --source is used for rows without one (default marketing_system).\n"
    "  status\n"
    "      Where each consumer of the service stands - projections and intakes: offsets, lag,\n"
    "      counts, and how many records went to which dead-letter topic.\n"
    "\n"
    "The target defaults to $SALES_TARGET, else 127.0.0.1:50051.\n";

std::string Thousands(int64_t n) {
  std::string digits = StrCat(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

void DrawProgress(int64_t done, int64_t total) {
  constexpr int kWidth = 30;
  const int filled = total ? static_cast<int>(kWidth * done / total) : kWidth;
  std::fprintf(stderr, "\r[%s%s] %s/%s rows", std::string(filled, '#').c_str(),
               std::string(kWidth - filled, ' ').c_str(), Thousands(done).c_str(), Thousands(total).c_str());
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

int Import(const std::string& target, const std::string& path, const std::string& source, const std::string& actor) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    std::cerr << "salesctl: cannot read " << text.status().message() << "\n";
    return 1;
  }
  auto prepared = PrepareRows(ParseCsv(*text), source);
  if (!prepared.ok()) {
    std::cerr << "salesctl: " << path << ": " << prepared.status().message() << "\n";
    return prepared.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (!prepared->ignored_columns.empty()) {
    std::cerr << "salesctl: ignoring columns:";
    for (const auto& c : prepared->ignored_columns) std::cerr << " \"" << c << "\"";
    std::cerr << "\n";
  }
  // Default channel settings: the answer comes in chunks well below gRPC's 4 MB message limit.
  auto stub = api::v1::LeadAcquisition::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  const bool tty = isatty(STDERR_FILENO);
  auto summary = RunImport(*stub, *prepared, actor, 100000, tty ? DrawProgress : std::function<void(int64_t, int64_t)>());
  if (!summary.ok()) {
    std::cerr << (tty ? "\n" : "") << "salesctl: " << summary.status().message()
              << "\nNothing is lost: run the same import again; rows already imported are recognised.\n";
    return 1;
  }
  std::cout << "Imported " << path << " (" << Thousands(summary->rows) << " rows)\n"
            << "  imported    " << Thousands(summary->imported) << "\n"
            << "  linked      " << Thousands(summary->linked) << "   (same person as an existing lead)\n"
            << "  duplicates  " << Thousands(summary->duplicates) << "\n"
            << "  rejected    " << Thousands(static_cast<int64_t>(summary->rejected.size())) << "\n";
  if (!summary->rejected.empty()) {
    std::cout << "Rejected rows:\n";
    for (const auto& r : summary->rejected) std::cout << "  line " << r.line << ": " << r.reason << "\n";
  }
  return summary->rejected.empty() ? 0 : 3;
}

int Status(const std::string& target) {
  auto stub = api::v1::Admin::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  api::v1::GetProjectionStatusResponse r;
  grpc::Status s = stub->GetProjectionStatus(&ctx, {}, &r);
  if (!s.ok()) {
    std::cerr << "salesctl: " << target << ": " << s.error_message() << "\n";
    return 1;
  }
  for (const auto& p : r.projections()) {
    int64_t lag = 0;
    for (const auto& part : p.partitions()) lag += std::max<int64_t>(0, part.lag());
    const bool feed = p.kind() == "feed";  // records that become commands (client support's feeds)
    const bool intake = p.kind() == "intake" || feed;
    std::string dead_letters;
    for (const auto& t : p.dead_letter_topics()) StrAppend(&dead_letters, dead_letters.empty() ? " to " : ", ", t);
    std::cout << (feed ? "feed " : intake ? "intake " : "projection ") << p.name()
              << (p.caught_up() ? "  (caught up)" : intake ? "" : "  (catching up)") << "\n";
    if (feed) {
      std::cout << "  accepted " << Thousands(p.events_applied()) << ", answered as retries "
                << Thousands(p.duplicates_skipped()) << ", not for this service " << Thousands(p.not_used());
    } else if (intake) {
      std::cout << "  captured " << Thousands(p.events_applied()) << ", already known "
                << Thousands(p.duplicates_skipped());
    } else {
      std::cout << "  applied " << Thousands(p.events_applied()) << ", redelivered "
                << Thousands(p.duplicates_skipped());
    }
    std::cout << ", dead-lettered " << Thousands(p.dead_lettered()) << dead_letters << ", lag " << Thousands(lag)
              << (intake ? " records\n" : " events\n");
    for (const auto& part : p.partitions()) {
      std::cout << "  " << part.topic() << "/" << part.partition() << "  next " << part.next_offset() << "  end "
                << part.end_offset() << "  lag " << part.lag() << "\n";
    }
  }
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  const char* env_target = std::getenv("SALES_TARGET");
  std::string target = env_target && *env_target ? env_target : "127.0.0.1:50051";
  std::string source = "marketing_system", actor = "salesctl";
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      const std::string prefix = std::string(flag) + "=";
      if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
      return std::nullopt;
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (auto v = value("--target")) {
      target = *v;
    } else if (auto v = value("--source")) {
      source = *v;
    } else if (auto v = value("--actor")) {
      actor = *v;
    } else if (a.rfind("--", 0) == 0) {
      std::cerr << "salesctl: unknown flag " << a << "\n\n" << kUsage;
      return 2;
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() == 2 && positional[0] == "import") return Import(target, positional[1], source, actor);
  if (positional.size() == 1 && positional[0] == "status") return Status(target);
  std::cerr << kUsage;
  return 2;
}

}  // namespace sales::salesctl

int main(int argc, char** argv) { return sales::salesctl::Main(argc, argv); }
