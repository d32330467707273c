#!/usr/bin/env bash
# Runs meshgate's whole test suite: unit tests and the privileged namespace integration tests.
# Installs what it needs first. Run as root (the integration tests create network namespaces).
set -euo pipefail

cd "$(dirname "$0")/.."

./scripts/install-deps.sh

echo "== shellcheck"
shellcheck scripts/*.sh .ci/run

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
