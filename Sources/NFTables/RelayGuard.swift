public import NetworkTypes
internal import Policy

/// What a gateway does with traffic it relays between two tunnels (in on the overlay, out on the overlay):
/// it counts it, and drops what it would itself send on through another relay, so that no packet crosses
/// more than two tunnels (docs/route-protocol.md#relays).
///
/// ```
/// chain relay_transit {
///   type filter hook forward priority -175; policy accept;
///   iifname <overlay> oifname <overlay> meta nfproto ipv4 ip daddr @relayed4 counter name relay_loop drop
///   iifname <overlay> oifname <overlay> meta nfproto ipv6 ip6 daddr @relayed6 counter name relay_loop drop
///   iifname <overlay> oifname <overlay> counter name relay_transit
/// }
/// ```
/// The sets hold the prefixes this gateway routes through a relay (usually none). Runs before the policy
/// chain, which then judges transit like any forwarded flow: the same policy file holds on every gateway.
public struct RelayGuard: Sendable, Hashable {
    public var overlayInterface: String
    /// The prefixes this gateway sends through a relay.
    public var relayed: [IPPrefix]

    public static let chainName = "relay_transit"
    public static let loopCounter = "relay_loop"
    public static let transitCounter = "relay_transit"
    /// After conntrack (-200), before the MSS clamp (mangle, -150) and the policy (filter, 0).
    static let priority: Int32 = -175

    public init(overlayInterface: String, relayed: [IPPrefix]) {
        self.overlayInterface = overlayInterface
        self.relayed = relayed
    }

    static func setName(_ family: AddressFamily) -> String { family == .ipv4 ? "relayed4" : "relayed6" }

    /// Adds the chain, its two sets and its counters to `ruleset`.
    public func add(to ruleset: inout NFTRuleset) {
        ruleset.counters += [Self.loopCounter, Self.transitCounter]
        for family in AddressFamily.allCases {
            ruleset.sets.append(.addresses(named: Self.setName(family), family: family, covering: relayed))
        }
        let overlay = MSSClampRuleset.interfaceNameBytes(overlayInterface)
        let transit: [RuleExpression] = [
            .metaLoad(.inputInterfaceName), .compare(.equal, overlay), .metaLoad(.outputInterfaceName),
            .compare(.equal, overlay),
        ]
        var rules: [[RuleExpression]] = []
        for family in AddressFamily.allCases {
            let isV4 = family == .ipv4
            var rule = transit + PolicyRuleset.family(family)
            rule.append(.networkHeaderLoad(offset: isV4 ? 16 : 24, length: isV4 ? 4 : 16))
            rule.append(.lookup(set: Self.setName(family), inverted: false))
            rule += [.namedCounter(Self.loopCounter), .verdict(.drop)]
            rules.append(rule)
        }
        rules.append(transit + [.namedCounter(Self.transitCounter)])
        ruleset.chains.append(
            NFTRuleset.Chain(
                name: Self.chainName, hook: .forward, priority: Self.priority, policy: .accept, rules: rules))
    }
}
