internal import CLibMNL
import Glibc
import NetworkTypes

// Reading and writing netlink messages with libmnl's functions. libmnl's iteration helpers
// (mnl_attr_for_each, NLMSG_*) are macros Swift cannot import, so the loops below spell out what those
// macros do with the functions they call (mnl_attr_ok / mnl_attr_next, mnl_nlmsg_ok / mnl_nlmsg_next).

/// One message inside a datagram the kernel sent, valid while the receive buffer is untouched.
struct ReceivedMessage {
    let header: UnsafePointer<nlmsghdr>

    var type: UInt16 { header.pointee.nlmsg_type }
    var flags: UInt16 { header.pointee.nlmsg_flags }
    var sequence: UInt32 { header.pointee.nlmsg_seq }
    var portID: UInt32 { header.pointee.nlmsg_pid }

    /// The fixed family header after the netlink header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`, `nlmsgerr`),
    /// or nil when the message is too short to hold one.
    func familyHeader<T>(as type: T.Type) -> T? {
        guard Int(header.pointee.nlmsg_len) >= MemoryLayout<nlmsghdr>.size + MemoryLayout<T>.size else { return nil }
        return UnsafeRawPointer(mnl_nlmsg_get_payload(header)).loadUnaligned(as: T.self)
    }

    /// Calls `body` with the type (flags masked off) and payload of each attribute after the family header
    /// of `familyHeaderSize` bytes. Stops at the first attribute whose length runs past the message.
    func forEachAttribute(afterFamilyHeaderOf familyHeaderSize: Int, _ body: (UInt16, UnsafeRawBufferPointer) -> Void) {
        let tail = UnsafeRawPointer(mnl_nlmsg_get_payload_tail(header))!
        guard var attribute = mnl_nlmsg_get_payload_offset(header, familyHeaderSize) else { return }
        while mnl_attr_ok(attribute.assumingMemoryBound(to: nlattr.self), Int32(tail - UnsafeRawPointer(attribute))) {
            let nla = attribute.assumingMemoryBound(to: nlattr.self)
            let payload = UnsafeRawBufferPointer(
                start: mnl_attr_get_payload(nla), count: Int(mnl_attr_get_payload_len(nla)))
            body(mnl_attr_get_type(nla), payload)
            attribute = UnsafeMutableRawPointer(mnl_attr_next(nla))
        }
    }
}

/// Calls `body` for each complete message in the first `count` bytes of `buffer`.
func forEachMessage(in datagram: UnsafeRawBufferPointer, _ body: (ReceivedMessage) throws(NetlinkError) -> Void)
    throws(NetlinkError)
{
    try NetlinkTransport.forEachMessage(in: datagram) { (start, _) throws(NetlinkError) in
        try body(ReceivedMessage(header: start.assumingMemoryBound(to: nlmsghdr.self)))
    }
}

extension UnsafeRawBufferPointer {
    /// A native-endian 32-bit attribute, or nil when the payload is too short.
    var netlinkUInt32: UInt32? {
        count >= 4 ? loadUnaligned(as: UInt32.self) : nil
    }

    /// A NUL-terminated (or unterminated) string attribute.
    var netlinkString: String {
        let bytes = prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An address attribute of the given `AF_INET`/`AF_INET6` family, or nil when the length is wrong.
    func netlinkAddress(family: UInt8) -> IPAddress? {
        switch Int32(family) {
        case AF_INET where count == 4:
            return .v4(IPv4Address(value: UInt32(bigEndian: loadUnaligned(as: UInt32.self))))
        case AF_INET6 where count == 16:
            return IPv6Address(bytes: self).map { .v6($0) }
        default:
            return nil
        }
    }
}

extension IPAddress {
    /// `AF_INET` or `AF_INET6`, as the family byte of netlink headers.
    var netlinkFamily: UInt8 {
        isV4 ? UInt8(AF_INET) : UInt8(AF_INET6)
    }

    /// The address in network byte order, as netlink attributes carry it.
    var networkOrderBytes: [UInt8] {
        switch self {
        case .v4(let address):
            let (a, b, c, d) = address.octets
            return [a, b, c, d]
        case .v6(let address):
            return address.bytes
        }
    }
}

/// Helpers for filling a message that `mnl_nlmsg_put_header` started.
extension UnsafeMutablePointer<nlmsghdr> {
    /// Appends the family header (`ifinfomsg`, `ifaddrmsg`, `rtmsg`) right after the netlink header.
    func putFamilyHeader<T>(_ value: T) {
        mnl_nlmsg_put_extra_header(self, MemoryLayout<T>.size).storeBytes(of: value, as: T.self)
    }

    func putUInt32(_ type: some BinaryInteger, _ value: UInt32) {
        mnl_attr_put_u32(self, UInt16(type), value)
    }

    func putBytes(_ type: some BinaryInteger, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { mnl_attr_put(self, UInt16(type), $0.count, $0.baseAddress) }
    }

    func putValue<T>(_ type: some BinaryInteger, _ value: T) {
        withUnsafeBytes(of: value) { mnl_attr_put(self, UInt16(type), $0.count, $0.baseAddress) }
    }

    func putAddress(_ type: some BinaryInteger, _ address: IPAddress) {
        putBytes(type, address.networkOrderBytes)
    }
}
