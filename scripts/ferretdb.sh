#!/usr/bin/env bash
# ferretdb.sh - build and run FerretDB v1 (MongoDB wire protocol on a SQLite
# backend) for Herald's tests and `make run`, on machines where no mongod can
# be installed. Everything lives under the repo: the binary in .cache/bin,
# data, logs and pid files in .run/ferretdb. Idempotent: every subcommand is a
# quick no-op when there is nothing to do.
#
# Usage: scripts/ferretdb.sh install
#        scripts/ferretdb.sh start  [--port P] [--data DIR] [--postgresql-url URL]
#        scripts/ferretdb.sh stop   [--port P]
#        scripts/ferretdb.sh kill   [--port P]   # SIGKILL at once (crash test)
#        scripts/ferretdb.sh status [--port P]
#        scripts/ferretdb.sh uri    [--port P]
#
# The default instance (port 27027) keeps its data in .run/ferretdb/data and
# writes .run/ferretdb/ferretdb.{log,pid}; any other port gets its own
# .run/ferretdb/data-P and ferretdb-P.{log,pid}, so a test can run its own.
# With --postgresql-url the data goes to that PostgreSQL database instead
# (FerretDB's `pg` handler; scripts/postgres.sh starts one for the benchmarks).
#
# Why not a plain `go install ...@v1.24.2`: the module zip lacks the generated
# build/version/version.txt, and such a binary panics at start-up ("Invalid
# build/version/version.txt file content"). `install` therefore copies the
# module source from the Go module cache, writes version.txt, and runs
# `go build` (default GOPATH and GOCACHE, so rebuilds are fast). The SQLite
# backend needs no build tag (it is on unless `ferretdb_no_sqlite` is set).
set -euo pipefail

FERRETDB_VERSION=v1.24.2
FERRETDB_MODULE=github.com/FerretDB/FerretDB
DEFAULT_PORT=27027

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/.cache/bin/ferretdb"
RUN_DIR="$ROOT/.run/ferretdb"
START_TIMEOUT=${FERRETDB_START_TIMEOUT:-30}
STOP_TIMEOUT=10

say() { printf 'ferretdb: %s\n' "$*"; }
die() { printf 'ferretdb: error: %s\n' "$*" >&2; exit 1; }

usage() {
    echo "usage: ${0##*/} install | {start [--port P] [--data DIR] [--postgresql-url URL] | stop | kill | status | uri} [--port P]" >&2
    exit 2
}

# shellcheck source=lib/go.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib/go.sh"

installed() {
    # Not `--version | grep -q`: grep stops reading at the match, and under pipefail
    # the writer's SIGPIPE would make a present binary look missing.
    local reported
    [[ -x "$BIN" ]] && reported=$("$BIN" --version 2>/dev/null) &&
        grep -qx "version: $FERRETDB_VERSION" <<<"$reported"
}

