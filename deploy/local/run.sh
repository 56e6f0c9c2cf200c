#!/usr/bin/env bash
# `make run`: a local Kafka broker and the services on this machine, in the foreground.
# Ctrl-C (or SIGTERM) stops the services, then the broker. State survives between runs under
# $BUILD/local (delete it for a fresh start).
#
# Ports (override with the environment): Kafka 19092, lead acquisition gRPC 50051, HTTP 9101.
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

start_service() {  # name binary grpc_port http_port
  local name=$1 bin=$2 grpc=$3 http=$4
  rm -f "$state/$name.ready"
  "$bin" --kafka-bootstrap="127.0.0.1:$KAFKA_PORT" --data-dir="$state/$name" \
    --grpc-listen="127.0.0.1:$grpc" --http-listen="127.0.0.1:$http" --ready-file="$state/$name.ready" \
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

# Show it working (deploy/local/demo.sh: idempotent, so every `make run` leaves the same state).
grpcurl=$tools/grpcurl
echo
SALES_GRPCURL=$grpcurl "$root/deploy/local/demo.sh" "$build" "127.0.0.1:$lead_grpc"
cat <<MSG

The platform is running. Paste the README's examples into another terminal, top to bottom
(grpcurl is in $tools, not on PATH: export PATH="$tools:\$PATH"). Or try:
  $grpcurl -plaintext 127.0.0.1:$lead_grpc list
  $grpcurl -plaintext 127.0.0.1:$lead_grpc describe sales.api.v1.CaptureLeadRequest
  curl -s 127.0.0.1:$lead_http/metrics | grep sales_
  $build/tools/salesctl/salesctl import FILE.csv
  kcat -b 127.0.0.1:$KAFKA_PORT -C -t sales.leads -e -f 'partition %p offset %o key %k\n'
Press Ctrl-C to stop.
MSG
wait "${pids[@]}"
