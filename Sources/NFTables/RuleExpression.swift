internal import CLibNFTNL

/// One nf_tables expression, the unit a rule is made of; the pure model that ``makeNFTNLExpression()`` lowers
/// to libnftnl. Each case reads like its line in `nft --debug=netlink list ruleset`.
///
/// The expressions without a register operand use register 1 (`NFT_REG_1`, a 16-byte register), as nft
/// does for simple matches; the policy's lookups name 32-bit registers (``Register``) so that three class
/// numbers can sit side by side as one concatenated key.
enum RuleExpression: Hashable {
    /// `[ <source> => reg <n> ]`
    case load(LoadSource, into: Register)
    /// `[ lookup reg <from> set <name> dreg <into> ]`: a map lookup; a missing key ends the rule.
    case mapLookup(set: String, from: Register, into: Register)
    /// `[ objref sreg <from> set <name> ]`: the counter the key maps to counts the packet; a missing key
    /// ends the rule.
    case counterMap(set: String, from: Register)
    /// `[ objref type 1 name <name> ]`: the named counter counts the packet.
    case namedCounter(String)
    /// `[ limit rate <n>/second burst <b> type packets ]`: matches while within the rate.
    case limit(perSecond: UInt64, burst: UInt32)
    /// `[ log group <g> prefix <p> ]`: the packet goes to NFLOG group `g` for the daemon to read.
    case log(group: UInt16, prefix: String)
    /// `[ fib daddr type => reg 1 ]`: the route type of the destination (RTN_LOCAL 2: this host).
    case destinationAddressType
    /// `[ notrack ]`: conntrack skips the packet.
    case notrack
    /// `[ meta load <key> => reg 1 ]`
    case metaLoad(MetaKey)
    /// `[ cmp <op> reg 1 <data> ]`: `data` in network byte order; `greaterThan` compares it as a big-endian number.
    case compare(Comparison, [UInt8])
    /// `[ payload load <length>b @ transport header + <offset> => reg 1 ]`
    case transportHeaderLoad(offset: UInt32, length: UInt32)
    /// `[ payload load <length>b @ network header + <offset> => reg 1 ]` (for an ARP packet, the ARP header)
    case networkHeaderLoad(offset: UInt32, length: UInt32)
    /// `[ lookup reg 1 set <name> ]`, or with `inverted` the packet must not be in it (flag 0x1)
    case lookup(set: String, inverted: Bool)
    /// `[ immediate reg 0 <verdict> ]`: ends the rule with a verdict
    case verdict(NFTRuleset.Policy)
    /// `[ bitwise reg 1 = ( reg 1 & <mask> ) ^ <xor> ]`
    case bitwise(mask: [UInt8], xor: [UInt8])
    /// `[ exthdr load tcpopt <length>b @ <kind> + <offset> => reg 1 ]`; a packet without the option ends the rule.
    case tcpOptionLoad(kind: UInt8, offset: UInt32, length: UInt32)
    /// `[ exthdr write tcpopt reg 1 => <length>b @ <kind> + <offset> ]`; the kernel fixes up the TCP checksum.
    case tcpOptionWrite(kind: UInt8, offset: UInt32, length: UInt32)
    /// `[ counter pkts <n> bytes <n> ]`
    case counter
    /// `[ immediate reg 1 <data> ]`
    case immediate([UInt8])

    /// A register: `NFT_REG_1` (16 bytes) or one of the 32-bit registers `NFT_REG32_00`…`NFT_REG32_15`.
    struct Register: Hashable {
        var number: UInt32
        static let one = Register(number: NFT_REG_1.rawValue)
        /// `NFT_REG32_00 + index`.
        static func word(_ index: UInt32) -> Register { Register(number: NFT_REG32_00.rawValue + index) }
    }

    enum LoadSource: Hashable {
        case meta(MetaKey)
        case networkHeader(offset: UInt32, length: UInt32)
        case transportHeader(offset: UInt32, length: UInt32)
        /// `ct state`: a bit mask, host byte order (``ConntrackState``).
        case conntrackState
    }

