import NetworkTypes
import Routing
import Testing

@Suite("DesiredRoutes and PrimaryView")
struct DesiredRoutesTests {
    static let lan = prefix("10.10.10.0/24")

    /// A routes message from an HA member: its LAN in group nyc1, with its role claim.
    static func member(
        _ name: String, sequence: UInt64, priority: UInt8, primary: String?, term: UInt64
    ) -> Advertisement.Routes {
        .init(
            sender: name, sequence: sequence,
            groups: [.init(group: "nyc1", priority: priority, primary: primary, term: term)],
            routes: [.init(prefix: lan, group: "nyc1")])
    }

    /// gw-a, gw-b and gw-c are declared members of nyc1, as the shared peer list would say.
    static let policy = RoutePolicy(groupOf: ["gw-a": "nyc1", "gw-b": "nyc1", "gw-c": "nyc1"])

    static func table(_ messages: [Advertisement.Routes], now: Timestamp = at(ms: 0)) -> RouteTable {
        var table = RouteTable(expiry: .seconds(15), policy: Self.policy)
        for message in messages { _ = table.update(from: message.sender, routes: message, now: now) }
        return table
    }

    @Test("every gateway picks the same primary given the same hellos and adverts")
    func agreement() {
        // gw-a was primary in term 1 and died; gw-b took over in term 2. A remote (gw-fsn) only has the
        // adverts; gw-b also has its election's reports; all must agree on gw-b.
        let adverts = [
            Self.member("gw-a", sequence: 10, priority: 200, primary: "gw-a", term: 1),
            Self.member("gw-b", sequence: 20, priority: 100, primary: "gw-b", term: 2),
            .init(sender: "gw-fsn", sequence: 1, routes: [.init(prefix: prefix("10.20.10.0/24"))]),
        ]
        let remote = DesiredRoutes(table: Self.table(adverts), now: at(ms: 1))
        let electionReports = [
            RoleReport(gateway: "gw-b", group: "nyc1", role: .primary, term: 2, priority: 100, sequence: .max)
        ]
        let member = DesiredRoutes(table: Self.table(adverts), now: at(ms: 1), reports: electionReports)
        #expect(remote.nextHops == [Self.lan: "gw-b", prefix("10.20.10.0/24"): "gw-fsn"])
        #expect(member.nextHops == remote.nextHops)
        #expect(remote.withoutPrimary.isEmpty)
        #expect(remote.conflicts.isEmpty)
    }

    @Test("a contested prefix stays with the group that carried it, even while the group has no primary")
    func incumbentGroupKeepsContestedPrefix() {
        // gw-0 (lone) also advertises nyc1's LAN; its name sorts first, so without history it would win.
        let hijack = Advertisement.Routes(sender: "gw-0", sequence: 1, routes: [.init(prefix: Self.lan)])
        let standby = Self.member("gw-b", sequence: 5, priority: 100, primary: nil, term: 1)
        let fresh = DesiredRoutes(table: Self.table([hijack, standby]), now: at(ms: 1))
        #expect(fresh.nextHops[Self.lan] == "gw-0", "no history: the lowest name")
        // The same adverts after nyc1 carried the prefix (its primary gw-a just vanished): nobody in nyc1
        // claims yet, and the prefix waits for the group instead of going to gw-0.
        let remembered = DesiredRoutes(
            table: Self.table([hijack, standby]), now: at(ms: 1), previous: [Self.lan: "gw-a"],
            previousUnits: [Self.lan: "group:nyc1"])
        #expect(remembered.nextHops[Self.lan] == nil)
        #expect(remembered.withoutPrimary == [Self.lan])
        #expect(remembered.units[Self.lan] == "group:nyc1")
        #expect(remembered.conflicts.map(\.prefix) == [Self.lan])
    }

    @Test("the result does not depend on the order messages arrived in")
    func orderIndependent() {
        var generator = SeededGenerator(seed: 7)
        let adverts = [
            Self.member("gw-a", sequence: 1, priority: 100, primary: "gw-a", term: 3),
            Self.member("gw-b", sequence: 1, priority: 100, primary: "gw-b", term: 3),
            Self.member("gw-c", sequence: 1, priority: 90, primary: "gw-c", term: 3),
        ]
        for _ in 0..<20 {
            let result = DesiredRoutes(table: Self.table(adverts.shuffled(using: &generator)), now: at(ms: 1))
            // Equal terms: higher priority, then the lower name.
            #expect(result.nextHops == [Self.lan: "gw-a"])
        }
    }

