import NetworkTypes
import Routing
import Testing

@Suite("RouteTable")
struct RouteTableTests {
    /// The gateways these tests use are declared members of the groups they advertise in.
    static let members = RoutePolicy(groupOf: ["gw-a": "nyc1", "gw-b": "nyc1", "gw-c": "fsn1"])

    static func routes(
        _ sender: String, _ sequence: UInt64, _ prefixes: [String], group: String? = nil
    ) -> Advertisement.Routes {
        .init(
            sender: sender, sequence: sequence,
            groups: group.map { [.init(group: $0, priority: 100, primary: nil, term: 0)] } ?? [],
            routes: prefixes.map { .init(prefix: prefix($0), group: group) })
    }

    @Test("a routes message adds, and the next full list removes and regroups")
    func updateDiffs() {
        var table = RouteTable(expiry: .seconds(15), policy: Self.members)
        #expect(
            table.update(from: "gw-a", routes: Self.routes("gw-a", 1, ["10.1.0.0/16", "10.2.0.0/16"]), now: at(ms: 0))
                == [
                    .added(prefix("10.1.0.0/16"), gateway: "gw-a", group: nil),
                    .added(prefix("10.2.0.0/16"), gateway: "gw-a", group: nil),
                ])
        let next = table.update(
            from: "gw-a", routes: Self.routes("gw-a", 2, ["10.2.0.0/16", "10.3.0.0/16"], group: "nyc1"),
            now: at(ms: 100))
        #expect(
            next == [
                .removed(prefix("10.1.0.0/16"), gateway: "gw-a", reason: .notAdvertised),
                .regrouped(prefix("10.2.0.0/16"), gateway: "gw-a", from: nil, to: "nyc1"),
                .added(prefix("10.3.0.0/16"), gateway: "gw-a", group: "nyc1"),
            ])
        #expect(table.prefixes == [prefix("10.2.0.0/16"), prefix("10.3.0.0/16")])
        #expect(table.entries["gw-a"]?.expiresAt == at(ms: 15_100))
    }

    @Test("an older or repeated sequence is ignored, so reordering cannot resurrect routes")
    func staleSequence() {
        var table = RouteTable(policy: Self.members)
        _ = table.update(from: "gw-a", routes: Self.routes("gw-a", 5, ["10.1.0.0/16"]), now: at(ms: 0))
        #expect(
            table.update(from: "gw-a", routes: Self.routes("gw-a", 4, []), now: at(ms: 1))
                == [.staleIgnored(gateway: "gw-a", sequence: 4)])
        #expect(
            table.withdraw(from: "gw-a", message: .init(sender: "gw-a", sequence: 5), now: at(ms: 2))
                == [.staleIgnored(gateway: "gw-a", sequence: 5)])
        #expect(table.prefixes == [prefix("10.1.0.0/16")])
        _ = table.withdraw(from: "gw-a", message: .init(sender: "gw-a", sequence: 6), now: at(ms: 3))
        #expect(
            table.update(from: "gw-a", routes: Self.routes("gw-a", 5, ["10.1.0.0/16"]), now: at(ms: 4))
                == [.staleIgnored(gateway: "gw-a", sequence: 5)])
        #expect(table.prefixes.isEmpty)
    }

    @Test("a message naming another sender is ignored")
    func senderMismatch() {
        var table = RouteTable(policy: Self.members)
        #expect(
            table.update(from: "gw-a", routes: Self.routes("gw-b", 1, ["10.1.0.0/16"]), now: at(ms: 0))
                == [.senderMismatch(gateway: "gw-a", claimed: "gw-b")])
        #expect(
            table.apply(.withdraw(.init(sender: "gw-b", sequence: 1)), from: "gw-a", now: at(ms: 0))
                == [.senderMismatch(gateway: "gw-a", claimed: "gw-b")])
        #expect(table.entries.isEmpty)
    }

    @Test("withdraw removes every route of the gateway at once")
    func withdraw() {
        var table = RouteTable(policy: Self.members)
        _ = table.apply(.routes(Self.routes("gw-a", 1, ["10.1.0.0/16", "10.2.0.0/16"])), from: "gw-a", now: at(ms: 0))
        #expect(
            table.apply(.withdraw(.init(sender: "gw-a", sequence: 2)), from: "gw-a", now: at(ms: 1))
                == [
                    .removed(prefix("10.1.0.0/16"), gateway: "gw-a", reason: .withdrawn),
                    .removed(prefix("10.2.0.0/16"), gateway: "gw-a", reason: .withdrawn),
                ])
        #expect(table.entries.isEmpty)
        #expect(table.withdraw(gateway: "gw-a").isEmpty)
    }

    @Test("a silent gateway's routes expire after route expiry, and not before")
    func expiry() {
        var table = RouteTable(expiry: .seconds(15), policy: Self.members)
        _ = table.update(from: "gw-a", routes: Self.routes("gw-a", 1, ["10.1.0.0/16"]), now: at(ms: 0))
        _ = table.update(from: "gw-b", routes: Self.routes("gw-b", 1, ["10.2.0.0/16"]), now: at(ms: 5000))
        #expect(table.nextExpiry == at(ms: 15_000))
        #expect(table.expire(now: at(ms: 14_999)).isEmpty)
        #expect(
            table.expire(now: at(ms: 15_000)) == [.removed(prefix("10.1.0.0/16"), gateway: "gw-a", reason: .expired)])
        #expect(table.nextExpiry == at(ms: 20_000))
        // After expiry a restarted gateway's low sequence is accepted again.
        #expect(
            table.update(from: "gw-a", routes: Self.routes("gw-a", 0, ["10.1.0.0/16"]), now: at(ms: 15_001))
                == [.added(prefix("10.1.0.0/16"), gateway: "gw-a", group: nil)])
    }

    @Test("the same prefix from gateways outside one HA group is a conflict won by the lowest name")
    func conflict() {
        var table = RouteTable(policy: Self.members)
        _ = table.update(from: "gw-b", routes: Self.routes("gw-b", 1, ["10.1.0.0/16"]), now: at(ms: 0))
        let detected = table.update(from: "gw-a", routes: Self.routes("gw-a", 1, ["10.1.0.0/16"]), now: at(ms: 1))
        let conflict = RouteConflict(prefix: prefix("10.1.0.0/16"), gateways: ["gw-a", "gw-b"], winner: "gw-a")
        #expect(detected == [.added(prefix("10.1.0.0/16"), gateway: "gw-a", group: nil), .conflictDetected(conflict)])
        #expect(table.conflicts == [conflict])
        #expect(conflict.description.contains("else gw-a, the lowest name"))
        let resolved = table.withdraw(gateway: "gw-a")
        #expect(resolved.last == .conflictResolved(prefix("10.1.0.0/16")))
        #expect(table.conflicts.isEmpty)
    }

    @Test("members of one HA group advertising the same prefix are not a conflict")
    func haGroupIsNotConflict() {
        var table = RouteTable(policy: Self.members)
        _ = table.update(from: "gw-a", routes: Self.routes("gw-a", 1, ["10.1.0.0/16"], group: "nyc1"), now: at(ms: 0))
        let changes = table.update(
            from: "gw-b", routes: Self.routes("gw-b", 1, ["10.1.0.0/16"], group: "nyc1"), now: at(ms: 0))
        #expect(changes == [.added(prefix("10.1.0.0/16"), gateway: "gw-b", group: "nyc1")])
        #expect(table.conflicts.isEmpty)
        #expect(table.advertisers(of: prefix("10.1.0.0/16")).map(\.gateway) == ["gw-a", "gw-b"])
    }

    @Test("the policy refuses public prefixes and prefixes covering protected addresses, reporting each once")
    func policy() throws {
        let endpoint = try #require(IPAddress("10.9.0.7"))
        var table = RouteTable(policy: RoutePolicy(protectedAddresses: [endpoint]))
        let message = Self.routes("gw-a", 1, ["198.51.100.0/24", "10.9.0.0/16", "10.1.0.0/16"])
        let first = table.update(from: "gw-a", routes: message, now: at(ms: 0))
        #expect(first.count == 3)
        guard case .rejected(let publicPrefix, "gw-a", let reason) = first[0] else {
            Issue.record("expected a rejection, got \(first)")
            return
        }
        #expect(publicPrefix == prefix("198.51.100.0/24"))
        #expect(reason.contains("allow_public_subnets"))
        guard case .rejected(let loopPrefix, "gw-a", let loopReason) = first[1] else {
            Issue.record("expected a rejection, got \(first)")
            return
        }
        #expect(loopPrefix == prefix("10.9.0.0/16"))
        #expect(loopReason.contains("10.9.0.7"))
        #expect(first[2] == .added(prefix("10.1.0.0/16"), gateway: "gw-a", group: nil))
        var again = message
        again.sequence = 2
        #expect(table.update(from: "gw-a", routes: again, now: at(ms: 1)).isEmpty)
        #expect(table.prefixes == [prefix("10.1.0.0/16")])
    }

    @Test("the policy lets public prefixes through when allowed, and the partner's LAN past protected addresses")
    func policyExceptions() throws {
        let endpoint = try #require(IPAddress("10.10.10.3"))
        let policy = RoutePolicy(
            allowPublicSubnets: true, protectedAddresses: [endpoint], localSubnets: [prefix("10.10.10.0/24")],
            localGroup: "nyc1", groupOf: ["gw-b": "nyc1"])
        #expect(policy.violation(for: prefix("198.51.100.0/24")) == nil)
        #expect(policy.violation(for: prefix("10.10.10.0/24"), from: "gw-b") == nil)
        #expect(policy.violation(for: prefix("10.10.0.0/16")) != nil)
        #expect(RoutePolicy().violation(for: prefix("0.0.0.0/0")) != nil)
        #expect(RoutePolicy().violation(for: prefix("fd00:1::/48")) == nil)
    }
}
