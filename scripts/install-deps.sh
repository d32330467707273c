#!/usr/bin/env bash
# Installs the Debian packages meshgate builds, tests and benchmarks with. Idempotent.
set -euo pipefail

packages=(
    pkg-config libssl-dev libmnl-dev libnftnl-dev
    iproute2 iputils-ping nftables procps psmisc
    wireguard-tools wireguard-go iperf3 tshark shellcheck
    # prometheus: provides promtool (TelemetryTests run `promtool check metrics|rules` and `promtool test rules`)
    # and the prometheus binary for loopback-only scrape tests; the packaged system service is not used.
    prometheus
    # The appliance (scripts/build-deb.sh, build-image.sh, test-image.sh): packaging, lintian, the image
    # (debootstrap, loop devices, GRUB for BIOS, qcow2) and the two-VM boot test (qemu TCG, NoCloud seeds).
    dpkg-dev help2man lintian rsync binutils
    debootstrap fdisk e2fsprogs grub-common qemu-utils
    qemu-system-x86 cloud-image-utils genisoimage openssh-client curl
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} > 0)); then
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer once, non-interactively.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "install-deps: swift is not on PATH (expected Swift 6.3 at /opt/swift)" >&2
    exit 1
fi
