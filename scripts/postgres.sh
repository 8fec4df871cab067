#!/usr/bin/env bash
# postgres.sh - a throw-away PostgreSQL cluster for FerretDB's PostgreSQL backend,
# which the benchmarks use beside SQLite (`--store postgresql`) so a report can
# tell Herald's cost from SQLite's write serialisation. Debian's `postgresql`
# package, installed with apt-get when missing; the cluster lives under
# .run/postgres-P (or --data DIR), listens on 127.0.0.1:P only, trusts local
# connections and has a database `ferretdb`. The tests never use it.
#
# Usage: scripts/postgres.sh install
#        scripts/postgres.sh start [--port P] [--data DIR]
#        scripts/postgres.sh stop  [--port P] [--data DIR]
#        scripts/postgres.sh url   [--port P]     # postgres://... for FerretDB
#        scripts/postgres.sh pid   [--port P] [--data DIR]   # the postmaster's pid
#        scripts/postgres.sh version [--port P] [--data DIR]
#
# PostgreSQL refuses to run as root: as root the cluster belongs to the
# `postgres` user the package creates, and every server command runs as it.
set -euo pipefail

DEFAULT_PORT=5433
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf 'postgres: %s\n' "$*" >&2; }
die() { printf 'postgres: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '9,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

bin_dir() { # the newest installed server's bin directory
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -x $dir/initdb ]] && echo "$dir"
}

cmd_install() {
    bin_dir >/dev/null && return 0
    say "installing Debian's postgresql (apt-get)"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
        { "${sudo[@]}" apt-get update -q >&2 &&
            "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; } ||
        die "apt-get install postgresql failed"
    bin_dir >/dev/null || die "postgresql installed, but no initdb under /usr/lib/postgresql"
}

as_owner() { # run a server command as the cluster's owner
    if ((EUID == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

PORT=$DEFAULT_PORT
DATA=""
parse_args() {
    while (($#)); do
        case $1 in
            --port) PORT=${2:?}; shift 2 ;;
            --data) DATA=${2:?}; shift 2 ;;
            *) usage ;;
        esac
    done
    [[ $PORT =~ ^[0-9]+$ ]] || die "bad port: $PORT"
    [[ -n $DATA ]] || DATA="$ROOT/.run/postgres-$PORT"
}

cmd_start() {
    parse_args "$@"
    cmd_install
    local bin
    bin=$(bin_dir)
    if [[ -f $DATA/postmaster.pid ]] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        say "already running on 127.0.0.1:$PORT"
        return 0
    fi
    mkdir -p -- "$DATA"
    ((EUID == 0)) && chown postgres: "$DATA"
    chmod 700 "$DATA"
    if [[ ! -f $DATA/PG_VERSION ]]; then
        as_owner "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
            >"$DATA.initdb.log" 2>&1 || { cat "$DATA.initdb.log" >&2; die "initdb failed"; }
    fi
    # The socket in the data folder, not /var/run/postgresql (which may not exist or be ours).
    as_owner "$bin/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
        -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2 ||
        { tail -n 20 "$DATA/server.log" >&2; die "pg_ctl start failed"; }
    as_owner "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'" | grep -q 1 ||
        as_owner "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U postgres ferretdb
    say "started on 127.0.0.1:$PORT (data ${DATA#"$ROOT"/})"
}

cmd_stop() {
    parse_args "$@"
    local bin
    bin=$(bin_dir) || { say "not installed"; return 0; }
    if [[ ! -f $DATA/postmaster.pid ]]; then
        say "not running on port $PORT"
        return 0
    fi
    as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >&2 ||
        as_owner "$bin/pg_ctl" -D "$DATA" -m immediate stop >&2 || true
}

cmd_url() {
    parse_args "$@"
    echo "postgres://postgres@127.0.0.1:$PORT/ferretdb"
}

cmd_pid() {
    parse_args "$@"
    [[ -f $DATA/postmaster.pid ]] || die "not running on port $PORT"
    head -n 1 "$DATA/postmaster.pid"
}

cmd_version() {
    parse_args "$@"
    as_owner "$(bin_dir)/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d ferretdb -tAc "SHOW server_version" |
        sed 's/^/PostgreSQL /'
}

(($#)) || usage
command=$1
shift
case $command in
    install) cmd_install ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    url) cmd_url "$@" ;;
    pid) cmd_pid "$@" ;;
    version) cmd_version "$@" ;;
    *) usage ;;
esac
