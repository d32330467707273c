#!/usr/bin/env bash
# bench-failover.sh: how long LAN-to-LAN traffic stops when the primary of an HA pair fails.
#
# This is a benchmark, not a test: it never fails because a figure is bad, only when it cannot measure.
#
# Builds the two-region lab of scripts/gateway-lab.sh (namespaces PREFIX-*) with release binaries and, for
# each scenario, repeats RUNS times: host-fsn1 pings host-nyc1 (10.10.10.100) with `ping -D -i 0.01`, the
# fault is injected on the current primary of group nyc1 one second into the run, and the run stops
# --window seconds after the fault. The outage of a run is the longest gap between consecutive reply
# timestamps, with the end of the run counted as a timestamp, so traffic that never came back shows as
# an outage as long as the window. After each run the lab is restored and the script waits until every
# gateway agrees on one primary per group and traffic flows again.
#
# Scenarios (the primary is the nyc1 gateway holding the role at that moment; non-preemptive, so it
# alternates between gw-nyc1-a and gw-nyc1-b):
#   sigkill   meshgated of the primary killed with SIGKILL (restarted afterwards: it comes back as standby)
#   wan-cut   `ip link set wan down` in the primary's namespace (then up again)
#   lan-cut   `ip link set lan down` in the primary's namespace (then up again)
#   drill     `meshgate drill failover --group nyc1` (planned step-down, then the drill restores the
#             original primary: two role changes inside one run); the drill's own convergence time and
#             probe loss are reported too
#
# Usage: scripts/bench-failover.sh [--runs N] [--window S] [--prefix PREFIX] [--scenarios LIST] [--keep]
#   --runs N          runs per scenario (default 5)
#   --window S        seconds observed after the fault (default 3)
#   --prefix PREFIX   lab namespace prefix (default mgbf-<random>)
#   --scenarios LIST  comma-separated subset of sigkill,wan-cut,lan-cut,drill (default: all)
#   --keep            leave the lab up afterwards (remove it with scripts/gateway-lab.sh down PREFIX)
# MESHGATED and MESHGATE select prebuilt binaries; otherwise both are built in release mode.
# Must run as root (network namespaces). Requires ip, nft, wg, ping, jq, python3, flock.
set -euo pipefail

command_line=$(printf '%q ' "$0" "$@")
command_line=${command_line% }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
package_dir=$(cd "$script_dir/.." && pwd)
lab_script=$script_dir/gateway-lab.sh

runs=5
window=3
prefix=mgbf-$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
scenarios=sigkill,wan-cut,lan-cut,drill
keep=false

usage() {
    sed -n '/^# Usage:/,/^# Must run/p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "bench-failover: $*" >&2
    exit 1
}

need_value() {
    (($# >= 2)) || die "$1 needs a value"
}

while (($# > 0)); do
    case "$1" in
        --runs)
            need_value "$@"
            runs=$2
            shift 2
            ;;
        --window)
            need_value "$@"
            window=$2
            shift 2
            ;;
        --prefix)
            need_value "$@"
            prefix=$2
            shift 2
            ;;
        --scenarios)
            need_value "$@"
            scenarios=$2
            shift 2
            ;;
        --keep)
            keep=true
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown argument: $1"
            ;;
    esac
done

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
[[ $window =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--window must be a number of seconds"
((${#prefix} <= 10)) || die "--prefix must be at most 10 characters (interface names)"
((EUID == 0)) || die "must run as root (network namespaces)"
for tool in ip nft wg ping jq python3 flock; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
IFS=, read -r -a scenario_list <<<"$scenarios"
for s in "${scenario_list[@]}"; do
    case "$s" in
        sigkill | wan-cut | lan-cut | drill) ;;
        *) die "unknown scenario: $s" ;;
    esac
done

# shellcheck source=scripts/lab-lib.sh
source "$script_dir/lab-lib.sh"

echo "# $command_line"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, kernel $(uname -r)"

build_lab_binaries
echo "# meshgated: $MESHGATED"
echo "# meshgated: $MESHGATED"

work=$(mktemp -d /tmp/bench-failover.XXXXXX)
ping_pid=""

cleanup() {
    local status=$?
    if [[ -n $ping_pid ]]; then kill "$ping_pid" 2>/dev/null || true; fi
    if [[ $keep == true ]]; then
        echo "lab left up: $lab_script down $prefix"
    else
        "$lab_script" down "$prefix" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One run of scenario $1 against the current primary; sets run_gap (outage, ms), run_primary and
# run_drill (the drill's own figures).
run_once() {
    local scenario=$1 primary out
    primary=$(agreed_primary) || die "no agreed primary before the run"
    run_primary=$primary
    out=$work/ping.out
    ip netns exec "$prefix-host-fsn1" ping -D -i 0.01 10.10.10.100 >"$out" 2>&1 &
    ping_pid=$!
    sleep 1
    local drill=""
    case "$scenario" in
        sigkill) lab kill-gw "$primary" ;;
        wan-cut) lab cut-link "$primary" wan ;;
        lan-cut) lab cut-link "$primary" lan ;;
        drill)
            local report
            report=$(ctl "$primary" drill failover --group nyc1 2>&1) || true
            drill=$(jq -r 'if .ok then .drill | "\(.convergenceMilliseconds) \(.probesLost) \(.probesSent) \(.restored)"
                else "failed: \(.error)" end' <<<"$report" 2>/dev/null) || drill="failed: $report"
            ;;
    esac
    sleep "$window"
    local end
    end=$(date +%s.%N)
    kill -INT "$ping_pid" 2>/dev/null || true
    wait "$ping_pid" 2>/dev/null || true
    ping_pid=""
    run_gap=$(longest_gap_ms "$out" "$end")
    run_drill=$drill
    case "$scenario" in
        sigkill) lab start-gw "$primary" ;;
        wan-cut) lab restore-link "$primary" wan ;;
        lan-cut) lab restore-link "$primary" lan ;;
        drill) ;;
    esac
}

echo "== lab $prefix up"
lab up >/dev/null
wait_settled

declare -A results drills
for scenario in "${scenario_list[@]}"; do
    for ((i = 1; i <= runs; i++)); do
        run_once "$scenario"
        results[$scenario]+="$run_gap "
        if [[ $scenario == drill ]]; then drills[$scenario]+="$run_drill;"; fi
        printf '%-8s run %d: primary gw-%s, outage %s ms%s\n' "$scenario" "$i" "$run_primary" "$run_gap" \
            "${run_drill:+ (drill: convergence ms, probes lost, probes sent, restored: $run_drill)}"
        wait_settled
    done
done

summary() { # values...
    python3 - "$@" <<'PY'
import statistics, sys
values = [float(v) for v in sys.argv[1:]]
print(f"{statistics.median(values):.0f} {max(values):.0f} {min(values):.0f}")
PY
}

echo
echo "LAN-to-LAN outage, host-fsn1 -> host-nyc1, ping -D -i 0.01, $runs runs per scenario (ms):"
echo
echo "| scenario | median | max | min | runs |"
echo "| --- | ---: | ---: | ---: | --- |"
for scenario in "${scenario_list[@]}"; do
    read -r -a values <<<"${results[$scenario]}"
    read -r median max min < <(summary "${values[@]}")
    echo "| $scenario | $median | $max | $min | ${values[*]} |"
done
if [[ -n ${drills[drill]:-} ]]; then
    echo
    echo "meshgate drill failover reports (convergence ms, probes lost, probes sent, restored):"
    tr ';' '\n' <<<"${drills[drill]}" | sed '/^$/d; s/^/  /'
fi
