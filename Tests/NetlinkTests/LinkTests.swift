import Glibc
import Netlink
import Testing

@Suite("Links through rtnetlink", .enabled(if: isRoot, "needs root for ip netns"))
struct LinkTests {
    @Test("lists lo and a veth with the index, MTU and MAC that ip reports")
    func listsLinks() async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1", mtu: 1420, mac: "02:11:22:33:44:55")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let links = try netlink.links()

            let loopback = try #require(links.first { $0.name == "lo" }, "links: \(links)")
            #expect(loopback.index == 1)
            #expect(loopback.mtu == 65536)
            #expect(!loopback.isUp)

            let veth = try #require(links.first { $0.name == "mgv0" }, "links: \(links)")
            let expected = try #require(try namespace.ipJSON([IPLink].self, "link", "show", "dev", "mgv0").first)
            #expect(veth.index == expected.ifindex)
            #expect(veth.mtu == 1420)
            #expect(veth.hardwareAddress == [0x02, 0x11, 0x22, 0x33, 0x44, 0x55])
            #expect(macText(veth.hardwareAddress) == expected.address)
            #expect(veth.isUp && veth.hasCarrier, "\(veth) flags \(expected.flags)")
            #expect(links.count == 3, "lo, mgv0, mgv1: \(links)")
        }
    }

    @Test("finds a link by name and answers nil for a missing name")
    func findsLinkByName() async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let link = try #require(try netlink.link(named: "mgv1"))
            #expect(link.index == (try namespace.index(of: "mgv1")))
            #expect(link.name == "mgv1")
            #expect(try netlink.link(named: "mgmissing") == nil)
            #expect(try netlink.link(named: "a-name-longer-than-ifnamsiz") == nil)
        }
    }

    @Test("sets the MTU and the up/down state, as ip -j link reads back")
    func setsMTUAndState() async throws {
        try await TestNamespace.with { namespace in
            try namespace.addVethPair("mgv0", "mgv1")
            let netlink = try RouteNetlink.open(inNamespace: namespace.name)
            let index = try namespace.index(of: "mgv0")

            try netlink.setMTU(index: index, mtu: 1280)
            try netlink.setLinkUp(index: index, up: false)
            var shown = try #require(try namespace.ipJSON([IPLink].self, "link", "show", "dev", "mgv0").first)
            #expect(shown.mtu == 1280)
            #expect(!shown.flags.contains("UP"), "flags \(shown.flags)")
            #expect(try netlink.link(named: "mgv0")?.isUp == false)

            try netlink.setLinkUp(index: index, up: true)
            shown = try #require(try namespace.ipJSON([IPLink].self, "link", "show", "dev", "mgv0").first)
            #expect(shown.flags.contains("UP"), "flags \(shown.flags)")
            #expect(try netlink.link(named: "mgv0")?.isUp == true)

            let error = #expect(throws: NetlinkError.self) { try netlink.setMTU(index: index, mtu: 10) }
            #expect(error?.errno == EINVAL, "\(String(describing: error))")
            #expect(throws: NetlinkError.invalidArgument("set link \(index) mtu -1: MTU out of range")) {
                try netlink.setMTU(index: index, mtu: -1)
            }
        }
    }
}
