// libFuzzer target: the control-socket request decoder (what any local client may send). Built and run by
// scripts/fuzz.sh.

import ControlProtocol
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = Data(bytes: data, count: size)
    if let envelope = try? JSONDecoder().decode(ControlEnvelope<ControlRequest>.self, from: line) {
        _ = try? JSONEncoder().encode(envelope)
    }
    _ = try? JSONDecoder().decode(ControlEnvelope<ControlResponse>.self, from: line)
    return 0
}
