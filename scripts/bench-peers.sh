#!/usr/bin/env bash
# bench-peers.sh: a live tunnel on an interface with many configured peers, meshgate-wg against
# wireguard-go on the same two-namespace topology.
#
# This is a benchmark, not a test: it never fails because a figure is bad, only when it cannot measure.
#
# Node 1's daemon has a working session with node 2's, then gets --peers more peers (random public keys,
# one /32 each in 10.200.0.0/16, no endpoints) in one `wg addconf`. Measured on node 1's daemon:
#   add_s                 how long that `wg addconf` took
#   idle_cpu_pct          its CPU (% of one core) over --idle seconds with all those peers, tunnel idle
#   rss_mb                its VmRSS then
#   ping_loss_pct/p99_ms  --pings pings at -i 0.01 through the live tunnel, nothing else going on
#   dump_ping_loss_pct/dump_ping_p99_ms  the same while --dumps `wg show dump` run at once, back to back
#   dump_s                how long those dumps took together
#   remove_s              how long one `wg set` removing all the extra peers took
# The ratio is meshgate-wg / wireguard-go.
#
# Usage: scripts/bench-peers.sh [--peers N] [--dumps N] [--pings N] [--idle S] [--binary PATH]
#                               [--wireguard-go PATH]
# Must run as root (network namespaces). Requires ip, wg, wireguard-go, ping, python3, awk, flock.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
bench_name=peers

peers=10000
dumps=50
pings=500
idle=10
binary=""
wggo=""

usage() { sed -n '/^# Usage:/,/^# Must run/p' "$0" | sed 's/^# \{0,1\}//'; }
while (($# > 0)); do
    case "$1" in
    --peers) peers=$2; shift 2 ;;
    --dumps) dumps=$2; shift 2 ;;
    --pings) pings=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --wireguard-go) wggo=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for v in peers dumps pings idle; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} == 0)); then die "--$v must be a positive integer"; fi
done
((peers <= 60000)) || die "--peers is at most 60000 (one /32 each in 10.200.0.0/16)"

id=$$
ns1="mgpr$id-1"
ns2="mgpr$id-2"
namespaces=("$ns1" "$ns2")
bench_prepare

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Pings with -i 0.01; prints "loss_pct p99_ms" (a lost ping counts as slower than any reply).
ping_stats() { # ns target count
    ip netns exec "$1" ping -n -i 0.01 -c "$3" -W 2 -w $(($3 / 50 + 10)) "$2" 2>&1 | python3 -c '
import re, sys
count = int(sys.argv[1])
rtts = sorted(float(m.group(1)) for m in re.finditer(r"time=([0-9.]+) ms", sys.stdin.read()))
k = int(round(0.99 * count + 0.5)) - 1
print("%.1f %s" % (100.0 * (count - len(rtts)) / count, "%.3f" % rtts[k] if k < len(rtts) else "inf"))
' "$3"
}

