#!/usr/bin/env bash
# A two-region meshgate lab in network namespaces, used by the demo and by tests.
#
#   region nyc1: gw-nyc1-a, gw-nyc1-b (HA group nyc1), host-nyc1 on 10.10.10.0/24 (VIP 10.10.10.1)
#   region fsn1: gw-fsn1-a, gw-fsn1-b (HA group fsn1), host-fsn1 on 10.20.10.0/24 (VIP 10.20.10.1)
#   "internet": every gateway's wan on 198.51.100.0/24 through a bridge
#
#   scripts/gateway-lab.sh up [PREFIX]      build the lab (namespaces PREFIX-*; default mglab)
#   scripts/gateway-lab.sh down [PREFIX]    remove it and everything it started
#   scripts/gateway-lab.sh start-gw PREFIX GW   (re)start one gateway's meshgated
#   scripts/gateway-lab.sh kill-gw PREFIX GW    SIGKILL one gateway's meshgated
#   scripts/gateway-lab.sh stop-gw PREFIX GW    SIGTERM one gateway's meshgated and wait until it has exited
#   scripts/gateway-lab.sh cut-link PREFIX GW wan|lan       take a gateway's wan or lan veth down
#   scripts/gateway-lab.sh restore-link PREFIX GW wan|lan   bring it back up
#   scripts/gateway-lab.sh partition PREFIX GW1 GW2   drop all traffic between GW1's and GW2's wan addresses
#                                                     (nftables table inet mglab_partition in GW1's namespace)
#   scripts/gateway-lab.sh loss PREFIX GW1 GW2 PERCENT   drop PERCENT% of the packets between GW1's and GW2's
#                                                     wan addresses, each way (numgen random; same table)
#   scripts/gateway-lab.sh heal PREFIX [GW]     remove partition and loss tables (of GW, or of every gateway)
#
# GW is a gateway name with or without the gw- prefix: nyc1-a, gw-nyc1-a.
# Needs MESHGATED (path to meshgated; default: the debug build). Logs and configs: /run/PREFIX/GW/.
set -euo pipefail

cmd=${1:-}
prefix=${2:-mglab}
root=/run/$prefix
meshgated=${MESHGATED:-$(cd "$(dirname "$0")/.." && pwd)/.build/debug/meshgated}

gateways=(nyc1-a nyc1-b fsn1-a fsn1-b)
declare -A overlay=([nyc1-a]=100.64.0.1 [nyc1-b]=100.64.0.2 [fsn1-a]=100.64.0.3 [fsn1-b]=100.64.0.4)
declare -A wan=([nyc1-a]=198.51.100.11 [nyc1-b]=198.51.100.12 [fsn1-a]=198.51.100.21 [fsn1-b]=198.51.100.22)
declare -A lanaddr=([nyc1-a]=10.10.10.2 [nyc1-b]=10.10.10.3 [fsn1-a]=10.20.10.2 [fsn1-b]=10.20.10.3)
declare -A priority=([nyc1-a]=200 [nyc1-b]=100 [fsn1-a]=200 [fsn1-b]=100)

region_of() { echo "${1%-*}"; }
subnet_of() { if [[ $(region_of "$1") == nyc1 ]]; then echo 10.10.10; else echo 10.20.10; fi; }
ns() { echo "$prefix-$1"; }
ifname() { echo "mg${prefix: -3}${1//-/}" | cut -c1-15; }

# True when pid $1 is a live process (a zombie nobody has reaped yet does not count).
alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

# The gateway name without the gw- prefix, checked against the lab's gateways.
gw_name() {
    local gw=${1#gw-}
    if [[ -z ${overlay[$gw]:-} ]]; then
        echo "unknown gateway: ${1:-} (one of: ${gateways[*]})" >&2
        exit 64
    fi
    echo "$gw"
}

wait_for() { # seconds command...
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then return 1; fi
        sleep 0.1
    done
}

start_gw() {
    local gw=$1
    local dir=$root/gw-$gw
    if [[ -f $dir/pid ]] && alive "$(cat "$dir/pid")"; then return 0; fi
    # A killed predecessor's socket would make the wait below return before this daemon is up.
    rm -f "$dir/control.sock"
    # systemd's default soft descriptor limit, so floods hit the limits a real gateway has.
    (ulimit -Sn 1024 && exec ip netns exec "$(ns "gw-$gw")" "$meshgated" --config "$dir/config.yaml" \
        --log-level debug >>"$dir/log" 2>&1) &
    echo $! >"$dir/pid"
    wait_for 20 test -S "$dir/control.sock" || {
        echo "gw-$gw did not start; log:" >&2
        tail -20 "$dir/log" >&2
        return 1
    }
}

kill_gw() {
    local pidfile=$root/gw-$1/pid
    [[ -f $pidfile ]] || return 0
    kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
}

stop_gw() {
    local pidfile=$root/gw-$1/pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while alive "$pid"; do
        if ((SECONDS >= deadline)); then
            echo "gw-$1 (pid $pid) still running 10 s after SIGTERM; killing it" >&2
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$pidfile"
            return 1
        fi
        sleep 0.02
    done
    rm -f "$pidfile"
}

set_link() { # gw wan|lan up|down
    case "$2" in
        wan | lan) ;;
        *)
            echo "link must be wan or lan, not '$2'" >&2
            exit 64
            ;;
    esac
    ip -n "$(ns "gw-$1")" link set "$2" "$3"
}

