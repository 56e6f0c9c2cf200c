#!/usr/bin/env bash
# Resolves the Apache Kafka broker jars (pom.xml beside this file) from Maven Central into a cache folder.
# Usage: fetch.sh [CACHE_DIR]   (default: $SALES_KAFKA_HOME or ~/.cache/sales-platform/kafka-<version>)
# A second run with the jars already in place downloads nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
dest=${1:-${SALES_KAFKA_HOME:-$HOME/.cache/sales-platform/kafka-$version}}
stamp="$dest/.complete-$(sha256sum "$here/pom.xml" | cut -c1-16)"
if [ -f "$stamp" ]; then
  echo "$dest"
  exit 0
fi
command -v mvn >/dev/null || { echo "fetch.sh: mvn not found (apt-get install maven)" >&2; exit 1; }
mkdir -p "$dest/libs"
echo "fetch.sh: resolving Apache Kafka $version into $dest/libs" >&2
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dest/libs" >&2
touch "$stamp"
echo "$dest"
