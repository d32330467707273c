public import Policy

/// The least-privilege policy as nf_tables objects in meshgate's table: default deny for traffic forwarded
/// between the overlay and anything else, in both directions.
///
/// ```
/// chain policy_forward {
///   type filter hook forward priority filter; policy accept;
///   iifname != <overlay> oifname != <overlay> accept          # not crossing the overlay: not ours
///   ct state established,related accept
///   icmp type destination-unreachable code frag-needed accept  # path MTU discovery, always
///   icmpv6 type packet-too-big accept
///   counter name ip saddr . ip daddr . meta l4proto . th dport map @acl4 accept
///   counter name ip saddr . ip daddr . meta l4proto map @acl4_proto accept
///   (the same for IPv6: @acl6, @acl6_proto)
///   ct state new tcp flags & syn == 0 counter name ip daddr . ip saddr . meta l4proto . th sport map @acl4 accept
///   limit rate 5/second log group <g> prefix "deny forward"
///   counter name deny_forward drop
/// }
/// ```
/// `@acl4` is an interval map over the concatenation (the kernel's pipapo set): one lookup per new flow,
/// whatever the number of rules, leading to the counter of the rule that allows the flow. Its elements are
/// built from the policy's classes (``PolicyTables``), so they never overlap and each flow is counted
/// under the first rule that allows it, as `meshgate policy test` reports. Established packets stop at the
/// conntrack rule and never reach the lookup.
///
/// The reversed rule picks up, mid-stream, the reply direction of an allowed TCP connection that this
/// gateway has no conntrack entry for (it just became primary): the first packet it sees of a flow may be
/// the server's answer. It never accepts a SYN, so nobody opens a connection the policy does not allow.
public struct PolicyRuleset: Sendable {
    public var tables: PolicyTables
    public var overlayInterface: String
    /// The NFLOG group denied packets are copied to (rate-limited), for the audit stream.
    public var logGroup: UInt16

    public static let chainName = "policy_forward"
    public static let denyCounter = "deny_forward"
    public static let denyLogPrefix = "deny forward"
    /// Denied packets logged per second (with a burst of twice that): enough to see what is refused,
    /// too few for a flood to turn into a log flood.
    public static let deniedLogsPerSecond: UInt64 = 5

    public init(tables: PolicyTables, overlayInterface: String, logGroup: UInt16) {
        self.tables = tables
        self.overlayInterface = overlayInterface
        self.logGroup = logGroup
    }

    /// The counter object of rule `ruleNames[index]`: `acls[2]` → `acls_2`.
    public static func counterName(forRule name: String) -> String {
        String(name.map { $0 == "[" ? "_" : $0 }.filter { $0 != "]" })
    }

    /// Adds the policy's counters, maps and chain to `ruleset`.
    public func add(to ruleset: inout NFTRuleset) {
        ruleset.counters += tables.ruleNames.map(Self.counterName(forRule:))
        ruleset.counters.append(Self.denyCounter)
        ruleset.sets += sets
        ruleset.chains.append(
            NFTRuleset.Chain(name: Self.chainName, hook: .forward, priority: 0, policy: .accept, rules: rules))
    }

    // MARK: - Maps

    static func portMap(_ family: AddressFamily) -> String { family == .ipv4 ? "acl4" : "acl6" }
    static func protocolMap(_ family: AddressFamily) -> String { family == .ipv4 ? "acl4_proto" : "acl6_proto" }

    var sets: [NFTRuleset.NamedSet] {
        let counters = tables.ruleNames.map(Self.counterName(forRule:))
        let elements = tables.kernelElements()
        var sets: [NFTRuleset.NamedSet] = []
        for family in AddressFamily.allCases {
            let address: NFTRuleset.KeyType = family == .ipv4 ? .ipv4Address : .ipv6Address
            let bytes = family.byteCount
            var withPorts: [NFTRuleset.Element] = []
            var withoutPorts: [NFTRuleset.Element] = []
            for item in elements where item.family == family {
                var key = Self.bigEndian(item.source.lowerBound, bytes: bytes)
                key += Self.bigEndian(item.destination.lowerBound, bytes: bytes)
                key += [item.protocols.lowerBound, 0, 0, 0]
                var end = Self.bigEndian(item.source.upperBound, bytes: bytes)
                end += Self.bigEndian(item.destination.upperBound, bytes: bytes)
                end += [item.protocols.upperBound, 0, 0, 0]
                if let ports = item.ports {
                    key += [UInt8(ports.lowerBound >> 8), UInt8(ports.lowerBound & 0xFF), 0, 0]
                    end += [UInt8(ports.upperBound >> 8), UInt8(ports.upperBound & 0xFF), 0, 0]
                    withPorts.append(NFTRuleset.Element(key: key, keyEnd: end, counter: counters[item.rule]))
                } else {
                    withoutPorts.append(NFTRuleset.Element(key: key, keyEnd: end, counter: counters[item.rule]))
                }
            }
            sets.append(
                NFTRuleset.NamedSet(
                    name: Self.portMap(family),
                    keyType: .concatenation([address, address, .inetProtocol, .inetService]),
                    isInterval: true, mapsTo: .counter, elements: withPorts))
            sets.append(
                NFTRuleset.NamedSet(
                    name: Self.protocolMap(family), keyType: .concatenation([address, address, .inetProtocol]),
                    isInterval: true, mapsTo: .counter, elements: withoutPorts))
        }
        return sets
    }

