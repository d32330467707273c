#!/usr/bin/env bash
# The control plane at scale (issue 12): N meshgated gateways, each in its own namespace on one "internet"
# bridge, each advertising K subnets of its own, all started together. Measured:
#   converge_s     from the start until every gateway has every other gateway's routes in its kernel table
#   withdraw_s     from one gateway dropping one subnet (SIGHUP with it removed) until no gateway routes it
#   cpu_pct        user+system CPU of each daemon at rest over IDLE seconds, as % of one core (mean, max)
#   rss_mb         VmRSS of each daemon then (mean, max)
#
#   scripts/bench-mesh.sh [N] [K] [IDLE]    (defaults 8 gateways, 10 subnets, 20 s; root)
#
# Gateways have no HA group (so no LAN): what grows here is peers and routes. Subnets are /26s of 10/8.
# A benchmark, not a test: it prints figures and fails only when it cannot measure.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-8}
k=${2:-10}
idle=${3:-20}
prefix=mgm
root=/run/$prefix
((n >= 2 && n <= 250)) || {
    echo "N must be 2-250" >&2
    exit 64
}
((k >= 1 && n * k <= 262144)) || {
    echo "K must be at least 1, and N * K at most 262,144" >&2
    exit 64
}
if [[ -z ${MESHGATED:-} ]]; then
    swift build -c release --product meshgated >/dev/null
    MESHGATED=$(swift build -c release --show-bin-path)/meshgated
fi

