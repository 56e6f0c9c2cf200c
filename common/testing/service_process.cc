#include "common/testing/service_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <fstream>
#include <sstream>

#include "common/base/strings.h"
#include "absl/time/clock.h"
#include "common/testing/kafka_env.h"

namespace sales::testing {
namespace {

bool ReadReady(const std::string& path, int* grpc_port, int* http_port) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  // {"grpc_port":N,"http_port":M,...}, written atomically by the service.
  auto number_after = [&](const std::string& key, int* out) {
    const size_t at = text.find("\"" + key + "\":");
    if (at == std::string::npos) return false;
    *out = std::atoi(text.c_str() + at + key.size() + 3);
    return *out > 0;
  };
  return number_after("grpc_port", grpc_port) && number_after("http_port", http_port);
}

}  // namespace

StatusOr<std::unique_ptr<ServiceProcess>> ServiceProcess::Start(ServiceOptions options) {
  std::unique_ptr<ServiceProcess> p(new ServiceProcess());
  static int counter = 0;
  const std::string tag = StrCat(++counter);
  const std::string ready = StrCat(options.work_dir, "/ready-", tag, ".json");
  p->log_path_ = StrCat(options.work_dir, "/service-", tag, ".log");
  ::unlink(ready.c_str());

  std::vector<std::string> argv = {options.binary};
  argv.insert(argv.end(), options.args.begin(), options.args.end());
  argv.push_back("--ready-file=" + ready);
  argv.push_back("--grpc-listen=127.0.0.1:0");
  argv.push_back("--http-listen=127.0.0.1:0");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int fd = ::open(p->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    for (const auto& [k, v] : options.env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  p->pid_ = pid;
  p->options_ = std::move(options);
  const bool up = WaitUntil(
      [&] {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
          p->pid_ = -1;
          return true;
        }
        return ReadReady(ready, &p->grpc_port_, &p->http_port_);
      },
      p->options_.ready_timeout);
  if (!up || p->pid_ < 0) {
    return absl::UnavailableError(StrCat(p->pid_ < 0 ? "service exited during start-up" : "service not ready in time",
                                               "; log tail:\n", p->LogTail()));
  }
  return p;
}

ServiceProcess::~ServiceProcess() { Kill(); }

std::shared_ptr<::grpc::Channel> ServiceProcess::Channel() const { return Channel(::grpc::InsecureChannelCredentials()); }

std::shared_ptr<::grpc::Channel> ServiceProcess::Channel(std::shared_ptr<::grpc::ChannelCredentials> credentials) const {
  return ::grpc::CreateChannel(StrCat("127.0.0.1:", grpc_port_), credentials);
}

void ServiceProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

StatusOr<int> ServiceProcess::Stop(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  ::kill(pid_, SIGTERM);
  int status = 0;
  const bool exited = WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
  if (!exited) {
    Kill();
    return absl::DeadlineExceededError("service did not stop after SIGTERM; killed");
  }
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return absl::InternalError(StrCat("service died by signal ", WTERMSIG(status)));
}

std::string ServiceProcess::LogTail(size_t lines) const {
  std::ifstream in(log_path_);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) StrAppend(&out, l, "\n");
  return out;
}

StatusOr<std::string> HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return absl::UnavailableError(StrCat("connect to port ", port, " failed"));
  }
  const std::string req = StrCat("GET ", path, " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace sales::testing
