// Gateways behind NAT (issue 13), in scripts/nat-lab.sh: gw-ams1 on the internet; gw-nyc1 and gw-fsn1 each
// behind an nftables masquerade router, with no endpoint in the shared peer list. Both join by initiating
// to gw-ams1, which learns their addresses by roaming. Between them there is no configured path at all:
// with UDP between the two NAT routers blocked, LAN-to-LAN traffic must go through gw-ams1; unblocked,
// gw-ams1's links messages tell each where it sees the other, both send at once through both NATs, and
// traffic moves to the direct path.

import Foundation
import MeshgateTestSupport
import Testing

@Suite("gateways behind NAT: relayed first, then direct", .serialized, .tags(.privileged), .requiresLab("nft", "wg"))
struct NATLabTests {
    static func report(_ text: String) { print("[nat lab] \(text)") }

    struct Lab {
        let prefix: String
        let script = "\(LabEnvironment.packageRoot)/scripts/nat-lab.sh"
        let meshgate: String

        func run(_ arguments: String...) async throws -> CommandResult {
            try await Command.run(
                [script] + arguments.prefix(1) + [prefix] + arguments.dropFirst(), timeout: .seconds(60))
        }

        func peers(_ gateway: String) async throws -> [PeerStatus] {
            let result = try await Command.run(
                [meshgate, "peers", "--json", "--socket", "/run/\(prefix)/gw-\(gateway)/control.sock"], check: false)
            struct Reply: Decodable { let peers: [PeerStatus]? }
            return (try? JSONDecoder().decode(Reply.self, from: Data(result.standardOutput.utf8)).peers ?? []) ?? []
        }

        /// One ping from `from`'s LAN host to `to`'s, 1 s to answer.
        func ping(_ from: String, _ to: String) async throws -> Bool {
            let address = ["ams1": "10.30.10.100", "nyc1": "10.10.10.100", "fsn1": "10.20.10.100"][to]!
            return try await Command.run(
                ["ip", "netns", "exec", "\(prefix)-host-\(from)", "ping", "-c", "1", "-W", "1", address], check: false
            ).succeeded
        }
    }

    @Test("two gateways behind NAT reach each other through a third, then directly")
    func relayThenDirect() async throws {
        try await GatewayLab.withExclusiveMachine {
            let binaries = try GatewayLab.binaries()
            let lab = Lab(
                prefix: "mgt-nat" + String(format: "%04x", UInt16.random(in: 0...UInt16.max)),
                meshgate: binaries.meshgate)
            defer { _ = Command.runBlocking([lab.script, "down", lab.prefix], timeout: .seconds(60)) }
            _ = try await Command.run(
                [lab.script, "up", lab.prefix], environment: ["MESHGATED": binaries.meshgated], timeout: .seconds(60))
            _ = try await lab.run("block")
            let clock = ContinuousClock()
            let start = clock.now
            // Both joined by initiating: gw-ams1 hears them, at the addresses their NAT gave them.
            let joined = try await pollUntil(timeout: .seconds(20), interval: .milliseconds(250)) {
                let peers = try await lab.peers("ams1")
                return peers.filter { $0.up }.count == 2 ? peers : nil
            }
            Self.report("gw-ams1 sees: \(joined?.map { "\($0.name) at \($0.endpoint ?? "-")" } ?? [])")
            #expect(joined?.allSatisfy { $0.endpoint?.hasPrefix("198.51.100.5") == true } == true, "\(joined ?? [])")

            // No direct path between the two: their traffic goes through gw-ams1.
            let relayed = try await pollUntil(timeout: .seconds(30), interval: .milliseconds(500)) {
                try await lab.ping("nyc1", "fsn1") ? true : nil
            }
            Self.report("nyc1 -> fsn1 answered after \(clock.now - start) (blocked)")
            #expect(relayed == true)
            let viaNyc = try await lab.peers("nyc1").first { $0.name == "gw-fsn1" }
            Self.report("gw-nyc1's path to gw-fsn1: \(String(describing: viaNyc))")
            #expect(viaNyc?.via == "gw-ams1")
            #expect(viaNyc?.directLink == false)
            #expect(try await lab.peers("fsn1").first { $0.name == "gw-nyc1" }?.via == "gw-ams1")

            // Unblocked: the hole punched through both NATs carries the traffic directly.
            _ = try await lab.run("unblock")
            let opened = clock.now
            let direct = try await pollUntil(timeout: .seconds(30), interval: .milliseconds(250)) {
                let peer = try await lab.peers("nyc1").first { $0.name == "gw-fsn1" }
                return peer?.directLink == true && peer?.via == nil ? peer : nil
            }
            Self.report("direct after \(clock.now - opened): \(String(describing: direct))")
            let last = try await lab.peers("nyc1").first { $0.name == "gw-fsn1" }
            #expect(direct != nil, "still \(String(describing: last))")
            #expect(direct?.endpoint?.hasPrefix("198.51.100.52") == true)
            #expect(try await lab.ping("nyc1", "fsn1"))
            #expect(try await lab.ping("fsn1", "nyc1"))

            // UDP between the two regions blocked again, under traffic: back through gw-ams1 within 1 s.
            async let pinged = Command.run(
                [
                    "ip", "netns", "exec", "\(lab.prefix)-host-nyc1", "ping", "-D", "-n", "-i", "0.01", "-w", "5",
                    "10.20.10.100",
                ],
                timeout: .seconds(15), check: false)
            try await Task.sleep(for: .seconds(1.5))
            _ = try await lab.run("block")
            let gap = Self.longestGapMilliseconds(try await pinged.standardOutput)
            Self.report("UDP between nyc1 and fsn1 blocked under traffic: longest gap \(gap) ms")
            #expect(gap < 1000)
            #expect(try await lab.peers("nyc1").first { $0.name == "gw-fsn1" }?.via == "gw-ams1")
        }
    }

    /// The longest gap between the `[seconds]` stamps of `ping -D` replies, in ms.
    static func longestGapMilliseconds(_ output: String) -> Double {
        let stamps = output.split(separator: "\n").filter { $0.contains(" bytes from ") }.compactMap { line in
            line.dropFirst().prefix { $0 != "]" }.description
        }.compactMap(Double.init)
        guard stamps.count > 1 else { return .infinity }
        return zip(stamps, stamps.dropFirst()).map { ($1 - $0) * 1000 }.max() ?? .infinity
    }
}