    /// `ct state` bits (NF_CT_STATE_BIT).
    enum ConntrackState {
        static let invalid: UInt32 = 1
        static let established: UInt32 = 1 << 1
        static let related: UInt32 = 1 << 2
        static let new: UInt32 = 1 << 3
    }

    enum MetaKey: Hashable {
        case outputInterfaceName, inputInterfaceName, netfilterProtocol, layer4Protocol

        var rawValue: UInt32 {
            switch self {
            case .outputInterfaceName: NFT_META_OIFNAME.rawValue
            case .inputInterfaceName: NFT_META_IIFNAME.rawValue
            case .netfilterProtocol: NFT_META_NFPROTO.rawValue
            case .layer4Protocol: NFT_META_L4PROTO.rawValue
            }
        }
    }

    enum Comparison: Hashable {
        case equal, notEqual, greaterThan

        var rawValue: UInt32 {
            switch self {
            case .equal: NFT_CMP_EQ.rawValue
            case .notEqual: NFT_CMP_NEQ.rawValue
            case .greaterThan: NFT_CMP_GT.rawValue
            }
        }
    }

    /// The name libnftnl knows the expression type by (`nftnl_expr_alloc`).
    var typeName: String {
        switch self {
        case .load(.meta, _): "meta"
        case .load(.networkHeader, _), .load(.transportHeader, _): "payload"
        case .load(.conntrackState, _): "ct"
        case .mapLookup: "lookup"
        case .counterMap, .namedCounter: "objref"
        case .limit: "limit"
        case .log: "log"
        case .destinationAddressType: "fib"
        case .notrack: "notrack"
        case .metaLoad: "meta"
        case .compare: "cmp"
        case .transportHeaderLoad, .networkHeaderLoad: "payload"
        case .lookup: "lookup"
        case .verdict: "immediate"
        case .bitwise: "bitwise"
        case .tcpOptionLoad, .tcpOptionWrite: "exthdr"
        case .counter: "counter"
        case .immediate: "immediate"
        }
    }

