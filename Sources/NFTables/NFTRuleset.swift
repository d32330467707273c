internal import CLibNFTNL

/// One nftables table that meshgate owns, as a value: its chains and their rules. ``NFTablesSocket/apply(_:)``
/// replaces the kernel's table with it in one transaction, so packets see the old ruleset or the new one,
/// never a mix. Producers build it: ``MSSClampRuleset`` first; the least-privilege policy is next, adding
/// its chains to the same table.
public struct NFTRuleset: Sendable, Hashable {
    /// The table in family `inet`.
    public var tableName: String
    /// Shown by `nft list ruleset`, so an operator knows who owns the table.
    public var comment: String?
    public var chains: [Chain]

    /// A base chain: `type filter hook <hook> priority <priority>; policy <policy>`.
    public struct Chain: Sendable, Hashable {
        public var name: String
        public var hook: Hook
        public var priority: Int32
        public var policy: Policy
        var rules: [[RuleExpression]]

        /// The number of rules, in order of evaluation.
        public var ruleCount: Int { rules.count }
    }

    public enum Hook: Sendable, Hashable {
        case prerouting, input, forward, output, postrouting

        var netfilterHook: nf_inet_hooks {
            switch self {
            case .prerouting: NF_INET_PRE_ROUTING
            case .input: NF_INET_LOCAL_IN
            case .forward: NF_INET_FORWARD
            case .output: NF_INET_LOCAL_OUT
            case .postrouting: NF_INET_POST_ROUTING
            }
        }
    }

    public enum Policy: Sendable, Hashable {
        case accept, drop

        var verdict: Int32 {
            switch self {
            case .accept: NF_ACCEPT
            case .drop: NF_DROP
            }
        }
    }

    /// Checks names before anything reaches the kernel.
    public func validate() throws(NFTablesError) {
        try MSSClampRuleset.validateTableName(tableName)
        for chain in chains {
            guard (1...255).contains(chain.name.utf8.count), !chain.name.utf8.contains(0) else {
                throw .invalidTableName(chain.name)
            }
        }
    }
}

extension NFTablesSocket {
    /// Makes table `inet <ruleset.tableName>` exactly `ruleset`, in one transaction.
    ///
    /// The batch is NEWTABLE, DELTABLE, NEWTABLE, then NEWCHAIN and its NEWRULEs for each chain: the first
    /// NEWTABLE makes sure the DELTABLE has something to delete, so a stale table from an earlier run is
    /// replaced and a missing one is created alike. Applying the same ruleset twice leaves one copy. Other
    /// tables are never touched. Counters restart at zero.
    ///
    /// - Throws: ``NFTablesError``; a rejected transaction changes nothing.
    public func apply(_ ruleset: NFTRuleset) throws(NFTablesError) {
        try ruleset.validate()
        let table = ruleset.tableName
        try commit { (batch: inout NetlinkBatch) throws(NFTablesError) in
            try batch.addTable(named: table)
            try batch.deleteTable(named: table)
            try batch.addTable(named: table, comment: ruleset.comment)
            for chain in ruleset.chains {
                try batch.addFilterChain(
                    table: table, named: chain.name, hook: chain.hook.netfilterHook, priority: chain.priority,
                    policy: chain.policy.verdict)
                for (index, expressions) in chain.rules.enumerated() {
                    try batch.appendRule(table: table, chain: chain.name, index: index + 1, expressions: expressions)
                }
            }
        }
    }
}
