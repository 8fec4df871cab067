#!/usr/bin/env bash
# mailpit.sh - Mailpit, the SMTP server the email channel's tests send to: its HTTP
# API lets a test read each message that arrived (headers, both parts).
#
# Usage: scripts/mailpit.sh install   # build mailpit once (idempotent, quick when present)
#        scripts/mailpit.sh path      # print the path of the mailpit binary
#        scripts/mailpit.sh ARGS...   # run mailpit ARGS (e.g. --smtp 127.0.0.1:1025)
#
# Where it comes from: the Go module github.com/axllent/mailpit from the Go module
# proxy, with `go install github.com/axllent/mailpit@version` (pure Go, CGO off).
# The binary lands in <repo>/.cache/bin/mailpit; Go's module and build caches stay
# in their default places. A cold build (empty module and build caches) took
# 1 min 44 s wall time on 2 shared cores, downloads included.
set -euo pipefail

MAILPIT_VERSION=v1.33.1 # keep in step with docker-compose.yml
MAILPIT_MODULE=github.com/axllent/mailpit

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/.cache/bin/mailpit"
MARKER="$BIN.version"

say() { printf 'mailpit: %s\n' "$*" >&2; }
die() { printf 'mailpit: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '5,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# shellcheck source=lib/go.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib/go.sh"

installed() {
    [[ -x $BIN && -f $MARKER && $(cat "$MARKER") == "$MAILPIT_VERSION" ]]
}

cmd_install() {
    if installed; then
        return 0
    fi
    mkdir -p -- "$(dirname -- "$BIN")"
    lock_build "$BIN"
    installed && return 0
    local go gobin started=$SECONDS
    go=$(find_go "mailpit $MAILPIT_VERSION")
    say "building $MAILPIT_MODULE@$MAILPIT_VERSION into ${BIN#"$ROOT"/}"
    gobin=$(mktemp -d)
    # GOWORK/GOFLAGS: keep a surrounding go.work or the caller's flags out of it.
    (cd /tmp && GOWORK=off GOFLAGS= CGO_ENABLED=0 GOBIN="$gobin" "$go" install -trimpath \
        -ldflags "-s -w" "$MAILPIT_MODULE@$MAILPIT_VERSION") ||
        { rm -rf -- "$gobin"; die "go install mailpit failed"; }
    mv -f -- "$gobin/mailpit" "$BIN"
    rm -rf -- "$gobin"
    echo "$MAILPIT_VERSION" >"$MARKER"
    say "installed mailpit ($MAILPIT_VERSION) in $((SECONDS - started)) s"
}

(($#)) || usage
case $1 in
    install) (($# == 1)) || usage; cmd_install ;;
    path) (($# == 1)) || usage; installed || die "not installed"; echo "$BIN" ;;
    -h | --help | help) usage ;;
    *) installed || die "mailpit is not installed; run: scripts/mailpit.sh install"; exec "$BIN" "$@" ;;
esac
