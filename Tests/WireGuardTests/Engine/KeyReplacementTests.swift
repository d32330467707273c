import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// A planned key rotation: A gets a new static key while B swaps A's public key, both keeping sessions.
@Suite("Static key rotation keeping sessions")
struct KeyReplacementTests {
    @Test(
        "traffic continues on the old session after both sides swap keys, then a handshake under the new key completes")
    func rotationKeepsTraffic() throws {
        let pair = EnginePair(EnginePair.Configuration())
        let first = pair.makePacket(from: .a)
        _ = pair.send(first, from: .a)
        while !pair.inFlight.isEmpty { _ = pair.step() }

        let newKey = X25519.generatePrivateKey(using: SeededRandom(seed: 4242))
        let newPublic = X25519.publicKey(for: newKey)
        #expect(pair.b.replacePeerKey(pair.publicKeyA, with: newPublic))
        pair.a.setPrivateKey(newKey, keepingSessions: true)
        #expect(pair.a.identity?.publicKey == newPublic)
        #expect(pair.b.peer(publicKey: pair.publicKeyA) == nil)
        #expect(pair.b.peer(publicKey: newPublic) === pair.peerOnB)

        // The established keypair still carries data both ways, with no handshake in between.
        let afterSwap = pair.makePacket(from: .a, payloadLength: 64)
        guard case .send = pair.send(afterSwap, from: .a) else {
            Issue.record("A should still send on its established session")
            return
        }
        #expect(pair.step() == .delivered(afterSwap))
        let reply = pair.makePacket(from: .b, payloadLength: 64)
        guard case .send = pair.send(reply, from: .b) else {
            Issue.record("B should still send on its established session")
            return
        }
        #expect(pair.step() == .delivered(reply))

        // A fresh handshake uses the new static key and is accepted by B.
        let before = pair.peerOnB.lastHandshake
        pair.clock.advance(by: .seconds(1))
        pair.a.initiateHandshakes(now: pair.clock.now)
        pair.collectOutboxes()
        while !pair.inFlight.isEmpty { _ = pair.step() }
        #expect(pair.b.drops.total == 0, "B dropped something: \(pair.b.drops)")
        #expect(pair.peerOnA.lastHandshake != nil)
        #expect(pair.peerOnB.lastHandshake != before || pair.peerOnB.current != nil)
        let last = pair.makePacket(from: .a, payloadLength: 10)
        _ = pair.send(last, from: .a)
        #expect(pair.step() == .delivered(last))
    }

    @Test("replacing a key refuses unknown peers, taken keys and our own key")
    func refusals() {
        let pair = EnginePair(EnginePair.Configuration())
        let stranger = X25519.publicKey(for: X25519.generatePrivateKey(using: SeededRandom(seed: 7)))
        #expect(!pair.a.replacePeerKey(stranger, with: stranger))
        #expect(!pair.b.replacePeerKey(pair.publicKeyA, with: pair.publicKeyB))
    }
}
