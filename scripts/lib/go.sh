# go.sh - sourced by the scripts that build a Go tool once from the module proxy
# (ferretdb.sh, compose.sh, promtool.sh, mailpit.sh): where the go command is, one build
# at a time, and `go install` of a tool with a version marker. The sourcing script
# defines die.

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

# Whether BIN ($1) is there and its BIN.version marker says VERSION ($2).
tool_installed() {
    [[ -x $1 && -f $1.version && $(cat "$1.version") == "$2" ]]
}

# go_install_tool NAME PACKAGE VERSION BIN: `go install PACKAGE@VERSION` (pure Go, CGO
# off) into BIN once, with BIN.version; a no-op when that version is there. Go's module
# and build caches stay in their default places. The sourcing script defines say.
go_install_tool() {
    local name=$1 package=$2 version=$3 bin=$4
    tool_installed "$bin" "$version" && return 0
    mkdir -p -- "$(dirname -- "$bin")"
    lock_build "$bin"
    tool_installed "$bin" "$version" && return 0
    local go gobin started=$SECONDS
    go=$(find_go "$name $version")
    say "building $package@$version into $bin"
    gobin=$(mktemp -d)
    # GOWORK/GOFLAGS: keep a surrounding go.work or the caller's flags out of it.
    (cd /tmp && GOWORK=off GOFLAGS= CGO_ENABLED=0 GOBIN="$gobin" "$go" install -trimpath \
        -ldflags "-s -w" "$package@$version") ||
        { rm -rf -- "$gobin"; die "go install $name failed"; }
    mv -f -- "$gobin/$name" "$bin"
    rm -rf -- "$gobin"
    echo "$version" >"$bin.version"
    say "installed $name ($version) in $((SECONDS - started)) s"
}
