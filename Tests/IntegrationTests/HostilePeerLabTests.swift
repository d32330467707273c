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
    "hostile peers in the two-region lab", .serialized, .tags(.privileged), .requiresLab("nft", "tshark", "curl"),
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
        // The refusals are counted where an operator looks (scraped within the 1 s metrics refresh).
        try await Task.sleep(for: .milliseconds(1200))
        let scrape = try await lab.run(
            in: lab.namespace(.nyc1a), ["curl", "-s", "http://127.0.0.1:9586/metrics"], check: false)
        #expect(
            scrape.standardOutput.contains("meshgate_route_messages_dropped_total{reason=\"term_out_of_range\"}"),
            "\(scrape.standardOutput.split(separator: "\n").filter { $0.contains("route_messages") })")
        let ping = try await lab.run(
            in: lab.hostNamespace(.fsn1),
            ["ping", "-n", "-c", "10", "-i", "0.05", "-W", "1", LabRegion.nyc1.hostAddress], check: false)
        #expect(ping.standardOutput.contains(" 0% packet loss"), "host-fsn1 → host-nyc1 after the attack: \(ping)")
    }

    // MARK: - Item 2: membership, own LAN, limits

    static func u64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
    static func name(_ text: String) -> [UInt8] { [UInt8(text.utf8.count)] + Array(text.utf8) }
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// A routes message: group records `(group, priority, primary, term)`, then IPv4 routes
    /// `(a, b, c, d, length, group index)`.
    static func routesHex(
        sender: String, sequence: UInt64, groups: [(String, UInt8, String, UInt64)],
        routes: [(UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)]
    ) -> String {
        var bytes: [UInt8] = [1, 2] + u64(sequence) + name(sender) + [UInt8(groups.count)]
        for (group, priority, primary, term) in groups { bytes += name(group) + [priority] + name(primary) + u64(term) }
        bytes += [UInt8(routes.count >> 8), UInt8(routes.count & 0xff)]
        for (a, b, c, d, length, index) in routes { bytes += [4, length, a, b, c, d, index] }
        return hex(bytes)
    }

    /// Above every sequence the real daemons use (their counters start at their start-up wall clock), and
    /// below what a daemon restarted after the test uses, so the attacker's real daemon recovers by restarting.
    static func currentSequence() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1e9) }

    @Test(
        "a peer outside a group cannot take its role or its subnet, cannot route into a gateway's own LAN, and cannot flood its routes"
    )
    func hijackAndFlood() async throws {
        let lab = try self.lab
        let before = try await lab.restoreBaseline()
        let nyc1Primary = try #require(before[.nyc1])
        // The fsn1 standby attacks: its own routes messages go stale at the others while its forged ones
        // count, which must not matter for fsn1's traffic (its primary advertises fsn1's subnet).
        let attacker = try #require(before[.fsn1]).partner
        let victims = LabGateway.allCases.filter { $0 != attacker }
        var sequence = Self.currentSequence()
        func next() -> UInt64 {
            sequence += 1
            return sequence
        }
        // Hellos for nyc1 claiming the role with a far higher term and priority; routes messages claiming
        // nyc1's primary and its /24 in nyc1's name, a /28 inside nyc1's LAN, 300 /28s (over the default
        // limit of 256), and one datagram of 9,300 /32s.
        // The host-route flood goes first: the newer routes message with the /28s then replaces it.
        var hosts: [(UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)] = []
        for index in 0..<9300 { hosts.append((10, 98, UInt8(index >> 8), UInt8(index & 0xff), 32, 0)) }
        let hostFlood = Self.routesHex(sender: attacker.name, sequence: next(), groups: [], routes: hosts)
        var many: [(UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)] = [(10, 10, 10, 192, 28, 0), (10, 10, 10, 0, 24, 1)]
        for index in 0..<300 { many.append((10, 99, UInt8(index / 16), UInt8((index % 16) * 16), 28, 0)) }
        let claims = Self.routesHex(
            sender: attacker.name, sequence: next(), groups: [("nyc1", 255, attacker.name, 1_000)], routes: many)
        for round in 0..<10 {
            // Hellos keep claiming nyc1 for a second, so a member that believed them would have acted.
            let hello = Self.helloHex(sender: attacker.name, group: "nyc1", sequence: next(), term: 1_000)
            for target in victims {
                let sent = try await lab.run(
                    in: lab.namespace(attacker),
                    [
                        LabEnvironment.python, "-c", LabScripts.datagramSender, attacker.overlayAddress,
                        target.overlayAddress, "51821",
                    ] + (round == 0 ? [hostFlood, claims, hello] : [hello]))
                #expect(sent.succeeded, "\(sent)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .milliseconds(500))

        let logs = victims.map { "\($0):\n\(lab.logTail($0, lines: 15))" }.joined(separator: "\n")
        // The nyc1 primary kept its role and its VIP.
        #expect(try await lab.status(nyc1Primary).isPrimary, "\(nyc1Primary) yielded to a non-member:\n\(logs)")
        #expect(try await lab.virtualIPHolders(.nyc1) == [nyc1Primary])
        for victim in victims {
            let routes = try await lab.meshgateRoutes(victim)
            let destinations = routes.map(\.dst)
            // Never a learned route into a gateway's own LAN, nor into nyc1's subnet from the attacker.
            if victim.region == .nyc1 {
                #expect(!destinations.contains("10.10.10.192/28"), "\(victim): \(routes)")
                #expect(!destinations.contains("10.10.10.0/24"), "\(victim): \(routes)")
            } else {
                // Nor a more-specific route inside nyc1's subnet from outside nyc1.
                let kernel = try await lab.kernelRoutes(victim)
                let nyc1 = kernel.filter { $0.dst == "10.10.10.0/24" }
                #expect(nyc1.count == 1, "\(victim): \(nyc1)")
                #expect(!destinations.contains("10.10.10.192/28"), "\(victim): \(routes)")
            }
            #expect(!destinations.contains { $0.hasPrefix("10.98.") }, "\(victim) installed host routes")
            let flood = destinations.filter { $0.hasPrefix("10.99.") }
            // At most the limit of 256 from one peer (the /28 inside nyc1 counted towards it where it passed
            // the policy and was refused later, as inside another group's subnet).
            #expect(
                flood.count == (victim.region == .nyc1 ? 256 : 255),
                "\(victim): \(flood.count) routes from one peer (limit 256)\n\(logs)")
        }
        // LAN-to-LAN traffic still flows both ways.
        let ping = try await lab.run(
            in: lab.hostNamespace(.fsn1),
            ["ping", "-n", "-c", "10", "-i", "0.05", "-W", "1", LabRegion.nyc1.hostAddress], check: false)
        #expect(ping.standardOutput.contains(" 0% packet loss"), "host-fsn1 → host-nyc1 during the attack: \(ping)")

        // The attacker's real daemon restarts with a newer counter; the lab heals.
        try await lab.stop(attacker)
        try await Task.sleep(for: .milliseconds(50))
        _ = try await lab.restoreBaseline()
    }

    // MARK: - Item 3: descriptor floods

    @Test("1,100 idle connections to /metrics leave status, wg show and a failover drill working, with no false alarm")
    func metricsConnectionFlood() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let victim = try #require(primaries[.nyc1])
        let flood = try lab.startHelper(
            in: lab.namespace(victim),
            [
                LabEnvironment.python, "-c",
                """
                import resource, socket, sys, time
                resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
                held = []
                for _ in range(1100):
                    s = socket.socket()
                    s.settimeout(2)
                    try:
                        s.connect(("127.0.0.1", 9586))
                        held.append(s)
                    except OSError:
                        s.close()
                print("open", len(held), flush=True)
                time.sleep(8)
                """,
            ])
        #expect(await flood.waitForOutput(containing: "open", timeout: .seconds(30)), "\(flood.result)")
        let status = try await lab.meshgateCommand(victim, ["status", "--json"], timeout: .seconds(5))
        #expect(status.succeeded, "meshgate status during the flood: \(status)")
        let wg = try await lab.run(
            in: lab.namespace(victim), ["wg", "show", lab.interfaceName(victim)], timeout: .seconds(5), check: false)
        #expect(wg.succeeded, "wg show during the flood: \(wg)")
        let drill = try await lab.meshgateCommand(victim, ["drill", "failover", "--group", "nyc1", "--json"])
        #expect(drill.succeeded, "failover drill during the flood: \(drill)")
        await flood.waitForExit(timeout: .seconds(20))
        let log = lab.logTail(victim, lines: 2000)
        #expect(!log.contains("switched OFF"), "false forwarding alarm during the flood")
        #expect(!log.contains("Too many open files"), "descriptors ran out during the flood")
    }
}
