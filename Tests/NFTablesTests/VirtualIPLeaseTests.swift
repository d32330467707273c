import Foundation
import Testing

@testable import NFTables

extension PrivilegedSuite {
    @Suite("Virtual IP lease (arp table)")
    struct VirtualIPLeaseTests {
        /// A holder namespace with the VIP 10.93.0.1 and a second address 10.93.0.3, and a LAN host 10.93.0.2.
        struct Pair {
            let holder: TestNamespace
            let host: TestNamespace

            init() throws {
                holder = try TestNamespace(role: "vip")
                host = try TestNamespace(role: "lan")
                try Shell.check(
                    "ip", "link", "add", "vipa", "netns", holder.name, "type", "veth", "peer", "name", "vipb", "netns",
                    host.name)
                try holder.check("ip", "addr", "add", "10.93.0.1/24", "dev", "vipa")
                try holder.check("ip", "addr", "add", "10.93.0.3/24", "dev", "vipa")
                try holder.check("ip", "link", "set", "vipa", "up")
                try host.check("ip", "addr", "add", "10.93.0.2/24", "dev", "vipb")
                try host.check("ip", "link", "set", "vipb", "up")
            }

            /// Whether the host resolves and reaches `address` now (its neighbour cache flushed first).
            func reachable(_ address: String) throws -> Bool {
                try host.check("ip", "neigh", "flush", "dev", "vipb")
                let result = try Shell.run(
                    "ip", "netns", "exec", host.name, "ping", "-n", "-c", "1", "-W", "1", address)
                return result.status == 0
            }

            func remove() -> [String] { [holder.remove(), host.remove()].compactMap { $0 } }
        }

        @Test("without a lease the holder's kernel does not answer ARP for the VIP; with one it does, until it expires")
        func leaseGatesARP() throws {
            let pair = try Pair()
            defer { #expect(pair.remove().isEmpty) }
            let socket = try pair.holder.makeSocket()
            let lease = VirtualIPLease(address: [10, 93, 0, 1])
            try socket.apply(lease.ruleset)

            #expect(try !pair.reachable("10.93.0.1"), "no lease: no ARP reply for the VIP")
            #expect(try pair.reachable("10.93.0.3"), "other addresses are not affected")
            try socket.renew(lease, for: .seconds(3))
            #expect(try pair.reachable("10.93.0.1"))
            // A renewal replaces the expiry, also of a lease that is still running.
            try socket.renew(lease, for: .milliseconds(400))
            Thread.sleep(forTimeInterval: 0.6)
            #expect(try !pair.reachable("10.93.0.1"), "the lease expired by itself")
            try socket.renew(lease, for: .seconds(3))
            #expect(try pair.reachable("10.93.0.1"), "renewed after expiry")
            try socket.revoke(lease)
            try socket.revoke(lease)  // revoking an absent lease is no error
            #expect(try !pair.reachable("10.93.0.1"), "revoked")

            let text = try pair.holder.check("nft", "list", "table", "arp", "meshgate")
            #expect(text.contains("set vip_lease"), "\(text)")
            #expect(text.contains("arp saddr ip 10.93.0.1 arp saddr ip != @vip_lease counter packets"), "\(text)")
            try socket.removeARPTable(named: "meshgate")
            try socket.removeARPTable(named: "meshgate")
            #expect(try !pair.holder.tables().contains("arp meshgate"))
        }

        @Test("the kernel holds the same expressions nft compiles from the rule text")
        func sameExpressionsAsNFT() throws {
            let namespace = try TestNamespace(role: "arpexpr")
            defer { #expect(namespace.remove() == nil) }
            let socket = try namespace.makeSocket()
            try socket.apply(VirtualIPLease(address: [10, 93, 0, 1]).ruleset)
            try namespace.check("nft", "add", "table", "arp", "reference")
            try namespace.check(
                "nft", "add", "set", "arp", "reference", "vip_lease", "{ type ipv4_addr; flags timeout; }")
            try namespace.check(
                "nft", "add", "chain", "arp", "reference", "output",
                "{ type filter hook output priority 0; policy accept; }")
            try namespace.check(
                "nft", "add", "rule", "arp", "reference", "output", "arp", "saddr", "ip", "10.93.0.1", "arp", "saddr",
                "ip",
                "!=", "@vip_lease", "counter", "drop")
            func expressionLines(_ table: String) throws -> [String] {
                try namespace.check("nft", "--debug=netlink", "list", "table", "arp", table)
                    .split(separator: "\n").filter { $0.hasPrefix("  [") }.map(String.init)
            }
            let ours = try expressionLines("meshgate")
            // nft loads the sender address a second time for the lookup; one load serves both here.
            let reference = try expressionLines("reference")
            #expect(ours == reference.enumerated().filter { $0.offset != 2 }.map(\.element), "\(ours)\n\(reference)")
        }
    }
}
