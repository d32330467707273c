public import NetworkTypes
import Policy

/// A relay drill's fault: every UDP datagram between this gateway and one peer's WireGuard endpoint
/// dropped, in a table of its own (`inet meshgate_drill`) that the drill deletes afterwards and a
/// restarted daemon deletes at start.
///
/// ```
/// table inet meshgate_drill {
///   chain block_out { type filter hook output priority filter; ip daddr <a> udp dport <p> counter drop }
///   chain block_in  { type filter hook input priority filter;  ip saddr <a> udp sport <p> counter drop }
/// }
/// ```
public struct PathBlock: Sendable, Hashable {
    public static let tableName = "meshgate_drill"
    public var endpoint: Endpoint

    public init(endpoint: Endpoint) { self.endpoint = endpoint }

    public var ruleset: NFTRuleset {
        let isV4 = endpoint.address.isV4
        let address: [UInt8]
        switch endpoint.address {
        case .v4(let a): address = PolicyRuleset.bigEndian(UInt128(a.value), bytes: 4)
        case .v6(let a): address = PolicyRuleset.bigEndian(UInt128(a.high) << 64 | UInt128(a.low), bytes: 16)
        }
        let port: [UInt8] = [UInt8(endpoint.port >> 8), UInt8(endpoint.port & 0xFF)]
        func rule(addressOffset: UInt32, portOffset: UInt32) -> [RuleExpression] {
            var rule = PolicyRuleset.family(isV4 ? .ipv4 : .ipv6)
            rule.append(.networkHeaderLoad(offset: addressOffset, length: isV4 ? 4 : 16))
            rule.append(.compare(.equal, address))
            rule += PolicyRuleset.protocolIs(17)
            rule += [.transportHeaderLoad(offset: portOffset, length: 2), .compare(.equal, port)]
            rule += [.counter, .verdict(.drop)]
            return rule
        }
        return NFTRuleset(
            tableName: Self.tableName, comment: "managed by meshgated: relay drill",
            chains: [
                NFTRuleset.Chain(
                    name: "block_out", hook: .output, priority: 0, policy: .accept,
                    rules: [rule(addressOffset: isV4 ? 16 : 24, portOffset: 2)]),
                NFTRuleset.Chain(
                    name: "block_in", hook: .input, priority: 0, policy: .accept,
                    rules: [rule(addressOffset: isV4 ? 12 : 8, portOffset: 0)]),
            ])
    }
}
