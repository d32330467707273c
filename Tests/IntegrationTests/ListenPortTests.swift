import MeshgateTestSupport
import Testing

/// `wg set IFACE listen-port P2` on meshgate-wg with a live tunnel (issue 7, defect 4): when `wg` returns,
/// the old port is closed and the new one serves the tunnel.
@Suite("listen-port changes", .tags(.privileged, .interop), .requiresLab("wireguard-go"))
struct ListenPortTests {
    @Test("after wg set listen-port the old UDP port is closed at once and traffic continues on the new one")
    func oldPortClosed() async throws {
        try await NetnsLab.withLab { lab in
            let tunnel = try await lab.makeTunnel(a: .meshgate, b: .wireguardGo)
            try await lab.waitUntilReachable(from: lab.a, to: lab.b.innerAddress(.v4))
            let before = try await lab.run(in: lab.a, ["ss", "-uanH"]).standardOutput
            #expect(before.contains(":51820 "), "\(before)")

            try await lab.run(in: lab.a, ["wg", "set", tunnel.a.name, "listen-port", "51830"])
            let after = try await lab.run(in: lab.a, ["ss", "-uanH"]).standardOutput
            #expect(!after.contains(":51820 "), "the old port is still bound when wg returned:\n\(after)")
            #expect(after.contains(":51830 "), "\(after)")

            let ping = try await lab.ping(from: lab.a, to: lab.b.innerAddress(.v4), count: 5)
            #expect(ping.received == 5, "\(ping.output)")
        }
    }
}