    /// Allocates the libnftnl expression; the caller owns it (`nftnl_rule_add_expr` takes it over).
    func makeNFTNLExpression() -> OpaquePointer? {
        guard let expression = nftnl_expr_alloc(typeName) else { return nil }
        let register = NFT_REG_1.rawValue
        func set(_ attribute: Int, _ value: UInt32) { nftnl_expr_set_u32(expression, UInt16(attribute), value) }
        func set(_ attribute: Int, _ bytes: [UInt8]) {
            _ = bytes.withUnsafeBytes {
                nftnl_expr_set(expression, UInt16(attribute), $0.baseAddress, UInt32($0.count))
            }
        }
        func set(_ attribute: Int, _ text: String) { nftnl_expr_set_str(expression, UInt16(attribute), text) }
        switch self {
        case .load(.meta(let key), let into):
            set(NFTNL_EXPR_META_KEY, key.rawValue)
            set(NFTNL_EXPR_META_DREG, into.number)
        case .load(.networkHeader(let offset, let length), let into):
            set(NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER.rawValue)
            set(NFTNL_EXPR_PAYLOAD_OFFSET, offset)
            set(NFTNL_EXPR_PAYLOAD_LEN, length)
            set(NFTNL_EXPR_PAYLOAD_DREG, into.number)
        case .load(.transportHeader(let offset, let length), let into):
            set(NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER.rawValue)
            set(NFTNL_EXPR_PAYLOAD_OFFSET, offset)
            set(NFTNL_EXPR_PAYLOAD_LEN, length)
            set(NFTNL_EXPR_PAYLOAD_DREG, into.number)
        case .load(.conntrackState, let into):
            set(NFTNL_EXPR_CT_KEY, NFT_CT_STATE.rawValue)
            set(NFTNL_EXPR_CT_DREG, into.number)
        case .mapLookup(let name, let from, let into):
            set(NFTNL_EXPR_LOOKUP_SREG, from.number)
            set(NFTNL_EXPR_LOOKUP_DREG, into.number)
            set(NFTNL_EXPR_LOOKUP_SET, name)
        case .counterMap(let name, let from):
            set(NFTNL_EXPR_OBJREF_SET_SREG, from.number)
            set(NFTNL_EXPR_OBJREF_SET_NAME, name)
        case .namedCounter(let name):
            set(NFTNL_EXPR_OBJREF_IMM_TYPE, UInt32(NFT_OBJECT_COUNTER))
            set(NFTNL_EXPR_OBJREF_IMM_NAME, name)
        case .limit(let rate, let burst):
            nftnl_expr_set_u64(expression, UInt16(NFTNL_EXPR_LIMIT_RATE), rate)
            nftnl_expr_set_u64(expression, UInt16(NFTNL_EXPR_LIMIT_UNIT), 1)
            set(NFTNL_EXPR_LIMIT_BURST, burst)
            set(NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS.rawValue)
        case .log(let group, let prefix):
            nftnl_expr_set_u16(expression, UInt16(NFTNL_EXPR_LOG_GROUP), group)
            set(NFTNL_EXPR_LOG_PREFIX, prefix)
        case .destinationAddressType:
            set(NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE.rawValue)
            set(NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR.rawValue)
            set(NFTNL_EXPR_FIB_DREG, register)
        case .notrack:
            break
        case .metaLoad(let key):
            set(NFTNL_EXPR_META_KEY, key.rawValue)
            set(NFTNL_EXPR_META_DREG, register)
        case .compare(let comparison, let data):
            set(NFTNL_EXPR_CMP_SREG, register)
            set(NFTNL_EXPR_CMP_OP, comparison.rawValue)
            set(NFTNL_EXPR_CMP_DATA, data)
        case .transportHeaderLoad(let offset, let length):
            set(NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER.rawValue)
            set(NFTNL_EXPR_PAYLOAD_OFFSET, offset)
            set(NFTNL_EXPR_PAYLOAD_LEN, length)
            set(NFTNL_EXPR_PAYLOAD_DREG, register)
        case .networkHeaderLoad(let offset, let length):
            set(NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER.rawValue)
            set(NFTNL_EXPR_PAYLOAD_OFFSET, offset)
            set(NFTNL_EXPR_PAYLOAD_LEN, length)
            set(NFTNL_EXPR_PAYLOAD_DREG, register)
        case .lookup(let name, let inverted):
            set(NFTNL_EXPR_LOOKUP_SREG, register)
            nftnl_expr_set_str(expression, UInt16(NFTNL_EXPR_LOOKUP_SET), name)
            if inverted { set(NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV.rawValue) }
        case .verdict(let policy):
            set(NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT.rawValue)
            set(NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: policy.verdict))
        case .bitwise(let mask, let xor):
            precondition(mask.count == xor.count, "bitwise mask and xor differ in length")
            set(NFTNL_EXPR_BITWISE_SREG, register)
            set(NFTNL_EXPR_BITWISE_DREG, register)
            set(NFTNL_EXPR_BITWISE_LEN, UInt32(mask.count))
            set(NFTNL_EXPR_BITWISE_MASK, mask)
            set(NFTNL_EXPR_BITWISE_XOR, xor)
        case .tcpOptionLoad(let kind, let offset, let length):
            set(NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT.rawValue)
            nftnl_expr_set_u8(expression, UInt16(NFTNL_EXPR_EXTHDR_TYPE), kind)
            set(NFTNL_EXPR_EXTHDR_OFFSET, offset)
            set(NFTNL_EXPR_EXTHDR_LEN, length)
            set(NFTNL_EXPR_EXTHDR_DREG, register)
        case .tcpOptionWrite(let kind, let offset, let length):
            set(NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT.rawValue)
            nftnl_expr_set_u8(expression, UInt16(NFTNL_EXPR_EXTHDR_TYPE), kind)
            set(NFTNL_EXPR_EXTHDR_OFFSET, offset)
            set(NFTNL_EXPR_EXTHDR_LEN, length)
            set(NFTNL_EXPR_EXTHDR_SREG, register)
        case .counter:
            break
        case .immediate(let data):
            set(NFTNL_EXPR_IMM_DREG, register)
            set(NFTNL_EXPR_IMM_DATA, data)
        }
        return expression
    }
}
