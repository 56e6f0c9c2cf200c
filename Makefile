# The two commands a new user needs:
#   make run    install what is missing, build, start a local Kafka broker and the services
#   make test   install what is missing, build, run every test against a real broker
# Also: make build, make unit (unit tests only, no broker), make bench (performance figures, own broker),
# make sanitize (AddressSanitizer + UndefinedBehaviorSanitizer build of everything in $(BUILD)-asan,
# then every test in it; run it before submitting a change to the core), make sanitize-thread (the
# unit tests under ThreadSanitizer in $(BUILD)-tsan; SANITIZE_TESTS narrows either to a ctest
# regex), make faults (the fault
# suite at length: FAULT_ROUNDS faults under load; docs/RELIABILITY.md), make fuzz (clang +
# libFuzzer, FUZZ_SECONDS per target; tests/fuzz), make clean.

BUILD ?= build
JOBS ?= 2
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 60
FAULT_ROUNDS ?= 40
FAULT_CLIENTS ?= 8

SANITIZE_TESTS ?= .

.PHONY: all deps build test unit bench run sanitize sanitize-thread faults fuzz clean

all: build

deps:
	@deploy/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	@tests/run-tests.sh $(BUILD)

unit: build
	@ctest --test-dir $(BUILD) -L unit -j$(JOBS) --output-on-failure

bench: build
	@tests/bench/run-bench.sh $(BUILD)

faults: build
	@SALES_FAULT_ROUNDS=$(FAULT_ROUNDS) SALES_FAULT_CLIENTS=$(FAULT_CLIENTS) \
	  ctest --test-dir $(BUILD) -L fault --output-on-failure --verbose

fuzz: deps
	@deploy/install-deps.sh --fuzz
	@cmake -S . -B $(BUILD)-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	  -DCMAKE_CXX_COMPILER=clang++ -DSALES_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-fuzz -j$(JOBS) --target csv_fuzz intake_json_fuzz events_fuzz validators_fuzz
	@tests/fuzz/run-fuzz.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

run: build
	@deploy/local/run.sh $(BUILD)

sanitize: deps
	@cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSALES_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	@UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=abort_on_error=1 \
	  tests/run-tests.sh $(BUILD)-asan -R '$(SANITIZE_TESTS)|kafka_broker'

# The unit tests only: under ThreadSanitizer, Debian's librdkafka starts threads TSan's runtime
# does not know, and the first allocation on one crashes inside TSan (docs/RELIABILITY.md).
sanitize-thread: deps
	@cmake -S . -B $(BUILD)-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSALES_TSAN=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD)-tsan -j$(JOBS)
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --test-dir $(BUILD)-tsan -L unit -R '$(SANITIZE_TESTS)' -j$(JOBS) --output-on-failure


clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-fuzz
