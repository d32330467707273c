// libFuzzer target: the policy file parser (HuJSON), its tests, the class compiler and the kernel
// elements. Built and run by scripts/fuzz.sh.

import Policy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // A small element cap keeps each run fast; the point is that nothing traps.
    if let policy = try? Policy.parseWithoutTests(bytes) {
        _ = policy.testFailures()
        if let tables = try? PolicyTables.compile(policy, maximumTriples: 10_000), tables.kernelElementCount() < 100_000
        {
            _ = tables.kernelElements()
        }
    }
    return 0
}
