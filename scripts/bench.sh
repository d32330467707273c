#!/usr/bin/env bash
# bench.sh: benchmark meshgate-wg against wireguard-go on the same two-namespace topology.
#
# This is a benchmark, not a test: it never fails because a figure is bad, only when it cannot measure.
#
# For each round and each implementation (alternating wireguard-go, meshgate-wg, wireguard-go, ...) it
# builds two fresh network namespaces joined by a veth pair, starts one tunnel daemon in each (in
# foreground mode, backgrounded by this script so that their PIDs are exact), configures them with `wg`,
# measures, and tears everything down again. Each figure printed is the median over the rounds, and the
# ratio is meshgate-wg / wireguard-go.
#
# Metrics (the sending side, namespace 1, is the handshake initiator and the iperf3 client):
#   tcp_1stream_gbit     iperf3 TCP, 1 stream, receiver's rate
#   tcp_1stream_retrans  TCP retransmits reported by the sender during that run
#   tcp_4stream_gbit     iperf3 TCP, 4 parallel streams, receiver's rate
#   tcp_4stream_retrans  retransmits during that run
#   udp_recv_gbit        iperf3 -u at --udp-rate, rate received by the server
#   udp_loss_pct         loss reported by the server during that run
#   ping_tunnel_ms       average RTT of --pings pings at -i 0.01 through the tunnel
#   ping_tunnel_loss_pct lost pings among those
#   ping_veth_ms         the same on the veth underneath (baseline; the ratio should be about 1)
#   handshake_ms         RTT of the first ping after both ends got fresh keys, i.e. handshake plus one
#                        data round trip (ping's own send-to-reply time, so no tool start-up in it; the
#                        echo request waits in the daemon while it handshakes); median over --handshakes
#                        repetitions, then over rounds
#   handshake_failures   first pings, out of --handshakes, without a reply within 2 s
#   rss_idle_mb          VmRSS of the larger of the two daemons, just after the tunnel came up
#   rss_peak_mb_sender   VmHWM of the daemon in namespace 1 after all the load
#   rss_peak_mb_receiver VmHWM of the daemon in namespace 2 after all the load
#   cpu_s_per_gbit       utime+stime of both daemons during the TCP 1-stream run / gigabits received
#
# Usage: scripts/bench.sh [--rounds N] [--duration S] [--mtu M] [--udp-rate R] [--pings N]
#                         [--handshakes N] [--binary PATH] [--wireguard-go PATH] [--json FILE] [--quick]
# Must run as root (network namespaces). Requires ip, wg, wireguard-go, iperf3, ping, jq, awk.
set -euo pipefail

command_line=$(printf '%q ' "$0" "$@")
command_line=${command_line% }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
package_dir=$(cd "$script_dir/.." && pwd)

rounds=3
duration=10
mtu=1420
udp_rate=2G
pings=200
handshakes=10
binary=""
wggo=""
json_file=""

usage() {
    sed -n '/^# Usage:/,/^# Must run/p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "bench: $*" >&2
    exit 1
}

need_value() {
    (($# >= 2)) || die "$1 needs a value"
}

while (($# > 0)); do
    case "$1" in
    --rounds) need_value "$@"; rounds=$2; shift 2 ;;
    --duration) need_value "$@"; duration=$2; shift 2 ;;
    --mtu) need_value "$@"; mtu=$2; shift 2 ;;
    --udp-rate) need_value "$@"; udp_rate=$2; shift 2 ;;
    --pings) need_value "$@"; pings=$2; shift 2 ;;
    --handshakes) need_value "$@"; handshakes=$2; shift 2 ;;
    --binary) need_value "$@"; binary=$2; shift 2 ;;
    --wireguard-go) need_value "$@"; wggo=$2; shift 2 ;;
    --json) need_value "$@"; json_file=$2; shift 2 ;;
    --quick) rounds=1; duration=3; pings=100; handshakes=5; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done

for v in rounds duration mtu pings handshakes; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} == 0)); then
        die "--$v must be a positive integer (got '${!v}')"
    fi