cmd_install() {
    if installed; then
        say "$FERRETDB_VERSION already installed at ${BIN#"$ROOT"/}"
        return 0
    fi
    local go moddir build
    go=$(find_go "FerretDB")
    mkdir -p "$(dirname -- "$BIN")"
    # One build at a time: parallel test sessions may all find the binary missing.
    lock_build "$BIN"
    if installed; then
        say "$FERRETDB_VERSION already installed at ${BIN#"$ROOT"/}"
        return 0
    fi
    build=$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX")
    # shellcheck disable=SC2064  # expand $build now
    trap "rm -rf -- '$build'" EXIT
    say "building $FERRETDB_MODULE $FERRETDB_VERSION into ${BIN#"$ROOT"/} (first build takes ~2 min)"
    # GOWORK/GOFLAGS: keep a surrounding go.work or the caller's flags out of it.
    moddir=$(cd "$build" && GOWORK=off GOFLAGS= "$go" mod download -json \
        "$FERRETDB_MODULE@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') \
        || die "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed"
    [[ -n "$moddir" && -d "$moddir" ]] || die "go mod download $FERRETDB_MODULE@$FERRETDB_VERSION failed"
    cp -R "$moddir" "$build/src"
    chmod -R u+w "$build/src"
    printf '%s\n' "$FERRETDB_VERSION" >"$build/src/build/version/version.txt"
    # -trimpath makes the build cache independent of the temporary path.
    (cd "$build/src" && GOWORK=off GOFLAGS= CGO_ENABLED=0 \
        "$go" build -trimpath -buildvcs=false -o "$BIN.tmp" ./cmd/ferretdb) \
        || die "go build failed"
    mv -f -- "$BIN.tmp" "$BIN"
    installed || die "built binary does not report $FERRETDB_VERSION"
}

# Parse [--port P] [--data DIR] [--postgresql-url URL] into PORT, DATA, PG_URL, PID_FILE, LOG_FILE.
parse_args() {
    PORT=$DEFAULT_PORT
    DATA=
    PG_URL=
    while (($#)); do
        case $1 in
            --port) [[ $# -ge 2 ]] || usage; PORT=$2; shift 2 ;;
            --port=*) PORT=${1#*=}; shift ;;
            --data) [[ $# -ge 2 ]] || usage; DATA=$2; shift 2 ;;
            --data=*) DATA=${1#*=}; shift ;;
            --postgresql-url) [[ $# -ge 2 ]] || usage; PG_URL=$2; shift 2 ;;
            *) usage ;;
        esac
    done
    [[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "bad port: $PORT"
    local suffix=""
    [[ $PORT == "$DEFAULT_PORT" ]] || suffix="-$PORT"
    [[ -n $DATA ]] || DATA="$RUN_DIR/data$suffix"
    PID_FILE="$RUN_DIR/ferretdb$suffix.pid"
    LOG_FILE="$RUN_DIR/ferretdb$suffix.log"
}

# Prints the pid if the instance for PORT is alive (and is really FerretDB).
running_pid() {
    local pid
    [[ -f $PID_FILE ]] || return 1
    pid=$(<"$PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r /proc/$pid/cmdline ]]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--listen-addr=127.0.0.1:$PORT" || return 1
    fi
    echo "$pid"
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A Python that has pymongo, if any (the project venv first).
find_pymongo_python() {
    local py
    for py in "${PYTHON:-}" "${VENV:-$ROOT/.venv}/bin/python" python3; do
        [[ -n $py ]] && command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import pymongo' >/dev/null 2>&1; then
            echo "$py"
            return 0
        fi
    done
    return 1
}

ping_db() { # ping_db PY PORT: one MongoDB ping (or a TCP check without pymongo)
    if [[ -n $1 ]]; then
        "$1" - "$2" >/dev/null 2>&1 <<'EOF'
import sys
from pymongo import MongoClient
c = MongoClient("127.0.0.1", int(sys.argv[1]), directConnection=True,
                serverSelectionTimeoutMS=500, connectTimeoutMS=500)
c.admin.command("ping")
EOF
    else
        port_open "$2"
    fi
}

cmd_start() {
    parse_args "$@"
    local pid
    if pid=$(running_pid); then
        say "already running on 127.0.0.1:$PORT (pid $pid)"
        return 0
    fi
    if port_open "$PORT"; then
        die "port $PORT is already in use by another process"
    fi
    installed || cmd_install
    mkdir -p "$RUN_DIR" "$DATA"
    DATA=$(cd -- "$DATA" && pwd)
    rm -f -- "$PID_FILE"
    printf '\n=== %s start port=%s data=%s\n' "$(date -u +%FT%TZ)" "$PORT" "$DATA" >>"$LOG_FILE"
    # setsid: detach from the caller's process group (Ctrl-C in make, CI job
    # teardown); stdin from /dev/null so it never waits on a terminal.
    local backend=(--handler=sqlite --sqlite-url="file:$DATA/")
    [[ -z $PG_URL ]] || backend=(--handler=pg --postgresql-url="$PG_URL")
    setsid "$BIN" \
        "${backend[@]}" \
        --listen-addr="127.0.0.1:$PORT" \
        --debug-addr=- \
        --telemetry=disable \
        --state-dir="$DATA" \
        --log-level=INFO \
        </dev/null >>"$LOG_FILE" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"

    local py="" start=$SECONDS
    py=$(find_pymongo_python) || py=""
    until ping_db "$py" "$PORT"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f -- "$PID_FILE"
            tail -n 20 -- "$LOG_FILE" >&2
            die "FerretDB exited during start-up (log: $LOG_FILE)"
        fi
        if ((SECONDS - start >= START_TIMEOUT)); then
            tail -n 20 -- "$LOG_FILE" >&2
            kill "$pid" 2>/dev/null || true
            rm -f -- "$PID_FILE"
            die "FerretDB did not answer on 127.0.0.1:$PORT within ${START_TIMEOUT}s"
        fi
        sleep 0.2
    done
    say "started on 127.0.0.1:$PORT (pid $pid, data ${DATA#"$ROOT"/}, log ${LOG_FILE#"$ROOT"/})"
}

cmd_stop() {
    parse_args "$@"
    local pid i
    if ! pid=$(running_pid); then
        rm -f -- "$PID_FILE"
        say "not running on port $PORT"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        say "killed pid $pid (no exit ${STOP_TIMEOUT}s after SIGTERM)"
    else
        say "stopped (port $PORT, pid $pid)"
    fi
    rm -f -- "$PID_FILE"
}

# SIGKILL, as a crash would: no shutdown, no flush. Waits (bounded) until the
# process is gone or a zombie, so its port is free for a restart on the same data.
cmd_kill() {
    parse_args "$@"
    local pid i state
    if ! pid=$(running_pid); then
        rm -f -- "$PID_FILE"
        say "not running on port $PORT"
        return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 20; i++)); do
        state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || state=
        [[ -z $state || $state == Z ]] && break
        sleep 0.05
    done
    [[ -z $state || $state == Z ]] || die "pid $pid still alive ${STOP_TIMEOUT}s after SIGKILL"
    rm -f -- "$PID_FILE"
    say "killed (port $PORT, pid $pid)"
}

cmd_status() {
    parse_args "$@"
    local pid
    if pid=$(running_pid); then
        say "running on 127.0.0.1:$PORT (pid $pid)"
    else
        say "not running on port $PORT"
        return 1
    fi
}

cmd_uri() {
    parse_args "$@"
    printf 'mongodb://127.0.0.1:%s/\n' "$PORT"
}

main() {
    (($#)) || usage
    local cmd=$1
    shift
    case $cmd in
        install) (($# == 0)) || usage; cmd_install ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        kill) cmd_kill "$@" ;;
        status) cmd_status "$@" ;;
        uri) cmd_uri "$@" ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

main "$@"
