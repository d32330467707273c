#!/usr/bin/env bash
# A three-region meshgate lab where two gateways sit behind NAT, in network namespaces (issue 13).
#
#   gw-ams1: on the "internet" (198.51.100.41), LAN 10.30.10.0/24, host-ams1 10.30.10.100
#   gw-nyc1: behind nat-nyc1 (public 198.51.100.51, masquerade), LAN 10.10.10.0/24, host-nyc1 10.10.10.100
#   gw-fsn1: behind nat-fsn1 (public 198.51.100.52, masquerade), LAN 10.20.10.0/24, host-fsn1 10.20.10.100
#
# The peer list gives an endpoint for gw-ams1 only: gw-nyc1 and gw-fsn1 join by initiating, gw-ams1 learns
# their addresses by roaming, and they find each other through it (relay first, then a direct path).
#
#   scripts/nat-lab.sh up [PREFIX]               build the lab and start the three daemons (default mgnat)
#   scripts/nat-lab.sh down [PREFIX]             remove it and everything it started
#   scripts/nat-lab.sh block PREFIX              drop UDP between the two NAT routers' public addresses
#                                                (table inet mgnat_block in nat-nyc1): no direct path
#   scripts/nat-lab.sh unblock PREFIX            remove that table
#   scripts/nat-lab.sh socket PREFIX GW          print GW's control socket (GW: ams1, nyc1, fsn1)
#
# Needs MESHGATED (default: the debug build). Logs and configs: /run/PREFIX/gw-GW/.
set -euo pipefail

cmd=${1:-}
prefix=${2:-mgnat}
root=/run/$prefix
meshgated=${MESHGATED:-$(cd "$(dirname "$0")/.." && pwd)/.build/debug/meshgated}

gateways=(ams1 nyc1 fsn1)
declare -A overlay=([ams1]=100.64.1.1 [nyc1]=100.64.1.2 [fsn1]=100.64.1.3)
declare -A lan=([ams1]=10.30.10 [nyc1]=10.10.10 [fsn1]=10.20.10)
declare -A public=([nyc1]=198.51.100.51 [fsn1]=198.51.100.52)
declare -A inside=([nyc1]=192.168.51 [fsn1]=192.168.52)
ams1_wan=198.51.100.41

ns() { echo "$prefix-$1"; }
ifname() { echo "mg${prefix: -3}$1" | cut -c1-15; }

alive() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

wait_for() { # seconds command...
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then return 1; fi
        sleep 0.1
    done
}

down() {
    for gw in "${gateways[@]}"; do
        local pidfile=$root/gw-$gw/pid
        if [[ -f $pidfile ]]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    sleep 0.5
    for gw in "${gateways[@]}"; do
        local pidfile=$root/gw-$gw/pid
        if [[ -f $pidfile ]]; then kill -9 "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    for n in $(ip netns list | awk '{print $1}' | grep -E "^$prefix-" || true); do
        ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$n" 2>/dev/null || true
    done
    for gw in "${gateways[@]}"; do rm -f "/var/run/wireguard/$(ifname "$gw").sock"; done
    rm -rf "$root"
}

# A namespace with lo up.
node() {
    ip netns add "$(ns "$1")"
    ip -n "$(ns "$1")" link set lo up
}

# A veth pair between namespaces $1 (interface $2) and $3 (interface $4).
wire() {
    ip link add "$2" netns "$(ns "$1")" type veth peer name "$4" netns "$(ns "$3")"
    ip -n "$(ns "$1")" link set "$2" up
    ip -n "$(ns "$3")" link set "$4" up
}

