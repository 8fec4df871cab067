#!/usr/bin/env bash
# redis.sh - a throw-away Redis on loopback, where tests need counters shared by
# several Herald instances (RATELIMIT_STORAGE_URI=redis://...). Nothing is saved
# to disk; state lives in .run/redis-P.
#
#   scripts/redis.sh install         # Debian's redis-server, unless present
#   scripts/redis.sh start --port P  # start on 127.0.0.1:P and wait until it answers
#   scripts/redis.sh stop  --port P
#   scripts/redis.sh url   --port P  # print redis://127.0.0.1:P/0
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
command=${1:-}
shift || true
PORT=6379
while (($#)); do
  case $1 in
    --port) PORT=$2; shift 2 ;;
    *) echo "redis.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
RUN="$ROOT/.run/redis-$PORT"
PID_FILE="$RUN/redis.pid"

running() { [[ -f $PID_FILE ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }

case $command in
  install)
    if ! command -v redis-server >/dev/null; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get install -y -qq --no-install-recommends redis-server </dev/null >/dev/null ||
        { apt-get update -qq </dev/null && apt-get install -y -qq --no-install-recommends \
          redis-server </dev/null >/dev/null; }
    fi
    echo "redis.sh: $(redis-server --version | cut -d' ' -f3) installed"
    ;;
  start)
    running && { echo "redis.sh: already running on $PORT"; exit 0; }
    mkdir -p "$RUN"
    redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no \
      --daemonize yes --pidfile "$PID_FILE" --logfile "$RUN/redis.log" --dir "$RUN" </dev/null
    for _ in $(seq 100); do
      redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && { echo "redis.sh: started on $PORT"; exit 0; }
      sleep 0.1
    done
    echo "redis.sh: did not start; see $RUN/redis.log" >&2; exit 1
    ;;
  stop)
    if running; then
      kill "$(cat "$PID_FILE")"
      for _ in $(seq 50); do running || break; sleep 0.1; done
    fi
    rm -rf "$RUN"
    echo "redis.sh: stopped ($PORT)"
    ;;
  url) echo "redis://127.0.0.1:$PORT/0" ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
