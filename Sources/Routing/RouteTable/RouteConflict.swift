public import NetworkTypes

/// The same prefix advertised by gateways that are not all members of one HA group: a
/// misconfiguration. Traffic still goes somewhere deterministic: the gateway with the lowest name wins,
/// together with its HA group if it advertises the prefix as a group member.
public struct RouteConflict: Sendable, Hashable, CustomStringConvertible {
    /// The contested prefix.
    public var prefix: IPPrefix
    /// Every gateway advertising it, sorted by name.
    public var gateways: [String]
    /// The lowest gateway name, whose unit (its HA group, or itself alone) keeps the prefix.
    public var winner: String

    public init(prefix: IPPrefix, gateways: [String], winner: String) {
        self.prefix = prefix
        self.gateways = gateways
        self.winner = winner
    }

    public var description: String {
        "conflict: \(prefix) advertised by \(gateways.joined(separator: ", ")) outside one HA group; \(winner) wins (lowest name)"
    }
}