done
((mtu >= 1280 && mtu <= 9000)) || die "--mtu must be between 1280 and 9000"
[[ $udp_rate =~ ^[0-9]+[KMG]?$ ]] || die "--udp-rate must look like 500M or 2G"
((EUID == 0)) || die "must run as root (network namespaces)"
for tool in ip wg iperf3 ping jq awk timeout flock; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
if [[ -z $wggo ]]; then
    wggo=$(command -v wireguard-go) || die "wireguard-go not found (or give --wireguard-go PATH)"
fi
[[ -x $wggo ]] || die "not executable: $wggo"

log() {
    printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2
}

# ---------------------------------------------------------------------------------------------------
# Build (unless --binary), serialised with every other swift build on this machine.

if [[ -z $binary ]]; then
    command -v swift >/dev/null || die "swift not on PATH (or give --binary PATH)"
    log "building meshgate-wg (release), waiting for /tmp/meshgate-swift.lock if needed"
    (cd "$package_dir" && flock /tmp/meshgate-swift.lock swift build -c release --product meshgate-wg) >&2 \
        || die "swift build failed"
    bin_dir=$(cd "$package_dir" && flock /tmp/meshgate-swift.lock swift build -c release --show-bin-path)
    binary="$bin_dir/meshgate-wg"
fi
[[ -x $binary ]] || die "not executable: $binary"
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
binary_info="$(stat -c '%y' "$binary" | cut -d. -f1), sha256 $(sha256sum "$binary" | cut -c1-16)"

# ---------------------------------------------------------------------------------------------------
# Unique names, state and cleanup.

id=$$
work=$(mktemp -d "/tmp/meshgate-bench.$id.XXXXXX")
results="$work/results.tsv" # impl <TAB> metric <TAB> round <TAB> value
notes="$work/notes.txt"
: >"$results"
: >"$notes"

ns1="mgbench$id-1"
ns2="mgbench$id-2"
veth1="vbn${id}a"
veth2="vbn${id}b"
underlay1=192.0.2.1
underlay2=192.0.2.2
tunnel1=10.77.0.1
tunnel2=10.77.0.2
port1=51820
port2=51821
clk_tck=$(getconf CLK_TCK)

# Every round runs this private copy: the build directory is shared, and another build replacing the
# binary in the middle of the run would otherwise mix two versions.
cp "$binary" "$work/meshgate-wg"

pids=()     # every background process we started
ifaces=()   # every tunnel interface name we used (their UAPI sockets live in /var/run/wireguard)
d1_pid=""   # daemon in ns1
d2_pid=""   # daemon in ns2
srv_pid=""  # iperf3 server in ns2
if1=""
if2=""

stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

