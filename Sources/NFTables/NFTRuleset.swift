internal import CLibNFTNL

/// One nftables table that meshgate owns, as a value: its chains and their rules. ``NFTablesSocket/apply(_:)``
/// replaces the kernel's table with it in one transaction, so packets see the old ruleset or the new one,
/// never a mix. Producers build it: ``MSSClampRuleset`` first; the least-privilege policy is next, adding
/// its chains to the same table.
public struct NFTRuleset: Sendable, Hashable {
    /// The table's name, in ``family``.
    public var tableName: String
    /// `inet` for IP traffic; `arp` for ARP (the virtual IP's lease).
    public var family: Family = .inet
    /// Shown by `nft list ruleset`, so an operator knows who owns the table.
    public var comment: String?
    public var chains: [Chain]
    /// Named sets the rules look up (created before the chains, in the same transaction).
    public var sets: [NamedSet] = []

    public enum Family: UInt16, Sendable, Hashable, CustomStringConvertible {
        case inet = 1  // NFPROTO_INET
        case arp = 3  // NFPROTO_ARP

        public var description: String { self == .inet ? "inet" : "arp" }
    }

    /// `set <name> { type <keyType>; [flags timeout;] }`
    public struct NamedSet: Sendable, Hashable {
        public var name: String
        public var keyType: KeyType
        public var hasTimeouts: Bool

        public init(name: String, keyType: KeyType, hasTimeouts: Bool) {
            self.name = name
            self.keyType = keyType
            self.hasTimeouts = hasTimeouts
        }
    }

    /// Set key types, by their nft datatype numbers (nftables' `datatype.h`).
    public enum KeyType: Sendable, Hashable {
        case ipv4Address

        var datatype: UInt32 { 7 }  // TYPE_IPADDR
        var length: UInt32 { 4 }
    }

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

        /// The hook number in `family` (the ARP family numbers its three hooks 0, 1, 2).
        func netfilterHook(_ family: Family) -> nf_inet_hooks {
            switch (family, self) {
            case (.arp, .input): nf_inet_hooks(rawValue: 0)  // NF_ARP_IN
            case (.arp, .output): nf_inet_hooks(rawValue: 1)  // NF_ARP_OUT
            case (.arp, _): nf_inet_hooks(rawValue: 2)  // NF_ARP_FORWARD
            case (.inet, .prerouting): NF_INET_PRE_ROUTING
            case (.inet, .input): NF_INET_LOCAL_IN
            case (.inet, .forward): NF_INET_FORWARD
            case (.inet, .output): NF_INET_LOCAL_OUT
            case (.inet, .postrouting): NF_INET_POST_ROUTING
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
        for name in chains.map(\.name) + sets.map(\.name) {
            guard (1...255).contains(name.utf8.count), !name.utf8.contains(0) else { throw .invalidObjectName(name) }
        }
    }
}

extension NFTablesSocket {
    /// Makes table `<ruleset.family> <ruleset.tableName>` exactly `ruleset`, in one transaction.
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
        let family = ruleset.family
        try commit { (batch: inout NetlinkBatch) throws(NFTablesError) in
            try batch.addTable(named: table, family: family)
            try batch.deleteTable(named: table, family: family)
            try batch.addTable(named: table, comment: ruleset.comment, family: family)
            for (index, set) in ruleset.sets.enumerated() {
                try batch.addSet(table: table, set, id: UInt32(index + 1), family: family)
            }
            for chain in ruleset.chains {
                try batch.addFilterChain(
                    table: table, named: chain.name, hook: chain.hook.netfilterHook(family), priority: chain.priority,
                    policy: chain.policy.verdict, family: family)
                for (index, expressions) in chain.rules.enumerated() {
                    try batch.appendRule(
                        table: table, chain: chain.name, index: index + 1, expressions: expressions, family: family)
                }
            }
        }
    }

    /// Gives `key` in set `setName` a fresh `timeout`, whether it is there, expired or absent: one
    /// transaction of add (a no-op if present), delete, add — re-adding alone would keep the old expiry.
    public func refreshElement(
        table: String, family: NFTRuleset.Family, set setName: String, key: [UInt8], timeout: Duration
    ) throws(NFTablesError) {
        let (seconds, attoseconds) = timeout.components
        let milliseconds = UInt64(max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
        try commit { (batch: inout NetlinkBatch) throws(NFTablesError) in
            try batch.setElement(
                .add, table: table, set: setName, key: key, timeoutMilliseconds: milliseconds, family: family)
            try batch.setElement(
                .delete, table: table, set: setName, key: key, timeoutMilliseconds: nil, family: family)
            try batch.setElement(
                .add, table: table, set: setName, key: key, timeoutMilliseconds: milliseconds, family: family)
        }
    }

    /// Removes `key` from set `setName` if it is there (add then delete, one transaction).
    public func removeElement(table: String, family: NFTRuleset.Family, set setName: String, key: [UInt8])
        throws(NFTablesError)
    {
        try commit { (batch: inout NetlinkBatch) throws(NFTablesError) in
            try batch.setElement(.add, table: table, set: setName, key: key, timeoutMilliseconds: 1, family: family)
            try batch.setElement(
                .delete, table: table, set: setName, key: key, timeoutMilliseconds: nil, family: family)
        }
    }
}
