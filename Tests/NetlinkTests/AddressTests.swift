import Glibc
import Netlink
import NetworkTypes
import Testing

@Suite("Addresses through rtnetlink", .enabled(if: isRoot, "needs root for ip netns"))
struct AddressTests {
    @Test("adds and deletes IPv4 and IPv6 addresses, as ip -j addr reads back")
    func addsAndDeletes() async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let index = try namespace.index(of: "mgv0")
            let v4 = InterfaceAddress(interfaceIndex: index, prefix: try #require(IPPrefix("10.77.0.1/24")))
            let v6 = InterfaceAddress(interfaceIndex: index, prefix: try #require(IPPrefix("fd00:77::1/64")))

            try netlink.addAddress(v4)
            try netlink.addAddress(v6)
            let shown = try #require(try namespace.ipJSON([IPAddressList].self, "addr", "show", "dev", "mgv0").first)
            let inet = shown.addr_info.filter { $0.family == "inet" }.map { "\($0.local)/\($0.prefixlen)" }
            let inet6 = shown.addr_info.filter { $0.family == "inet6" }.map { "\($0.local)/\($0.prefixlen)" }
            #expect(inet == ["10.77.0.1/24"])
            #expect(inet6.contains("fd00:77::1/64"), "\(inet6)")
            let global6 = shown.addr_info.first { $0.local == "fd00:77::1" }
            #expect(global6?.valid_life_time == 0xffff_ffff, "no lifetime means forever")

            #expect(try netlink.addresses(family: .v4, interfaceIndex: index) == [v4])
            let listed6 = try netlink.addresses(family: .v6, interfaceIndex: index)
            #expect(listed6.contains(v6), "\(listed6)")
            #expect(listed6.allSatisfy { !$0.address.isV4 })
            let everything = try netlink.addresses()
            #expect(everything.contains(v4) && everything.contains(v6))

            try netlink.deleteAddress(v4)
            try netlink.deleteAddress(v6)
            let after = try namespace.ipJSON([IPAddressList].self, "addr", "show", "dev", "mgv0").first?.addr_info ?? []
            #expect(!after.contains { $0.local == "10.77.0.1" || $0.local == "fd00:77::1" }, "\(after.map(\.local))")
            #expect(try netlink.addresses(family: .v4, interfaceIndex: index).isEmpty)

            let error = #expect(throws: NetlinkError.self) { try netlink.deleteAddress(v4) }
            #expect(error?.errno == EADDRNOTAVAIL, "\(String(describing: error))")
        }
    }

    @Test("adding an existing address fails with EEXIST, replacing it refreshes its lifetime")
    func replaceRefreshesLifetime() async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let address = InterfaceAddress(
                interfaceIndex: try namespace.index(of: "mgv0"), prefix: try #require(IPPrefix("10.77.0.1/24")))

            try netlink.addAddress(address, lifetime: AddressLifetime(valid: .seconds(30)))
            let error = #expect(throws: NetlinkError.self) { try netlink.addAddress(address) }
            #expect(error?.errno == EEXIST)
            #expect(error.map { "\($0)" }?.contains("add address 10.77.0.1/24") == true, "\(String(describing: error))")

            try netlink.addAddress(
                address, replace: true, lifetime: AddressLifetime(valid: .seconds(600), preferred: .seconds(300)))
            let info = try #require(
                try namespace.ipJSON([IPAddressList].self, "addr", "show", "dev", "mgv0").first?.addr_info.first {
                    $0.local == "10.77.0.1"
                })
            #expect(
                (590...600).contains(info.valid_life_time ?? 0), "valid \(String(describing: info.valid_life_time))")
            #expect((290...300).contains(info.preferred_life_time ?? 0))
        }
    }

    @Test("an address with a 2 s valid lifetime disappears by itself", arguments: ["10.77.0.1/24", "fd00:77::1/64"])
    func lifetimeExpires(prefix: String) async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let address = InterfaceAddress(
                interfaceIndex: try namespace.index(of: "mgv0"), prefix: try #require(IPPrefix(prefix)))
            try netlink.addAddress(address, lifetime: AddressLifetime(valid: .seconds(2)))

            func present() throws -> Bool {
                let list = try namespace.ipJSON([IPAddressList].self, "addr", "show", "dev", "mgv0")
                return list.first?.addr_info.contains { $0.local == "\(address.address)" } ?? false
            }
            let info = try namespace.ipJSON([IPAddressList].self, "addr", "show", "dev", "mgv0").first?.addr_info
            #expect(info?.first { $0.local == "\(address.address)" }?.valid_life_time ?? 99 <= 2)
            let start = ContinuousClock.now
            while try present(), ContinuousClock.now - start < .seconds(8) {
                try await Task.sleep(for: .milliseconds(250))
            }
            let waited = ContinuousClock.now - start
            #expect(try !present(), "\(address) still present after \(waited)")
            #expect(waited > .seconds(1), "gone after only \(waited)")
        }
    }
}

@Suite("Address lifetimes")
struct AddressLifetimeTests {
    @Test("rounds up to whole seconds and keeps preferred within valid")
    func clamps() {
        let lifetime = AddressLifetime(valid: .milliseconds(1500))
        #expect(lifetime.validSeconds == 2)
        #expect(lifetime.preferredSeconds == 2)
        #expect(AddressLifetime(valid: .zero).validSeconds == 1, "the kernel refuses a valid lifetime of 0")
        #expect(AddressLifetime(valid: .seconds(10), preferred: .seconds(60)).preferredSeconds == 10)
        #expect(AddressLifetime(valid: .seconds(10), preferred: .zero).preferredSeconds == 0)
        #expect(AddressLifetime(valid: .seconds(Int64.max)).validSeconds == 0xffff_fffe, "0xffffffff means forever")
        #expect(AddressLifetime(valid: .seconds(-5)).validSeconds == 1)
    }
}
