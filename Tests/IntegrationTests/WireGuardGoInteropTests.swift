import MeshgateTestSupport
import Testing

/// One combination of who initiates, PSK, outer and inner family.
struct InteropCase: Sendable, CustomTestStringConvertible {
    let initiator: WireGuardImplementation
    let usesPresharedKey: Bool
    let outer: IPFamily
    let inner: IPFamily

    var testDescription: String {
        "\(initiator) initiates, \(usesPresharedKey ? "with" : "without") PSK, \(outer) outer, \(inner) inner"
    }

    static let all: [InteropCase] = WireGuardImplementation.allCases.flatMap { initiator in
        [false, true].flatMap { psk in
            IPFamily.allCases.flatMap { outer in
                IPFamily.allCases.map { inner in
                    InteropCase(initiator: initiator, usesPresharedKey: psk, outer: outer, inner: inner)
                }
            }
        }
    }
}

@Suite("meshgate-wg and wireguard-go", .tags(.privileged, .interop), .requiresLab("wireguard-go"))
struct WireGuardGoInteropTests {
    @Test("a tunnel between meshgate-wg and wireguard-go carries pings both ways", arguments: InteropCase.all)
    func pingsBothWays(_ scenario: InteropCase) async throws {
        try await NetnsLab.withLab { lab in
            // meshgate-wg lives in node a, wireguard-go in node b; only the initiator knows the endpoint.
            let tunnel = try await lab.makeTunnel(
                a: .meshgate, b: .wireguardGo, initiator: scenario.initiator == .meshgate ? .a : .b,
                outer: scenario.outer, presharedKey: scenario.usesPresharedKey)
            let initiator = tunnel.initiator
            let responder = tunnel.responder

            // The initiator's first packet triggers the handshake.
            try await lab.waitUntilReachable(from: initiator.node, to: responder.innerAddress(scenario.inner))
            let forward = try await lab.ping(
                from: initiator.node, to: responder.innerAddress(scenario.inner), count: 5, interval: 0.05)
            #expect(forward.lost == 0, "pings from the initiator (\(initiator)): \(forward)")

            // The responder learned the initiator's endpoint from the handshake and can answer on its own.
            let backward = try await lab.ping(
                from: responder.node, to: initiator.innerAddress(scenario.inner), count: 5, interval: 0.05)
            #expect(backward.lost == 0, "pings from the responder (\(responder)): \(backward)")

            let learned = try await lab.dump(responder).peer(initiator.publicKey)
            #expect(learned?.endpoint == initiator.endpoint(scenario.outer))
            #expect(learned?.presharedKey == tunnel.presharedKey)
            for side in [initiator, responder] {
                let peer = try await lab.dump(side).peers.first
                #expect((peer?.latestHandshake ?? 0) > 0, "\(side) reports no handshake")
            }
        }
    }
}
