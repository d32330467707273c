#!/usr/bin/env bash
# fault-matrix.sh: what each kind of fault does to the two-region lab, one row per fault.
#
# This is a benchmark, not a test: it never fails because a figure is bad, only when it cannot measure.
#
# Builds the lab of scripts/gateway-lab.sh (namespaces PREFIX-*) with release binaries. For each fault,
# against the current primary P of group nyc1 (its partner is S): host-fsn1 pings host-nyc1 with
# `ping -D -i 0.01`, and an ARP prober on host-nyc1 asks who has the VIP 10.10.10.1 every 10 ms; one second
# in, the fault starts, lasts its time, and is undone; observation goes on for --settle seconds more. Then:
#   claims        `primary_changed` events in nyc1 with role primary (a member taking the role)
#   outage_ms     longest gap between ping replies (the run's end counts as a reply); a reply that came late
#                 (queued in a frozen gateway) ends a gap only when it arrives
#   lost_pct      ping requests without a reply
#   double_vip_ms 50 ms slots in which ARP answers for the VIP came from two different MACs
#   stale         after the lab settles again: what differs from the state before the fault (meshgate
#                 routes, LAN addresses apart from the VIP, nftables tables, one VIP holder per region);
#                 "none", or "unsettled" if it did not settle within 30 s
#
# Faults:
#   loss-1, loss-5, loss-20   that % of packets dropped between P and S both ways (nftables numgen), 20 s
#   partition-pair            all packets between P and S dropped, 10 s (the WAN only: they share the LAN)
#   partition-regions         all packets between nyc1 and fsn1 gateways dropped, 10 s
#   flap                      P's WAN link down and up every 200 ms, 10 s
#   sigkill                   meshgated of P killed (restarted 3 s later)
#   sigstop                   meshgated of P stopped for 3 s, then continued
#   clock-step                the wall clock of the machine set 1 h ahead for 10 s, then back (only with
#                             --clock-step: it changes the clock of everything on this machine)
#
# Usage: scripts/fault-matrix.sh [--faults LIST] [--settle S] [--clock-step] [--prefix PREFIX] [--keep]
#                                [--output DIR]
#   --output DIR   keep each fault's ping and ARP-probe output there (FAULT.ping, FAULT.arp)
# MESHGATED and MESHGATE select prebuilt binaries; otherwise both are built in release mode.
# Must run as root (network namespaces). Requires ip, nft, wg, ping, jq, python3, flock.
set -euo pipefail

command_line=$(printf '%q ' "$0" "$@")
command_line=${command_line% }
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
package_dir=$(cd "$script_dir/.." && pwd)
lab_script=$script_dir/gateway-lab.sh

faults=loss-1,loss-5,loss-20,partition-pair,partition-regions,flap,sigkill,sigstop
settle=4
prefix=mgfm-$(od -An -N2 -tx2 /dev/urandom | tr -d ' \n')
keep=false
clock_step=false
output=""

usage() { sed -n '/^# Usage:/,/^# Must run/p' "$0" | sed 's/^# \{0,1\}//'; }
die() {
    echo "fault-matrix: $*" >&2
    exit 1
}
while (($# > 0)); do
    case "$1" in
    --faults) faults=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --clock-step) clock_step=true; shift ;;
    --prefix) prefix=$2; shift 2 ;;
    --keep) keep=true; shift ;;
    --output) output=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ $clock_step == true && $faults != *clock-step* ]] && faults+=,clock-step
IFS=, read -r -a fault_list <<<"$faults"
for f in "${fault_list[@]}"; do
    case "$f" in
    loss-1 | loss-5 | loss-20 | partition-pair | partition-regions | flap | sigkill | sigstop) ;;
    clock-step) [[ $clock_step == true ]] || die "clock-step needs --clock-step" ;;
    *) die "unknown fault: $f" ;;
    esac
done
((EUID == 0)) || die "must run as root (network namespaces)"
for tool in ip nft wg ping jq python3 flock; do command -v "$tool" >/dev/null || die "$tool not found"; done

