public import NetworkTypes

/// The same prefix advertised by gateways that are not all members of one HA group: a
/// misconfiguration or a hijack. ``DesiredRoutes`` keeps the prefix with the unit that carries it; a
/// gateway that never routed it picks the lowest name's unit.
public struct RouteConflict: Sendable, Hashable, CustomStringConvertible {
    /// The contested prefix.
    public var prefix: IPPrefix
    /// Every gateway advertising it, sorted by name.
    public var gateways: [String]
    /// The lowest gateway name, whose unit (its HA group, or itself alone) takes the prefix where none
    /// carried it before.
    public var winner: String

    public init(prefix: IPPrefix, gateways: [String], winner: String) {
        self.prefix = prefix
        self.gateways = gateways
        self.winner = winner
    }

    public var description: String {
        "conflict: \(prefix) advertised by \(gateways.joined(separator: ", ")) outside one HA group; it stays with the gateway carrying it (else \(winner), the lowest name)"
    }
}
