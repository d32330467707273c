// How the MSS clamp is spelled in nf_tables expressions: what `nft --debug=netlink` prints for
//   oifname "ovl0" meta nfproto ipv4 tcp flags & (syn|rst) == syn tcp option maxseg size > 1240 counter \
//       tcp option maxseg size set 1240
// (nft 1.0.6 on this kernel), built here without nft so the daemon needs neither the CLI nor libnftables.

#if canImport(Glibc)
    internal import Glibc
#endif

extension MSSClampRuleset {
    /// The chain meshgate's rules live in: `type filter hook forward priority mangle; policy accept`.
    static let chainName = "forward"
    /// `priority mangle` (NF_IP_PRI_MANGLE): before the filter chains, so a SYN is clamped whatever they decide.
    static let chainPriority: Int32 = -150
    /// The table's comment, so an operator reading `nft list ruleset` knows who owns it.
    static let tableComment = "managed by meshgated; replaced on every start"

    /// TCP option kind 2, Maximum Segment Size (RFC 9293 §3.2): kind (1 byte), length (1), MSS (2).
    static let maximumSegmentSizeOption: UInt8 = 2

    /// The direction a rule matches on the overlay interface.
    enum Direction: CaseIterable {
        /// Forwarded towards the overlay: `oifname`.
        case intoOverlay
        /// Forwarded out of the overlay: `iifname`.
        case outOfOverlay
    }

    enum Family: CaseIterable {
        case ipv4, ipv6

        /// `meta nfproto` values (NFPROTO_IPV4, NFPROTO_IPV6).
        var netfilterProtocol: UInt8 {
            switch self {
            case .ipv4: 2
            case .ipv6: 10
            }
        }
    }

    /// The clamp as a generic ruleset: one forward chain at mangle priority, policy accept.
    public var ruleset: NFTRuleset {
        NFTRuleset(
            tableName: tableName, comment: Self.tableComment,
            chains: [
                NFTRuleset.Chain(
                    name: Self.chainName, hook: .forward, priority: Self.chainPriority, policy: .accept, rules: rules)
            ])
    }

    /// The rules of the chain, in order: IPv4 into and out of the overlay, then IPv6.
    var rules: [[RuleExpression]] {
        Family.allCases.flatMap { family in
            Direction.allCases.map { direction in clampRule(direction: direction, family: family) }
        }
    }

    func clampRule(direction: Direction, family: Family) -> [RuleExpression] {
        let mss = family == .ipv4 ? ipv4MSS : ipv6MSS
        let mssBytes = [UInt8(mss >> 8), UInt8(mss & 0xFF)]
        let tcpFlagsOffset: UInt32 = 13  // TCP header byte 13: CWR ECE URG ACK PSH RST SYN FIN
        let syn: UInt8 = 0x02
        let rst: UInt8 = 0x04
        let kind = Self.maximumSegmentSizeOption
        return [
            .metaLoad(direction == .intoOverlay ? .outputInterfaceName : .inputInterfaceName),
            .compare(.equal, Self.interfaceNameBytes(overlayInterface)),
            .metaLoad(.netfilterProtocol),
            .compare(.equal, [family.netfilterProtocol]),
            .metaLoad(.layer4Protocol),
            .compare(.equal, [UInt8(IPPROTO_TCP)]),
            .transportHeaderLoad(offset: tcpFlagsOffset, length: 1),
            .bitwise(mask: [syn | rst], xor: [0]),
            .compare(.equal, [syn]),
            .tcpOptionLoad(kind: kind, offset: 2, length: 2),
            .compare(.greaterThan, mssBytes),
            .counter,
            .immediate(mssBytes),
            .tcpOptionWrite(kind: kind, offset: 2, length: 2),
        ]
    }

    /// An interface name as `meta oifname` loads it: the bytes NUL-padded to IFNAMSIZ (16).
    static func interfaceNameBytes(_ name: String) -> [UInt8] {
        var bytes = Array(name.utf8.prefix(15))
        bytes += repeatElement(0, count: 16 - bytes.count)
        return bytes
    }
}
