#!/usr/bin/env bash
# Builds dist/meshgate_VERSION_amd64.deb with dpkg-deb: release binaries with the Swift runtime linked
# statically (-static-stdlib: nothing from /opt/swift at run time), the systemd units, the rootfs/ files,
# the nftables baseline, man pages from --help (help2man), maintainer scripts from packaging/debian/.
#
#   scripts/build-deb.sh [--skip-build] [--worktree] [--version V] [--out DIR]
#
# The package is built from the committed tree (HEAD, exported with git archive into the scratch
# directory), so that it is what its version says and uncommitted edits do not leak into it.
# --worktree    build from the working tree instead (the version then carries "+dirty" if it is)
# --skip-build  package the binaries already in the build directory
# --version V   package version (default: the daemon's softwareVersion + "+git" + commit time + hash)
# --out DIR     where the .deb goes (default: dist/)
#
# Environment: MESHGATE_BUILD_DIR (scratch, default /work/deb-build if it exists, else .build-deb),
# SOURCE_DATE_EPOCH (default: the commit time; every file time and the archive members use it).
# Every swift build runs under flock /tmp/meshgate-swift-build.lock (one Swift build at a time on this machine).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

skip_build=0
worktree=0
version=""
out="$repo/dist"
while (($# > 0)); do
    case "$1" in
        --skip-build) skip_build=1 ;;
        --worktree) worktree=1 ;;
        --version) version="$2"; shift ;;
        --out) out="$2"; shift ;;
        -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "build-deb: unknown argument $1" >&2; exit 64 ;;
    esac
    shift
done

for tool in dpkg-deb dpkg-shlibdeps help2man strip rsync; do
    command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

if [[ -z "${MESHGATE_BUILD_DIR:-}" ]]; then
    if [[ -d /work/deb-build ]]; then MESHGATE_BUILD_DIR=/work/deb-build; else MESHGATE_BUILD_DIR="$repo/.build-deb"; fi
fi
scratch="$MESHGATE_BUILD_DIR"
swift_build="$scratch/swift-build"
mkdir -p "$scratch" "$out"

maintainer="${MESHGATE_MAINTAINER:-meshgate maintainers <maintainers@meshgate.example.org>}"
commit=$(git rev-parse --short=10 HEAD 2>/dev/null || echo unknown)
: "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH
if [[ -z "$version" ]]; then
    base=$(sed -n 's/.*softwareVersion = "\(.*\)".*/\1/p' Sources/ControlProtocol/ControlMessages.swift)
    stamp=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)
    version="${base:-0.0.0}+git${stamp}.${commit}"
    if ((worktree == 1)) && [[ -n "$(git status --porcelain -- Package.swift Sources packaging systemd rootfs)" ]]; then
        version="$version+dirty"
    fi
fi

# The source tree to build and package: HEAD exported (rsync -c keeps unchanged files' times, so the
# build directory stays incremental), or the working tree.
if ((worktree == 1)); then
    src="$repo"
else
    src="$scratch/src"
    rm -rf "$scratch/src.export"
    mkdir -p "$scratch/src.export" "$src"
    git archive HEAD | tar -x -C "$scratch/src.export"
    [[ ! -f Package.resolved ]] || cp Package.resolved "$scratch/src.export/"
    rsync -rlc --delete --exclude=/.build "$scratch/src.export/" "$src/"
    rm -rf "$scratch/src.export"
fi

