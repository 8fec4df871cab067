#!/usr/bin/env bash
# compose.sh - Docker Compose v2 for checking Herald's docker-compose.yml on
# machines without Docker Hub, the compose plugin or a Docker engine.
#
# Usage: scripts/compose.sh install          # build Compose once (idempotent, quick when present)
#        scripts/compose.sh config [ARGS...] # validate docker-compose.yml, print the normalized config
#        scripts/compose.sh path             # print the path of the docker-compose binary
#
# `config` interpolates the variables of the caller's environment (BROKER_URL,
# JWT_SECRET_KEY, ...) and fails on a missing required one, exactly as
# `docker compose up` would; it never talks to a Docker engine. ARGS go to
# `docker-compose config` (e.g. `--format json`, `--services`, `--no-interpolate`).
#
# Where it comes from: the real Compose, the Go module github.com/docker/compose/v2
# from the Go module proxy. `go install module/cmd@version` refuses it (its go.mod
# has exclude/replace directives), so `install` downloads the module and runs
# `go build` inside it. The binary lands in <repo>/.cache/bin/docker-compose
# (about 65 MB); Go's module and build caches stay in their default places, so a
# rebuild after `rm -rf .cache` takes seconds. A cold first build took about
# 3.5 min on 2 cores (downloads included). To use it as `docker compose`, link
# it as ~/.docker/cli-plugins/docker-compose; this script never does that.
set -euo pipefail

COMPOSE_VERSION=v2.40.3
COMPOSE_MODULE=github.com/docker/compose/v2

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/.cache/bin/docker-compose"
COMPOSE_FILE_PATH="$ROOT/docker-compose.yml"

say() { printf 'compose: %s\n' "$*" >&2; }
die() { printf 'compose: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '5,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# shellcheck source=lib/go.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib/go.sh"

installed() {
    [[ -x $BIN ]] && [[ $("$BIN" version --short 2>/dev/null) == "${COMPOSE_VERSION#v}" ]]
}

cmd_install() {
    if installed; then
        say "Docker Compose $COMPOSE_VERSION already installed at ${BIN#"$ROOT"/}"
        return 0
    fi
    mkdir -p -- "$(dirname -- "$BIN")"
    # One build at a time (parallel test sessions); the loser finds it installed.
    lock_build "$BIN"
    if installed; then
        say "Docker Compose $COMPOSE_VERSION already installed at ${BIN#"$ROOT"/}"
        return 0
    fi
    local go moddir started=$SECONDS
    go=$(find_go "Docker Compose $COMPOSE_VERSION")
    say "building $COMPOSE_MODULE $COMPOSE_VERSION into ${BIN#"$ROOT"/} (a cold build takes ~4 min)"
    # GOWORK/GOFLAGS: keep a surrounding go.work or the caller's flags out of it.
    moddir=$(cd /tmp && GOWORK=off GOFLAGS= "$go" mod download -json \
        "$COMPOSE_MODULE@$COMPOSE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') \
        || die "go mod download $COMPOSE_MODULE@$COMPOSE_VERSION failed"
    [[ -n $moddir && -d $moddir ]] || die "go mod download $COMPOSE_MODULE@$COMPOSE_VERSION failed"
    # The module directory is read-only; the build only reads it. internal.Version
    # is what `docker-compose version` prints (the upstream Makefile sets it too).
    (cd "$moddir" && GOWORK=off GOFLAGS= CGO_ENABLED=0 "$go" build -trimpath -buildvcs=false \
        -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" \
        -o "$BIN.tmp" ./cmd) || die "go build failed"
    mv -f -- "$BIN.tmp" "$BIN"
    installed || die "built binary does not report version $COMPOSE_VERSION"
    say "installed Docker Compose $COMPOSE_VERSION in $((SECONDS - started)) s"
}

cmd_config() {
    installed || die "Docker Compose is not installed; run: scripts/compose.sh install"
    # --project-directory: relative paths (build: .) resolve against the repo, and
    # a .env file there is read as `docker compose` would read it.
    exec "$BIN" --file "$COMPOSE_FILE_PATH" --project-directory "$ROOT" config "$@"
}

(($#)) || usage
command=$1
shift
case $command in
    install) (($# == 0)) || usage; cmd_install ;;
    config) cmd_config "$@" ;;
    path) (($# == 0)) || usage; installed || die "not installed"; echo "$BIN" ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
