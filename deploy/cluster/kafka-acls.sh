#!/usr/bin/env bash
# Grants each service exactly what it needs on a cluster that authorises with ACLs
# (server.properties.template: allow.everyone.if.no.acl.found=false): it may write only the topics
# it owns, read the topics it projects, and create and describe them (so that services start in
# any order). Outside systems may write only their inbound topic.
#
#   kafka-acls.sh --bootstrap HOST:PORT --command-config admin.properties [--topic-prefix P]
#                 [--principal-prefix User:] [--print]
#
#   --command-config  a Java client properties file with the admin's certificate (CN=admin, a super
#                     user in server.properties.template), e.g.
#                       security.protocol=SSL
#                       ssl.truststore.type=PEM
#                       ssl.truststore.location=/etc/kafka/tls/ca.pem
#                       ssl.keystore.type=PEM
#                       ssl.keystore.location=/etc/kafka/tls/admin-keystore.pem   (key, then certificate)
#   --topic-prefix    the services' --topic-prefix, if any
#   --print           print the AclCommand arguments instead of running them
#
# Principals: User:lead-acquisition, User:first-offers, User:client-support, User:reporting (the CN
# of each service's certificate, SALES_KAFKA_PROPERTIES), and User:marketing and User:telephony
# for the systems that write the inbound topics. The topics each service owns are
# those of service::topics (common/service/service.h); the security test
# (tests/security/kafka_acl_integration_test.cc) runs the four services under these ACLs only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bootstrap="" command_config="" prefix="" principal="User:" print=0
while [ $# -gt 0 ]; do
  case "$1" in
    --bootstrap) bootstrap=$2; shift 2 ;;
    --command-config) command_config=$2; shift 2 ;;
    --topic-prefix) prefix=$2; shift 2 ;;
    --principal-prefix) principal=$2; shift 2 ;;
    --print) print=1; shift ;;
    *) echo "kafka-acls.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ $print = 0 ] && { [ -z "$bootstrap" ] || [ -z "$command_config" ]; }; then
  echo "kafka-acls.sh: --bootstrap and --command-config are required (or --print)" >&2
  exit 2
fi

# service | topics it writes (its own and its dead letters) | inbound topic it reads and creates |
# other services' topics it reads
table=(
  "lead-acquisition|sales.leads sales.leads.dlq marketing.leads.inbound.dlq|marketing.leads.inbound|"
  "first-offers|sales.offers sales.offers.dlq||sales.leads"
  "client-support|sales.clients sales.clients.dlq telephony.calls.inbound.dlq|telephony.calls.inbound|sales.leads sales.offers"
  "reporting|sales.plans sales.plans.dlq||sales.leads sales.offers sales.clients"
)
writers=("marketing|marketing.leads.inbound" "telephony|telephony.calls.inbound")

topics() { for t in "$@"; do printf -- ' --topic %s%s' "$prefix" "$t"; done; }

# One AclCommand run per line: a principal, operations, resources.
commands=()
services=""
for row in "${table[@]}"; do
  IFS='|' read -r service own inbound reads <<<"$row"
  # shellcheck disable=SC2086
  {
    commands+=("--allow-principal $principal$service --operation Read --operation Describe --operation Create --operation DescribeConfigs$(topics $own $inbound $reads)")
    commands+=("--allow-principal $principal$service --operation Write$(topics $own)")
  }
  services+=" --allow-principal $principal$service"
done
# The consumers' groups (they assign partitions and keep offsets in their stores; librdkafka still
# names a group).
commands+=("$services --operation Read --resource-pattern-type prefixed --group sales-")
for row in "${writers[@]}"; do
  IFS='|' read -r writer topic <<<"$row"
  commands+=("--allow-principal $principal$writer --operation Write --operation Describe$(topics "$topic")")
done

if [ $print = 1 ]; then
  printf '%s\n' "${commands[@]}"
  exit 0
fi
home=$("$here/../kafka/fetch.sh")
run() {
  # shellcheck disable=SC2086
  java -cp "$home/libs/*" org.apache.kafka.tools.AclCommand --bootstrap-server "$bootstrap" \
    --command-config "$command_config" --add $1 >/dev/null
}
# Each run starts a JVM (about 2 s): run them side by side, and fail if any failed.
pids=()
for c in "${commands[@]}"; do
  run "$c" &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ $failed = 0 ] || { echo "kafka-acls.sh: some ACLs were not added (see above)" >&2; exit 1; }
echo "kafka-acls.sh: ${#commands[@]} sets of ACLs added" >&2
