public import NetworkTypes
internal import Policy

/// The gateway's own input baseline: default drop, except what a gateway needs and its operators use.
///
/// ```
/// chain input {
///   type filter hook input priority filter; policy drop;
///   iifname "lo" accept
///   ct state established,related accept
///   icmp type { destination-unreachable, time-exceeded, parameter-problem, echo-request } accept
///   icmpv6 type { errors, echo-request, router/neighbour discovery } accept
///   meta nfproto ipv4 udp dport 68 accept                      # DHCP client
///   meta nfproto ipv6 udp dport 546 accept                     # DHCPv6 client
///   udp dport <listen_port> accept                             # WireGuard, from anywhere
///   iifname <overlay> udp dport { 51821, 51822 } accept        # routes and probes, inside the tunnel only
///   iifname <lan> udp dport 51823 accept                       # LAN hellos from the HA partner
///   ip saddr @mgmt4 tcp dport { <ssh>, <metrics> } accept      # management sources only
///   limit rate 5/second log group <g> prefix "deny input"
///   counter name deny_input drop
/// }
/// ```
public struct GatewayFirewall: Sendable, Hashable {
    public var overlayInterface: String
    public var lanInterface: String?
    public var wireGuardPort: UInt16
    /// UDP ports meshgate listens on inside the overlay (route protocol, probes).
    public var overlayPorts: [UInt16]
    /// The LAN hello port, on ``lanInterface``.
    public var lanHelloPort: UInt16
    public var managementSources: [IPPrefix]
    /// TCP ports open to the management sources (SSH, metrics).
    public var managementPorts: [UInt16]
    public var logGroup: UInt16

    public static let chainName = "input"
    public static let denyCounter = "deny_input"
    public static let denyLogPrefix = "deny input"

    public init(
        overlayInterface: String, lanInterface: String?, wireGuardPort: UInt16, overlayPorts: [UInt16],
        lanHelloPort: UInt16, managementSources: [IPPrefix], managementPorts: [UInt16], logGroup: UInt16
    ) {
        self.overlayInterface = overlayInterface
        self.lanInterface = lanInterface
        self.wireGuardPort = wireGuardPort
        self.overlayPorts = overlayPorts
        self.lanHelloPort = lanHelloPort
        self.managementSources = managementSources
        self.managementPorts = managementPorts
        self.logGroup = logGroup
    }

    static func managementSet(_ family: AddressFamily) -> String { family == .ipv4 ? "mgmt4" : "mgmt6" }

    /// Adds the input chain, its management sets and counter to `ruleset`.
    public func add(to ruleset: inout NFTRuleset) {
        ruleset.counters.append(Self.denyCounter)
        for family in AddressFamily.allCases {
            ruleset.sets.append(
                .addresses(named: Self.managementSet(family), family: family, covering: managementSources))
        }
        ruleset.chains.append(
            NFTRuleset.Chain(name: Self.chainName, hook: .input, priority: 0, policy: .drop, rules: rules))
    }

    /// ICMP types a host must receive (RFC 792): destination unreachable, time exceeded, parameter problem,
    /// echo request.
    static let icmpTypes: [UInt8] = [3, 11, 12, 8]
    /// ICMPv6 (RFC 4443, RFC 4861): the four error types, echo request, router solicitation and
    /// advertisement, neighbour solicitation and advertisement (without them IPv6 stops working).
    static let icmpv6Types: [UInt8] = [1, 2, 3, 4, 128, 133, 134, 135, 136]
    /// The DHCPv6 client port (RFC 8415).
    static let dhcpv6ClientPort: UInt16 = 546
    /// The DHCPv4 client port (RFC 2131): a lease renewal answered by a relay is not a tracked reply.
    static let dhcpClientPort: UInt16 = 68

    var rules: [[RuleExpression]] {
        typealias P = PolicyRuleset
        var rules: [[RuleExpression]] = []
        let loopback = MSSClampRuleset.interfaceNameBytes("lo")
        rules.append([.metaLoad(.inputInterfaceName), .compare(.equal, loopback), .verdict(.accept)])
        var established: [RuleExpression] = P.conntrackState(
            RuleExpression.ConntrackState.established | RuleExpression.ConntrackState.related)
        established.append(.verdict(.accept))
        rules.append(established)
        for (family, number, types) in [(AddressFamily.ipv4, UInt8(1), Self.icmpTypes), (.ipv6, 58, Self.icmpv6Types)] {
            for type in types {
                var rule: [RuleExpression] = P.family(family)
                rule += P.protocolIs(number)
                rule.append(.transportHeaderLoad(offset: 0, length: 1))
                rule.append(.compare(.equal, [type]))
                rule.append(.verdict(.accept))
                rules.append(rule)
            }
        }
        var dhcp: [RuleExpression] = P.family(.ipv4)
        dhcp += Self.port(17, Self.dhcpClientPort)
        dhcp.append(.verdict(.accept))
        rules.append(dhcp)
        var dhcpv6: [RuleExpression] = P.family(.ipv6)
        dhcpv6 += Self.port(17, Self.dhcpv6ClientPort)
        dhcpv6.append(.verdict(.accept))
        rules.append(dhcpv6)
        var wireGuard: [RuleExpression] = Self.port(17, wireGuardPort)
        wireGuard.append(.verdict(.accept))
        rules.append(wireGuard)
        let overlay = MSSClampRuleset.interfaceNameBytes(overlayInterface)
        for port in overlayPorts {
            var rule: [RuleExpression] = [.metaLoad(.inputInterfaceName), .compare(.equal, overlay)]
            rule += Self.port(17, port)
            rule.append(.verdict(.accept))
            rules.append(rule)
        }
        if let lanInterface {
            let lan = MSSClampRuleset.interfaceNameBytes(lanInterface)
            var rule: [RuleExpression] = [.metaLoad(.inputInterfaceName), .compare(.equal, lan)]
            rule += Self.port(17, lanHelloPort)
            rule.append(.verdict(.accept))
            rules.append(rule)
        }
        for family in AddressFamily.allCases {
            let isV4 = family == .ipv4
            for port in managementPorts {
                var rule: [RuleExpression] = P.family(family)
                rule.append(.networkHeaderLoad(offset: isV4 ? 12 : 8, length: isV4 ? 4 : 16))
                rule.append(.lookup(set: Self.managementSet(family), inverted: false))
                rule += Self.port(6, port)
                rule.append(.verdict(.accept))
                rules.append(rule)
            }
        }
        let burst = UInt32(PolicyRuleset.deniedLogsPerSecond * 2)
        rules.append([
            .limit(perSecond: PolicyRuleset.deniedLogsPerSecond, burst: burst),
            .log(group: logGroup, prefix: Self.denyLogPrefix),
        ])
        rules.append([.namedCounter(Self.denyCounter), .verdict(.drop)])
        return rules
    }

    /// `meta l4proto <number> th dport <port>`
    static func port(_ number: UInt8, _ port: UInt16) -> [RuleExpression] {
        var rule: [RuleExpression] = PolicyRuleset.protocolIs(number)
        rule.append(.transportHeaderLoad(offset: 2, length: 2))
        rule.append(.compare(.equal, [UInt8(port >> 8), UInt8(port & 0xFF)]))
        return rule
    }
}
