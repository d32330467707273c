public import NetworkTypes

/// The change that takes WireGuard's allowed IPs from one assignment (prefix → peer name) to another,
/// touching only the prefixes that moved: a route change must not empty and refill every peer under the
/// data plane's lock, which would also leave a window in which packets for unchanged subnets are dropped.
public struct AllowedIPsChange: Sendable, Hashable {
    /// Prefixes no peer should have any more.
    public var removed: [IPPrefix]
    /// Prefixes to give to a peer (new, or moved from another peer: assigning replaces the owner).
    public var assigned: [(prefix: IPPrefix, peer: String)] {
        assignedPairs.map { (prefix: $0.prefix, peer: $0.peer) }
    }
    private var assignedPairs: [Pair]

    private struct Pair: Sendable, Hashable {
        var prefix: IPPrefix
        var peer: String
    }

    /// The difference from `old` to `new`, sorted by prefix so it is applied in a stable order.
    public init(from old: [IPPrefix: String], to new: [IPPrefix: String]) {
        removed = old.keys.filter { new[$0] == nil }.sorted()
        assignedPairs = new.filter { old[$0.key] != $0.value }.map { Pair(prefix: $0.key, peer: $0.value) }
            .sorted { $0.prefix < $1.prefix }
    }

    /// Whether nothing changes.
    public var isEmpty: Bool { removed.isEmpty && assignedPairs.isEmpty }
}