teardown() {
    local pid
    for pid in "${pids[@]}"; do
        stop_pid "$pid"
    done
    pids=()
    ip netns del "$ns1" 2>/dev/null || true
    ip netns del "$ns2" 2>/dev/null || true
    local name
    for name in "${ifaces[@]}"; do
        rm -f "/var/run/wireguard/$name.sock"
    done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    teardown
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

record() { # impl metric round value
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"
}

note() {
    log "NOTE: $*"
    printf '%s\n' "$*" >>"$notes"
}

# ---------------------------------------------------------------------------------------------------
# Topology.

wait_for_socket() { # pid iface
    local pid=$1 name=$2 i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        [[ -S /var/run/wireguard/$name.sock ]] && return 0
        sleep 0.05
    done
    return 1
}

start_daemon() { # impl ns iface logfile -> sets started_pid
    local impl=$1 ns=$2 name=$3 logfile=$4 exe
    if [[ $impl == wireguard-go ]]; then exe=$wggo; else exe=$work/meshgate-wg; fi
    # `ip netns exec` execs the command, so $! is the daemon itself.
    LOG_LEVEL=error ip netns exec "$ns" "$exe" -f "$name" >"$logfile" 2>&1 &
    started_pid=$!
    pids+=("$started_pid")
    ifaces+=("$name")
    if ! wait_for_socket "$started_pid" "$name"; then
        note "$impl: $name did not come up (log: $(tail -c 400 "$logfile" | tr '\n' ' '))"
        return 1
    fi
}

gen_keys() { # prefix: writes $work/prefix.key, sets gk_pub
    (umask 077 && wg genkey >"$work/$1.key")
    gk_pub=$(wg pubkey <"$work/$1.key")
}

try() { # command...: runs it, notes a failure (errexit does not apply where setup is called)
    "$@" >>"$work/setup.log" 2>&1 || { note "failed: $* ($(tail -c 300 "$work/setup.log" | tr '\n' ' '))"; return 1; }
}

setup() { # impl round
    local impl=$1 round=$2 short
    if [[ $impl == wireguard-go ]]; then short=g; else short=m; fi
    if1="mb${id}${short}1"
    if2="mb${id}${short}2"

    try ip netns add "$ns1" || return 1
    try ip netns add "$ns2" || return 1
    try ip link add "$veth1" netns "$ns1" type veth peer name "$veth2" netns "$ns2" || return 1
    local veth_mtu=$((mtu + 80 > 1500 ? mtu + 80 : 1500))
    try ip -n "$ns1" link set "$veth1" mtu "$veth_mtu" up || return 1
    try ip -n "$ns2" link set "$veth2" mtu "$veth_mtu" up || return 1
    try ip -n "$ns1" link set lo up || return 1
    try ip -n "$ns2" link set lo up || return 1
    try ip -n "$ns1" addr add "$underlay1/24" dev "$veth1" || return 1
    try ip -n "$ns2" addr add "$underlay2/24" dev "$veth2" || return 1

    start_daemon "$impl" "$ns1" "$if1" "$work/$impl.$round.1.log" || return 1
    d1_pid=$started_pid
    start_daemon "$impl" "$ns2" "$if2" "$work/$impl.$round.2.log" || return 1
    d2_pid=$started_pid

    gen_keys k1 || return 1
    pub1=$gk_pub
    gen_keys k2 || return 1
    pub2=$gk_pub
    try ip netns exec "$ns2" wg set "$if2" private-key "$work/k2.key" listen-port "$port2" \
        peer "$pub1" allowed-ips "$tunnel1/32" || return 1
    try ip netns exec "$ns1" wg set "$if1" private-key "$work/k1.key" listen-port "$port1" \
        peer "$pub2" allowed-ips "$tunnel2/32" endpoint "$underlay2:$port2" || return 1
    try ip -n "$ns1" addr add "$tunnel1/24" dev "$if1" || return 1
    try ip -n "$ns2" addr add "$tunnel2/24" dev "$if2" || return 1
    try ip -n "$ns1" link set "$if1" mtu "$mtu" up || return 1
    try ip -n "$ns2" link set "$if2" mtu "$mtu" up || return 1

    ip netns exec "$ns2" iperf3 -s >"$work/iperf3-server.$impl.$round.log" 2>&1 &
    srv_pid=$!
    pids+=("$srv_pid")

    # First handshake and a working tunnel before anything is measured.
    local i
    for ((i = 0; i < 10; i++)); do
        ip netns exec "$ns1" ping -n -c1 -W1 "$tunnel2" >/dev/null 2>&1 && return 0
    done
    note "$impl round $round: no ping reply through the tunnel after 10 tries"
    return 1
}

daemons_alive() { # impl round label
    local ok=0 which pid
    for which in 1 2; do
        if [[ $which == 1 ]]; then pid=$d1_pid; else pid=$d2_pid; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            local rc=0
            wait "$pid" 2>/dev/null || rc=$?
            note "$1 round $2: daemon in ns$which (pid $pid) died during $3 (exit $rc; log: $(tail -c 400 "$work/$1.$2.$which.log" | tr '\n' ' '))"
            ok=1
        fi
    done
    return "$ok"
}

# ---------------------------------------------------------------------------------------------------
# Measurements. Each records NA itself when it cannot measure.

cpu_ticks() { # pid -> utime+stime in clock ticks
    local stat
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    local -a f
    read -r -a f <<<"$stat"
    echo $((f[11] + f[12]))
}

proc_kb() { # pid field (VmRSS, VmHWM)
    awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

ping_avg() { # ns target count -> "avg loss%", or fails
    local out
    out=$(ip netns exec "$1" ping -n -q -c "$3" -i 0.01 -w $(($3 / 10 + 10)) "$2" 2>&1) || true
    awk '/packet loss/ { for (i = 1; i <= NF; i++) if ($i ~ /%$/) { loss = $i; sub("%", "", loss) } }
         /^rtt|^round-trip/ { split($4, a, "/"); avg = a[2] }
         END { if (avg == "") exit 1; print avg, loss }' <<<"$out"
}

measure_ping() { # impl round
    local r
    if r=$(ping_avg "$ns1" "$underlay2" "$pings"); then
        record "$1" ping_veth_ms "$2" "${r% *}"
    else
        record "$1" ping_veth_ms "$2" NA
    fi
    if r=$(ping_avg "$ns1" "$tunnel2" "$pings"); then
        record "$1" ping_tunnel_ms "$2" "${r% *}"
        record "$1" ping_tunnel_loss_pct "$2" "${r#* }"
    else
        record "$1" ping_tunnel_ms "$2" NA
        record "$1" ping_tunnel_loss_pct "$2" 100
        note "$1 round $2: tunnel ping got no reply"
    fi
}

iperf() { # label args... -> JSON in $work/label.json
    local label=$1
    shift
    timeout $((duration + 30)) ip netns exec "$ns1" iperf3 -c "$tunnel2" -t "$duration" -J "$@" \
        >"$work/$label.json" 2>"$work/$label.err"
}

json_num() { # file jq-filter
    jq -r "($2) // \"NA\"" "$1" 2>/dev/null || echo NA
}

measure_tcp() { # impl round streams
    local impl=$1 round=$2 streams=$3 label="$1.$2.tcp$3" t0 t1 rc=0
    if [[ $streams == 1 ]]; then
        t0=$(($(cpu_ticks "$d1_pid") + $(cpu_ticks "$d2_pid")))
    fi
    iperf "$label" -P "$streams" || rc=$?
    if [[ $streams == 1 ]]; then
        t1=$(($(cpu_ticks "$d1_pid" || echo 0) + $(cpu_ticks "$d2_pid" || echo 0)))
    fi
    local name="tcp_${streams}stream"
    local bps bytes retr
    bps=$(json_num "$work/$label.json" '.end.sum_received.bits_per_second')
    bytes=$(json_num "$work/$label.json" '.end.sum_received.bytes')
    retr=$(json_num "$work/$label.json" '.end.sum_sent.retransmits')
    if ((rc != 0)) || [[ $bps == NA ]]; then
        note "$impl round $round: iperf3 TCP $streams stream(s) failed (rc $rc: $(json_num "$work/$label.json" .error) $(head -c 300 "$work/$label.err"))"
        bps=NA retr=NA bytes=NA
    fi
    if [[ $bps == NA ]]; then
        record "$impl" "${name}_gbit" "$round" NA
    else
        record "$impl" "${name}_gbit" "$round" "$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }')"
    fi
    record "$impl" "${name}_retrans" "$round" "$retr"
    if [[ $streams == 1 ]]; then
        if [[ $bytes == NA ]] || ((bytes == 0)); then
            record "$impl" cpu_s_per_gbit "$round" NA
        else
            record "$impl" cpu_s_per_gbit "$round" \
                "$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" -v by="$bytes" 'BEGIN { printf "%.3f", (t / hz) / (by * 8 / 1e9) }')"
        fi
    fi
}

measure_udp() { # impl round
    local impl=$1 round=$2 label="$1.$2.udp" rc=0 bps loss
    iperf "$label" -u -b "$udp_rate" -l $((mtu - 28)) || rc=$?
    bps=$(json_num "$work/$label.json" '.end.sum_received.bits_per_second')
    loss=$(json_num "$work/$label.json" '.end.sum_received.lost_percent')
    if ((rc != 0)) || [[ $bps == NA ]]; then
        note "$impl round $round: iperf3 UDP failed (rc $rc: $(json_num "$work/$label.json" .error) $(head -c 300 "$work/$label.err"))"
        record "$impl" udp_recv_gbit "$round" NA
        record "$impl" udp_loss_pct "$round" NA
        return 0
    fi
    record "$impl" udp_recv_gbit "$round" "$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }')"
    record "$impl" udp_loss_pct "$round" "$(awk -v l="$loss" 'BEGIN { printf "%.1f", l }')"
}

measure_handshakes() { # impl round
    local impl=$1 round=$2 i out rtt fails=0 old1=$pub1 old2=$pub2
    local -a rtts=()
    for ((i = 0; i < handshakes; i++)); do
        gen_keys k1
        local new1=$gk_pub
        gen_keys k2
        local new2=$gk_pub
        # Fresh identities on both ends: no session can survive, the first ping needs a handshake.
        if ! try ip netns exec "$ns2" wg set "$if2" private-key "$work/k2.key" \
            peer "$old1" remove peer "$new1" allowed-ips "$tunnel1/32" ||
            ! try ip netns exec "$ns1" wg set "$if1" private-key "$work/k1.key" \
                peer "$old2" remove peer "$new2" allowed-ips "$tunnel2/32" endpoint "$underlay2:$port2"; then
            fails=$((handshakes - ${#rtts[@]}))
            break
        fi
        old1=$new1 old2=$new2
        out=$(ip netns exec "$ns1" ping -n -c1 -W2 "$tunnel2" 2>&1) || true
        rtt=$(awk '/time=/ { for (i = 1; i <= NF; i++) if ($i ~ /^time=/) { sub("time=", "", $i); print $i } }' <<<"$out")
        if [[ -n $rtt ]]; then
            rtts+=("$rtt")
        else
            fails=$((fails + 1))
        fi
        sleep 0.1
    done
    pub1=$old1 pub2=$old2
    record "$impl" handshake_failures "$round" "$fails"
    if ((${#rtts[@]} > 0)); then
        record "$impl" handshake_ms "$round" "$(printf '%s\n' "${rtts[@]}" | median)"
    else
        record "$impl" handshake_ms "$round" NA
        note "$impl round $round: no handshake succeeded"
    fi
}

median() { # numbers on stdin, NA ignored
    { grep -v '^NA$' || true; } | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) { print "NA"; exit }
              if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.6g\n", m }'
}

fill_missing() { # impl round: NA for every metric a failed round did not reach
    local m
    for m in "${metrics[@]}"; do
        if ! awk -F'\t' -v i="$1" -v m="$m" -v r="$2" '$1 == i && $2 == m && $3 == r { f = 1 } END { exit !f }' "$results"; then
            record "$1" "$m" "$2" NA
        fi
    done
}

run_round() { # impl round
    log "round $2/$rounds: $1"
    measure_round "$@"
    teardown
    fill_missing "$@"
}

measure_round() { # impl round
    local impl=$1 round=$2
    setup "$impl" "$round" || return 0
    local rss1 rss2
    rss1=$(proc_kb "$d1_pid" VmRSS) rss2=$(proc_kb "$d2_pid" VmRSS)
    record "$impl" rss_idle_mb "$round" "$(mb $((rss1 > rss2 ? rss1 : rss2)))"

    measure_ping "$impl" "$round"
    daemons_alive "$impl" "$round" ping || return 0
    sleep 0.5
    measure_tcp "$impl" "$round" 1
    daemons_alive "$impl" "$round" "TCP 1 stream" || return 0
    sleep 1
    measure_tcp "$impl" "$round" 4
    daemons_alive "$impl" "$round" "TCP 4 streams" || return 0
    sleep 1
    measure_udp "$impl" "$round"
    daemons_alive "$impl" "$round" UDP || return 0
    sleep 0.5
    record "$impl" rss_peak_mb_sender "$round" "$(mb "$(proc_kb "$d1_pid" VmHWM)")"
    record "$impl" rss_peak_mb_receiver "$round" "$(mb "$(proc_kb "$d2_pid" VmHWM)")"
    measure_handshakes "$impl" "$round"
    daemons_alive "$impl" "$round" handshakes || true
}

# ---------------------------------------------------------------------------------------------------
# Run.

impls=(wireguard-go meshgate-wg)
metrics=(tcp_1stream_gbit tcp_1stream_retrans tcp_4stream_gbit tcp_4stream_retrans udp_recv_gbit
    udp_loss_pct ping_tunnel_ms ping_tunnel_loss_pct ping_veth_ms handshake_ms handshake_failures
    rss_idle_mb rss_peak_mb_sender rss_peak_mb_receiver cpu_s_per_gbit)

git_rev=$(git -C "$package_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$package_dir" status --porcelain -- Sources Package.swift 2>/dev/null) ]]; then
    git_rev="$git_rev (with uncommitted changes)"
fi

echo "command: $command_line"
echo "settings: rounds=$rounds duration=${duration}s mtu=$mtu udp_rate=$udp_rate pings=$pings handshakes=$handshakes"
echo "wireguard-go: $wggo ($("$wggo" --version 2>/dev/null | head -1))"
echo "meshgate-wg: $binary (built $binary_info; tree now at $git_rev)"
echo "host: $(uname -r), $(nproc) CPUs"
echo

for ((round = 1; round <= rounds; round++)); do
    for impl in "${impls[@]}"; do
        run_round "$impl" "$round"
    done
done

values() { # impl metric -> one value per line
    awk -F'\t' -v i="$1" -v m="$2" '$1 == i && $2 == m { print $4 }' "$results"
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || a + 0 == 0) print "NA"; else printf "%.2f", b / a }'
}

printf '%-22s %14s %14s %8s\n' metric wireguard-go meshgate-wg ratio
declare -A med
for m in "${metrics[@]}"; do
    for impl in "${impls[@]}"; do
        med[$impl,$m]=$(values "$impl" "$m" | median)
    done
    printf '%-22s %14s %14s %8s\n' "$m" "${med[wireguard-go,$m]}" "${med[meshgate-wg,$m]}" \
        "$(ratio "${med[wireguard-go,$m]}" "${med[meshgate-wg,$m]}")"
done
echo
echo "(median over $rounds round(s); ratio = meshgate-wg / wireguard-go)"
echo
echo "per round:"
for m in "${metrics[@]}"; do
    for impl in "${impls[@]}"; do
        printf '  %-22s %-13s %s\n' "$m" "$impl" "$(values "$impl" "$m" | paste -sd' ')"
    done
done
if [[ -s $notes ]]; then
    echo
    echo "notes:"
    sed 's/^/  /' "$notes"
fi

if [[ -n $json_file ]]; then
    jq -Rn \
        --arg command "$command_line" \
        --argjson rounds "$rounds" --argjson duration "$duration" --argjson mtu "$mtu" \
        --arg udp_rate "$udp_rate" --argjson pings "$pings" --argjson handshakes "$handshakes" \
        --arg wireguard_go "$wggo" --arg binary "$binary" --arg binary_info "$binary_info" --arg source "$git_rev" \
        --rawfile notes "$notes" \
        --argjson order "$(printf '%s\n' "${metrics[@]}" | jq -R . | jq -s .)" '
        def num: if . == "NA" then null else tonumber end;
        def med: map(select(. != null)) | sort
            | if length == 0 then null
              elif length % 2 == 1 then .[(length - 1) / 2]
              else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        [inputs | split("\t") | {impl: .[0], metric: .[1], round: (.[2] | tonumber), value: (.[3] | num)}] as $rows
        | {
            command: $command,
            settings: {rounds: $rounds, duration_s: $duration, mtu: $mtu, udp_rate: $udp_rate,
                       pings: $pings, handshakes: $handshakes,
                       wireguard_go: $wireguard_go, meshgate_wg: $binary, meshgate_binary: $binary_info, meshgate_source: $source},
            metrics: [$order[] as $m
                | ($rows | map(select(.metric == $m and .impl == "wireguard-go")) | sort_by(.round) | map(.value)) as $a
                | ($rows | map(select(.metric == $m and .impl == "meshgate-wg")) | sort_by(.round) | map(.value)) as $b
                | {($m): {"wireguard-go": ($a | med), "meshgate-wg": ($b | med),
                          ratio: (if ($a | med) == null or ($b | med) == null or ($a | med) == 0 then null
                                  else (($b | med) / ($a | med)) end),
                          rounds: {"wireguard-go": $a, "meshgate-wg": $b}}}] | add,
            notes: ($notes | split("\n") | map(select(length > 0)))
          }' <"$results" >"$json_file"
    echo
    echo "JSON written to $json_file"
fi
