// libFuzzer target: the UAPI request framing and the `set=1` codec (what `wg set` sends), fed in
// arbitrary chunks. Built and run by scripts/fuzz.sh.

import WireGuard

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUAPI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var parser = UAPIRequestParser(maximumRequestBytes: 1 << 16)
    // The first byte picks the chunk size, so framing across reads is exercised too.
    let chunk = max(1, Int(bytes.first ?? 1))
    var offset = 0
    while offset < bytes.count && !parser.isClosed {
        parser.append(bytes[offset..<min(bytes.count, offset + chunk)])
        offset += chunk
        while let request = parser.nextRequest() {
            if case .set(let lines) = request { _ = UAPICodec.parseSet(lines) }
        }
    }
    return 0
}
