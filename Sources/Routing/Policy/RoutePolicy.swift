public import NetworkTypes

/// Which learned prefixes a gateway is willing to install, applied by ``RouteTable`` to every routes
/// message before the prefixes are stored.
///
/// - A prefix outside RFC 1918 / ULA space is refused unless `allowPublicSubnets` (the receiver's
///   `allow_public_subnets`), so a peer cannot pull public traffic, let alone a default route, into the
///   mesh by mistake.
/// - A prefix longer than ``maxPrefixLengthIPv4`` / ``maxPrefixLengthIPv6`` is refused, and at most
///   ``maxRoutesPerGateway`` prefixes are taken from one gateway, so one peer cannot turn a datagram of
///   9,000 host routes into 9,000 kernel routes and allowed IPs.
/// - A prefix that overlaps one of this gateway's own LAN subnets (``localSubnets``: what it advertises
///   and what is connected on its LAN) is refused: traffic for our own LAN must never leave through the
///   overlay. The one exception is the very same prefix from a member of our own HA group (the partner
///   advertises the same LAN); the daemon keeps it for the election but never routes it.
/// - A prefix that contains a protected address is refused: routing a peer's WireGuard endpoint or an
///   overlay address through the overlay would loop the tunnel's own packets (same exception).
/// - With a least-privilege policy (``approvals``), a prefix is installed only if the policy's
///   `autoApprovers.routes` lets the advertising gateway announce it: a gateway cannot take another
///   region's subnet by advertising it.
/// - A route tagged with an HA group, or a group record, counts only from a declared member of that
///   group (``groupOf``, from the shared peer list's `group:` keys): a gateway outside a group cannot
///   claim its primary role or advertise in its name.
public struct RoutePolicy: Sendable, Hashable {
    /// Whether public (non-RFC 1918, non-ULA) prefixes are acceptable.
    public var allowPublicSubnets: Bool
    /// Addresses no learned route may cover: peer endpoints and overlay addresses.
    public var protectedAddresses: [IPAddress]
    /// This gateway's own LAN subnets: those it advertises and those connected on its LAN interface.
    public let localSubnets: Set<IPPrefix>
    private let localCanonical: Set<IPPrefix>
    /// ``localSubnets`` canonical and sorted: an overlap query is a few lookups and a binary search, not a
    /// pass over them all (a gateway advertising thousands of subnets checks every learned prefix).
    private let localSorted: [IPPrefix]
    /// This gateway's own HA group, if any.
    public var localGroup: String?
    /// Each gateway's declared HA group (gateways without one are absent).
    public var groupOf: [String: String]
    /// The most prefixes accepted from one gateway.
    public var maxRoutesPerGateway: Int
    /// The longest IPv4 prefix accepted.
    public var maxPrefixLengthIPv4: Int
    /// The longest IPv6 prefix accepted.
    public var maxPrefixLengthIPv6: Int
    /// The policy's route approvals (nil: no policy, every gateway may advertise any prefix that passes
    /// the checks above), and its digest for messages.
    public var approvals: [Approval]?

    /// `autoApprovers.routes`: these gateways may advertise `prefix` and any prefix inside it.
    public struct Approval: Sendable, Hashable {
        public var prefix: IPPrefix
        public var gateways: Set<String>

        public init(prefix: IPPrefix, gateways: Set<String>) {
            self.prefix = prefix
            self.gateways = gateways
        }
    }

    public init(
        allowPublicSubnets: Bool = false, protectedAddresses: [IPAddress] = [], localSubnets: Set<IPPrefix> = [],
        localGroup: String? = nil, groupOf: [String: String] = [:], maxRoutesPerGateway: Int = 256,
        maxPrefixLengthIPv4: Int = 28, maxPrefixLengthIPv6: Int = 64, approvals: [Approval]? = nil
    ) {
        self.approvals = approvals
        self.allowPublicSubnets = allowPublicSubnets
        self.protectedAddresses = protectedAddresses
        self.localSubnets = localSubnets
        self.localCanonical = Set(localSubnets.map(\.canonical))
        self.localSorted = localCanonical.sorted()
        self.localGroup = localGroup
        self.groupOf = groupOf
        self.maxRoutesPerGateway = maxRoutesPerGateway
        self.maxPrefixLengthIPv4 = maxPrefixLengthIPv4
        self.maxPrefixLengthIPv6 = maxPrefixLengthIPv6
    }

