internal import CLibMNL
import Glibc

/// A throw-away `AF_PACKET`/`SOCK_DGRAM` socket: the kernel adds the link-layer header.
enum PacketSocket {
    /// Sends `payload` with EtherType `etherType` to link-layer address `destination`.
    static func send(
        _ payload: [UInt8], etherType: UInt16, to destination: [UInt8], interfaceIndex: Int32, namespace: String?,
        operation: String
    ) throws(NetlinkError) {
        let fd = try inNamespace(namespace) { () throws(NetlinkError) -> Int32 in
            // Protocol 0: the socket only sends, so it should receive nothing.
            let fd = socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw .system(op: "\(operation): socket(AF_PACKET)", errno: errno) }
            return fd
        }
        defer { close(fd) }

        // struct sockaddr_ll (linux/if_packet.h, absent from Swift's Glibc module), 20 bytes:
        // u16 family, be16 protocol, i32 ifindex, u16 hatype, u8 pkttype, u8 halen, u8 addr[8].
        var storage = sockaddr_storage()
        let length = withUnsafeMutableBytes(of: &storage) { raw -> Int in
            raw.storeBytes(of: UInt16(AF_PACKET), toByteOffset: 0, as: UInt16.self)
            raw.storeBytes(of: etherType.bigEndian, toByteOffset: 2, as: UInt16.self)
            raw.storeBytes(of: interfaceIndex, toByteOffset: 4, as: Int32.self)
            raw[11] = UInt8(destination.count)
            for (offset, byte) in destination.prefix(8).enumerated() { raw[12 + offset] = byte }
            return 20
        }
        let sent = payload.withUnsafeBytes { bytes in
            withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(length))
                }
            }
        }
        guard sent == payload.count else {
            throw .system(op: "\(operation): sendto", errno: sent < 0 ? errno : EMSGSIZE)
        }
    }
}
