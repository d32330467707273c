#!/usr/bin/env bash
# Does the election hold while the gateways forward as much as the machine allows? (issue 7, defect 2)
#
# Builds the four-gateway lab with release binaries, then runs iperf3 between the two regions' LAN hosts in
# both directions at once (4 streams each way) for SECONDS, and counts role changes of the HA groups in the
# gateways' audit logs over that time: on a healthy mesh every one is spurious. Then, with the load still
# on, it kills the nyc1 primary (SIGKILL) and measures how long the standby takes to claim the role, as the
# audit log records it: a real failure must still be detected within a second.
#
#   scripts/bench-noflap.sh [SECONDS]    (default 300; root)
#
# A benchmark, not a test: it prints figures and fails only when it cannot measure.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
prefix=mgnf
bin=$(swift build -c release --show-bin-path)
if [[ -z ${MESHGATED:-} ]]; then
    swift build -c release --product meshgated >/dev/null
    swift build -c release --product meshgate >/dev/null
    MESHGATED=$bin/meshgated
fi
MESHGATE=${MESHGATE:-$bin/meshgate}
export MESHGATED
cleanup() {
    pkill -f "iperf3 .*-p 5299" 2>/dev/null || true
    scripts/gateway-lab.sh down "$prefix" >/dev/null 2>&1 || true
}
trap cleanup EXIT
scripts/gateway-lab.sh up "$prefix" >/dev/null
sleep 3
host_nyc1=$prefix-host-nyc1
host_fsn1=$prefix-host-fsn1
role_changes() {
    cat /run/$prefix/gw-*/log | grep -c '"event":"primary_changed".*"group"' || true
}
before=$(role_changes)
ip netns exec "$host_nyc1" iperf3 -s -p 5299 -D -1
ip netns exec "$host_fsn1" iperf3 -s -p 5299 -D -1
ip netns exec "$host_fsn1" iperf3 -c 10.10.10.100 -p 5299 -P 4 -t "$seconds" -J >/tmp/$prefix-up.json &
up=$!
ip netns exec "$host_nyc1" iperf3 -c 10.20.10.100 -p 5299 -P 4 -t "$((seconds + 5))" -J >/tmp/$prefix-down.json &
down=$!
wait "$up" || true
spurious=$(($(role_changes) - before))
gbits=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(round(d["end"]["sum_received"]["bits_per_second"]/1e9, 2))' /tmp/$prefix-up.json 2>/dev/null || echo "?")

# A real failure under load: SIGKILL the nyc1 primary, time the standby's claim.
primary=$("$MESHGATE" --socket /run/$prefix/gw-nyc1-a/control.sock --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["groups"][0]["primary"])')
standby=gw-nyc1-b
[[ $primary == gw-nyc1-b ]] && standby=gw-nyc1-a
claims_before=$(grep -c '"event":"primary_changed".*"role":"primary"' "/run/$prefix/$standby/log" || true)
killed_at=$(date +%s.%N)
scripts/gateway-lab.sh kill-gw "$prefix" "$primary"
detected=""
for _ in $(seq 1 300); do
    if (($(grep -c '"event":"primary_changed".*"role":"primary"' "/run/$prefix/$standby/log" || true) > claims_before)); then
        detected=$(date +%s.%N)
        break
    fi
    sleep 0.01
done
wait "$down" || true
echo "load: iperf3 -P 4 each way for $seconds s, fsn1 → nyc1 received $gbits Gbit/s"
echo "spurious primary changes under load: $spurious (over $seconds s, 2 HA groups)"
if [[ -n $detected ]]; then
    awk -v a="$killed_at" -v b="$detected" 'BEGIN { printf "real failure under load (SIGKILL of the primary) detected in %.0f ms\n", (b - a) * 1000 }'
else
    echo "real failure under load: the standby did not claim within 3 s"
fi
