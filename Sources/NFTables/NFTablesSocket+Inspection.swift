internal import CLibNFTNL
internal import Glibc

/// A base chain of any table, as the kernel lists it (for the health checks and `meshgate explain`).
public struct BaseChainSummary: Sendable, Hashable, CustomStringConvertible {
    /// `ip`, `ip6`, `inet`, `bridge`, `arp`, `netdev`, or the number.
    public var family: String
    public var table: String
    public var chain: String
    /// `prerouting`, `input`, `forward`, `output`, `postrouting`, or the number.
    public var hook: String
    /// Whether the chain's policy is drop.
    public var dropsByDefault: Bool

    public var description: String {
        "table \(family) \(table) chain \(chain) (hook \(hook)\(dropsByDefault ? ", policy drop" : ""))"
    }
}

extension NFTablesSocket {
    /// Every rule of table `inet <table>` as `chain#handle`, sorted: a fingerprint that changes when a rule
    /// or chain is added, deleted or replaced by someone else.
    ///
    /// - Throws: ``NFTablesError/tableNotFound(_:)`` if the table is absent, or another ``NFTablesError``.
    public func ruleFingerprint(table: String) throws(NFTablesError) -> [String] {
        guard try tableExists(named: table) else { throw .tableNotFound(table) }
        guard let filter = nftnl_rule_alloc() else { throw .socket(operation: "nftnl_rule_alloc", errno: ENOMEM) }
        defer { nftnl_rule_free(filter) }
        nftnl_rule_set_u32(filter, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(NetlinkBatch.family))
        nftnl_rule_set_str(filter, UInt16(NFTNL_RULE_TABLE.rawValue), table)
        var rules: [String] = []
        let operation = "GETRULE inet \(table)"
        try query(
            operation, type: NFT_MSG_GETRULE, flags: NLM_F_DUMP,
            payload: { nftnl_rule_nlmsg_build_payload($0, filter) }, onAttempt: { rules = [] },
            onReply: { (header: UnsafePointer<nlmsghdr>) throws(NFTablesError) in
                guard let rule = nftnl_rule_alloc() else { throw .socket(operation: "nftnl_rule_alloc", errno: ENOMEM) }
                defer { nftnl_rule_free(rule) }
                guard nftnl_rule_nlmsg_parse(header, rule) >= 0 else { throw .malformedReply(operation: operation) }
                guard let ruleTable = nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue)),
                    String(cString: ruleTable) == table,
                    let chain = nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue))
                else { return }
                rules.append(
                    "\(String(cString: chain))#\(nftnl_rule_get_u64(rule, UInt16(NFTNL_RULE_HANDLE.rawValue)))")
            })
        return rules.sorted()
    }

    /// The base chains of every table in every family, except those of `excludingTable` in `inet`.
    public func baseChains(excludingTable: String? = nil) throws(NFTablesError) -> [BaseChainSummary] {
        guard let filter = nftnl_chain_alloc() else { throw .socket(operation: "nftnl_chain_alloc", errno: ENOMEM) }
        defer { nftnl_chain_free(filter) }
        var chains: [BaseChainSummary] = []
        let operation = "GETCHAIN (all families)"
        try query(
            operation, type: NFT_MSG_GETCHAIN, flags: NLM_F_DUMP, family: 0 /* NFPROTO_UNSPEC: every family */,
            payload: { nftnl_chain_nlmsg_build_payload($0, filter) }, onAttempt: { chains = [] },
            onReply: { (header: UnsafePointer<nlmsghdr>) throws(NFTablesError) in
                guard let chain = nftnl_chain_alloc() else {
                    throw .socket(operation: "nftnl_chain_alloc", errno: ENOMEM)
                }
                defer { nftnl_chain_free(chain) }
                guard nftnl_chain_nlmsg_parse(header, chain) >= 0 else { throw .malformedReply(operation: operation) }
                // Regular chains have no hook: only base chains see packets on their own.
                guard nftnl_chain_is_set(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue)),
                    let table = nftnl_chain_get_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue)),
                    let name = nftnl_chain_get_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue))
                else { return }
                let family = nftnl_chain_get_u32(chain, UInt16(NFTNL_CHAIN_FAMILY.rawValue))
                let tableName = String(cString: table)
                if family == 1 /* NFPROTO_INET */, tableName == excludingTable { return }
                let hook = nftnl_chain_get_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue))
                let policy =
                    nftnl_chain_is_set(chain, UInt16(NFTNL_CHAIN_POLICY.rawValue))
                    ? nftnl_chain_get_u32(chain, UInt16(NFTNL_CHAIN_POLICY.rawValue)) : 1 /* NF_ACCEPT */
                chains.append(
                    BaseChainSummary(
                        family: Self.familyName(family), table: tableName, chain: String(cString: name),
                        hook: Self.hookName(hook, family: family), dropsByDefault: policy == 0 /* NF_DROP */))
            })
        return chains.sorted { ($0.family, $0.table, $0.chain) < ($1.family, $1.table, $1.chain) }
    }

    /// How many rules each chain of every table holds, keyed `family table chain` (``BaseChainSummary``'s
    /// names).
    public func ruleCounts() throws(NFTablesError) -> [String: Int] {
        guard let filter = nftnl_rule_alloc() else { throw .socket(operation: "nftnl_rule_alloc", errno: ENOMEM) }
        defer { nftnl_rule_free(filter) }
        var counts: [String: Int] = [:]
        let operation = "GETRULE (all families)"
        try query(
            operation, type: NFT_MSG_GETRULE, flags: NLM_F_DUMP, family: 0 /* NFPROTO_UNSPEC */,
            payload: { nftnl_rule_nlmsg_build_payload($0, filter) }, onAttempt: { counts = [:] },
            onReply: { (header: UnsafePointer<nlmsghdr>) throws(NFTablesError) in
                guard let rule = nftnl_rule_alloc() else { throw .socket(operation: "nftnl_rule_alloc", errno: ENOMEM) }
                defer { nftnl_rule_free(rule) }
                guard nftnl_rule_nlmsg_parse(header, rule) >= 0 else { throw .malformedReply(operation: operation) }
                guard let table = nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue)),
                    let chain = nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue))
                else { return }
                let family = Self.familyName(nftnl_rule_get_u32(rule, UInt16(NFTNL_RULE_FAMILY.rawValue)))
                counts["\(family) \(String(cString: table)) \(String(cString: chain))", default: 0] += 1
            })
        return counts
    }

    static func familyName(_ family: UInt32) -> String {
        // The NFPROTO_* numbers of linux/netfilter.h.
        switch family {
        case 1: "inet"
        case 2: "ip"
        case 3: "arp"
        case 5: "netdev"
        case 7: "bridge"
        case 10: "ip6"
        default: "\(family)"
        }
    }

    static func hookName(_ hook: UInt32, family: UInt32) -> String {
        // netdev's hooks are ingress/egress; the inet-style families share these numbers.
        guard family != 5 /* NFPROTO_NETDEV */ else { return hook == 0 ? "ingress" : "egress" }
        return switch hook {
        case 0: "prerouting"
        case 1: "input"
        case 2: "forward"
        case 3: "output"
        case 4: "postrouting"
        case 5: "ingress"
        default: "\(hook)"
        }
    }
}
