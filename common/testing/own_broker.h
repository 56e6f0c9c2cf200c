// A Kafka broker of a test's own, through the project's script (deploy/kafka/kafka.sh, found
// through the environment variable SALES_KAFKA_SCRIPT that CTest sets): on free loopback ports,
// started fresh, stopped and started again with its log kept, frozen (SIGSTOP) and resumed;
// always stopped when the object goes. For tests that must not share the run's broker: the fault
// suite stops and freezes it, the security test runs a secured one.
#pragma once

#include <map>
#include <string>

namespace sales::testing {

class OwnBroker {
 public:
  // `dir` holds its data and logs; `env` is added to kafka.sh's environment (KAFKA_SECURE_DIR).
  explicit OwnBroker(std::string dir, std::map<std::string, std::string> env = {});
  ~OwnBroker();
  OwnBroker(const OwnBroker&) = delete;
  OwnBroker& operator=(const OwnBroker&) = delete;

  std::string bootstrap() const;
  // Each returns whether kafka.sh succeeded; its output goes to stderr when it did not.
  bool Start(bool fresh);
  bool Stop();
  void Freeze();
  void Resume();

 private:
  bool Run(const char* action, bool fresh = false);
  void Signal(int sig);

  std::string dir_;
  std::map<std::string, std::string> env_;
  int port_;
};

// The output (stdout and stderr) of a shell command, and its exit code.
std::string Shell(const std::string& command, int* exit_code = nullptr);

}  // namespace sales::testing