products=(meshgated meshgate meshgate-wg)
if ((skip_build == 0)); then
    # An incremental static release build after a change of a struct's layout has linked modules compiled
    # against the old one (heap corruption at start, twice): when our sources changed since the last
    # build, our own modules are rebuilt from scratch (the dependencies stay built).
    sources_key=$(cd "$src" && find Package.swift Sources -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum)
    key_file="$swift_build/meshgate-sources.sha256"
    if [[ ! -f "$key_file" || $(cat "$key_file") != "$sources_key" ]]; then
        for module in "$src"/Sources/*/; do
            name=$(basename "$module")
            rm -rf "$swift_build/release/$name.build" "$swift_build/release/Modules/$name".*
        done
    fi
    for product in "${products[@]}"; do
        echo "== swift build -c release -static-stdlib --product $product"
        # -z relro -z now: full RELRO (lintian hardening-no-bindnow).
        (cd "$src" && flock /tmp/meshgate-swift-build.lock \
            swift build -c release -Xswiftc -static-stdlib -Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now \
            --build-path "$swift_build" --product "$product")
    done
fi
bin="$swift_build/release"
if ((skip_build == 0)); then echo "$sources_key" >"$key_file"; fi
for product in "${products[@]}"; do
    [[ -x "$bin/$product" ]] || { echo "build-deb: $bin/$product not built" >&2; exit 1; }
    if objdump -p "$bin/$product" | grep -q 'NEEDED.*libswift'; then
        echo "build-deb: $product links a Swift runtime library dynamically" >&2
        exit 1
    fi
done

cd "$src"
stage="$scratch/deb-root"
rm -rf "$stage" "$scratch/shlibdeps"
umask 022
mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/sbin" "$stage/lib/systemd/system" \
    "$stage/usr/libexec/meshgate" "$stage/usr/lib/sysusers.d" "$stage/usr/share/meshgate" \
    "$stage/usr/share/doc/meshgate/examples" "$stage/usr/share/man/man1" "$stage/usr/share/man/man8"

echo "== staging $version"
install -m 0755 "$bin/meshgated" "$stage/usr/sbin/meshgated"
install -m 0755 "$bin/meshgate" "$stage/usr/bin/meshgate"
install -m 0755 "$bin/meshgate-wg" "$stage/usr/bin/meshgate-wg"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$stage/usr/sbin/meshgated" "$stage/usr/bin/meshgate" "$stage/usr/bin/meshgate-wg"

install -m 0644 systemd/meshgated.service systemd/meshgate-firstboot-key.service "$stage/lib/systemd/system/"
install -m 0755 packaging/libexec/firstboot-key "$stage/usr/libexec/meshgate/firstboot-key"
install -m 0644 packaging/sysusers-meshgate.conf "$stage/usr/lib/sysusers.d/meshgate.conf"
install -m 0644 packaging/nftables-baseline.nft "$stage/usr/share/meshgate/nftables-baseline.nft"

# rootfs/ lands exactly as laid out; everything under etc/ is a conffile.
(cd rootfs && find . -type f | sort) | while read -r f; do
    install -D -m 0644 "rootfs/$f" "$stage/${f#./}"
done
install -d -m 0755 "$stage/etc/meshgate"
(cd "$stage" && find etc -type f | sort | sed 's|^|/|') >"$stage/DEBIAN/conffiles"

install -m 0644 README.md "$stage/usr/share/doc/meshgate/README.md"
for doc in docs/*.md; do install -m 0644 "$doc" "$stage/usr/share/doc/meshgate/"; done
install -m 0644 rootfs/etc/meshgate/meshgated.yaml.example "$stage/usr/share/doc/meshgate/examples/meshgated.yaml"
install -m 0755 packaging/examples/*.sh "$stage/usr/share/doc/meshgate/examples/"
install -m 0644 packaging/debian/copyright "$stage/usr/share/doc/meshgate/copyright"
# A native package (no Debian revision): changelog.gz, wrapped at 80 columns.
changelog="$stage/usr/share/doc/meshgate/changelog"
cat >"$changelog" <<EOF
meshgate ($version) bookworm; urgency=medium

  * Built from commit $commit of the meshgate repository
    (scripts/build-deb.sh).

 -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")
EOF
gzip -9n "$changelog"

# Man pages from the --help texts (ArgumentParser output), so `man meshgate` works.
man_for() { # binary section name description
    help2man --no-info --no-discard-stderr --section="$2" --name="$4" \
        --version-string="$version" "$1" | gzip -9n >"$stage/usr/share/man/man$2/$3.$2.gz"
}
man_for "$stage/usr/sbin/meshgated" 8 meshgated "the meshgate gateway daemon"
man_for "$stage/usr/bin/meshgate" 1 meshgate "operator command line for meshgated"
man_for "$stage/usr/bin/meshgate-wg" 1 meshgate-wg "userspace WireGuard engine with the wireguard-go command line"

install -D -m 0644 packaging/debian/lintian-overrides "$stage/usr/share/lintian/overrides/meshgate"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"

# Library dependencies as dpkg-shlibdeps finds them (the packages, with the versions the symbols need).
mkdir -p "$scratch/shlibdeps/debian"
printf 'Source: meshgate\n\nPackage: meshgate\nArchitecture: amd64\n' >"$scratch/shlibdeps/debian/control"
shlibs=$(cd "$scratch/shlibdeps" && dpkg-shlibdeps -O -e"$stage/usr/sbin/meshgated" \
    -e"$stage/usr/bin/meshgate" -e"$stage/usr/bin/meshgate-wg" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n "$shlibs" ]] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: meshgate
Version: $version
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $installed_kb
Depends: $shlibs, systemd, nftables, iproute2
Suggests: wireguard-tools, prometheus
Section: net
Priority: optional
Description: site-to-site WireGuard mesh gateway with subnet routes and HA
 meshgated joins an encrypted WireGuard mesh of gateways, advertises its
 region's private subnets, installs the routes it learns, clamps the overlay
 MTU and TCP MSS, and elects which gateway of an HA pair carries each subnet.
 .
 The package holds meshgated (systemd unit, hardened, runs as the meshgate
 user), the meshgate operator CLI, meshgate-wg (the WireGuard engine alone,
 wireguard-go compatible), a first-boot node key unit, sysctls, the route
 protocol name, Prometheus alert rules and an nftables baseline. The Swift
 runtime is linked statically.
EOF

(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
find "$stage" -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +
deb="$out/meshgate_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "== built $deb ($(du -h "$deb" | cut -f1))"
echo "$deb" >"$out/meshgate-latest-deb.txt"
