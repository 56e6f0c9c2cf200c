// salesctl: the platform's command-line tool for operators and integrators.
//
//   salesctl [--target=HOST:PORT] import FILE.csv [--source=LABEL] [--actor=NAME] [--map FIELD=COLUMN]...
//            [--delimiter=,|;|tab] [--encoding=NAME] [--dry-run]
//   salesctl status | dead-letters | history | export | snapshot ...   (tools/salesctl/ops.h)
//   salesctl [--target=HOST:PORT] report NAME --period=P [flags]   (tools/salesctl/report.h)
//
// The target defaults to $SALES_TARGET or 127.0.0.1:50051 (lead acquisition under `make run`);
// for `report`, to $SALES_REPORTING_TARGET or 127.0.0.1:50054 (reporting).
// Exit codes: 0 done; 1 failed (service unreachable or refused the request, file unreadable);
// 2 usage; 3 import done with rejected rows.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <iostream>

#include "common/base/strings.h"
#include "sales/api/v1/admin.grpc.pb.h"
#include "tools/salesctl/channel.h"
#include "tools/salesctl/csv.h"
#include "tools/salesctl/import.h"
#include "tools/salesctl/ops.h"
#include "tools/salesctl/report.h"
#include "tools/salesctl/token.h"

namespace sales::salesctl {
namespace {

const std::string kUsage =
    "usage: salesctl [--target=HOST:PORT] COMMAND\n"
    "\n"
    "commands:\n"
    "  import FILE.csv [--source=LABEL] [--actor=NAME] [--map FIELD=COLUMN]... [--delimiter=D]\n"
    "                  [--encoding=NAME] [--dry-run]\n"
    "      Streams an export of leads through StreamingImportLeads. Columns are recognised by the\n"
    "      header spellings of common CRM, marketing and spreadsheet exports, English and Greek\n"
    "      (First Name + Last Name, E-mail Address, Mobile Phone, Company Name, Όνομα, Επώνυμο,\n"
    "      Εταιρεία, Τηλέφωνο, ...; docs/INTAKE.md). Fields: name, first_name, middle_name,\n"
    "      last_name, company, email, phone, source, campaign, external_id, region,\n"
    "      product_interest, company_size.\n"
    "      --map FIELD=COLUMN    take FIELD from that column (repeatable; wins over the guess;\n"
    "                            --map FIELD= leaves it out)\n"
    "      --delimiter=D         ',', ';' or tab (default: detected from the header)\n"
    "      --encoding=NAME       utf-8, utf-16, windows-1253, iso-8859-7, ... (default: UTF-8, or\n"
    "                            UTF-16 with a byte-order mark)\n"
    "      --source=LABEL        the source of rows without one (default: channel marketing_system)\n"
    "      --dry-run             show the mapping, the first rows and what the import would do\n"
    "                            (the service decides every row), writing nothing\n"
    "  status [--targets=H:P,...] [--partitions] [--json]\n"
    "      Where every consumer of every service stands (all four by default): lag as a count\n"
    "      and as a time, applied, redelivered, dead letters, the store's size.\n"
    "  dead-letters list|show|redrive|discard [TOPIC/PARTITION/OFFSET] [--all-pending] [--reason=R]\n"
    "      The records a service refused: list, show decoded, re-drive into the projection after\n"
    "      a fix (exactly once), discard with a recorded reason.\n"
    "  history AGGREGATE_ID [--service=NAME]\n"
    "      One aggregate's events in order: who, when, what.\n"
    "  export --topic=T [--type=X]... [--aggregate=ID] [--from=D] [--to=D] [-o FILE]\n"
    "      A topic's events as JSON lines.\n"
    "  rebuild start|status|switch|abort|discard [--watch] [--service=NAME]\n"
    "      Rebuild the store beside the serving one (progress, ETA), switch when caught up,\n"
    "      discard the previous one; the service serves throughout.\n"
    "  asof start NAME --at=TIME [--watch] | asof list | asof discard NAME [--service=NAME]\n"
    "      A read-only store as of a past time beside the serving one; queries that carry the\n"
    "      metadata x-as-of-store: NAME are answered from it (report: --as-of-store=NAME).\n"
    "  snapshot [--name=N] [--service=NAME]\n"
    "      A checkpoint of a service's store; restore with the service's --restore-from.\n"
    "  token sign --key=FILE --subject=NAME --roles=ROLE,... [--alg=RS256] [--ttl=12h]\n"
    "      A bearer token for services that check tokens (docs/SECURITY.md).\n"
    "      (salesctl COMMAND --help for each command's flags; docs/OPERATIONS.md)\n" +
    ReportUsage() +
    "\n"
    "The target defaults to $SALES_TARGET, else 127.0.0.1:50051 (report: $SALES_REPORTING_TARGET,\n"
    "else 127.0.0.1:50054).\n" +
    ConnectionUsage();

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

// The rejected rows: grouped by reason with counts, then line by line.
void PrintRejections(const std::vector<RowProblem>& rejected, const char* verb) {
  if (rejected.empty()) return;
  std::cout << verb << " rows by reason:\n";
  for (const auto& [reason, n] : RejectionsByReason(rejected)) {
    std::cout << "  " << Thousands(n) << std::string(std::max<size_t>(1, 8 - Thousands(n).size()), ' ') << reason
              << "\n";
  }
  std::cout << verb << " rows:\n";
  for (const auto& r : rejected) std::cout << "  line " << r.line << ": " << r.reason << "\n";
}

int Import(const std::string& target, const std::string& path, const ImportOptions& options,
           const std::string& actor, bool dry_run) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) {
    std::cerr << "salesctl: cannot read " << bytes.status().message() << "\n";
    return 1;
  }
  auto text = DecodeFile(*bytes, options);
  if (!text.ok()) {
    std::cerr << "salesctl: " << path << ": " << text.status().message() << "\n";
    return 2;
  }
  auto prepared = PrepareRows(ParseCsv(text->text, text->delimiter), options);
  if (!prepared.ok()) {
    std::cerr << "salesctl: " << path << ": " << prepared.status().message() << "\n";
    return prepared.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  const char* delimiter = text->delimiter == '\t' ? "tab" : text->delimiter == ';' ? "';'" : "','";
  if (dry_run) {
    std::cout << "Dry run of " << path << ": " << text->encoding << ", delimiter " << delimiter << ", "
              << Thousands(static_cast<int64_t>(prepared->requests.size())) << " rows. Nothing is written.\n"
              << "Columns:\n";
    for (const auto& line : DescribeMapping(*prepared)) std::cout << "  " << line << "\n";
    std::cout << "First rows as they would be imported:\n";
    for (size_t i = 0; i < prepared->requests.size() && i < 5; ++i) {
      std::cout << "  line " << prepared->requests[i].client_ref() << ": " << DescribeRow(prepared->requests[i].lead())
                << "\n";
    }
  } else if (!prepared->ignored_columns.empty()) {
    std::cerr << "salesctl: not imported (no lead field):";
    for (const auto& c : prepared->ignored_columns) std::cerr << " \"" << c << "\"";
    std::cerr << "\n";
  }
  // Default channel settings: the answer comes in chunks well below gRPC's 4 MB message limit.
  auto stub = api::v1::LeadAcquisition::NewStub(Connect(target));
  const bool tty = isatty(STDERR_FILENO);
  auto summary = RunImport(*stub, *prepared, actor, 100000,
                           tty ? DrawProgress : std::function<void(int64_t, int64_t)>(), dry_run);
  if (!summary.ok()) {
    std::cerr << (tty ? "\n" : "") << "salesctl: " << summary.status().message()
              << (dry_run ? "\n" : "\nNothing is lost: run the same import again; rows already imported are recognised.\n");
    return 1;
  }
  const int64_t rejected = static_cast<int64_t>(summary->rejected.size());
  std::cout << (dry_run ? "Would import " : "Imported ") << path << " (" << Thousands(summary->rows) << " rows)\n"
            << "  " << (dry_run ? "created " : "imported") << "    " << Thousands(summary->imported) << "\n"
            << "  linked      " << Thousands(summary->linked) << "   (same person as an existing lead)\n"
            << "  duplicates  " << Thousands(summary->duplicates) << "\n"
            << "  rejected    " << Thousands(rejected) << "\n";
  PrintRejections(summary->rejected, dry_run ? "Would reject" : "Rejected");
  if (!summary->left_out.empty()) {
    std::cout << (dry_run ? "Would leave out" : "Left out") << " (malformed, beside a usable contact; the lead "
              << (dry_run ? "would be" : "was") << " imported without it):\n";
    for (const auto& r : summary->left_out) std::cout << "  line " << r.line << ": " << r.reason << "\n";
  }
  return summary->rejected.empty() ? 0 : 3;
}

// `salesctl [--target=...] report NAME ...`: its own flags (tools/salesctl/report.h).
int Report(const std::vector<std::string>& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end() || std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::cout << kUsage;
    return 0;
  }
  const char* env_target = std::getenv("SALES_REPORTING_TARGET");
  auto parsed = ParseReportArgs(args, env_target && *env_target ? env_target : "127.0.0.1:50054");
  if (!parsed.ok()) {
    std::cerr << "salesctl: report: " << parsed.status().message() << "\n\n" << kUsage;
    return 2;
  }
  auto stub = api::v1::Reporting::NewStub(Connect(parsed->target));
  return RunReport(*parsed, *stub);
}

