#!/usr/bin/env bash
# graphiql.sh - GraphiQL's built files, for /graphql in a browser (served locally, no CDN).
#
# Usage: scripts/graphiql.sh install   # fetch them once (idempotent, quick when present)
#        scripts/graphiql.sh path      # print the folder they are in
#
# Where they come from: the npm registry, through `npm pack` (the tarballs only, no
# dependency tree: graphiql's UMD build bundles what it needs), each checked against
# the SHA-256 below. graphiql 3 is the last line with a UMD build and React 18 the
# last with UMD builds. The files and their licences land in app/graphql/ide/vendor/
# (not in git: about 4 MB); a wheel built after this ships them.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
DEST="$ROOT/app/graphql/ide/vendor"
PACKAGES=(
    "graphiql@3.8.3 1cadb1c2ca0dc51ea71fb4bb2680e6185e83fe400c9a62ca5fb9dfb922472bbd graphiql.min.js graphiql.min.css LICENSE"
    "react@18.3.1 8d9bed01a672e7eaf387942d781ad47c6a43089a30a0306060f9fd5ac7870347 umd/react.production.min.js LICENSE"
    "react-dom@18.3.1 031d4427a99f2f3f6cac18bbbf308594a67e4f47d10f4896fdec446505b040e0 umd/react-dom.production.min.js LICENSE"
)
MARKER="$DEST/.installed"
WANTED=$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -d' ' -f1)

die() { printf 'graphiql: error: %s\n' "$*" >&2; exit 1; }

installed() { [[ -f $MARKER && $(cat "$MARKER") == "$WANTED" ]]; }

cmd_install() {
    installed && return 0
    command -v npm >/dev/null 2>&1 || die "npm is needed once to fetch GraphiQL"
    mkdir -p -- "$DEST"
    exec 9>"$DEST/.lock"  # parallel sessions: one fetches, the other waits
    flock 9
    installed && return 0
    local work entry spec sum name tarball file
    work=$(mktemp -d)
    trap 'rm -rf -- "$work"' RETURN
    for entry in "${PACKAGES[@]}"; do
        read -r spec sum files <<<"$entry"
        name=${spec%@*}
        tarball=$(cd "$work" && npm pack "$spec" --silent --no-fund --no-audit)
        echo "$sum  $work/$tarball" | sha256sum --check --status || die "$spec: checksum mismatch"
        tar -xzf "$work/$tarball" -C "$work"
        for file in $files; do
            if [[ $file == LICENSE ]]; then
                cp -- "$work/package/LICENSE" "$DEST/LICENSE.$name"
            else
                cp -- "$work/package/$file" "$DEST/$(basename -- "$file")"
            fi
        done
        rm -rf -- "$work/package"
    done
    echo "$WANTED" >"$MARKER"
}

case "${1:-}" in
install) cmd_install ;;
path) echo "$DEST" ;;
*) sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
