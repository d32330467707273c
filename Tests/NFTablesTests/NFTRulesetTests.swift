import Foundation
import Testing

@testable import NFTables

extension PrivilegedSuite {
    @Suite("NFTRuleset: the generic table the clamp and the policy produce")
    struct NFTRulesetTests {
        @Test("a ruleset of several chains with their hooks, priorities and policies is applied in one transaction")
        func severalChains() throws {
            let namespace = try TestNamespace(role: "generic")
            defer { #expect(namespace.remove() == nil) }
            let socket = try namespace.makeSocket()
            var ruleset = try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280).ruleset
            ruleset.chains.append(
                NFTRuleset.Chain(name: "policy", hook: .forward, priority: 0, policy: .drop, rules: [[.counter]]))
            try socket.apply(ruleset)
            let text = try namespace.check("nft", "list", "table", "inet", "meshgate")
            #expect(text.contains("chain forward"), "\(text)")
            #expect(text.contains("type filter hook forward priority mangle; policy accept;"), "\(text)")
            #expect(text.contains("chain policy"), "\(text)")
            #expect(text.contains("type filter hook forward priority filter; policy drop;"), "\(text)")

            // Applying the clamp alone replaces the whole table: the extra chain is gone.
            try socket.apply(try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280))
            let after = try namespace.check("nft", "list", "table", "inet", "meshgate")
            #expect(!after.contains("chain policy"), "\(after)")
            #expect(after.contains("chain forward"))
        }

        @Test("the clamp's generic form is the clamp: one forward chain of four rules")
        func clampShape() throws {
            let ruleset = try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280).ruleset
            #expect(ruleset.tableName == "meshgate")
            #expect(ruleset.chains.map(\.name) == ["forward"])
            #expect(ruleset.chains.first?.ruleCount == 4)
            #expect(ruleset.chains.first?.policy == .accept)
        }
    }
}
