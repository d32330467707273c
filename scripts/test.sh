#!/usr/bin/env bash
# Runs meshgate's whole test suite: unit tests and the privileged namespace integration tests.
# Installs what it needs first. Run as root (the integration tests create network namespaces).
set -euo pipefail

cd "$(dirname "$0")/.."

./scripts/install-deps.sh

echo "== shellcheck"
shellcheck scripts/*.sh .ci/run packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm \
    packaging/libexec/firstboot-key

echo "== build"
swift build --product meshgate-wg
swift build --product meshgate
swift build --product meshgated

echo "== tests"
# Swift Testing only: the XCTest runner would print a second, empty summary.
set +e
swift test --disable-xctest 2>&1 | tee /tmp/meshgate-test-output.txt
status=${PIPESTATUS[0]}
set -e

echo "== fuzz (bounded: 15 s per target)"
if ! ./scripts/fuzz.sh --time 15; then status=1; fi

# The appliance: the .deb and the image are rebuilt only when their inputs changed (cache key in
# dist/meshgate-gateway.inputs), then two qemu TCG VMs boot it (about 4 min; 10-12 min with the builds).
echo "== appliance (.deb, image, two-VM boot test)"
if [[ "${MESHGATE_SKIP_IMAGE_TEST:-0}" == 1 ]]; then
    echo "skipped: MESHGATE_SKIP_IMAGE_TEST=1"
elif [[ $(id -u) == 0 && -e /dev/loop-control ]] && command -v qemu-system-x86_64 >/dev/null &&
    command -v debootstrap >/dev/null && command -v cloud-localds >/dev/null; then
    if ! timeout 2400 ./scripts/test-image.sh --build --timeout 1200; then status=1; fi
else
    echo "skipped: needs root, loop devices, qemu-system-x86, debootstrap and cloud-image-utils"
fi

# Leftovers from the integration tests would mean a cleanup bug: fail loudly.
leaked=$(ip netns list | awk '{print $1}' | grep -E '^(mgt-|mgtest-)' || true)
if [[ -n "$leaked" ]]; then
    echo "FAIL: network namespaces leaked by tests: $leaked" >&2
    status=1
fi

# Swift Testing's own closing line is the count of record.
result=$(grep -E '^. Test run with' /tmp/meshgate-test-output.txt | tail -1 || true)
echo "== summary: ${result:-no test run line found} (exit ${status})"
exit "$status"
