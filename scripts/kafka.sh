#!/usr/bin/env bash
# Real Apache Kafka broker (KRaft, single node: broker+controller in one JVM)
# for Herald's tests, including outage tests that stop/restart or SIGKILL it.
#
#   scripts/kafka.sh install              # jars from Maven Central into .cache/kafka/libs (skipped when present)
#   scripts/kafka.sh start [--port P]     # start on 127.0.0.1:P (default 9092), wait until groups can join
#   scripts/kafka.sh stop  [--port P]     # SIGTERM (controlled shutdown), SIGKILL after 30 s
#   scripts/kafka.sh kill  [--port P]     # SIGKILL at once (crash test)
#   scripts/kafka.sh status [--port P]    # exit 0 if running
#   scripts/kafka.sh bootstrap [--port P] # print 127.0.0.1:P
#
# State lives in <repo>/.run/kafka-P/ (data/, kafka.log, kafka.pid); the data
# dir is formatted once, so stop/start keeps topics and committed offsets.
# Delete that folder for a fresh broker. The controller listens on P+1000
# (P-1000 when P > 64535; a free port if that one is taken; KAFKA_CONTROLLER_PORT
# overrides). Knobs: KAFKA_HEAP_OPTS (-Xmx512m),
# KAFKA_OPTS (extra JVM flags), KAFKA_JIT_OPTS (-XX:TieredStopAtLevel=1; set
# empty for full JIT), KAFKA_CDS=0 (no class-data-sharing archive),
# KAFKA_NUM_PARTITIONS (1), KAFKA_START_TIMEOUT (60), KAFKA_STOP_TIMEOUT (30).
# Safe with CI=true and no stdin. Needs java 17+ and python3 (readiness probe).
set -euo pipefail

KAFKA_VERSION=4.1.1 # keep in step with services/kafka/pom.xml
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIBS="$ROOT/.cache/kafka/libs"
MARKER="$LIBS/.installed-$KAFKA_VERSION"
CDS_DIR="$ROOT/.cache/kafka/cds"
START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib/daemon.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib/daemon.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---- helpers ---------------------------------------------------------------

apt_install() { # apt-get update only when the lists lack a package or install fails
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show "$@" >/dev/null 2>&1; then apt-get update -qq </dev/null; fi
  apt-get install -y -qq --no-install-recommends "$@" </dev/null ||
    { apt-get update -qq </dev/null && apt-get install -y -qq --no-install-recommends "$@" </dev/null; }
}

java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)[."].*/\1/p' | head -n1
}

pid_alive() { # pid -> 0 if that pid is the Kafka JVM of this port's config
  [ -n "$1" ] && proc_alive "$1" &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $RUN/server.properties"
}

# pid from the pid file, else (pid file lost) the JVM running this port's config
read_pid() {
  local pid="" p
  [ -f "$PID_FILE" ] && pid=$(cat "$PID_FILE")
  if ! pid_alive "$pid"; then
    pid=""
    for p in $(pgrep -x java || true); do
      if pid_alive "$p"; then pid=$p; break; fi
    done
  fi
  echo "$pid"
}

is_running() { pid_alive "$(read_pid)"; }

# the preferred port if free, else a free one below the ephemeral range
pick_port() {
  local p=$1 i
  for i in $(seq 1 50); do
    port_open "$p" || { echo "$p"; return 0; }
    p=$((20000 + RANDOM % 12000))
  done
  die "no free port found"
}

# Real Kafka protocol round trips with python's stdlib: succeeds only once the
# broker serves requests, lists itself and has a group coordinator ready.
probe() {
  python3 - "$PORT" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])

def call(sock, api_key, version, corr, body):
    cid = b"herald-probe"
    req = struct.pack(">hhih", api_key, version, corr, len(cid)) + cid + body
    sock.sendall(struct.pack(">i", len(req)) + req)
    hdr = b""
    while len(hdr) < 4:
        chunk = sock.recv(4 - len(hdr))
        if not chunk:
            raise EOFError("connection closed")
        hdr += chunk
    (n,) = struct.unpack(">i", hdr)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    assert struct.unpack(">i", data[:4])[0] == corr
    return data[4:]

try:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        r = call(s, 18, 0, 1, b"")                       # ApiVersions v0
        assert struct.unpack(">h", r[:2])[0] == 0
        r = call(s, 3, 4, 2, struct.pack(">ib", -1, 0))  # Metadata v4, all topics, no auto-create
        (nbrokers,) = struct.unpack(">i", r[4:8])          # after throttle_time_ms
        if nbrokers < 1:
            sys.exit(1)
        # FindCoordinator v1 for a group: creates __consumer_offsets on a fresh
        # broker and fails until the group coordinator has loaded it, so a
        # consumer group joins at once (~0.1 s) once this succeeds.
        key = b"herald-probe"
        r = call(s, 10, 1, 3, struct.pack(">h", len(key)) + key + b"\x00")
        sys.exit(0 if struct.unpack(">h", r[4:6])[0] == 0 else 1)
except Exception:
    sys.exit(1)
PY
}

write_config() {
  cat >"$RUN/server.properties" <<EOF
# written by scripts/kafka.sh on each start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$RUN/data
num.partitions=${KAFKA_NUM_PARTITIONS:-1}
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=${KAFKA_OFFSETS_PARTITIONS:-1}
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# after a SIGKILL the restarted controller refuses the broker's new
# registration until the old session expires (default 9 s): keep it short
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
  cat >"$RUN/log4j2.properties" <<EOF
# written by scripts/kafka.sh on each start
appender.file.type=File
appender.file.name=FILE
appender.file.fileName=$RUN/kafka.log
appender.file.append=true
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=FILE
logger.request.name=kafka.request.logger
logger.request.level=WARN
logger.controller.name=org.apache.kafka.controller
logger.controller.level=INFO
EOF
}

parse_port() {
  PORT=9092
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) [ $# -ge 2 ] || die "--port needs a value"; PORT=$2; shift 2 ;;
      --port=*) PORT=${1#--port=}; shift ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  case "$PORT" in '' | *[!0-9]*) die "bad port: $PORT" ;; esac
  CPORT=${KAFKA_CONTROLLER_PORT:-$((PORT + 1000))}
  [ "$CPORT" -lt 65536 ] || CPORT=$((PORT - 1000))
  RUN="$ROOT/.run/kafka-$PORT"
  PID_FILE="$RUN/kafka.pid"
}

# ---- subcommands -----------------------------------------------------------

cmd_install() {
  mkdir -p "$ROOT/.cache/kafka"
  # one installer at a time (parallel test sessions share .cache/kafka)
  (
    flock 9
    install_libs
    install_cds
  ) 9>"$ROOT/.cache/kafka/.install.lock"
}

install_libs() {
  if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$KAFKA_VERSION" ]; then
    return 0
  fi
  if ! command -v java >/dev/null || [ "$(java_major)" -lt 17 ]; then
    log "installing java 17"
    apt_install openjdk-17-jre-headless
  fi
  command -v mvn >/dev/null || { log "installing maven"; apt_install maven; }
  command -v python3 >/dev/null || { log "installing python3"; apt_install python3; }
  log "fetching Kafka $KAFKA_VERSION jars into $LIBS"
  rm -rf "$LIBS" "$CDS_DIR"
  CI=true mvn -B -q -Dstyle.color=never -f "$ROOT/services/kafka/pom.xml" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS" \
    </dev/null >"$ROOT/.cache/kafka/mvn.log" 2>&1 ||
    { tail -n 40 "$ROOT/.cache/kafka/mvn.log" >&2; die "mvn dependency:copy-dependencies failed"; }
  [ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ] || die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
  echo "$KAFKA_VERSION" >"$MARKER"
  log "installed Kafka $KAFKA_VERSION ($(find "$LIBS" -name '*.jar' | wc -l) jars)"
}

# Class-data-sharing archive of the broker's classes (about 50 MB, one per JVM
# build): with it and C1-only JIT a (re)start takes about 2 s instead of 7 s.
cds_archive() { echo "$CDS_DIR/$(java -version 2>&1 | cksum | cut -d' ' -f1).jsa"; }

