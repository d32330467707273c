#!/usr/bin/env bash
# Builds the meshgate gateway image: a Debian 12 (bookworm) disk with one ext4 partition on an MBR label,
# BIOS GRUB, the Debian cloud kernel, systemd (networkd + resolved), cloud-init (NoCloud, ConfigDrive and the
# big clouds' datasources), OpenSSH with keys only, the meshgate .deb (sysctls, units, first-boot key) and the
# nftables baseline. Run as root (loop devices, chroot).
#
#   scripts/build-image.sh [--deb FILE] [--out DIR] [--size SIZE] [--mirror URL]
#
# Outputs in DIR (default dist/): meshgate-gateway.raw, meshgate-gateway.qcow2 (compressed),
# SHA256SUMS, meshgate-gateway.manifest (sha256 of every file in the image: compare two builds with diff).
# Scratch space: MESHGATE_BUILD_DIR (default /work/deb-build if it exists, else .build-deb)/image.
# SOURCE_DATE_EPOCH (default: the commit time) fixes the file times the build itself creates; file
# system UUID, disk identifier and ext4 hash seed are fixed, machine-id and SSH host keys are made at
# first boot. Packages come from the mirror as of the build (no pinned snapshot): see README "Image".
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

deb=""
out="$repo/dist"
size=2G
mirror=""
while (($# > 0)); do
    case "$1" in
        --deb) deb="$2"; shift ;;
        --out) out="$2"; shift ;;
        --size) size="$2"; shift ;;
        --mirror) mirror="$2"; shift ;;
        -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "build-image: unknown argument $1" >&2; exit 64 ;;
    esac
    shift
done

