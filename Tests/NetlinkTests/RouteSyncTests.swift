import Glibc
import KernelSync
import Netlink
import NetworkTypes
import Testing

@Suite("RouteSync against the kernel", .enabled(if: isRoot, "needs root for ip netns"))
struct RouteSyncTests {
    @Test("a sync never replaces the connected route of a LAN, and a table change moves our routes")
    func ownsOnlyOurs() async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1")
            try namespace.ip("addr", "add", "10.77.0.1/24", "dev", "mgv0")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let index = try namespace.index(of: "mgv0")
            let lan = try #require(IPPrefix("10.77.0.0/24"))
            let remote = try #require(IPPrefix("10.20.10.0/24"))
            // The intent wants the LAN's own /24 through us (what a withdraw drill on a standby produced).
            let hijack = Route(destination: lan, interfaceIndex: index, table: 254, metric: 0)
            let wanted = Route(destination: remote, interfaceIndex: index, table: 254, metric: 0)
            let outcome = try RouteSync.sync(wanted: [hijack, wanted], netlink: netlink)
            #expect(outcome.blocked.map(\.wanted) == [hijack])
            #expect(outcome.added == [wanted])
            let connected = try namespace.ip("route", "show", "10.77.0.0/24")
            #expect(connected.contains("proto kernel"), "the connected route was touched: \(connected)")

            // Nothing wanted: ours go, the connected route stays.
            _ = try RouteSync.sync(wanted: [], netlink: netlink)
            #expect(try namespace.ip("route", "show", "proto", "88").isEmpty)
            #expect(try namespace.ip("route", "show", "10.77.0.0/24").contains("proto kernel"))

            // A change of table moves the route: gone from main, present in 100.
            _ = try RouteSync.sync(wanted: [wanted], netlink: netlink)
            var moved = wanted
            moved.table = 100
            let move = try RouteSync.sync(wanted: [moved], netlink: netlink)
            #expect(move.removed.map { "\($0.destination) \($0.table)" } == ["10.20.10.0/24 254"], "\(move)")
            #expect(move.added == [moved], "\(move)")
            #expect(try namespace.ip("route", "show", "proto", "88").isEmpty)
            #expect(try namespace.ip("route", "show", "table", "100", "proto", "88").contains("10.20.10.0/24"))
        }
    }
}
