import KernelSync
import Netlink
import NetworkTypes
import Testing

@Suite("RouteSync plans")
struct RouteSyncPlanTests {
    static func prefix(_ text: String) -> IPPrefix { IPPrefix(text)! }

    static func ours(_ text: String, table: UInt32 = 254, metric: UInt32? = 0, device: Int32 = 7) -> Route {
        Route(destination: prefix(text), interfaceIndex: device, table: table, metric: metric)
    }

    static func connected(_ text: String, device: Int32 = 3) -> Route {
        Route(destination: prefix(text), interfaceIndex: device, protocolNumber: 2, table: 254, metric: nil)
    }

    @Test("nothing to do when the kernel matches, whatever foreign routes are around")
    func steady() {
        let wanted: Set = [Self.ours("10.20.10.0/24")]
        let plan = RouteSync.plan(wanted: wanted, observed: Array(wanted) + [Self.connected("10.10.10.0/24")])
        #expect(plan.isEmpty)
        #expect(plan.blocked.isEmpty)
    }

    @Test("a wanted route whose key a connected (proto kernel) route holds is blocked, never replaced")
    func foreignKeyBlocks() {
        let plan = RouteSync.plan(wanted: [Self.ours("10.10.10.0/24")], observed: [Self.connected("10.10.10.0/24")])
        #expect(plan.requests.isEmpty)
        #expect(plan.blocked.map(\.foreign) == [Self.connected("10.10.10.0/24")])
        #expect(plan.blocked.first?.description.contains("never replaces routes it does not own") == true)
    }

    @Test("a foreign route of another metric does not block: the key differs")
    func foreignOtherMetric() {
        var foreign = Self.connected("10.10.10.0/24")
        foreign.metric = 100
        let plan = RouteSync.plan(wanted: [Self.ours("10.10.10.0/24")], observed: [foreign])
        #expect(plan.requests == [.addRoute(Self.ours("10.10.10.0/24"))])
    }

    @Test("ours not wanted are removed by exact value; foreign ones are left alone")
    func prunesOnlyOurs() {
        let stale = Self.ours("10.30.0.0/24")
        let plan = RouteSync.plan(wanted: [], observed: [stale, Self.connected("10.30.0.0/24")])
        #expect(plan.requests == [.deleteRoute(stale)])
    }

    @Test("a changed attribute at the same key is replaced in place; a changed table or metric moves the route")
    func changes() {
        let old = Self.ours("10.20.10.0/24", device: 7)
        let newDevice = Self.ours("10.20.10.0/24", device: 9)
        #expect(RouteSync.plan(wanted: [newDevice], observed: [old]).requests == [.replaceRoute(newDevice)])
        let otherTable = Self.ours("10.20.10.0/24", table: 100)
        #expect(
            RouteSync.plan(wanted: [otherTable], observed: [old]).requests == [
                .deleteRoute(old), .addRoute(otherTable),
            ])
        let otherMetric = Self.ours("10.20.10.0/24", metric: 50)
        #expect(
            RouteSync.plan(wanted: [otherMetric], observed: [old]).requests == [
                .deleteRoute(old), .addRoute(otherMetric),
            ])
    }

    @Test("IPv6 metric 0 and none read back as 1024 and compare equal")
    func ipv6Metric() {
        let wanted = Self.ours("fd00:20::/64", metric: 0)
        var observed = wanted
        observed.metric = 1024
        #expect(RouteSync.plan(wanted: [wanted], observed: [observed]).isEmpty)
    }
}
