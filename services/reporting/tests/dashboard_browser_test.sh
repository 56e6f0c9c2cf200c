#!/usr/bin/env bash
# The sales dashboard in a real browser: starts the four services on the test run's Kafka broker
# (their own topic prefix), records make run's demo sales into them (deploy/local/demo.sh and
# demo-sales.sh), then runs dashboard_browser_test.mjs, which drives headless Chromium (Debian's
# `chromium`, through puppeteer-core from services/reporting/web) over every page and checks the
# figures against the gRPC answers (grpcurl), and a second reporting service that checks tokens:
# the page asks for one and then shows the figures. Screenshots go to BUILD_DIR/dashboard-screenshots/.
# Everything it started is stopped when it ends, passed or failed.
#
#   dashboard_browser_test.sh BUILD_DIR
#   environment: SALES_TEST_KAFKA_BOOTSTRAP (the test broker), SALES_GRPCURL (set by CTest)
set -euo pipefail
build=$(cd "${1:?usage: dashboard_browser_test.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../../.." && pwd)
bootstrap=${SALES_TEST_KAFKA_BOOTSTRAP:?the test broker, e.g. 127.0.0.1:19092 (tests/CMakeLists.txt sets it)}
grpcurl=${SALES_GRPCURL:-$HOME/.cache/sales-platform/bin/grpcurl}
chromium=${SALES_CHROMIUM:-$(command -v chromium || true)}
web=$root/services/reporting/web
for need in "$grpcurl" "$chromium" "$(command -v node || true)" "$web/node_modules/puppeteer-core/package.json"; do
  [ -e "$need" ] || { echo "dashboard-test: missing ${need:-node or chromium}: run make deps" >&2; exit 1; }
done

started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/dashboard-test.XXXXXX")
prefix="dash$$x$RANDOM."
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
  echo "dashboard-test: $*" >&2
  for log in "$work"/*.log; do
    [ -f "$log" ] && { echo "--- last lines of $(basename "$log"):" >&2; tail -20 "$log" >&2; }
  done
  exit 1
}

# start_service NAME BINARY [FLAG...]: sets NAME_grpc and NAME_http (NAME with '_' for '-').
start_service() {
  local name=$1 bin=$2 var=${1//-/_}
  "$bin" --kafka-bootstrap="$bootstrap" --topic-prefix="$prefix" --partitions=3 --data-dir="$work/$name" \
    --grpc-listen=127.0.0.1:0 --http-listen=127.0.0.1:0 --ready-file="$work/$name.ready" "${@:3}" 2>"$work/$name.log" &
  pids+=($!)
  for _ in $(seq 1 600); do
    if [ -f "$work/$name.ready" ]; then
      printf -v "${var}_grpc" '%s' "$(sed -n 's/.*"grpc_port":\([0-9]*\).*/\1/p' "$work/$name.ready")"
      printf -v "${var}_http" '%s' "$(sed -n 's/.*"http_port":\([0-9]*\).*/\1/p' "$work/$name.ready")"
      return 0
    fi
    kill -0 "${pids[-1]}" 2>/dev/null || fail "$name exited during start-up"
    sleep 0.1
  done
  fail "$name did not become ready in 60 s"
}

start_service lead-acquisition "$build/services/lead_acquisition/lead-acquisition"
start_service first-offers "$build/services/first_offers/first-offers"
start_service client-support "$build/services/client_support/client-support"
start_service reporting "$build/services/reporting/reporting" \
  --client-support-url="http://127.0.0.1:$client_support_http" --lead-acquisition-url="http://127.0.0.1:$lead_acquisition_http"
echo "dashboard-test: services up after $(( $(date +%s) - started )) s; recording make run's demo sales"

SALES_GRPCURL=$grpcurl DEMO_LEAD_ID_FILE="$work/demo-lead-id" "$root/deploy/local/demo.sh" "$build" \
  "127.0.0.1:$lead_acquisition_grpc" >"$work/demo.out" 2>&1 || { cat "$work/demo.out" >&2; fail "demo.sh failed"; }
