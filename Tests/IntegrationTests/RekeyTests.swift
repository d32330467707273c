import MeshgateTestSupport
import Testing

@Suite("Rekeying", .tags(.privileged, .interop), .requiresLab("wireguard-go"))
struct RekeyTests {
    /// Rekey-After-Time is shortened to 3 s, but a new initiation also waits Rekey-Timeout (5 s) after the
    /// previous one (whitepaper §6.2; wireguard-go `SendHandshakeInitiation`), so handshakes come every
    /// 5 s. Watching for 12 s therefore shows the first handshake and at least two rekeys.
    @Test("meshgate-wg rekeys every few seconds under a 10 Hz ping to wireguard-go without losing a packet")
    func rekeyUnderTraffic() async throws {
        // Weight 2: a starved tunnel would drop pings for reasons that have nothing to do with rekeying.
        try await NetnsLab.withLab(weight: 2) { lab in
            // The test hook shortens Rekey-After-Time from 120 s to 3 s on the initiator only.
            let tunnel = try await lab.makeTunnel(
                a: .meshgate, b: .wireguardGo, environmentA: ["MESHGATE_WG_REKEY_AFTER_SECONDS": "3"])
            let target = tunnel.b.innerAddress(.v4)
            try await lab.waitUntilReachable(from: lab.a, to: target)

            async let train = lab.ping(from: lab.a, to: target, count: 120, interval: 0.1)
            var seenByMeshgate: Set<UInt64> = []
            var seenByPeer: Set<UInt64> = []
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(12) {
                // latest-handshake has one-second resolution; rekeys 3 s apart always show as new values.
                if let value = try await lab.dump(tunnel.a).peer(tunnel.b.publicKey)?.latestHandshake {
                    seenByMeshgate.insert(value)
                }
                if let value = try await lab.dump(tunnel.b).peer(tunnel.a.publicKey)?.latestHandshake {
                    seenByPeer.insert(value)
                }
                try await Task.sleep(for: .milliseconds(250))
            }
            let pings = try await train

            // The first value is the initial handshake; two more mean it advanced at least twice.
            #expect(seenByMeshgate.count >= 3, "meshgate-wg latest-handshake values: \(seenByMeshgate.sorted())")
            #expect(seenByPeer.count >= 3, "wireguard-go latest-handshake values: \(seenByPeer.sorted())")
            // The old session stays valid until the new one is confirmed, so a rekey costs no packet.
            #expect(pings.lost == 0, "pings across the rekeys: \(pings)")
        }
    }
}
