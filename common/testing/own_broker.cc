#include "common/testing/own_broker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>

#include "common/base/strings.h"

namespace sales::testing {
namespace {

bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool free = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (fd >= 0) close(fd);
  return free;
}

// A free loopback port whose successor (the broker's controller port) is free too.
int FreePortPair() {
  std::mt19937 random(std::random_device{}());
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int port = 20000 + static_cast<int>(random() % 20000);
    if (PortFree(port) && PortFree(port + 1)) return port;
  }
  return 29092;
}

}  // namespace

std::string Shell(const std::string& command, int* exit_code) {
  const std::string out = std::filesystem::temp_directory_path() / ("test-shell-" + std::to_string(getpid()));
  const int status = std::system((command + " >" + out + " 2>&1").c_str());
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(out);
  return text;
}

OwnBroker::OwnBroker(std::string dir, std::map<std::string, std::string> env)
    : dir_(std::move(dir)), env_(std::move(env)), port_(FreePortPair()) {}

OwnBroker::~OwnBroker() {
  Resume();
  Run("stop");
}

std::string OwnBroker::bootstrap() const { return StrCat("127.0.0.1:", port_); }
bool OwnBroker::Start(bool fresh) { return Run("start", fresh); }
bool OwnBroker::Stop() { return Run("stop"); }
void OwnBroker::Freeze() { Signal(SIGSTOP); }
void OwnBroker::Resume() { Signal(SIGCONT); }

bool OwnBroker::Run(const char* action, bool fresh) {
  const char* script = std::getenv("SALES_KAFKA_SCRIPT");
  if (script == nullptr || *script == '\0') {
    std::cerr << "SALES_KAFKA_SCRIPT is not set (CTest sets it to deploy/kafka/kafka.sh)\n";
    return false;
  }
  std::string env = StrCat("KAFKA_PORT=", port_, " KAFKA_DIR=", dir_, fresh ? " KAFKA_FRESH=1" : "");
  for (const auto& [k, v] : env_) absl::StrAppend(&env, " ", k, "=", v);
  int code = 0;
  const std::string out = Shell(StrCat(env, " ", script, " ", action), &code);
  if (code != 0) std::cerr << "kafka.sh " << action << " failed:\n" << out;
  return code == 0;
}

void OwnBroker::Signal(int sig) {
  std::ifstream in(dir_ + "/broker.pid");
  pid_t pid = 0;
  if (in >> pid && pid > 0) kill(pid, sig);
}

}  // namespace sales::testing
