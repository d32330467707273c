# shellcheck shell=bash
# shellcheck disable=SC2154 # bench_name and namespaces are set by the sourcing script
# bench-lib.sh: what the side-by-side data-plane benchmarks (bench-handshake-flood.sh, bench-peers.sh) share.
# Sourced, not run. The caller sets `bench_name`, `binary`, `wggo` and the list `namespaces` (deleted at
# teardown), and calls `bench_prepare` once after parsing its arguments.

log() { printf '[%s %s] %s\n' "$bench_name" "$(date +%T)" "$*" >&2; }

die() {
    echo "$bench_name: $*" >&2
    exit 1
}

# Builds meshgate-wg unless --binary was given, copies it into a fresh work directory (a build replacing it
# mid-run would mix two versions), and installs the cleanup trap. Sets `work`, `results`, `pids`, `ifaces`.
bench_prepare() {
    local package_dir
    package_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    ((EUID == 0)) || die "must run as root (network namespaces)"
    local tool
    for tool in ip wg ping python3 awk flock timeout; do command -v "$tool" >/dev/null || die "missing tool: $tool"; done
    [[ -n $wggo ]] || wggo=$(command -v wireguard-go) || die "wireguard-go not found (or give --wireguard-go PATH)"
    if [[ -z $binary ]]; then
        log "building meshgate-wg (release), waiting for /tmp/meshgate-swift.lock if needed"
        (cd "$package_dir" && flock /tmp/meshgate-swift.lock swift build -c release --product meshgate-wg) >&2 \
            || die "swift build failed"
        binary="$(cd "$package_dir" && swift build -c release --show-bin-path)/meshgate-wg"
    fi
    [[ -x $binary ]] || die "not executable: $binary"
    work=$(mktemp -d "/tmp/meshgate-$bench_name.$$.XXXXXX")
    cp "$binary" "$work/meshgate-wg"
    results="$work/results.tsv"
    : >"$results"
    pids=()
    ifaces=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# Stops every daemon started (SIGTERM, then SIGKILL after 5 s), deletes the namespaces and UAPI sockets.
bench_teardown() {
    local pid name ns
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    for name in "${ifaces[@]}"; do rm -f "/var/run/wireguard/$name.sock"; done
}

bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    bench_teardown
    rm -rf "$work"
    exit "$rc"
}

# record IMPL METRIC VALUE
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results"; }

# start_daemon IMPL NAMESPACE INTERFACE: starts wireguard-go or meshgate-wg in the foreground (so the PID is
# exact), waits for its UAPI socket, sets `started_pid`.
start_daemon() {
    local exe=$work/meshgate-wg i
    [[ $1 == wireguard-go ]] && exe=$wggo
    LOG_LEVEL=error ip netns exec "$2" "$exe" -f "$3" >"$work/$3.log" 2>&1 &
    started_pid=$!
    pids+=("$started_pid")
    ifaces+=("$3")
    for ((i = 0; i < 200; i++)); do
        [[ -S /var/run/wireguard/$3.sock ]] && return 0
        sleep 0.05
    done
    die "$1: $3 did not come up ($(tail -c 300 "$work/$3.log"))"
}

# cpu_ticks PID: utime + stime in clock ticks.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    local -a f
    read -r -a f <<<"$stat"
    echo $((f[11] + f[12]))
}
