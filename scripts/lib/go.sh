# go.sh - sourced by the scripts that build a Go tool once from the module proxy
# (ferretdb.sh, compose.sh, promtool.sh, mailpit.sh): where the go command is, and one build
# at a time. The sourcing script defines die.

# The go command (PATH, else the usual /usr/local/go); `$1` names what needs it.
find_go() {
    if command -v go >/dev/null 2>&1; then
        command -v go
    elif [[ -x /usr/local/go/bin/go ]]; then
        echo /usr/local/go/bin/go
    else
        die "go is not installed (needed once to build $1)"
    fi
}

# Hold `$1.lock` until the script exits: parallel test sessions may all find the
# binary missing; the ones that waited find it installed.
lock_build() {
    exec 9>"$1.lock"
    flock 9
}
