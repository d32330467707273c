import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

extension EnginePair {
    /// A initiates with nothing staged, B answers, A confirms with a keepalive: afterwards both sides have a
    /// current keypair made at this instant, and no timer but zero-key-material is pending.
    func establishSession() {
        a.initiateHandshake(with: peerOnA, now: clock.now, isRetry: false)
        pump()
    }

    /// Seals `packet` on `side` and returns the datagram without putting it on the wire.
    func sealAside(_ packet: [UInt8], from side: Side) -> Datagram? {
        let before = inFlight.count
        guard case .send = send(packet, from: side) else { return nil }
        return inFlight.remove(at: before)
    }

    /// Handshake events of both engines since the last call.
    func takeEvents() -> (a: [HandshakeEvent], b: [HandshakeEvent]) { (a.takeEvents(), b.takeEvents()) }
}

extension Engine {
    /// Index-table entries that point at `peer`.
    func indexCount(of peer: Peer) -> Int {
        indexTable.values.filter {
            switch $0 {
            case .handshake(let p): p === peer
            case .keypair(_, let p): p === peer
            }
        }.count
    }
}

extension HandshakeEvent {
    var isInitiationSent: Bool {
        if case .initiationSent = self { return true }
        return false
    }
}

/// Drop counters as a dictionary of the non-zero ones, for readable expectations.
func nonZeroDrops(_ engine: Engine) -> [DropReason: UInt64] {
    var out: [DropReason: UInt64] = [:]
    for reason in DropReason.allCases where engine.drops[reason] > 0 { out[reason] = engine.drops[reason] }
    return out
}

extension Duration {
    /// Whole milliseconds, for messages.
    var wholeMilliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
