# shellcheck shell=bash
# shellcheck disable=SC2154 # prefix, lab_script and MESHGATE are set by the sourcing script
# lab-lib.sh: helpers for scripts that drive the two-region lab of gateway-lab.sh (bench-failover.sh,
# fault-matrix.sh). Sourced, not run. The caller sets `prefix` (the lab's namespace prefix), `lab_script`
# (path to gateway-lab.sh) and `package_dir`, and defines `die`; `build_lab_binaries` sets `MESHGATE`.

# Release meshgated and meshgate unless MESHGATED and MESHGATE name prebuilt ones; exports MESHGATED.
build_lab_binaries() {
    if [[ -z ${MESHGATED:-} || -z ${MESHGATE:-} ]]; then
        echo "== building release binaries"
        # One product per invocation: `swift build --product A --product B` builds only B.
        local product bin_dir
        for product in meshgated meshgate; do
            (cd "$package_dir" && flock /tmp/meshgate-swift.lock swift build -c release --product "$product" 2>&1 | tail -1)
        done
        bin_dir=$(cd "$package_dir" && flock /tmp/meshgate-swift.lock swift build -c release --show-bin-path)
        MESHGATED=${MESHGATED:-$bin_dir/meshgated}
        MESHGATE=${MESHGATE:-$bin_dir/meshgate}
    fi
    [[ -x $MESHGATED ]] || die "meshgated not found at $MESHGATED"
    [[ -x $MESHGATE ]] || die "meshgate not found at $MESHGATE"
    export MESHGATED
}

lab() { "$lab_script" "$1" "$prefix" "${@:2}"; }
socket_of() { echo "/run/$prefix/gw-$1/control.sock"; }
ctl() { # gw command... (JSON output)
    "$MESHGATE" "${@:2}" --json --socket "$(socket_of "$1")"
}

# The primary of group nyc1 when every gateway agrees on it (the nyc1 members by their election, the
# fsn1 members by where they route 10.10.10.0/24), exactly one nyc1 member holds the VIP, and every
# gateway has the other region's subnet installed (a freshly restarted gateway learns it only from the
# next advertisement: a failover onto it before then would measure that, not the failover); else nothing.
agreed_primary() {
    local a b fa fb vip_a vip_b gw remote
    a=$(ctl nyc1-a status 2>/dev/null | jq -r '.status.groups[0].primary // "none"') || return 1
    b=$(ctl nyc1-b status 2>/dev/null | jq -r '.status.groups[0].primary // "none"') || return 1
    fa=$(ctl fsn1-a routes 2>/dev/null | jq -r '.routes[] | select(.subnet == "10.10.10.0/24") | .via // "none"') ||
        return 1
    fb=$(ctl fsn1-b routes 2>/dev/null | jq -r '.routes[] | select(.subnet == "10.10.10.0/24") | .via // "none"') ||
        return 1
    [[ $a != none && $a == "$b" && $a == "$fa" && $a == "$fb" ]] || return 1
    vip_a=$(ip -n "$prefix-gw-nyc1-a" -4 -o addr show dev lan to 10.10.10.1/32 | wc -l)
    vip_b=$(ip -n "$prefix-gw-nyc1-b" -4 -o addr show dev lan to 10.10.10.1/32 | wc -l)
    ((vip_a + vip_b == 1)) || return 1
    for gw in nyc1-a nyc1-b fsn1-a fsn1-b; do
        if [[ $gw == nyc1-* ]]; then remote=10.20.10.0/24; else remote=10.10.10.0/24; fi
        ctl "$gw" routes 2>/dev/null |
            jq -e --arg s "$remote" 'any(.routes[]; .subnet == $s and .installed)' >/dev/null || return 1
    done
    echo "${a#gw-}"
}

# Waits (up to 20 s) until the lab is settled: one agreed primary, and pings flow both ways.
wait_settled() {
    local deadline=$((SECONDS + 20))
    until agreed_primary >/dev/null &&
        ip netns exec "$prefix-host-fsn1" ping -c 1 -W 1 10.10.10.100 >/dev/null 2>&1 &&
        ip netns exec "$prefix-host-nyc1" ping -c 1 -W 1 10.20.10.100 >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "the lab did not settle within 20 s (see /run/$prefix/*/log)"
        sleep 0.2
    done
    # Let the ARP caches and the mesh quieten down so one run does not disturb the next.
    sleep 1
}

# Longest gap (ms) between `ping -D` reply timestamps in file $1, the run's end ($2, epoch seconds)
# counting as a timestamp.
longest_gap_ms() {
    python3 - "$1" "$2" <<'PY'
import re, sys
stamps = [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\] \d+ bytes from", open(sys.argv[1]).read(), re.M)]
stamps.append(float(sys.argv[2]))
gaps = [b - a for a, b in zip(stamps, stamps[1:])]
print(f"{max(gaps) * 1000:.0f}" if gaps else "nan")
PY
}

