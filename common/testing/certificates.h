// Test certificates made with the openssl command (EC P-256 keys, valid two days) in a folder:
//   ca.pem, ca.key          a test CA
//   server.pem, server.key  for 127.0.0.1 and localhost, signed by the CA
//   client.pem, client.key  CN=integration-test, signed by the CA (a caller's certificate)
//   other.pem, other.key    CN=someone-else, self-signed (a certificate the CA did not sign)
//   broker.pem              a Kafka broker's PEM keystore: key, then certificate (CN=kafka-broker,
//                           for 127.0.0.1), signed by the CA
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/testing/temp_dir.h"

namespace sales::testing {

Status MakeCertificates(const TempDir& dir);

// After MakeCertificates: `name`.pem and `name`.key, a certificate with CN=`name` signed by the CA
// (a caller's identity: a service's towards Kafka).
Status MakeClientCertificate(const TempDir& dir, const std::string& name);

}  // namespace sales::testing
