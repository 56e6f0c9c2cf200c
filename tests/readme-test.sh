#!/usr/bin/env bash
# The README as a test: runs the shell blocks README.md marks as runnable, top to bottom, in one
# shell, against services this script starts on the test run's Kafka broker - after
# deploy/local/demo.sh, so they meet what a fresh `make run` leaves - and fails when a command
# fails or an expected text is missing. The README and the code cannot drift apart.
#
#   tests/readme-test.sh BUILD_DIR [README.md]
#   environment: SALES_TEST_KAFKA_BOOTSTRAP (the test broker), SALES_GRPCURL (set by CTest)
#
# Convention in the README (for every service's section, present and future):
#   <!-- readme-test -->                        the ```sh block right after it is run
#   <!-- readme-test expect="TEXT" ... -->      ... and its output (stdout and stderr) must contain
#                                               each TEXT (no double quotes inside)
#   <!-- readme-test fails expect="..." -->     ... a command in it is meant to fail (an error example)
# Unmarked blocks are prose and never run. A marker must sit on the line right before the fence;
# the block may be indented (list items). The blocks share one bash session with `pipefail`:
# variables set in one block are there in the next. A block fails when any command in it fails.
#
# Before they run, the blocks' `make run` addresses are rewritten to this script's services:
#   127.0.0.1:50051, 127.0.0.1:9101   lead acquisition gRPC, HTTP (started here on free ports)
#   127.0.0.1:19092                   Kafka (the test broker)
#   `-t sales.…`, `-t marketing.…`    topic names get this run's prefix (kcat)
#   $HOME/.cache/sales-platform/bin   the folder SALES_GRPCURL is in
# and salesctl's default targets are the services started here: lead acquisition (127.0.0.1:50051,
# SALES_TARGET), for `salesctl report`, reporting (127.0.0.1:50054, SALES_REPORTING_TARGET), and for
# `salesctl status`, all four (SALES_TARGETS).
# They run in a scratch folder with `build` and `deploy` linked to this checkout's, so the README's
# relative paths work. To add a service's section: start the service in start_services() and add
# its make-run addresses to rewrite_addresses().
set -euo pipefail
build=$(cd "${1:?usage: readme-test.sh BUILD_DIR [README.md]}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
readme=${2:-$root/README.md}
bootstrap=${SALES_TEST_KAFKA_BOOTSTRAP:?the test broker, e.g. 127.0.0.1:19092 (tests/CMakeLists.txt sets it)}
grpcurl=${SALES_GRPCURL:-$HOME/.cache/sales-platform/bin/grpcurl}
[ -x "$grpcurl" ] || { echo "readme-test: grpcurl not found at $grpcurl (make deps builds it)" >&2; exit 1; }
command -v jq >/dev/null || { echo "readme-test: jq not found (make deps installs it)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/readme-test.XXXXXX")
prefix="readme$$x$RANDOM."
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "readme-test: $*" >&2
  for log in "$work"/*.log; do
    [ -f "$log" ] && { echo "--- last lines of $(basename "$log"):" >&2; tail -20 "$log" >&2; }
  done
  exit 1
}

# start_service NAME BINARY: sets NAME_grpc and NAME_http (NAME with '_' for '-').
start_service() {
  local name=$1 bin=$2 var=${1//-/_}
  "$bin" --kafka-bootstrap="$bootstrap" --topic-prefix="$prefix" --partitions=3 --data-dir="$work/$name" \
    --grpc-listen=127.0.0.1:0 --http-listen=127.0.0.1:0 --ready-file="$work/$name.ready" 2>"$work/$name.log" &
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

start_services() {
  start_service lead-acquisition "$build/services/lead_acquisition/lead-acquisition"
  start_service first-offers "$build/services/first_offers/first-offers"
  start_service client-support "$build/services/client_support/client-support"
  start_service reporting "$build/services/reporting/reporting"
}

rewrite_addresses() {
  sed -e "s/127\.0\.0\.1:50051\b/127.0.0.1:$lead_acquisition_grpc/g" \
      -e "s/127\.0\.0\.1:9101\b/127.0.0.1:$lead_acquisition_http/g" \
      -e "s/127\.0\.0\.1:50052\b/127.0.0.1:$first_offers_grpc/g" \
      -e "s/127\.0\.0\.1:9102\b/127.0.0.1:$first_offers_http/g" \
      -e "s/127\.0\.0\.1:50053\b/127.0.0.1:$client_support_grpc/g" \
      -e "s/127\.0\.0\.1:9103\b/127.0.0.1:$client_support_http/g" \
      -e "s/127\.0\.0\.1:50054\b/127.0.0.1:$reporting_grpc/g" \
      -e "s/127\.0\.0\.1:9104\b/127.0.0.1:$reporting_http/g" \
      -e "s/127\.0\.0\.1:19092\b/$bootstrap/g" \
      -e "s/-t \(sales\.\|marketing\.\|telephony\.\)/-t $prefix\1/g" \
      -e "s|\\\$HOME/\.cache/sales-platform/bin|$(dirname "$grpcurl")|g"
}

# Writes block-NN.sh (rewritten) and block-NN.marker for every marked block, in order.
extract_blocks() {
  mkdir -p "$work/blocks"
  awk -v dir="$work/blocks" '
    function fail(msg) { print FILENAME ":" FNR ": " msg > "/dev/stderr"; bad = 1; exit 1 }
    /^[ \t]*<!-- readme-test( [^>]*)? -->[ \t]*$/ { marker = $0; at = FNR; next }
    marker != "" {
      if ($0 !~ /^[ \t]*```sh[ \t]*$/) fail("a readme-test marker must be right before a ```sh block")
      n++
      indent = match($0, /[^ \t]/) - 1
      name = sprintf("%s/block-%02d", dir, n)
      print "README.md:" at ": " marker > (name ".marker")
      close(name ".marker")
      marker = ""; inside = 1; next
    }
    inside && /^[ \t]*```[ \t]*$/ { inside = 0; close(name ".sh"); next }
    inside {
      k = 0
      while (k < indent && substr($0, k + 1, 1) ~ /[ \t]/) k++
      print substr($0, k + 1) > (name ".sh")
      next
    }
    END { if (inside && !bad) fail("unterminated block") }
  ' "$readme"
  for f in "$work"/blocks/block-*.sh; do rewrite_addresses <"$f" >"$f.tmp" && mv "$f.tmp" "$f"; done
}

# Runs one block in this shell; its output in block-NN.out. Fails the test on a failed command (or
# none, for a `fails` block) or a missing expected text.
run_block() {
  local f=$1 marker errors=0 expect
  marker=$(cat "${f%.sh}.marker")
  echo "readme-test: ${marker%% <!--*} $(grep -m1 -v '^[[:space:]]*\(#\|$\)' "$f" | sed 's/^[[:space:]]*//')" >&2
  trap 'rc=$?; [[ $BASH_COMMAND == "source "* ]] ||
        { errors=$((errors + 1)); echo "readme-test: exit $rc from: $BASH_COMMAND"; }' ERR
  # shellcheck disable=SC1090
  { source "$f"; } >"${f%.sh}.out" 2>&1 </dev/null
  trap - ERR
  local problem=""
  if [[ $marker == *" fails"* ]]; then
    [ "$errors" -gt 0 ] || problem="no command failed in a block marked 'fails'"
  elif [ "$errors" -gt 0 ]; then
    problem="a command failed"
  fi
  while read -r expect; do
    [ -z "$expect" ] || grep -qF -- "$expect" "${f%.sh}.out" ||
      problem="${problem:+$problem; }the output lacks \"$expect\""
  done < <(grep -o 'expect="[^"]*"' <<<"$marker" | sed 's/^expect="//; s/"$//')
  if [ -n "$problem" ]; then
    echo "readme-test: ${marker%% <!--*} $problem" >&2
    echo "--- the block as run:" >&2; cat "$f" >&2
    echo "--- its output:" >&2; cat "${f%.sh}.out" >&2
    fail "the README's example does not work as written"
  fi
}

