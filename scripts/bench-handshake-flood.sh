#!/usr/bin/env bash
# bench-handshake-flood.sh: an established tunnel and a new peer during a handshake-initiation flood,
# meshgate-wg against wireguard-go on the same three-namespace topology.
#
# This is a benchmark, not a test: it never fails because a figure is bad, only when it cannot measure.
#
# Namespaces: the victim (one tunnel daemon, two veths), the established peer (a daemon with a working
# session to the victim) and the attacker (flood sources, and a third daemon: a new peer the victim knows
# but has never talked to). The attacker sends handshake initiations with a valid mac1 for the victim's
# public key (all mac1 needs) and random contents, from 1 or --sources addresses, at --rate packets/s.
# During the flood:
#   ping_loss_pct / ping_p50_ms / ping_p99_ms   --pings pings at -i 0.01 from the established peer through
#                                                the tunnel (each reply's own RTT; a lost one counts as lost)
#   new_peer_handshake_ms  the first ping from the new peer: its echo waits in the daemon while it
#                          handshakes with the victim (through the cookie, if the victim is under load),
#                          so its RTT is the handshake plus one round trip; 0 replies within 12 s is NA
#   flood_pps_sent         what the flooder actually sent, per second
#   victim_cpu_pct         the victim daemon's CPU (% of one core) over the flood
# and the same pings without a flood first (baseline_ping_p99_ms). Each figure is the median over the
# rounds; the ratio is meshgate-wg / wireguard-go.
#
# Usage: scripts/bench-handshake-flood.sh [--rounds N] [--rate PPS] [--sources N] [--pings N]
#                                         [--binary PATH] [--wireguard-go PATH]
# Must run as root (network namespaces). Requires ip, wg, wireguard-go, ping, python3, awk, flock.
set -euo pipefail

# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
bench_name=handshake-flood

rounds=1
rate=100000
sources=1
pings=500
binary=""
wggo=""

usage() { sed -n '/^# Usage:/,/^# Must run/p' "$0" | sed 's/^# \{0,1\}//'; }
while (($# > 0)); do
    case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --sources) sources=$2; shift 2 ;;
    --pings) pings=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --wireguard-go) wggo=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for v in rounds rate sources pings; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} == 0)); then die "--$v must be a positive integer"; fi
done
((sources <= 250)) || die "--sources is at most 250"

id=$$
nsv="mgfl$id-v"
nsp="mgfl$id-p"
nsx="mgfl$id-x"
namespaces=("$nsv" "$nsp" "$nsx")
bench_prepare

# Pings with -i 0.01; prints "loss_pct p50_ms p99_ms" (lost pings count as infinitely slow for p99).
ping_stats() { # ns target count
    ip netns exec "$1" ping -n -i 0.01 -c "$3" -w $(($3 / 50 + 10)) "$2" 2>&1 | python3 -c '
import re, sys
count = int(sys.argv[1])
rtts = sorted(float(m.group(1)) for m in re.finditer(r"time=([0-9.]+) ms", sys.stdin.read()))
loss = 100.0 * (count - len(rtts)) / count
def pct(p):
    k = int(round(p * count + 0.5)) - 1
    return "%.3f" % rtts[k] if k < len(rtts) else "inf"
print("%.1f %s %s" % (loss, pct(0.50) if rtts else "NA", pct(0.99) if rtts else "NA"))
' "$3"
}