cleanup() {
    disown -a 2>/dev/null || true
    for pidfile in "$root"/gw-*/pid; do
        if [[ -f $pidfile ]]; then kill -9 "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    for ((i = 1; i <= n; i++)); do ip netns del "$prefix-gw$i" 2>/dev/null || true; done
    ip netns del "$prefix-inet" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT
[[ -n ${KEEP_LOGS:-} ]] && trap 'cp -r "$root" /tmp/mgm-logs 2>/dev/null; cleanup' EXIT
cleanup

# Subnet j (0-based) of gateway i: a /26 of 10.0.0.0/8 numbered by g = (i - 1) * K + j, so N * K may
# reach 262,144 (limits.max_prefix_length_ipv4 is 28 by default).
subnet() { # i j
    local g=$((($1 - 1) * k + $2))
    echo "10.$((g / 1024 % 256)).$((g / 4 % 256)).$((g % 4 * 64))/26"
}

# The kernel's ARP table is one for all namespaces (gc_thresh3, 1,024 entries by default), where each real
# gateway has a kernel of its own: 64 gateways learning 63 neighbours each overflow it ("neighbor table
# overflow!", sends fail with ENOBUFS, handshakes never complete). Permanent entries are exempt from that
# limit, so every gateway gets one for every other gateway's WAN address, as ARP would have taught it.
mac() { printf '02:00:00:00:%02x:%02x' $(($1 / 256)) $(($1 % 256)); }
wan_address() { echo "198.18.$(($1 / 250)).$(($1 % 250 + 1))"; }

mkdir -p "$root"
ip netns add "$prefix-inet"
ip -n "$prefix-inet" link add br0 type bridge
ip -n "$prefix-inet" link set br0 up
peers=""
for ((i = 1; i <= n; i++)); do
    dir=$root/gw-$i
    mkdir -p "$dir"
    (umask 077 && wg genkey >"$dir/private.key")
    ns=$prefix-gw$i
    ip netns add "$ns"
    ip link add "w$prefix$i" netns "$prefix-inet" type veth peer name wan netns "$ns" address "$(mac "$i")"
    ip -n "$prefix-inet" link set "w$prefix$i" master br0 up
    ip -n "$ns" addr add "198.18.$((i / 250)).$((i % 250 + 1))/15" dev wan
    ip -n "$ns" link set wan up
    ip -n "$ns" link set lo up
    peers+="  - name: gw-$i
    public_key: $(wg pubkey <"$dir/private.key")
    endpoint: 198.18.$((i / 250)).$((i % 250 + 1)):51820
    overlay_address: 100.64.$((i / 250)).$((i % 250 + 1))
    persistent_keepalive: 25
"
done
for ((i = 1; i <= n; i++)); do
    for ((p = 1; p <= n; p++)); do
        ((p == i)) || echo "neigh replace $(wan_address "$p") lladdr $(mac "$p") dev wan nud permanent"
    done | ip -n "$prefix-gw$i" -batch -
done
for ((i = 1; i <= n; i++)); do
    dir=$root/gw-$i
    advertise=""
    for ((j = 0; j < k; j++)); do advertise+="  - $(subnet "$i" "$j")"$'\n'; done
    cat >"$dir/config.yaml" <<YAML
node:
  name: gw-$i
  private_key_file: $dir/private.key
overlay:
  interface: mg$i
  address: 100.64.$((i / 250)).$((i % 250 + 1))
advertise:
$advertise
peers:
$peers
control:
  socket: $dir/control.sock
limits:
  max_routes_per_peer: $((k > 256 ? k : 256))
YAML
done

start=$(date +%s.%N)
for ((i = 1; i <= n; i++)); do
    dir=$root/gw-$i
    ip netns exec "$prefix-gw$i" "$MESHGATED" --config "$dir/config.yaml" --log-level warning >>"$dir/log" 2>&1 &
    echo $! >"$dir/pid"
done
expected=$(((n - 1) * k))
routes_in() { ip -n "$prefix-gw$1" -4 route show proto 88 | grep -c '^10\.' || true; }
converged=""
deadline=$(($(date +%s) + 300))
while (($(date +%s) < deadline)); do
    done_count=0
    for ((i = 1; i <= n; i++)); do
        (($(routes_in "$i") >= expected)) && done_count=$((done_count + 1))
    done
    if ((done_count == n)); then
        converged=$(date +%s.%N)
        break
    fi
    sleep 0.2
done
if [[ -z $converged ]]; then
    echo "not converged after 300 s: $done_count of $n gateways have all $expected routes" >&2
    for ((i = 1; i <= n; i++)); do echo "  gw-$i: $(routes_in "$i") routes" >&2; done
    exit 1
fi

sleep 5
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A before
for ((i = 1; i <= n; i++)); do before[$i]=$(cpu_ticks "$(cat "$root/gw-$i/pid")"); done
sleep "$idle"
cpus=()
rsss=()
for ((i = 1; i <= n; i++)); do
    pid=$(cat "$root/gw-$i/pid")
    cpus+=("$(awk -v u="$(($(cpu_ticks "$pid") - before[$i]))" -v t="$ticks" -v s="$idle" 'BEGIN { printf "%.2f", u / t / s * 100 }')")
    rsss+=("$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")")
done

# Withdrawal: gw-1 drops its first subnet.
gone=$(subnet 1 0)
sed -i "\|  - $gone|d" "$root/gw-1/config.yaml"
withdraw_start=$(date +%s.%N)
kill -HUP "$(cat "$root/gw-1/pid")"
withdrawn=""
deadline=$(($(date +%s) + 60))
while (($(date +%s) < deadline)); do
    left=0
    for ((i = 2; i <= n; i++)); do
        if ip -n "$prefix-gw$i" -4 route show proto 88 | grep -q "^$gone "; then left=$((left + 1)); fi
    done
    if ((left == 0)); then
        withdrawn=$(date +%s.%N)
        break
    fi
    sleep 0.05
done

stats() { printf '%s\n' "$@" | awk '{ s += $1; if ($1 > m) m = $1 } END { printf "mean %.2f, max %.2f", s / NR, m }'; }
echo "mesh: $n gateways x $k subnets ($expected learned routes per gateway)"
awk -v a="$start" -v b="$converged" 'BEGIN { printf "converge_s: %.2f (all started together until every gateway had every route)\n", b - a }'
if [[ -n $withdrawn ]]; then
    awk -v a="$withdraw_start" -v b="$withdrawn" 'BEGIN { printf "withdraw_s: %.2f (SIGHUP on gw-1 until no gateway routes the subnet)\n", b - a }'
else
    echo "withdraw_s: not within 60 s"
fi
echo "cpu_pct at rest over $idle s: $(stats "${cpus[@]}")"
echo "rss_mb: $(stats "${rsss[@]}")"
