#!/usr/bin/env bash
# install.sh - the JavaScript clients of tests/js (graphql-ws, ws), from package-lock.json.
#
# Usage: tests/js/install.sh   # idempotent: quick when node_modules matches the lock file
#
# `npm ci` runs only when package-lock.json changed since the last install (a marker in
# node_modules keeps its checksum), so a test session pays for it once per machine.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
MARKER="$HERE/node_modules/.herald-lock.sha256"
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm is not installed" >&2; exit 1; }
wanted=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
if [[ -f $MARKER && $(cat "$MARKER") == "$wanted" ]]; then
    exit 0
fi
exec 9>"$HERE/.install.lock"  # parallel test sessions: one installs, the other waits
flock 9
if [[ -f $MARKER && $(cat "$MARKER") == "$wanted" ]]; then
    exit 0
fi
(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >&2)
echo "$wanted" >"$MARKER"
