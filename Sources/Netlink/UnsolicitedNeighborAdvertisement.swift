internal import CLibMNL
import Glibc
public import NetworkTypes

/// Announces that an IPv6 address now lives at a hardware address: an unsolicited Neighbor Advertisement
/// to all nodes (RFC 4861 §7.2.6) with the Override flag set and a Target Link-Layer Address option,
/// the IPv6 counterpart of ``GratuitousARP``. Receivers update an existing neighbour entry to the new
/// address (state STALE); they do not create new entries.
public enum UnsolicitedNeighborAdvertisement {
    /// Sends one advertisement for `address` out of interface `interfaceIndex` through a raw ICMPv6 socket
    /// (hop limit 255, as receivers require; the kernel fills in the checksum and picks the source).
    /// RFC 4861 allows up to MAX_NEIGHBOR_ADVERTISEMENT (3) of them, a second or more apart.
    ///
    /// - Parameters:
    ///   - hardwareAddress: the interface's six-byte MAC (``Link/hardwareAddress``).
    ///   - namespace: the `ip netns` name to send in; nil for the current namespace.
    public static func announce(
        address: IPv6Address, interfaceIndex: Int32, hardwareAddress: [UInt8], inNamespace namespace: String? = nil
    ) throws(NetlinkError) {
        guard hardwareAddress.count == 6 else {
            throw .invalidArgument(
                "neighbor advertisement needs a 6-byte hardware address, got \(hardwareAddress.count)")
        }
        let operation = "unsolicited neighbor advertisement for \(address) on interface \(interfaceIndex)"
        let fd = try inNamespace(namespace) { () throws(NetlinkError) -> Int32 in
            let fd = socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMPV6))
            guard fd >= 0 else { throw .system(op: "\(operation): socket(AF_INET6, SOCK_RAW)", errno: errno) }
            return fd
        }
        defer { close(fd) }
        var hops: Int32 = 255
        var index = UInt32(bitPattern: interfaceIndex)
        guard setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, 4) == 0,
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &index, 4) == 0
        else { throw .system(op: "\(operation): setsockopt", errno: errno) }

        // Type 136, code 0, checksum (kernel), flags R=0 S=0 O=1, target, option 2 (target link-layer
        // address) of length 1 (8 bytes).
        let message: [UInt8] =
            [136, 0, 0, 0, 0x20, 0, 0, 0] + address.bytes + [2, 1] + hardwareAddress

        var destination = sockaddr_in6()
        destination.sin6_family = sa_family_t(AF_INET6)
        destination.sin6_scope_id = index
        withUnsafeMutableBytes(of: &destination.sin6_addr) { raw in
            raw.storeBytes(of: UInt64(0xff02_0000_0000_0000).bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: UInt64(1).bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        let sent = message.withUnsafeBytes { bytes in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        guard sent == message.count else {
            throw .system(op: "\(operation): sendto", errno: sent < 0 ? errno : EMSGSIZE)
        }
    }
}
