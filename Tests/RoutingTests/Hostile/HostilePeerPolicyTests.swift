import NetworkTypes
import Routing
import Testing

/// Regressions for issue 8, item 2: hellos and group records from a gateway outside region-b made its
/// primary yield; a peer's /24 in region-b's name took its traffic; a /32 inside region-b's own LAN was
/// installed on region-b's own gateway; one datagram of 9,300 /32s became 9,300 routes.
@Suite("Hostile peers: group membership, own LAN and limits")
struct HostilePeerPolicyTests {
    /// The view of gw-nyc1-a: its partner gw-nyc1-b, the fsn1 pair declared in group fsn1.
    static let policy = RoutePolicy(
        localSubnets: [prefix("10.10.10.0/24")], localGroup: "nyc1",
        groupOf: ["gw-nyc1-a": "nyc1", "gw-nyc1-b": "nyc1", "gw-fsn1-a": "fsn1", "gw-fsn1-b": "fsn1"],
        maxRoutesPerGateway: 4, maxPrefixLengthIPv4: 28, maxPrefixLengthIPv6: 64)

    /// nyc1's primary advertising nyc1's subnet in the group, as a member.
    static let nyc1Owner = Advertisement.Routes(
        sender: "gw-nyc1-a", sequence: 1,
        groups: [.init(group: "nyc1", priority: 100, primary: "gw-nyc1-a", term: 2)],
        routes: [.init(prefix: prefix("10.10.10.0/24"), group: "nyc1")])

    static func routes(
        _ sender: String, sequence: UInt64 = 1, _ prefixes: [String], group: String? = nil,
        records: [Advertisement.GroupStatus] = []
    ) -> Advertisement.Routes {
        .init(
            sender: sender, sequence: sequence, groups: records,
            routes: prefixes.map { .init(prefix: prefix($0), group: group) })
    }

    @Test("a primary claim from a gateway outside the group does not make the primary yield")
    func nonMemberHelloIgnored() {
        let configuration = PrimaryElection.Configuration(
            name: "gw-nyc1-a", group: "nyc1", members: ["gw-nyc1-a", "gw-nyc1-b"], priority: 100)
        var election = PrimaryElection(configuration: configuration, now: at(ms: 0))
        #expect(election.tick(now: at(ms: 400))?.to == .primary)
        let hostile = Advertisement.Hello(
            sender: "gw-fsn1-a", sequence: 1, group: "nyc1", priority: 255, role: .primary, term: 1000,
            lanHealthy: true, held: false)
        #expect(election.receivedHello(hostile, now: at(ms: 401)) == nil)
        #expect(election.role == .primary)
        #expect(election.members(now: at(ms: 401)).map(\.name) == ["gw-nyc1-a"])
    }

    @Test("a member removed from the group on reload stops counting at once")
    func memberRemovedOnReload() {
        let configuration = PrimaryElection.Configuration(
            name: "gw-nyc1-b", group: "nyc1", members: ["gw-nyc1-a", "gw-nyc1-b"], priority: 100)
        var election = PrimaryElection(configuration: configuration, now: at(ms: 0))
        let primary = Advertisement.Hello(
            sender: "gw-nyc1-a", sequence: 1, group: "nyc1", priority: 200, role: .primary, term: 3,
            lanHealthy: true, held: false)
        _ = election.receivedHello(primary, now: at(ms: 10))
        #expect(election.currentPrimary(now: at(ms: 10))?.gateway == "gw-nyc1-a")
        election.configuration.members = ["gw-nyc1-b"]
        #expect(election.tick(now: at(ms: 20))?.to == .primary)
    }

