#!/usr/bin/env bash
# Runs every fuzz target of a SALES_FUZZ=ON build (clang + libFuzzer) for SECONDS each. New inputs
# that reach new code go to BUILD/fuzz-corpus/<name> (the committed seeds in tests/fuzz/corpus are
# read, never written); a crash is written to tests/fuzz/regressions/<name>/ - commit it with the
# fix, and the ordinary build replays it in every `make test`.
#   tests/fuzz/run-fuzz.sh BUILD SECONDS
set -euo pipefail
build=$(cd "${1:?usage: run-fuzz.sh BUILD SECONDS}" && pwd)
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
failed=0
for target in csv intake_json events validators; do
  bin="$build/tests/fuzz/${target}_fuzz"
  mkdir -p "$build/fuzz-corpus/$target" "$here/regressions/$target"
  echo "fuzz: ${target}_fuzz for ${seconds}s" >&2
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$here/regressions/$target/" "$build/fuzz-corpus/$target" "$here/corpus/$target" \
      > "$build/fuzz-$target.log" 2>&1; then
    echo "fuzz: ${target}_fuzz FOUND A CRASH (input in tests/fuzz/regressions/$target/); log: $build/fuzz-$target.log" >&2
    tail -30 "$build/fuzz-$target.log" >&2
    failed=1
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$build/fuzz-$target.log" | tail -2 >&2 || true
done
exit $failed
