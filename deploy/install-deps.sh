#!/usr/bin/env bash
# Installs what building, testing and running the platform needs on Debian 12, and nothing twice:
# apt packages that are missing, then the Apache Kafka broker jars (deploy/kafka/fetch.sh), the
# dashboard's npm packages (services/reporting/web: the charting library and the browser test's
# driver, exact versions from its package-lock.json) and grpcurl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(
  g++ cmake ninja-build make pkg-config
  librdkafka-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  librocksdb-dev libgtest-dev libgmock-dev uuid-dev libssl-dev libicu-dev libxlsxwriter-dev libcli11-dev libjwt-dev libcpp-httplib-dev
  libjemalloc-dev
  kcat jq curl openssl maven openjdk-17-jre-headless python3
  chromium fonts-dejavu-core
)
# `make fuzz` only (install-deps.sh --fuzz): clang and its libFuzzer runtime.
if [ "${1:-}" = "--fuzz" ]; then packages=(clang libclang-rt-14-dev); fi
# Node.js and npm: Debian's, unless a node with npm is already installed (e.g. NodeSource's, which
# conflicts with Debian's npm package).
if [ "${1:-}" != "--fuzz" ] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo; missing: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

[ "${1:-}" = "--fuzz" ] && exit 0

"$here/kafka/fetch.sh" >/dev/null

# The dashboard's npm packages, installed again only when package-lock.json changed.
web="$here/../services/reporting/web"
stamp="$web/node_modules/.sales-installed"
lock_sum=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "install-deps: installing the dashboard's npm packages (services/reporting/web)" >&2
  (cd "$web" && npm ci --silent --no-audit --no-fund --ignore-scripts >&2)
  echo "$lock_sum" >"$stamp"
fi

# grpcurl: the standard gRPC command-line client, used by `make run`'s demo, the README's examples
# and the reflection test. Built from the Go module proxy into the tools cache, once.
tools=${SALES_TOOLS_DIR:-$HOME/.cache/sales-platform/bin}
if [ ! -x "$tools/grpcurl" ]; then
  command -v go >/dev/null || { echo "install-deps: go not found; it is needed once to build grpcurl" >&2; exit 1; }
  echo "install-deps: building grpcurl into $tools" >&2
  mkdir -p "$tools"
  GOBIN="$tools" GOFLAGS=-mod=mod go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.1 >&2
fi
