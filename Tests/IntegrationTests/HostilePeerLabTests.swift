// Attacks on meshgated from a peer, sent through the real tunnel from that peer's namespace: the
// datagrams carry the attacker's own overlay address as inner source, so WireGuard authenticates them
// and they reach the route protocol exactly as a compromised gateway's would.
//
// Run: swift build --product meshgated && swift build --product meshgate &&
//      swift test --filter HostilePeerLabTests

import Foundation
import MeshgateTestSupport
import Testing

@Suite(
    "hostile peers in the two-region lab", .serialized, .tags(.privileged), .requiresLab("nft", "tshark"),
    .gatewayLab)
struct HostilePeerLabTests {
    var lab: GatewayLab {
        get throws { try #require(GatewayLabScope.current, "the suite's gateway lab is not up") }
    }

    /// A route-protocol hello (version 1) encoded by hand, so values the encoder refuses can be sent.
    static func helloHex(sender: String, group: String, sequence: UInt64, term: UInt64, priority: UInt8 = 255)
        -> String
    {
        func u64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
        var bytes: [UInt8] = [1, 1] + u64(sequence)
        bytes += [UInt8(sender.utf8.count)] + Array(sender.utf8)
        bytes += [UInt8(group.utf8.count)] + Array(group.utf8)
        bytes += [priority, 1, 1] + u64(term)
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    @Test("a hello with term 2^63 or 2^64-1 from any peer crashes no gateway, and traffic keeps flowing")
    func hugeTermHello() async throws {
        let lab = try self.lab
        let before = try await lab.restoreBaseline()
        let attacker = LabGateway.fsn1a
        // Sequence numbers above anything the real fsn1a daemon uses (seeded from the wall clock).
        let base = UInt64(1) << 62
        var payloads: [String] = []
        for (index, term) in [UInt64(1) << 63, .max, (UInt64(1) << 53) + 1].enumerated() {
            for group in ["nyc1", "fsn1"] {
                payloads.append(
                    Self.helloHex(
                        sender: attacker.name, group: group,
                        sequence: base + UInt64(index * 2) + (group == "fsn1" ? 1 : 0),
                        term: term))
            }
        }
        for target in LabGateway.allCases where target != attacker {
            let sent = try await lab.run(
                in: lab.namespace(attacker),
                [
                    LabEnvironment.python, "-c", LabScripts.datagramSender, attacker.overlayAddress,
                    target.overlayAddress,
                    "51821",
                ] + payloads)
            #expect(sent.standardOutput.contains("sent \(payloads.count)"), "\(sent)")
        }
        // Give the daemons a few hello intervals to act on (or trap on) what they received.
        try await Task.sleep(for: .milliseconds(600))
        for gateway in LabGateway.allCases {
            #expect(lab.isRunning(gateway), "\(gateway) died after the hostile hellos:\n\(lab.logTail(gateway))")
        }
        let after = try await lab.waitSettled()
        #expect(after == before, "the hostile hellos moved a primary: \(before) → \(after)")
        let ping = try await lab.run(
            in: lab.hostNamespace(.fsn1),
            ["ping", "-n", "-c", "10", "-i", "0.05", "-W", "1", LabRegion.nyc1.hostAddress], check: false)
        #expect(ping.standardOutput.contains(" 0% packet loss"), "host-fsn1 → host-nyc1 after the attack: \(ping)")
    }
}