"$root/deploy/local/demo-sales.sh" "$grpcurl" "$bootstrap" "127.0.0.1:$lead_acquisition_grpc" \
  "127.0.0.1:$first_offers_grpc" "127.0.0.1:$client_support_grpc" "127.0.0.1:$reporting_grpc" \
  "$(cat "$work/demo-lead-id")" "$work" "$prefix" >"$work/demo-sales.out" 2>&1 \
  || { cat "$work/demo-sales.out" >&2; fail "demo-sales.sh failed"; }
grep -q "history recorded" "$work/demo-sales.out" || { cat "$work/demo-sales.out" >&2; fail "the demo history was not recorded"; }
# One more thing for the clients page: a ticket the demo client opened ten days ago and that is
# still open, so the client needs attention.
client=$(cat "$work/demo-client-id" 2>/dev/null) || fail "the demo did not open a client"
"$grpcurl" -plaintext -H x-actor:dashboard-test -d "{\"idempotency_key\":\"dashboard-test-ticket\",\"client_id\":\"$client\",
  \"occurred_at\":\"$(date -u -d '-10 days' +%Y-%m-%dT%H:%M:%SZ)\",\"category\":\"TICKET_CATEGORY_BILLING\",
  \"priority\":\"TICKET_PRIORITY_NORMAL\",\"subject\":\"Η εξαγωγή τιμολογίων αποτυγχάνει\"}" \
  "127.0.0.1:$client_support_grpc" sales.api.v1.ClientSupport/OpenTicket >"$work/ticket.out" 2>&1 \
  || { cat "$work/ticket.out" >&2; fail "OpenTicket failed"; }
for _ in $(seq 1 100); do  # its SLA breach, appended by client support's scheduler, settles the reasons
  "$grpcurl" -plaintext -d '{"only_needing_attention":true}' "127.0.0.1:$client_support_grpc" \
    sales.api.v1.ClientSupport/ListClients 2>/dev/null | grep -q "past an SLA target" && break
  sleep 0.1
done
# A second reporting service over the same topics that checks tokens, and a head of sales' token.
head -c 48 /dev/urandom | base64 | tr -d '\n' > "$work/token-secret"
start_service reporting-tokens "$build/services/reporting/reporting" \
  --client-support-url="http://127.0.0.1:$client_support_http" --lead-acquisition-url="http://127.0.0.1:$lead_acquisition_http" \
  --auth-jwt-key="$work/token-secret" --auth-jwt-alg=HS256
head_token=$("$build/tools/salesctl/salesctl" token sign --key="$work/token-secret" --alg=HS256 --subject=dashboard-test \
  --roles=head --ttl=1h) || fail "salesctl token sign failed"
echo "dashboard-test: demo recorded after $(( $(date +%s) - started )) s; opening the dashboard"

# The pages are checked as of a moment after every event has been applied (the figures then stay
# still), over the demo's months: from the first day of the month six months ago to the end of
# this one.
period="$(date -u -d "$(date -u +%Y-%m-01) -6 month" +%Y-%m-01)..$(date -u -d "$(date -u +%Y-%m-01) +1 month -1 day" +%F)"
mkdir -p "$build/dashboard-screenshots"
SALES_WEB_DIR=$web node "$(dirname "$0")/dashboard_browser_test.mjs" \
  --base="http://127.0.0.1:$reporting_http" --grpc="127.0.0.1:$reporting_grpc" --grpcurl="$grpcurl" \
  --support-grpc="127.0.0.1:$client_support_grpc" \
  --chromium="$chromium" --out="$build/dashboard-screenshots" --period="$period" --work="$work" \
  --token-base="http://127.0.0.1:$reporting_tokens_http" --token="$head_token" \
  || fail "the browser test failed (screenshots so far in $build/dashboard-screenshots)"
echo "dashboard-test: passed in $(( $(date +%s) - started )) s; screenshots in $build/dashboard-screenshots"
