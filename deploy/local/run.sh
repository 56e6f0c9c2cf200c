#!/usr/bin/env bash
# `make run`: a local Kafka broker and the services on this machine, in the foreground.
# Ctrl-C (or SIGTERM) stops the services, then the broker. State survives between runs under
# $BUILD/local (delete it for a fresh start).
#
# Ports (override with the environment): Kafka 19092, lead acquisition gRPC 50051, HTTP 9101,
# first offers gRPC 50052, HTTP 9102, client support gRPC 50053, HTTP 9103, reporting gRPC 50054, HTTP 9104
# (the sales dashboard: http://127.0.0.1:9104/dashboard/).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
state=$build/local
tools=${SALES_TOOLS_DIR:-$HOME/.cache/sales-platform/bin}
export KAFKA_PORT=${KAFKA_PORT:-19092}
export KAFKA_DIR=$state/kafka
lead_grpc=${LEAD_GRPC_PORT:-50051}
lead_http=${LEAD_HTTP_PORT:-9101}
offers_grpc=${OFFERS_GRPC_PORT:-50052}
offers_http=${OFFERS_HTTP_PORT:-9102}
support_grpc=${SUPPORT_GRPC_PORT:-50053}
support_http=${SUPPORT_HTTP_PORT:-9103}
reporting_grpc=${REPORTING_GRPC_PORT:-50054}
reporting_http=${REPORTING_HTTP_PORT:-9104}
mkdir -p "$state"

pids=()
cleanup() {
  trap '' INT TERM  # a second Ctrl-C must not leave the broker running
  trap - EXIT
  echo
  echo "run: stopping services"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$root/deploy/kafka/kafka.sh" stop
}
trap cleanup EXIT
trap 'exit 0' INT TERM

"$root/deploy/kafka/kafka.sh" start

start_service() {  # name binary grpc_port http_port [flag...]
  local name=$1 bin=$2 grpc=$3 http=$4
  rm -f "$state/$name.ready"
  "$bin" --kafka-bootstrap="127.0.0.1:$KAFKA_PORT" --data-dir="$state/$name" \
    --grpc-listen="127.0.0.1:$grpc" --http-listen="127.0.0.1:$http" --ready-file="$state/$name.ready" "${@:5}" \
    2> >(tee -a "$state/$name.log" >&2) &
  pids+=($!)
  for _ in $(seq 1 600); do
    [ -f "$state/$name.ready" ] && { echo "run: $name serving gRPC on 127.0.0.1:$grpc, HTTP on 127.0.0.1:$http"; return 0; }
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "run: $name exited; see $state/$name.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "run: $name did not become ready" >&2
  exit 1
}

start_service lead-acquisition "$build/services/lead_acquisition/lead-acquisition" "$lead_grpc" "$lead_http"
start_service first-offers "$build/services/first_offers/first-offers" "$offers_grpc" "$offers_http"
start_service client-support "$build/services/client_support/client-support" "$support_grpc" "$support_http"
# The dashboard's page reads managers' names and the clients needing attention from these two.
start_service reporting "$build/services/reporting/reporting" "$reporting_grpc" "$reporting_http" \
  --lead-acquisition-url="http://127.0.0.1:$lead_http" --client-support-url="http://127.0.0.1:$support_http"
echo "run: the sales dashboard (reporting): http://127.0.0.1:$reporting_http/dashboard/"

# Show it working (deploy/local/demo.sh: idempotent, so every `make run` leaves the same state).
grpcurl=$tools/grpcurl
echo
SALES_GRPCURL=$grpcurl DEMO_LEAD_ID_FILE="$state/demo-lead-id" "$root/deploy/local/demo.sh" "$build" "127.0.0.1:$lead_grpc"
demo_report() {  # a company revenue target for this month, and where it stands
  local g="$grpcurl -plaintext -H x-actor:make-run-demo" month
  month=$(date -u +%Y-%m)
  echo "run: a revenue target for $month and plan against actual (reporting):"
  $g -d "{\"idempotency_key\":\"demo-target-$month\",\"period\":\"$month\",\"metric\":\"PLAN_METRIC_REVENUE\",
    \"dimension\":\"PLAN_DIMENSION_COMPANY\",\"amount\":{\"units\":\"5000000\",\"currency\":\"EUR\"}}" \
    "127.0.0.1:$reporting_grpc" sales.api.v1.Reporting/SetTarget >/dev/null || true
  sleep 1  # the acceptance travels through sales.offers
  $g -d "{\"period\":\"$month\",\"metric\":\"PLAN_METRIC_REVENUE\"}" "127.0.0.1:$reporting_grpc" \
    sales.api.v1.Reporting/GetPlanVsActual || true
}
"$root/deploy/local/demo-sales.sh" "$grpcurl" "127.0.0.1:$KAFKA_PORT" "127.0.0.1:$lead_grpc" "127.0.0.1:$offers_grpc" \
  "127.0.0.1:$support_grpc" "127.0.0.1:$reporting_grpc" "$(cat "$state/demo-lead-id")" "$state"
demo_report
cat <<MSG

The platform is running. The sales dashboard: http://127.0.0.1:$reporting_http/dashboard/
Paste the README's examples into another terminal, top to bottom
(grpcurl is in $tools, not on PATH: export PATH="$tools:\$PATH"). Or try:
  $grpcurl -plaintext 127.0.0.1:$lead_grpc list
  $grpcurl -plaintext 127.0.0.1:$offers_grpc list sales.api.v1.FirstOffers
  $grpcurl -plaintext -d '{}' 127.0.0.1:$offers_grpc sales.api.v1.FirstOffers/ListOpportunities
  $grpcurl -plaintext -d '{"only_needing_attention":true}' 127.0.0.1:$support_grpc sales.api.v1.ClientSupport/ListClients
  $grpcurl -plaintext -d '{"period":"$(date -u +%Y)","metric":"PLAN_METRIC_REVENUE","dynamics":"BUCKET_MONTH"}' 127.0.0.1:$reporting_grpc sales.api.v1.Reporting/GetPlanVsActual
  $grpcurl -plaintext 127.0.0.1:$lead_grpc describe sales.api.v1.CaptureLeadRequest
  curl -s 127.0.0.1:$lead_http/metrics | grep sales_
  $build/tools/salesctl/salesctl import FILE.csv
  kcat -b 127.0.0.1:$KAFKA_PORT -C -t sales.leads -e -f 'partition %p offset %o key %k\n'
Press Ctrl-C to stop.
MSG
wait "${pids[@]}"
