// Runs a real service executable as a child process for integration tests: ports chosen by the
// service (port 0) and read from its --ready-file, logs kept in a file and printed when a test
// fails, and the process always reaped: killed with SIGKILL if still running when the object goes
// (and by the kernel if the test process itself dies: PR_SET_PDEATHSIG).
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"

namespace sales::testing {

struct ServiceOptions {
  std::string binary;                      // path of the executable
  std::vector<std::string> args;           // flags; --ready-file, --grpc-listen and --http-listen are added
  std::map<std::string, std::string> env;  // added to the environment
  std::string work_dir;                    // logs and the ready file go here
  absl::Duration ready_timeout = absl::Seconds(60);
};

class ServiceProcess {
 public:
  // Starts the process and waits until it serves (ready file written). On failure the log tail is
  // in the error message.
  static StatusOr<std::unique_ptr<ServiceProcess>> Start(ServiceOptions options);
  ~ServiceProcess();

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  pid_t pid() const { return pid_; }
  std::shared_ptr<::grpc::Channel> Channel() const;  // plaintext
  std::shared_ptr<::grpc::Channel> Channel(std::shared_ptr<::grpc::ChannelCredentials> credentials) const;

  // SIGKILL, no chance to clean up (crash tests).
  void Kill();
  // SIGTERM and wait; the exit code, or an error when it did not exit in time (then killed).
  StatusOr<int> Stop(absl::Duration timeout = absl::Seconds(30));
  bool running() const { return pid_ > 0; }
  std::string LogTail(size_t lines = 40) const;

 private:
  ServiceProcess() = default;
  ServiceOptions options_;
  std::string log_path_;
  pid_t pid_ = -1;
  int grpc_port_ = 0;
  int http_port_ = 0;
};

// An HTTP GET on 127.0.0.1:port; returns the whole response (status line, headers, body).
StatusOr<std::string> HttpGet(int port, const std::string& path);

}  // namespace sales::testing
