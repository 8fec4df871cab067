#!/usr/bin/env bash
# promtool.sh - Prometheus's promtool, to check deploy/prometheus/prometheus.yml
# and the PromQL of the Grafana dashboard on machines without Docker Hub.
#
# Usage: scripts/promtool.sh install   # build promtool once (idempotent, quick when present)
#        scripts/promtool.sh path      # print the path of the promtool binary
#        scripts/promtool.sh ARGS...   # run promtool ARGS (e.g. check config FILE)
#
# Where it comes from: the Go module github.com/prometheus/prometheus from the Go
# module proxy (Prometheus 3.x tags its module v0.3XX.Y for release 3.XX.Y), with
# `go install .../cmd/promtool@version`. The binary lands in
# <repo>/.cache/bin/promtool; Go's module and build caches stay in their default
# places. A cold first build (it compiles the service discoveries too) took
# several minutes on 2 cores, downloads included.
set -euo pipefail

PROMETHEUS_MODULE_VERSION=v0.316.0 # Prometheus 3.16.0: keep in step with docker-compose.yml
PROMETHEUS_MODULE=github.com/prometheus/prometheus

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/.cache/bin/promtool"

say() { printf 'promtool: %s\n' "$*" >&2; }
die() { printf 'promtool: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '5,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# shellcheck source=lib/go.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib/go.sh"

installed() {
    tool_installed "$BIN" "$PROMETHEUS_MODULE_VERSION"
}

cmd_install() {
    go_install_tool promtool "$PROMETHEUS_MODULE/cmd/promtool" "$PROMETHEUS_MODULE_VERSION" "$BIN"
}

(($#)) || usage
case $1 in
    install) (($# == 1)) || usage; cmd_install ;;
    path) (($# == 1)) || usage; installed || die "not installed"; echo "$BIN" ;;
    -h | --help | help) usage ;;
    *) installed || die "promtool is not installed; run: scripts/promtool.sh install"; exec "$BIN" "$@" ;;
esac
