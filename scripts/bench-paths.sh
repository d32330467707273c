#!/usr/bin/env bash
# What the end-to-end path probes measure, against what a LAN host measures (issue 9): builds the
# four-gateway lab with release binaries, lets the probes run for SECONDS, then prints, per site pair, the
# path probes' p50/p95/p99 RTT and loss (`meshgate routes --json` on each primary), the overlay probes'
# (`meshgate peers --json`: gateway to gateway only), and `ping` from one LAN host to the other over the same
# time, with the ratio path p50 / host ping p50 (the probes should see what the hosts see).
#
#   scripts/bench-paths.sh [SECONDS]    (default 60; root)
#
# A benchmark, not a test: it prints figures and fails only when it cannot measure.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
prefix=mgbp
bin=$(swift build -c release --show-bin-path)
if [[ -z ${MESHGATED:-} ]]; then
    swift build -c release --product meshgated >/dev/null
    swift build -c release --product meshgate >/dev/null
    MESHGATED=$bin/meshgated
fi
MESHGATE=${MESHGATE:-$bin/meshgate}
export MESHGATED
cleanup() { scripts/gateway-lab.sh down "$prefix" >/dev/null 2>&1 || true; }
trap cleanup EXIT
scripts/gateway-lab.sh up "$prefix" >/dev/null
# Host-to-host ping over the same window, one a second like the probes.
ip netns exec "$prefix-host-nyc1" ping -q -i 1 -c "$seconds" 10.20.10.100 >"/tmp/$prefix-ping.txt" 2>&1 &
ping_pid=$!
sleep "$seconds"
wait "$ping_pid" || true
host_p50=$(ip netns exec "$prefix-host-nyc1" ping -n -i 0.2 -c 25 10.20.10.100 2>/dev/null \
    | sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
report=$(mktemp)
cat >"$report" <<'PY'
import json, sys
kind, gw = sys.argv[1], sys.argv[2]
body = json.load(sys.stdin)
if kind == "routes":
    for r in body["routes"]:
        p = r.get("path")
        if p:
            print("path gw-%s -> %s (%s): p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, loss %.1f%%" % (
                gw, p["subnet"], p["target"], p["rttP50Milliseconds"], p["rttP95Milliseconds"],
                p["rttP99Milliseconds"], p["lossRatio"] * 100))
else:
    for p in body["peers"]:
        if p.get("rttP50Milliseconds") is not None and p["name"].split("-")[1] != gw.split("-")[0]:
            print("overlay gw-%s -> %s: p50 %.2f ms, p95 %.2f ms, loss %.1f%%" % (
                gw, p["name"], p["rttP50Milliseconds"], p["rttP95Milliseconds"], p["probeLossRatio"] * 100))
PY
for gw in nyc1-a fsn1-a; do
    socket=/run/$prefix/gw-$gw/control.sock
    "$MESHGATE" --socket "$socket" --json routes | python3 "$report" routes "$gw"
    "$MESHGATE" --socket "$socket" --json peers | python3 "$report" peers "$gw"
done
rm -f "$report"
grep -E "packets transmitted|rtt" "/tmp/$prefix-ping.txt" | sed 's/^/host ping nyc1 -> fsn1 (1\/s): /'
path_p50=$("$MESHGATE" --socket "/run/$prefix/gw-nyc1-a/control.sock" --json routes \
    | python3 -c 'import json,sys; print(next(r["path"]["rttP50Milliseconds"] for r in json.load(sys.stdin)["routes"] if r.get("path")))')
awk -v a="$path_p50" -v b="$host_p50" 'BEGIN { printf "path probe p50 %.2f ms vs host ping p50 %.2f ms (25 pings at 0.2 s): ratio %.2f\n", a, b, a / b }'
