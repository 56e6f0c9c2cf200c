#!/usr/bin/env bash
# Installs what building, testing and running the platform needs on Debian 12, and nothing twice:
# apt packages that are missing, then the Apache Kafka broker jars (deploy/kafka/fetch.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(
  g++ cmake ninja-build make pkg-config
  librdkafka-dev libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  librocksdb-dev libgtest-dev libgmock-dev uuid-dev libssl-dev
  kcat maven openjdk-17-jre-headless
)

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

"$here/kafka/fetch.sh" >/dev/null