round() { # impl round
    local impl=$1 r=$2 s
    s=${impl:0:1}
    log "$impl round $r: setting up"
    ip netns add "$nsv"
    ip netns add "$nsp"
    ip netns add "$nsx"
    for ns in "$nsv" "$nsp" "$nsx"; do ip -n "$ns" link set lo up; done
    ip link add "fv$id$s" netns "$nsv" type veth peer name "fp$id$s" netns "$nsp"
    ip link add "gv$id$s" netns "$nsv" type veth peer name "gx$id$s" netns "$nsx"
    ip -n "$nsv" addr add 192.0.2.1/24 dev "fv$id$s"
    ip -n "$nsp" addr add 192.0.2.2/24 dev "fp$id$s"
    ip -n "$nsv" addr add 198.18.0.1/16 dev "gv$id$s"
    ip -n "$nsx" addr add 198.18.0.2/16 dev "gx$id$s"
    local i
    for ((i = 1; i <= sources; i++)); do ip -n "$nsx" addr add "198.18.1.$i/16" dev "gx$id$s"; done
    for dev in "fv$id$s" "gv$id$s"; do ip -n "$nsv" link set "$dev" up; done
    ip -n "$nsp" link set "fp$id$s" up
    ip -n "$nsx" link set "gx$id$s" up

    local ifv="mf$id${s}v" ifp="mf$id${s}p" ifn="mf$id${s}n"
    start_daemon "$impl" "$nsv" "$ifv"
    local victim=$started_pid
    start_daemon "$impl" "$nsp" "$ifp"
    start_daemon "$impl" "$nsx" "$ifn"
    (umask 077 && wg genkey >"$work/v.key" && wg genkey >"$work/p.key" && wg genkey >"$work/n.key")
    local pubv pubp pubn
    pubv=$(wg pubkey <"$work/v.key")
    pubp=$(wg pubkey <"$work/p.key")
    pubn=$(wg pubkey <"$work/n.key")
    ip netns exec "$nsv" wg set "$ifv" private-key "$work/v.key" listen-port 51820 \
        peer "$pubp" allowed-ips 10.77.0.2/32 peer "$pubn" allowed-ips 10.77.0.3/32
    ip netns exec "$nsp" wg set "$ifp" private-key "$work/p.key" peer "$pubv" allowed-ips 10.77.0.1/32 \
        endpoint 192.0.2.1:51820
    ip netns exec "$nsx" wg set "$ifn" private-key "$work/n.key" peer "$pubv" allowed-ips 10.77.0.1/32 \
        endpoint 198.18.0.1:51820
    ip -n "$nsv" addr add 10.77.0.1/24 dev "$ifv"
    ip -n "$nsp" addr add 10.77.0.2/24 dev "$ifp"
    ip -n "$nsx" addr add 10.77.0.3/24 dev "$ifn"
    for pair in "$nsv:$ifv" "$nsp:$ifp" "$nsx:$ifn"; do ip -n "${pair%%:*}" link set "${pair#*:}" mtu 1420 up; done
    ip netns exec "$nsp" ping -n -c 3 -W 2 10.77.0.1 >/dev/null || die "$impl: no tunnel between peer and victim"

    read -r _ _ p99 <<<"$(ping_stats "$nsp" 10.77.0.1 "$pings")"
    record "$impl" baseline_ping_p99_ms "$p99"

    log "$impl round $r: flooding at $rate packets/s from $sources source(s)"
    local seconds=$((pings / 100 + 6))
    ip netns exec "$nsx" python3 - "$pubv" "$rate" "$sources" "$seconds" >"$work/flood.out" 2>&1 <<'PY' &
import base64, hashlib, os, socket, sys, time
victim, rate, sources, seconds = base64.b64decode(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
# mac1 = MAC(HASH(LABEL_MAC1 || responder public key), message up to mac1) (whitepaper 5.4.4)
mac1_key = hashlib.blake2s(b"mac1----" + victim).digest()
messages = []
for _ in range(64):
    body = (1).to_bytes(4, "little") + os.urandom(4 + 32 + 48 + 28)
    messages.append(body + hashlib.blake2s(body, digest_size=16, key=mac1_key).digest() + bytes(16))
socks = []
for i in range(1, sources + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.18.1.%d" % i, 0))
    s.setblocking(False)
    socks.append(s)
target = ("198.18.0.1", 51820)
start = time.monotonic()
sent = 0
tick = 0.005
while True:
    now = time.monotonic()
    if now - start >= seconds:
        break
    due = int((now - start + tick) * rate)
    while sent < due:
        try:
            socks[sent % len(socks)].sendto(messages[sent % 64], target)
        except BlockingIOError:
            pass
        sent += 1
    time.sleep(max(0.0, start + (sent / rate) - time.monotonic()))
print(int(sent / (time.monotonic() - start)))
PY
    local flood=$!
    pids+=("$flood")
    sleep 1
    local t0
    t0=$(cpu_ticks "$victim")
    # The new peer's first ping starts a second into the pings, while the flood is on.
    (
        sleep 1
        ip netns exec "$nsx" ping -n -c 1 -W 12 10.77.0.1 >"$work/newpeer.out" 2>&1 || true
    ) &
    local newpeer=$!
    read -r loss p50 p99 <<<"$(ping_stats "$nsp" 10.77.0.1 "$pings")"
    wait "$newpeer" || true
    local t1
    t1=$(cpu_ticks "$victim")
    wait "$flood" || true
    record "$impl" ping_loss_pct "$loss"
    record "$impl" ping_p50_ms "$p50"
    record "$impl" ping_p99_ms "$p99"
    local hs
    hs=$(awk -F'time=' '/time=/ { split($2, a, " "); print a[1] }' "$work/newpeer.out")
    record "$impl" new_peer_handshake_ms "${hs:-NA}"
    record "$impl" flood_pps_sent "$(tail -n 1 "$work/flood.out")"
    record "$impl" victim_cpu_pct "$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v s="$((pings / 100))" \
        'BEGIN { printf "%.0f", 100 * t / hz / (s + 1) }')"
    bench_teardown
}

for ((r = 1; r <= rounds; r++)); do
    round wireguard-go "$r"
    round meshgate-wg "$r"
done

python3 - "$results" "$rate" "$sources" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
metrics = []
values = {}
for impl, metric, value in rows:
    if metric not in metrics:
        metrics.append(metric)
    values.setdefault((impl, metric), []).append(value)
def med(impl, metric):
    v = [float(x) for x in values.get((impl, metric), []) if x not in ("NA", "inf")]
    n = len(values.get((impl, metric), []))
    if len(v) < n / 2 or not v:
        return None
    return statistics.median(v)
print("handshake flood: %s initiations/s offered from %s source(s)" % (sys.argv[2], sys.argv[3]))
print("%-24s %14s %14s %8s" % ("metric", "wireguard-go", "meshgate-wg", "ratio"))
for m in metrics:
    g, w = med("wireguard-go", m), med("meshgate-wg", m)
    fmt = lambda x: "NA" if x is None else ("%.3f" % x if x < 100 else "%.0f" % x)
    ratio = "%.2f" % (w / g) if g and w is not None else "-"
    print("%-24s %14s %14s %8s" % (m, fmt(g), fmt(w), ratio))
PY
