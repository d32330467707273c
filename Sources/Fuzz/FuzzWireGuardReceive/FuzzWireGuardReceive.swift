// libFuzzer target: the WireGuard engine's receive path (message classification and decoders, handshake
// consumption, cookie checks, transport opening, replay window, inner packet checks) on an engine that
// has a live session. Inputs are sent raw, or XORed onto a genuine transport message so that fields
// behind the receiver index are reached. Built and run by scripts/fuzz.sh.

import MeshgateTestSupport
import WireGuard

nonisolated(unsafe) private var pair: EnginePair?
nonisolated(unsafe) private var genuine: [UInt8] = []

private func setUp() -> EnginePair {
    if let pair { return pair }
    let made = EnginePair()
    _ = made.send(made.makePacket(from: .a), from: .a)
    _ = made.pump()
    _ = made.send(made.makePacket(from: .a), from: .a)
    made.collectOutboxes()
    genuine = made.takeInFlight().first { $0.isTransport }?.bytes ?? []
    precondition(!genuine.isEmpty, "the fuzz harness could not establish a session")
    pair = made
    return made
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireGuardReceive(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let pair = setUp()
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let mode = bytes.first, mode & 1 == 1, !genuine.isEmpty {
        var mutated = genuine
        for (index, byte) in bytes.dropFirst().enumerated() where index < mutated.count { mutated[index] ^= byte }
        bytes = mutated
    }
    _ = pair.receive(bytes, at: .b, from: pair.configuration.endpointA)
    _ = pair.takeInFlight()
    return 0
}
