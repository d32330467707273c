import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// 10,000 peers: configuration, listing and removal stay linear (each used to walk every peer or the whole
/// allowed-IPs trie once per peer, which made removing 10,000 peers take many minutes).
@Suite("Many peers")
struct ManyPeersTests {
    static func key(_ i: Int) -> Key32 {
        Key32(filling: { buffer in
            buffer.initializeMemory(as: UInt8.self, repeating: 0x42)
            buffer.storeBytes(of: UInt32(i + 1).bigEndian, toByteOffset: 0, as: UInt32.self)
        })
    }

    @Test("10,000 peers are added, listed in order, removed, and their allowed IPs with them", .timeLimit(.minutes(1)))
    func tenThousandPeers() throws {
        let engine = Engine(random: SeededRandom(seed: 7))
        engine.setPrivateKey(Self.key(-1))
        var change = UAPIConfigurationChange()
        for i in 0..<10_000 {
            var peer = UAPIConfigurationChange.PeerChange(publicKey: Self.key(i))
            peer.allowedIPs = [
                IPPrefix("10.200.\(i / 250).\(i % 250 + 1)/32")!, IPPrefix("fd00:200::\(String(i, radix: 16))/128")!,
            ]
            change.peers.append(peer)
        }
        let precomputed = Engine.staticStatics(for: change, identity: engine.identity)
        #expect(precomputed?.values.count == 10_000)
        engine.apply(
            change, now: Moment(monotonic: Instant(nanoseconds: 1), wall: WallTime(seconds: 0, nanoseconds: 0)),
            precomputed: precomputed)

        let snapshots = engine.peerSnapshots()
        #expect(snapshots.map(\.publicKey) == (0..<10_000).map(Self.key))
        #expect(snapshots[4321].allowedIPs == [IPPrefix("10.200.17.72/32")!, IPPrefix("fd00:200::10e1/128")!])
        #expect(engine.peer(publicKey: Self.key(9))?.staticStatic != nil, "the precomputed DH is used")
        #expect(engine.armedPeers.isEmpty, "idle peers arm no timer")

        for i in stride(from: 0, to: 10_000, by: 2) { engine.removePeer(publicKey: Self.key(i)) }
        #expect(engine.peerKeys == stride(from: 1, to: 10_000, by: 2).map(Self.key))
        #expect(engine.allowedIPs.count == 10_000)
        #expect(engine.allowedIPs.lookup(IPAddress("10.200.0.1")!) == nil)
        #expect(engine.allowedIPs.lookup(IPAddress("10.200.0.2")!) === engine.peer(publicKey: Self.key(1)))
        #expect(engine.allowedIPs.invariantViolation() == nil)
        engine.removeAllPeers()
        #expect(engine.peers.isEmpty && engine.allowedIPs.count == 0)
    }
}
