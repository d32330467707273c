import Testing

extension Tag {
    /// Needs root: network namespaces, veth pairs and the kernel's nf_tables.
    @Tag static var privileged: Self
}

/// Parent of every suite that programs the kernel. Serialized so the fd count and the namespaces of one test
/// are not disturbed by another; each test still makes, and removes, its own namespaces.
@Suite("nftables against the kernel", .serialized, .requiresRoot(), .tags(.privileged))
enum PrivilegedSuite {}

/// One clamp rule as `nft -j` lists it, reduced to what the tests compare.
struct ListedClampRule: Equatable, CustomStringConvertible {
    var interfaceKey: String
    var interface: String
    var family: String
    /// The `tcp option maxseg size > N` guard.
    var guardAbove: Int
    /// The `tcp option maxseg size set N` statement.
    var setTo: Int
    var hasCounter: Bool

    var description: String {
        "\(interfaceKey) \(interface) \(family) maxseg>\(guardAbove) set \(setTo) counter:\(hasCounter)"
    }

    /// Reads the rule objects of `nft -j list table`; nil for a rule of another shape.
    static func parse(_ rule: [String: Any]) -> ListedClampRule? {
        guard let expressions = rule["expr"] as? [[String: Any]] else { return nil }
        var result = ListedClampRule(
            interfaceKey: "", interface: "", family: "", guardAbove: -1, setTo: -1, hasCounter: false)
        for expression in expressions {
            if let match = expression["match"] as? [String: Any], let left = match["left"] as? [String: Any] {
                if let meta = left["meta"] as? [String: Any], let key = meta["key"] as? String {
                    if key == "oifname" || key == "iifname" {
                        result.interfaceKey = key
                        result.interface = match["right"] as? String ?? ""
                    } else if key == "nfproto" {
                        result.family = match["right"] as? String ?? ""
                    }
                } else if left["tcp option"] != nil, match["op"] as? String == ">" {
                    result.guardAbove = match["right"] as? Int ?? -1
                }
            } else if expression["counter"] != nil {
                result.hasCounter = true
            } else if let mangle = expression["mangle"] as? [String: Any],
                let key = mangle["key"] as? [String: Any], let option = key["tcp option"] as? [String: Any],
                option["name"] as? String == "maxseg", option["field"] as? String == "size"
            {
                result.setTo = mangle["value"] as? Int ?? -1
            }
        }
        return result
    }

    /// The four rules an ``NFTables/MSSClampRuleset`` should produce, in chain order.
    static func expected(interface: String, ipv4MSS: Int, ipv6MSS: Int) -> [ListedClampRule] {
        [("ipv4", ipv4MSS), ("ipv6", ipv6MSS)].flatMap { family, mss in
            ["oifname", "iifname"].map {
                ListedClampRule(
                    interfaceKey: $0, interface: interface, family: family, guardAbove: mss, setTo: mss,
                    hasCounter: true)
            }
        }
    }
}

extension TestNamespace {
    /// The chains and the clamp rules of `inet <table>`, from `nft -j`.
    func listClampTable(_ table: String) throws -> (chains: [[String: Any]], rules: [ListedClampRule]) {
        let items = try listTableJSON(table)
        let chains = items.compactMap { $0["chain"] as? [String: Any] }
        let rules = items.compactMap { $0["rule"] as? [String: Any] }.compactMap(ListedClampRule.parse)
        return (chains, rules)
    }
}