up() {
    down
    mkdir -p "$root"
    node inet
    ip -n "$(ns inet)" link add br0 type bridge
    ip -n "$(ns inet)" link set br0 up
    # gw-ams1 on the internet.
    node gw-ams1
    wire gw-ams1 wan inet w-ams1
    ip -n "$(ns inet)" link set w-ams1 master br0
    ip -n "$(ns gw-ams1)" addr add "$ams1_wan/24" dev wan
    # gw-nyc1 and gw-fsn1 behind a masquerading router each.
    for gw in nyc1 fsn1; do
        node "nat-$gw"
        wire "nat-$gw" wan inet "w-$gw"
        ip -n "$(ns inet)" link set "w-$gw" master br0
        ip -n "$(ns "nat-$gw")" addr add "${public[$gw]}/24" dev wan
        node "gw-$gw"
        wire "gw-$gw" wan "nat-$gw" inside
        ip -n "$(ns "nat-$gw")" addr add "${inside[$gw]}.1/24" dev inside
        ip -n "$(ns "gw-$gw")" addr add "${inside[$gw]}.2/24" dev wan
        ip -n "$(ns "gw-$gw")" route add default via "${inside[$gw]}.1"
        ip netns exec "$(ns "nat-$gw")" sysctl -qw net.ipv4.ip_forward=1
        ip netns exec "$(ns "nat-$gw")" nft -f - <<NFT
table ip mgnat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan" masquerade
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        iifname "inside" accept
    }
    # As a home router: unsolicited datagrams to the router itself are dropped. (Without this the
    # kernel answers them with port-unreachable and keeps their conntrack entry, which then makes the
    # masquerade give the gateway's own punch a different port: no hole opens.)
    chain input {
        type filter hook input priority filter; policy drop;
        ct state established,related accept
        iifname { "lo", "inside" } accept
    }
}
NFT
    done
    # Each gateway's LAN and host.
    for gw in "${gateways[@]}"; do
        node "host-$gw"
        wire "gw-$gw" lan "host-$gw" eth0
        ip -n "$(ns "gw-$gw")" addr add "${lan[$gw]}.1/24" dev lan
        ip -n "$(ns "host-$gw")" addr add "${lan[$gw]}.100/24" dev eth0
        ip -n "$(ns "host-$gw")" route add default via "${lan[$gw]}.1"
        mkdir -p "$root/gw-$gw"
        (umask 077 && wg genkey >"$root/gw-$gw/private.key")
    done
    local peers=""
    for gw in "${gateways[@]}"; do
        peers+="  - name: gw-$gw
    public_key: $(wg pubkey <"$root/gw-$gw/private.key")
    overlay_address: ${overlay[$gw]}
    persistent_keepalive: 25
"
        if [[ $gw == ams1 ]]; then peers+="    endpoint: $ams1_wan:51820
"; fi
    done
    for gw in "${gateways[@]}"; do
        cat >"$root/gw-$gw/config.yaml" <<YAML
node:
  name: gw-$gw
  private_key_file: $root/gw-$gw/private.key
overlay:
  interface: $(ifname "$gw")
  address: ${overlay[$gw]}
  listen_port: 51820
  mtu: 1280
advertise: [{prefix: ${lan[$gw]}.0/24, probe: ${lan[$gw]}.100}]
peers:
$peers
control:
  socket: $root/gw-$gw/control.sock
YAML
    done
    for gw in "${gateways[@]}"; do
        local dir=$root/gw-$gw
        (exec ip netns exec "$(ns "gw-$gw")" "$meshgated" --config "$dir/config.yaml" --log-level debug \
            >>"$dir/log" 2>&1) &
        echo $! >"$dir/pid"
    done
    for gw in "${gateways[@]}"; do
        wait_for 20 test -S "$root/gw-$gw/control.sock" || {
            echo "gw-$gw did not start; log:" >&2
            tail -20 "$root/gw-$gw/log" >&2
            return 1
        }
    done
}

block() {
    ip netns exec "$(ns nat-nyc1)" nft -f - <<NFT
table inet mgnat_block {
    chain forward {
        type filter hook forward priority -10; policy accept;
        ip daddr ${public[fsn1]} udp dport 51820 drop
        ip saddr ${public[fsn1]} udp sport 51820 drop
    }
    chain input {
        type filter hook input priority -10; policy accept;
        ip saddr ${public[fsn1]} drop
    }
    chain output {
        type filter hook output priority -10; policy accept;
        ip daddr ${public[fsn1]} drop
    }
}
NFT
}

unblock() { ip netns exec "$(ns nat-nyc1)" nft delete table inet mgnat_block 2>/dev/null || true; }

case "$cmd" in
    up) up ;;
    down) down ;;
    block) block ;;
    unblock) unblock ;;
    socket) echo "$root/gw-${3:?socket needs a gateway}/control.sock" ;;
    *)
        sed -n '2,17p' "$0" >&2
        exit 64
        ;;
esac
