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

say() { printf 'mailpit: %s\n' "$*" >&2; }
die() { printf 'mailpit: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '5,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# shellcheck source=lib/go.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib/go.sh"

installed() {
    tool_installed "$BIN" "$MAILPIT_VERSION"
}

cmd_install() {
    go_install_tool mailpit "$MAILPIT_MODULE" "$MAILPIT_VERSION" "$BIN"
}

(($#)) || usage
case $1 in
    install) (($# == 1)) || usage; cmd_install ;;
    path) (($# == 1)) || usage; installed || die "not installed"; echo "$BIN" ;;
    -h | --help | help) usage ;;
    *) installed || die "mailpit is not installed; run: scripts/mailpit.sh install"; exec "$BIN" "$@" ;;
esac