start_services
extract_blocks
[ -n "$(ls "$work"/blocks/*.sh 2>/dev/null)" ] || fail "no <!-- readme-test --> block in $readme"
mkdir -p "$work/cwd"
ln -s "$build" "$work/cwd/build"
ln -s "$root/deploy" "$work/cwd/deploy"
target=127.0.0.1:$lead_acquisition_grpc

# A fresh `make run` ran the demo; every later `make run` runs it again, which must record nothing new.
for run in 1 2; do
  SALES_GRPCURL=$grpcurl "$root/deploy/local/demo.sh" "$build" "$target" >"$work/demo-$run.out" 2>&1 \
    || { cat "$work/demo-$run.out" >&2; fail "deploy/local/demo.sh failed (run $run)"; }
done
demo_lead=$("$grpcurl" -plaintext -d '{}' "$target" sales.api.v1.LeadAcquisition/ListLeads \
  | jq -r '.leads[] | select(.email == "eleni@example.gr") | .lead_id')
demo_events=$("$grpcurl" -plaintext -d "{\"lead_id\": \"$demo_lead\"}" "$target" \
  sales.api.v1.LeadAcquisition/GetLeadHistory | jq '.events | length')
[ "$demo_events" = 1 ] ||
  fail "the demo lead has $demo_events events after two demo runs (expected 1: the demo must be idempotent)"

