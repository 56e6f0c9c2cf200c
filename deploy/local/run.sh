#!/usr/bin/env bash
# `make run`: a local Kafka broker and the services on this machine, in the foreground.
# Ctrl-C (or SIGTERM) stops the services, then the broker. State survives between runs under
# $BUILD/local (delete it for a fresh start).
#
# Ports (override with the environment): Kafka 19092, lead acquisition gRPC 50051, HTTP 9101,
# first offers gRPC 50052, HTTP 9102, client support gRPC 50053, HTTP 9103.
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
start_service first-offers "$build/services/first_offers/first-offers" "$offers_grpc" "$offers_http"
start_service client-support "$build/services/client_support/client-support" "$support_grpc" "$support_http"
start_service reporting "$build/services/reporting/reporting" "$reporting_grpc" "$reporting_http"

# Show it working (deploy/local/demo.sh: idempotent, so every `make run` leaves the same state).
grpcurl=$tools/grpcurl
echo
SALES_GRPCURL=$grpcurl DEMO_LEAD_ID_FILE="$state/demo-lead-id" "$root/deploy/local/demo.sh" "$build" "127.0.0.1:$lead_grpc"
demo_offer() {  # lead_id: qualified -> catalogue -> first offer drafted, sent, accepted
  local lead=$1 g="$grpcurl -plaintext -H x-actor:make-run-demo"
  local until day
  until=$(date -u -d "+30 days" +%Y-%m-%dT00:00:00Z)
  day=$(date -u +%F)
  echo "run: qualifying the lead (lead acquisition), which opens an opportunity in first offers:"
  $g -d "{\"idempotency_key\":\"demo-qualify-$lead\",\"lead_id\":\"$lead\",\"need\":\"CRM for 12 sales people\",
    \"budget\":\"10k EUR\",\"timeline\":\"Q1\",\"decision_maker\":\"owner\"}" \
    "127.0.0.1:$lead_grpc" sales.api.v1.LeadAcquisition/QualifyLead >/dev/null || true
  $g -d '{"idempotency_key":"demo-product-crm-pro","code":"crm-pro","name":"CRM Pro, άδεια χρήστη",
    "list_price":{"units":"4990","currency":"EUR"},"unit_cost":{"units":"1200","currency":"EUR"}}' \
    "127.0.0.1:$offers_grpc" sales.api.v1.FirstOffers/UpsertProduct >/dev/null
  for _ in $(seq 1 50); do  # the qualification travels through sales.leads
    $g -d "{\"lead_id\":\"$lead\"}" "127.0.0.1:$offers_grpc" sales.api.v1.FirstOffers/GetOpportunity \
      >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "run: drafting, sending and accepting a first offer (first offers):"
  local reply offer
  reply=$($g -d "{\"idempotency_key\":\"demo-offer-$lead-$day\",\"lead_id\":\"$lead\",\"terms\":{\"currency\":\"EUR\",
    \"lines\":[{\"product_code\":\"crm-pro\",\"quantity\":\"12\",\"discount_bp\":500}],\"valid_until\":\"$until\",
    \"payment_terms\":\"PAYMENT_TERMS_NET_30\"}}" "127.0.0.1:$offers_grpc" sales.api.v1.FirstOffers/DraftOffer) || return 0
  offer=$(echo "$reply" | sed -n 's/.*"offer_id": "\([^"]*\)".*/\1/p')
  $g -d "{\"idempotency_key\":\"demo-send-$offer\",\"offer_id\":\"$offer\"}" "127.0.0.1:$offers_grpc" \
    sales.api.v1.FirstOffers/SendOffer >/dev/null || true
  $g -d "{\"idempotency_key\":\"demo-accept-$offer\",\"offer_id\":\"$offer\"}" "127.0.0.1:$offers_grpc" \
    sales.api.v1.FirstOffers/AcceptOffer || true
  $g -d "{\"offer_id\":\"$offer\"}" "127.0.0.1:$offers_grpc" sales.api.v1.FirstOffers/GetOffer || true
}
demo_client() {  # lead_id: the accepted offer opened a client; a PBX call from its number
  local lead=$1 g="$grpcurl -plaintext -H x-actor:make-run-demo" client=""
  for _ in $(seq 1 50); do  # the acceptance travels through sales.offers
    client=$($g -d "{\"lead_id\":\"$lead\"}" "127.0.0.1:$support_grpc" sales.api.v1.ClientSupport/GetClient \
      2>/dev/null | sed -n 's/.*"client_id": "\([^"]*\)".*/\1/p') && [ -n "$client" ] && break
    sleep 0.1
  done
  [ -n "$client" ] || { echo "run: client support has not opened the client yet"; return 0; }
  echo "$client" >"$state/demo-client-id"
  echo "run: the accepted offer opened client $client (client support); a PBX call record from its number:"
  echo '{"schema_version":1,"call_id":"demo-call-1","from":"210 555 0101","to":"+30 210 000 0000","direction":"inbound","started_at":"2026-11-26T09:15:00+02:00","duration_seconds":240,"answered":true,"extension":"201"}' \
    | kcat -b "127.0.0.1:$KAFKA_PORT" -P -t telephony.calls.inbound
  sleep 1
  $g -d "{\"client_id\":\"$client\"}" "127.0.0.1:$support_grpc" sales.api.v1.ClientSupport/GetClient || true
}
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
lead_id=$(cat "$state/demo-lead-id")
demo_offer "$lead_id"
demo_client "$lead_id"
"$root/deploy/local/demo-history.sh" "$grpcurl" "127.0.0.1:$KAFKA_PORT" "127.0.0.1:$lead_grpc" "127.0.0.1:$offers_grpc" \
  "127.0.0.1:$support_grpc" "127.0.0.1:$reporting_grpc" "$(cat "$state/demo-client-id" 2>/dev/null)"
demo_report
cat <<MSG

The platform is running. Paste the README's examples into another terminal, top to bottom
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