# shellcheck source=scripts/lab-lib.sh
source "$script_dir/lab-lib.sh"

echo "# $command_line"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, kernel $(uname -r), commit $(git -C "$package_dir" rev-parse --short HEAD 2>/dev/null || echo '?')"
build_lab_binaries

work=$(mktemp -d /tmp/fault-matrix.XXXXXX)
helpers=()
clock_saved=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    restore_clock
    local pid
    for pid in "${helpers[@]}"; do kill "$pid" 2>/dev/null || true; done
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

# The clock step: the wall time to go back to is the time saved plus the monotonic time since.
step_clock() {
    clock_saved="$(date +%s.%N) $(awk '{ print $1 }' /proc/uptime)"
    date -s "@$(($(date +%s) + 3600))" >/dev/null
}
restore_clock() {
    [[ -n $clock_saved ]] || return 0
    local wall up
    read -r wall up <<<"$clock_saved"
    date -s "@$(awk -v w="$wall" -v u="$up" -v n="$(awk '{ print $1 }' /proc/uptime)" 'BEGIN { printf "%.3f", w + n - u }')" >/dev/null
    clock_saved=""
}

arp_probe() { # seconds -> prints "t mac" lines
    ip netns exec "$prefix-host-nyc1" python3 "$script_dir/arp-probe.py" eth0 10.10.10.1 10.10.10.100 "$1" | grep -v '^ready$'
}

# Longest run of missing replies in a `ping -i 0.01` output, in ms, by sequence numbers: only for the clock
# step, which moves `ping -D`'s wall-clock stamps (ping sends fewer requests while none are answered, so
# elsewhere the gap between reply stamps is the truer figure). Requests after the last reply count as missing.
outage_ms() { # ping output file
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
seqs = sorted({int(m.group(1)) for m in re.finditer(r"icmp_seq=(\d+) ", text)})
sent = re.search(r"(\d+) packets transmitted", text)
last = int(sent.group(1)) if sent else (seqs[-1] if seqs else 0)
edges = [0] + seqs + [last + 1]
print(max((b - a - 1) * 10 for a, b in zip(edges, edges[1:])))
PY
}

double_vip_ms() { # probe output file
    python3 - "$1" <<'PY'
import sys
slots = {}
for line in open(sys.argv[1]):
    t, mac = line.split()
    slots.setdefault(int(float(t) * 20), set()).add(mac)
print(sum(50 for macs in slots.values() if len(macs) > 1))
PY
}

claims() { # counts role=primary primary_changed events of group nyc1 so far
    cat "/run/$prefix/gw-nyc1-a/log" "/run/$prefix/gw-nyc1-b/log" 2>/dev/null |
        grep -c '"event":"primary_changed".*"role":"primary"\|"role":"primary".*"event":"primary_changed"' || true
}

# What must be the same before and after a fault, per gateway (the VIP holder may change: counted apart).
state_snapshot() {
    local gw ns
    for gw in nyc1-a nyc1-b fsn1-a fsn1-b; do
        ns=$prefix-gw-$gw
        echo "== $gw routes"
        ip -n "$ns" route show proto 88 | sort
        ip -n "$ns" -6 route show proto 88 | sort
        echo "== $gw lan"
        ip -n "$ns" -br addr show dev lan | tr ' ' '\n' | grep -v -e '^10\.10\.10\.1/24$' -e '^10\.20\.10\.1/24$' | sort
        echo "== $gw tables"
        ip netns exec "$ns" nft list tables | sort
    done
    local region holders
    for region in nyc1 fsn1; do
        holders=0
        for gw in "$region-a" "$region-b"; do
            if ip -n "$prefix-gw-$gw" -4 -o addr show dev lan | grep -q " 10\.[12]0\.10\.1/24"; then
                holders=$((holders + 1))
            fi
        done
        echo "== $region VIP holders: $holders"
    done
}

