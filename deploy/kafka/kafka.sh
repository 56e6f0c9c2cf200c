#!/usr/bin/env bash
# Single-node KRaft Kafka broker on loopback for development, tests and CI.
#
#   kafka.sh start     fetch the jars if needed, format storage, start in the background, wait until it answers
#   kafka.sh stop      stop it (SIGTERM, then SIGKILL after a grace period); a no-op when it is not running
#   kafka.sh status    exit 0 when it is running and answers a metadata request
#   kafka.sh run       like start, but in the foreground (Ctrl-C stops it)
#
# Settings (environment):
#   KAFKA_PORT          client port, default 19092 (controller: KAFKA_PORT+1)
#   KAFKA_DIR           state folder (config, data, log, pid), default ./build/kafka
#   KAFKA_HEAP          JVM heap, default 768m
#   KAFKA_FRESH=1       wipe the data folder before start (tests use a fresh log)
#   KAFKA_SECURE_DIR    a secured node instead: deploy/cluster/server.properties.template (mutual
#                       TLS, ACLs) rendered for one node on loopback. The folder holds broker.pem
#                       (key, then certificate: CN=kafka-broker, for 127.0.0.1), ca.pem and
#                       admin.properties (librdkafka settings with the admin's certificate, for the
#                       readiness check).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=${KAFKA_PORT:-19092}
cport=$((port + 1))
dir=${KAFKA_DIR:-$PWD/build/kafka}
heap=${KAFKA_HEAP:-768m}
pidfile="$dir/broker.pid"
logfile="$dir/broker.log"
bootstrap="127.0.0.1:$port"

log() { echo "kafka.sh: $*" >&2; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

secure=${KAFKA_SECURE_DIR:-}

answers() {
  # A metadata request through librdkafka (kcat) proves the broker really serves clients.
  if [ -n "$secure" ]; then
    kcat -L -b "$bootstrap" -m 3 -q -F "$secure/admin.properties" >/dev/null 2>&1
  else
    kcat -L -b "$bootstrap" -m 3 -q >/dev/null 2>&1
  fi
}

write_config() {
  mkdir -p "$dir/data"
  if [ -n "$secure" ]; then
    write_secure_config
    return
  fi
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
# The platform creates its own topics with the partitions and retention it wants.
auto.create.topics.enable=false
num.partitions=6
log.segment.bytes=134217728
PROPS
  single_node_settings >> "$dir/server.properties"
}

# What one node needs whatever its listeners: every internal topic on it alone.
single_node_settings() {
  cat <<PROPS
# One node (kafka.sh)
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
}

# The cluster template for one node on loopback, with the single node's replication settings after
# it (a later key wins).
write_secure_config() {
  sed -e "s|NODE_ID|1|; s|VOTERS|1@127.0.0.1:$cport|; s|CONTROLLER_PORT|$cport|g; s|HOST|127.0.0.1|g" \
      -e "s|PORT|$port|g; s|TLS_DIR|$secure|g; s|DATA_DIR|$dir/data|" \
      "$here/../cluster/server.properties.template" > "$dir/server.properties"
  single_node_settings >> "$dir/server.properties"
}

java_cmd() {
  local home; home=$("$here/fetch.sh")
  java_cmd=(java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$dir"
    -cp "$home/libs/*")
}

prepare() {
  if [ "${KAFKA_FRESH:-0}" = 1 ]; then rm -rf "$dir/data"; fi
  write_config
  if [ ! -f "$dir/data/meta.properties" ]; then
    local id; id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    id=${id/#-/A}  # one id in 64 starts with '-', which the tool would read as an option
    "${java_cmd[@]}" kafka.tools.StorageTool format -t "$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { log "formatting storage failed:"; cat "$dir/format.log" >&2; exit 1; }
  fi
}

start() {
  if pid=$(running_pid); then log "already running (pid $pid) on $bootstrap"; return 0; fi
  if answers; then log "port $port already serves another broker; set KAFKA_PORT"; exit 1; fi
  command -v kcat >/dev/null || { log "kcat not found (apt-get install kcat)"; exit 1; }
  java_cmd
  prepare
  # setsid: the broker gets its own session so an interrupt of the caller does not reach it half-way;
  # the caller stops it with 'kafka.sh stop'.
  setsid "${java_cmd[@]}" kafka.Kafka "$dir/server.properties" >"$logfile" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  until answers; do
    if ! running_pid >/dev/null; then log "broker exited during start-up; last lines of $logfile:"; tail -30 "$logfile" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then log "broker did not answer within ${KAFKA_START_TIMEOUT:-90}s"; stop; exit 1; fi
    sleep 0.5
  done
  # Another broker on the same port answers as well, while ours may have failed to bind it.
  sleep 1
  if ! running_pid >/dev/null; then
    log "broker exited during start-up (port $port or $cport taken?); last lines of $logfile:"
    tail -30 "$logfile" >&2
    exit 1
  fi
  log "broker ready on $bootstrap (pid $(cat "$pidfile"), log $logfile)"
}

stop() {
  local pid
  if ! pid=$(running_pid); then rm -f "$pidfile"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "broker did not stop in 30s, killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
  log "broker stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running_pid >/dev/null && answers ;;
  run)
    java_cmd
    prepare
    exec "${java_cmd[@]}" kafka.Kafka "$dir/server.properties" ;;
  bootstrap) echo "$bootstrap" ;;
  *) echo "usage: $0 start|stop|status|run|bootstrap" >&2; exit 2 ;;
esac
