#!/usr/bin/env bash
# Counts heap allocations per packet on meshgate-wg's data path (the target is zero).
#
# Two meshgate-wg instances in namespaces; an LD_PRELOAD counter (Benchmarks/malloccount.c) records the
# process-wide allocation count before and after a burst of traffic, once for UDP through the tunnel and
# once for TCP, and prints allocations per packet for the sender and the receiver.
#
#   scripts/bench-allocations.sh [--binary PATH] [--packets N]
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
packets=200000
while (($#)); do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --packets) packets=$2; shift 2 ;;
        *) echo "unknown option: $1" >&2; exit 64 ;;
    esac
done
if [[ -z "$binary" ]]; then
    flock /tmp/meshgate-swift.lock swift build -c release --product meshgate-wg >/dev/null
    binary=$(swift build -c release --show-bin-path)/meshgate-wg
fi

work=$(mktemp -d)
suffix=$$
ns_a=mgalloc-a-$suffix
ns_b=mgalloc-b-$suffix
if_a=mgal$suffix
if_b=mgbl$suffix
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    ip netns del "$ns_a" 2>/dev/null || true
    ip netns del "$ns_b" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

gcc -O2 -shared -fPIC -o "$work/libmalloccount.so" Benchmarks/malloccount.c -ldl

ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add veth-a netns "$ns_a" type veth peer name veth-b netns "$ns_b"
ip -n "$ns_a" addr add 192.0.2.1/24 dev veth-a
ip -n "$ns_b" addr add 192.0.2.2/24 dev veth-b
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
ip -n "$ns_a" link set veth-a up
ip -n "$ns_b" link set veth-b up

start() { # ns iface countfile
    LD_PRELOAD="$work/libmalloccount.so" MALLOCCOUNT_FILE="$3" LOG_LEVEL=error \
        ip netns exec "$1" "$binary" -f "$2" &
    pids+=($!)
    for _ in $(seq 50); do [[ -S /var/run/wireguard/$2.sock ]] && return; sleep 0.1; done
    echo "meshgate-wg did not start" >&2
    exit 1
}
start "$ns_a" "$if_a" "$work/a.count"
start "$ns_b" "$if_b" "$work/b.count"
pid_a=$(pgrep -f -- "-f $if_a\$" | head -1)
pid_b=$(pgrep -f -- "-f $if_b\$" | head -1)

key_a=$(wg genkey)
key_b=$(wg genkey)
ip netns exec "$ns_b" wg set "$if_b" private-key <(echo "$key_b") listen-port 51820 \
    peer "$(wg pubkey <<<"$key_a")" allowed-ips 10.0.0.1/32
ip netns exec "$ns_a" wg set "$if_a" private-key <(echo "$key_a") listen-port 51820 \
    peer "$(wg pubkey <<<"$key_b")" allowed-ips 10.0.0.2/32 endpoint 192.0.2.2:51820
ip -n "$ns_a" addr add 10.0.0.1/24 dev "$if_a"
ip -n "$ns_b" addr add 10.0.0.2/24 dev "$if_b"
ip -n "$ns_a" link set "$if_a" mtu 1420 up
ip -n "$ns_b" link set "$if_b" mtu 1420 up
ip netns exec "$ns_a" ping -c 3 -i 0.2 -q 10.0.0.2 >/dev/null

snapshot() { # prints "a b" after asking both processes for their counts
    kill -USR1 "$pid_a" "$pid_b"
    sleep 0.2
    echo "$(tail -1 "$work/a.count") $(tail -1 "$work/b.count")"
}

ip netns exec "$ns_b" iperf3 -s -D -B 10.0.0.2
sleep 0.3
# Warm-up: first-use allocations (thread buffers, dictionaries) are not per-packet costs.
ip netns exec "$ns_a" iperf3 -c 10.0.0.2 -u -b 200M -l 1200 -t 1 >/dev/null

read -r a0 b0 < <(snapshot)
ip netns exec "$ns_a" iperf3 -c 10.0.0.2 -u -b 400M -l 1200 -k "$packets" >/dev/null
read -r a1 b1 < <(snapshot)
ip netns exec "$ns_a" iperf3 -c 10.0.0.2 -t 3 >/dev/null
read -r a2 b2 < <(snapshot)
tcp_segments=$(ip netns exec "$ns_b" cat /proc/net/snmp | awk '/^Tcp:/ {n++} n==2 && /^Tcp:/ {print $11; exit}')

echo "command: $0 --packets $packets"
printf '%-32s %12s %12s\n' "phase" "sender" "receiver"
printf '%-32s %12s %12s\n' "UDP, $packets packets (allocs)" "$((a1 - a0))" "$((b1 - b0))"
awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v n="$packets" \
    'BEGIN { printf "%-32s %12.5f %12.5f\n", "UDP allocations per packet", a / n, b / n }'
printf '%-32s %12s %12s\n' "TCP 3 s (allocs)" "$((a2 - a1))" "$((b2 - b1))"
echo "TCP segments received by the far end's stack so far: ${tcp_segments:-unknown}"
