/// An IPv4 or IPv6 address.
///
/// Addresses order IPv4 before IPv6, then numerically within a family.
public enum IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// An IPv4 address.
    case v4(IPv4Address)
    /// An IPv6 address.
    case v6(IPv6Address)

    /// Parses a strict IPv4 dotted quad or an RFC 4291 IPv6 text form; returns `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    /// The width of the address in bits: 32 for IPv4 and 128 for IPv6.
    public var bitLength: Int {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }

    /// Whether this is an IPv4 address.
    public var isV4: Bool {
        if case .v4 = self { true } else { false }
    }

    /// The text form: a dotted quad for IPv4, the RFC 5952 canonical form for IPv6.
    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let left), .v4(let right)): left < right
        case (.v6(let left), .v6(let right)): left < right
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }

    /// This address with every bit after the first `length` cleared.
    ///
    /// - Precondition: `0 <= length <= bitLength` (checked by callers; out-of-range lengths clamp).
    func masked(toLength length: Int) -> IPAddress {
        switch self {
        case .v4(let address):
            // Smart shifts give 0 when shifting by the full width, which is what /0 needs.
            let mask = UInt32.max << (32 - length)
            return .v4(IPv4Address(value: address.value & mask))
        case .v6(let address):
            let highMask = UInt64.max << (64 - min(length, 64))
            let lowMask = UInt64.max << (128 - max(length, 64))
            return .v6(IPv6Address(high: address.high & highMask, low: address.low & lowMask))
        }
    }
}
