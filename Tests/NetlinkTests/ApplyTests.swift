import Glibc
import Netlink
import NetworkTypes
import Testing

@Suite("Batched requests", .enabled(if: isRoot, "needs root for ip netns"))
struct ApplyTests {
    @Test("a batch of 1000 route replaces in one apply completes and is visible")
    func thousandRoutes() async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let index = try namespace.index(of: "mgv0")
            let routes = (0..<1000).map { n in
                Route(
                    destination: IPPrefix(
                        address: .v4(IPv4Address(10, 100, UInt8(n / 256), UInt8(n % 256))), length: 32)!,
                    interfaceIndex: index, metric: 20)
            }
            let start = ContinuousClock.now
            try netlink.apply(routes.map { .replaceRoute($0) })
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(5), "1000 routes took \(elapsed)")

            let shown = try namespace.ipJSON([IPRoute].self, "route", "show", "proto", "88")
            #expect(shown.count == 1000)
            #expect(Set(shown.map(\.dst)) == Set(routes.map { "\($0.destination.address)" }))
            #expect(Set(try netlink.routes(protocolNumber: RouteNetlink.meshgateRouteProtocol)) == Set(routes))

            // Replacing the same set again is idempotent, and deleting it in one batch empties the table.
            try netlink.apply(routes.map { .replaceRoute($0) })
            #expect(try namespace.ipJSON([IPRoute].self, "route", "show", "proto", "88").count == 1000)
            try netlink.apply(routes.map { .deleteRoute($0) })
            #expect(try namespace.ipJSON([IPRoute].self, "route", "show", "proto", "88").isEmpty)
        }
    }

    @Test("a batch reports exactly which requests failed and applies all the others")
    func partialFailure() async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let index = try namespace.index(of: "mgv0")
            let good1 = Route(destination: IPPrefix("10.1.0.0/24")!, interfaceIndex: index)
            let bad = Route(destination: IPPrefix("10.2.0.0/24")!, interfaceIndex: 4242)
            let good2 = Route(destination: IPPrefix("fd01::/64")!, interfaceIndex: index)
            let missing = Route(destination: IPPrefix("10.3.0.0/24")!, interfaceIndex: index)
            let address = InterfaceAddress(interfaceIndex: index, prefix: IPPrefix("10.77.0.1/24")!)
            let requests: [NetlinkRequest] = [
                .replaceRoute(good1), .replaceRoute(bad), .setMTU(index: index, mtu: 1300), .replaceRoute(good2),
                .deleteRoute(missing), .addAddress(address, replace: false, lifetime: nil),
            ]
            let error = try #require(throws: NetlinkError.self) { try netlink.apply(requests) }
            guard case .batch(let failures, let count) = error else {
                Issue.record("expected .batch, got \(error)")
                return
            }
            #expect(count == 6)
            #expect(
                failures == [
                    RequestFailure(index: 1, op: "replace route \(bad)", errno: ENODEV),
                    RequestFailure(index: 4, op: "delete route \(missing)", errno: ESRCH),
                ])
            #expect(
                "\(error)".hasPrefix("2 of 6 netlink requests failed; first: #1 replace route 10.2.0.0/24"), "\(error)")
            #expect(error.errno == ENODEV)

            // Everything else took effect.
            #expect(try namespace.ipJSON([IPRoute].self, "route", "show", "proto", "88").map(\.dst) == ["10.1.0.0/24"])
            #expect(
                try namespace.ipJSON([IPRoute].self, "-6", "route", "show", "proto", "88").map(\.dst) == ["fd01::/64"])
            #expect(try netlink.link(named: "mgv0")?.mtu == 1300)
            #expect(try netlink.addresses(family: .v4, interfaceIndex: index) == [address])
        }
    }

    @Test("an argument that cannot be encoded makes the batch send nothing")
    func invalidArgumentSendsNothing() async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let index = try namespace.index(of: "mgv0")
            let route = Route(destination: IPPrefix("10.1.0.0/24")!, interfaceIndex: index)
            let bad = InterfaceAddress(interfaceIndex: index, address: IPAddress("10.77.0.1")!, prefixLength: 33)
            let error = try #require(throws: NetlinkError.self) {
                try netlink.apply([.replaceRoute(route), .addAddress(bad, replace: false, lifetime: nil)])
            }
            guard case .invalidArgument(let what) = error else {
                Issue.record("expected .invalidArgument, got \(error)")
                return
            }
            #expect(what.contains("10.77.0.1/33"))
            #expect(try netlink.routes(protocolNumber: RouteNetlink.meshgateRouteProtocol).isEmpty)
            try netlink.apply([])
        }
    }
}

@Suite("Netlink errors and requests")
struct NetlinkErrorTests {
    @Test("an error description names the operation and the strerror text")
    func describesErrors() {
        let error = NetlinkError.request(op: "delete route 10.0.0.0/8 table 254 proto 88", errno: ESRCH)
        #expect("\(error)" == "netlink delete route 10.0.0.0/8 table 254 proto 88: No such process (errno 3)")
        #expect("\(NetlinkError.system(op: "open netlink socket", errno: EPERM))".contains("Operation not permitted"))
    }

    @Test("a request describes itself the way ip would")
    func describesRequests() {
        let route = Route(
            destination: IPPrefix("10.1.0.0/24")!, interfaceIndex: 3, gateway: IPAddress("192.0.2.1"), metric: 10,
            source: IPAddress("10.0.0.1"))
        #expect(
            NetlinkRequest.replaceRoute(route).description
                == "replace route 10.1.0.0/24 via 192.0.2.1 dev 3 table 254 proto 88 metric 10 src 10.0.0.1")
        let address = InterfaceAddress(interfaceIndex: 2, prefix: IPPrefix("fd00::1/64")!)
        #expect(
            NetlinkRequest.addAddress(address, replace: true, lifetime: AddressLifetime(valid: .seconds(30)))
                .description
                == "replace address fd00::1/64 dev 2 valid_lft 30sec preferred_lft 30sec")
        #expect(NetlinkRequest.setLinkUp(index: 4, up: false).description == "set link 4 down")
    }
}