# Drops packets between gw1's and gw2's wan addresses, each way, in gw1's namespace; `match` narrows
# which (empty: all of them).
drop_between() { # gw1 gw2 [match]
    local g
    g=$(ns "gw-$1")
    ip netns exec "$g" nft -f - <<NFT
table inet mglab_partition {
    chain input {
        type filter hook input priority -10; policy accept;
        ip saddr ${wan[$2]} ${3:-} drop
    }
    chain output {
        type filter hook output priority -10; policy accept;
        ip daddr ${wan[$2]} ${3:-} drop
    }
}
NFT
}

partition() { drop_between "$1" "$2"; }                              # gw1 gw2
loss() { drop_between "$1" "$2" "numgen random mod 100 < $3"; }     # gw1 gw2 percent

heal() { # [gw]
    local targets=("${gateways[@]}")
    if [[ -n ${1:-} ]]; then targets=("$1"); fi
    for gw in "${targets[@]}"; do
        ip netns exec "$(ns "gw-$gw")" nft delete table inet mglab_partition 2>/dev/null || true
    done
}

down() {
    for gw in "${gateways[@]}"; do
        local pidfile=$root/gw-$gw/pid
        if [[ -f $pidfile ]]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    sleep 0.5
    for gw in "${gateways[@]}"; do kill_gw "$gw"; done
    for n in $(ip netns list | awk '{print $1}' | grep -E "^$prefix-" || true); do
        ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$n" 2>/dev/null || true
    done
    for gw in "${gateways[@]}"; do rm -f "/var/run/wireguard/$(ifname "$gw").sock"; done
    rm -rf "$root"
}

up() {
    down
    mkdir -p "$root"
    # Switches: one for the internet, one per region LAN.
    for sw in inet lan-nyc1 lan-fsn1; do
        ip netns add "$(ns "$sw")"
        ip -n "$(ns "$sw")" link add br0 type bridge
        ip -n "$(ns "$sw")" link set br0 up
    done
    for gw in "${gateways[@]}"; do
        local g
        g=$(ns "gw-$gw")
        ip netns add "$g"
        ip -n "$g" link set lo up
        ip link add wan netns "$g" type veth peer name "w-$gw" netns "$(ns inet)"
        ip -n "$(ns inet)" link set "w-$gw" master br0 up
        ip -n "$g" addr add "${wan[$gw]}/24" dev wan
        ip -n "$g" link set wan up
        ip link add lan netns "$g" type veth peer name "l-$gw" netns "$(ns "lan-$(region_of "$gw")")"
        ip -n "$(ns "lan-$(region_of "$gw")")" link set "l-$gw" master br0 up
        ip -n "$g" addr add "${lanaddr[$gw]}/24" dev lan
        ip -n "$g" link set lan up
        mkdir -p "$root/gw-$gw"
        (umask 077 && wg genkey >"$root/gw-$gw/private.key")
    done
    for region in nyc1 fsn1; do
        local h sub
        h=$(ns "host-$region")
        sub=$(subnet_of "$region-a")
        ip netns add "$h"
        ip -n "$h" link set lo up
        ip link add eth0 netns "$h" type veth peer name "h-$region" netns "$(ns "lan-$region")"
        ip -n "$(ns "lan-$region")" link set "h-$region" master br0 up
        ip -n "$h" addr add "$sub.100/24" dev eth0
        ip -n "$h" link set eth0 up
        ip -n "$h" route add default via "$sub.1"
    done
    # One peer list shared by every gateway, as operators keep it in Git.
    local peers=""
    for gw in "${gateways[@]}"; do
        peers+="  - name: gw-$gw
    public_key: $(wg pubkey <"$root/gw-$gw/private.key")
    endpoint: ${wan[$gw]}:51820
    overlay_address: ${overlay[$gw]}
    group: $(region_of "$gw")
    persistent_keepalive: 25
"
    done
    for gw in "${gateways[@]}"; do
        local sub
        sub=$(subnet_of "$gw")
        cat >"$root/gw-$gw/config.yaml" <<YAML
node:
  name: gw-$gw
  private_key_file: $root/gw-$gw/private.key
overlay:
  interface: $(ifname "$gw")
  address: ${overlay[$gw]}
  listen_port: 51820
  mtu: 1280
advertise: [{prefix: $sub.0/24, probe: $sub.100}]
ha:
  group: $(region_of "$gw")
  priority: ${priority[$gw]}
  preempt: false
  lan:
    interface: lan
    virtual_ip: $sub.1/24
peers:
$peers
control:
  socket: $root/gw-$gw/control.sock
metrics:
  listen: 127.0.0.1:9586
YAML
    done
    for gw in "${gateways[@]}"; do start_gw "$gw"; done
}

case "$cmd" in
    start-gw | kill-gw | stop-gw | cut-link | restore-link | partition | loss)
        gw=$(gw_name "${3:-}")
        ;;
    heal) if [[ -n ${3:-} ]]; then gw=$(gw_name "$3"); fi ;;
esac

case "$cmd" in
    up) up ;;
    down) down ;;
    start-gw) start_gw "$gw" ;;
    kill-gw) kill_gw "$gw" ;;
    stop-gw) stop_gw "$gw" ;;
    cut-link) set_link "$gw" "${4:-}" down ;;
    restore-link) set_link "$gw" "${4:-}" up ;;
    partition)
        other=$(gw_name "${4:-}")
        partition "$gw" "$other"
        ;;
    loss)
        other=$(gw_name "${4:-}")
        loss "$gw" "$other" "${5:?loss needs a percentage}"
        ;;
    heal) heal "${gw:-}" ;;
    *)
        sed -n '2,20p' "$0"
        exit 64
        ;;
esac
