#include "common/testing/certificates.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "common/base/strings.h"

namespace sales::testing {

Status MakeCertificates(const TempDir& dir) {
  const std::string d = dir.path();
  {
    std::ofstream ext(d + "/server.ext");
    ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  }
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string script = StrCat(
      "cd ", d, " && (openssl req -x509 ", key, " -keyout ca.key -out ca.pem -days 2 -subj /CN=sales-test-ca",
      " && openssl req ", key, " -keyout server.key -out server.csr -subj /CN=127.0.0.1",
      " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2",
      " -extfile server.ext",
      " && openssl req ", key, " -keyout client.key -out client.csr -subj /CN=integration-test",
      " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2",
      " && openssl req -x509 ", key, " -keyout other.key -out other.pem -days 2 -subj /CN=someone-else",
      " && openssl req ", key, " -keyout kafka-broker.key -out kafka-broker.csr -subj /CN=kafka-broker",
      " && openssl x509 -req -in kafka-broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out kafka-broker.pem",
      " -days 2 -extfile server.ext && cat kafka-broker.key kafka-broker.pem > broker.pem",
      ") >/dev/null 2>&1");
  if (std::system(script.c_str()) != 0) return absl::InternalError(StrCat("making test certificates failed: ", script));
  return absl::OkStatus();
}

Status MakeClientCertificate(const TempDir& dir, const std::string& name) {
  const std::string script = StrCat(
      "cd ", dir.path(), " && (openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ", name,
      ".key -out ", name, ".csr -subj /CN=", name, " && openssl x509 -req -in ", name,
      ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ", name, ".pem -days 2) >/dev/null 2>&1");
  if (std::system(script.c_str()) != 0) return absl::InternalError(StrCat("making a test certificate failed: ", script));
  return absl::OkStatus();
}

}  // namespace sales::testing
