#!/usr/bin/env bash
# Real RabbitMQ node (Debian's rabbitmq-server) for Herald's tests, including
# outage tests that stop/restart or SIGKILL it. Bound to loopback only.
#
#   scripts/rabbitmq.sh install             # apt-get install rabbitmq-server if missing (no system service left running)
#   scripts/rabbitmq.sh start [--port P]    # node herald-P@localhost on 127.0.0.1:P (default 5672), wait until booted
#   scripts/rabbitmq.sh stop  [--port P]    # graceful stop (SIGTERM), SIGKILL after 30 s
#   scripts/rabbitmq.sh kill  [--port P]    # SIGKILL the node's Erlang VM at once (crash test)
#   scripts/rabbitmq.sh status [--port P]   # exit 0 if running
#   scripts/rabbitmq.sh url [--port P]      # print amqp://guest:guest@127.0.0.1:P/%2F
#
# State lives in <repo>/.run/rabbitmq-P/ (mnesia/, log/, rabbitmq.pid, its own
# HOME with the node's Erlang cookie); it survives stop/start, so durable queues
# and their messages do. Delete that folder for a fresh node. Erlang
# distribution listens on 127.0.0.1:P+20000 (P-20000 when P > 45535; a free
# port if that one is taken; RABBITMQ_DIST_PORT overrides), no plugins.
# CLI tools need this node's environment (HOME for the cookie), e.g.
#   HOME=.run/rabbitmq-5672 /usr/lib/rabbitmq/bin/rabbitmqctl -n herald-5672@localhost list_queues
# epmd (127.0.0.1:4369) is started by the first node and left running, as Erlang does.
# Safe with CI=true and no stdin.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RMQ_BIN=/usr/lib/rabbitmq/bin # the real scripts; /usr/sbin/ wrappers su to user rabbitmq
START_TIMEOUT=${RABBITMQ_START_TIMEOUT:-60}
STOP_TIMEOUT=${RABBITMQ_STOP_TIMEOUT:-30}

log() { echo "rabbitmq.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib/daemon.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib/daemon.sh"
# `stop` is daemon.sh's SIGTERM: the Erlang VM then runs init:stop(), so RabbitMQ
# closes its listener and message stores cleanly, as `rabbitmqctl stop` would, in
# about 1 s instead of 3-4 s (the CLI's own boot).

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

parse_port() {
  PORT=5672
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) [ $# -ge 2 ] || die "--port needs a value"; PORT=$2; shift 2 ;;
      --port=*) PORT=${1#--port=}; shift ;;
      *) die "unknown argument: $1" ;;
    esac
  done
  case "$PORT" in '' | *[!0-9]*) die "bad port: $PORT" ;; esac
  # P+20000 like RabbitMQ's default; P-20000 for high (e.g. ephemeral) ports
  DIST_PORT=${RABBITMQ_DIST_PORT:-$((PORT + 20000))}
  [ "$DIST_PORT" -lt 65536 ] || DIST_PORT=$((PORT - 20000))
  [ "$DIST_PORT" -gt 0 ] || die "no distribution port for $PORT: set RABBITMQ_DIST_PORT"
  NODE="herald-$PORT@localhost"
  RUN="$ROOT/.run/rabbitmq-$PORT"
  PID_FILE="$RUN/rabbitmq.pid"
}

# Everything the node and the CLI tools read, pointing into $RUN; nothing from
# /etc/rabbitmq, and the Erlang cookie in $RUN/.erlang.cookie, not ~/.
node_env() {
  export HOME="$RUN"
  export RABBITMQ_NODENAME="$NODE"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$PORT"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$RUN/mnesia"
  export RABBITMQ_LOG_BASE="$RUN/log"
  export RABBITMQ_PID_FILE="$PID_FILE"
  # A node that fails to boot writes erl_crash.dump into the working directory otherwise.
  export ERL_CRASH_DUMP="$RUN/erl_crash.dump"
  export RABBITMQ_CONF_ENV_FILE="$RUN/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$RUN/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RUN/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RUN/enabled_plugins"
  # Erlang distribution (node <-> rabbitmqctl) on loopback only
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}


pid_alive() { # pid -> 0 if that pid is this node's Erlang VM
  [ -n "$1" ] && proc_alive "$1" &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "-home $RUN "
}

# pid from the pid file, else (not written yet, or lost) the VM named $NODE
read_pid() {
  local pid="" p
  [ -f "$PID_FILE" ] && pid=$(cat "$PID_FILE")
  if ! pid_alive "$pid"; then
    pid=""
    for p in $(pgrep -x beam.smp || true); do
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

# AMQP 0-9-1 handshake: the node answers the protocol header with a
# Connection.Start method frame (type 1) only once it has fully booted
# (listeners start in the last boot step, after durable queues are recovered).
amqp_ready() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'AMQP\000\000\011\001' >&3
    IFS= read -r -d '' -t 2 -N 1 frame_type <&3
    [ "$frame_type" = $'\001' ]
  ) 2>/dev/null
}