# The README's blocks, in this shell (their variables carry over), from the scratch folder.
cd "$work/cwd"
export SALES_TARGET=$target
export SALES_REPORTING_TARGET=127.0.0.1:$reporting_grpc
# `salesctl status` asks every service (by default the four make-run ports).
export SALES_TARGETS=$target,127.0.0.1:$first_offers_grpc,127.0.0.1:$client_support_grpc,127.0.0.1:$reporting_grpc
set +eu
set -o pipefail
for block in "$work"/blocks/block-*.sh; do run_block "$block"; done
set -eu

# make run's demo history, twice (the second must record nothing new), on what the blocks left.
plans() { kcat -b "$bootstrap" -C -t "${prefix}sales.plans" -e -q 2>/dev/null | wc -l; }
for run in 1 2; do
  "$root/deploy/local/demo-history.sh" "$grpcurl" "$bootstrap" "$target" "127.0.0.1:$first_offers_grpc" \
    "127.0.0.1:$client_support_grpc" "127.0.0.1:$reporting_grpc" "${CLIENT:-}" "$prefix" >"$work/history-$run.out" 2>&1
  grep -q "history recorded" "$work/history-$run.out" && ! grep -q "ERROR" "$work/history-$run.out" ||
    { cat "$work/history-$run.out" >&2; fail "deploy/local/demo-history.sh failed (run $run)"; }
  [ "$run" = 2 ] && [ "$(plans)" != "$plans_after_first" ] && fail "the demo history is not idempotent (sales.plans grew)"
  plans_after_first=$(plans)
done
last_month=$(date -u -d "$(date -u +%Y-%m-01) -1 month" +%Y-%m)
for _ in $(seq 1 100); do  # the back-dated orders travel through sales.clients
  revenue=$("$grpcurl" -plaintext -d "{\"period\":\"$last_month\",\"metric\":\"PLAN_METRIC_REVENUE\"}" \
    "127.0.0.1:$reporting_grpc" sales.api.v1.Reporting/GetPlanVsActual | jq -r '.total.rows[0].actual_amount.units // 0')
  [ "$revenue" != 0 ] && break
  sleep 0.1
done
[ "$revenue" != 0 ] || fail "the demo history left no revenue in $last_month"

# What no single block shows.
emails=$("$grpcurl" -plaintext -d '{"include_inactive": true}' "$target" sales.api.v1.LeadAcquisition/ListManagers \
  | jq -r '.managers[].email' | sort | uniq -d)
[ -z "$emails" ] || fail "the README registers a manager with an e-mail another manager has: $emails"
jq -c . "$work/lead-acquisition.log" >/dev/null 2>&1 || fail "the service logged a line that is not JSON"
echo "readme-test: $(ls "$work"/blocks/*.sh | wc -l) README blocks ran as written" >&2
