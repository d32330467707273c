public import NetworkTypes

/// An address assigned to an interface (`RTM_NEWADDR`): `10.0.0.1/24` on interface 3.
public struct InterfaceAddress: Sendable, Hashable, CustomStringConvertible {
    /// The index of the interface carrying the address.
    public var interfaceIndex: Int32
    /// The local address itself (`IFA_LOCAL`, or `IFA_ADDRESS` for IPv6).
    public var address: IPAddress
    /// The length of the on-link prefix, 0...32 for IPv4 and 0...128 for IPv6.
    public var prefixLength: Int

    public init(interfaceIndex: Int32, address: IPAddress, prefixLength: Int) {
        self.interfaceIndex = interfaceIndex
        self.address = address
        self.prefixLength = prefixLength
    }

    /// An address given as a prefix whose host bits are the address: `10.0.0.1/24`.
    public init(interfaceIndex: Int32, prefix: IPPrefix) {
        self.init(interfaceIndex: interfaceIndex, address: prefix.address, prefixLength: prefix.length)
    }

    /// The address with its prefix length, host bits kept (`10.0.0.1/24`); nil if the length is out of range.
    public var prefix: IPPrefix? { IPPrefix(address: address, length: prefixLength) }

    /// `10.0.0.1/24 dev 3`.
    public var description: String { "\(address)/\(prefixLength) dev \(interfaceIndex)" }
}

/// Which address families ``RouteNetlink/addresses(family:interfaceIndex:)`` reports.
public enum AddressFamilyFilter: Sendable, Hashable {
    /// IPv4 only.
    case v4
    /// IPv6 only.
    case v6
    /// Both families.
    case all
}

/// How long the kernel keeps an address (`IFA_CACHEINFO`): after `valid` it removes the address by itself,
/// after `preferred` it stops choosing it as a source for new connections.
///
/// The daemon gives the LAN virtual IP a short lifetime and refreshes it with a replacing add, so a daemon
/// killed with SIGKILL does not leave the address behind. The kernel counts whole seconds: `valid` is
/// rounded up and kept within 1 s ... 0xFFFF_FFFE s, and `preferred` within 0 ... `valid`.
public struct AddressLifetime: Sendable, Hashable, CustomStringConvertible {
    /// Seconds until the kernel deletes the address.
    public let validSeconds: UInt32
    /// Seconds until the address is deprecated (no longer chosen as a source).
    public let preferredSeconds: UInt32

    /// A lifetime of `valid`, preferred for `preferred` (the whole `valid` when nil).
    public init(valid: Duration, preferred: Duration? = nil) {
        let valid = Self.seconds(valid, minimum: 1)
        self.validSeconds = valid
        self.preferredSeconds = preferred.map { min(Self.seconds($0, minimum: 0), valid) } ?? valid
    }

    /// `valid_lft 30sec preferred_lft 30sec`, as `ip addr` prints it.
    public var description: String { "valid_lft \(validSeconds)sec preferred_lft \(preferredSeconds)sec" }

    /// Whole seconds rounded up, clamped below 0xFFFF_FFFF (which the kernel reads as "forever").
    private static func seconds(_ duration: Duration, minimum: UInt32) -> UInt32 {
        let (seconds, attoseconds) = duration.components
        let rounded = seconds + (attoseconds > 0 ? 1 : 0)
        return UInt32(clamping: max(Int64(minimum), min(rounded, Int64(UInt32.max - 1))))
    }
}
