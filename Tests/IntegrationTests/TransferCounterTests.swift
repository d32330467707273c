import MeshgateTestSupport
import Testing

@Suite("wg show transfer counters", .tags(.privileged), .requiresLab("wireguard-go"))
struct TransferCounterTests {
    static let pingCount = 40
    static let payloadBytes = 1000

    /// The size of one echo request or reply as a WireGuard transport data message, which is what both
    /// wireguard-go and the kernel count in transfer-rx/-tx: the inner packet (IP header, 8-byte ICMP
    /// header and payload) padded to a multiple of 16, plus the 16-byte header and the 16-byte tag.
    static func messageBytes(_ family: IPFamily) -> UInt64 {
        let packet = (family == .v4 ? 20 : 40) + 8 + payloadBytes
        return UInt64((packet + 15) / 16 * 16 + 32)
    }

    @Test(
        "transfer counters account for exactly the messages of a known ping train",
        arguments: WireGuardImplementation.allCases, IPFamily.allCases)
    func countersMatchTraffic(peer: WireGuardImplementation, inner: IPFamily) async throws {
        try await NetnsLab.withLab { lab in
            let tunnel = try await lab.makeTunnel(a: .meshgate, b: peer)
            try await lab.waitUntilReachable(from: lab.a, to: tunnel.b.innerAddress(inner))
            let before = try await counters(lab, tunnel)

            let result = try await lab.ping(
                from: lab.a, to: tunnel.b.innerAddress(inner), count: Self.pingCount, interval: 0.05,
                size: Self.payloadBytes)
            try #require(result.lost == 0, "the arithmetic below assumes no loss: \(result)")
            let after = try await counters(lab, tunnel)

            // The train lasts about 2 s: far less than the 10 s keepalive timeout, and persistent keepalive
            // is off, so no keepalive and no handshake can fall inside it: the deltas are exact.
            let expected = UInt64(Self.pingCount) * Self.messageBytes(inner)
            #expect(after.aTransmitted - before.aTransmitted == expected, "meshgate-wg tx delta")
            #expect(after.aReceived - before.aReceived == expected, "meshgate-wg rx delta")
            #expect(after.bTransmitted - before.bTransmitted == expected, "\(peer) tx delta")
            #expect(after.bReceived - before.bReceived == expected, "\(peer) rx delta")

            // Over the tunnel's whole life (handshake messages, keepalives and the warm-up pings included)
            // nothing was lost on the veth, so what one side sent is exactly what the other received.
            #expect(after.aTransmitted == after.bReceived, "meshgate-wg tx vs \(peer) rx: \(after)")
            #expect(after.bTransmitted == after.aReceived, "\(peer) tx vs meshgate-wg rx: \(after)")
        }
    }

    struct Counters: CustomStringConvertible {
        var aReceived: UInt64
        var aTransmitted: UInt64
        var bReceived: UInt64
        var bTransmitted: UInt64
        var description: String {
            "a rx \(aReceived) tx \(aTransmitted), b rx \(bReceived) tx \(bTransmitted)"
        }
    }

    func counters(_ lab: NetnsLab, _ tunnel: Tunnel) async throws -> Counters {
        let a = try #require(try await lab.dump(tunnel.a).peer(tunnel.b.publicKey))
        let b = try #require(try await lab.dump(tunnel.b).peer(tunnel.a.publicKey))
        return Counters(
            aReceived: a.receivedBytes, aTransmitted: a.transmittedBytes, bReceived: b.receivedBytes,
            bTransmitted: b.transmittedBytes)
    }
}