    @Test("a newer hello overrides an older advert of the same gateway")
    func newerReportWins() {
        let table = Self.table([
            Self.member("gw-a", sequence: 10, priority: 200, primary: "gw-a", term: 1),
            Self.member("gw-b", sequence: 10, priority: 100, primary: "gw-a", term: 1),
        ])
        // gw-a stepped down (hello 11 says standby) and gw-b claimed term 2 (hello 12).
        let hellos = [
            RoleReport(gateway: "gw-a", group: "nyc1", role: .standby, term: 1, priority: 200, sequence: 11),
            RoleReport(gateway: "gw-b", group: "nyc1", role: .primary, term: 2, priority: 100, sequence: 12),
        ]
        #expect(DesiredRoutes(table: table, now: at(ms: 1), reports: hellos).nextHops == [Self.lan: "gw-b"])
        // An older hello does not override the advert.
        let stale = [RoleReport(gateway: "gw-a", group: "nyc1", role: .standby, term: 1, priority: 200, sequence: 9)]
        #expect(DesiredRoutes(table: table, now: at(ms: 1), reports: stale).nextHops == [Self.lan: "gw-a"])
    }

    @Test("a grouped subnet without a claimant is reported and keeps its previous next hop")
    func withoutPrimary() {
        let table = Self.table([
            Self.member("gw-a", sequence: 1, priority: 200, primary: nil, term: 1),
            Self.member("gw-b", sequence: 1, priority: 100, primary: nil, term: 1),
        ])
        let fresh = DesiredRoutes(table: table, now: at(ms: 1))
        #expect(fresh.nextHops.isEmpty)
        #expect(fresh.withoutPrimary == [Self.lan])
        let kept = DesiredRoutes(table: table, now: at(ms: 1), previous: [Self.lan: "gw-a"])
        #expect(kept.nextHops == [Self.lan: "gw-a"])
        #expect(kept.withoutPrimary == [Self.lan])
        // A previous next hop that no longer advertises the subnet is not kept.
        let gone = DesiredRoutes(table: table, now: at(ms: 1), previous: [Self.lan: "gw-z"])
        #expect(gone.nextHops.isEmpty)
    }

    @Test("expired adverts are ignored even before expire(now:) runs")
    func expiredIgnored() {
        var table = Self.table([Self.member("gw-a", sequence: 1, priority: 200, primary: "gw-a", term: 1)])
        _ = table.update(
            from: "gw-b", routes: Self.member("gw-b", sequence: 1, priority: 100, primary: "gw-b", term: 1),
            now: at(ms: 10_000))
        #expect(DesiredRoutes(table: table, now: at(ms: 14_999)).nextHops == [Self.lan: "gw-a"])
        #expect(DesiredRoutes(table: table, now: at(ms: 15_000)).nextHops == [Self.lan: "gw-b"])
    }

    @Test("a claimant that does not advertise the subnet is not its next hop")
    func claimantMustAdvertise() {
        let table = Self.table([
            Self.member("gw-a", sequence: 1, priority: 200, primary: nil, term: 1),
            .init(
                sender: "gw-b", sequence: 1,
                groups: [.init(group: "nyc1", priority: 100, primary: "gw-b", term: 2)],
                routes: [.init(prefix: prefix("10.99.0.0/16"), group: "nyc1")]),
        ])
        let result = DesiredRoutes(table: table, now: at(ms: 1))
        #expect(result.nextHops[Self.lan] == nil)
        #expect(result.nextHops[prefix("10.99.0.0/16")] == "gw-b")
        #expect(result.withoutPrimary == [Self.lan])
    }

