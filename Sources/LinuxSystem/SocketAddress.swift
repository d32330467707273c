import Glibc
import NetworkTypes

/// Conversions between ``Endpoint`` and the kernel's `sockaddr_in6` (IPv4 as v4-mapped, since our UDP
/// socket is dual-stack).
enum SocketAddress {
    static func make(_ endpoint: Endpoint) -> sockaddr_in6 {
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = endpoint.port.bigEndian
        let high: UInt64
        let low: UInt64
        switch endpoint.address {
        case .v4(let a):
            high = 0
            low = 0x0000_ffff_0000_0000 | UInt64(a.value)
        case .v6(let a):
            high = a.high
            low = a.low
        }
        withUnsafeMutableBytes(of: &sa.sin6_addr) { raw in
            raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return sa
    }

    static func endpoint(_ sa: sockaddr_in6) -> Endpoint {
        var addr = sa.sin6_addr
        let (high, low) = withUnsafeBytes(of: &addr) { raw in
            (
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
        }
        let port = UInt16(bigEndian: sa.sin6_port)
        if high == 0 && low >> 32 == 0x0000_ffff {
            return Endpoint(address: .v4(IPv4Address(value: UInt32(truncatingIfNeeded: low))), port: port)
        }
        return Endpoint(address: .v6(IPv6Address(high: high, low: low)), port: port)
    }
}
