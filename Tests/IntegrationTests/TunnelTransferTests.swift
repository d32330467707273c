import MeshgateTestSupport
import Testing

@Suite("Data through a meshgate-wg tunnel", .tags(.privileged), .requiresLab())
struct TunnelTransferTests {
    @Test("two meshgate-wg instances ping each other over both inner families")
    func meshgatePairPings() async throws {
        try await NetnsLab.withLab { lab in
            let tunnel = try await lab.makeTunnel(a: .meshgate, b: .meshgate)
            try await lab.waitUntilReachable(from: lab.a, to: tunnel.b.innerAddress(.v4))
            for family in IPFamily.allCases {
                let forward = try await lab.ping(
                    from: lab.a, to: tunnel.b.innerAddress(family), count: 5, interval: 0.05)
                #expect(forward.lost == 0, "\(family) a → b: \(forward)")
                let backward = try await lab.ping(
                    from: lab.b, to: tunnel.a.innerAddress(family), count: 5, interval: 0.05)
                #expect(backward.lost == 0, "\(family) b → a: \(backward)")
            }
        }
    }

    /// 16 MiB is about 12 000 full-size segments: enough to fill windows, exercise batching and
    /// reordering, and still finish in a few seconds on a debug build.
    static let transferBytes = 16 << 20

    @Test(
        "a TCP stream through meshgate-wg arrives byte for byte",
        .tags(.interop), .requiresLab("wireguard-go"),
        arguments: WireGuardImplementation.allCases, IPFamily.allCases)
    func tcpTransferIsExact(peer: WireGuardImplementation, inner: IPFamily) async throws {
        // Bulk traffic keeps both cores busy: the lab takes every slot.
        try await NetnsLab.withLab(weight: .max) { lab in
            let tunnel = try await lab.makeTunnel(a: .meshgate, b: peer)
            try await lab.waitUntilReachable(from: lab.a, to: tunnel.b.innerAddress(inner))
            // meshgate-wg sends, then receives: both directions of the data path carry the stream.
            for (sender, receiver) in [(tunnel.a, tunnel.b), (tunnel.b, tunnel.a)] {
                let result = try await lab.transferTCP(
                    from: sender.node, to: receiver.node, address: receiver.innerAddress(inner),
                    byteCount: Self.transferBytes, seed: 42)
                #expect(result.sentBytes == Self.transferBytes)
                #expect(result.receivedBytes == Self.transferBytes, "\(sender) → \(receiver)")
                #expect(result.receivedSHA256 == result.sentSHA256, "\(sender) → \(receiver)")
            }
        }
    }
}
