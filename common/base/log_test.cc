#include "common/base/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/base/text.h"
#include "gtest/gtest.h"

namespace sales::log {
namespace {

// What Write() put on stderr while `fn` ran.
template <typename Fn>
std::string CaptureStderr(Fn fn) {
  char path[] = "/tmp/sales-log-test-XXXXXX";
  const int fd = mkstemp(path);
  const int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  fn();
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  unlink(path);
  return text.str();
}

TEST(Log, UntrustedBytesLeaveEachLineOneLineOfValidUtf8Json) {
  Init("test", Level::kInfo);
  const std::string line = CaptureStderr([] {
    Warn("inbound lead rejected", {{"reason", "name \"x\xff\xfey\"\nnext line\x01"}, {"name", "Ελένη\xc2\x85"}});
  });
  ASSERT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_TRUE(IsValidUtf8(line)) << line;
  EXPECT_NE(line.find(R"("reason":"name \"x\\xff\\xfey\"\nnext line\u0001")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("name":"Ελένη\u0085")"), std::string::npos) << line;
}

}  // namespace
}  // namespace sales::log
