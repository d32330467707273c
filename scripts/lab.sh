#!/usr/bin/env bash
# The meshgate demo: two regions, each with an HA pair of gateways running meshgated and a LAN host behind
# them, joined over an "internet" bridge, all in network namespaces on this machine. It shows traffic
# between the LAN hosts, `meshgate status` and `meshgate routes`, runs a failover drill and a real
# failover (SIGKILL of a primary), and tears everything down.
#
#   scripts/lab.sh            build, run the demo, tear down
#   scripts/lab.sh --keep     leave the lab running (e.g. ip netns exec mgdemo-host-nyc1 bash)
#   scripts/lab.sh --down     remove a lab left running with --keep
set -euo pipefail

cd "$(dirname "$0")/.."
prefix=mgdemo
keep=false
case "${1:-}" in
    --keep) keep=true ;;
    --down)
        ./scripts/gateway-lab.sh down "$prefix"
        echo "lab removed"
        exit 0
        ;;
    "") ;;
    -h | --help)
        sed -n '2,10p' "$0"
        exit 0
        ;;
    *)
        echo "unknown option: $1 (try --help)" >&2
        exit 64
        ;;
esac

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

./scripts/install-deps.sh >/dev/null
step "building meshgated and meshgate"
swift build --product meshgated 2>&1 | tail -1
swift build --product meshgate 2>&1 | tail -1
bin=$(swift build --show-bin-path)
export MESHGATED=$bin/meshgated
meshgate=$bin/meshgate

if [[ "$keep" == false ]]; then trap './scripts/gateway-lab.sh down "$prefix"' EXIT; fi
step "bringing up two regions (nyc1, fsn1), each an HA pair + a LAN host, joined by an internet bridge"
./scripts/gateway-lab.sh up "$prefix"
sock() { echo "/run/$prefix/gw-$1/control.sock"; }
sleep 2

step "LAN to LAN: host-nyc1 (10.10.10.100) -> host-fsn1 (10.20.10.100)"
ip netns exec "$prefix-host-nyc1" ping -c 5 -i 0.2 10.20.10.100

step "TCP between the LAN hosts (iperf3, 3 s, through MTU 1280 with MSS clamping)"
ip netns exec "$prefix-host-fsn1" iperf3 -s -1 -D -B 10.20.10.100
sleep 0.3
ip netns exec "$prefix-host-nyc1" iperf3 -c 10.20.10.100 -t 3 | tail -4

step "meshgate status (gw-nyc1-a)"
"$meshgate" status --socket "$(sock nyc1-a)"
step "meshgate status (gw-nyc1-b)"
"$meshgate" status --socket "$(sock nyc1-b)"
step "meshgate routes (gw-fsn1-a)"
"$meshgate" routes --socket "$(sock fsn1-a)"
step "meshgate peers (gw-fsn1-a)"
"$meshgate" peers --socket "$(sock fsn1-a)"
step "kernel routes on gw-fsn1-a (ours carry proto 88)"
ip -n "$prefix-gw-fsn1-a" route

step "planned failover drill: meshgate drill failover --group nyc1 (run on gw-nyc1-b)"
"$meshgate" drill failover --group nyc1 --socket "$(sock nyc1-b)"

step "unplanned failover: SIGKILL the nyc1 primary while host-fsn1 pings host-nyc1 every 10 ms"
ip netns exec "$prefix-host-fsn1" ping -D -i 0.01 -w 4 10.10.10.100 >"/run/$prefix/ping.txt" 2>&1 &
ping_pid=$!
sleep 1
./scripts/gateway-lab.sh kill-gw "$prefix" nyc1-a
wait "$ping_pid" || true
python3 - "/run/$prefix/ping.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
ts = [float(m.group(1)) for m in re.finditer(r'^\[(\d+\.\d+)\].*icmp_seq', text, re.M)]
gap = max(b - a for a, b in zip(ts, ts[1:])) if len(ts) > 1 else float("nan")
print(f"replies: {len(ts)}; longest gap between replies (the outage): {gap * 1000:.0f} ms")
PY
"$meshgate" status --socket "$(sock nyc1-b)" | tail -1

step "restarting gw-nyc1-a: it rejoins as standby (non-preemptive)"
./scripts/gateway-lab.sh start-gw "$prefix" nyc1-a
sleep 1.5
"$meshgate" status --socket "$(sock nyc1-a)" | tail -1

if [[ "$keep" == true ]]; then
    echo
    echo "lab left running: ip netns exec $prefix-host-nyc1 bash; sockets in /run/$prefix/; remove with scripts/lab.sh --down"
fi