# ---- subcommands -----------------------------------------------------------

cmd_install() {
  if [ -x "$RMQ_BIN/rabbitmq-server" ]; then
    return 0
  fi
  # one installer at a time (parallel test sessions)
  (
    flock 9
    [ -x "$RMQ_BIN/rabbitmq-server" ] || install_package
  ) 9>/tmp/herald-rabbitmq-install.lock
}

install_package() {
  log "installing rabbitmq-server (apt)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show rabbitmq-server >/dev/null 2>&1; then apt-get update -qq </dev/null; fi
  # The package's postinst starts a system-wide node unless policy-rc.d says
  # no: forbid service starts for the duration of the install.
  local policy=/usr/sbin/policy-rc.d added=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    added=1
  fi
  local rc=0
  apt-get install -y -qq --no-install-recommends rabbitmq-server </dev/null >/tmp/herald-rabbitmq-apt.log 2>&1 ||
    { apt-get update -qq </dev/null && apt-get install -y -qq --no-install-recommends rabbitmq-server \
      </dev/null >>/tmp/herald-rabbitmq-apt.log 2>&1; } || rc=$?
  [ -z "$added" ] || rm -f "$policy"
  [ "$rc" -eq 0 ] || { tail -n 30 /tmp/herald-rabbitmq-apt.log >&2; die "apt-get install rabbitmq-server failed"; }
  # belt and braces: a system node (user rabbitmq) must not hold 5672
  if pgrep -u rabbitmq beam.smp >/dev/null 2>&1; then
    log "stopping the system-wide node the package started"
    (command -v systemctl >/dev/null && systemctl disable --now rabbitmq-server) >/dev/null 2>&1 ||
      invoke-rc.d rabbitmq-server stop >/dev/null 2>&1 || true
  fi
  # shellcheck disable=SC2016 # ${Package} is dpkg-query's format, not shell
  log "installed $(dpkg-query -W -f '${Package} ${Version}' rabbitmq-server)"
}

cmd_start() {
  if is_running; then
    log "already running on 127.0.0.1:$PORT (node $NODE, pid $(read_pid))"
    return 0
  fi
  cmd_install
  if port_open "$PORT"; then die "127.0.0.1:$PORT is already in use"; fi
  [ -n "${RABBITMQ_DIST_PORT:-}" ] || DIST_PORT=$(pick_port "$DIST_PORT")
  mkdir -p "$RUN/mnesia" "$RUN/log"
  : >"$RUN/rabbitmq-env.conf"
  echo '[].' >"$RUN/enabled_plugins"
  echo '[].' >"$RUN/advanced.config"
  cat >"$RUN/rabbitmq.conf" <<EOF
# written by scripts/rabbitmq.sh on each start
listeners.tcp.default = 127.0.0.1:$PORT
loopback_users.guest = true
log.file.level = ${RABBITMQ_LOG_LEVEL:-info}
log.console = false
EOF
  node_env
  rm -f "$PID_FILE"
  local t0=$EPOCHREALTIME deadline=$((SECONDS + START_TIMEOUT))
  log "starting node $NODE on 127.0.0.1:$PORT (dist $DIST_PORT), logs in $RUN/log"
  "$RMQ_BIN/rabbitmq-server" -detached </dev/null >>"$RUN/startup.log" 2>&1 ||
    { tail -n 20 "$RUN/startup.log" >&2; die "rabbitmq-server -detached failed"; }
  # (rabbitmqctl await_startup works too, but fails at once until the node has
  # registered with epmd and costs 1-3 s of CLI boot per try)
  until amqp_ready; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$RUN/startup.log" "$RUN/log/$NODE.log" >&2 2>/dev/null || true
      cmd_kill >/dev/null 2>&1 || true
      die "node not ready after ${START_TIMEOUT}s"
    fi
    if ! is_running && [ "$SECONDS" -ge "$((deadline - START_TIMEOUT + 2))" ]; then
      tail -n 30 "$RUN/startup.log" "$RUN/log/$NODE.log" >&2 2>/dev/null || true
      die "node exited during startup"
    fi
    sleep 0.2
  done
  log "ready on 127.0.0.1:$PORT (pid $(read_pid)) in $(elapsed "$t0") s"
}

cmd_status() {
  if is_running; then
    echo "running on 127.0.0.1:$PORT (node $NODE, pid $(read_pid))"
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
    url) parse_port "$@"; echo "amqp://guest:guest@127.0.0.1:$PORT/%2F" ;;
    -h | --help | help) usage ;;
    *) die "unknown command: $cmd" ;;
  esac
}

main "$@"
