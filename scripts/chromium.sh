#!/usr/bin/env bash
# chromium.sh - install Debian's Chromium and chromedriver for Herald's browser
# tests (tests/e2e). Playwright's own browser download cannot reach its CDN
# here, so the tests launch /usr/bin/chromium through `executable_path`.
# Idempotent: a quick no-op when both binaries exist; `apt-get update` runs
# only when the package lists are missing or do not know the packages.
#
# Usage: scripts/chromium.sh install
#        scripts/chromium.sh path      # prints the browser's path
#        scripts/chromium.sh version
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
PACKAGES=(chromium chromium-driver)

say() { printf 'chromium: %s\n' "$*"; }
die() { printf 'chromium: error: %s\n' "$*" >&2; exit 1; }

installed() { [[ -x $CHROMIUM && -x $CHROMEDRIVER ]]; }

apt_knows_packages() {
    local package
    for package in "${PACKAGES[@]}"; do
        apt-cache show "$package" >/dev/null 2>&1 || return 1
    done
}

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "run as root (or with passwordless sudo) to install ${PACKAGES[*]}"
    fi
}

install() {
    if installed; then
        say "already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
        return
    fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${PACKAGES[*]} by hand"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt_knows_packages; then
        say "updating the package lists"
        as_root apt-get update -qq </dev/null
    fi
    say "installing ${PACKAGES[*]}"
    as_root apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" </dev/null
    installed || die "$CHROMIUM or $CHROMEDRIVER still missing after apt-get install"
    say "installed: $("$CHROMIUM" --version 2>/dev/null)"
}

case "${1:-}" in
    install) install ;;
    path) echo "$CHROMIUM" ;;
    version) installed || die "not installed; run: $0 install"; "$CHROMIUM" --version ;;
    *) echo "usage: ${0##*/} install | path | version" >&2; exit 2 ;;
esac
