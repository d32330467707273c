import Glibc
import Netlink
import NetworkTypes
import Testing

@Suite("Routes through rtnetlink", .enabled(if: isRoot, "needs root for ip netns"))
struct RouteTests {
    /// A namespace with `mgv0` (10.77.0.1/24, fd00:77::1/64) and its up peer `mgv1`.
    func prepare(_ namespace: TestNamespace) throws -> (RouteNetlink, Int32) {
        try namespace.addVethPair("mgv0", "mgv1")
        try namespace.ip("addr", "add", "10.77.0.1/24", "dev", "mgv0")
        try namespace.ip("-6", "addr", "add", "fd00:77::1/64", "dev", "mgv0", "nodad")
        return (try RouteNetlink.open(inNamespace: namespace.name), try namespace.index(of: "mgv0"))
    }

    func prefix(_ text: String) throws -> IPPrefix { try #require(IPPrefix(text)) }
    func address(_ text: String) throws -> IPAddress { try #require(IPAddress(text)) }

    @Test("replaces and deletes IPv4 and IPv6 routes with protocol 88, as ip -j route reads back")
    func replacesAndDeletes() async throws {
        try await TestNamespace.with { namespace in
            let (netlink, index) = try prepare(namespace)
            let routes = [
                Route(destination: try prefix("10.1.0.0/24"), interfaceIndex: index),
                Route(destination: try prefix("10.2.0.0/16"), gateway: try address("10.77.0.2"), metric: 50),
                Route(
                    destination: try prefix("10.3.0.0/24"), interfaceIndex: index, gateway: try address("10.77.0.3"),
                    source: try address("10.77.0.1")),
                Route(destination: try prefix("fd01::/64"), interfaceIndex: index, metric: 7),
                Route(destination: try prefix("fd02::/48"), interfaceIndex: index, gateway: try address("fd00:77::2")),
            ]
            for route in routes { try netlink.replaceRoute(route) }

            let v4 = try namespace.ipJSON([IPRoute].self, "route", "show", "proto", "88").map(\.description)
            #expect(
                v4.sorted() == [
                    "10.1.0.0/24 dev mgv0", "10.2.0.0/16 via 10.77.0.2 dev mgv0 metric 50",
                    "10.3.0.0/24 via 10.77.0.3 dev mgv0 src 10.77.0.1",
                ])
            let v6 = try namespace.ipJSON([IPRoute].self, "-6", "route", "show", "proto", "88").map(\.description)
            #expect(v6.sorted() == ["fd01::/64 dev mgv0 metric 7", "fd02::/48 via fd00:77::2 dev mgv0 metric 1024"])
            let plain = try namespace.ip("route", "show")
            #expect(plain.contains("10.1.0.0/24 dev mgv0 proto 88 scope link"), "\(plain)")

            // Reading back gives the same values, apart from the kernel's filling in.
            let listed = try netlink.routes(protocolNumber: RouteNetlink.meshgateRouteProtocol)
            var expected = routes
            expected[1].interfaceIndex = index
            expected[4].metric = 1024
            #expect(Set(listed) == Set(expected), "listed \(listed)")
            let all = try netlink.routes()
            #expect(all.contains { $0.protocolNumber == 2 && $0.destination == (try? prefix("10.77.0.0/24")) })
            #expect(
                !all.contains { $0.destination.length == 32 && $0.destination.address == (try? address("10.77.0.1")) })

            // Replacing with the same destination and metric changes the route in place.
            var moved = routes[0]
            moved.gateway = try address("10.77.0.9")
            try netlink.replaceRoute(moved)
            let replaced = try namespace.ipJSON([IPRoute].self, "route", "show", "10.1.0.0/24", "proto", "88")
            #expect(replaced.map(\.description) == ["10.1.0.0/24 via 10.77.0.9 dev mgv0"])

            try netlink.deleteRoute(moved)
            for route in routes.dropFirst() { try netlink.deleteRoute(route) }
            #expect(try namespace.ipJSON([IPRoute].self, "route", "show", "proto", "88").isEmpty)
            #expect(try namespace.ipJSON([IPRoute].self, "-6", "route", "show", "proto", "88").isEmpty)
            #expect(try netlink.routes(protocolNumber: RouteNetlink.meshgateRouteProtocol).isEmpty)
        }
    }

    @Test("puts routes in a table above 255 and lists that table only")
    func largeTable() async throws {
        try await TestNamespace.with { namespace in
            let (netlink, index) = try prepare(namespace)
            let route = Route(destination: try prefix("0.0.0.0/0"), gateway: try address("10.77.0.2"), table: 1000)
            let route6 = Route(destination: try prefix("::/0"), interfaceIndex: index, table: 1000, metric: 5)
            try netlink.replaceRoute(route)
            try netlink.replaceRoute(route6)
            let shown = try namespace.ipJSON([IPRoute].self, "route", "show", "table", "1000")
            #expect(shown.map(\.description) == ["default via 10.77.0.2 dev mgv0"])
            var expected = route
            expected.interfaceIndex = index
            #expect(Set(try netlink.routes(table: 1000)) == [expected, route6])
            #expect(try netlink.routes().allSatisfy { $0.table == Route.mainTable })
            #expect(try netlink.routes(table: 0).contains(route6), "table 0 lists every table")
            try netlink.deleteRoute(route)
            #expect(try namespace.ipJSON([IPRoute].self, "route", "show", "table", "1000").isEmpty)
        }
    }

    @Test("deleting a missing route throws ESRCH naming the operation")
    func deleteMissing() async throws {
        try await TestNamespace.with { namespace in
            let (netlink, index) = try prepare(namespace)
            for text in ["10.9.0.0/24", "fd09::/64"] {
                let route = Route(destination: try prefix(text), interfaceIndex: index)
                let error = try #require(throws: NetlinkError.self) { try netlink.deleteRoute(route) }
                guard case .request(let op, let code) = error else {
                    Issue.record("expected .request, got \(error)")
                    continue
                }
                #expect(code == ESRCH || code == ENOENT, "\(error)")
                #expect(op == "delete route \(route)")
                #expect(
                    "\(error)".contains("delete route \(text)") && "\(error)".contains("No such process"), "\(error)")
            }
            // Our protocol number guards others' routes: the kernel's own prefix route is not ours to delete.
            let kernelRoute = Route(destination: try prefix("10.77.0.0/24"), interfaceIndex: index)
            #expect(throws: NetlinkError.self) { try netlink.deleteRoute(kernelRoute) }
            #expect(try namespace.ip("route", "show").contains("10.77.0.0/24 dev mgv0 proto kernel"))
        }
    }

    @Test("adding a route via a missing interface fails with ENODEV naming the route")
    func missingInterface() async throws {
        try await TestNamespace.with { namespace in
            let (netlink, _) = try prepare(namespace)
            let route = Route(destination: try prefix("10.9.0.0/24"), interfaceIndex: 999)
            let error = try #require(throws: NetlinkError.self) { try netlink.replaceRoute(route) }
            #expect(error == .request(op: "replace route 10.9.0.0/24 dev 999 table 254 proto 88", errno: ENODEV))
            #expect("\(error)".contains("No such device"), "\(error)")
            let unreachable = Route(destination: try prefix("10.9.0.0/24"), gateway: try address("192.0.2.1"))
            let gatewayError = try #require(throws: NetlinkError.self) { try netlink.replaceRoute(unreachable) }
            #expect(gatewayError.errno == ENETUNREACH, "\(gatewayError)")
        }
    }
}