    @Test("group records and group-tagged routes count only from declared members")
    func groupClaimsFromNonMembers() {
        var table = RouteTable(policy: Self.policy)
        let claim = Advertisement.GroupStatus(group: "nyc1", priority: 255, primary: "gw-fsn1-a", term: 1000)
        let changes = table.update(
            from: "gw-fsn1-a",
            routes: Self.routes("gw-fsn1-a", ["10.30.0.0/24"], group: "nyc1", records: [claim]), now: at(ms: 0))
        #expect(
            changes == [
                .rejected(
                    prefix("10.30.0.0/24"), gateway: "gw-fsn1-a",
                    reason: "gw-fsn1-a advertises 10.30.0.0/24 in group nyc1 but is not a declared member of it")
            ])
        #expect(table.roleReports(now: at(ms: 1)).isEmpty)
        #expect(table.entries["gw-fsn1-a"]?.groups == [])
    }

    @Test("a remote gateway's claim on another group's subnet does not take its next hop")
    func hijackOfRemoteSubnet() {
        var table = RouteTable(policy: RoutePolicy(groupOf: ["gw-nyc1-a": "nyc1", "gw-fsn1-a": "fsn1"]))
        let owner = Self.nyc1Owner
        let hijack = Advertisement.Routes(
            sender: "gw-fsn1-a", sequence: 1,
            groups: [.init(group: "nyc1", priority: 255, primary: "gw-fsn1-a", term: 99)],
            routes: [.init(prefix: prefix("10.10.10.0/24"), group: "nyc1")])
        _ = table.update(from: "gw-nyc1-a", routes: owner, now: at(ms: 0))
        _ = table.update(from: "gw-fsn1-a", routes: hijack, now: at(ms: 1))
        let desired = DesiredRoutes(table: table, now: at(ms: 2))
        #expect(desired.nextHops[prefix("10.10.10.0/24")] == "gw-nyc1-a")
    }

    @Test(
        "a learned prefix that overlaps our own LAN is refused, from any gateway but the partner's exact LAN",
        arguments: [
            ("gw-fsn1-a", "10.10.10.192/28", false), ("gw-fsn1-a", "10.10.0.0/16", false),
            ("gw-fsn1-a", "10.10.10.0/24", false), ("gw-nyc1-b", "10.10.10.192/28", false),
            ("gw-nyc1-b", "10.10.10.0/24", true), ("gw-fsn1-a", "10.20.10.0/24", true),
        ])
    func ownLAN(sender: String, text: String, accepted: Bool) {
        let violation = Self.policy.violation(for: prefix(text), from: sender, group: nil)
        #expect((violation == nil) == accepted, "\(sender) \(text): \(violation ?? "accepted")")
        if let violation, text.hasPrefix("10.10.") {
            #expect(violation.contains("own LAN subnet 10.10.10.0/24"))
        }
    }

    @Test("prefixes longer than the limit are refused, naming the key")
    func prefixLength() {
        #expect(Self.policy.violation(for: prefix("10.40.0.16/28")) == nil)
        #expect(
            Self.policy.violation(for: prefix("10.40.0.1/32"))
                == "10.40.0.1/32 is longer than /28 (limits.max_prefix_length_ipv4)")
        #expect(Self.policy.violation(for: prefix("fd00:1:2:3:4::/80"))?.contains("max_prefix_length_ipv6") == true)
    }

    @Test("one gateway gets at most the limit of routes, the first ones in message order, reported once")
    func routeCount() {
        var table = RouteTable(policy: Self.policy)
        let many = (0..<10).map { "10.50.\($0).0/24" }
        let first = table.update(from: "gw-fsn1-a", routes: Self.routes("gw-fsn1-a", sequence: 1, many), now: at(ms: 0))
        #expect(first.contains(.limitExceeded(gateway: "gw-fsn1-a", advertised: 10, limit: 4)))
        #expect(table.prefixes == many.prefix(4).map(prefix).sorted())
        let again = table.update(from: "gw-fsn1-a", routes: Self.routes("gw-fsn1-a", sequence: 2, many), now: at(ms: 1))
        #expect(again.isEmpty)
    }

    @Test("9,300 host routes in one message install nothing")
    func hostRouteFlood() {
        var table = RouteTable(policy: RoutePolicy(groupOf: [:]))
        let flood = (0..<9300).map { index -> Advertisement.Route in
            .init(prefix: IPPrefix(address: .v4(IPv4Address(value: 0x0A63_0000 | UInt32(index))), length: 32)!)
        }
        _ = table.update(
            from: "gw-fsn1-a", routes: .init(sender: "gw-fsn1-a", sequence: 1, routes: flood), now: at(ms: 0))
        #expect(table.prefixes.isEmpty)
    }

    @Test("a more-specific prefix inside a group's subnet from outside the group is refused, not routed")
    func moreSpecificInsideGroup() {
        var table = RouteTable(policy: RoutePolicy(groupOf: ["gw-nyc1-a": "nyc1", "gw-fsn1-a": "fsn1"]))
        let owner = Self.nyc1Owner
        _ = table.update(from: "gw-nyc1-a", routes: owner, now: at(ms: 0))
        _ = table.update(
            from: "gw-fsn1-a", routes: Self.routes("gw-fsn1-a", ["10.10.10.192/28", "10.30.0.0/24"]), now: at(ms: 1))
        let desired = DesiredRoutes(table: table, now: at(ms: 2))
        #expect(desired.nextHops == [prefix("10.10.10.0/24"): "gw-nyc1-a", prefix("10.30.0.0/24"): "gw-fsn1-a"])
        #expect(desired.refusedInsideGroups == [prefix("10.10.10.192/28")])
    }
}