install_cds() {
  [ "${KAFKA_CDS:-1}" = 1 ] || return 0
  local archive
  archive=$(cds_archive)
  if [ -f "$archive" ] || [ -f "$archive.failed" ]; then return 0; fi
  mkdir -p "$CDS_DIR"
  log "building class-data-sharing archive (one-off, ~15 s)"
  # a throw-away broker on free ports, in a subshell so a failure is not fatal
  if (
    PORT=$(free_port) CPORT=$(free_port) RUN=$(mktemp -d /tmp/herald-kafka-cds.XXXXXX)
    PID_FILE="$RUN/kafka.pid"
    trap 'rm -rf "$RUN"' EXIT
    launch -XX:ArchiveClassesAtExit="$archive.tmp" && cmd_stop
  ) && [ -s "$archive.tmp" ]; then
    mv "$archive.tmp" "$archive"
    log "archive ready: $archive"
  else
    log "warning: archive build failed, brokers start without it"
    rm -f "$archive.tmp"
    touch "$archive.failed"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd_start() {
  if is_running; then
    log "already running on 127.0.0.1:$PORT (pid $(read_pid))"
    return 0
  fi
  cmd_install
  if port_open "$PORT"; then die "127.0.0.1:$PORT is already in use"; fi
  [ -n "${KAFKA_CONTROLLER_PORT:-}" ] || CPORT=$(pick_port "$CPORT")
  local cds=()
  if [ "${KAFKA_CDS:-1}" = 1 ] && [ -f "$(cds_archive)" ]; then
    cds=(-XX:SharedArchiveFile="$(cds_archive)" -Xshare:auto)
  fi
  launch "${cds[@]}"
}

launch() { # extra java options...
  mkdir -p "$RUN/data"
  write_config
  local t0=$EPOCHREALTIME heap jit java_opts
  read -ra heap <<<"${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m} ${KAFKA_OPTS:-}"
  # C1 only: starts ~2x faster; measured no loss with Python clients here.
  read -ra jit <<<"${KAFKA_JIT_OPTS--XX:TieredStopAtLevel=1}"
  java_opts=("${heap[@]}" "${jit[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$RUN/log4j2.properties"
    -Dkafka.logs.dir="$RUN")
  if [ ! -f "$RUN/data/meta.properties" ]; then
    local cluster_id
    cluster_id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    # A leading '-' would be read as an option by kafka-storage; any base64 letter will do.
    cluster_id="A${cluster_id:1}"
    log "formatting $RUN/data (cluster id $cluster_id)"
    java "${java_opts[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$RUN/server.properties" --ignore-formatted </dev/null >>"$RUN/kafka.out" 2>&1 ||
      { tail -n 20 "$RUN/kafka.out" >&2; die "storage format failed"; }
  fi
  log "starting on 127.0.0.1:$PORT (controller $CPORT), log $RUN/kafka.log"
  nohup java "${java_opts[@]}" "$@" -cp "$LIBS/*" kafka.Kafka "$RUN/server.properties" \
    </dev/null >>"$RUN/kafka.out" 2>&1 &
  local pid=$! deadline=$((SECONDS + START_TIMEOUT))
  echo "$pid" >"$PID_FILE"
  until probe; do
    if ! proc_alive "$pid"; then
      tail -n 30 "$RUN/kafka.out" "$RUN/kafka.log" >&2 2>/dev/null || true
      rm -f "$PID_FILE"
      die "broker exited during startup"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$RUN/kafka.log" >&2 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      die "broker not ready after ${START_TIMEOUT}s"
    fi
    sleep 0.1
  done
  log "ready on 127.0.0.1:$PORT (pid $pid) in $(elapsed "$t0") s"
}

cmd_status() {
  if is_running; then
    echo "running on 127.0.0.1:$PORT (pid $(read_pid))"
  else
    echo "not running on port $PORT"
    return 1
  fi
}

main() {
  [ $# -ge 1 ] || usage
  local cmd=$1
  shift
  case "$cmd" in
    install) [ $# -eq 0 ] || die "install takes no arguments"; cmd_install ;;
    start) parse_port "$@"; cmd_start ;;
    stop) parse_port "$@"; cmd_stop ;;
    kill) parse_port "$@"; cmd_kill ;;
    status) parse_port "$@"; cmd_status ;;
    bootstrap) parse_port "$@"; echo "127.0.0.1:$PORT" ;;
    -h | --help | help) usage ;;
    *) die "unknown command: $cmd" ;;
  esac
}

main "$@"
