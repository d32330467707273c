internal import CLibNFTNL
internal import Glibc
internal import Netlink

/// Everything meshgate puts in its `inet` table, applied together so that a reload swaps all of it in one
/// transaction: the MSS clamp, the forwarding policy (if there is one) and the input baseline (if enabled).
///
/// The policy and the input baseline use conntrack, which then tracks every packet of the namespace,
/// the tunnel's own UDP datagrams included. Those need no state (the input baseline accepts the
/// WireGuard port by number), so with either, two chains at `priority raw` exempt them:
/// ```
/// chain untracked_in  { type filter hook prerouting priority raw; udp dport <port> fib daddr type local notrack }
/// chain untracked_out { type filter hook output priority raw; udp sport <port> notrack }
/// ```
public struct GatewayRuleset: Sendable {
    public var clamp: MSSClampRuleset
    public var policy: PolicyRuleset?
    public var firewall: GatewayFirewall?
    /// Relayed traffic: counted, and never passed on through a second relay.
    public var relayGuard: RelayGuard?
    /// The WireGuard listen port, whose datagrams conntrack skips.
    public var wireGuardPort: UInt16?

    public init(
        clamp: MSSClampRuleset, policy: PolicyRuleset?, firewall: GatewayFirewall?, relayGuard: RelayGuard? = nil,
        wireGuardPort: UInt16? = nil
    ) {
        self.clamp = clamp
        self.policy = policy
        self.firewall = firewall
        self.relayGuard = relayGuard
        self.wireGuardPort = wireGuardPort
    }

    /// `priority raw` (NF_IP_PRI_RAW): before conntrack.
    static let rawPriority: Int32 = -300

    public var ruleset: NFTRuleset {
        var ruleset = clamp.ruleset
        policy?.add(to: &ruleset)
        firewall?.add(to: &ruleset)
        relayGuard?.add(to: &ruleset)
        if let port = wireGuardPort, policy != nil || firewall != nil {
            let portBytes: [UInt8] = [UInt8(port >> 8), UInt8(port & 0xFF)]
            let local: [UInt8] = withUnsafeBytes(of: UInt32(2)) { Array($0) }  // RTN_LOCAL, host byte order
            // The cheap matches first: the route lookup of `fib` runs only for datagrams to the port.
            var incoming: [RuleExpression] = PolicyRuleset.protocolIs(17)
            incoming += [.transportHeaderLoad(offset: 2, length: 2), .compare(.equal, portBytes)]
            incoming += [.destinationAddressType, .compare(.equal, local), .notrack]
            var outgoing: [RuleExpression] = PolicyRuleset.protocolIs(17)
            outgoing += [.transportHeaderLoad(offset: 0, length: 2), .compare(.equal, portBytes), .notrack]
            ruleset.chains.append(
                NFTRuleset.Chain(
                    name: "untracked_in", hook: .prerouting, priority: Self.rawPriority, policy: .accept,
                    rules: [incoming]))
            ruleset.chains.append(
                NFTRuleset.Chain(
                    name: "untracked_out", hook: .output, priority: Self.rawPriority, policy: .accept,
                    rules: [outgoing]))
        }
        return ruleset
    }
}

extension NFTablesSocket {
    /// Replaces meshgate's `inet` table with `gateway`, in one transaction.
    public func apply(_ gateway: GatewayRuleset) throws(NFTablesError) {
        try gateway.clamp.validate()
        try apply(gateway.ruleset)
    }

    /// The packets and bytes of every named counter in table `inet <table>`, by name.
    ///
    /// - Throws: ``NFTablesError/tableNotFound(_:)`` if the table is absent, or another ``NFTablesError``.
    public func namedCounters(table: String) throws(NFTablesError) -> [String: RuleCounters] {
        guard try tableExists(named: table) else { throw .tableNotFound(table) }
        guard let filter = nftnl_obj_alloc() else { throw .socket(operation: "nftnl_obj_alloc", errno: ENOMEM) }
        defer { nftnl_obj_free(filter) }
        nftnl_obj_set_u32(filter, UInt16(NFTNL_OBJ_FAMILY), UInt32(NetlinkBatch.family))
        nftnl_obj_set_str(filter, UInt16(NFTNL_OBJ_TABLE), table)
        nftnl_obj_set_u32(filter, UInt16(NFTNL_OBJ_TYPE), UInt32(NFT_OBJECT_COUNTER))
        var counters: [String: RuleCounters] = [:]
        let operation = "GETOBJ inet \(table) counters"
        try query(
            operation, type: NFT_MSG_GETOBJ, flags: NLM_F_DUMP,
            payload: { nftnl_obj_nlmsg_build_payload($0, filter) }, onAttempt: { counters = [:] },
            onReply: { (header: UnsafePointer<nlmsghdr>) throws(NFTablesError) in
                guard let object = nftnl_obj_alloc() else {
                    throw .socket(operation: "nftnl_obj_alloc", errno: ENOMEM)
                }
                defer { nftnl_obj_free(object) }
                guard nftnl_obj_nlmsg_parse(header, object) >= 0 else { throw .malformedReply(operation: operation) }
                guard let objectTable = nftnl_obj_get_str(object, UInt16(NFTNL_OBJ_TABLE)),
                    String(cString: objectTable) == table,
                    nftnl_obj_get_u32(object, UInt16(NFTNL_OBJ_TYPE)) == UInt32(NFT_OBJECT_COUNTER),
                    let name = nftnl_obj_get_str(object, UInt16(NFTNL_OBJ_NAME))
                else { return }
                counters[String(cString: name)] = RuleCounters(
                    packets: nftnl_obj_get_u64(object, UInt16(NFTNL_OBJ_CTR_PKTS)),
                    bytes: nftnl_obj_get_u64(object, UInt16(NFTNL_OBJ_CTR_BYTES)))
            })
        return counters
    }
}
