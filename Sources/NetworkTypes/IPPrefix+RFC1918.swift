extension IPPrefix {
    /// The private-use IPv4 blocks of RFC 1918 §3.
    private static let rfc1918Blocks: [IPPrefix] = [
        IPPrefix(uncheckedAddress: .v4(IPv4Address(10, 0, 0, 0)), length: 8),
        IPPrefix(uncheckedAddress: .v4(IPv4Address(172, 16, 0, 0)), length: 12),
        IPPrefix(uncheckedAddress: .v4(IPv4Address(192, 168, 0, 0)), length: 16),
    ]

    /// The IPv6 unique local address block `fc00::/7` of RFC 4193 §3.
    private static let uniqueLocalBlock = IPPrefix(
        uncheckedAddress: .v6(IPv6Address(high: 0xfc00 << 48, low: 0)),
        length: 7
    )

    /// Whether the whole prefix lies inside private address space: one of the RFC 1918 blocks
    /// (`10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`) for IPv4, or the unique local block
    /// `fc00::/7` (RFC 4193) for IPv6. A prefix that only partly overlaps them, such as `10.0.0.0/7`,
    /// is not private.
    public var isPrivate: Bool {
        switch address {
        case .v4: Self.rfc1918Blocks.contains { $0.contains(self) }
        case .v6: Self.uniqueLocalBlock.contains(self)
        }
    }
}