    /// The words of a violation that the policy's route approvals caused (``isApprovalRefusal(_:)``).
    static let approvalRefusal = "is not approved to advertise"

    /// Whether `reason`, a ``violation(for:from:group:)``, is a refusal by the route approvals: counted
    /// and shown apart from the other refusals.
    public static func isApprovalRefusal(_ reason: String) -> Bool {
        reason.contains(approvalRefusal)
    }

    /// The least (in prefix order) of our local subnets that overlaps `prefix`, if any: one that contains it
    /// (at most one per prefix length), or the first inside it (those sort together after its address).
    func firstLocalSubnet(overlapping prefix: IPPrefix) -> IPPrefix? {
        let prefix = prefix.canonical
        var containing: IPPrefix?
        for length in 0...prefix.length {
            guard let candidate = IPPrefix(address: prefix.address, length: length)?.canonical else { continue }
            if localCanonical.contains(candidate) {
                containing = candidate
                break
            }
        }
        // The first local subnet at or after `prefix` in sort order: if it lies inside `prefix`, it is the
        // least of those inside (they sort by address, and all addresses inside follow `prefix.address`).
        var low = 0
        var high = localSorted.count
        while low < high {
            let middle = (low + high) / 2
            if localSorted[middle] < prefix { low = middle + 1 } else { high = middle }
        }
        let inside = low < localSorted.count && prefix.contains(localSorted[low]) ? localSorted[low] : nil
        switch (containing, inside) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b): return b
        }
    }

    /// Whether `gateway` is a declared member of `group`.
    public func isMember(_ gateway: String, of group: String) -> Bool {
        groupOf[gateway] == group
    }

    /// Why `prefix` must not be installed when `gateway` advertises it in `group`, or `nil` when it may be.
    public func violation(for prefix: IPPrefix, from gateway: String? = nil, group: String? = nil) -> String? {
        if !prefix.isCanonical {
            return "\(prefix) has host bits set"
        }
        if !allowPublicSubnets && !prefix.isPrivate {
            return "\(prefix) is not RFC 1918 or ULA space (allow_public_subnets is off)"
        }
        let longest = prefix.address.isV4 ? maxPrefixLengthIPv4 : maxPrefixLengthIPv6
        if prefix.length > longest {
            return
                "\(prefix) is longer than /\(longest) (limits.max_prefix_length_\(prefix.address.isV4 ? "ipv4" : "ipv6"))"
        }
        if let group, let gateway, !isMember(gateway, of: group) {
            return "\(gateway) advertises \(prefix) in group \(group) but is not a declared member of it"
        }
        if let approvals, let gateway,
            !approvals.contains(where: { $0.prefix.contains(prefix) && $0.gateways.contains(gateway) })
        {
            return "\(gateway) \(Self.approvalRefusal) \(prefix) (the policy's autoApprovers.routes)"
        }
        let fromPartner = gateway.map { name in localGroup.map { isMember(name, of: $0) } ?? false } ?? false
        let isOwnLAN = localSubnets.contains(prefix)
        if isOwnLAN && fromPartner { return nil }
        if let local = firstLocalSubnet(overlapping: prefix) {
            return "\(prefix) overlaps this gateway's own LAN subnet \(local): it is never routed through the overlay"
        }
        if let address = protectedAddresses.first(where: { prefix.contains($0) }) {
            return
                "\(prefix) contains \(address), an endpoint or overlay address: routing it through the overlay would loop"
        }
        return nil
    }
}
