#!/usr/bin/env bash
# CPU that meshgated uses at rest: the four-gateway lab (two HA pairs, one subnet each), no traffic, after
# it settled; user+system time of each daemon from /proc over a window, as a share of one core.
#
#   scripts/bench-idle.sh [SECONDS]      (default 30; root)
#
# Builds meshgated in release mode unless MESHGATED points at a binary.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
prefix=mgidle
if [[ -z ${MESHGATED:-} ]]; then
    swift build -c release --product meshgated >/dev/null
    MESHGATED=$(swift build -c release --show-bin-path)/meshgated
fi
export MESHGATED
trap 'scripts/gateway-lab.sh down "$prefix" >/dev/null 2>&1 || true' EXIT
scripts/gateway-lab.sh up "$prefix" >/dev/null
sleep 5
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A before
gateways=(nyc1-a nyc1-b fsn1-a fsn1-b)
for gw in "${gateways[@]}"; do before[$gw]=$(cpu_ticks "$(cat "/run/$prefix/gw-$gw/pid")"); done
sleep "$seconds"
total=0
for gw in "${gateways[@]}"; do
    pid=$(cat "/run/$prefix/gw-$gw/pid")
    used=$(($(cpu_ticks "$pid") - before[$gw]))
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    total=$((total + used))
    awk -v u="$used" -v t="$ticks" -v s="$seconds" -v g="gw-$gw" -v r="$rss" \
        'BEGIN { printf "%-10s %5.2f%% of a core at rest, RSS %d KB\n", g, 100 * u / t / s, r }'
done
awk -v u="$total" -v t="$ticks" -v s="$seconds" -v n="${#gateways[@]}" \
    'BEGIN { printf "mean       %5.2f%% of a core per gateway (%d gateways, %d s)\n", 100 * u / t / s / n, n, s }'