# The extra peers: a config for `wg addconf` and the arguments that remove them all.
python3 - "$peers" "$work/peers.conf" "$work/remove.args" <<'PY'
import base64, os, sys
n, conf, remove = int(sys.argv[1]), open(sys.argv[2], "w"), open(sys.argv[3], "w")
for i in range(n):
    key = base64.b64encode(os.urandom(32)).decode()
    conf.write("[Peer]\nPublicKey = %s\nAllowedIPs = 10.200.%d.%d/32\n" % (key, i // 250, i % 250 + 1))
    remove.write("peer\n%s\nremove\n" % key)
PY

round() { # impl
    local impl=$1 s=${1:0:1}
    log "$impl: setting up"
    ip netns add "$ns1"
    ip netns add "$ns2"
    ip -n "$ns1" link set lo up
    ip -n "$ns2" link set lo up
    ip link add "pa$id$s" netns "$ns1" type veth peer name "pb$id$s" netns "$ns2"
    ip -n "$ns1" addr add 192.0.2.1/24 dev "pa$id$s"
    ip -n "$ns2" addr add 192.0.2.2/24 dev "pb$id$s"
    ip -n "$ns1" link set "pa$id$s" up
    ip -n "$ns2" link set "pb$id$s" up
    local if1="mp$id${s}1" if2="mp$id${s}2"
    start_daemon "$impl" "$ns1" "$if1"
    local daemon=$started_pid
    start_daemon "$impl" "$ns2" "$if2"
    (umask 077 && wg genkey >"$work/1.key" && wg genkey >"$work/2.key")
    local pub1 pub2
    pub1=$(wg pubkey <"$work/1.key")
    pub2=$(wg pubkey <"$work/2.key")
    ip netns exec "$ns2" wg set "$if2" private-key "$work/2.key" listen-port 51821 peer "$pub1" allowed-ips 10.77.0.1/32
    ip netns exec "$ns1" wg set "$if1" private-key "$work/1.key" listen-port 51820 peer "$pub2" \
        allowed-ips 10.77.0.2/32 endpoint 192.0.2.2:51821
    ip -n "$ns1" addr add 10.77.0.1/24 dev "$if1"
    ip -n "$ns2" addr add 10.77.0.2/24 dev "$if2"
    ip -n "$ns1" link set "$if1" up
    ip -n "$ns2" link set "$if2" up
    ip netns exec "$ns1" ping -n -c 3 -W 2 10.77.0.2 >/dev/null || die "$impl: no tunnel"

    log "$impl: adding $peers peers"
    local t0 t1
    t0=$(now_ms)
    ip netns exec "$ns1" wg addconf "$if1" "$work/peers.conf"
    t1=$(now_ms)
    record "$impl" add_s "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1000 }')"
    local configured
    configured=$(ip netns exec "$ns1" wg show "$if1" peers | wc -l)
    ((configured == peers + 1)) || die "$impl: $configured peers configured, not $((peers + 1))"

    sleep 1
    local c0 c1
    c0=$(cpu_ticks "$daemon")
    sleep "$idle"
    c1=$(cpu_ticks "$daemon")
    record "$impl" idle_cpu_pct "$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v s="$idle" 'BEGIN { printf "%.2f", 100 * t / hz / s }')"
    record "$impl" rss_mb "$(awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$daemon/status")"

    read -r loss p99 <<<"$(ping_stats "$ns1" 10.77.0.2 "$pings")"
    record "$impl" ping_loss_pct "$loss"
    record "$impl" ping_p99_ms "$p99"

    log "$impl: $dumps concurrent dumps while pinging"
    local -a dumpers=()
    t0=$(now_ms)
    for ((i = 0; i < dumps; i++)); do
        ip netns exec "$ns1" wg show "$if1" dump >/dev/null 2>&1 &
        dumpers+=($!)
    done
    read -r loss p99 <<<"$(ping_stats "$ns1" 10.77.0.2 "$pings")"
    local pid
    for pid in "${dumpers[@]}"; do wait "$pid" || true; done
    t1=$(now_ms)
    record "$impl" dump_ping_loss_pct "$loss"
    record "$impl" dump_ping_p99_ms "$p99"
    record "$impl" dump_s "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1000 }')"

    log "$impl: removing them"
    local -a args
    mapfile -t args <"$work/remove.args"
    t0=$(now_ms)
    ip netns exec "$ns1" wg set "$if1" "${args[@]}"
    t1=$(now_ms)
    record "$impl" remove_s "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1000 }')"
    configured=$(ip netns exec "$ns1" wg show "$if1" peers | wc -l)
    ((configured == 1)) || log "$impl: $configured peers left after removing, not 1"
    bench_teardown
}

round wireguard-go
round meshgate-wg

python3 - "$results" "$peers" <<'PY'
import sys
values = {}
metrics = []
for line in open(sys.argv[1]):
    impl, metric, value = line.rstrip("\n").split("\t")
    if metric not in metrics:
        metrics.append(metric)
    values[(impl, metric)] = value
print("%s extra peers" % sys.argv[2])
print("%-20s %14s %14s %8s" % ("metric", "wireguard-go", "meshgate-wg", "ratio"))
for m in metrics:
    g, w = values.get(("wireguard-go", m), "NA"), values.get(("meshgate-wg", m), "NA")
    try:
        ratio = "%.2f" % (float(w) / float(g)) if float(g) else "-"
    except ValueError:
        ratio = "-"
    print("%-20s %14s %14s %8s" % (m, g, w, ratio))
PY