    static func bigEndian(_ value: UInt128, bytes: Int) -> [UInt8] {
        (0..<bytes).map { UInt8(truncatingIfNeeded: value >> (8 * UInt128(bytes - 1 - $0))) }
    }

    // MARK: - Rules

    typealias Expression = RuleExpression

    var rules: [[RuleExpression]] {
        let overlay = MSSClampRuleset.interfaceNameBytes(overlayInterface)
        var rules: [[RuleExpression]] = []
        rules.append([
            .metaLoad(.inputInterfaceName), .compare(.notEqual, overlay), .metaLoad(.outputInterfaceName),
            .compare(.notEqual, overlay), .verdict(.accept),
        ])
        var established: [RuleExpression] = Self.conntrackState(
            Expression.ConntrackState.established | Expression.ConntrackState.related)
        established.append(.verdict(.accept))
        rules.append(established)
        // ICMP type 3 code 4 (RFC 792, fragmentation needed) and ICMPv6 type 2 (RFC 4443, packet too big).
        var fragmentationNeeded: [RuleExpression] = Self.family(.ipv4)
        fragmentationNeeded += Self.protocolIs(1)
        fragmentationNeeded += [
            .transportHeaderLoad(offset: 0, length: 2), .compare(.equal, [3, 4]), .verdict(.accept),
        ]
        rules.append(fragmentationNeeded)
        var packetTooBig: [RuleExpression] = Self.family(.ipv6)
        packetTooBig += Self.protocolIs(58)
        packetTooBig += [.transportHeaderLoad(offset: 0, length: 1), .compare(.equal, [2]), .verdict(.accept)]
        rules.append(packetTooBig)
        for family in AddressFamily.allCases {
            rules.append(Self.lookup(family, ports: .destination))
            rules.append(Self.lookup(family, ports: nil))
        }
        for family in AddressFamily.allCases {
            var rule: [RuleExpression] = Self.conntrackState(Expression.ConntrackState.new)
            rule += Self.protocolIs(6)
            rule.append(.transportHeaderLoad(offset: 13, length: 1))  // TCP flags
            rule.append(.bitwise(mask: [0x02], xor: [0]))
            rule.append(.compare(.equal, [0]))  // not a SYN
            rule += Self.lookup(family, ports: .source)
            rules.append(rule)
        }
        rules.append([
            .limit(perSecond: Self.deniedLogsPerSecond, burst: UInt32(Self.deniedLogsPerSecond * 2)),
            .log(group: logGroup, prefix: Self.denyLogPrefix),
        ])
        rules.append([.namedCounter(Self.denyCounter), .verdict(.drop)])
        return rules
    }

    enum PortField { case destination, source }

    /// `meta nfproto <family>`, then the key loaded into consecutive 32-bit registers as nft lays out a
    /// concatenation — addresses, protocol, port — and the counter map looked up with it: `ports: .source`
    /// swaps the addresses and takes the source port (the reply direction of an allowed flow).
    static func lookup(_ family: AddressFamily, ports: PortField?) -> [RuleExpression] {
        let isV4 = family == .ipv4
        let length: UInt32 = isV4 ? 4 : 16
        let sourceOffset: UInt32 = isV4 ? 12 : 8
        let destinationOffset: UInt32 = isV4 ? 16 : 24
        let words = length / 4
        let reversed = ports == .source
        var rule: [RuleExpression] = Self.family(family)
        let first = reversed ? destinationOffset : sourceOffset
        let second = reversed ? sourceOffset : destinationOffset
        rule.append(.load(.networkHeader(offset: first, length: length), into: .word(0)))
        rule.append(.load(.networkHeader(offset: second, length: length), into: .word(words)))
        rule.append(.load(.meta(.layer4Protocol), into: .word(2 * words)))
        if let ports {
            let offset: UInt32 = ports == .destination ? 2 : 0
            rule.append(.load(.transportHeader(offset: offset, length: 2), into: .word(2 * words + 1)))
            rule.append(.counterMap(set: portMap(family), from: .word(0)))
        } else {
            rule.append(.counterMap(set: protocolMap(family), from: .word(0)))
        }
        rule.append(.verdict(.accept))
        return rule
    }

    /// `ct state & mask != 0`
    static func conntrackState(_ mask: UInt32) -> [RuleExpression] {
        let zero: [UInt8] = [0, 0, 0, 0]
        let maskBytes = withUnsafeBytes(of: mask) { Array($0) }  // ct state is host byte order
        return [.load(.conntrackState, into: .one), .bitwise(mask: maskBytes, xor: zero), .compare(.notEqual, zero)]
    }

    static func family(_ family: AddressFamily) -> [RuleExpression] {
        let number: UInt8 = family == .ipv4 ? 2 : 10
        return [.metaLoad(.netfilterProtocol), .compare(.equal, [number])]
    }

    static func protocolIs(_ number: UInt8) -> [RuleExpression] {
        [.metaLoad(.layer4Protocol), .compare(.equal, [number])]
    }
}
