internal import CLibNFTNL
internal import Glibc
internal import Netlink

/// Totals of the counter expressions in a table's rules.
public struct RuleCounters: Sendable, Hashable {
    /// Packets that matched, summed over the rules.
    public var packets: UInt64
    /// Bytes of those packets (whole IP packets), summed over the rules.
    public var bytes: UInt64

    public init(packets: UInt64, bytes: UInt64) {
        self.packets = packets
        self.bytes = bytes
    }
}

extension NFTablesSocket {
    /// Makes table `inet <ruleset.tableName>` exactly the clamp (see ``MSSClampRuleset``), in one
    /// transaction: ``apply(_:)-(NFTRuleset)`` with ``MSSClampRuleset/ruleset``. Packets see either the old
    /// rules or the new ones, never an unclamped moment.
    ///
    /// - Throws: ``NFTablesError``; a rejected transaction changes nothing.
    public func apply(_ ruleset: MSSClampRuleset) throws(NFTablesError) {
        try ruleset.validate()
        try apply(ruleset.ruleset)
    }

    /// Sums the counter expressions of every rule in table `inet <table>`: with an ``MSSClampRuleset``, the
    /// SYNs and SYN-ACKs whose MSS was lowered (`meshgate_mss_clamped_packets_total`).
    ///
    /// - Throws: ``NFTablesError/tableNotFound(_:)`` if the table is absent, or another ``NFTablesError``.
    public func clampCounters(table: String) throws(NFTablesError) -> RuleCounters {
        guard try tableExists(named: table) else { throw .tableNotFound(table) }
        guard let filter = nftnl_rule_alloc() else { throw .socket(operation: "nftnl_rule_alloc", errno: ENOMEM) }
        defer { nftnl_rule_free(filter) }
        nftnl_rule_set_u32(filter, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(NetlinkBatch.family))
        nftnl_rule_set_str(filter, UInt16(NFTNL_RULE_TABLE.rawValue), table)

        var totals = RuleCounters(packets: 0, bytes: 0)
        let operation = "GETRULE inet \(table)"
        try query(
            operation, type: NFT_MSG_GETRULE, flags: NLM_F_DUMP,
            payload: { nftnl_rule_nlmsg_build_payload($0, filter) },
            onAttempt: { totals = RuleCounters(packets: 0, bytes: 0) },
            onReply: { (header: UnsafePointer<nlmsghdr>) throws(NFTablesError) in
                guard let rule = nftnl_rule_alloc() else {
                    throw .socket(operation: "nftnl_rule_alloc", errno: ENOMEM)
                }
                defer { nftnl_rule_free(rule) }
                guard nftnl_rule_nlmsg_parse(header, rule) >= 0 else { throw .malformedReply(operation: operation) }
                // The kernel filters the dump by table; check anyway, as the sum must never include other tables.
                guard let ruleTable = nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue)),
                    String(cString: ruleTable) == table
                else { return }
                guard let iterator = nftnl_expr_iter_create(rule) else {
                    throw .socket(operation: "nftnl_expr_iter_create", errno: ENOMEM)
                }
                defer { nftnl_expr_iter_destroy(iterator) }
                while let expression = nftnl_expr_iter_next(iterator) {
                    guard let name = nftnl_expr_get_str(expression, UInt16(NFTNL_EXPR_NAME)),
                        String(cString: name) == "counter"
                    else { continue }
                    totals.packets &+= nftnl_expr_get_u64(expression, UInt16(NFTNL_EXPR_CTR_PACKETS))
                    totals.bytes &+= nftnl_expr_get_u64(expression, UInt16(NFTNL_EXPR_CTR_BYTES))
                }
            })
        return totals
    }
}
