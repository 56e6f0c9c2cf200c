#!/usr/bin/env bash
# `make bench`: starts a Kafka broker of its own (fresh data, port 39092 unless BENCH_KAFKA_PORT
# says otherwise, state in <build>/kafka-bench), runs sales_bench against it, and always stops the
# broker again, whether the benchmark ends, fails or is interrupted (Ctrl-C, kill).
# Figures: <build>/bench/results.json; service logs and stores: <build>/bench/work.
#   tests/bench/run-bench.sh [build-dir] [sales_bench flags, e.g. --only=rebuild --repeats=1]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
export KAFKA_PORT=${BENCH_KAFKA_PORT:-39092}
export KAFKA_DIR=$build/kafka-bench
bench_pid=
cleanup() {
  # sales_bench's services die with it (PR_SET_PDEATHSIG).
  if [ -n "$bench_pid" ]; then kill "$bench_pid" 2>/dev/null || true; wait "$bench_pid" 2>/dev/null || true; fi
  "$root/deploy/kafka/kafka.sh" stop >/dev/null 2>&1 || true
  rm -rf "$KAFKA_DIR/data"  # the rebuild topic alone is ~0.5 GB
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# One benchmark per port on this machine at a time (another worktree's `make bench` included):
# two would share one broker, disturb each other's figures, and the first to end would stop it.
exec 9>"/tmp/sales-bench-$KAFKA_PORT.lock"
if ! flock -n 9; then
  echo "run-bench.sh: another benchmark uses port $KAFKA_PORT; waiting for it to end" >&2
  flock 9
fi
KAFKA_FRESH=1 "$root/deploy/kafka/kafka.sh" start 9>&-  # the broker must not hold the lock
# kafka.sh reports ready when the port answers; make sure it is our broker that does (a broker of
# someone else's on the same port would otherwise be measured, and stopped under us).
if ! kill -0 "$(cat "$KAFKA_DIR/broker.pid" 2>/dev/null)" 2>/dev/null; then
  echo "run-bench.sh: our broker is not running (port $KAFKA_PORT taken by another?); see $KAFKA_DIR/broker.log" >&2
  exit 1
fi
mkdir -p "$build/bench"
rm -rf "$build/bench/work"
# In the background so that a signal reaches the traps above at once (bash runs traps only
# between commands, and `wait` is interruptible).
"$build/tests/bench/sales_bench" --kafka-bootstrap="127.0.0.1:$KAFKA_PORT" --out="$build/bench/results.json" \
  --work-dir="$build/bench/work" "${@:2}" 9>&- &
bench_pid=$!
status=0
wait "$bench_pid" || status=$?
bench_pid=
exit "$status"
