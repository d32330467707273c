#!/usr/bin/env bash
# Builds meshgate's libFuzzer targets (address sanitizer on) and runs each for a bounded time on a copy of
# its seed corpus in Fuzz/Corpus/<target>. A crash fails the run and leaves the input in Fuzz/Crashes/;
# turn every one into a named regression test (see Tests/RoutingTests/Hostile for the pattern).
#
#   ./scripts/fuzz.sh [--time SECONDS] [TARGET ...]     (default: 20 s each, every target)
set -euo pipefail

cd "$(dirname "$0")/.."

seconds=20
targets=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --time) seconds=$2; shift 2 ;;
        -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(FuzzRouteProtocol FuzzWireGuardReceive FuzzUAPI FuzzControlProtocol FuzzConfig FuzzPolicy FuzzProbePort)
fi

scratch=.build-fuzz
mkdir -p Fuzz/Crashes
status=0
for target in "${targets[@]}"; do
    # Both sanitizers in one comma-separated flag; --sanitize=fuzzer keeps SwiftPM from emitting a main.
    swift build --product "$target" --scratch-path "$scratch" --sanitize=fuzzer \
        -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -v "ld.gold: warning" | tail -1
    work=$(mktemp -d)
    cp -r "Fuzz/Corpus/$target/." "$work/"
    log=$(mktemp)
    # No Swift backtracer after a crash (it can hang holding the pipe), and a hard time limit.
    set +e
    SWIFT_BACKTRACE=enable=no timeout $((seconds + 60)) "$scratch/debug/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -use_value_profile=1 \
        -artifact_prefix="Fuzz/Crashes/$target-" "$work" >"$log" 2>&1
    rc=$?
    set -e
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo 0)
    if [[ $rc -ne 0 ]]; then
        echo "FAIL: $target (exit $rc) after $runs runs; input in Fuzz/Crashes/"
        grep -E "ERROR|SUMMARY|Fatal error|Precondition" "$log" | head -5
        status=1
    else
        echo "ok: $target, $runs runs in ${seconds} s, corpus $(find "$work" -type f | wc -l) inputs"
    fi
    rm -rf "$work" "$log"
done
exit "$status"
