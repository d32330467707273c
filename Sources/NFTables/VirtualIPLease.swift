/// A lease on answering ARP for the HA virtual IP, enforced by the kernel so that it holds while the daemon
/// cannot run (SIGSTOP, a stalled VM, a process that stopped scheduling).
///
/// Programmed by ``NFTablesSocket/apply(_:)`` as
/// ```
/// table arp <tableName> {                        # comment "managed by meshgated"
///   set vip_lease { type ipv4_addr; flags timeout; }
///   chain output {
///     type filter hook output priority filter; policy accept;
///     arp saddr ip <vip> arp saddr ip != @vip_lease counter drop
///   }
/// }
/// ```
/// The primary keeps the lease — one element, the VIP, with a timeout shorter than the standby's failure
/// detection — fresh with ``NFTablesSocket/refreshElement(table:family:set:key:timeout:)`` every hello
/// interval. A primary that freezes keeps its address (a kernel address lifetime has whole-second
/// granularity), but within the lease timeout its kernel stops answering ARP for the VIP, so when the
/// standby takes over, no LAN host is pulled back to the frozen one. Our own gratuitous ARPs go out through
/// an `AF_PACKET` socket, which this hook does not see.
public struct VirtualIPLease: Sendable, Hashable {
    public static let setName = "vip_lease"
    public var tableName: String
    /// The IPv4 virtual IP, in network byte order.
    public var address: [UInt8]

    public init(tableName: String = MSSClampRuleset.defaultTableName, address: [UInt8]) {
        self.tableName = tableName
        self.address = address
    }

    /// The `arp` table that drops ARP for the VIP without a lease.
    public var ruleset: NFTRuleset {
        // The sender protocol address of an Ethernet/IPv4 ARP packet: 8 bytes of fixed header, 6 of MAC.
        let senderAddress = RuleExpression.networkHeaderLoad(offset: 14, length: 4)
        let rule: [RuleExpression] = [
            senderAddress, .compare(.equal, address), .lookup(set: Self.setName, inverted: true), .counter,
            .verdict(.drop),
        ]
        return NFTRuleset(
            tableName: tableName, family: .arp, comment: MSSClampRuleset.tableComment,
            chains: [NFTRuleset.Chain(name: "output", hook: .output, priority: 0, policy: .accept, rules: [rule])],
            sets: [NFTRuleset.NamedSet(name: Self.setName, keyType: .ipv4Address, hasTimeouts: true)])
    }
}

extension NFTablesSocket {
    /// Grants or renews the lease for `timeout`.
    public func renew(_ lease: VirtualIPLease, for timeout: Duration) throws(NFTablesError) {
        try refreshElement(
            table: lease.tableName, family: .arp, set: VirtualIPLease.setName, key: lease.address, timeout: timeout)
    }

    /// Ends the lease at once.
    public func revoke(_ lease: VirtualIPLease) throws(NFTablesError) {
        try removeElement(table: lease.tableName, family: .arp, set: VirtualIPLease.setName, key: lease.address)
    }

    /// Deletes table `arp <name>` if it exists.
    public func removeARPTable(named name: String) throws(NFTablesError) {
        try MSSClampRuleset.validateTableName(name)
        try commit { (batch: inout NetlinkBatch) throws(NFTablesError) in
            try batch.addTable(named: name, family: .arp)
            try batch.deleteTable(named: name, family: .arp)
        }
    }
}