    @Test("a conflict between a group and a lone gateway is reported and the lowest name's unit wins")
    func conflictResolution() {
        let table = Self.table([
            Self.member("gw-b", sequence: 1, priority: 200, primary: nil, term: 1),
            Self.member("gw-c", sequence: 1, priority: 100, primary: "gw-c", term: 1),
            .init(sender: "gw-z", sequence: 1, routes: [.init(prefix: Self.lan)]),
        ])
        let result = DesiredRoutes(table: table, now: at(ms: 1))
        // gw-b is the lowest name; its unit is group nyc1, whose primary is gw-c.
        #expect(result.nextHops == [Self.lan: "gw-c"])
        #expect(
            result.conflicts == [RouteConflict(prefix: Self.lan, gateways: ["gw-b", "gw-c", "gw-z"], winner: "gw-b")])
        let lone = Self.table([
            .init(sender: "gw-a", sequence: 1, routes: [.init(prefix: Self.lan)]),
            Self.member("gw-b", sequence: 1, priority: 200, primary: "gw-b", term: 1),
        ])
        #expect(DesiredRoutes(table: lone, now: at(ms: 1)).nextHops == [Self.lan: "gw-a"])
    }

    @Test("PrimaryView keeps the newest report per gateway and the highest claim per group")
    func primaryView() {
        let view = PrimaryView(reports: [
            RoleReport(gateway: "gw-a", group: "nyc1", role: .primary, term: 1, priority: 200, sequence: 1),
            RoleReport(gateway: "gw-a", group: "nyc1", role: .standby, term: 2, priority: 200, sequence: 2),
            RoleReport(gateway: "gw-b", group: "nyc1", role: .primary, term: 2, priority: 100, sequence: 1),
            RoleReport(gateway: "gw-x", group: "fsn1", role: .primary, term: 9, priority: 1, sequence: 1),
        ])
        #expect(view.reports.count == 3)
        #expect(view.primary(of: "nyc1")?.gateway == "gw-b")
        #expect(view.primary(of: "nyc1", among: ["gw-a"]) == nil)
        #expect(view.primaries.mapValues(\.gateway) == ["nyc1": "gw-b", "fsn1": "gw-x"])
    }

    @Test("the claim order is term, then priority, then the lower name")
    func claimOrder() {
        func report(_ name: String, term: UInt64, priority: UInt8) -> RoleReport {
            RoleReport(gateway: name, group: "g", role: .primary, term: term, priority: priority, sequence: 0)
        }
        #expect(report("gw-z", term: 2, priority: 1).outranks(report("gw-a", term: 1, priority: 255)))
        #expect(report("gw-z", term: 1, priority: 2).outranks(report("gw-a", term: 1, priority: 1)))
        #expect(report("gw-a", term: 1, priority: 1).outranks(report("gw-b", term: 1, priority: 1)))
        #expect(!report("gw-a", term: 1, priority: 1).outranks(report("gw-a", term: 1, priority: 1)))
    }

    @Test("an election and a route table produce the same next hops on both members and a remote")
    func endToEnd() {
        // Members gw-a (200) and gw-b (100) elect; each sends routes messages carrying its election
        // state; every gateway computes the same next hop, before and after a failover.
        var harness = ElectionHarness([.member("gw-a", priority: 200), .member("gw-b", priority: 100)])
        harness.run(for: .seconds(1))
        func advert(_ name: String, _ sequence: UInt64) -> Advertisement.Routes? {
            guard let election = harness.election(name) else { return nil }
            let primary = election.currentPrimary(now: harness.now)
            return .init(
                sender: name, sequence: sequence,
                groups: [
                    .init(
                        group: "nyc1", priority: election.configuration.priority, primary: primary?.gateway,
                        term: primary?.term ?? election.term)
                ],
                routes: [.init(prefix: Self.lan, group: "nyc1")])
        }
        func hops(_ messages: [Advertisement.Routes], reports: [RoleReport]) -> [IPPrefix: String] {
            DesiredRoutes(table: Self.table(messages, now: harness.now), now: harness.now, reports: reports).nextHops
        }
        var messages = ["gw-a", "gw-b"].compactMap { advert($0, 1_000) }
        let onA = hops(messages, reports: harness.election("gw-a")?.reports(now: harness.now) ?? [])
        let onB = hops(messages, reports: harness.election("gw-b")?.reports(now: harness.now) ?? [])
        let remote = hops(messages, reports: [])
        #expect(onA == [Self.lan: "gw-a"])
        #expect(onB == onA)
        #expect(remote == onA)

        harness.kill("gw-a")
        harness.run(for: .seconds(1))
        // gw-a's last advert (term 1) is still in the tables; gw-b's triggered advert claims term 2.
        messages = [messages[0]] + ["gw-b"].compactMap { advert($0, 2_000) }
        let afterOnB = hops(messages, reports: harness.election("gw-b")?.reports(now: harness.now) ?? [])
        let afterRemote = hops(messages, reports: [])
        #expect(afterOnB == [Self.lan: "gw-b"])
        #expect(afterRemote == afterOnB)
    }
}