inject() { # fault primary partner: starts the fault; runs in the foreground for its duration
    local fault=$1 p=$2 s=$3 i
    case "$fault" in
    loss-*) lab loss "$p" "$s" "${fault#loss-}" >/dev/null; sleep 20; lab heal >/dev/null ;;
    partition-pair) lab partition "$p" "$s" >/dev/null; sleep 10; lab heal >/dev/null ;;
    partition-regions)
        for a in nyc1-a nyc1-b; do for b in fsn1-a fsn1-b; do lab partition "$a" "$b" >/dev/null; done; done
        sleep 10
        lab heal >/dev/null
        ;;
    flap)
        for ((i = 0; i < 25; i++)); do
            lab cut-link "$p" wan >/dev/null
            sleep 0.2
            lab restore-link "$p" wan >/dev/null
            sleep 0.2
        done
        ;;
    sigkill) lab kill-gw "$p" >/dev/null; sleep 3; lab start-gw "$p" >/dev/null ;;
    sigstop)
        local pid
        pid=$(<"/run/$prefix/gw-$p/pid")
        kill -STOP "$pid"
        sleep 3
        kill -CONT "$pid"
        ;;
    clock-step) step_clock; sleep 10; restore_clock ;;
    esac
}

fault_seconds() {
    case "$1" in
    loss-*) echo 21 ;;
    partition-*) echo 11 ;;
    flap) echo 11 ;;
    sigkill) echo 4 ;;
    sigstop) echo 4 ;;
    clock-step) echo 11 ;;
    esac
}

echo "== lab $prefix up"
lab up >/dev/null
wait_settled
state_snapshot >"$work/baseline"

rows=()
for fault in "${fault_list[@]}"; do
    primary=$(agreed_primary) || die "no agreed primary before $fault"
    if [[ $primary == nyc1-a ]]; then partner=nyc1-b; else partner=nyc1-a; fi
    total=$(($(fault_seconds "$fault") + 1 + settle))
    before=$(claims)
    ip netns exec "$prefix-host-fsn1" ping -D -i 0.01 -w "$total" 10.10.10.100 >"$work/ping" 2>&1 &
    ping_pid=$!
    helpers+=("$ping_pid")
    arp_probe "$total" >"$work/arp" 2>"$work/arp.err" &
    probe_pid=$!
    helpers+=("$probe_pid")
    sleep 1
    echo "== $fault on gw-$primary"
    inject "$fault" "$primary" "$partner"
    wait "$ping_pid" 2>/dev/null || true
    end=$(date +%s.%N)
    wait "$probe_pid" 2>/dev/null || true
    if [[ $fault == clock-step ]]; then
        outage=$(outage_ms "$work/ping")
    else
        outage=$(longest_gap_ms "$work/ping" "$end")
    fi
    sent=$(grep -c 'icmp_seq=' "$work/ping" || true)
    lost=$(awk '/packets transmitted/ { for (i = 1; i <= NF; i++) if ($i ~ /%$/) print $i }' "$work/ping")
    doubled=$(double_vip_ms "$work/arp")
    if [[ -n $output ]]; then
        mkdir -p "$output"
        cp "$work/ping" "$output/$fault.ping"
        cp "$work/arp" "$output/$fault.arp"
    fi
    stale=none
    if ! (wait_settled) 2>/dev/null; then
        stale=unsettled
    else
        state_snapshot >"$work/after"
        if ! diff -q "$work/baseline" "$work/after" >/dev/null; then
            stale=$(diff "$work/baseline" "$work/after" | grep '^[<>]' | head -3 | tr '\n' ';')
        fi
    fi
    changes=$(($(claims) - before))
    printf '%s: claims %s, outage %s ms, lost %s, double VIP %s ms, stale: %s (%s replies)\n' \
        "$fault" "$changes" "$outage" "${lost:-?}" "$doubled" "$stale" "$sent"
    rows+=("| $fault | $changes | $outage | ${lost:-?} | $doubled | $stale |")
done

echo
echo "| fault | primary claims | longest outage, ms | ping loss | double-VIP, ms | stale state afterwards |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
printf '%s\n' "${rows[@]}"
