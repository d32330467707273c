#!/usr/bin/env bash
# The meshgate demo lab: two sites in network namespaces joined by an "internet" link, each running
# meshgate-wg, with traffic through the tunnel and the interface status shown.
#
#   scripts/lab.sh            build, bring the lab up, show traffic and status, tear it down
#   scripts/lab.sh --keep     leave it running (enter with: ip netns exec mgdemo-site-a bash)
#   scripts/lab.sh --down     tear down a lab left running with --keep
set -euo pipefail

cd "$(dirname "$0")/.."

keep=false
case "${1:-}" in
    --keep) keep=true ;;
    --down) ;;
    "") ;;
    -h | --help)
        sed -n '2,8p' "$0"
        exit 0
        ;;
    *)
        echo "unknown option: $1 (try --help)" >&2
        exit 64
        ;;
esac

ns_a=mgdemo-site-a
ns_b=mgdemo-site-b
if_a=mgdemo-a
if_b=mgdemo-b

teardown() {
    for ns in "$ns_a" "$ns_b"; do
        if ip netns pids "$ns" >/dev/null 2>&1; then
            ip netns pids "$ns" | xargs -r kill 2>/dev/null || true
        fi
    done
    sleep 0.3
    ip netns del "$ns_a" 2>/dev/null || true
    ip netns del "$ns_b" 2>/dev/null || true
    rm -f "/var/run/wireguard/$if_a.sock" "/var/run/wireguard/$if_b.sock"
}

if [[ "${1:-}" == "--down" ]]; then
    teardown
    echo "lab removed"
    exit 0
fi

./scripts/install-deps.sh >/dev/null
echo "== building meshgate-wg"
swift build --product meshgate-wg 2>&1 | tail -1
bin=$(swift build --show-bin-path)/meshgate-wg

teardown
if [[ "$keep" == false ]]; then trap teardown EXIT; fi

echo "== creating sites: $ns_a (198.51.100.1) <-> internet <-> $ns_b (198.51.100.2)"
ip netns add "$ns_a"
ip netns add "$ns_b"
ip link add inet-a netns "$ns_a" type veth peer name inet-b netns "$ns_b"
ip -n "$ns_a" addr add 198.51.100.1/24 dev inet-a
ip -n "$ns_b" addr add 198.51.100.2/24 dev inet-b
for ns in "$ns_a" "$ns_b"; do
    ip -n "$ns" link set lo up
done
ip -n "$ns_a" link set inet-a up
ip -n "$ns_b" link set inet-b up

key_a=$(wg genkey)
key_b=$(wg genkey)
pub_a=$(wg pubkey <<<"$key_a")
pub_b=$(wg pubkey <<<"$key_b")

echo "== starting meshgate-wg in each site"
LOG_LEVEL=error ip netns exec "$ns_a" "$bin" "$if_a"
LOG_LEVEL=error ip netns exec "$ns_b" "$bin" "$if_b"

# Site B first: an initiation reaching a peer without its key waits out a 5 s retransmission.
ip netns exec "$ns_b" wg set "$if_b" private-key <(echo "$key_b") listen-port 51820 \
    peer "$pub_a" endpoint 198.51.100.1:51820 allowed-ips 100.64.0.1/32
ip netns exec "$ns_a" wg set "$if_a" private-key <(echo "$key_a") listen-port 51820 \
    peer "$pub_b" endpoint 198.51.100.2:51820 allowed-ips 100.64.0.2/32 persistent-keepalive 25
ip -n "$ns_a" addr add 100.64.0.1/24 dev "$if_a"
ip -n "$ns_b" addr add 100.64.0.2/24 dev "$if_b"
ip -n "$ns_a" link set "$if_a" mtu 1280 up
ip -n "$ns_b" link set "$if_b" mtu 1280 up

echo "== ping through the tunnel (site A -> site B)"
ip netns exec "$ns_a" ping -c 5 -i 0.2 100.64.0.2

echo "== TCP through the tunnel (iperf3, 3 s)"
ip netns exec "$ns_b" iperf3 -s -1 -D -B 100.64.0.2
sleep 0.3
ip netns exec "$ns_a" iperf3 -c 100.64.0.2 -t 3 | tail -4

echo "== wg show (site A)"
ip netns exec "$ns_a" wg show "$if_a"
echo
echo "== wg show (site B)"
ip netns exec "$ns_b" wg show "$if_b"

if [[ "$keep" == true ]]; then
    echo
    echo "lab left running: ip netns exec $ns_a bash   (remove with: scripts/lab.sh --down)"
fi
