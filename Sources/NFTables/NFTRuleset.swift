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

    /// Named counters (`counter <name> {}`) the rules and object maps refer to (created first).
    public var counters: [String] = []

    /// `set <name> { type <keyType>; [flags timeout|interval;] }`, or a map from keys to values or counters.
    public struct NamedSet: Sendable, Hashable {
        public var name: String
        public var keyType: KeyType
        public var hasTimeouts: Bool
        /// Elements are ranges (`flags interval`): each ``Element`` with ``Element/isIntervalEnd`` closes one.
        public var isInterval: Bool
        /// What a key maps to; nil for a plain set.
        public var mapsTo: MapData?
        /// The elements the set is created with, in the same transaction.
        public var elements: [Element]

        public init(
            name: String, keyType: KeyType, hasTimeouts: Bool = false, isInterval: Bool = false,
            mapsTo: MapData? = nil, elements: [Element] = []
        ) {
            self.name = name
            self.keyType = keyType
            self.hasTimeouts = hasTimeouts
            self.isInterval = isInterval
            self.mapsTo = mapsTo
            self.elements = elements
        }
    }

    /// What a map's keys lead to.
    public enum MapData: Sendable, Hashable {
        /// A value of this type, loaded into a register by the lookup.
        case value(KeyType)
        /// A named counter (`counter` object map), incremented by the lookup.
        case counter
    }

    /// One element: the key bytes in the order the kernel compares them (network order for addresses and
    /// ports), and for a map the value or counter name.
    public struct Element: Sendable, Hashable {
        public var key: [UInt8]
        /// The inclusive upper end of a range element of a concatenated interval set (its fields' ranges).
        public var keyEnd: [UInt8]?
        public var isIntervalEnd: Bool
        public var value: [UInt8]?
        public var counter: String?

        public init(
            key: [UInt8], keyEnd: [UInt8]? = nil, isIntervalEnd: Bool = false, value: [UInt8]? = nil,
            counter: String? = nil
        ) {
            self.key = key
            self.keyEnd = keyEnd
            self.isIntervalEnd = isIntervalEnd
            self.value = value
            self.counter = counter
        }
    }

    /// Set key types, by their nft datatype numbers (nftables' `datatype.h`), so `nft list` prints them.
    public indirect enum KeyType: Sendable, Hashable {
        case ipv4Address, ipv6Address, inetService, inetProtocol, mark
        /// A plain integer of this many bytes (`TYPE_INTEGER`).
        case integer(bytes: UInt32)
        /// `a . b . c`: each field padded to a 32-bit register.
        case concatenation([KeyType])

        var datatype: UInt32 {
            switch self {
            case .ipv4Address: 7  // TYPE_IPADDR
            case .ipv6Address: 8  // TYPE_IP6ADDR
            case .inetProtocol: 12  // TYPE_INET_PROTOCOL
            case .inetService: 13  // TYPE_INET_SERVICE
            case .mark: 19  // TYPE_MARK
            case .integer: 4  // TYPE_INTEGER
            // nft numbers a concatenation by shifting each field's type in, 6 bits (TYPE_BITS) apiece.
            case .concatenation(let fields): fields.reduce(0) { $0 << 6 | $1.datatype }
            }
        }

        /// The fields of a concatenation, their unpadded lengths in bytes (`NFTA_SET_DESC_CONCAT`).
        var fieldLengths: [UInt8]? {
            guard case .concatenation(let fields) = self else { return nil }
            return fields.map { UInt8($0.length) }
        }

        /// The key's length in bytes.
        public var length: UInt32 {
            switch self {
            case .ipv4Address, .mark: 4
            case .ipv6Address: 16
            case .inetService: 2
            case .inetProtocol: 1
            case .integer(let bytes): bytes
            case .concatenation(let fields): fields.reduce(0) { $0 + ($1.length + 3) / 4 * 4 }
            }
        }
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
        for name in chains.map(\.name) + sets.map(\.name) + counters {
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
            for name in ruleset.counters {
                try batch.addCounter(table: table, named: name, family: family)
            }
            for (index, set) in ruleset.sets.enumerated() {
                try batch.addSet(table: table, set, id: UInt32(index + 1), family: family)
                try batch.addElements(table: table, set, family: family)
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
