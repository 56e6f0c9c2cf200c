#!/usr/bin/env bash
# Runs every test with ctest. The integration tests share one Kafka broker, which CTest starts
# before the first of them and stops after the last (fixture `kafka`, see tests/CMakeLists.txt);
# this script stops it too when the run is interrupted or ctest itself dies.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
eval "$(grep -E '^SALES_TEST_KAFKA_(PORT|DIR)=' "$build/sales-test.env")"
stop_broker() {
  KAFKA_PORT=$SALES_TEST_KAFKA_PORT KAFKA_DIR=$SALES_TEST_KAFKA_DIR "$root/deploy/kafka/kafka.sh" stop >/dev/null 2>&1 || true
}
trap stop_broker EXIT
trap 'exit 130' INT TERM
ctest --test-dir "$build" --output-on-failure -j"${JOBS:-2}" "${@:2}"