[[ $(id -u) == 0 ]] || { echo "build-image: run as root" >&2; exit 1; }
for tool in debootstrap sfdisk losetup mkfs.ext4 qemu-img grub-mkimage chroot sha256sum; do
    command -v "$tool" >/dev/null || { echo "build-image: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
if [[ -z "$deb" ]]; then
    deb=$(cat "$out/meshgate-latest-deb.txt" 2>/dev/null || true)
fi
[[ -f "$deb" ]] || { echo "build-image: no .deb (run scripts/build-deb.sh or pass --deb)" >&2; exit 1; }
if [[ -z "$mirror" ]]; then
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    mirror=${mirror:-http://deb.debian.org/debian}
fi
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

if [[ -z "${MESHGATE_BUILD_DIR:-}" ]]; then
    if [[ -d /work/deb-build ]]; then MESHGATE_BUILD_DIR=/work/deb-build; else MESHGATE_BUILD_DIR="$repo/.build-deb"; fi
fi
work="$MESHGATE_BUILD_DIR/image"
mkdir -p "$work" "$out"
raw="$work/meshgate-gateway.raw"
mnt="$work/root"

# Fixed identities, so that two builds differ only where they must.
root_uuid=6d657368-6761-7465-2d72-6f6f74667331
hash_seed=6d657368-6761-7465-2d68-617368736565
disk_id=0x6d657368

disk=""
part=""
mounts=()
cleanup() {
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
    [[ -z "$part" ]] || losetup -d "$part" 2>/dev/null || true
    [[ -z "$disk" ]] || losetup -d "$disk" 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "build-image: failed at line $LINENO" >&2' ERR

start=$(date +%s)
step() { echo "== [$(($(date +%s) - start)) s] $*"; }

step "disk: $size, MBR, one ext4 partition from sector 2048"
rm -f "$raw"
truncate -s "$size" "$raw"
printf 'label: dos\nlabel-id: %s\nstart=2048, type=83, bootable\n' "$disk_id" | sfdisk -q "$raw"
part_start=$((2048 * 512))
part_bytes=$(($(stat -c %s "$raw") - part_start))
disk=$(losetup --show -f "$raw")
# This kernel does not scan partitions of loop devices: a second loop device over the partition's range.
part=$(losetup --show -f -o "$part_start" --sizelimit "$part_bytes" "$raw")
mkfs.ext4 -q -L meshgate-root -U "$root_uuid" -E "hash_seed=$hash_seed,lazy_itable_init=0,nodiscard" "$part"
mkdir -p "$mnt"
mount "$part" "$mnt"
mounts+=("$mnt")

step "debootstrap bookworm (minbase) from $mirror"
mkdir -p "$work/debootstrap-cache"
debootstrap --variant=minbase --include=ca-certificates --cache-dir="$work/debootstrap-cache" bookworm "$mnt" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }

for fs in proc sys dev dev/pts; do
    mount --bind "/$fs" "$mnt/$fs"
    mounts+=("$mnt/$fs")
done
cp /etc/resolv.conf "$mnt/etc/resolv.conf"
# Downloaded packages stay outside the image (and are reused by the next build).
mkdir -p "$work/apt-archives/partial"
rm -f "$mnt"/var/cache/apt/archives/*.deb
mount --bind "$work/apt-archives" "$mnt/var/cache/apt/archives"
mounts+=("$mnt/var/cache/apt/archives")
printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d"
chmod 0755 "$mnt/usr/sbin/policy-rc.d"
cat >"$mnt/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
echo 'APT::Install-Recommends "false";' >"$mnt/etc/apt/apt.conf.d/90meshgate-no-recommends"
cat >"$mnt/etc/kernel-img.conf" <<EOF
do_symlinks = yes
link_in_boot = no
EOF
# The initramfs keeps initramfs-tools' default MODULES=most: MODULES=dep would look at the build
# machine's disks from inside the chroot, and a cloud VM needs its own (virtio, NVMe, Xen, Hyper-V).

in_root() { chroot "$mnt" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" "$@"; }
cp "$deb" "$mnt/tmp/meshgate.deb"
echo 'grub-pc grub-pc/install_devices multiselect' | in_root debconf-set-selections
echo 'grub-pc grub-pc/install_devices_empty boolean true' | in_root debconf-set-selections

step "packages: kernel, grub, systemd, cloud-init, ssh, meshgate ($(basename "$deb"))"
packages=(
    linux-image-cloud-amd64 initramfs-tools grub-pc
    systemd systemd-sysv systemd-resolved udev dbus libpam-systemd
    cloud-init cloud-guest-utils openssh-server sudo
    nftables iproute2 iputils-ping procps kmod e2fsprogs curl wireguard-tools less netbase
)
{
    in_root apt-get update -qq
    in_root apt-get install -y -qq "${packages[@]}"
    cp /etc/resolv.conf "$mnt/etc/resolv.conf" # systemd-resolved's postinst just replaced it
    # Through apt, as an operator would: `apt install ./meshgate_*.deb` on plain Debian 12.
    in_root apt-get install -y -qq /tmp/meshgate.deb
} >"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; exit 1; }

step "configuration: boot loader, network, ssh, cloud-init, nftables"
echo meshgate >"$mnt/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmeshgate\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$mnt/etc/hosts"
echo "UUID=$root_uuid / ext4 errors=remount-ro,discard 0 1" >"$mnt/etc/fstab"

# Serial console first for logs, the VGA console last so that it is /dev/console for a human.
cmdline="console=tty0 console=ttyS0,115200n8 net.ifnames=1"
cat >"$mnt/etc/default/grub" <<EOF
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=meshgate
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="$cmdline"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
EOF
mkdir -p "$mnt/boot/grub/i386-pc"
cp "$mnt"/usr/lib/grub/i386-pc/*.mod "$mnt"/usr/lib/grub/i386-pc/*.lst "$mnt/boot/grub/i386-pc/"
# A fixed grub.cfg (grub-mkconfig cannot probe a loop device over a partition); a later kernel upgrade
# inside the VM regenerates it from /etc/default/grub with update-grub, which probes the real disk.
cat >"$mnt/boot/grub/grub.cfg" <<EOF
set timeout=0
set default=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
search --no-floppy --fs-uuid --set=root $root_uuid
menuentry 'meshgate gateway (Debian 12)' {
    insmod ext2
    search --no-floppy --fs-uuid --set=root $root_uuid
    linux /vmlinuz root=UUID=$root_uuid ro $cmdline
    initrd /initrd.img
}
EOF
# BIOS boot: boot.img in the MBR (its default core location is sector 1), core.img in the gap before the
# partition, finding /boot/grub by the file system UUID.
echo "search.fs_uuid $root_uuid root" >"$work/grub-early.cfg"
# shellcheck disable=SC2016 # grub's variable, not the shell's
echo 'set prefix=($root)/boot/grub' >>"$work/grub-early.cfg"
grub-mkimage -O i386-pc -d "$mnt/usr/lib/grub/i386-pc" -c "$work/grub-early.cfg" -p /boot/grub -o "$work/core.img" \
    biosdisk part_msdos ext2 search_fs_uuid
core_sectors=$((($(stat -c %s "$work/core.img") + 511) / 512))
((core_sectors < 2047)) || { echo "build-image: core.img does not fit before the partition" >&2; exit 1; }
dd if="$mnt/usr/lib/grub/i386-pc/boot.img" of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none

# Network: systemd-networkd renders cloud-init's network config; without one, DHCP on every NIC.
in_root systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1
cat >"$mnt/etc/systemd/network/99-meshgate-dhcp.network" <<EOF
# Fallback when cloud-init provides no network config (cloud-init's own files sort first).
[Match]
Name=en* eth*
[Network]
DHCP=yes
EOF
ln -sf ../run/systemd/resolve/stub-resolv.conf "$mnt/etc/resolv.conf.image"

cat >"$mnt/etc/cloud/cloud.cfg.d/90-meshgate.cfg" <<EOF
# meshgate gateway image: cloud-init renders the network for systemd-networkd; user-data write_files is the
# documented way to drop in /etc/meshgate/meshgated.yaml (and the policy, the peer list, a seeded key).
system_info:
  network:
    renderers: [networkd]
  default_user:
    name: debian
    lock_passwd: true
    gecos: meshgate operator
    groups: [adm, systemd-journal]
    sudo: ["ALL=(ALL) NOPASSWD:ALL"]
    shell: /bin/bash
ssh_pwauth: false
locale: C.UTF-8
datasource_list: [NoCloud, ConfigDrive, OpenStack, Ec2, GCE, Azure, None]
EOF

# SSH: keys only; host keys are made at first boot (cloud-init, or ssh-keygen -A without it).
rm -f "$mnt"/etc/ssh/ssh_host_*
cat >"$mnt/etc/ssh/sshd_config.d/10-meshgate.conf" <<EOF
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
EOF
mkdir -p "$mnt/etc/systemd/system/ssh.service.d"
printf '[Service]\nExecStartPre=/usr/bin/ssh-keygen -A\n' >"$mnt/etc/systemd/system/ssh.service.d/10-host-keys.conf"

# Firewall: the meshgate baseline as the nftables service's ruleset.
install -m 0644 "$mnt/usr/share/meshgate/nftables-baseline.nft" "$mnt/etc/nftables.conf"
in_root systemctl enable nftables.service >/dev/null 2>&1
in_root systemctl enable meshgated.service meshgate-firstboot-key.service >/dev/null 2>&1
# e2scrub needs LVM snapshots; in a VM it only costs boot time (20 s of CPU under TCG).
in_root systemctl disable e2scrub_reap.service e2scrub_all.timer >/dev/null 2>&1 || true

step "clean-up: caches, logs, identities"
umount "$mnt/var/cache/apt/archives"
unset 'mounts[-1]'
rm -f "$mnt/usr/sbin/policy-rc.d" "$mnt/tmp/meshgate.deb"
rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/var/cache/apt/*.bin "$mnt"/var/log/*.log "$mnt"/var/log/apt/* \
    "$mnt"/var/cache/debconf/*-old "$mnt"/var/lib/dpkg/*-old "$mnt"/var/lib/cloud/* "$mnt"/tmp/* \
    "$mnt"/var/tmp/* "$mnt"/root/.bash_history "$mnt"/var/cache/ldconfig/aux-cache
find "$mnt/var/log" -type f -exec truncate -s 0 {} +
: >"$mnt/etc/machine-id"
rm -f "$mnt/var/lib/dbus/machine-id" "$mnt/var/lib/systemd/random-seed"
mv -f "$mnt/etc/resolv.conf.image" "$mnt/etc/resolv.conf"
# Whatever the build itself wrote carries SOURCE_DATE_EPOCH, not the build time.
find "$mnt" -xdev -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} + 2>/dev/null || true

step "manifest"
(cd "$mnt" && find . -xdev -type f ! -path './proc/*' ! -path './sys/*' ! -path './dev/*' -print0 | sort -z |
    xargs -0 sha256sum) >"$work/meshgate-gateway.manifest"
# shellcheck disable=SC2016 # dpkg-query's format
versions=$(in_root dpkg-query -W -f '${Package} ${Version}\n' | sort)
# shellcheck disable=SC2016
kernel=$(in_root dpkg-query -W -f '${Version}' linux-image-cloud-amd64)
used_mb=$(($(df --output=used -k "$mnt" | tail -1) / 1024))

for ((i = ${#mounts[@]} - 1; i >= 1; i--)); do umount "${mounts[i]}"; done
# Free blocks back to holes (the downloaded packages were written and deleted), or the qcow2 carries them.
# (sync first: ext4 frees deleted files' blocks only once their transaction has committed).
sync -f "$mnt"
sleep 1
if ! fstrim "$mnt"; then
    echo "build-image: fstrim failed; zero-filling the free space instead" >&2
    dd if=/dev/zero of="$mnt/zero.fill" bs=4M status=none 2>/dev/null || true
    rm -f "$mnt/zero.fill"
fi
umount "$mnt"
mounts=()
e2fsck -fy "$part" >/dev/null 2>&1 || true
losetup -d "$part"; part=""
losetup -d "$disk"; disk=""

step "qcow2 (compressed), checksums"
qcow="$work/meshgate-gateway.qcow2"
rm -f "$qcow"
qemu-img convert -c -O qcow2 -o compression_type=zlib "$raw" "$qcow"
mv -f "$raw" "$out/meshgate-gateway.raw"
mv -f "$qcow" "$out/meshgate-gateway.qcow2"
mv -f "$work/meshgate-gateway.manifest" "$out/meshgate-gateway.manifest"
echo "$versions" >"$out/meshgate-gateway.packages"
(cd "$out" && sha256sum meshgate-gateway.raw meshgate-gateway.qcow2 >SHA256SUMS)
step "done: $out/meshgate-gateway.qcow2 $(du -h "$out/meshgate-gateway.qcow2" | cut -f1) compressed," \
    "raw $size ($used_mb MB used), kernel $kernel, $(basename "$deb")"
