import Foundation
import Testing

@testable import NFTables

extension PrivilegedSuite {
    @Suite("NFTablesSocket")
    struct NFTablesSocketTests {
        @Test("apply creates the forward chain at mangle priority with the four clamp rules")
        func applyCreatesTable() throws {
            let namespace = try TestNamespace(role: "apply")
            defer { #expect(namespace.remove() == nil) }
            let socket = try namespace.makeSocket()

            try socket.apply(try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280))

            let (chains, rules) = try namespace.listClampTable("meshgate")
            #expect(chains.count == 1)
            let chain = try #require(chains.first)
            #expect(chain["name"] as? String == "forward")
            #expect(chain["type"] as? String == "filter")
            #expect(chain["hook"] as? String == "forward")
            #expect(chain["prio"] as? Int == -150)
            #expect(chain["policy"] as? String == "accept")
            #expect(rules == ListedClampRule.expected(interface: "ovl0", ipv4MSS: 1240, ipv6MSS: 1220))
            #expect(try socket.tableExists(named: "meshgate"))
            let text = try namespace.check("nft", "list", "table", "inet", "meshgate")
            #expect(text.contains("comment \"\(MSSClampRuleset.tableComment)\""), "\(text)")
        }

        @Test("the kernel holds the same expressions nft compiles from the rule text")
        func sameExpressionsAsNFT() throws {
            let namespace = try TestNamespace(role: "expr")
            defer { #expect(namespace.remove() == nil) }
            let socket = try namespace.makeSocket()
            try socket.apply(try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280))

            try namespace.check("nft", "add", "table", "inet", "reference")
            try namespace.check(
                "nft", "add", "chain", "inet", "reference", "forward",
                "{ type filter hook forward priority mangle; policy accept; }")
            for (family, mss) in [("ipv4", 1240), ("ipv6", 1220)] {
                for key in ["oifname", "iifname"] {
                    try namespace.check(
                        "nft", "add", "rule", "inet", "reference", "forward", key, "ovl0", "meta", "nfproto", family,
                        "tcp", "flags", "&", "(syn|rst)", "==", "syn", "tcp", "option", "maxseg", "size", ">", "\(mss)",
                        "counter", "tcp", "option", "maxseg", "size", "set", "\(mss)")
                }
            }

            func expressionLines(_ table: String) throws -> [String] {
                try namespace.check("nft", "--debug=netlink", "list", "table", "inet", table)
                    .split(separator: "\n").filter { $0.hasPrefix("  [") }.map(String.init)
            }
            let ours = try expressionLines("meshgate")
            #expect(ours.count == 4 * 14)
            #expect(ours == (try expressionLines("reference")))
            #expect(ours.contains("  [ exthdr write tcpopt reg 1 => 2b @ 2 + 2 ]"))
        }

        @Test("applying twice leaves one copy, and a new MSS replaces the old rules")
        func applyIsIdempotentAndReplaces() throws {
            let namespace = try TestNamespace(role: "idem")
            defer { #expect(namespace.remove() == nil) }
            let socket = try namespace.makeSocket()
            let ruleset = try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280)

            try socket.apply(ruleset)
            try socket.apply(ruleset)
            var listed = try namespace.listClampTable("meshgate")
            #expect(listed.chains.count == 1)
            #expect(listed.rules == ListedClampRule.expected(interface: "ovl0", ipv4MSS: 1240, ipv6MSS: 1220))
            #expect(try namespace.tables() == ["inet meshgate"])

            try socket.apply(try MSSClampRuleset.forOverlay(interface: "wg-site", mtu: 1400))
            listed = try namespace.listClampTable("meshgate")
            #expect(listed.chains.count == 1)
            #expect(listed.rules == ListedClampRule.expected(interface: "wg-site", ipv4MSS: 1360, ipv6MSS: 1340))
            #expect(try namespace.tables() == ["inet meshgate"])
        }

        @Test("apply and removeTable leave other tables alone, even one of the same name in another family")
        func otherTablesSurvive() throws {
            let namespace = try TestNamespace(role: "other")
            defer { #expect(namespace.remove() == nil) }
            try namespace.check("nft", "add", "table", "inet", "other")
            try namespace.check(
                "nft", "add", "chain", "inet", "other", "input", "{ type filter hook input priority 0; }")
            try namespace.check(
                "nft", "add", "rule", "inet", "other", "input", "tcp", "dport", "22", "counter", "accept")
            try namespace.check("nft", "add", "table", "ip", "meshgate")
            try namespace.check("nft", "add", "chain", "ip", "meshgate", "keep")
            let before = try namespace.check("nft", "list", "ruleset")
            let socket = try namespace.makeSocket()

            try socket.apply(try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280))
            #expect(try namespace.tables() == ["inet other", "ip meshgate", "inet meshgate"])
            try socket.removeTable(named: "meshgate")

            #expect(try namespace.tables() == ["inet other", "ip meshgate"])
            #expect(try namespace.check("nft", "list", "ruleset") == before)
            #expect(try socket.tableExists(named: "meshgate") == false)
            #expect(try socket.tableExists(named: "other"))
        }

        @Test("removeTable of an absent table succeeds and changes nothing")
        func removeAbsentTable() throws {
            let namespace = try TestNamespace(role: "absent")
            defer { #expect(namespace.remove() == nil) }
            let socket = try namespace.makeSocket()

            try socket.removeTable(named: "meshgate")
            try socket.removeTable(named: "meshgate")

            #expect(try namespace.tables().isEmpty)
            #expect(try socket.tableExists(named: "meshgate") == false)
        }

        @Test("a rejected transaction names the refused message and is rolled back whole")
        func rejectedTransactionRollsBack() throws {
            let namespace = try TestNamespace(role: "reject")
            defer { #expect(namespace.remove() == nil) }
            let socket = try namespace.makeSocket()

            #expect(throws: NFTablesError.request(operation: "DELTABLE inet missing", errno: ENOENT)) {
                try socket.commit { (batch: inout NetlinkBatch) throws(NFTablesError) in
                    try batch.addTable(named: "created-then-rolled-back")
                    try batch.deleteTable(named: "missing")
                }
            }

            #expect(try namespace.tables().isEmpty)
            // The socket stays usable after a rejection.
            try socket.apply(try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280))
            #expect(try namespace.tables() == ["inet meshgate"])
        }

        @Test("clampCounters reads zero on a fresh table and refuses a missing one")
        func countersOnFreshAndMissingTables() throws {
            let namespace = try TestNamespace(role: "count")
            defer { #expect(namespace.remove() == nil) }
            let socket = try namespace.makeSocket()

            #expect(throws: NFTablesError.tableNotFound("meshgate")) { try socket.clampCounters(table: "meshgate") }
            try socket.apply(try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280))
            #expect(try socket.clampCounters(table: "meshgate") == RuleCounters(packets: 0, bytes: 0))
        }

        @Test("sockets release their descriptors")
        func noDescriptorLeak() throws {
            let namespace = try TestNamespace(role: "fd")
            defer { #expect(namespace.remove() == nil) }
            func openDescriptors() throws -> Int {
                try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
            }

            let before = try openDescriptors()
            for _ in 0..<20 {
                let socket = try namespace.makeSocket()
                _ = try socket.tableExists(named: "meshgate")
            }
            #expect(try openDescriptors() == before)
        }
    }
}
