public import NetworkTypes

/// Which learned prefixes a gateway is willing to install, applied by ``RouteTable`` to every routes
/// message before the prefixes are stored.
///
/// - A prefix outside RFC 1918 / ULA space is refused unless `allowPublicSubnets` (the receiver's
///   `allow_public_subnets`), so a peer cannot pull public traffic, let alone a default route, into the
///   mesh by mistake.
/// - A prefix that contains a protected address is refused: routing a peer's WireGuard endpoint or an
///   overlay address through the overlay would loop the tunnel's own packets. The exception is a prefix
///   this gateway advertises itself (``localSubnets``, the HA partner advertising the same LAN): the
///   daemon never routes its own subnets through the overlay, and HA partners often peer over the LAN.
public struct RoutePolicy: Sendable, Hashable {
    /// Whether public (non-RFC 1918, non-ULA) prefixes are acceptable.
    public var allowPublicSubnets: Bool
    /// Addresses no learned route may cover: peer endpoints and overlay addresses.
    public var protectedAddresses: [IPAddress]
    /// The prefixes this gateway advertises itself.
    public var localSubnets: Set<IPPrefix>

    public init(
        allowPublicSubnets: Bool = false, protectedAddresses: [IPAddress] = [], localSubnets: Set<IPPrefix> = []
    ) {
        self.allowPublicSubnets = allowPublicSubnets
        self.protectedAddresses = protectedAddresses
        self.localSubnets = localSubnets
    }

    /// Why `prefix` must not be installed, or `nil` when it may be.
    public func violation(for prefix: IPPrefix) -> String? {
        if !prefix.isCanonical {
            return "\(prefix) has host bits set"
        }
        if !allowPublicSubnets && !prefix.isPrivate {
            return "\(prefix) is not RFC 1918 or ULA space (allow_public_subnets is off)"
        }
        if !localSubnets.contains(prefix), let address = protectedAddresses.first(where: { prefix.contains($0) }) {
            return
                "\(prefix) contains \(address), an endpoint or overlay address: routing it through the overlay would loop"
        }
        return nil
    }
}