// The command word: the first argument that is not a flag (nor --map's value).
std::string CommandOf(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--map") {
      ++i;
    } else if (a.rfind("-", 0) != 0) {
      return a;
    }
  }
  return "";
}

}  // namespace

int Main(int argc, char** argv) {
  // The TLS flags apply to every command: taken out here, before each command parses its own.
  std::vector<std::string> all(argv + 1, argv + argc);
  if (Status s = TakeConnectionFlags(all); !s.ok()) {
    std::cerr << "salesctl: " << s.message() << "\n";
    return 2;
  }
  std::vector<char*> kept = {argv[0]};
  for (std::string& a : all) kept.push_back(a.data());
  argc = static_cast<int>(kept.size());
  argv = kept.data();
  if (IsOpsCommand(CommandOf(argc, argv))) return RunOps(std::vector<std::string>(argv + 1, argv + argc));
  if (CommandOf(argc, argv) == "token") return RunToken(std::vector<std::string>(argv + 1, argv + argc));
  if (CommandOf(argc, argv) == "report") {
    std::vector<std::string> args;  // all but the word "report": NAME and every flag
    bool command_seen = false;
    for (int i = 1; i < argc; ++i) {
      if (!command_seen && std::string(argv[i]) == "report") {
        command_seen = true;
      } else {
        args.push_back(argv[i]);
      }
    }
    return Report(args);
  }
  const char* env_target = std::getenv("SALES_TARGET");
  std::string target = env_target && *env_target ? env_target : "127.0.0.1:50051";
  std::string actor = "salesctl";
  ImportOptions options;
  bool dry_run = false;
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
      options.default_source = *v;
    } else if (auto v = value("--encoding")) {
      options.encoding = *v;
    } else if (auto v = value("--delimiter")) {
      if (*v == "," || *v == "comma") {
        options.delimiter = ',';
      } else if (*v == ";" || *v == "semicolon") {
        options.delimiter = ';';
      } else if (*v == "tab" || *v == "\t" || *v == "\\t") {
        options.delimiter = '\t';
      } else {
        std::cerr << "salesctl: --delimiter=" << *v << ": say ',', ';' or tab\n";
        return 2;
      }
    } else if (a == "--map" || value("--map")) {
      std::string spec;
      if (auto v = value("--map")) {
        spec = *v;
      } else if (i + 1 < argc) {
        spec = argv[++i];
      }
      const size_t eq = spec.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "salesctl: --map takes FIELD=COLUMN (e.g. --map \"email=E-mail Address\")\n";
        return 2;
      }
      options.map.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
    } else if (a == "--dry-run") {
      dry_run = true;
    } else if (auto v = value("--actor")) {
      actor = *v;
    } else if (a.rfind("--", 0) == 0) {
      std::cerr << "salesctl: unknown flag " << a << "\n\n" << kUsage;
      return 2;
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() == 2 && positional[0] == "import") return Import(target, positional[1], options, actor, dry_run);
  std::cerr << kUsage;
  return 2;
}

}  // namespace sales::salesctl

int main(int argc, char** argv) { return sales::salesctl::Main(argc, argv); }
